/* test_kafka: producer, consumer, admin and event headers against the real broker. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_headers.h"
#include "kafka_admin.h"
#include "kafka_consumer.h"
#include "kafka_producer.h"
#include "test_env.h"
#include "timeutil.h"
#include "wallet/v1/events.pb-c.h"

/* Every wait is bounded: the first group join alone takes ~3 s
 * (group.initial.rebalance.delay.ms on the broker). */
#define WAIT_MS 20000
#define UNREACHABLE "127.0.0.1:1"

typedef struct delivery {
  int calls;
  rd_kafka_resp_err_t err;
  int32_t partition;
  int64_t offset;
  void *opaque;
} delivery;

static void on_delivery(void *msg_opaque, rd_kafka_resp_err_t err, int32_t partition,
                        int64_t offset, void *app) {
  delivery *d = app;
  d->calls++;
  d->err = err;
  d->partition = partition;
  d->offset = offset;
  d->opaque = msg_opaque;
}

static void make_topic(const char *name, int partitions) {
  char err[512] = "";
  kafka_topic_spec spec = {name, partitions, 1};
  int rc = kafka_ensure_topics(test_kafka_brokers(), &spec, 1, 10000, err, sizeof err);
  if (rc != 0) fail_msg("ensure_topics %s: %s", name, err);
}

/* Partition count of `topic` as the broker's metadata says, or -1. */
static int partition_count(const char *topic) {
  char err[512];
  kafka_producer *p =
      kafka_producer_new(test_kafka_brokers(), "test-md", NULL, NULL, NULL, err, sizeof err);
  assert_non_null(p);
  const struct rd_kafka_metadata *md = NULL;
  int n = -1;
  assert_int_equal(rd_kafka_metadata(kafka_producer_handle(p), 1, NULL, &md, 5000),
                   RD_KAFKA_RESP_ERR_NO_ERROR);
  for (int i = 0; i < md->topic_cnt; i++) {
    if (strcmp(md->topics[i].topic, topic) == 0) n = md->topics[i].partition_cnt;
  }
  rd_kafka_metadata_destroy(md);
  kafka_producer_destroy(p);
  return n;
}

/* Topic config `name` of `topic` as the broker reports it, copied into out; -1 if absent. */
static int topic_config(const char *topic, const char *name, char *out, size_t outlen) {
  char err[512];
  kafka_producer *p =
      kafka_producer_new(test_kafka_brokers(), "test-cfg", NULL, NULL, NULL, err, sizeof err);
  assert_non_null(p);
  rd_kafka_t *rk = kafka_producer_handle(p);
  rd_kafka_ConfigResource_t *res = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  rd_kafka_DescribeConfigs(rk, &res, 1, NULL, q);
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 10000);
  assert_non_null(ev);
  assert_int_equal(rd_kafka_event_error(ev), RD_KAFKA_RESP_ERR_NO_ERROR);
  const rd_kafka_DescribeConfigs_result_t *r = rd_kafka_event_DescribeConfigs_result(ev);
  size_t nres = 0;
  const rd_kafka_ConfigResource_t **rs = rd_kafka_DescribeConfigs_result_resources(r, &nres);
  int rc = -1;
  for (size_t i = 0; i < nres; i++) {
    size_t ncfg = 0;
    const rd_kafka_ConfigEntry_t **cfg = rd_kafka_ConfigResource_configs(rs[i], &ncfg);
    for (size_t j = 0; j < ncfg; j++) {
      const char *v = rd_kafka_ConfigEntry_value(cfg[j]);
      if (strcmp(rd_kafka_ConfigEntry_name(cfg[j]), name) == 0 && v != NULL) {
        snprintf(out, outlen, "%s", v);
        rc = 0;
      }
    }
  }
  rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_ConfigResource_destroy(res);
  kafka_producer_destroy(p);
  return rc;
}

