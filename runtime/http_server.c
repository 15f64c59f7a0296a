/* http_server: the JSON <-> protobuf HTTP gateway on libmicrohttpd: starting and
 * stopping the daemon (thread per connection, or an epoll event loop), its callbacks
 * (request line, access, completion, log), and the request metrics. The request
 * pipeline is http_request.c, a call's memory and responses http_call.c, deferred
 * answers http_deferred.c (see http_server_internal.h). */
#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_server_internal.h"
#include "log.h"
#include "timeutil.h"

static const char *method_label(const char *method) {
  static const char *const known[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(method, known[i]) == 0)
      return known[i];
  return "OTHER"; /* a client must not be able to mint label values */
}

/* ---- libmicrohttpd callbacks -------------------------------------------------------- */

/* Runs on the request line, before MHD decodes the path: we need the raw target so that
 * "a%2Fb" stays one segment. The state it returns becomes *req_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
  (void)conn;
  http_call *call = calloc(1, sizeof *call);
  if (call == NULL)
    return NULL;
  call->srv = cls;
  if (uri != NULL && (strncasecmp(uri, "http://", 7) == 0 || strncasecmp(uri, "https://", 8) == 0)) {
    /* absolute-form (RFC 9112 3.2.2): the path starts after the authority */
    const char *p = strchr(uri + (uri[4] == ':' ? 7 : 8), '/');
    uri = p != NULL ? p : "/";
  }
  call->uri = strdup(uri != NULL ? uri : "");
  call->headers_tail = &call->headers;
  if (call->uri == NULL) {
    free(call);
    return NULL;
  }
  return call;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **req_cls) {
  (void)url;
  http_server *srv = cls;
  http_call *call = *req_cls;
  if (call == NULL)
    return MHD_NO; /* on_uri ran out of memory: dropping the connection is all we can do */
  if (!call->started) {
    call->started = 1;
    call->conn = conn;
    call->method = method;
    call->version = version;
    snprintf(call->method_label, sizeof call->method_label, "%s", method_label(method));
    call->start_us = hs_mono_us();
    pthread_mutex_lock(&srv->mu);
    srv->inflight++;
    pthread_mutex_unlock(&srv->mu);
    call->counted = 1;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_TRANSFER_ENCODING);
    http_edge_phase(srv->edge, conn,
                    te != NULL || (cl != NULL && strcmp(cl, "0") != 0)
                        ? HTTP_EDGE_HEAD_DONE_BODY
                        : HTTP_EDGE_HEAD_DONE_NO_BODY);
    return hs_on_headers(call);
  }
  if (*upload_data_size != 0) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    return hs_on_upload(call, upload_data, n);
  }
  if (call->status_sent != 0)
    return MHD_YES; /* answered early (413 on Content-Length) */
  http_edge_phase(srv->edge, conn, HTTP_EDGE_REQUEST_DONE);
  return hs_on_request_done(call);
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

static void record_metrics(http_call *call) {
  http_server *srv = call->srv;
  char route[192], labels[320];
  escape_label(call->route_label, route, sizeof route);
  snprintf(labels, sizeof labels, "route=\"%s\",method=\"%s\",code=\"%u\"", route,
           call->method_label, call->status_sent);
  metrics_add(metrics_counter(REQUESTS_METRIC, "HTTP requests answered, by route, method and status.",
                              labels),
              1);
  metrics_observe_us(srv->route_hist[call->hist_index], hs_mono_us() - call->start_us);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)toe;
  http_server *srv = cls;
  http_call *call = *req_cls;
  *req_cls = NULL;
  http_edge_phase(srv->edge, conn, HTTP_EDGE_ANSWERED);
  if (call == NULL)
    return;
  if (call->started && call->status_sent != 0)
    record_metrics(call);
  if (call->counted) {
    pthread_mutex_lock(&srv->mu);
    if (--srv->inflight == 0)
      pthread_cond_broadcast(&srv->idle);
    pthread_mutex_unlock(&srv->mu);
  }
  hs_call_free(call);
}

