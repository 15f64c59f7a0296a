/* history_handlers: listing, history pages and balances as of an instant. */
#include "history_handlers.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance_message.h"
#include "balances_handlers.h"
#include "history_reader.h"
#include "pbjson_internal.h"
#include "timeutil.h"
#include "uuid.h"
#include "version_token.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000
#define ACQUIRE_MS 2000

/* ---- small pieces ------------------------------------------------------------------ */

int as_of_parse(const char *s, int64_t *at_us) {
  int64_t sec = 0;
  int32_t ns = 0;
  if (s == NULL || pbjson_ts_parse(s, &sec, &ns) != 0) return -1;
  /* Any RFC 3339 instant is a fair question (pbjson_ts_parse bounds it to year 9999). No
   * event predates 1970 (event times are Unix epoch microseconds), so an earlier instant
   * asks "before the account existed" and gets the same 404 as 1970 does. */
  if (sec < 0) {
    sec = 0;
    ns = 0;
  }
  *at_us = sec * 1000000 + ns / 1000;
  return 0;
}

static rpc_code page_size_of(int32_t page_size, int *limit, rpc_status *st) {
  if (page_size == 0) {
    *limit = PAGE_DEFAULT;
    return RPC_OK;
  }
  if (page_size < 1 || page_size > PAGE_MAX) {
    return rpc_status_set(st, RPC_INVALID_ARGUMENT, "page_size: must be 1..%d, got %" PRId32,
                          PAGE_MAX, page_size);
  }
  *limit = page_size;
  return RPC_OK;
}

static Google__Protobuf__Timestamp *ts_new(http_call *call, int64_t us) {
  Google__Protobuf__Timestamp *ts = (Google__Protobuf__Timestamp *)http_call_new_message(
      call, &google__protobuf__timestamp__descriptor);
  if (ts != NULL) time_to_timestamp(us, ts);
  return ts;
}

static rpc_code db_failed(rpc_status *st, const char *what, const db_error *e) {
  return rpc_status_set(st, RPC_UNAVAILABLE, "%s: database: %.160s", what, e->message);
}

/* ---- GET /balances ------------------------------------------------------------------ */

rpc_code balances_list_balances(http_call *call, const ProtobufCMessage *request,
                                ProtobufCMessage *response, rpc_status *st) {
  balances_app *app = http_call_app(call);
  const Wallet__V1__ListBalancesRequest *req = (const Wallet__V1__ListBalancesRequest *)request;
  Wallet__V1__ListBalancesResponse *out = (Wallet__V1__ListBalancesResponse *)response;
  int limit = 0;
  if (page_size_of(req->page_size, &limit, st) != RPC_OK) return st->code;
  char after[UUID_STR_LEN] = "";
  if (req->page_token[0] != '\0' && !uuid_normalize(req->page_token, after)) {
    return rpc_status_set(st, RPC_INVALID_ARGUMENT, "page_token: not a token of this listing");
  }
  rm_update *rows = calloc((size_t)limit, sizeof *rows);
  if (rows == NULL) return rpc_status_set(st, RPC_RESOURCE_EXHAUSTED, "out of memory");
  db_error e = {0};
  size_t n = 0;
  bool more = false;
  rpc_code rc = RPC_OK;
  db_conn *conn = db_pool_acquire(app->pool, ACQUIRE_MS, &e);
  if (conn == NULL) {
    rc = db_failed(st, "listing balances", &e);
    goto out;
  }
  int q = rm_list_page(conn, after, limit, rows, &n, &more, &e);
  db_pool_release(app->pool, conn);
  if (q != 0) {
    rc = db_failed(st, "listing balances", &e);
    goto out;
  }
  out->balances = http_call_alloc(call, (n ? n : 1) * sizeof *out->balances);
  if (out->balances == NULL) goto oom;
  for (size_t i = 0; i < n; i++) {
    Wallet__V1__Balance *b =
        (Wallet__V1__Balance *)http_call_new_message(call, &wallet__v1__balance__descriptor);
    if (b == NULL || !balance_message_fill(call, b, &rows[i], false)) goto oom;
    out->balances[out->n_balances++] = b;
  }
  if (more && n > 0) {
    out->next_page_token = http_call_strdup(call, rows[n - 1].account_id);
    if (out->next_page_token == NULL) goto oom;
  }
  goto out;
oom:
  rc = rpc_status_set(st, RPC_RESOURCE_EXHAUSTED, "out of memory");
out:
  free(rows);
  return rc;
}

