/* rebuild: replay the balances topic from offset 0 into an emptied, re-seeded read model. */
#include "rebuild.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_decode.h"
#include "kafka_conf.h"
#include "kafka_probe.h"
#include "log.h"
#include "migrate.h"
#include "history.h"
#include "read_model.h"
#include "timeutil.h"

#define KAFKA_REQ_MS 10000

typedef struct rb_part {
  int64_t lo, hi;  /* watermarks at start: the replay covers [lo, hi) */
  int64_t next;    /* next offset to read */
  bool done;
} rb_part;

static rd_kafka_t *rb_consumer(const rebuild_config *cfg, char *err, size_t errlen) {
  static const char *const defaults[] = {
      "enable.auto.commit", "false",
      "enable.auto.offset.store", "false",
      "auto.offset.reset", "earliest",
      "enable.partition.eof", "true",
      NULL,
  };
  rd_kafka_conf_t *conf = kafka_conf_new(cfg->brokers, defaults, cfg->consumer_conf, err,
                                         errlen);
  if (conf == NULL) return NULL;
  const char *const group[] = {"group.id", cfg->group, NULL};
  if (kafka_conf_set_pairs(conf, group, err, errlen) != 0) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  char why[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
  if (rk == NULL) {
    snprintf(err, errlen, "rebuild: kafka consumer: %s", why);
    rd_kafka_conf_destroy(conf);
  }
  return rk;
}

/* The service must be stopped: a live member would keep applying and committing. */
static int rb_check_group_idle(rd_kafka_t *rk, const char *group, char *err, size_t errlen) {
  const struct rd_kafka_group_list *gl = NULL;
  rd_kafka_resp_err_t e = rd_kafka_list_groups(rk, group, &gl, KAFKA_REQ_MS);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    snprintf(err, errlen, "rebuild: describing group %s: %s", group, rd_kafka_err2str(e));
    return -1;
  }
  int members = gl->group_cnt > 0 ? gl->groups[0].member_cnt : 0;
  rd_kafka_group_list_destroy(gl);
  if (members > 0) {
    snprintf(err, errlen,
             "rebuild: consumer group %s has %d active member(s): stop every balances "
             "service first",
             group, members);
    return -1;
  }
  return 0;
}

/* Commits offset[i] for every partition as the group's position (the group is idle, so
 * the broker takes a commit from a non-member). */
static int rb_commit(rd_kafka_t *rk, const char *topic, const rb_part *parts, int n,
                     bool use_next, char *err, size_t errlen) {
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
  for (int i = 0; i < n; i++) {
    rd_kafka_topic_partition_list_add(l, topic, i)->offset =
        use_next ? parts[i].next : parts[i].lo;
  }
  rd_kafka_resp_err_t e = rd_kafka_commit(rk, l, 0);
  int rc = 0;
  for (int i = 0; e == RD_KAFKA_RESP_ERR_NO_ERROR && i < l->cnt; i++) e = l->elems[i].err;
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    snprintf(err, errlen, "rebuild: committing offsets of %s: %s", topic, rd_kafka_err2str(e));
    rc = -1;
  }
  rd_kafka_topic_partition_list_destroy(l);
  return rc;
}

/* Empties the table and re-applies the seed migration. */
static int rb_reseed(const rebuild_config *cfg, char *err, size_t errlen) {
  db_error e = {0};
  db_conn *conn = db_pool_acquire(cfg->pool, 5000, &e);
  if (conn == NULL) goto dberr;
  int rc = db_begin(conn, &e);
  if (rc == 0) rc = rm_clear(conn, &e);
  if (rc == 0) rc = history_clear(conn, &e);
  if (rc == 0) {
    db_param v[] = {DB_P_I64(REBUILD_SEED_VERSION), DB_P_I64(REBUILD_HISTORY_SEED_VERSION)};
    rc = db_exec(conn, "DELETE FROM schema_migrations WHERE version IN (?, ?)", v, 2, NULL,
                 &e);
  }
  if (rc == 0) rc = db_commit(conn, &e);
  db_pool_release(cfg->pool, conn);
  if (rc != 0) goto dberr;
  int applied = 0;
  if (migrate_run(cfg->db, cfg->migrations_dir, &applied, err, errlen) != 0) return -1;
  if (applied < 2) {
    snprintf(err, errlen, "rebuild: the seed migrations %03d and %03d were not re-applied"
             " from %s", REBUILD_SEED_VERSION, REBUILD_HISTORY_SEED_VERSION,
             cfg->migrations_dir);
    return -1;
  }
  return 0;
dberr:
  snprintf(err, errlen, "rebuild: emptying the read model: %s", e.message);
  return -1;
}

static bool rb_all_done(const rb_part *parts, int n) {
  for (int i = 0; i < n; i++) {
    if (!parts[i].done) return false;
  }
  return true;
}

/* Applies u[0..*nu) (DB errors are retried a few times: the rebuild is run by hand). */
static int rb_flush(const rebuild_config *cfg, rm_update *u, size_t *nu, char *err,
                    size_t errlen) {
  db_error e = {0};
  for (int attempt = 1; *nu > 0; attempt++) {
    if (rm_apply_tx(cfg->pool, u, *nu, cfg->no_history ? 0 : RM_HISTORY, &e) == 0) {
      *nu = 0;
      return 0;
    }
    if (attempt == 5) {
      snprintf(err, errlen, "rebuild: applying a batch: %s", e.message);
      return -1;
    }
    time_sleep_ms(200 * attempt);
  }
  return 0;
}

