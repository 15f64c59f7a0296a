/* outbox_relay: publishing outbox rows to Kafka, one leader at a time, after commit. */
#include "outbox_relay.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "dbtime.h"
#include "event_headers.h"
#include "kafka_probe.h"
#include "kafka_producer.h"
#include "log.h"
#include "metrics.h"
#include "sqlbatch.h"
#include "timeutil.h"
#include "wallet/v1/outbox.pb-c.h"

#define DEFAULT_BATCH 1000
#define DEFAULT_IDLE_WAIT_MS 200
#define STANDBY_RETRY_MS 1000
#define ACQUIRE_TIMEOUT_MS 2000
#define MARK_EVERY_MS 1000     /* while Kafka is slow, record what is delivered this often */
/* A busy relay marks what is delivered at most this often (an idle one at once): at low
 * rates a pass carries one commit's rows, and an UPDATE with its own commit per pass was
 * a third of the wallet database's commits. */
#define MARK_DEFER_MS 20
#define METRICS_EVERY_MS 1000  /* the pending count is a COUNT(*): not on every pass */
#define EVENT_SOURCE "wallet-core"
/* Records in flight per pass at most: a pass takes whole rows, and batch rows hold many
 * records (librdkafka's own queue holds 100,000). */
#define MAX_INFLIGHT 20000

typedef enum { SLOT_FREE, SLOT_SENT, SLOT_DELIVERED, SLOT_FAILED } slot_state;

/* One Kafka record in flight. */
typedef struct slot {
  int64_t row_id;      /* its outbox row (for logs) */
  int64_t occurred_us; /* the event's time: outbox_publish_lag_seconds at its report */
  _Atomic int state; /* set by the delivery callback: on the relay thread, or at stop on
                        the stopping thread once the relay thread has been joined */
} slot;

/* One outbox row of the pass: a plain row is one record, a batch row many. It is marked
 * published once all of its records are delivered. */
typedef struct row_ref {
  int64_t id;
  size_t first, n; /* its slots */
  int complete;    /* every record of the row went out (a refused produce cuts a row) */
  int marked;
} row_ref;

struct outbox_relay {
  db_pool *pool;
  db_conn *conn;
  kafka_producer *producer;
  char lock_name[65];
  int batch;
  int idle_wait_ms;

  slot *slots;       /* records of the pass; lives until the producer is destroyed, and
                        grows only between passes, when no report is due */
  size_t nslots, slots_cap;
  row_ref *rows;     /* rows of the pass, batch entries */
  size_t nrows;
  /* Delivered rows not yet marked published (2 * batch entries). A busy relay marks them
   * every MARK_DEFER_MS, after a pass has handed its records to Kafka, so the UPDATE and
   * its commit neither delay the next events nor run once per commit; meanwhile the
   * passes' SELECT leaves them out. */
  int64_t *mark_ids;
  size_t nmark;
  int64_t mark_events;  /* records of those rows */
  int64_t mark_since_ms; /* when the oldest of them was delivered */
  int64_t bad_row_id; /* the undecodable row last logged */
  arena unpacked;     /* a pass's decoded batch rows (reset after the pass) */

  pthread_t thread;
  int thread_started;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int notified;
  atomic_bool stop;
  atomic_bool leader;
  atomic_uint_least64_t published;

  int64_t last_metrics_ms;
  metric *m_pending, *m_oldest_age, *m_published, *m_failed, *m_lag;
};

static void on_delivery(void *msg_opaque, rd_kafka_resp_err_t err, int32_t partition,
                        int64_t offset, void *app) {
  slot *s = msg_opaque;
  outbox_relay *r = app;
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR && s->occurred_us > 0) {
    int64_t lag = time_now_us() - s->occurred_us;
    metrics_observe_us(r->m_lag, lag < 0 ? 0 : lag);
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    log_warn("outbox relay: delivery of a record of outbox row %lld failed: %s",
             (long long)s->row_id, rd_kafka_err2str(err));
  }
  atomic_store(&s->state, err == RD_KAFKA_RESP_ERR_NO_ERROR ? SLOT_DELIVERED : SLOT_FAILED);
}

