/* kafka_consumer: a consumer-group consumer that commits only offsets the caller stored. */
#include "kafka_consumer.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "kafka_conf.h"
#include "log.h"

struct kafka_consumer {
  rd_kafka_t *rk;
  /* Our copy of the current assignment; touched only from callbacks, which librdkafka
   * serves on the thread that calls kafka_consumer_poll/close. */
  rd_kafka_topic_partition_list_t *assignment;
  /* Read from any thread (health and metrics endpoints). */
  atomic_bool assigned;
  _Atomic int64_t lag;
};

/* Stored offsets are committed before partitions go, so the next owner starts right after
 * what this member made durable instead of redoing it (redoing would be harmless, since
 * the projector checks versions, but it is wasted work on every rebalance). */
static void kafka_consumer_commit_before_revoke(rd_kafka_t *rk) {
  rd_kafka_resp_err_t e = rd_kafka_commit(rk, NULL, 0);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR__NO_OFFSET) {
    log_warn("kafka consumer: commit before revoke failed: %s (the next owner redoes "
             "those records)", rd_kafka_err2str(e));
  }
}

static void kafka_consumer_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                        rd_kafka_topic_partition_list_t *parts,
                                        void *opaque) {
  kafka_consumer *c = opaque;
  atomic_store(&c->lag, -1); /* stale until the next statistics after this change */
  if (c->assignment != NULL) {
    rd_kafka_topic_partition_list_destroy(c->assignment);
    c->assignment = NULL;
  }
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      log_error("kafka consumer: assign %d partition(s) failed: %s", parts->cnt,
                rd_kafka_err2str(e));
      atomic_store(&c->assigned, false);
      return;
    }
    c->assignment = rd_kafka_topic_partition_list_copy(parts);
    atomic_store(&c->assigned, parts->cnt > 0);
    log_info("kafka consumer: assigned %d partition(s)", parts->cnt);
    return;
  }
  if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    /* A lost assignment (session timed out) already belongs to someone else: committing
     * would be rejected, and must not be attempted over their progress. */
    if (!rd_kafka_assignment_lost(rk)) kafka_consumer_commit_before_revoke(rk);
    log_info("kafka consumer: revoked %d partition(s)", parts->cnt);
  } else {
    log_error("kafka consumer: rebalance error: %s", rd_kafka_err2str(err));
  }
  rd_kafka_assign(rk, NULL);
  atomic_store(&c->assigned, false);
}

static int64_t json_int(const cJSON *obj, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
  return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
}

/* One partition's lag from its statistics, or -1 when not known yet. The end is the last
 * stable offset (what read_committed, our isolation level, can read); the start is where
 * the application is: past the last record it got, or else the committed offset, or else
 * (new group, auto.offset.reset=earliest) the log start. */
static int64_t partition_lag(const cJSON *p) {
  int64_t end = json_int(p, "ls_offset");
  if (end < 0) end = json_int(p, "hi_offset");
  if (end < 0) return -1;
  int64_t app = json_int(p, "app_offset");
  int64_t committed = json_int(p, "committed_offset");
  int64_t start = app > committed ? app : committed;
  if (start < 0) start = json_int(p, "lo_offset");
  if (start < 0) return -1;
  return end > start ? end - start : 0;
}

/* Why statistics rather than rd_kafka_position + rd_kafka_get_watermark_offsets: the
 * position is unknown until the first record of an assignment arrives, so a member that
 * took over a fully committed partition could not tell "no lag" from "unknown". The
 * statistics carry the committed offset too, and come without any broker round trip;
 * the price is staleness of up to statistics.interval.ms (1 s). */
