/* kafka_admin: creates topics idempotently with the admin API, then waits until they are
 * visible in metadata. */
#include "kafka_admin.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "kafka_conf.h"
#include "timeutil.h"

static int remaining_ms(int64_t deadline) {
  int64_t left = deadline - time_mono_ms();
  return left > 0 ? (int)left : 0;
}

static int check_specs(const kafka_topic_spec *topics, size_t n, char *err, size_t errlen) {
  if (topics == NULL && n > 0) {
    snprintf(err, errlen, "kafka admin: no topic specs");
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    const kafka_topic_spec *t = &topics[i];
    /* librdkafka 2.0.2 cannot ask for the broker's defaults (-1 needs >= 2.4). */
    if (t->name == NULL || *t->name == '\0' || t->partitions < 1 ||
        t->replication_factor < 1) {
      snprintf(err, errlen, "kafka admin: topic spec %zu (%s): need a name, partitions >= 1 "
               "and replication_factor >= 1", i, t->name ? t->name : "(null)");
      return -1;
    }
  }
  return 0;
}

/* Sends one CreateTopics for all specs and waits for its result. */
static int create_topics(rd_kafka_t *rk, const kafka_topic_spec *topics, size_t n,
                         int64_t deadline, char *err, size_t errlen) {
  int rc = -1;
  rd_kafka_NewTopic_t **nt = calloc(n, sizeof *nt);
  rd_kafka_AdminOptions_t *opts = NULL;
  rd_kafka_queue_t *q = NULL;
  rd_kafka_event_t *ev = NULL;
  char why[512];
  if (nt == NULL) {
    snprintf(err, errlen, "kafka admin: out of memory");
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    nt[i] = rd_kafka_NewTopic_new(topics[i].name, topics[i].partitions,
                                  topics[i].replication_factor, why, sizeof why);
    if (nt[i] == NULL) {
      snprintf(err, errlen, "kafka admin: topic %s: %s", topics[i].name, why);
      goto out;
    }
    /* Our topics are the event log the read model is rebuilt from: a record deleted by
     * time-based retention could never be replayed, so keep them all. */
    if (rd_kafka_NewTopic_set_config(nt[i], "retention.ms", "-1") != RD_KAFKA_RESP_ERR_NO_ERROR) {
      snprintf(err, errlen, "kafka admin: topic %s: cannot set retention.ms", topics[i].name);
      goto out;
    }
  }
  opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  int budget = remaining_ms(deadline);
  if (budget < 1) budget = 1;
  /* The request may take the whole budget; the broker-side wait for the controller to
   * create them gets the same bound. */
  if (rd_kafka_AdminOptions_set_request_timeout(opts, budget, why, sizeof why) ||
      rd_kafka_AdminOptions_set_operation_timeout(opts, budget, why, sizeof why)) {
    snprintf(err, errlen, "kafka admin: options: %s", why);
    goto out;
  }
  q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, nt, n, opts, q);

  /* The request's own timeout produces a result event; the extra second only covers
   * librdkafka's timer granularity, so we never return before it has answered. */
  ev = rd_kafka_queue_poll(q, remaining_ms(deadline) + 1000);
  if (ev == NULL) {
    snprintf(err, errlen, "kafka admin: no answer to CreateTopics within the timeout");
    goto out;
  }
  if (rd_kafka_event_error(ev) == RD_KAFKA_RESP_ERR__TIMED_OUT) {
    snprintf(err, errlen, "kafka admin: CreateTopics got no answer within %d ms "
             "(broker unreachable, or no controller): %s", budget,
             rd_kafka_event_error_string(ev));
    goto out;
  }
  if (rd_kafka_event_error(ev) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    snprintf(err, errlen, "kafka admin: CreateTopics failed: %s (%s)",
             rd_kafka_event_error_string(ev), rd_kafka_err2name(rd_kafka_event_error(ev)));
    goto out;
  }
  const rd_kafka_CreateTopics_result_t *res = rd_kafka_event_CreateTopics_result(ev);
  size_t cnt = 0;
  const rd_kafka_topic_result_t **tr = rd_kafka_CreateTopics_result_topics(res, &cnt);
  for (size_t i = 0; i < cnt; i++) {
    rd_kafka_resp_err_t e = rd_kafka_topic_result_error(tr[i]);
    /* An existing topic is left as it is, whatever its partition count. */
    if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      continue;
    }
    const char *msg = rd_kafka_topic_result_error_string(tr[i]);
    snprintf(err, errlen, "kafka admin: create topic %s: %s (%s)",
             rd_kafka_topic_result_name(tr[i]), msg ? msg : rd_kafka_err2str(e),
             rd_kafka_err2name(e));
    goto out;
  }
  rc = 0;