/* Sleeps up to ms unless notified or stopped. */
static void relay_wait(outbox_relay *r, int ms) {
  pthread_mutex_lock(&r->mu);
  if (!r->notified && !atomic_load(&r->stop)) {
    struct timespec ts;
    time_deadline_ts(CLOCK_MONOTONIC, ms, &ts);
    while (!r->notified && !atomic_load(&r->stop)) {
      if (pthread_cond_timedwait(&r->cv, &r->mu, &ts) == ETIMEDOUT) break;
    }
  }
  r->notified = 0;
  pthread_mutex_unlock(&r->mu);
}

static int relay_flush_marks(outbox_relay *r);

/* Whether a commit has notified since the last wait (a pass is due at once). */
static bool relay_notified(outbox_relay *r) {
  pthread_mutex_lock(&r->mu);
  bool n = r->notified;
  pthread_mutex_unlock(&r->mu);
  return n;
}

/* Gives the connection back and leadership with it: the lock is released first (a
 * pooled connection that is still alive would otherwise keep holding it), and a broken
 * connection, which the pool closes, has lost it anyway. */
static void relay_drop_conn(outbox_relay *r) {
  if (r->conn != NULL && atomic_load(&r->leader)) {
    relay_flush_marks(r); /* delivered is delivered, leader or not; on failure, resent */
    db_rows *rows = NULL;
    db_error e;
    const db_param p[] = {DB_P_STR(r->lock_name)};
    if (db_query(r->conn, "SELECT RELEASE_LOCK(?)", p, 1, &rows, &e) == 0) db_rows_free(rows);
  }
  r->nmark = 0;
  r->mark_events = 0;
  if (r->conn != NULL) db_pool_release(r->pool, r->conn);
  r->conn = NULL;
  if (atomic_exchange(&r->leader, false)) log_warn("outbox relay: gave up leadership");
}

/* 1 when we hold the lock now, 0 when another instance does, -1 on a DB error. */
static int relay_try_lead(outbox_relay *r) {
  db_error e;
  db_rows *rows = NULL;
  const db_param p[] = {DB_P_STR(r->lock_name)};
  if (db_query(r->conn, "SELECT GET_LOCK(?, 0)", p, 1, &rows, &e) != 0) {
    log_warn("outbox relay: GET_LOCK failed: %s", e.message);
    return -1;
  }
  int got = db_rows_count(rows) > 0 && db_rows_i64(rows, 0, 0) == 1;
  db_rows_free(rows);
  if (got) {
    atomic_store(&r->leader, true);
    log_info("outbox relay: leader (lock %s); publishing pending events", r->lock_name);
  }
  return got;
}

static void relay_metrics(outbox_relay *r) {
  int64_t now = time_mono_ms();
  if (now - r->last_metrics_ms < METRICS_EVERY_MS) return;
  r->last_metrics_ms = now;
  db_rows *rows = NULL;
  db_error e;
  if (db_query(r->conn,
               "SELECT COUNT(*), MIN(occurred_at) FROM outbox WHERE published_at IS NULL", NULL,
               0, &rows, &e) != 0) {
    return;
  }
  metrics_set(r->m_pending, db_rows_i64(rows, 0, 0));
  int64_t oldest_us;
  if (!db_rows_is_null(rows, 0, 1) && dbtime_parse(db_rows_str(rows, 0, 1, NULL), &oldest_us) == 0) {
    int64_t age = (time_now_us() - oldest_us) / 1000000;
    metrics_set(r->m_oldest_age, age < 0 ? 0 : age);
  } else {
    metrics_set(r->m_oldest_age, 0);
  }
  db_rows_free(rows);
}

/* Moves every row of the pass whose records are all delivered into the rows to mark. */
static void relay_collect(outbox_relay *r) {
  if (r->nmark == 0) r->mark_since_ms = time_mono_ms();
  for (size_t i = 0; i < r->nrows; i++) {
    row_ref *row = &r->rows[i];
    if (row->marked || !row->complete) continue;
    size_t done = 0;
    while (done < row->n && atomic_load(&r->slots[row->first + done].state) == SLOT_DELIVERED)
      done++;
    if (done < row->n) continue;
    r->mark_ids[r->nmark++] = row->id;
    r->mark_events += (int64_t)row->n;
    row->marked = 1;
  }
}

/* Whether the rows to mark are due: old enough, or as many as a pass may add again. */
static bool relay_marks_due(const outbox_relay *r) {
  return r->nmark > 0 &&
         (r->nmark >= (size_t)r->batch || time_mono_ms() - r->mark_since_ms >= MARK_DEFER_MS);
}