static int rb_replay(const rebuild_config *cfg, rd_kafka_t *rk, rb_part *parts, int n,
                     rebuild_stats *st, char *err, size_t errlen) {
  int batch_max = cfg->batch_max > 0 ? cfg->batch_max : 500;
  int idle_ms = cfg->idle_timeout_ms > 0 ? cfg->idle_timeout_ms : 60000;
  rm_update *u = calloc((size_t)batch_max * EVENT_MAX_UPDATES, sizeof *u);
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
  int rc = -1;
  if (u == NULL || l == NULL) {
    snprintf(err, errlen, "rebuild: out of memory");
    goto out;
  }
  for (int i = 0; i < n; i++) {
    rd_kafka_topic_partition_list_add(l, cfg->topic, i)->offset = parts[i].lo;
  }
  rd_kafka_resp_err_t ae = rd_kafka_assign(rk, l);
  if (ae != RD_KAFKA_RESP_ERR_NO_ERROR) {
    snprintf(err, errlen, "rebuild: assign: %s", rd_kafka_err2str(ae));
    goto out;
  }
  size_t nu = 0;
  int in_batch = 0;
  int64_t last_progress = time_mono_ms();
  while (!rb_all_done(parts, n)) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
    if (m == NULL) {
      if (rb_flush(cfg, u, &nu, err, errlen) != 0) goto out;
      in_batch = 0;
      if (time_mono_ms() - last_progress > idle_ms) {
        snprintf(err, errlen, "rebuild: no progress for %d ms (broker away?)", idle_ms);
        goto out;
      }
      continue;
    }
    int32_t p = m->partition;
    bool ours = m->rkt != NULL && strcmp(rd_kafka_topic_name(m->rkt), cfg->topic) == 0 &&
                p >= 0 && p < n;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      if (ours && m->offset >= parts[p].hi) {
        parts[p].next = m->offset;
        parts[p].done = true;
      }
    } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      log_warn("rebuild: kafka: %s", rd_kafka_message_errstr(m));
    } else if (ours && !parts[p].done) {
      last_progress = time_mono_ms();
      st->records++;
      size_t k = 0;
      char reason[192];
      if (event_decode(m, &u[nu], &k, reason, sizeof reason) == 0) {
        nu += k;
        st->applied++;
      } else {
        st->skipped++;
        log_warn("rebuild: skipping partition=%" PRId32 " offset=%" PRId64 ": %s", p,
                 m->offset, reason);
      }
      parts[p].next = m->offset + 1;
      if (parts[p].next >= parts[p].hi) parts[p].done = true;
      if (++in_batch >= batch_max) {
        if (rb_flush(cfg, u, &nu, err, errlen) != 0) {
          rd_kafka_message_destroy(m);
          goto out;
        }
        in_batch = 0;
      }
    }
    rd_kafka_message_destroy(m);
  }
  if (rb_flush(cfg, u, &nu, err, errlen) != 0) goto out;
  rc = 0;
out:
  rd_kafka_assign(rk, NULL);
  rd_kafka_topic_partition_list_destroy(l);
  free(u);
  return rc;
}

int rebuild_run(const rebuild_config *cfg, rebuild_stats *stats, char *err, size_t errlen) {
  rebuild_stats st = {0};
  int64_t t0 = time_mono_ms();
  rb_part *parts = NULL;
  int rc = -1;
  rd_kafka_t *rk = rb_consumer(cfg, err, errlen);
  if (rk == NULL) goto out;
  char why[256];
  int n = kafka_partition_count(rk, cfg->topic, KAFKA_REQ_MS, why, sizeof why);
  if (n < 0) {
    snprintf(err, errlen, "rebuild: %s", why);
    goto out;
  }
  st.partitions = n;
  if (rb_check_group_idle(rk, cfg->group, err, errlen) != 0) goto out;
  parts = calloc((size_t)n, sizeof *parts);
  if (parts == NULL) {
    snprintf(err, errlen, "rebuild: out of memory");
    goto out;
  }
  for (int i = 0; i < n; i++) {
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(rk, cfg->topic, i, &parts[i].lo,
                                                             &parts[i].hi, KAFKA_REQ_MS);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      snprintf(err, errlen, "rebuild: watermarks of %s[%d]: %s", cfg->topic, i,
               rd_kafka_err2str(e));
      goto out;
    }
    parts[i].next = parts[i].lo;
    parts[i].done = parts[i].lo >= parts[i].hi;
    if (parts[i].lo > 0) {
      log_warn("rebuild: %s[%d] starts at offset %" PRId64 ": older events were deleted by "
               "retention and cannot be replayed",
               cfg->topic, i, parts[i].lo);
    }
  }
  /* First move the group back to the start: from here on, dying leaves a state that a
   * restarted service repairs by replaying everything. */
  if (rb_commit(rk, cfg->topic, parts, n, false, err, errlen) != 0) goto out;
  log_info("rebuild: group %s reset to the start of %s (%d partitions)", cfg->group,
           cfg->topic, n);
  if (rb_reseed(cfg, err, errlen) != 0) goto out;
  log_info("rebuild: read model emptied and re-seeded; replaying");
  if (rb_replay(cfg, rk, parts, n, &st, err, errlen) != 0) goto out;
  if (rb_commit(rk, cfg->topic, parts, n, true, err, errlen) != 0) goto out;
  st.elapsed_ms = time_mono_ms() - t0;
  log_info("rebuild: done: %" PRIu64 " record(s) read, %" PRIu64 " applied, %" PRIu64
           " skipped, %" PRId64 " ms",
           st.records, st.applied, st.skipped, st.elapsed_ms);
  rc = 0;
out:
  if (rk != NULL) {
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
  }
  free(parts);
  if (stats != NULL) *stats = st;
  return rc;
}
