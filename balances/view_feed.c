/* view_feed: snapshot of the table, then every partition of the topic, into the view. */
#include "view_feed.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "event_decode.h"
#include "kafka_conf.h"
#include "kafka_probe.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"

#define FEED_BATCH 1024         /* records applied between two wake-ups of the readers */
#define FEED_PAGE 10000         /* table rows per snapshot query */
#define FEED_METADATA_MS 5000   /* how often new partitions are looked for */
#define FEED_LAG_MS 1000        /* how often read_view_lag is refreshed */
#define KAFKA_REQ_MS 5000
#define BACKOFF_MAX_MS 5000

struct view_feed {
  char *brokers, *topic, *group;
  db_pool *pool;
  balance_view *view;
  rd_kafka_t *rk;
  pthread_t thread;
  atomic_bool stop;
  int nparts;  /* partitions assigned */
  bool *eof;   /* [nparts]: read to its end at least once since assigned */
  int neof;
  rd_kafka_message_t *msgs[FEED_BATCH];
  rm_update updates[FEED_BATCH * EVENT_MAX_UPDATES];
  metric *m_live, *m_accounts, *m_applied, *m_lag, *m_behind;
};

/* Sleeps up to ms, in slices, returning early (true) on stop. */
static bool feed_sleep(view_feed *f, int ms) {
  for (int slept = 0; slept < ms && !atomic_load(&f->stop); slept += 50) time_sleep_ms(50);
  return atomic_load(&f->stop);
}

static int feed_partition_count(view_feed *f, char *err, size_t errlen) {
  return kafka_partition_count(f->rk, f->topic, KAFKA_REQ_MS, err, errlen);
}

/* Partitions [from, to) added to the assignment at the offsets in `offsets` (NULL: their
 * beginning). */
static int feed_assign(view_feed *f, int from, int to, const int64_t *offsets, char *err,
                       size_t errlen) {
  bool *eof = realloc(f->eof, (size_t)to * sizeof *eof);
  if (eof == NULL) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  f->eof = eof;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(to - from);
  for (int p = from; p < to; p++) {
    int64_t o = offsets != NULL ? offsets[p] : RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_topic_partition_list_add(l, f->topic, p)->offset = o;
    f->eof[p] = false;
  }
  rd_kafka_error_t *e = rd_kafka_incremental_assign(f->rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  if (e != NULL) {
    snprintf(err, errlen, "assigning %s partitions %d..%d: %s", f->topic, from, to - 1,
             rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    return -1;
  }
  f->nparts = to;
  return 0;
}

/* The projector group's committed offsets, one per partition (its beginning where the
 * group has none). */
static int feed_group_offsets(view_feed *f, int n, int64_t *offsets, char *err,
                              size_t errlen) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
  for (int p = 0; p < n; p++) rd_kafka_topic_partition_list_add(l, f->topic, p);
  rd_kafka_resp_err_t e = rd_kafka_committed(f->rk, l, KAFKA_REQ_MS);
  for (int p = 0; e == RD_KAFKA_RESP_ERR_NO_ERROR && p < l->cnt; p++) {
    e = l->elems[p].err;
    int64_t o = l->elems[p].offset;
    offsets[l->elems[p].partition] = o >= 0 ? o : RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_topic_partition_list_destroy(l);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    snprintf(err, errlen, "offsets of group %s: %s", f->group, rd_kafka_err2str(e));
    return -1;
  }
  return 0;
}

/* The whole table into the view, FEED_PAGE rows per query. */
static int feed_snapshot(view_feed *f, size_t *rows, char *err, size_t errlen) {
  rm_update *page = malloc(FEED_PAGE * sizeof *page);
  if (page == NULL) {
    snprintf(err, errlen, "out of memory loading the table");
    return -1;
  }
  db_error e = {0};
  int rc = -1;
  db_conn *conn = db_pool_acquire(f->pool, 5000, &e);
  char after[UUID_STR_LEN] = "";
  bool more = conn != NULL;
  *rows = 0;
  while (more && !atomic_load(&f->stop)) {
    size_t n = 0;
    if (rm_list_page(conn, after, FEED_PAGE, page, &n, &more, &e) != 0) break;
    if (balance_view_apply(f->view, page, n) < 0) {
      snprintf(err, errlen, "out of memory loading the table");
      goto out;
    }
    if (n > 0) snprintf(after, sizeof after, "%s", page[n - 1].account_id);
    *rows += n;
  }
  if (conn != NULL && !more) rc = 0;
  else if (atomic_load(&f->stop)) snprintf(err, errlen, "stopping");
  else snprintf(err, errlen, "reading the table: %s", e.message);
out:
  if (conn != NULL) db_pool_release(f->pool, conn);
  free(page);
  return rc;
}

static int feed_start_up(view_feed *f, char *err, size_t errlen) {
  int n = feed_partition_count(f, err, errlen);
  if (n <= 0) return -1;
  int64_t *offsets = calloc((size_t)n, sizeof *offsets);
  if (offsets == NULL) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  size_t rows = 0;
  int rc = feed_group_offsets(f, n, offsets, err, errlen);
  if (rc == 0) rc = feed_snapshot(f, &rows, err, errlen);
  if (rc == 0) rc = feed_assign(f, 0, n, offsets, err, errlen);
  free(offsets);
  if (rc == 0) {
    f->neof = 0;
    log_info("view: %zu row(s) of the table loaded; reading %d partition(s) of %s from the"
             " group's offsets",
             rows, n, f->topic);
  }
  return rc;
}

static void feed_new_partitions(view_feed *f) {
  char err[256];
  int n = feed_partition_count(f, err, sizeof err);
  if (n <= f->nparts) return;
  int from = f->nparts;
  if (feed_assign(f, from, n, NULL, err, sizeof err) != 0) {
    log_warn("view: %s", err);
    return;
  }
  log_info("view: %s grew to %d partitions; reading %d..%d from their beginning", f->topic, n,
           from, n - 1);
}

/* Records in the topic the view has not read yet, from librdkafka's cached watermarks
 * (no broker round trip); -1 when not known yet. A growing figure on one instance while
 * the others' stay near 0 means its feed is stuck: its reads are stale. */
static int64_t feed_behind(view_feed *f) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(f->nparts);
  for (int p = 0; p < f->nparts; p++) rd_kafka_topic_partition_list_add(l, f->topic, p);
  int64_t behind = -1;
  if (rd_kafka_position(f->rk, l) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    behind = 0;
    for (int i = 0; i < l->cnt && behind >= 0; i++) {
      int64_t lo = 0, hi = 0;
      if (rd_kafka_get_watermark_offsets(f->rk, f->topic, l->elems[i].partition, &lo, &hi) !=
              RD_KAFKA_RESP_ERR_NO_ERROR ||
          hi < 0) {
        behind = -1;
      } else if (l->elems[i].offset >= 0) {
        behind += hi > l->elems[i].offset ? hi - l->elems[i].offset : 0;
      }
    }
  }
  rd_kafka_topic_partition_list_destroy(l);
  return behind;
}