/* Produces n records "v<i>" with key "k<i>" and waits for every delivery. */
static void produce_n(const char *topic, int n) {
  char err[512];
  delivery d = {0};
  kafka_producer *p =
      kafka_producer_new(test_kafka_brokers(), "test", on_delivery, &d, NULL, err, sizeof err);
  assert_non_null(p);
  for (int i = 0; i < n; i++) {
    char k[16], v[16];
    snprintf(k, sizeof k, "k%d", i);
    snprintf(v, sizeof v, "v%d", i);
    if (kafka_producer_send(p, topic, RD_KAFKA_PARTITION_UA, k, strlen(k), v, strlen(v), NULL,
                            NULL, err, sizeof err) != 0) {
      fail_msg("send: %s", err);
    }
  }
  assert_int_equal(kafka_producer_flush(p, 10000), 0);
  assert_int_equal(d.calls, n);
  assert_int_equal(d.err, RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_int_equal(kafka_producer_outstanding(p), 0);
  kafka_producer_destroy(p);
}

static kafka_consumer *consumer(const char *group, const char *topic) {
  char err[512];
  const char *topics[] = {topic};
  kafka_consumer *c =
      kafka_consumer_new(test_kafka_brokers(), group, topics, 1, NULL, err, sizeof err);
  if (c == NULL) fail_msg("consumer: %s", err);
  return c;
}

/* The next record (not an event), or NULL after `ms`. */
static rd_kafka_message_t *next_record(kafka_consumer *c, int ms) {
  int64_t deadline = time_mono_ms() + ms;
  while (time_mono_ms() < deadline) {
    rd_kafka_message_t *m = kafka_consumer_poll(c, 200);
    if (m == NULL) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) return m;
    print_message("consumer event: %s\n", rd_kafka_message_errstr(m));
    rd_kafka_message_destroy(m);
  }
  return NULL;
}

/* librdkafka's background threads must all be gone, or LeakSanitizer reports them. */
static int teardown(void **state) {
  assert_int_equal(rd_kafka_wait_destroyed(10000), 0);
  return 0;
}

static void test_ensure_topics_idempotent(void **state) {
  char name[64], err[512] = "";
  test_unique_name("t_admin", name, sizeof name);
  kafka_topic_spec spec = {name, 3, 1};
  assert_int_equal(kafka_ensure_topics(test_kafka_brokers(), &spec, 1, 10000, err, sizeof err),
                   0);
  assert_int_equal(kafka_ensure_topics(test_kafka_brokers(), &spec, 1, 10000, err, sizeof err),
                   0);
  assert_int_equal(partition_count(name), 3);

  /* Records are kept forever: the read model is rebuilt by replaying the topic. */
  char retention[32] = "";
  assert_int_equal(topic_config(name, "retention.ms", retention, sizeof retention), 0);
  assert_string_equal(retention, "-1");

  /* An existing topic is left alone, whatever the spec now says. */
  spec.partitions = 5;
  assert_int_equal(kafka_ensure_topics(test_kafka_brokers(), &spec, 1, 10000, err, sizeof err),
                   0);
  assert_int_equal(partition_count(name), 3);

  /* An invalid spec is refused before anything is sent. */
  spec.partitions = 0;
  assert_int_equal(kafka_ensure_topics(test_kafka_brokers(), &spec, 1, 10000, err, sizeof err),
                   -1);
  assert_non_null(strstr(err, "partitions"));
}

static void test_ensure_topics_unreachable(void **state) {
  char err[512] = "";
  kafka_topic_spec spec = {"never_created", 1, 1};
  int64_t t0 = time_mono_ms();
  assert_int_equal(kafka_ensure_topics(UNREACHABLE, &spec, 1, 2000, err, sizeof err), -1);
  int64_t took = time_mono_ms() - t0;
  print_message("unreachable ensure_topics: %lld ms: %s\n", (long long)took, err);
  assert_true(took < 2000 + 1500);
  assert_non_null(strstr(err, UNREACHABLE));
  assert_non_null(strstr(err, "CreateTopics"));
}