__attribute__((format(printf, 2, 0)))
static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
  /* A client decides how often libmicrohttpd complains (each aborted connection is a
   * line): at most 5 lines a second, the rest counted and reported with the next line. */
  http_server *srv = cls;
  unsigned long suppressed = 0;
  pthread_mutex_lock(&srv->log_mu);
  int64_t now = hs_mono_us();
  if (now - srv->log_window_us >= 1000000) {
    srv->log_window_us = now;
    srv->log_lines = 0;
  }
  int write = srv->log_lines < 5;
  if (write) {
    srv->log_lines++;
    suppressed = srv->log_suppressed;
    srv->log_suppressed = 0;
  } else {
    srv->log_suppressed++;
  }
  pthread_mutex_unlock(&srv->log_mu);
  if (!write)
    return;
  if (suppressed > 0)
    log_warn("libmicrohttpd: %lu similar lines suppressed", suppressed);
  char buf[512];
  vsnprintf(buf, sizeof buf, fmt, ap);
  size_t n = strlen(buf);
  while (n > 0 && buf[n - 1] == '\n')
    buf[--n] = '\0';
  log_warn("libmicrohttpd: %s", buf);
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
  workers_join(srv);
  free(srv->workers);
  free(srv->route_hist);
  http_edge_stop(srv->edge);
  pthread_mutex_destroy(&srv->log_mu);
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
  unsigned flags = cfg->io_threads > 0
                      ? MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME
                      : MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
  flags |= MHD_USE_ERROR_LOG | MHD_USE_ITC;
  struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons(cfg->port);
  } else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(cfg->port);
    flags |= MHD_USE_IPv6;
  } else {
    snprintf(err, errlen, "bind address %s is not an IPv4 or IPv6 address", addr);
    return NULL;
  }

  srv = calloc(1, sizeof *srv);
  if (srv == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  pthread_mutex_init(&srv->mu, NULL);
  pthread_mutex_init(&srv->log_mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the drain deadline must not jump */
  pthread_cond_init(&srv->idle, &ca);
  pthread_condattr_destroy(&ca);
  pthread_cond_init(&srv->finished, NULL);
  pthread_cond_init(&srv->work, NULL);
  srv->work_tail = &srv->work_head;
  srv->event_loop = cfg->io_threads > 0;
  srv->routes = routes;
  srv->nroutes = nroutes;
  srv->max_body = cfg->max_body_bytes != 0 ? cfg->max_body_bytes : DEFAULT_MAX_BODY;
  srv->timeout_s = cfg->connection_timeout_s != 0 ? cfg->connection_timeout_s : DEFAULT_TIMEOUT_S;
  srv->app = cfg->app;
  srv->on_rejected = cfg->on_rejected;
  unsigned max_conn = cfg->max_connections != 0 ? cfg->max_connections : DEFAULT_MAX_CONNECTIONS;

  srv->route_hist = calloc(nroutes + 1, sizeof *srv->route_hist);
  if (srv->route_hist == NULL) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  for (size_t i = 0; i <= nroutes; i++) {
    char route[192], labels[256];
    escape_label(i < nroutes ? routes[i].pattern : "unmatched", route, sizeof route);
    snprintf(labels, sizeof labels, "route=\"%s\"", route);
    srv->route_hist[i] = metrics_histogram(DURATION_METRIC, "HTTP request latency by route.", labels);
  }

  if (srv->event_loop) {
    unsigned want = cfg->workers != 0 ? cfg->workers : DEFAULT_WORKERS;
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
                           .body_timeout_s = srv->timeout_s};
    srv->edge = http_edge_start(&ec);
    if (srv->edge == NULL) {
      snprintf(err, errlen, "cannot start the HTTP edge thread");
      goto fail;
    }
  }
  /* MHD's own limit sits above ours: http_edge decides what happens at max_conn (the
   * oldest waiting connection goes), instead of new clients waiting in the accept queue. */
  unsigned mhd_limit = max_conn * 2 + 64;
  errno = 0;
  srv->mhd = MHD_start_daemon(
      flags, cfg->port, NULL, NULL, &on_access, srv,
      /* first, or MHD logs the other options' complaints to stderr its own way */
      MHD_OPTION_EXTERNAL_LOGGER, &on_mhd_log, srv,
      MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&ss,
      MHD_OPTION_CONNECTION_LIMIT, mhd_limit,
      MHD_OPTION_NOTIFY_CONNECTION, &http_edge_on_connection, srv->edge,
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_connections_per_ip,
      MHD_OPTION_CONNECTION_TIMEOUT, srv->timeout_s,
      /* above HTTP_MAX_URI_BYTES / HTTP_MAX_HEADER_BYTES: we answer those (see there) */
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)MHD_MEMORY_LIMIT,
      MHD_OPTION_NOTIFY_COMPLETED, &on_completed, srv,
      MHD_OPTION_URI_LOG_CALLBACK, &on_uri, srv,
      /* last: with one thread (or thread per connection) the list ends here */
      cfg->io_threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, cfg->io_threads,
      MHD_OPTION_END);
  if (srv->mhd == NULL) {
    int e = errno;
    snprintf(err, errlen, "cannot listen on %s:%u%s%s", addr, (unsigned)cfg->port,
             e != 0 ? ": " : "", e != 0 ? strerror(e) : "");
    goto fail;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
  srv->port = info != NULL ? info->port : cfg->port;
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
  MHD_socket ls = MHD_quiesce_daemon(srv->mhd);
  if (ls != MHD_INVALID_SOCKET)
    close(ls);
  /* Wait for in-flight responses to be delivered, not only computed: MHD_stop_daemon
   * would shut their sockets down under them. Bounded, so a client that never finishes
   * sending its body cannot hold shutdown forever. */
  pthread_mutex_lock(&srv->mu);
  srv->stopping = 1;
  struct timespec deadline;
  time_deadline_ts(CLOCK_MONOTONIC, (int64_t)srv->timeout_s * 1000, &deadline);
  while (srv->inflight > 0) {
    if (pthread_cond_timedwait(&srv->idle, &srv->mu, &deadline) == ETIMEDOUT)
      break;
  }
  /* Past the deadline, deferred calls still get their answer: their owners promise one
   * (bounded waits), and MHD cannot stop with a connection parked. */
  while (srv->deferred_open > 0) {
    log_warn("http: stopping: waiting for %u deferred answers", srv->deferred_open);
    struct timespec again;
    time_deadline_ts(CLOCK_REALTIME, 1000, &again);
    pthread_cond_timedwait(&srv->finished, &srv->mu, &again);
  }
  pthread_mutex_unlock(&srv->mu);
  /* Cuts idle keep-alive connections and joins every connection thread. */
  MHD_stop_daemon(srv->mhd);
  server_free(srv);
}