/* Sets published_at on the rows to mark: one UPDATE, its IN list padded to a fixed set of
 * sizes (sqlbatch_in_slots) so few statements get cached. 0, or -1 on a DB error (the
 * rows are forgotten then: the next leader sends them again, a duplicate, never a loss). */
static int relay_flush_marks(outbox_relay *r) {
  size_t k = r->nmark;
  int64_t events = r->mark_events;
  r->nmark = 0;
  r->mark_events = 0;
  if (k == 0) return 0;
  size_t slots = sqlbatch_in_slots(k);
  char *sql = sqlbatch_in_sql("UPDATE outbox SET published_at = UTC_TIMESTAMP(6) WHERE id IN (",
                              slots, ")");
  db_param *p = calloc(slots, sizeof *p);
  int rc = -1;
  if (sql == NULL || p == NULL) {
    log_warn("outbox relay: out of memory marking %zu rows published", k);
    goto out;
  }
  for (size_t j = 0; j < slots; j++) p[j] = DB_P_I64(r->mark_ids[j < k ? j : k - 1]);
  db_error e;
  if (db_exec(r->conn, sql, p, slots, NULL, &e) != 0) {
    log_warn("outbox relay: marking %zu rows published failed: %s", k, e.message);
    goto out;
  }
  atomic_fetch_add(&r->published, (uint64_t)events);
  metrics_add(r->m_published, events);
  rc = 0;
out:
  free(p);
  free(sql);
  return rc;
}

/* Marks every delivered row now. 0, or -1 on a DB error. */
static int relay_mark(outbox_relay *r) {
  relay_collect(r);
  return relay_flush_marks(r);
}

static size_t relay_unreported(outbox_relay *r) {
  size_t n = 0;
  for (size_t i = 0; i < r->nslots; i++) n += atomic_load(&r->slots[i].state) == SLOT_SENT;
  return n;
}

/* Serves delivery reports until every slot has one (or stop), marking deliveries every
 * MARK_EVERY_MS while that takes long; what is delivered at the end waits in mark_ids for
 * the next flush. -1 on a DB error. */
static int relay_await(outbox_relay *r) {
  int64_t last_mark = time_mono_ms();
  while (relay_unreported(r) > 0) {
    if (atomic_load(&r->stop)) break;
    kafka_producer_poll(r->producer, 50);
    if (time_mono_ms() - last_mark >= MARK_EVERY_MS) {
      /* Kafka is slow or down: keep the table honest about what did arrive. */
      if (relay_mark(r) != 0) return -1;
      last_mark = time_mono_ms();
      relay_metrics(r);
    }
  }
  relay_collect(r);
  return 0;
}

/* One Kafka record as the relay produces it: from a plain row, or from a batch record. */
typedef struct record_view {
  const char *event_id, *topic, *key, *type, *payload;
  size_t keylen, len;
  int64_t occurred_us;
} record_view;

/* Record j of pending row i: batch's j-th record, or the plain row itself (batch NULL). */
static void record_at(const db_rows *rows, size_t i, const Wallet__V1__OutboxBatch *batch,
                      size_t j, record_view *v) {
  if (batch != NULL) {
    const Wallet__V1__OutboxRecord *rec = batch->records[j];
    *v = (record_view){rec->event_id, rec->topic, rec->key, rec->event_type,
                       (const char *)rec->payload.data, strlen(rec->key), rec->payload.len,
                       rec->occurred_us};
    return;
  }
  v->event_id = db_rows_str(rows, i, 1, NULL);
  v->topic = db_rows_str(rows, i, 2, NULL);
  v->key = db_rows_str(rows, i, 3, &v->keylen);
  v->type = db_rows_str(rows, i, 4, NULL);
  v->payload = db_rows_str(rows, i, 5, &v->len);
  v->occurred_us = 0;
  dbtime_parse(db_rows_str(rows, i, 6, NULL), &v->occurred_us);
}

/* Produces v into slot s (its delivery report lands there). 0, or -1 when librdkafka
 * refused it (logged, counted; the slot is left free). */
