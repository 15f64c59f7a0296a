/* http_deferred: answers that come later. A handler calls http_call_defer and returns;
 * the call is parked (its connection reads nothing and holds no thread) until exactly
 * one http_call_finish from any thread hands it back to its loop. The worker threads,
 * which run `blocking` routes, use the same path. */
#include <pthread.h>
#include <stdio.h>

#include "http_server_internal.h"
#include "log.h"

/* A deferred call right after its handler returned: answered already (finished from the
 * handler itself), or parked until http_call_finish. The check and the parking happen
 * under mu, the same lock finish takes, so a finish cannot slip in between and be lost. */
int hs_park(http_call *call) {
  http_server *srv = call->srv;
  pthread_mutex_lock(&srv->mu);
  if (!call->finished) {
    call->suspended = 1;
    pthread_mutex_unlock(&srv->mu);
    return HS_YES; /* the loop calls hs_on_request_done again on the resume */
  }
  pthread_mutex_unlock(&srv->mu);
  return hs_send_result(call, call->result_code, &call->result_st);
}

static void defer_locked(http_call *call) {
  if (!call->deferred) {
    call->deferred = 1;
    call->srv->deferred_open++;
  }
}

/* The call a worker thread is running a handler for, and whether that handler deferred
 * it. Thread-local, not on the call: once deferred, the call may be finished, answered
 * and freed by other threads before the handler even returns. */
static __thread const http_call *worker_call;
static __thread int worker_call_deferred;

void http_call_defer(http_call *call) {
  if (call == NULL)
    return;
  if (call == worker_call)
    worker_call_deferred = 1;
  pthread_mutex_lock(&call->srv->mu);
  defer_locked(call);
  pthread_mutex_unlock(&call->srv->mu);
}

void http_call_finish(http_call *call, rpc_code code, const rpc_status *st) {
  if (call == NULL)
    return;
  http_server *srv = call->srv;
  pthread_mutex_lock(&srv->mu);
  if (!call->deferred || call->finished) {
    pthread_mutex_unlock(&srv->mu);
    log_error("http: http_call_finish on a call that is %s", call->finished ? "finished" : "not deferred");
    return;
  }
  call->result_code = code;
  call->result_st.code = code;
  snprintf(call->result_st.message, sizeof call->result_st.message, "%s",
           st != NULL ? st->message : "");
  call->finished = 1;
  srv->deferred_open--;
  if (call->suspended)
    hs_loop_wake(call->conn);
  pthread_cond_broadcast(&srv->finished);
  pthread_mutex_unlock(&srv->mu);
}

/* Worker threads of the event-loop model: run `blocking` handlers off the I/O threads. */
void *hs_worker_main(void *arg) {
  http_server *srv = arg;
  pthread_mutex_lock(&srv->mu);
  for (;;) {
    while (srv->work_head == NULL && !srv->workers_stop)
      pthread_cond_wait(&srv->work, &srv->mu);
    if (srv->work_head == NULL)
      break;
    http_call *call = srv->work_head;
    srv->work_head = call->next_work;
    if (srv->work_head == NULL)
      srv->work_tail = &srv->work_head;
    pthread_mutex_unlock(&srv->mu);
    rpc_status st = {.code = RPC_OK, .message = ""};
    worker_call = call;
    worker_call_deferred = 0;
    rpc_code code = call->route->handler(call, call->req, call->resp, &st);
    worker_call = NULL;
    if (!worker_call_deferred) /* it may have deferred in turn: then its owner finishes */
      http_call_finish(call, code, &st);
    pthread_mutex_lock(&srv->mu);
  }
  pthread_mutex_unlock(&srv->mu);
  return NULL;
}

void hs_queue_work(http_call *call) {
  http_server *srv = call->srv;
  pthread_mutex_lock(&srv->mu);
  defer_locked(call);
  call->next_work = NULL;
  *srv->work_tail = call;
  srv->work_tail = &call->next_work;
  pthread_cond_signal(&srv->work);
  pthread_mutex_unlock(&srv->mu);
}
