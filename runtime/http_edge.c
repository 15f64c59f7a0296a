/* http_edge: request deadlines and the connection-limit policy (see http_edge.h). */
#include "http_edge.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "metrics.h"
#include "timeutil.h"

typedef struct edge_conn {
  struct edge_conn *prev, *next; /* accept order, oldest first */
  int fd;
  int waiting;         /* waiting for request bytes (head, body, or the next request) */
  int cut;             /* shut down already */
  int64_t deadline_us; /* when waiting */
} edge_conn;

struct http_edge {
  pthread_mutex_t mu;
  pthread_cond_t wake;
  pthread_t reaper;
  int stop;
  edge_conn *oldest, *newest;
  unsigned count, max;
  int64_t head_us, body_us;
  metric *cut_deadline, *cut_limit, *refused;
};

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void cut_locked(http_edge *e, edge_conn *c, metric *why) {
  if (c->cut)
    return;
  c->cut = 1;
  shutdown(c->fd, SHUT_RDWR);
  metrics_add(why, 1);
}

static void *reaper_main(void *arg) {
  http_edge *e = arg;
  pthread_mutex_lock(&e->mu);
  while (!e->stop) {
    struct timespec ts;
    time_deadline_ts(CLOCK_MONOTONIC, 200, &ts);
    pthread_cond_timedwait(&e->wake, &e->mu, &ts);
    int64_t now = now_us();
    for (edge_conn *c = e->oldest; c != NULL; c = c->next)
      if (c->waiting && !c->cut && now >= c->deadline_us)
        cut_locked(e, c, e->cut_deadline);
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
  e->head_us = (int64_t)cfg->head_timeout_s * 1000000;
  e->body_us = (int64_t)cfg->body_timeout_s * 1000000;
  static const char help[] = "HTTP connections closed by the server before a request was read.";
  e->cut_deadline = metrics_counter("http_connections_cut_total", help, "reason=\"deadline\"");
  e->cut_limit = metrics_counter("http_connections_cut_total", help, "reason=\"limit_oldest\"");
  e->refused = metrics_counter("http_connections_cut_total", help, "reason=\"limit_refused\"");
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
  /* MHD has closed every connection (and told us) before this is called */
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

void http_edge_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                             enum MHD_ConnectionNotificationCode code) {
  http_edge *e = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    edge_conn *c = calloc(1, sizeof *c);
    if (c == NULL || ci == NULL) {
      free(c);
      *socket_context = NULL;
      return;
    }
    c->fd = ci->connect_fd;
    c->waiting = 1;
    c->deadline_us = now_us() + e->head_us;
    pthread_mutex_lock(&e->mu);
    c->prev = e->newest;
    if (e->newest != NULL)
      e->newest->next = c;
    else
      e->oldest = c;
    e->newest = c;
    e->count++;
    if (e->count > e->max) {
      edge_conn *victim = NULL;
      for (edge_conn *o = e->oldest; o != NULL && o != c; o = o->next)
        if (o->waiting && !o->cut) {
          victim = o;
          break;
        }
      if (victim != NULL)
        cut_locked(e, victim, e->cut_limit);
      else
        cut_locked(e, c, e->refused);
    }
    pthread_mutex_unlock(&e->mu);
    *socket_context = c;
    return;
  }
  edge_conn *c = *socket_context;
  if (c == NULL)
    return;
  *socket_context = NULL;
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

void http_edge_phase(http_edge *e, struct MHD_Connection *conn, enum http_edge_phase phase) {
  if (e == NULL)
    return;
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  if (ci == NULL || ci->socket_context == NULL)
    return;
  edge_conn *c = ci->socket_context;
  pthread_mutex_lock(&e->mu);
  switch (phase) {
  case HTTP_EDGE_HEAD_DONE_BODY:
    c->waiting = 1;
    c->deadline_us = now_us() + e->body_us;
    break;
  case HTTP_EDGE_ANSWERED:
    c->waiting = 1;
    c->deadline_us = now_us() + e->head_us;
    break;
  default:
    c->waiting = 0;
    break;
  }
  pthread_mutex_unlock(&e->mu);
}