static int send_record(outbox_relay *r, slot *s, int64_t row_id, const record_view *v) {
  s->row_id = row_id;
  s->occurred_us = v->occurred_us;
  rd_kafka_headers_t *h = event_headers_new(v->event_id, v->type, EVENT_SOURCE,
                                            v->occurred_us / 1000);
  char err[256];
  atomic_store(&s->state, SLOT_SENT);
  if (h != NULL && kafka_producer_send(r->producer, v->topic, RD_KAFKA_PARTITION_UA, v->key,
                                       v->keylen, v->payload, v->len, h, s, err,
                                       sizeof err) == 0)
    return 0;
  if (h == NULL) snprintf(err, sizeof err, "out of memory building headers");
  if (h != NULL) rd_kafka_headers_destroy(h); /* librdkafka's destroy takes no NULL */
  atomic_store(&s->state, SLOT_FREE);
  metrics_add(r->m_failed, 1);
  log_warn("outbox relay: producing a record of outbox row %lld failed: %s; retrying later",
           (long long)row_id, err);
  return -1;
}

#define PENDING_COLUMNS "SELECT id, event_id, topic, msg_key, event_type, payload, occurred_at "

/* The oldest pending rows that are not delivered already (those wait to be marked), up
 * to a batch, in id order. 0, or -1 on a DB error. */
static int relay_select_pending(outbox_relay *r, db_rows **rows) {
  db_error e;
  const db_param limit[] = {DB_P_I64(r->batch)};
  if (r->nmark == 0) {
    if (db_query(r->conn,
                 PENDING_COLUMNS "FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT ?",
                 limit, 1, rows, &e) == 0)
      return 0;
    log_warn("outbox relay: reading pending rows failed: %s", e.message);
    return -1;
  }
  size_t k = r->nmark, slots = sqlbatch_in_slots(k);
  char *sql = sqlbatch_in_sql(PENDING_COLUMNS "FROM outbox WHERE published_at IS NULL "
                              "AND id NOT IN (",
                              slots, ") ORDER BY id LIMIT ?");
  db_param *p = calloc(slots + 1, sizeof *p);
  int rc = -1;
  if (sql == NULL || p == NULL) {
    log_warn("outbox relay: out of memory reading pending rows");
    goto out;
  }
  /* Padded with the last id: NOT IN does not mind repeats. */
  for (size_t j = 0; j < slots; j++) p[j] = DB_P_I64(r->mark_ids[j < k ? j : k - 1]);
  p[slots] = limit[0];
  rc = db_query(r->conn, sql, p, slots + 1, rows, &e);
  if (rc != 0) log_warn("outbox relay: reading pending rows failed: %s", e.message);
out:
  free(p);
  free(sql);
  return rc;
}

/* One pass: the oldest pending rows, produced in id order; then the delivered rows of
 * earlier passes are marked if due, and this pass's reports awaited (its rows are marked
 * within MARK_DEFER_MS, or before the relay goes idle). Returns the number of rows
 * fetched, 0 after a short pass, or -1 on a DB error. */