/* Up to FEED_BATCH messages: waits up to 100 ms for the first, then takes what is there. */
static size_t feed_collect(view_feed *f) {
  size_t n = 0;
  while (n < FEED_BATCH) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(f->rk, n == 0 ? 100 : 0);
    if (m == NULL) break;
    f->msgs[n++] = m;
  }
  return n;
}

static void feed_apply(view_feed *f, size_t n) {
  size_t nu = 0, nvalid = 0;
  for (size_t i = 0; i < n; i++) {
    rd_kafka_message_t *m = f->msgs[i];
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (m->partition >= 0 && m->partition < f->nparts && !f->eof[m->partition]) {
        f->eof[m->partition] = true;
        f->neof++;
      }
    } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      log_warn("view: kafka consumer: %s", rd_kafka_message_errstr(m));
    } else {
      size_t k = 0;
      char reason[256];
      if (event_decode(m, &f->updates[nu], &k, reason, sizeof reason) == 0) {
        nu += k;
        nvalid++;
      }
    }
  }
  if (nu > 0) {
    if (balance_view_apply(f->view, f->updates, nu) < 0) {
      /* The view would silently miss updates: hand reads back to the table for good. */
      if (balance_view_live(f->view)) log_error("view: out of memory; reads use the table");
      balance_view_set_live(f->view, false);
      atomic_store(&f->stop, true);
      return;
    }
    int64_t now = time_now_us();
    for (size_t i = 0; i < nu; i++) {
      int64_t lag = now - f->updates[i].updated_at_us;
      metrics_observe_us(f->m_lag, lag < 0 ? 0 : lag);
    }
    metrics_add(f->m_applied, (int64_t)nvalid);
    metrics_set(f->m_accounts, (int64_t)balance_view_size(f->view));
  }
  if (!balance_view_live(f->view) && f->neof == f->nparts) {
    balance_view_set_live(f->view, true);
    metrics_set(f->m_live, 1);
    metrics_set(f->m_accounts, (int64_t)balance_view_size(f->view));
    log_info("view: live with %zu account(s); GET /balances answers from memory",
             balance_view_size(f->view));
  }
}