static void test_roundtrip_protobuf_headers_key(void **state) {
  char topic[64], group[64], err[512];
  test_unique_name("t_rt", topic, sizeof topic);
  test_unique_name("g_rt", group, sizeof group);
  make_topic(topic, 3);

  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  time_to_timestamp(1700000000123456, &ts);
  Wallet__V1__BalanceUpdated ev = WALLET__V1__BALANCE_UPDATED__INIT;
  ev.event_id = "0190c3e2-7b1a-7c3d-8e4f-0123456789ab";
  ev.occurred_at = &ts;
  ev.transaction_id = "0190c3e2-7b1a-7c3d-8e4f-00000000000t";
  ev.account_id_from = "acc-from";
  ev.account_id_to = "acc-to";
  ev.balance_account_id_from = -42;
  ev.balance_account_id_to = 9000000000000LL;
  ev.version_account_id_from = 7;
  ev.version_account_id_to = 3;
  size_t len = wallet__v1__balance_updated__get_packed_size(&ev);
  uint8_t *buf = malloc(len);
  assert_non_null(buf);
  wallet__v1__balance_updated__pack(&ev, buf);

  delivery d = {0};
  int marker;
  kafka_producer *p =
      kafka_producer_new(test_kafka_brokers(), "test-rt", on_delivery, &d, NULL, err, sizeof err);
  assert_non_null(p);
  rd_kafka_headers_t *h = event_headers_new(ev.event_id, "wallet.v1.BalanceUpdated",
                                            "wallet-core", 1700000000123);
  assert_non_null(h);
  if (kafka_producer_send(p, topic, RD_KAFKA_PARTITION_UA, ev.account_id_from,
                          strlen(ev.account_id_from), buf, len, h, &marker, err,
                          sizeof err) != 0) {
    fail_msg("send: %s", err);
  }
  free(buf);
  assert_int_equal(kafka_producer_outstanding(p), 1);
  assert_int_equal(kafka_producer_flush(p, 10000), 0);
  assert_int_equal(d.calls, 1);
  assert_int_equal(d.err, RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_ptr_equal(d.opaque, &marker);
  assert_true(d.partition >= 0 && d.partition < 3);
  assert_int_equal(d.offset, 0);
  assert_int_equal(kafka_producer_outstanding(p), 0);
  kafka_producer_destroy(p);

  kafka_consumer *c = consumer(group, topic);
  rd_kafka_message_t *m = next_record(c, WAIT_MS);
  assert_non_null(m);
  assert_true(kafka_consumer_assigned(c));
  assert_int_equal(m->partition, d.partition);
  assert_int_equal(m->offset, d.offset);
  assert_int_equal(m->key_len, strlen("acc-from"));
  assert_memory_equal(m->key, "acc-from", m->key_len);

  Wallet__V1__BalanceUpdated *got =
      wallet__v1__balance_updated__unpack(NULL, m->len, m->payload);
  assert_non_null(got);
  assert_string_equal(got->event_id, ev.event_id);
  assert_string_equal(got->transaction_id, ev.transaction_id);
  assert_string_equal(got->account_id_from, "acc-from");
  assert_string_equal(got->account_id_to, "acc-to");
  assert_int_equal(got->balance_account_id_from, -42);
  assert_int_equal(got->balance_account_id_to, 9000000000000LL);
  assert_int_equal(got->version_account_id_from, 7);
  assert_int_equal(got->version_account_id_to, 3);
  assert_non_null(got->occurred_at);
  assert_int_equal(time_from_timestamp_us(got->occurred_at), 1700000000123456);
  wallet__v1__balance_updated__free_unpacked(got, NULL);

  rd_kafka_headers_t *hdrs = NULL;
  assert_int_equal(rd_kafka_message_headers(m, &hdrs), RD_KAFKA_RESP_ERR_NO_ERROR);
  char v[128];
  const char *want[][2] = {
      {"ce_specversion", "1.0"},
      {"ce_id", ev.event_id},
      {"ce_type", "wallet.v1.BalanceUpdated"},
      {"ce_source", "wallet-core"},
      {"ce_time", "2023-11-14T22:13:20.123Z"},
      {"content-type", EVENT_CONTENT_TYPE},
  };
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    assert_int_equal(event_headers_get(hdrs, want[i][0], v, sizeof v), 0);
    assert_string_equal(v, want[i][1]);
  }
  assert_int_equal(event_headers_get(hdrs, "ce_missing", v, sizeof v), -1);
  /* Too small a buffer is refused, not truncated. */
  assert_int_equal(event_headers_get(hdrs, "ce_type", v, 5), -1);
  assert_int_equal(event_headers_get(NULL, "ce_type", v, sizeof v), -1);

  assert_int_equal(kafka_consumer_store(c, m), 0);
  rd_kafka_message_destroy(m);
  assert_int_equal(kafka_consumer_commit(c, err, sizeof err), 0);
  /* Nothing new stored: still success. */
  assert_int_equal(kafka_consumer_commit(c, err, sizeof err), 0);
  kafka_consumer_close(c);
}

