/* test_wallet_relay: the outbox relay against the real broker and MariaDB: rows written
 * while no relay ran are published at start, only one of two relays publishes (and the
 * other takes over when it stops), an unreachable Kafka keeps rows pending without
 * blocking transfers, and a busy relay sends each event once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "events.h"
#include "kafka_admin.h"
#include "kafka_consumer.h"
#include "metrics.h"
#include "migrate.h"
#include "outbox_relay.h"
#include "test_env.h"
#include "timeutil.h"
#include "transfers.h"
#include "wallet_fixture.h"

#define A1 "a1000000-0000-4000-8000-000000000001"
#define A2 "a1000000-0000-4000-8000-000000000002"
#define A3 "a1000000-0000-4000-8000-000000000003"
#define WAIT_MS 30000

typedef struct fixture {
  db_config cfg;
  db_pool *pool;
  db_conn *conn;
  char topic_tx[64], topic_bal[64];
  wallet_topics topics;
} fixture;

static int64_t query_i64(db_conn *c, const char *sql) { return wallet_fixture_i64(c, sql); }

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  wallet_fixture_db_open("wallet_relay", 4, &f->cfg, &f->pool, &f->conn);
  test_unique_name("rtx", f->topic_tx, sizeof f->topic_tx);
  test_unique_name("rbal", f->topic_bal, sizeof f->topic_bal);
  f->topics = (wallet_topics){f->topic_tx, f->topic_bal};
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  wallet_fixture_db_close(f->pool, f->conn);
  free(f);
  return 0;
}

static void make_topics(fixture *f) { wallet_fixture_topics(f->topic_tx, f->topic_bal); }

static void transfer_n(fixture *f, int n, outbox_relay *notify) {
  for (int i = 0; i < n; i++) {
    transfer_request rq = {i % 2 ? A1 : A3, A2, 1 + i % 7, NULL};
    transfer_result res;
    wallet_err fatal;
    if (transfers_apply(f->conn, &f->topics, &rq, &res, 1, &fatal) != 1) {
      fail_msg("transfer %d: %s %s", i, fatal.msg, res.err.msg);
    }
    outbox_relay_notify(notify);
  }
}

static outbox_relay *relay_new(fixture *f, const char *brokers) {
  char err[512];
  outbox_relay_config rc = {.db = f->cfg, .brokers = brokers};
  outbox_relay *r = outbox_relay_start(&rc, err, sizeof err);
  if (r == NULL) fail_msg("relay: %s", err);
  return r;
}

static void wait_pending_zero(fixture *f) {
  int64_t deadline = time_mono_ms() + WAIT_MS;
  while (query_i64(f->conn, "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL") > 0) {
    if (time_mono_ms() > deadline) fail_msg("outbox still pending after %d ms", WAIT_MS);
    time_sleep_ms(20);
  }
}

/* The relay counts a row published right after its UPDATE commits, so the count may trail
 * the table by a moment: wait (bounded) until it reaches want, then it must equal it. */
static void wait_published(outbox_relay *r, uint64_t want) {
  int64_t deadline = time_mono_ms() + WAIT_MS;
  while (outbox_relay_published(r) < want && time_mono_ms() < deadline) time_sleep_ms(10);
  assert_int_equal(outbox_relay_published(r), want);
}

/* Reads both topics from the start; returns how many records came, failing on a repeated
 * ce_id. Stops when `want` came and nothing more arrives for 2 s. */
static size_t consume_count(fixture *f, size_t want) {
  char group[64], err[512];
  test_unique_name("g_relay", group, sizeof group);
  const char *topics[] = {f->topic_tx, f->topic_bal};
  kafka_consumer *c = kafka_consumer_new(test_kafka_brokers(), group, topics, 2, NULL, err,
                                         sizeof err);
  if (c == NULL) fail_msg("consumer: %s", err);
  char(*ids)[40] = calloc(want + 16, sizeof *ids);
  assert_non_null(ids);
  size_t n = 0;
  int64_t deadline = time_mono_ms() + WAIT_MS;
  while (time_mono_ms() < deadline && n < want + 16) {
    rd_kafka_message_t *m = kafka_consumer_poll(c, 200);
    if (m == NULL) continue;
    if (!m->err) {
      rd_kafka_headers_t *h = NULL;
      const void *v = NULL;
      size_t len = 0;
      if (rd_kafka_message_headers(m, &h) == 0 &&
          rd_kafka_header_get_last(h, "ce_id", &v, &len) == 0) {
        snprintf(ids[n], sizeof ids[n], "%.*s", (int)len, (const char *)v);
        for (size_t j = 0; j < n; j++) {
          if (strcmp(ids[j], ids[n]) == 0) fail_msg("event %s published twice", ids[n]);
        }
      }
      n++;
      if (n == want) deadline = time_mono_ms() + 2000;
    }
    rd_kafka_message_destroy(m);
  }
  free(ids);
  kafka_consumer_close(c);
  return n;
}

