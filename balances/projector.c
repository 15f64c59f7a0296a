/* projector: consume balances -> decode -> one DB transaction per batch -> commit offsets. */
#include "projector.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dead_letter.h"
#include "parallel_apply.h"
#include "event_decode.h"
#include "kafka_consumer.h"
#include "kafka_probe.h"
#include "log.h"
#include "metrics.h"
#include "read_model.h"
#include "timeutil.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define LAG_REFRESH_MS 1000
#define DLQ_FLUSH_MS 1000
/* Offsets are committed at most this often (by default) while batches keep coming, and
 * at once when the stream pauses. A commit is a synchronous round trip to the group
 * coordinator and an append to __consumer_offsets: once per batch (~80 a second at 1,000
 * transfers/s) it cost the broker ~0.05 of a core (bench/results/2026-12-07-ab-offsets)
 * and held up the next batch. What a crash can redeliver grows by at most this much of
 * the stream, and versions absorb redelivery. */
#define COMMIT_EVERY_MS_DEFAULT 100

struct projector {
  char *brokers, *topic, *dlq_topic, *group;
  db_pool *pool;
  apply_notify *notify;
  int batch_max, batch_wait_ms;
  int apply_flags; /* RM_HISTORY unless HISTORY=off */
  int appliers;    /* database transactions per batch, at once (parallel_apply.h) */
  int commit_every_ms;

  kafka_consumer *consumer;
  dead_letter *dlq;
  pthread_t thread;
  bool started;
  atomic_bool stop;

  /* Batch storage, reused; owned here (not by the thread's stack) because pending DLQ
   * delivery reports point into items until dead_letter_free. */
  rd_kafka_message_t **msgs;
  rm_update *updates;
  dead_letter_item *items;

  atomic_bool assigned, ever_assigned, db_ok, dlq_ok;
  _Atomic int64_t lag;
  _Atomic uint64_t applied, dead_lettered, batches;

  /* Offsets stored since the last commit (projector thread only). */
  bool uncommitted;
  int64_t last_commit_ms;

  metric *m_applied, *m_batch_seconds, *m_lag, *m_apply_lag, *m_commits;
};

/* Sleeps ms in short slices, returning early (true) when asked to stop. */
static bool projector_sleep(projector *p, int ms) {
  for (int slept = 0; slept < ms; slept += 50) {
    if (atomic_load(&p->stop)) return true;
    time_sleep_ms(ms - slept < 50 ? ms - slept : 50);
  }
  return atomic_load(&p->stop);
}

static int backoff_next(int ms) { return ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : ms * 2; }

static void projector_refresh(projector *p, int64_t *next_lag_ms) {
  bool a = kafka_consumer_assigned(p->consumer);
  atomic_store(&p->assigned, a);
  if (a) atomic_store(&p->ever_assigned, true);
  int64_t now = time_mono_ms();
  if (now >= *next_lag_ms) {
    int64_t lag = kafka_consumer_lag(p->consumer);
    atomic_store(&p->lag, lag);
    if (lag >= 0) metrics_set(p->m_lag, lag);
    *next_lag_ms = now + LAG_REFRESH_MS;
  }
}

/* Up to batch_max records: waits up to batch_wait_ms for the first one, then takes only
 * what has already arrived. Batching this way costs no latency at a low rate (a lone
 * event is applied at once) and grows batches by itself under load (whatever arrives
 * while one batch commits makes the next). Error events are logged, not returned. */
static size_t projector_collect(projector *p) {
  size_t n = 0;
  int64_t deadline = time_mono_ms() + p->batch_wait_ms;
  while (n < (size_t)p->batch_max && !atomic_load(&p->stop)) {
    int64_t left = deadline - time_mono_ms();
    if (n == 0 && left <= 0) break;
    rd_kafka_message_t *m = kafka_consumer_poll(p->consumer, n == 0 ? (int)left : 0);
    if (m == NULL) {
      if (n > 0) break;
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      log_warn("kafka consumer: %s", rd_kafka_message_errstr(m));
      rd_kafka_message_destroy(m);
      continue;
    }
    p->msgs[n++] = m;
  }
  return n;
}

/* Commits the stored offsets when some are waiting and commit_every_ms has passed since
 * the last commit, or at once when now is true (the stream paused). Only offsets of
 * batches whose effects are durable are ever stored, so none of this can lose a record. */
