/* transfer_batcher: a queue of waiting transfers and the threads that commit them in groups. */
#include "transfer_batcher.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "timeutil.h"
#include "validate.h"

#define DEFAULT_THREADS 2
#define DEFAULT_MAX_BATCH 256
#define DEFAULT_QUEUE_MAX 8192
#define DEFAULT_WAIT_MS 10000
#define DEFAULT_ACQUIRE_MS 5000
#define KEY_MAX 256 /* validate_idempotency_key allows 1..255 characters */

typedef enum { NODE_QUEUED, NODE_RUNNING, NODE_DONE } node_state;

typedef struct node {
  struct node *prev, *next;
  char from[UUID_STR_LEN], to[UUID_STR_LEN];
  char key[KEY_MAX];
  int has_key;
  int64_t amount;
  node_state state;
  int abandoned; /* the waiter gave up while its group ran: the batcher frees the node */
  pthread_cond_t cv;
  transfer_result result;
  /* async submit: who to answer (the batcher frees the node after), and until when it may
   * wait in the queue */
  transfer_done_fn done;
  void *done_arg;
  int64_t deadline_ms;
} node;

struct transfer_batcher {
  transfer_batcher_config cfg;
  pthread_mutex_t mu;
  pthread_cond_t work;
  pthread_cond_t idle; /* signalled when the last waiter leaves submit */
  size_t waiters;      /* callers inside submit, past the queue check */
  node *head, *tail;
  size_t queued;
  int stopping;
  int paused;
  pthread_t *threads;
  int nthreads;
  metric *m_queue, *m_batches;
};

/* ---- metrics ---- */

static const int64_t size_le[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512};
#define NSIZE (sizeof size_le / sizeof size_le[0])

static struct {
  pthread_once_t once;
  metric *committed;
  metric *rejected[WALLET_INTERNAL + 1];
  metric *size_bucket[NSIZE + 1];
  metric *size_sum, *size_count;
} M = {.once = PTHREAD_ONCE_INIT};

static void metrics_init(void) {
  static const char *reason[] = {
      [WALLET_INVALID] = "invalid",
      [WALLET_NOT_FOUND] = "not_found",
      [WALLET_INSUFFICIENT_FUNDS] = "insufficient_funds",
      [WALLET_IDEMPOTENCY_MISMATCH] = "idempotency_mismatch",
      [WALLET_UNAVAILABLE] = "unavailable",
      [WALLET_OUTCOME_UNKNOWN] = "outcome_unknown",
      [WALLET_INTERNAL] = "internal",
  };
  M.committed = metrics_counter("transfers_committed_total", "Transfers committed", NULL);
  char labels[64];
  for (int rc = WALLET_INVALID; rc <= WALLET_INTERNAL; rc++) {
    snprintf(labels, sizeof labels, "reason=\"%s\"", reason[rc]);
    M.rejected[rc] = metrics_counter("transfers_rejected_total",
                                     "Transfers answered with an error, by reason", labels);
  }
  /* metrics.h histograms are latency-only: the batch size histogram is spelled out as
   * cumulative counters in the Prometheus histogram naming. */
  for (size_t i = 0; i <= NSIZE; i++) {
    if (i < NSIZE) {
      snprintf(labels, sizeof labels, "le=\"%lld\"", (long long)size_le[i]);
    } else {
      snprintf(labels, sizeof labels, "le=\"+Inf\"");
    }
    M.size_bucket[i] = metrics_counter("transfer_batch_size_bucket",
                                       "Transfers per DB transaction (cumulative buckets)",
                                       labels);
  }
  M.size_sum = metrics_counter("transfer_batch_size_sum", "Transfers in all batches", NULL);
  M.size_count = metrics_counter("transfer_batch_size_count", "Batches committed or failed",
                                 NULL);
}

void transfer_batcher_count(const transfer_result *results, size_t n) {
  pthread_once(&M.once, metrics_init);
  int64_t committed = 0;
  for (size_t i = 0; i < n; i++) {
    wallet_rc rc = results[i].err.rc;
    if (rc == WALLET_OK) {
      committed += !results[i].replayed;
    } else if (rc > WALLET_OK && rc <= WALLET_INTERNAL) {
      metrics_add(M.rejected[rc], 1);
    }
  }
  if (committed > 0) metrics_add(M.committed, committed);
}