/* Offsets move only when the caller says a record is durable: a member that stored K of
 * N records hands the group K, and the next member gets K..N-1 again. */
static void test_commit_only_stored_offsets(void **state) {
  enum { N = 10, K = 4 };
  char topic[64], group[64], err[512];
  test_unique_name("t_off", topic, sizeof topic);
  test_unique_name("g_off", group, sizeof group);
  make_topic(topic, 1);
  produce_n(topic, N);

  kafka_consumer *c = consumer(group, topic);
  for (int i = 0; i < N; i++) {
    rd_kafka_message_t *m = next_record(c, WAIT_MS);
    assert_non_null(m);
    assert_int_equal(m->offset, i);
    if (i < K) assert_int_equal(kafka_consumer_store(c, m), 0);
    rd_kafka_message_destroy(m);
  }
  assert_int_equal(kafka_consumer_commit(c, err, sizeof err), 0);
  kafka_consumer_close(c);

  c = consumer(group, topic);
  for (int i = K; i < N; i++) {
    rd_kafka_message_t *m = next_record(c, WAIT_MS);
    assert_non_null(m);
    assert_int_equal(m->offset, i);
    char want[16];
    snprintf(want, sizeof want, "v%d", i);
    assert_int_equal(m->len, strlen(want));
    assert_memory_equal(m->payload, want, m->len);
    rd_kafka_message_destroy(m);
  }
  assert_null(next_record(c, 1000));
  kafka_consumer_close(c);
}

/* Closing without a commit call still commits what was stored (the revoke does it), and
 * nothing that was not. */
static void test_close_commits_stored(void **state) {
  char topic[64], group[64];
  test_unique_name("t_close", topic, sizeof topic);
  test_unique_name("g_close", group, sizeof group);
  make_topic(topic, 1);
  produce_n(topic, 3);

  kafka_consumer *c = consumer(group, topic);
  rd_kafka_message_t *m = next_record(c, WAIT_MS);
  assert_non_null(m);
  assert_int_equal(kafka_consumer_store(c, m), 0);
  rd_kafka_message_destroy(m);
  m = next_record(c, WAIT_MS); /* read, never stored */
  assert_non_null(m);
  rd_kafka_message_destroy(m);
  kafka_consumer_close(c);

  c = consumer(group, topic);
  m = next_record(c, WAIT_MS);
  assert_non_null(m);
  assert_int_equal(m->offset, 1);
  rd_kafka_message_destroy(m);
  kafka_consumer_close(c);
}