static void test_pending_rows_published_at_start(void **state) {
  fixture *f = *state;
  make_topics(f);
  /* Written while no relay runs: what a crash between commit and publish leaves. */
  transfer_n(f, 20, NULL);
  assert_int_equal(wallet_fixture_outbox_events(f->conn, "published_at IS NULL"), 40);
  outbox_relay *r = relay_new(f, test_kafka_brokers());
  wait_pending_zero(f);
  wait_published(r, 40);
  outbox_relay_stop(r);
  assert_int_equal(consume_count(f, 40), 40);
}

static void test_one_leader_of_two_and_takeover(void **state) {
  fixture *f = *state;
  make_topics(f);
  outbox_relay *a = relay_new(f, test_kafka_brokers());
  outbox_relay *b = relay_new(f, test_kafka_brokers());
  int64_t deadline = time_mono_ms() + 5000;
  while (!outbox_relay_is_leader(a) && !outbox_relay_is_leader(b) && time_mono_ms() < deadline) {
    time_sleep_ms(20);
  }
  time_sleep_ms(1500); /* the standby retries every second: it must still not lead */
  assert_int_equal(outbox_relay_is_leader(a) + outbox_relay_is_leader(b), 1);
  outbox_relay *leader = outbox_relay_is_leader(a) ? a : b;
  outbox_relay *standby = leader == a ? b : a;

  transfer_n(f, 25, standby); /* waking the standby must not make it publish */
  wait_pending_zero(f);
  wait_published(leader, 50);
  assert_int_equal(outbox_relay_published(standby), 0);

  /* The leader goes away (its connection, hence its lock, with it): the standby takes over. */
  outbox_relay_stop(leader);
  deadline = time_mono_ms() + 5000;
  while (!outbox_relay_is_leader(standby) && time_mono_ms() < deadline) time_sleep_ms(20);
  assert_true(outbox_relay_is_leader(standby));
  transfer_n(f, 5, standby);
  wait_pending_zero(f);
  wait_published(standby, 10);
  outbox_relay_stop(standby);
  assert_int_equal(consume_count(f, 60), 60);
}

static void test_kafka_unreachable_keeps_rows_pending(void **state) {
  fixture *f = *state;
  outbox_relay *r = relay_new(f, "127.0.0.1:1");
  int64_t deadline = time_mono_ms() + 5000;
  while (!outbox_relay_is_leader(r) && time_mono_ms() < deadline) time_sleep_ms(20);
  assert_true(outbox_relay_is_leader(r));

  /* Transfers keep committing, promptly, while the relay cannot publish. */
  int64_t t0 = time_mono_ms();
  transfer_n(f, 30, r);
  int64_t took = time_mono_ms() - t0;
  print_message("30 transfers with Kafka unreachable took %lld ms\n", (long long)took);
  assert_true(took < 10000);
  time_sleep_ms(1500);
  assert_int_equal(query_i64(f->conn, "SELECT COUNT(*) FROM transactions"), 30);
  assert_int_equal(wallet_fixture_outbox_events(f->conn, "published_at IS NULL"), 60);
  assert_int_equal(outbox_relay_published(r), 0);
  char detail[256] = "";
  assert_int_equal(outbox_relay_kafka_check(r, 500, detail, sizeof detail), -1);
  assert_true(detail[0] != '\0');

  /* Stopping is bounded even with records stuck in the producer. */
  t0 = time_mono_ms();
  outbox_relay_stop(r);
  took = time_mono_ms() - t0;
  print_message("stop with Kafka unreachable took %lld ms\n", (long long)took);
  assert_true(took < 15000);
  assert_int_equal(wallet_fixture_outbox_events(f->conn, "published_at IS NULL"), 60);

  /* Kafka "comes back" (a relay that can reach it): nothing was lost. */
  make_topics(f);
  outbox_relay *ok = relay_new(f, test_kafka_brokers());
  wait_pending_zero(f);
  outbox_relay_stop(ok);
  assert_int_equal(consume_count(f, 60), 60);
}

/* A group's events travel as batch rows: fewer rows than events, every event published
 * once, and each row marked only with all of its records. */