static int relay_pass(outbox_relay *r) {
  /* The slots are reused below. A pass that ended early (a DB error while marking) may
   * have left reports due; one landing on a reused slot would mark the wrong row
   * published. So every report is in before a slot is reused (the rows of reports that
   * come in now stay unmarked and are sent again: a duplicate on the wire, never a loss). */
  while (kafka_producer_outstanding(r->producer) > 0) {
    if (atomic_load(&r->stop)) return -1;
    kafka_producer_poll(r->producer, 50);
  }
  relay_metrics(r);
  db_rows *rows = NULL;
  if (relay_select_pending(r, &rows) != 0) return -1;
  size_t n = db_rows_count(rows);
  r->nslots = 0;
  r->nrows = 0;
  /* Batch rows unpacked first: the slots array is sized before the first record goes
   * out (librdkafka keeps pointers into it), and a pass stops at MAX_INFLIGHT records. */
  Wallet__V1__OutboxBatch **batch = calloc(n ? n : 1, sizeof *batch);
  /* Decoded into the pass's arena: a record was six mallocs and six frees. */
  ProtobufCAllocator pb = arena_protobuf_allocator(&r->unpacked);
  size_t take = 0, records = 0;
  for (; batch != NULL && take < n; take++) {
    size_t len = 0;
    const char *type = db_rows_str(rows, take, 4, NULL);
    const char *payload = db_rows_str(rows, take, 5, &len);
    size_t k = 1;
    if (type != NULL && strcmp(type, wallet__v1__outbox_batch__descriptor.name) == 0) {
      batch[take] = wallet__v1__outbox_batch__unpack(&pb, len, (const uint8_t *)payload);
      if (batch[take] == NULL || batch[take]->n_records == 0) {
        /* Never skipped (that would lose its events): the relay stops here, visibly
         * (outbox_pending and outbox_oldest_age_seconds grow), until someone looks. */
        int64_t bad = db_rows_i64(rows, take, 0);
        if (bad != r->bad_row_id) { /* once per row, not once per retry */
          log_error("outbox relay: outbox row %lld is not a valid %s; publishing stops there",
                    (long long)bad, type);
          r->bad_row_id = bad;
        }
        break;
      }
      k = batch[take]->n_records;
    }
    if (records > 0 && records + k > MAX_INFLIGHT) break;
    records += k;
  }
  int oom = batch == NULL;
  if (records > r->slots_cap) {
    slot *grown = realloc(r->slots, records * sizeof *grown);
    if (grown == NULL) {
      oom = 1;
      take = 0;
    } else {
      r->slots = grown;
      r->slots_cap = records;
    }
  }
  if (oom) log_warn("outbox relay: out of memory for a pass of %zu rows; retrying", n);
  int stopped = 0;
  for (size_t i = 0; i < take && !stopped; i++) {
    row_ref *row = &r->rows[r->nrows];
    row->id = db_rows_i64(rows, i, 0);
    row->first = r->nslots;
    row->n = 0;
    row->marked = 0;
    row->complete = 0;
    size_t nrec = batch[i] != NULL ? batch[i]->n_records : 1;
    for (size_t j = 0; j < nrec; j++) {
      record_view v;
      record_at(rows, i, batch[i], j, &v);
      if (send_record(r, &r->slots[r->nslots], row->id, &v) != 0) {
        /* Stop here: producing later records first would reorder an account's events.
         * This row stays unmarked (its records sent so far go again: duplicates, which
         * versions make harmless, never a loss). */
        stopped = 1;
        break;
      }
      r->nslots++;
      row->n++;
    }
    row->complete = row->n == nrec;
    if (row->n > 0) r->nrows++;
  }
  arena_reset(&r->unpacked); /* every decoded batch row at once */
  free(batch);
  db_rows_free(rows);
  if ((relay_marks_due(r) && relay_flush_marks(r) != 0) || relay_await(r) != 0) return -1;
  /* After a refused produce or a short take, report a short pass so the loop backs off
   * instead of spinning on the same row. */
  return stopped || take < n ? 0 : (int)n;
}

static void *relay_main(void *arg) {
  outbox_relay *r = arg;
  int64_t last_warn = 0;
  while (!atomic_load(&r->stop)) {
    if (r->conn == NULL) {
      db_error e;
      r->conn = db_pool_acquire(r->pool, ACQUIRE_TIMEOUT_MS, &e);
      if (r->conn == NULL) {
        if (time_mono_ms() - last_warn > 10000) {
          log_warn("outbox relay: database unavailable: %s", e.message);
          last_warn = time_mono_ms();
        }
        relay_wait(r, STANDBY_RETRY_MS);
        continue;
      }
    }
    if (!atomic_load(&r->leader)) {
      int rc = relay_try_lead(r);
      if (rc < 0) relay_drop_conn(r);
      if (rc <= 0) {
        relay_wait(r, STANDBY_RETRY_MS);
        continue;
      }
    }
    int n = relay_pass(r);
    /* Going idle: what is delivered is marked now. While commits keep notifying, a pass
     * marks it once due (relay_marks_due), after producing its own records. */
    if (n >= 0 && n < r->batch && !relay_notified(r) && relay_flush_marks(r) != 0) n = -1;
    if (n < 0) {
      relay_drop_conn(r);
      relay_wait(r, STANDBY_RETRY_MS);
      continue;
    }
    if (n < r->batch) relay_wait(r, r->idle_wait_ms);
  }
  return NULL;
}