static void test_producer_unreachable(void **state) {
  char err[512];
  delivery d = {0};
  const char *extra[] = {"message.timeout.ms", "2000", NULL};
  kafka_producer *p =
      kafka_producer_new(UNREACHABLE, "test-down", on_delivery, &d, extra, err, sizeof err);
  assert_non_null(p);
  /* Queuing works without a broker; only the delivery report tells the truth. */
  assert_int_equal(kafka_producer_send(p, "nowhere", RD_KAFKA_PARTITION_UA, "k", 1, "v", 1,
                                       NULL, NULL, err, sizeof err),
                   0);
  assert_int_equal(kafka_producer_flush(p, 500), -1);
  assert_int_equal(d.calls, 0);
  assert_int_equal(kafka_producer_outstanding(p), 1);

  int64_t deadline = time_mono_ms() + 6000;
  while (d.calls == 0 && time_mono_ms() < deadline) kafka_producer_poll(p, 100);
  assert_int_equal(d.calls, 1);
  assert_int_not_equal(d.err, RD_KAFKA_RESP_ERR_NO_ERROR);
  print_message("unreachable delivery: %s\n", rd_kafka_err2name(d.err));
  assert_int_equal(kafka_producer_outstanding(p), 0);
  kafka_producer_destroy(p);
}

/* With the default infinite message timeout, destroy must still return (flush 5 s, then
 * purge), and the purged record is reported as not delivered. */
static void test_producer_destroy_bounded(void **state) {
  char err[512];
  delivery d = {0};
  kafka_producer *p =
      kafka_producer_new(UNREACHABLE, "test-down2", on_delivery, &d, NULL, err, sizeof err);
  assert_non_null(p);
  assert_int_equal(kafka_producer_send(p, "nowhere", RD_KAFKA_PARTITION_UA, "k", 1, "v", 1,
                                       NULL, NULL, err, sizeof err),
                   0);
  int64_t t0 = time_mono_ms();
  kafka_producer_destroy(p);
  int64_t took = time_mono_ms() - t0;
  print_message("destroy with an unreachable broker took %lld ms\n", (long long)took);
  assert_true(took < 8000);
  assert_int_equal(d.calls, 1);
  assert_int_equal(d.err, RD_KAFKA_RESP_ERR__PURGE_QUEUE);
}

static void test_bad_config(void **state) {
  char err[512] = "";
  const char *bad[] = {"no.such.property", "1", NULL};
  assert_null(kafka_producer_new(test_kafka_brokers(), "x", NULL, NULL, bad, err, sizeof err));
  assert_non_null(strstr(err, "no.such.property"));
  const char *odd[] = {"linger.ms", NULL};
  assert_null(kafka_producer_new(test_kafka_brokers(), "x", NULL, NULL, odd, err, sizeof err));
  const char *topics[] = {"t"};
  err[0] = '\0';
  assert_null(kafka_consumer_new(test_kafka_brokers(), "g", topics, 1, bad, err, sizeof err));
  assert_non_null(strstr(err, "no.such.property"));
  assert_null(kafka_consumer_new(test_kafka_brokers(), "", topics, 1, NULL, err, sizeof err));
  const char *coop[] = {"partition.assignment.strategy", "cooperative-sticky", NULL};
  assert_null(kafka_consumer_new(test_kafka_brokers(), "g", topics, 1, coop, err, sizeof err));
  assert_non_null(strstr(err, "eager"));
  kafka_producer_destroy(NULL);
  kafka_consumer_close(NULL);
}

static void assert_conf(rd_kafka_t *rk, const char *key, const char *want) {
  char v[256];
  size_t n = sizeof v;
  assert_int_equal(rd_kafka_conf_get(rd_kafka_conf(rk), key, v, &n), RD_KAFKA_CONF_OK);
  assert_string_equal(v, want);
}