static void projector_commit(projector *p, bool now) {
  if (!p->uncommitted) return;
  int64_t t = time_mono_ms();
  if (!now && t - p->last_commit_ms < p->commit_every_ms) return;
  p->last_commit_ms = t;
  p->uncommitted = false;
  char err[256];
  if (kafka_consumer_commit(p->consumer, err, sizeof err) != 0) {
    /* The effects are durable; a later commit carries these offsets, and if none does,
     * redelivery is absorbed by the versions. */
    log_warn("projector: offset commit failed: %s", err);
    return;
  }
  metrics_add(p->m_commits, 1);
}

/* Returns 0 when the batch is committed (or its commit failed harmlessly), -1 when it
 * was abandoned because of stop. */
static int projector_process(projector *p, size_t n) {
  int64_t t0 = time_mono_ms();
  size_t nu = 0, nd = 0, nvalid = 0;
  for (size_t i = 0; i < n; i++) {
    size_t k = 0;
    dead_letter_item *it = &p->items[nd];
    memset(it, 0, sizeof *it);
    if (event_decode(p->msgs[i], &p->updates[nu], &k, it->reason, sizeof it->reason) == 0) {
      nu += k;
      nvalid++;
    } else {
      it->msg = p->msgs[i];
      it->state = DLQ_NEW;
      nd++;
    }
  }

  int backoff = BACKOFF_MIN_MS;
  for (;;) {
    db_error e = {0};
    if (parallel_apply(p->pool, p->updates, nu, p->apply_flags, p->appliers, &e) == 0) break;
    if (atomic_exchange(&p->db_ok, false) || backoff == BACKOFF_MAX_MS) {
      log_warn("projector: applying a batch of %zu record(s) failed (%u: %s); retrying it",
               n, e.code, e.message);
    }
    if (projector_sleep(p, backoff)) return -1;
    backoff = backoff_next(backoff);
  }
  if (!atomic_exchange(&p->db_ok, true)) log_info("projector: database is back");
  apply_notify_broadcast(p->notify);
  /* End-to-end lag: the event's occurred_at (wallet-core's commit) to this commit. */
  int64_t applied_us = time_now_us();
  for (size_t i = 0; i < nu; i++) {
    int64_t lag = applied_us - p->updates[i].updated_at_us;
    metrics_observe_us(p->m_apply_lag, lag < 0 ? 0 : lag);
  }

  backoff = BACKOFF_MIN_MS;
  while (nd > 0) {
    char err[256];
    if (dead_letter_deliver(p->dlq, p->items, nd, DLQ_FLUSH_MS, err, sizeof err) == 0) {
      atomic_store(&p->dlq_ok, true);
      break;
    }
    atomic_store(&p->dlq_ok, false);
    log_warn("projector: %s; offsets stay uncommitted until it is", err);
    if (projector_sleep(p, backoff)) return -1;
    backoff = backoff_next(backoff);
  }

  for (size_t i = 0; i < n; i++) kafka_consumer_store(p->consumer, p->msgs[i]);
  p->uncommitted = true;
  projector_commit(p, false);
  atomic_fetch_add(&p->applied, nvalid);
  atomic_fetch_add(&p->dead_lettered, nd);
  atomic_fetch_add(&p->batches, 1);
  metrics_add(p->m_applied, (int64_t)nvalid);
  metrics_observe_us(p->m_batch_seconds, (time_mono_ms() - t0) * 1000);
  log_debug("projector: batch of %zu record(s): %zu applied, %zu dead-lettered", n, nvalid,
            nd);
  return 0;
}

static void *projector_main(void *arg) {
  projector *p = arg;
  int64_t next_lag_ms = 0;
  while (!atomic_load(&p->stop)) {
    size_t n = projector_collect(p);
    if (n > 0) projector_process(p, n);
    else projector_commit(p, true); /* batch_wait_ms without a record: the stream paused */
    for (size_t i = 0; i < n; i++) {
      rd_kafka_message_destroy(p->msgs[i]);
      p->msgs[i] = NULL;
    }
    projector_refresh(p, &next_lag_ms);
  }
  return NULL;
}