static void observe_batch(size_t k) {
  pthread_once(&M.once, metrics_init);
  for (size_t i = 0; i <= NSIZE; i++) {
    if (i == NSIZE || (int64_t)k <= size_le[i]) metrics_add(M.size_bucket[i], 1);
  }
  metrics_add(M.size_sum, (int64_t)k);
  metrics_add(M.size_count, 1);
}

/* ---- queue (b->mu held) ---- */

static void queue_push(transfer_batcher *b, node *n) {
  n->prev = b->tail;
  n->next = NULL;
  if (b->tail != NULL) b->tail->next = n;
  else b->head = n;
  b->tail = n;
  b->queued++;
}

static void queue_unlink(transfer_batcher *b, node *n) {
  if (n->prev != NULL) n->prev->next = n->next;
  else b->head = n->next;
  if (n->next != NULL) n->next->prev = n->prev;
  else b->tail = n->prev;
  n->prev = n->next = NULL;
  b->queued--;
}

static node *node_new(void) {
  node *n = calloc(1, sizeof *n);
  if (n == NULL) return NULL;
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&n->cv, &ca);
  pthread_condattr_destroy(&ca);
  return n;
}

static void node_free(node *n) {
  if (n == NULL) return;
  pthread_cond_destroy(&n->cv);
  free(n);
}

static void answer(transfer_result *out, wallet_rc rc, const char *msg) {
  memset(out, 0, sizeof *out);
  wallet_err_set(&out->err, rc, "%s", msg);
}

/* Answers (and frees) async nodes refused without being applied. */
static void answer_async_refused(node *n, const char *msg) {
  transfer_result r;
  answer(&r, WALLET_UNAVAILABLE, msg);
  transfer_batcher_count(&r, 1);
  n->done(n->done_arg, &r);
  node_free(n);
}

static void answer_expired(node *list) {
  while (list != NULL) {
    node *n = list;
    list = n->next;
    answer_async_refused(n, "no answer in time: transfer not applied; retry");
  }
}

/* ---- the batcher threads ---- */

static void run_group(transfer_batcher *b, node **group, size_t k, transfer_request *reqs,
                      transfer_result *results) {
  for (size_t i = 0; i < k; i++) {
    reqs[i] = (transfer_request){
        .account_id_from = group[i]->from,
        .account_id_to = group[i]->to,
        .amount = group[i]->amount,
        .idempotency_key = group[i]->has_key ? group[i]->key : NULL,
    };
  }
  db_error e;
  int acquire_ms = b->cfg.acquire_timeout_ms > 0 ? b->cfg.acquire_timeout_ms : DEFAULT_ACQUIRE_MS;
  db_conn *conn = db_pool_acquire(b->cfg.pool, acquire_ms, &e);
  if (conn == NULL) {
    for (size_t i = 0; i < k; i++) {
      memset(&results[i], 0, sizeof results[i]);
      wallet_err_set(&results[i].err, WALLET_UNAVAILABLE, "database unavailable: %s",
                     e.message);
    }
  } else {
    wallet_err fatal;
    int applied = transfers_apply(conn, &b->cfg.topics, reqs, results, k, &fatal);
    db_pool_release(b->cfg.pool, conn);
    if (applied > 0) outbox_relay_notify(b->cfg.relay);
  }
  observe_batch(k);
  transfer_batcher_count(results, k);
}

static void *batcher_main(void *arg) {
  transfer_batcher *b = arg;
  size_t max = (size_t)b->cfg.max_batch;
  node **group = calloc(max, sizeof *group);
  transfer_request *reqs = calloc(max, sizeof *reqs);
  transfer_result *results = calloc(max, sizeof *results);
  if (group == NULL || reqs == NULL || results == NULL) {
    /* The other threads (and stop's drain) still serve the queue. */
    log_error("transfer batcher: out of memory; thread exits");
    goto out;
  }
  pthread_mutex_lock(&b->mu);
  for (;;) {
    while ((b->head == NULL || b->paused) && !b->stopping) pthread_cond_wait(&b->work, &b->mu);
    if (b->head == NULL) break; /* stopping and drained */
    size_t k = 0;
    node *expired = NULL; /* async transfers that waited in the queue past their time */
    int64_t now = time_mono_ms();
    while (k < max && b->head != NULL) {
      node *n = b->head;
      queue_unlink(b, n);
      if (n->done != NULL && now > n->deadline_ms) {
        n->next = expired;
        expired = n;
        continue;
      }
      n->state = NODE_RUNNING;
      group[k++] = n;
    }
    metrics_set(b->m_queue, (int64_t)b->queued);
    pthread_mutex_unlock(&b->mu);

    answer_expired(expired);
    if (k > 0) run_group(b, group, k, reqs, results);

    /* Async callers first, outside the lock: they format and send their answers. */
    for (size_t i = 0; i < k; i++) {
      node *n = group[i];
      if (n->done == NULL) continue;
      n->done(n->done_arg, &results[i]);
      node_free(n);
      group[i] = NULL;
    }
    pthread_mutex_lock(&b->mu);
    size_t nfree = 0;
    for (size_t i = 0; i < k; i++) {
      node *n = group[i];
      if (n == NULL) continue;
      if (n->abandoned) {
        group[nfree++] = n; /* freed below, outside the lock */
        continue;
      }
      n->result = results[i];
      n->state = NODE_DONE;
      pthread_cond_signal(&n->cv);
    }
    pthread_mutex_unlock(&b->mu);
    for (size_t i = 0; i < nfree; i++) node_free(group[i]);
    pthread_mutex_lock(&b->mu);
  }
  pthread_mutex_unlock(&b->mu);
out:
  free(group);
  free(reqs);
  free(results);
  return NULL;
}