/* Our defaults are in force, and the caller's extra pairs win over them. */
static void test_config_defaults_and_overrides(void **state) {
  char err[512];
  const char *extra[] = {"linger.ms", "50", NULL};
  kafka_producer *p =
      kafka_producer_new(test_kafka_brokers(), "cfg", NULL, NULL, extra, err, sizeof err);
  assert_non_null(p);
  rd_kafka_t *rk = kafka_producer_handle(p);
  assert_conf(rk, "enable.idempotence", "true");
  assert_conf(rk, "acks", "-1"); /* "all" reads back as -1 */
  assert_conf(rk, "partitioner", "murmur2_random");
  assert_conf(rk, "message.timeout.ms", "0");
  assert_conf(rk, "linger.ms", "50");
  assert_conf(rk, "client.id", "cfg");
  kafka_producer_destroy(p);

  const char *topics[] = {"cfg_topic_never_created"};
  const char *cextra[] = {"session.timeout.ms", "12000", NULL};
  kafka_consumer *c =
      kafka_consumer_new(test_kafka_brokers(), "g_cfg", topics, 1, cextra, err, sizeof err);
  assert_non_null(c);
  rk = kafka_consumer_handle(c);
  assert_conf(rk, "enable.auto.commit", "false");
  assert_conf(rk, "enable.auto.offset.store", "false");
  assert_conf(rk, "auto.offset.reset", "smallest"); /* "earliest" reads back so */
  assert_conf(rk, "session.timeout.ms", "12000");
  assert_conf(rk, "group.id", "g_cfg");
  assert_false(kafka_consumer_assigned(c));
  assert_int_equal(kafka_consumer_lag(c), -1);
  /* Nothing stored, nothing assigned: committing is a no-op, not an error. */
  assert_int_equal(kafka_consumer_commit(c, err, sizeof err), 0);
  kafka_consumer_close(c);
}

/* A full local queue makes send wait about 1 s for room, then fail; the headers stay the
 * caller's (ASan would catch a double free or a leak). */
static void test_send_queue_full(void **state) {
  char err[512] = "";
  delivery d = {0};
  const char *extra[] = {"queue.buffering.max.messages", "1", NULL};
  kafka_producer *p =
      kafka_producer_new(UNREACHABLE, "test-full", on_delivery, &d, extra, err, sizeof err);
  assert_non_null(p);
  assert_int_equal(kafka_producer_send(p, "nowhere", RD_KAFKA_PARTITION_UA, "k", 1, "v", 1,
                                       NULL, NULL, err, sizeof err),
                   0);
  rd_kafka_headers_t *h = event_headers_new("id", "t", "s", 0);
  int64_t t0 = time_mono_ms();
  assert_int_equal(kafka_producer_send(p, "nowhere", RD_KAFKA_PARTITION_UA, "k", 1, "v", 1, h,
                                       NULL, err, sizeof err),
                   -1);
  int64_t took = time_mono_ms() - t0;
  print_message("queue full after %lld ms: %s\n", (long long)took, err);
  assert_true(took >= 900 && took < 2500);
  assert_non_null(strstr(err, "full"));
  assert_int_equal(kafka_producer_outstanding(p), 1);
  rd_kafka_headers_destroy(h);
  kafka_producer_destroy(p);
  assert_int_equal(d.calls, 1);
}

/* Auto-creation is off: a record for a topic nobody created fails its delivery once
 * librdkafka stops waiting for the topic to propagate. */
static void test_send_unknown_topic(void **state) {
  char topic[64], err[512];
  test_unique_name("t_nope", topic, sizeof topic);
  delivery d = {0};
  const char *extra[] = {"topic.metadata.propagation.max.ms", "1000", NULL};
  kafka_producer *p =
      kafka_producer_new(test_kafka_brokers(), "test-nope", on_delivery, &d, extra, err,
                         sizeof err);
  assert_non_null(p);
  int rc = kafka_producer_send(p, topic, RD_KAFKA_PARTITION_UA, "k", 1, "v", 1, NULL, NULL,
                               err, sizeof err);
  if (rc == 0) {
    int64_t deadline = time_mono_ms() + 8000;
    while (d.calls == 0 && time_mono_ms() < deadline) kafka_producer_poll(p, 100);
    assert_int_equal(d.calls, 1);
    print_message("unknown topic delivery: %s\n", rd_kafka_err2name(d.err));
    assert_true(d.err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                d.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART);
  } else {
    print_message("unknown topic send: %s\n", err);
  }
  assert_int_equal(partition_count(topic), -1); /* and it was not auto-created */
  kafka_producer_destroy(p);
}

