/* balance_reader: one thread turning queued GET /balances lookups into grouped SELECTs. */
#include "balance_reader.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "balance_message.h"
#include "read_model.h"
#include "timeutil.h"
#include "uuid.h"

#define DEFAULT_MAX_BATCH 256
#define DEFAULT_SLICE_MS 25
#define DEFAULT_ACQUIRE_MS 2000

typedef struct lookup {
  struct lookup *next;
  http_call *call;
  Wallet__V1__Balance *out;
  char id[UUID_STR_LEN];
  int64_t min_version;
  int64_t deadline_ms;
} lookup;

struct balance_reader {
  balance_reader_config cfg;
  pthread_mutex_t mu;
  pthread_cond_t cv; /* on CLOCK_MONOTONIC */
  lookup *head, **tail; /* queued by handlers (mu) */
  int notified;         /* a commit since the waiting lookups were last read (mu) */
  int stopping;         /* (mu) */
  lookup *waiting;      /* read, version not reached yet: the thread's own list */
  int64_t next_slice_ms;
  pthread_t thread;
  /* the current group (thread's own) */
  lookup **group;
  size_t group_cap;
  const char **ids;
  rm_update *rows;
};

static void finish_error(lookup *l, rpc_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void finish_error(lookup *l, rpc_code code, const char *fmt, ...) {
  rpc_status st = {.code = code};
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(st.message, sizeof st.message, fmt, ap);
  va_end(ap);
  http_call_finish(l->call, code, &st);
  free(l);
}

/* The answer from the row (NULL: no row); stale when the wait ran out first. */
static void answer(lookup *l, const rm_update *row, bool stale) {
  if (row == NULL) {
    finish_error(l, RPC_NOT_FOUND, BALANCE_NOT_FOUND_FMT, l->id);
    return;
  }
  if (!balance_message_fill(l->call, l->out, row, stale)) {
    finish_error(l, RPC_RESOURCE_EXHAUSTED, "out of memory");
    return;
  }
  http_call_finish(l->call, RPC_OK, NULL);
  free(l);
}

static void decide(balance_reader *r, lookup *l, const rm_update *row, int64_t now,
                   bool stopping) {
  if (l->min_version == 0 || (row != NULL && row->version >= l->min_version)) {
    answer(l, row, false);
  } else if (now >= l->deadline_ms || stopping) {
    answer(l, row, true);
  } else {
    l->next = r->waiting;
    r->waiting = l;
  }
}

/* Reads ls[0..n) (n <= max_batch) with one SELECT and answers or parks each. */
static void read_chunk(balance_reader *r, lookup **ls, size_t n, bool stopping) {
  db_error e = {0};
  db_conn *conn = db_pool_acquire(r->cfg.pool, r->cfg.acquire_timeout_ms, &e);
  if (conn == NULL) {
    for (size_t i = 0; i < n; i++)
      finish_error(ls[i], RPC_UNAVAILABLE, "database unavailable: %s", e.message);
    return;
  }
  for (size_t i = 0; i < n; i++) r->ids[i] = ls[i]->id;
  size_t found = 0;
  int rc = rm_get_many(conn, r->ids, n, r->rows, &found, &e);
  db_pool_release(r->cfg.pool, conn);
  if (rc != 0) {
    rpc_code code = db_error_is_connection(&e) ? RPC_UNAVAILABLE : RPC_INTERNAL;
    for (size_t i = 0; i < n; i++) finish_error(ls[i], code, "reading balance: %s", e.message);
    return;
  }
  int64_t now = time_mono_ms();
  for (size_t i = 0; i < n; i++) {
    const rm_update *row = NULL;
    for (size_t k = 0; k < found && row == NULL; k++)
      if (strcmp(r->rows[k].account_id, ls[i]->id) == 0) row = &r->rows[k];
    decide(r, ls[i], row, now, stopping);
  }
}

static bool grow_group(balance_reader *r, size_t need) {
  if (need <= r->group_cap) return true;
  size_t cap = r->group_cap * 2 > need ? r->group_cap * 2 : need;
  lookup **g = realloc(r->group, cap * sizeof *g);
  if (g == NULL) return false;
  r->group = g;
  r->group_cap = cap;
  return true;
}

static int64_t earliest_deadline(const balance_reader *r) {
  int64_t t = INT64_MAX;
  for (const lookup *l = r->waiting; l != NULL; l = l->next)
    if (l->deadline_ms < t) t = l->deadline_ms;
  return t;
}

static void *reader_main(void *arg) {
  balance_reader *r = arg;
  size_t max = (size_t)r->cfg.max_batch;
  pthread_mutex_lock(&r->mu);
  for (;;) {
    bool waiters_due;
    for (;;) {
      int64_t now = time_mono_ms();
      int64_t wake = r->waiting != NULL ? earliest_deadline(r) : INT64_MAX;
      if (r->waiting != NULL && r->next_slice_ms < wake) wake = r->next_slice_ms;
      waiters_due = r->waiting != NULL && (r->notified || r->stopping || now >= wake);
      if (r->head != NULL || waiters_due) break;
      if (r->stopping) goto out; /* nothing queued, nobody waiting */
      if (wake == INT64_MAX) {
        pthread_cond_wait(&r->cv, &r->mu);
      } else {
        struct timespec ts;
        time_deadline_ts(CLOCK_MONOTONIC, wake - now, &ts);
        pthread_cond_timedwait(&r->cv, &r->mu, &ts);
      }
    }
    /* The group: up to max queued lookups, plus every waiting one when they are due. */
    size_t n = 0;
    while (r->head != NULL && n < max && grow_group(r, n + 1)) {
      lookup *l = r->head;
      r->head = l->next;
      r->group[n++] = l;
    }
    if (r->head == NULL) r->tail = &r->head;
    if (waiters_due) {
      /* Cleared before the read: a commit landing after it triggers another read. */
      r->notified = 0;
      r->next_slice_ms = time_mono_ms() + r->cfg.wait_slice_ms;
      while (r->waiting != NULL && grow_group(r, n + 1)) {
        lookup *l = r->waiting;
        r->waiting = l->next;
        r->group[n++] = l;
      }
    }
    bool stopping = r->stopping != 0;
    pthread_mutex_unlock(&r->mu);
    for (size_t off = 0; off < n; off += max)
      read_chunk(r, r->group + off, n - off < max ? n - off : max, stopping);
    pthread_mutex_lock(&r->mu);
  }
out:
  pthread_mutex_unlock(&r->mu);
  return NULL;
}

static void on_commit(void *arg) {
  balance_reader *r = arg;
  pthread_mutex_lock(&r->mu);
  r->notified = 1;
  if (r->waiting != NULL) pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

static void reader_free(balance_reader *r) {
  free(r->group);
  free(r->ids);
  free(r->rows);
  pthread_cond_destroy(&r->cv);
  pthread_mutex_destroy(&r->mu);
  free(r);
}

balance_reader *balance_reader_start(const balance_reader_config *cfg, char *err,
                                     size_t errlen) {
  if (cfg == NULL || cfg->pool == NULL) {
    snprintf(err, errlen, "balance_reader: a database pool is required");
    return NULL;
  }
  balance_reader *r = calloc(1, sizeof *r);
  if (r == NULL) {
    snprintf(err, errlen, "balance_reader: out of memory");
    return NULL;
  }
  r->cfg = *cfg;
  if (r->cfg.max_batch <= 0) r->cfg.max_batch = DEFAULT_MAX_BATCH;
  if (r->cfg.wait_slice_ms <= 0) r->cfg.wait_slice_ms = DEFAULT_SLICE_MS;
  if (r->cfg.acquire_timeout_ms <= 0) r->cfg.acquire_timeout_ms = DEFAULT_ACQUIRE_MS;
  r->tail = &r->head;
  pthread_mutex_init(&r->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&r->cv, &ca);
  pthread_condattr_destroy(&ca);
  size_t max = (size_t)r->cfg.max_batch;
  r->ids = calloc(max, sizeof *r->ids);
  r->rows = calloc(max, sizeof *r->rows);
  if (r->ids == NULL || r->rows == NULL || !grow_group(r, max)) {
    snprintf(err, errlen, "balance_reader: out of memory");
    reader_free(r);
    return NULL;
  }
  if (pthread_create(&r->thread, NULL, reader_main, r) != 0) {
    snprintf(err, errlen, "balance_reader: cannot start its thread");
    reader_free(r);
    return NULL;
  }
  apply_notify_subscribe(r->cfg.notify, on_commit, r);
  return r;
}

void balance_reader_submit(balance_reader *r, http_call *call, Wallet__V1__Balance *out,
                           const char *account_id, int64_t min_version, int64_t deadline_ms) {
  lookup *l = calloc(1, sizeof *l);
  if (l == NULL) {
    rpc_status st = {.code = RPC_RESOURCE_EXHAUSTED, .message = "out of memory"};
    http_call_finish(call, st.code, &st);
    return;
  }
  l->call = call;
  l->out = out;
  snprintf(l->id, sizeof l->id, "%s", account_id);
  l->min_version = min_version;
  l->deadline_ms = deadline_ms;
  pthread_mutex_lock(&r->mu);
  if (r->stopping) {
    pthread_mutex_unlock(&r->mu);
    finish_error(l, RPC_UNAVAILABLE, "shutting down");
    return;
  }
  bool was_empty = r->head == NULL;
  *r->tail = l;
  r->tail = &l->next;
  if (was_empty) pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

void balance_reader_stop(balance_reader *r) {
  if (r == NULL) return;
  apply_notify_subscribe(r->cfg.notify, NULL, NULL);
  pthread_mutex_lock(&r->mu);
  r->stopping = 1;
  pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->mu);
  pthread_join(r->thread, NULL);
  reader_free(r);
}