static void projector_free(projector *p) {
  if (p == NULL) return;
  kafka_consumer_close(p->consumer);
  dead_letter_free(p->dlq); /* before items: purged reports still write into them */
  free(p->msgs);
  free(p->updates);
  free(p->items);
  free(p->brokers);
  free(p->topic);
  free(p->dlq_topic);
  free(p->group);
  free(p);
}

projector *projector_start(const projector_config *cfg, char *err, size_t errlen) {
  projector *p = calloc(1, sizeof *p);
  if (p == NULL) goto oom;
  p->pool = cfg->pool;
  p->notify = cfg->notify;
  p->batch_max = cfg->batch_max > 0 ? cfg->batch_max : 2000;
  p->batch_wait_ms = cfg->batch_wait_ms > 0 ? cfg->batch_wait_ms : 50;
  p->apply_flags = cfg->no_history ? 0 : RM_HISTORY;
  p->appliers = cfg->appliers > 0 ? cfg->appliers : 1;
  p->commit_every_ms = cfg->commit_every_ms > 0 ? cfg->commit_every_ms : COMMIT_EVERY_MS_DEFAULT;
  p->last_commit_ms = time_mono_ms();
  p->brokers = strdup(cfg->brokers);
  p->topic = strdup(cfg->topic ? cfg->topic : "balances");
  p->dlq_topic = strdup(cfg->dlq_topic ? cfg->dlq_topic : "balances.dlq");
  p->group = strdup(cfg->group ? cfg->group : "balances");
  p->msgs = calloc((size_t)p->batch_max, sizeof *p->msgs);
  p->updates = calloc((size_t)p->batch_max * EVENT_MAX_UPDATES, sizeof *p->updates);
  p->items = calloc((size_t)p->batch_max, sizeof *p->items);
  if (!p->brokers || !p->topic || !p->dlq_topic || !p->group || !p->msgs || !p->updates ||
      !p->items) {
    goto oom;
  }
  atomic_init(&p->stop, false);
  atomic_init(&p->db_ok, true);
  atomic_init(&p->dlq_ok, true);
  atomic_init(&p->lag, -1);

  p->m_apply_lag = metrics_histogram(
      "projector_apply_lag_seconds",
      "From an event's occurred_at to the commit that applied it, per account update", NULL);
  p->m_applied = metrics_counter("events_applied_total",
                                 "Records of the balances topic applied to the read model.",
                                 NULL);
  p->m_batch_seconds = metrics_histogram(
      "projector_batch_seconds", "Time to apply and commit one projector batch.", NULL);
  p->m_commits = metrics_counter("projector_offset_commits_total",
                                 "Offset commits of the projector's consumer group", NULL);
  p->m_lag = metrics_gauge("consumer_lag",
                           "Records of the balances topic not yet consumed by this instance.",
                           NULL);

  const char *const topics[] = {p->topic};
  p->consumer = kafka_consumer_new(p->brokers, p->group, topics, 1, cfg->consumer_conf, err,
                                   errlen);
  if (p->consumer == NULL) goto fail;
  p->dlq = dead_letter_new(p->brokers, p->dlq_topic, cfg->producer_conf, err, errlen);
  if (p->dlq == NULL) goto fail;
  int rc = pthread_create(&p->thread, NULL, projector_main, p);
  if (rc != 0) {
    snprintf(err, errlen, "projector: cannot start thread: %s", strerror(rc));
    goto fail;
  }
  p->started = true;
  return p;
oom:
  snprintf(err, errlen, "projector: out of memory");
fail:
  projector_free(p);
  return NULL;
}

void projector_stop(projector *p) {
  if (p == NULL) return;
  atomic_store(&p->stop, true);
  if (p->started) pthread_join(p->thread, NULL);
  projector_free(p);
}

void projector_get_status(projector *p, projector_status *out) {
  out->assigned = atomic_load(&p->assigned);
  out->ever_assigned = atomic_load(&p->ever_assigned);
  out->db_ok = atomic_load(&p->db_ok);
  out->dlq_ok = atomic_load(&p->dlq_ok);
  out->lag = atomic_load(&p->lag);
  out->applied = atomic_load(&p->applied);
  out->dead_lettered = atomic_load(&p->dead_lettered);
  out->batches = atomic_load(&p->batches);
}

int projector_kafka_probe(projector *p, int timeout_ms, char *err, size_t errlen) {
  return kafka_probe(kafka_consumer_handle(p->consumer), timeout_ms, err, errlen);
}
