/* http_server: the JSON <-> protobuf HTTP gateway: starting and stopping it (the
 * listening socket, the I/O loops, the worker threads, the edge), the end of every
 * request (metrics, the in-flight count). The engine is http_loop.c and http_conn.c, the
 * request pipeline http_request.c, a call's memory and responses http_call.c, deferred
 * answers http_deferred.c (see http_server_internal.h). */
#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_server_internal.h"
#include "log.h"
#include "timeutil.h"

static const char *const method_labels[HS_METHOD_LABELS] = {
    "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "OTHER"};

unsigned hs_method_index(const char *method) {
  for (unsigned i = 0; i + 1 < HS_METHOD_LABELS; i++)
    if (strcmp(method, method_labels[i]) == 0)
      return i;
  return HS_METHOD_LABELS - 1; /* "OTHER": a client must not be able to mint label values */
}

const char *hs_method_label(const char *method) {
  return method_labels[hs_method_index(method)];
}

/* The statuses whose request counters are remembered per route and method, so that the
 * common answers skip the registry's lookup (a lock and a scan of every series). */
static const unsigned cached_statuses[] = {200, 201, 400, 404, 405, 409, 412, 413, 415,
                                           429, 500, 503, 504};
#define NCACHED_STATUSES (sizeof cached_statuses / sizeof cached_statuses[0])

static int status_slot(unsigned status) {
  for (size_t i = 0; i < NCACHED_STATUSES; i++)
    if (cached_statuses[i] == status)
      return (int)i;
  return -1;
}

static void escape_label(const char *in, char *out, size_t outlen) {
  size_t o = 0;
  for (; *in != '\0' && o + 3 < outlen; in++) {
    if (*in == '"' || *in == '\\') {
      out[o++] = '\\';
      out[o++] = *in;
    } else if (*in == '\n') {
      out[o++] = '\\';
      out[o++] = 'n';
    } else {
      out[o++] = *in;
    }
  }
  out[o] = '\0';
}

static metric *request_counter(http_call *call) {
  http_server *srv = call->srv;
  int slot = status_slot(call->status_sent);
  metric **cached = NULL;
  if (slot >= 0) {
    size_t i = ((size_t)call->hist_index * HS_METHOD_LABELS + hs_method_index(call->method_label)) *
                   NCACHED_STATUSES + (size_t)slot;
    cached = &srv->request_counters[i];
    metric *m = __atomic_load_n(cached, __ATOMIC_ACQUIRE);
    if (m != NULL)
      return m;
  }
  char route[192], labels[320];
  escape_label(call->route_label, route, sizeof route);
  snprintf(labels, sizeof labels, "route=\"%s\",method=\"%s\",code=\"%u\"", route,
           call->method_label, call->status_sent);
  metric *m = metrics_counter(REQUESTS_METRIC,
                              "HTTP requests answered, by route, method and status.", labels);
  if (cached != NULL) /* two threads racing here store the same series */
    __atomic_store_n(cached, m, __ATOMIC_RELEASE);
  return m;
}

static void record_metrics(http_call *call) {
  metrics_add(request_counter(call), 1);
  metrics_observe_us(call->srv->route_hist[call->hist_index], hs_mono_us() - call->start_us);
}

void hs_request_end(http_call *call) {
  http_server *srv = call->srv;
  if (call->status_sent != 0)
    record_metrics(call);
  /* No lock per request: only a stop waits for the count to reach 0, and it is told.
   * Sequentially consistent, with the stop's store of `stopping` and load of the count:
   * one of the two sides always sees the other, so the wake-up cannot be lost. */
  if (call->counted && __atomic_sub_fetch(&srv->inflight, 1, __ATOMIC_SEQ_CST) == 0 &&
      __atomic_load_n(&srv->stopping, __ATOMIC_SEQ_CST)) {
    pthread_mutex_lock(&srv->mu);
    pthread_cond_broadcast(&srv->idle);
    pthread_mutex_unlock(&srv->mu);
  }
  hs_call_free(call);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static int check_routes(const http_route *routes, size_t nroutes, char *err, size_t errlen) {
  for (size_t i = 0; i < nroutes; i++) {
    const http_route *r = &routes[i];
    if (r->method == NULL || r->pattern == NULL || (r->raw == NULL && r->handler == NULL)) {
      snprintf(err, errlen, "route %zu: method, pattern and a handler are required", i);
      return -1;
    }
    http_route_match names;
    char perr[160];
    if (http_route_pattern_names(r->pattern, &names, perr, sizeof perr) != 0) {
      snprintf(err, errlen, "route %s %s: %s", r->method, r->pattern, perr);
      return -1;
    }
    if (r->raw != NULL)
      continue;
    if (r->request_type == NULL || r->response_type == NULL) {
      snprintf(err, errlen, "route %s %s: request and response types are required", r->method,
               r->pattern);
      return -1;
    }
    /* A path param naming no field would fail every request: refuse to start instead. */
    for (size_t k = 0; k < names.n; k++) {
      if (protobuf_c_message_descriptor_get_field_by_name(r->request_type,
                                                          names.params[k].name) == NULL) {
        snprintf(err, errlen, "route %s %s: %s has no field %s", r->method, r->pattern,
                 r->request_type->name, names.params[k].name);
        return -1;
      }
    }
  }
  return 0;
}

/* Stops and joins the workers; the queue is empty by then (stop waited for every
 * deferred call, and queued work is deferred). */
static void workers_join(http_server *srv) {
  pthread_mutex_lock(&srv->mu);
  srv->workers_stop = 1;
  pthread_cond_broadcast(&srv->work);
  pthread_mutex_unlock(&srv->mu);
  for (unsigned i = 0; i < srv->nworkers; i++)
    pthread_join(srv->workers[i], NULL);
  srv->nworkers = 0;
}

static void server_free(http_server *srv) {
  if (srv == NULL)
    return;
  if (srv->nloops > 0) /* first: closing a connection records its request's metrics */
    hs_loops_stop(srv);
  free(srv->loops);
  workers_join(srv);
  free(srv->workers);
  free(srv->route_hist);
  free(srv->request_counters);
  if (srv->listen_fd >= 0)
    close(srv->listen_fd);
  http_edge_stop(srv->edge);
  pthread_cond_destroy(&srv->work);
  pthread_cond_destroy(&srv->finished);
  pthread_cond_destroy(&srv->idle);
  pthread_mutex_destroy(&srv->mu);
  free(srv);
}

http_server *http_server_start(const http_server_config *cfg, const http_route *routes,
                               size_t nroutes, char *err, size_t errlen) {
  http_server *srv = NULL;
  if (cfg == NULL || (routes == NULL && nroutes > 0)) {
    snprintf(err, errlen, "http_server_start: config and routes are required");
    return NULL;
  }
  if (check_routes(routes, nroutes, err, errlen) != 0)
    return NULL;

  const char *addr = cfg->bind_address != NULL ? cfg->bind_address : "127.0.0.1";
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t sslen;
  struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons(cfg->port);
    sslen = sizeof *sin;
  } else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(cfg->port);
    sslen = sizeof *sin6;
  } else {
    snprintf(err, errlen, "bind address %s is not an IPv4 or IPv6 address", addr);
    return NULL;
  }

  srv = calloc(1, sizeof *srv);
  if (srv == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  srv->listen_fd = -1;
  pthread_mutex_init(&srv->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the drain deadline must not jump */
  pthread_cond_init(&srv->idle, &ca);
  pthread_condattr_destroy(&ca);
  pthread_cond_init(&srv->finished, NULL);
  pthread_cond_init(&srv->work, NULL);
  srv->work_tail = &srv->work_head;
  srv->all_blocking = cfg->io_threads == 0;
  srv->routes = routes;
  srv->nroutes = nroutes;
  srv->max_body = cfg->max_body_bytes != 0 ? cfg->max_body_bytes : DEFAULT_MAX_BODY;
  srv->timeout_s = cfg->connection_timeout_s != 0 ? cfg->connection_timeout_s : DEFAULT_TIMEOUT_S;
  srv->app = cfg->app;
  srv->on_rejected = cfg->on_rejected;
  unsigned max_conn = cfg->max_connections != 0 ? cfg->max_connections : DEFAULT_MAX_CONNECTIONS;

  srv->route_hist = calloc(nroutes + 1, sizeof *srv->route_hist);
  srv->request_counters =
      calloc((nroutes + 1) * HS_METHOD_LABELS * NCACHED_STATUSES, sizeof *srv->request_counters);
  if (srv->route_hist == NULL || srv->request_counters == NULL) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  for (size_t i = 0; i <= nroutes; i++) {
    char route[192], labels[256];
    escape_label(i < nroutes ? routes[i].pattern : "unmatched", route, sizeof route);
    snprintf(labels, sizeof labels, "route=\"%s\"", route);
    srv->route_hist[i] = metrics_histogram(DURATION_METRIC, "HTTP request latency by route.", labels);
  }

  {
    unsigned want = cfg->workers != 0      ? cfg->workers
                    : srv->all_blocking ? DEFAULT_BLOCKING_WORKERS
                                           : DEFAULT_WORKERS;
    srv->workers = calloc(want, sizeof *srv->workers);
    if (srv->workers == NULL) {
      snprintf(err, errlen, "out of memory");
      goto fail;
    }
    for (; srv->nworkers < want; srv->nworkers++) {
      if (pthread_create(&srv->workers[srv->nworkers], NULL, hs_worker_main, srv) != 0) {
        snprintf(err, errlen, "cannot start HTTP worker threads");
        goto fail;
      }
    }
  }

  {
    http_edge_config ec = {.max_connections = max_conn,
                           .head_timeout_s = srv->timeout_s,
                           .body_timeout_s = srv->timeout_s,
                           .max_per_address = cfg->max_connections_per_ip};
    srv->edge = http_edge_start(&ec);
    if (srv->edge == NULL) {
      snprintf(err, errlen, "cannot start the HTTP edge thread");
      goto fail;
    }
  }
  srv->listen_fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  if (srv->listen_fd < 0 ||
      setsockopt(srv->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      (ss.ss_family == AF_INET6 &&
       setsockopt(srv->listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) ||
      bind(srv->listen_fd, (struct sockaddr *)&ss, sslen) != 0 ||
      listen(srv->listen_fd, 4096) != 0) {
    int e = errno;
    snprintf(err, errlen, "cannot listen on %s:%u: %s", addr, (unsigned)cfg->port, strerror(e));
    goto fail;
  }
  struct sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  if (getsockname(srv->listen_fd, (struct sockaddr *)&bound, &blen) == 0)
    srv->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                  : ((struct sockaddr_in *)&bound)->sin_port);
  unsigned nloops = cfg->io_threads > 0 ? cfg->io_threads : 1;
  srv->loops = calloc(nloops, sizeof *srv->loops);
  if (srv->loops == NULL) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  srv->nloops = nloops;
  if (hs_loops_start(srv, err, errlen) != 0)
    goto fail;
  return srv;
fail:
  server_free(srv);
  return NULL;
}

uint16_t http_server_port(const http_server *srv) { return srv != NULL ? srv->port : 0; }

void http_server_stop(http_server *srv) {
  if (srv == NULL)
    return;
  /* Closing the listening socket first makes new clients fail fast (and go to another
   * instance) while requests already being served run to completion. */
  hs_loops_quiesce(srv);
  close(srv->listen_fd);
  srv->listen_fd = -1;
  /* Wait for in-flight responses to be delivered, not only computed: stopping the loops
   * closes their sockets. Bounded, so a client that never finishes sending its body
   * cannot hold shutdown forever. */
  pthread_mutex_lock(&srv->mu);
  __atomic_store_n(&srv->stopping, 1, __ATOMIC_SEQ_CST);
  struct timespec deadline;
  time_deadline_ts(CLOCK_MONOTONIC, (int64_t)srv->timeout_s * 1000, &deadline);
  while (__atomic_load_n(&srv->inflight, __ATOMIC_SEQ_CST) > 0) {
    if (pthread_cond_timedwait(&srv->idle, &srv->mu, &deadline) == ETIMEDOUT)
      break;
  }
  /* Past the deadline, deferred calls still get their answer: their owners promise one
   * (bounded waits), and a parked call's memory is theirs until they finish it. */
  while (srv->deferred_open > 0) {
    log_warn("http: stopping: waiting for %u deferred answers", srv->deferred_open);
    struct timespec again;
    time_deadline_ts(CLOCK_REALTIME, 1000, &again);
    pthread_cond_timedwait(&srv->finished, &srv->mu, &again);
  }
  pthread_mutex_unlock(&srv->mu);
  /* Closes idle keep-alive connections and joins the loops (server_free). */
  server_free(srv);
}

