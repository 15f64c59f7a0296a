/* http_edge: request deadlines and the connection-limit policy (see http_edge.h). */
#include "http_edge.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "metrics.h"
#include "timeutil.h"

enum { EDGE_SERVED, EDGE_WAITING, EDGE_WRITING, EDGE_CUT };
/* A state word is a phase (low two bits) and a count of phase changes above it: a cut
 * compares the whole word, so a connection that moved on and came back to the same
 * phase (with a fresh deadline) between the reaper's look and its cut is not cut. */
#define PHASE(st) ((st) & 3u)
#define NEXT_STATE(st, phase) ((((st) >> 2) + 1u) << 2 | (phase))

typedef struct http_edge_conn edge_conn;
struct http_edge_conn {
  edge_conn *prev, *next; /* accept order, oldest first */
  int fd;
  /* Atomic, written by the connection's loop without the lock (a phase change is three
   * per request) and read by the reaper and the limit under it. EDGE_WAITING: for request
   * bytes (head, body, or the next request); EDGE_WRITING: for the client to read;
   * EDGE_SERVED: no deadline; EDGE_CUT: shut down, whatever the loop says after. */
  unsigned state;
  int64_t deadline_us; /* unless served; stored before state */
  socklen_t addrlen;
  struct sockaddr_storage addr;
};