out:
  if (ev != NULL) rd_kafka_event_destroy(ev);
  if (q != NULL) rd_kafka_queue_destroy(q);
  if (opts != NULL) rd_kafka_AdminOptions_destroy(opts);
  if (nt != NULL) rd_kafka_NewTopic_destroy_array(nt, n);
  free(nt);
  return rc;
}

/* True when every topic is in md with at least its partitions, each with a leader. */
static bool topics_ready(const rd_kafka_metadata_t *md, const kafka_topic_spec *topics,
                         size_t n, const char **missing) {
  for (size_t i = 0; i < n; i++) {
    const rd_kafka_metadata_topic_t *mt = NULL;
    for (int j = 0; j < md->topic_cnt; j++) {
      if (strcmp(md->topics[j].topic, topics[i].name) == 0) mt = &md->topics[j];
    }
    *missing = topics[i].name;
    if (mt == NULL || mt->err != RD_KAFKA_RESP_ERR_NO_ERROR || mt->partition_cnt < 1) {
      return false;
    }
    for (int k = 0; k < mt->partition_cnt; k++) {
      if (mt->partitions[k].leader < 0) return false;
    }
  }
  return true;
}

/* Topic creation is asynchronous in Kafka: CreateTopics can answer before the broker a
 * producer asks has the topic in its metadata. Waiting here means the first produce right
 * after start does not race the propagation. */
static int wait_visible(rd_kafka_t *rk, const kafka_topic_spec *topics, size_t n,
                        int64_t deadline, char *err, size_t errlen) {
  const char *missing = NULL;
  rd_kafka_resp_err_t last = RD_KAFKA_RESP_ERR_NO_ERROR;
  for (;;) {
    const struct rd_kafka_metadata *md = NULL;
    int budget = remaining_ms(deadline);
    /* all_topics=1: asking for named topics could, with other settings, auto-create them */
    last = rd_kafka_metadata(rk, 1, NULL, &md, budget > 0 ? budget : 1);
    if (last == RD_KAFKA_RESP_ERR_NO_ERROR) {
      bool ready = topics_ready(md, topics, n, &missing);
      rd_kafka_metadata_destroy(md);
      if (ready) return 0;
    }
    if (remaining_ms(deadline) == 0) break;
    time_sleep_ms(remaining_ms(deadline) < 100 ? remaining_ms(deadline) : 100);
  }
  snprintf(err, errlen, "kafka admin: topic %s not visible in metadata within the timeout%s%s",
           missing ? missing : "?", last ? ": " : "", last ? rd_kafka_err2str(last) : "");
  return -1;
}

int kafka_ensure_topics(const char *brokers, const kafka_topic_spec *topics, size_t n,
                        int timeout_ms, char *err, size_t errlen) {
  if (check_specs(topics, n, err, errlen) != 0) return -1;
  if (n == 0) return 0;
  int64_t deadline = time_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
  char why[512];
  rd_kafka_conf_t *conf = kafka_conf_new(brokers, NULL, NULL, err, errlen);
  if (conf == NULL) return -1;
  /* A short-lived handle: the producer type is the lightest that can run admin calls. */
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, why, sizeof why);
  if (rk == NULL) {
    rd_kafka_conf_destroy(conf);
    snprintf(err, errlen, "kafka admin: %s", why);
    return -1;
  }
  int rc = create_topics(rk, topics, n, deadline, err, errlen);
  if (rc == 0) rc = wait_visible(rk, topics, n, deadline, err, errlen);
  if (rc != 0) {
    /* Name the address: "timed out" alone does not say which setting to check. */
    size_t used = strlen(err);
    if (used + 1 < errlen) snprintf(err + used, errlen - used, " [brokers %s]", brokers);
  }
  rd_kafka_destroy(rk);
  return rc;
}