/* ---- GET /balances/{account_id}/history ----------------------------------------------- */

static Wallet__V1__HistoryEntry *entry_new(http_call *call, const history_entry *h) {
  Wallet__V1__HistoryEntry *m = (Wallet__V1__HistoryEntry *)http_call_new_message(
      call, &wallet__v1__history_entry__descriptor);
  if (m == NULL) return NULL;
  m->version = h->version;
  m->transaction_id = http_call_strdup(call, h->transaction_id);
  m->counterparty_account_id = http_call_strdup(call, h->counterparty_id);
  m->amount = h->amount;
  m->balance_after = h->balance_after;
  m->occurred_at = ts_new(call, h->occurred_at_us);
  if (m->transaction_id == NULL || m->counterparty_account_id == NULL ||
      m->occurred_at == NULL) {
    return NULL;
  }
  return m;
}

rpc_code balances_get_history(http_call *call, const ProtobufCMessage *request,
                              ProtobufCMessage *response, rpc_status *st) {
  balances_app *app = http_call_app(call);
  const Wallet__V1__GetHistoryRequest *req = (const Wallet__V1__GetHistoryRequest *)request;
  Wallet__V1__GetHistoryResponse *out = (Wallet__V1__GetHistoryResponse *)response;
  char id[UUID_STR_LEN];
  if (!uuid_normalize(req->account_id, id)) {
    return rpc_status_set(st, RPC_INVALID_ARGUMENT, "account_id: not a UUID: \"%.64s\"",
                          req->account_id);
  }
  int limit = 0;
  if (page_size_of(req->page_size, &limit, st) != RPC_OK) return st->code;
  int64_t before = INT64_MAX;
  if (req->page_token[0] != '\0' && !version_token_parse(req->page_token, &before)) {
    return rpc_status_set(st, RPC_INVALID_ARGUMENT, "page_token: not a token of this history");
  }
  history_entry *rows = calloc((size_t)limit, sizeof *rows);
  if (rows == NULL) return rpc_status_set(st, RPC_RESOURCE_EXHAUSTED, "out of memory");
  db_error e = {0};
  size_t n = 0;
  bool more = false, exists = true;
  int64_t latest = 0, complete = 0;
  rpc_code rc = RPC_OK;
  db_conn *conn = db_pool_acquire(app->pool, ACQUIRE_MS, &e);
  if (conn == NULL) {
    rc = db_failed(st, "reading history", &e);
    goto out;
  }
  /* Bounds first: a page read after them can only show more, never contradict them. */
  int q = hr_bounds(conn, id, &latest, &complete, &e);
  if (q == 0) q = hr_page(conn, id, before, limit, rows, &n, &more, &e);
  if (q == 0 && latest == 0) q = hr_balance_exists(conn, id, &exists, &e);
  db_pool_release(app->pool, conn);
  if (q != 0) {
    rc = db_failed(st, "reading history", &e);
    goto out;
  }
  if (!exists) {
    rc = rpc_status_set(st, RPC_NOT_FOUND, "no history for account %s", id);
    goto out;
  }
  out->account_id = http_call_strdup(call, id);
  out->entries = http_call_alloc(call, (n ? n : 1) * sizeof *out->entries);
  if (out->account_id == NULL || out->entries == NULL) goto oom;
  for (size_t i = 0; i < n; i++) {
    Wallet__V1__HistoryEntry *m = entry_new(call, &rows[i]);
    if (m == NULL) goto oom;
    out->entries[out->n_entries++] = m;
  }
  out->complete_through_version = complete;
  out->latest_version = latest;
  if (more && n > 0) {
    char tok[VERSION_TOKEN_LEN];
    version_token_format(rows[n - 1].version, tok);
    out->next_page_token = http_call_strdup(call, tok);
    if (out->next_page_token == NULL) goto oom;
  }
  goto out;
oom:
  rc = rpc_status_set(st, RPC_RESOURCE_EXHAUSTED, "out of memory");
out:
  free(rows);
  return rc;
}