static void test_batch_rows_publish_every_record(void **state) {
  fixture *f = *state;
  make_topics(f);
  enum { K = 250 };
  transfer_request rq[K];
  transfer_result res[K];
  for (int i = 0; i < K; i++) rq[i] = (transfer_request){i % 2 ? A1 : A3, A2, 1 + i % 7, NULL};
  wallet_err fatal;
  assert_int_equal(transfers_apply(f->conn, &f->topics, rq, res, K, &fatal), K);
  int64_t rows = query_i64(f->conn, "SELECT COUNT(*) FROM outbox");
  assert_int_equal(wallet_fixture_outbox_events(f->conn, NULL), 2 * K);
  assert_true(rows >= 2);     /* 500 events are more than one 64 KiB BLOB holds */
  assert_true(rows <= 10);    /* and far fewer rows than events */
  outbox_relay *r = relay_new(f, test_kafka_brokers());
  wait_pending_zero(f);
  wait_published(r, 2 * K);
  outbox_relay_stop(r);
  assert_int_equal(consume_count(f, 2 * K), 2 * K);
}

/* A batch row that does not decode is never skipped (its events would be lost): the relay
 * stops at it, rows after it wait (order), and publishing resumes once it is dealt with. */
static void test_bad_batch_row_stops_publishing(void **state) {
  fixture *f = *state;
  make_topics(f);
  db_error e;
  if (db_exec(f->conn,
              "INSERT INTO outbox (event_id, topic, msg_key, event_type, payload, occurred_at) "
              "VALUES ('01a00000-0000-7000-8000-0000000000bb', '', '', 'wallet.v1.OutboxBatch', "
              "'garbage', UTC_TIMESTAMP(6))",
              NULL, 0, NULL, &e) != 0) {
    fail_msg("insert: %s", e.message);
  }
  transfer_n(f, 3, NULL);
  outbox_relay *r = relay_new(f, test_kafka_brokers());
  int64_t deadline = time_mono_ms() + 5000;
  while (!outbox_relay_is_leader(r) && time_mono_ms() < deadline) time_sleep_ms(20);
  assert_true(outbox_relay_is_leader(r));
  time_sleep_ms(1500);
  assert_int_equal(query_i64(f->conn, "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL"), 4);
  assert_int_equal(outbox_relay_published(r), 0);
  if (db_exec(f->conn, "DELETE FROM outbox WHERE event_type = 'wallet.v1.OutboxBatch' AND "
                       "payload = 'garbage'", NULL, 0, NULL, &e) != 0) {
    fail_msg("delete: %s", e.message);
  }
  outbox_relay_notify(r);
  wait_pending_zero(f);
  wait_published(r, 6);
  outbox_relay_stop(r);
  assert_int_equal(consume_count(f, 6), 6);
}

/* A relay that commits keep notifying marks each pass's rows only after the next pass has
 * produced its own (the UPDATE overlaps the broker's round trip): those rows come back in
 * the next SELECT and must be skipped, not sent again, and all end up marked. */
/* The count of a histogram series in GET /metrics' text (0 when absent). */
static int64_t histogram_count(const char *name) {
  size_t len = 0;
  char *text = metrics_render(&len);
  assert_non_null(text);
  char key[128];
  snprintf(key, sizeof key, "\n%s_count ", name);
  const char *at = strstr(text, key);
  int64_t n = at != NULL ? strtoll(at + strlen(key), NULL, 10) : 0;
  free(text);
  return n;
}

static void test_busy_relay_publishes_each_event_once(void **state) {
  fixture *f = *state;
  make_topics(f);
  enum { N = 400 };
  outbox_relay *r = relay_new(f, test_kafka_brokers());
  int64_t deadline = time_mono_ms() + 5000;
  while (!outbox_relay_is_leader(r) && time_mono_ms() < deadline) time_sleep_ms(20);
  assert_true(outbox_relay_is_leader(r));
  int64_t lags = histogram_count("outbox_publish_lag_seconds");
  transfer_n(f, N, r);
  wait_pending_zero(f);
  wait_published(r, 2 * N);
  outbox_relay_stop(r);
  assert_int_equal(consume_count(f, 2 * N), 2 * N);
  /* Every delivered event timed once, from its occurred_at to its delivery report. */
  assert_int_equal(histogram_count("outbox_publish_lag_seconds") - lags, 2 * N);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_pending_rows_published_at_start, setup, teardown),
      cmocka_unit_test_setup_teardown(test_one_leader_of_two_and_takeover, setup, teardown),
      cmocka_unit_test_setup_teardown(test_kafka_unreachable_keeps_rows_pending, setup, teardown),
      cmocka_unit_test_setup_teardown(test_batch_rows_publish_every_record, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_batch_row_stops_publishing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_busy_relay_publishes_each_event_once, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