static int kafka_consumer_stats_cb(rd_kafka_t *rk, char *json, size_t json_len,
                                   void *opaque) {
  kafka_consumer *c = opaque;
  if (c->assignment == NULL || c->assignment->cnt == 0) {
    atomic_store(&c->lag, -1);
    return 0;
  }
  cJSON *root = cJSON_ParseWithLength(json, json_len);
  const cJSON *topics = cJSON_GetObjectItemCaseSensitive(root, "topics");
  int64_t sum = 0;
  for (int i = 0; i < c->assignment->cnt && sum >= 0; i++) {
    const rd_kafka_topic_partition_t *tp = &c->assignment->elems[i];
    char id[16];
    snprintf(id, sizeof id, "%d", (int)tp->partition);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(topics, tp->topic);
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(t, "partitions");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(parts, id);
    int64_t l = p != NULL ? partition_lag(p) : -1;
    sum = l < 0 ? -1 : sum + l;
  }
  cJSON_Delete(root);
  atomic_store(&c->lag, sum);
  return 0; /* librdkafka frees json */
}

kafka_consumer *kafka_consumer_new(const char *brokers, const char *group_id,
                                   const char *const *topics, size_t ntopics,
                                   const char *const *extra_conf, char *err, size_t errlen) {
  /* - Offsets are stored by the caller after its DB commit and committed synchronously
   *   by it: nothing is committed that is not durable.
   * - partition.assignment.strategy: librdkafka 2.0.2 speaks only the classic group
   *   protocol (Kafka 4.x still serves it). We keep the eager range,roundrobin: a
   *   rebalance stops the group briefly, which costs the projector little (versions make
   *   redelivery harmless). cooperative-sticky would avoid that pause but needs
   *   incremental assign/unassign here and cannot be mixed with eager members during a
   *   rolling upgrade; not worth it for a small group. The rebalance callback below is
   *   eager-only, so extra conf asking for cooperative-sticky is refused.
   * - session.timeout.ms=10000: a crashed projector's partitions move on within 10 s
   *   (the 45 s default is for flaky networks, not loopback/LAN); the broker's minimum
   *   is 6 s.
   * - statistics.interval.ms=1000: feeds kafka_consumer_lag.
   * - fetch.min.bytes=65536 with fetch.wait.max.ms=10: the broker holds a fetch until it
   *   has 64 KiB or 10 ms have passed. The defaults (1 byte, 500 ms) answer a fetch per
   *   produce under a steady trickle, so the projector runs a batch (a balances-DB
   *   transaction) per produce: at 1,000 transfers/s that halved the table's lag for
   *   +0.18 cores (bench/results/2026-12-07-ab-offsets). At most 10 ms more lag. */
  static const char *const defaults[] = {
      "enable.auto.commit", "false",
      "enable.auto.offset.store", "false",
      "auto.offset.reset", "earliest",
      "enable.partition.eof", "false",
      "partition.assignment.strategy", "range,roundrobin",
      "session.timeout.ms", "10000",
      "statistics.interval.ms", "1000",
      "fetch.min.bytes", "65536",
      "fetch.wait.max.ms", "10",
      NULL,
  };
  if (group_id == NULL || *group_id == '\0' || topics == NULL || ntopics == 0) {
    snprintf(err, errlen, "kafka consumer: a group id and at least one topic are needed");
    return NULL;
  }
  rd_kafka_topic_partition_list_t *subs = NULL;
  kafka_consumer *c = calloc(1, sizeof *c);
  if (c == NULL) {
    snprintf(err, errlen, "kafka consumer: out of memory");
    return NULL;
  }
  atomic_init(&c->assigned, false);
  atomic_init(&c->lag, -1);

  rd_kafka_conf_t *conf = kafka_conf_new(brokers, defaults, NULL, err, errlen);
  if (conf == NULL) goto fail;
  const char *const group[] = {"group.id", group_id, NULL};
  if (kafka_conf_set_pairs(conf, group, err, errlen) != 0 ||
      kafka_conf_set_pairs(conf, extra_conf, err, errlen) != 0) {
    goto fail;
  }
  char strategy[128];
  size_t slen = sizeof strategy;
  if (rd_kafka_conf_get(conf, "partition.assignment.strategy", strategy, &slen) ==
          RD_KAFKA_CONF_OK &&
      strstr(strategy, "cooperative") != NULL) {
    snprintf(err, errlen, "kafka consumer: partition.assignment.strategy=%s: only eager "
             "strategies (range, roundrobin) are supported", strategy);
    goto fail;
  }
  rd_kafka_conf_set_rebalance_cb(conf, kafka_consumer_rebalance_cb);
  rd_kafka_conf_set_stats_cb(conf, kafka_consumer_stats_cb);
  rd_kafka_conf_set_opaque(conf, c);

  char why[512];
  c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
  if (c->rk == NULL) {
    snprintf(err, errlen, "kafka consumer: %s", why);
    goto fail;
  }
  conf = NULL; /* rd_kafka_new took it */
  /* Errors, logs and statistics are then served by kafka_consumer_poll too. */
  rd_kafka_poll_set_consumer(c->rk);

  subs = rd_kafka_topic_partition_list_new((int)ntopics);
  for (size_t i = 0; i < ntopics; i++) {
    rd_kafka_topic_partition_list_add(subs, topics[i], RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t e = rd_kafka_subscribe(c->rk, subs);
  rd_kafka_topic_partition_list_destroy(subs);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    snprintf(err, errlen, "kafka consumer: subscribe: %s", rd_kafka_err2str(e));
    rd_kafka_destroy(c->rk);
    free(c);
    return NULL;
  }
  return c;

fail:
  if (conf != NULL) rd_kafka_conf_destroy(conf);
  free(c);
  return NULL;
}

rd_kafka_message_t *kafka_consumer_poll(kafka_consumer *c, int timeout_ms) {
  return rd_kafka_consumer_poll(c->rk, timeout_ms);
}

int kafka_consumer_store(kafka_consumer *c, const rd_kafka_message_t *m) {
  if (m == NULL || m->err != RD_KAFKA_RESP_ERR_NO_ERROR || m->rkt == NULL) return -1;
  rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
  /* The committed offset names the next record to read, hence + 1. */
  rd_kafka_topic_partition_list_add(l, rd_kafka_topic_name(m->rkt), m->partition)->offset =
      m->offset + 1;
  rd_kafka_resp_err_t e = rd_kafka_offsets_store(c->rk, l);
  if (e == RD_KAFKA_RESP_ERR_NO_ERROR) e = l->elems[0].err;
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    /* Usually the partition was revoked meanwhile: its new owner redoes the record. */
    log_warn("kafka consumer: store offset %s[%d]@%lld: %s", rd_kafka_topic_name(m->rkt),
             (int)m->partition, (long long)(m->offset + 1), rd_kafka_err2str(e));
  }
  rd_kafka_topic_partition_list_destroy(l);
  return e == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

int kafka_consumer_commit(kafka_consumer *c, char *err, size_t errlen) {
  rd_kafka_resp_err_t e = rd_kafka_commit(c->rk, NULL, 0);
  if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR__NO_OFFSET) return 0;
  snprintf(err, errlen, "kafka commit: %s", rd_kafka_err2str(e));
  return -1;
}

bool kafka_consumer_assigned(kafka_consumer *c) { return atomic_load(&c->assigned); }

int64_t kafka_consumer_lag(kafka_consumer *c) { return atomic_load(&c->lag); }

void kafka_consumer_close(kafka_consumer *c) {
  if (c == NULL) return;
  /* Serves the final revoke (which commits stored offsets) and sends LeaveGroup, so the
   * rest of the group rebalances now rather than after session.timeout.ms. */
  rd_kafka_resp_err_t e = rd_kafka_consumer_close(c->rk);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    log_warn("kafka consumer: close: %s", rd_kafka_err2str(e));
  }
  rd_kafka_destroy(c->rk);
  if (c->assignment != NULL) rd_kafka_topic_partition_list_destroy(c->assignment);
  free(c);
}

rd_kafka_t *kafka_consumer_handle(kafka_consumer *c) { return c->rk; }