/* ---- GET /balances/{account_id}?as_of=T ------------------------------------------------ */

typedef struct as_of_job {
  struct as_of_job *next;
  http_call *call;
  Wallet__V1__Balance *out;
  char account[UUID_STR_LEN];
  int64_t at_us;
} as_of_job;

struct as_of_worker {
  db_pool *pool;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  as_of_job *head, *tail;
  bool stop;
  pthread_t thread;
};

static void as_of_answer(db_pool *pool, as_of_job *j) {
  rpc_status st = {.code = RPC_OK};
  db_error e = {0};
  history_entry h;
  bool found = false;
  db_conn *conn = db_pool_acquire(pool, ACQUIRE_MS, &e);
  int q = -1;
  if (conn != NULL) {
    q = hr_as_of(conn, j->account, j->at_us, &h, &found, &e);
    db_pool_release(pool, conn);
  }
  if (q != 0) {
    db_failed(&st, "balance as of", &e);
  } else if (!found) {
    char at[40];
    time_format_rfc3339_ms(j->at_us / 1000, at, sizeof at);
    rpc_status_set(&st, RPC_NOT_FOUND, "no balance for account %s as of %s", j->account, at);
  } else {
    rm_update row = {.balance = h.balance_after, .version = h.version,
                     .updated_at_us = h.occurred_at_us};
    snprintf(row.account_id, sizeof row.account_id, "%s", h.account_id);
    if (!balance_message_fill(j->call, j->out, &row, false)) {
      rpc_status_set(&st, RPC_RESOURCE_EXHAUSTED, "out of memory");
    }
  }
  http_call_finish(j->call, st.code, st.code == RPC_OK ? NULL : &st);
  free(j);
}

static void *as_of_main(void *arg) {
  as_of_worker *w = arg;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (w->head == NULL && !w->stop) pthread_cond_wait(&w->cv, &w->mu);
    as_of_job *j = w->head;
    if (j == NULL) break; /* stop, and nothing left */
    w->head = j->next;
    if (w->head == NULL) w->tail = NULL;
    pthread_mutex_unlock(&w->mu);
    as_of_answer(w->pool, j);
    pthread_mutex_lock(&w->mu);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

as_of_worker *as_of_worker_start(db_pool *pool, char *err, size_t errlen) {
  as_of_worker *w = calloc(1, sizeof *w);
  if (w == NULL) {
    snprintf(err, errlen, "as_of worker: out of memory");
    return NULL;
  }
  w->pool = pool;
  pthread_mutex_init(&w->mu, NULL);
  pthread_cond_init(&w->cv, NULL);
  int rc = pthread_create(&w->thread, NULL, as_of_main, w);
  if (rc != 0) {
    snprintf(err, errlen, "as_of worker: cannot start thread: %s", strerror(rc));
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
    return NULL;
  }
  return w;
}

void as_of_worker_stop(as_of_worker *w) {
  if (w == NULL) return;
  pthread_mutex_lock(&w->mu);
  w->stop = true;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL); /* it drains the queue before leaving */
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  free(w);
}

void as_of_submit(as_of_worker *w, db_pool *pool, http_call *call, Wallet__V1__Balance *out,
                  const char *account, int64_t at_us) {
  http_call_defer(call);
  as_of_job *j = calloc(1, sizeof *j);
  if (j == NULL) {
    rpc_status st;
    rpc_status_set(&st, RPC_RESOURCE_EXHAUSTED, "out of memory");
    http_call_finish(call, st.code, &st);
    return;
  }
  j->call = call;
  j->out = out;
  j->at_us = at_us;
  snprintf(j->account, sizeof j->account, "%s", account);
  if (w == NULL) {
    as_of_answer(pool, j);
    return;
  }
  pthread_mutex_lock(&w->mu);
  if (w->tail != NULL) w->tail->next = j;
  else w->head = j;
  w->tail = j;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}