static void *feed_main(void *arg) {
  view_feed *f = arg;
  char err[512];
  int backoff = 250;
  while (feed_start_up(f, err, sizeof err) != 0) {
    log_warn("view: %s; retrying in %d ms (reads use the table meanwhile)", err, backoff);
    if (feed_sleep(f, backoff)) return NULL;
    backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
  }
  int64_t next_md = time_mono_ms() + FEED_METADATA_MS, next_lag = 0;
  while (!atomic_load(&f->stop)) {
    size_t n = feed_collect(f);
    feed_apply(f, n);
    for (size_t i = 0; i < n; i++) rd_kafka_message_destroy(f->msgs[i]);
    if (time_mono_ms() >= next_lag) {
      metrics_set(f->m_behind, feed_behind(f));
      next_lag = time_mono_ms() + FEED_LAG_MS;
    }
    if (time_mono_ms() >= next_md) {
      feed_new_partitions(f);
      next_md = time_mono_ms() + FEED_METADATA_MS;
    }
  }
  return NULL;
}

static void feed_free(view_feed *f) {
  if (f->rk != NULL) {
    rd_kafka_consumer_close(f->rk);
    rd_kafka_destroy(f->rk);
  }
  free(f->eof);
  free(f->brokers);
  free(f->topic);
  free(f->group);
  free(f);
}

view_feed *view_feed_start(const view_feed_config *cfg, char *err, size_t errlen) {
  static const char *const defaults[] = {
      "enable.auto.offset.store", "false",
      "auto.offset.reset", "earliest",
      "enable.partition.eof", "true",
      /* A long poll answered as soon as a record arrives: the view is what readers see,
       * so it trades broker fetches for latency (the projector batches instead). */
      "fetch.min.bytes", "1",
      "fetch.wait.max.ms", "100",
      NULL,
  };
  if (cfg == NULL || cfg->view == NULL || cfg->pool == NULL || cfg->topic == NULL ||
      cfg->group == NULL || cfg->brokers == NULL) {
    snprintf(err, errlen, "view feed: brokers, topic, group, pool and view are required");
    return NULL;
  }
  view_feed *f = calloc(1, sizeof *f);
  if (f == NULL) goto oom;
  f->brokers = strdup(cfg->brokers);
  f->topic = strdup(cfg->topic);
  f->group = strdup(cfg->group);
  if (f->brokers == NULL || f->topic == NULL || f->group == NULL) goto oom;
  f->pool = cfg->pool;
  f->view = cfg->view;
  f->m_live = metrics_gauge("read_view_live",
                            "1 while GET /balances answers from the in-memory view", NULL);
  f->m_accounts = metrics_gauge("read_view_accounts", "Accounts held by the in-memory view",
                                NULL);
  f->m_applied = metrics_counter("read_view_events_applied_total",
                                 "Records applied to the in-memory view", NULL);
  f->m_lag = metrics_histogram("read_view_apply_lag_seconds",
                               "From the event's occurred_at to its update of the view", NULL);
  f->m_behind = metrics_gauge("read_view_lag",
                              "Records of the balances topic not yet read into the in-memory"
                              " view (-1 unknown)",
                              NULL);
  balance_view_set_live(f->view, false);
  metrics_set(f->m_live, 0);
  metrics_set(f->m_behind, -1);

  rd_kafka_conf_t *conf = kafka_conf_new(f->brokers, defaults, cfg->consumer_conf, err, errlen);
  if (conf == NULL) goto fail;
  /* After the caller's pairs, so they cannot undo it: the feed reads the group's offsets
   * and must never commit any (it is not a member; the projector owns them). */
  const char *const forced[] = {"group.id", f->group, "enable.auto.commit", "false", NULL};
  if (kafka_conf_set_pairs(conf, forced, err, errlen) != 0) {
    rd_kafka_conf_destroy(conf);
    goto fail;
  }
  char why[512];
  f->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
  if (f->rk == NULL) {
    snprintf(err, errlen, "view feed: kafka consumer: %s", why);
    rd_kafka_conf_destroy(conf);
    goto fail;
  }
  rd_kafka_poll_set_consumer(f->rk);
  if (pthread_create(&f->thread, NULL, feed_main, f) != 0) {
    snprintf(err, errlen, "view feed: cannot start its thread");
    goto fail;
  }
  return f;
oom:
  snprintf(err, errlen, "view feed: out of memory");
fail:
  if (f != NULL) feed_free(f);
  return NULL;
}

void view_feed_stop(view_feed *f) {
  if (f == NULL) return;
  atomic_store(&f->stop, true);
  pthread_join(f->thread, NULL);
  balance_view_set_live(f->view, false);
  metrics_set(f->m_live, 0);
  feed_free(f);
}