struct http_edge {
  pthread_mutex_t mu;
  pthread_cond_t wake;
  pthread_t reaper;
  int stop;
  edge_conn *oldest, *newest;
  unsigned count, max, max_per_address;
  int64_t head_us, body_us;
  metric *cut_deadline, *cut_limit, *refused, *refused_address;
};

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Cuts c if it is still in the state word `from` (the loop may have moved it on). */
static int cut_locked(http_edge *e, edge_conn *c, unsigned from, metric *why) {
  if (PHASE(from) == EDGE_CUT ||
      !__atomic_compare_exchange_n(&c->state, &from, NEXT_STATE(from, EDGE_CUT), 0,
                                   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return 0;
  shutdown(c->fd, SHUT_RDWR);
  metrics_add(why, 1);
  return 1;
}

static void *reaper_main(void *arg) {
  http_edge *e = arg;
  pthread_mutex_lock(&e->mu);
  while (!e->stop) {
    struct timespec ts;
    time_deadline_ts(CLOCK_MONOTONIC, 200, &ts);
    pthread_cond_timedwait(&e->wake, &e->mu, &ts);
    int64_t now = now_us();
    for (edge_conn *c = e->oldest; c != NULL; c = c->next) {
      unsigned st = __atomic_load_n(&c->state, __ATOMIC_ACQUIRE);
      if ((PHASE(st) == EDGE_WAITING || PHASE(st) == EDGE_WRITING) &&
          now >= __atomic_load_n(&c->deadline_us, __ATOMIC_RELAXED))
        cut_locked(e, c, st, e->cut_deadline);
    }
  }
  pthread_mutex_unlock(&e->mu);
  return NULL;
}

http_edge *http_edge_start(const http_edge_config *cfg) {
  http_edge *e = calloc(1, sizeof *e);
  if (e == NULL)
    return NULL;
  pthread_mutex_init(&e->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&e->wake, &ca);
  pthread_condattr_destroy(&ca);
  e->max = cfg->max_connections;
  e->max_per_address = cfg->max_per_address;
  e->head_us = (int64_t)cfg->head_timeout_s * 1000000;
  e->body_us = (int64_t)cfg->body_timeout_s * 1000000;
  static const char help[] = "HTTP connections closed by the server before a request was read.";
  e->cut_deadline = metrics_counter("http_connections_cut_total", help, "reason=\"deadline\"");
  e->cut_limit = metrics_counter("http_connections_cut_total", help, "reason=\"limit_oldest\"");
  e->refused = metrics_counter("http_connections_cut_total", help, "reason=\"limit_refused\"");
  e->refused_address =
      metrics_counter("http_connections_cut_total", help, "reason=\"address_limit\"");
  if (pthread_create(&e->reaper, NULL, reaper_main, e) != 0) {
    pthread_cond_destroy(&e->wake);
    pthread_mutex_destroy(&e->mu);
    free(e);
    return NULL;
  }
  return e;
}

void http_edge_stop(http_edge *e) {
  if (e == NULL)
    return;
  pthread_mutex_lock(&e->mu);
  e->stop = 1;
  pthread_cond_signal(&e->wake);
  pthread_mutex_unlock(&e->mu);
  pthread_join(e->reaper, NULL);
  /* the loops have closed (and removed) every connection before this is called */
  edge_conn *c = e->oldest;
  while (c != NULL) {
    edge_conn *n = c->next;
    free(c);
    c = n;
  }
  pthread_cond_destroy(&e->wake);
  pthread_mutex_destroy(&e->mu);
  free(e);
}

static int same_address(const edge_conn *c, const struct sockaddr *addr, socklen_t len) {
  if (c->addrlen != len || c->addr.ss_family != addr->sa_family)
    return 0;
  if (addr->sa_family == AF_INET)
    return memcmp(&((const struct sockaddr_in *)&c->addr)->sin_addr,
                  &((const struct sockaddr_in *)addr)->sin_addr, sizeof(struct in_addr)) == 0;
  if (addr->sa_family == AF_INET6)
    return memcmp(&((const struct sockaddr_in6 *)&c->addr)->sin6_addr,
                  &((const struct sockaddr_in6 *)addr)->sin6_addr, sizeof(struct in6_addr)) == 0;
  return 0;
}

http_edge_conn *http_edge_add(http_edge *e, int fd, const struct sockaddr *addr,
                              socklen_t addrlen) {
  edge_conn *c = calloc(1, sizeof *c);
  if (c == NULL)
    return NULL;
  c->fd = fd;
  c->state = EDGE_WAITING;
  c->deadline_us = now_us() + e->head_us;
  if (addr != NULL && addrlen <= sizeof c->addr) {
    memcpy(&c->addr, addr, addrlen);
    c->addrlen = addrlen;
  }
  pthread_mutex_lock(&e->mu);
  if (e->max_per_address > 0 && c->addrlen > 0) {
    /* Off by default (a load test runs from one address), so a scan is cheap enough. */
    unsigned same = 0;
    for (edge_conn *o = e->oldest; o != NULL; o = o->next)
      same += PHASE(__atomic_load_n(&o->state, __ATOMIC_RELAXED)) != EDGE_CUT &&
              same_address(o, addr, addrlen);
    if (same >= e->max_per_address) {
      metrics_add(e->refused_address, 1);
      pthread_mutex_unlock(&e->mu);
      free(c);
      return NULL;
    }
  }
  c->prev = e->newest;
  if (e->newest != NULL)
    e->newest->next = c;
  else
    e->oldest = c;
  e->newest = c;
  e->count++;
  if (e->count > e->max) {
    int cut = 0;
    for (edge_conn *o = e->oldest; o != NULL && o != c && !cut; o = o->next) {
      unsigned st = __atomic_load_n(&o->state, __ATOMIC_ACQUIRE);
      cut = PHASE(st) == EDGE_WAITING && cut_locked(e, o, st, e->cut_limit);
    }
    if (!cut)
      cut_locked(e, c, __atomic_load_n(&c->state, __ATOMIC_ACQUIRE), e->refused);
  }
  pthread_mutex_unlock(&e->mu);
  return c;
}

void http_edge_remove(http_edge *e, http_edge_conn *c) {
  if (e == NULL || c == NULL)
    return;
  pthread_mutex_lock(&e->mu);
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    e->oldest = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  else
    e->newest = c->prev;
  e->count--;
  pthread_mutex_unlock(&e->mu);
  free(c);
}

void http_edge_phase(http_edge *e, http_edge_conn *c, enum http_edge_phase phase) {
  if (e == NULL || c == NULL)
    return;
  unsigned to = EDGE_SERVED;
  switch (phase) {
  case HTTP_EDGE_HEAD_DONE_BODY:
    __atomic_store_n(&c->deadline_us, now_us() + e->body_us, __ATOMIC_RELAXED);
    to = EDGE_WAITING;
    break;
  case HTTP_EDGE_ANSWERED:
    __atomic_store_n(&c->deadline_us, now_us() + e->head_us, __ATOMIC_RELAXED);
    to = EDGE_WAITING;
    break;
  case HTTP_EDGE_WRITE_BLOCKED:
    __atomic_store_n(&c->deadline_us, now_us() + e->head_us, __ATOMIC_RELAXED);
    to = EDGE_WRITING;
    break;
  default:
    break;
  }
  /* Unless cut: a cut connection stays cut (its socket is shut down already). */
  unsigned from = __atomic_load_n(&c->state, __ATOMIC_ACQUIRE);
  while (PHASE(from) != EDGE_CUT &&
         !__atomic_compare_exchange_n(&c->state, &from, NEXT_STATE(from, to), 1,
                                      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
  }
}