outbox_relay *outbox_relay_start(const outbox_relay_config *cfg, char *err, size_t errlen) {
  outbox_relay *r = calloc(1, sizeof *r);
  if (r == NULL) {
    snprintf(err, errlen, "outbox relay: out of memory");
    return NULL;
  }
  pthread_mutex_init(&r->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&r->cv, &ca);
  pthread_condattr_destroy(&ca);
  atomic_init(&r->stop, false);
  atomic_init(&r->leader, false);
  atomic_init(&r->published, 0);
  r->batch = cfg->batch_size > 0 ? cfg->batch_size : DEFAULT_BATCH;
  r->idle_wait_ms = cfg->idle_wait_ms > 0 ? cfg->idle_wait_ms : DEFAULT_IDLE_WAIT_MS;
  if (cfg->lock_name != NULL) {
    snprintf(r->lock_name, sizeof r->lock_name, "%s", cfg->lock_name);
  } else {
    /* Per database: two deployments sharing a server must not block each other. */
    snprintf(r->lock_name, sizeof r->lock_name, "wallet_outbox_relay:%s",
             cfg->db.database ? cfg->db.database : "");
  }
  r->rows = calloc((size_t)r->batch, sizeof *r->rows);
  r->mark_ids = calloc(2 * (size_t)r->batch, sizeof *r->mark_ids);
  if (r->rows == NULL || r->mark_ids == NULL) {
    snprintf(err, errlen, "outbox relay: out of memory");
    goto fail;
  }
  db_config dbc = cfg->db;
  dbc.pool_size = 1;
  r->pool = db_pool_new(&dbc, err, errlen);
  if (r->pool == NULL) goto fail;
  /* Before the producer: its delivery reports observe it. */
  r->m_lag = metrics_histogram("outbox_publish_lag_seconds",
                               "From an event's occurred_at to Kafka's delivery report of it",
                               NULL);
  r->producer = kafka_producer_new(cfg->brokers, "wallet-core-outbox", on_delivery, r,
                                   cfg->producer_conf, err, errlen);
  if (r->producer == NULL) goto fail;
  r->m_pending = metrics_gauge("outbox_pending", "Outbox rows not yet published", NULL);
  r->m_oldest_age = metrics_gauge("outbox_oldest_age_seconds",
                                  "Age of the oldest unpublished outbox row", NULL);
  r->m_published = metrics_counter("events_published_total",
                                   "Outbox events delivered to Kafka and marked published", NULL);
  r->m_failed = metrics_counter("events_produce_failed_total",
                                "Outbox events Kafka refused to queue (retried later)", NULL);
  if (pthread_create(&r->thread, NULL, relay_main, r) != 0) {
    snprintf(err, errlen, "outbox relay: cannot start thread");
    goto fail;
  }
  r->thread_started = 1;
  return r;
fail:
  outbox_relay_stop(r);
  return NULL;
}

void outbox_relay_notify(outbox_relay *r) {
  if (r == NULL) return;
  pthread_mutex_lock(&r->mu);
  r->notified = 1;
  pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->mu);
}

void outbox_relay_stop(outbox_relay *r) {
  if (r == NULL) return;
  pthread_mutex_lock(&r->mu);
  atomic_store(&r->stop, true);
  pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->mu);
  if (r->thread_started) pthread_join(r->thread, NULL);
  /* The producer's destroy waits (bounded) for the reports still due and serves them into
   * r->slots; recording those deliveries afterwards, while we still hold the lock, keeps
   * a clean restart from publishing them twice. */
  kafka_producer_destroy(r->producer);
  if (r->conn != NULL && atomic_load(&r->leader)) relay_mark(r);
  if (r->conn != NULL) db_pool_release(r->pool, r->conn);
  db_pool_free(r->pool);
  free(r->slots);
  free(r->rows);
  free(r->mark_ids);
  arena_free(&r->unpacked);
  pthread_cond_destroy(&r->cv);
  pthread_mutex_destroy(&r->mu);
  free(r);
}

int outbox_relay_kafka_check(outbox_relay *r, int timeout_ms, char *detail, size_t len) {
  if (r == NULL || r->producer == NULL) {
    snprintf(detail, len, "no Kafka producer");
    return -1;
  }
  return kafka_probe(kafka_producer_handle(r->producer), timeout_ms, detail, len);
}

bool outbox_relay_is_leader(outbox_relay *r) { return r != NULL && atomic_load(&r->leader); }

uint64_t outbox_relay_published(outbox_relay *r) {
  return r == NULL ? 0 : atomic_load(&r->published);
}