transfer_batcher *transfer_batcher_start(const transfer_batcher_config *cfg, char *err,
                                         size_t errlen) {
  if (cfg == NULL || cfg->pool == NULL || cfg->topics.transactions == NULL ||
      cfg->topics.balances == NULL) {
    snprintf(err, errlen, "transfer batcher: pool and topics are required");
    return NULL;
  }
  transfer_batcher *b = calloc(1, sizeof *b);
  if (b == NULL) {
    snprintf(err, errlen, "transfer batcher: out of memory");
    return NULL;
  }
  b->cfg = *cfg;
  if (b->cfg.threads <= 0) b->cfg.threads = DEFAULT_THREADS;
  if (b->cfg.max_batch <= 0) b->cfg.max_batch = DEFAULT_MAX_BATCH;
  if (b->cfg.queue_max <= 0) b->cfg.queue_max = DEFAULT_QUEUE_MAX;
  if (b->cfg.wait_ms <= 0) b->cfg.wait_ms = DEFAULT_WAIT_MS;
  pthread_mutex_init(&b->mu, NULL);
  pthread_cond_init(&b->work, NULL);
  pthread_cond_init(&b->idle, NULL);
  b->m_queue = metrics_gauge("transfer_queue_depth", "Transfers waiting for a batch", NULL);
  b->m_batches = metrics_gauge("transfer_batcher_threads", "Batcher threads", NULL);
  pthread_once(&M.once, metrics_init);
  b->threads = calloc((size_t)b->cfg.threads, sizeof *b->threads);
  if (b->threads == NULL) {
    snprintf(err, errlen, "transfer batcher: out of memory");
    goto fail;
  }
  for (int i = 0; i < b->cfg.threads; i++) {
    if (pthread_create(&b->threads[i], NULL, batcher_main, b) != 0) {
      snprintf(err, errlen, "transfer batcher: cannot start thread %d", i);
      goto fail;
    }
    b->nthreads++;
  }
  metrics_set(b->m_batches, b->nthreads);
  return b;
fail:
  transfer_batcher_stop(b);
  return NULL;
}

/* A queue node holding copies of req (they outlive a caller that gives up), or NULL with
 * *out answered: out of memory, or invalid input, which never reaches the queue. */
static node *node_from_request(const transfer_request *req, transfer_result *out) {
  memset(out, 0, sizeof *out);
  node *n = node_new();
  if (n == NULL) {
    answer(out, WALLET_INTERNAL, "out of memory queueing a transfer");
    return NULL;
  }
  if (validate_uuid("account_id_from", req->account_id_from, n->from, &out->err) != WALLET_OK ||
      validate_uuid("account_id_to", req->account_id_to, n->to, &out->err) != WALLET_OK ||
      (req->idempotency_key != NULL &&
       validate_idempotency_key(req->idempotency_key, &out->err) != WALLET_OK)) {
    node_free(n);
    return NULL;
  }
  if (req->idempotency_key != NULL) {
    snprintf(n->key, sizeof n->key, "%s", req->idempotency_key);
    n->has_key = 1;
  }
  n->amount = req->amount;
  return n;
}

/* Why a new transfer cannot be queued now, or NULL (b->mu held). */
static const char *refusal_locked(const transfer_batcher *b) {
  if (b->stopping || b->nthreads == 0) return "shutting down: transfer not applied";
  if (b->queued >= (size_t)b->cfg.queue_max)
    return "too many transfers queued: transfer not applied; retry";
  return NULL;
}