/* Polls (serving statistics) until lag equals want or the time is up; returns the last. */
static int64_t wait_lag(kafka_consumer *c, int64_t want, int ms, int *extra_records) {
  int64_t deadline = time_mono_ms() + ms, lag = -1;
  while (time_mono_ms() < deadline) {
    rd_kafka_message_t *m = kafka_consumer_poll(c, 100);
    if (m != NULL) {
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) (*extra_records)++;
      rd_kafka_message_destroy(m);
    }
    lag = kafka_consumer_lag(c);
    if (lag == want) break;
  }
  return lag;
}

static void test_lag(void **state) {
  enum { N = 5 };
  char topic[64], group[64];
  test_unique_name("t_lag", topic, sizeof topic);
  test_unique_name("g_lag", group, sizeof group);
  make_topic(topic, 1);
  produce_n(topic, N);

  kafka_consumer *c = consumer(group, topic);
  assert_int_equal(kafka_consumer_lag(c), -1); /* nothing known before the first stats */
  rd_kafka_message_t *m = next_record(c, WAIT_MS);
  assert_non_null(m);
  assert_int_equal(kafka_consumer_store(c, m), 0);
  rd_kafka_message_destroy(m);

  /* Pausing stops delivery but polling still serves the statistics. */
  rd_kafka_t *rk = kafka_consumer_handle(c);
  rd_kafka_topic_partition_list_t *asg = NULL;
  assert_int_equal(rd_kafka_assignment(rk, &asg), RD_KAFKA_RESP_ERR_NO_ERROR);
  assert_int_equal(asg->cnt, 1);
  assert_int_equal(rd_kafka_pause_partitions(rk, asg), RD_KAFKA_RESP_ERR_NO_ERROR);
  int consumed = 1;
  int64_t lag = wait_lag(c, N - 1, 4000, &consumed);
  print_message("lag while paused after %d of %d: %lld\n", consumed, N, (long long)lag);
  assert_true(lag > 0);
  assert_int_equal(lag, N - consumed);

  assert_int_equal(rd_kafka_resume_partitions(rk, asg), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(asg);
  while (consumed < N) {
    m = next_record(c, WAIT_MS);
    assert_non_null(m);
    consumed++;
    rd_kafka_message_destroy(m);
  }
  lag = wait_lag(c, 0, 4000, &consumed);
  assert_int_equal(lag, 0);
  assert_int_equal(consumed, N);
  kafka_consumer_close(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_bad_config, teardown),
      cmocka_unit_test_teardown(test_config_defaults_and_overrides, teardown),
      cmocka_unit_test_teardown(test_send_queue_full, teardown),
      cmocka_unit_test_teardown(test_send_unknown_topic, teardown),
      cmocka_unit_test_teardown(test_ensure_topics_idempotent, teardown),
      cmocka_unit_test_teardown(test_ensure_topics_unreachable, teardown),
      cmocka_unit_test_teardown(test_roundtrip_protobuf_headers_key, teardown),
      cmocka_unit_test_teardown(test_commit_only_stored_offsets, teardown),
      cmocka_unit_test_teardown(test_close_commits_stored, teardown),
      cmocka_unit_test_teardown(test_producer_unreachable, teardown),
      cmocka_unit_test_teardown(test_producer_destroy_bounded, teardown),
      cmocka_unit_test_teardown(test_lag, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