void transfer_batcher_submit(transfer_batcher *b, const transfer_request *req,
                             transfer_result *out) {
  node *n = node_from_request(req, out);
  if (n == NULL) return;

  pthread_mutex_lock(&b->mu);
  const char *refused = refusal_locked(b);
  if (refused != NULL) {
    pthread_mutex_unlock(&b->mu);
    node_free(n);
    answer(out, WALLET_UNAVAILABLE, refused);
    transfer_batcher_count(out, 1);
    return;
  }
  queue_push(b, n);
  b->waiters++;
  pthread_cond_signal(&b->work);

  struct timespec deadline;
  time_deadline_ts(CLOCK_MONOTONIC, b->cfg.wait_ms, &deadline);
  while (n->state != NODE_DONE) {
    if (pthread_cond_timedwait(&n->cv, &b->mu, &deadline) == ETIMEDOUT) break;
  }
  if (--b->waiters == 0) pthread_cond_broadcast(&b->idle);
  if (n->state == NODE_DONE) {
    *out = n->result;
    pthread_mutex_unlock(&b->mu);
    node_free(n);
    return;
  }
  if (n->state == NODE_QUEUED) {
    queue_unlink(b, n);
    pthread_mutex_unlock(&b->mu);
    node_free(n);
    answer(out, WALLET_UNAVAILABLE, "no answer in time: transfer not applied; retry");
    transfer_batcher_count(out, 1);
    return;
  }
  n->abandoned = 1; /* running: the batcher frees it */
  pthread_mutex_unlock(&b->mu);
  answer(out, WALLET_OUTCOME_UNKNOWN,
         "no answer in time: outcome unknown; retry with the same Idempotency-Key");
  /* Not counted here: its group counts the real outcome when it finishes. */
}

void transfer_batcher_submit_async(transfer_batcher *b, const transfer_request *req,
                                   transfer_done_fn done, void *arg) {
  transfer_result r;
  node *n = node_from_request(req, &r);
  if (n == NULL) {
    done(arg, &r);
    return;
  }
  n->done = done;
  n->done_arg = arg;
  n->deadline_ms = time_mono_ms() + b->cfg.wait_ms;

  pthread_mutex_lock(&b->mu);
  const char *refused = refusal_locked(b);
  if (refused != NULL) {
    pthread_mutex_unlock(&b->mu);
    answer_async_refused(n, refused);
    return;
  }
  queue_push(b, n);
  pthread_cond_signal(&b->work);
  pthread_mutex_unlock(&b->mu);
}

void transfer_batcher_stop(transfer_batcher *b) {
  if (b == NULL) return;
  pthread_mutex_lock(&b->mu);
  b->stopping = 1;
  pthread_cond_broadcast(&b->work);
  pthread_mutex_unlock(&b->mu);
  for (int i = 0; i < b->nthreads; i++) pthread_join(b->threads[i], NULL);
  /* No thread ran (or all failed): answer whatever is queued so no waiter hangs. */
  pthread_mutex_lock(&b->mu);
  while (b->head != NULL) {
    node *n = b->head;
    queue_unlink(b, n);
    if (n->done != NULL) {
      pthread_mutex_unlock(&b->mu);
      answer_async_refused(n, "shutting down: transfer not applied");
      pthread_mutex_lock(&b->mu);
      continue;
    }
    answer(&n->result, WALLET_UNAVAILABLE, "shutting down: transfer not applied");
    n->state = NODE_DONE;
    pthread_cond_signal(&n->cv);
  }
  /* Every waiter has its answer; let them all leave submit before the memory goes. */
  while (b->waiters > 0) pthread_cond_wait(&b->idle, &b->mu);
  pthread_mutex_unlock(&b->mu);
  free(b->threads);
  pthread_cond_destroy(&b->work);
  pthread_cond_destroy(&b->idle);
  pthread_mutex_destroy(&b->mu);
  free(b);
}

size_t transfer_batcher_queued(transfer_batcher *b) {
  pthread_mutex_lock(&b->mu);
  size_t n = b->queued;
  pthread_mutex_unlock(&b->mu);
  return n;
}

void transfer_batcher_pause(transfer_batcher *b, int paused) {
  pthread_mutex_lock(&b->mu);
  b->paused = paused;
  pthread_cond_broadcast(&b->work);
  pthread_mutex_unlock(&b->mu);
}
