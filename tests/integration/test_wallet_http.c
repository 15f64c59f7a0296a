/* test_wallet_http: wallet-core end to end in one process: the real HTTP server with the
 * real routes, a real MariaDB pool and the outbox relay against the real broker; every
 * endpoint's happy path and rejections through HTTP, idempotency, and the events on
 * Kafka (exactly one TransactionCreated and one BalanceUpdated per transaction). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "event_headers.h"
#include "http_client.h"
#include "http_server.h"
#include "kafka_admin.h"
#include "kafka_consumer.h"
#include "migrate.h"
#include "outbox_relay.h"
#include "wallet_api.h"
#include "test_env.h"
#include "timeutil.h"
#include "wallet_fixture.h"
#include "wallet/v1/events.pb-c.h"

#define A1 "a1000000-0000-4000-8000-000000000001"
#define A2 "a1000000-0000-4000-8000-000000000002"
#define A3 "a1000000-0000-4000-8000-000000000003"
#define A4 "a1000000-0000-4000-8000-000000000004"
#define C1 "c1000000-0000-4000-8000-000000000001"
#define WAIT_MS 30000

typedef struct fixture {
  db_config cfg;
  db_pool *pool;
  db_conn *conn; /* for checking rows */
  outbox_relay *relay;
  http_server *srv;
  uint16_t port;
  char topic_tx[64], topic_bal[64];
  wallet_app app;
} fixture;

static int64_t query_i64(db_conn *c, const char *sql) { return wallet_fixture_i64(c, sql); }

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  wallet_fixture_db_open("wallet_http", 8, &f->cfg, &f->pool, &f->conn);
  char err[512];

  test_unique_name("wtx", f->topic_tx, sizeof f->topic_tx);
  test_unique_name("wbal", f->topic_bal, sizeof f->topic_bal);
  wallet_fixture_topics(f->topic_tx, f->topic_bal);
  outbox_relay_config rc = {.db = f->cfg, .brokers = test_kafka_brokers()};
  f->relay = outbox_relay_start(&rc, err, sizeof err);
  if (f->relay == NULL) fail_msg("relay: %s", err);

  f->app = (wallet_app){.pool = f->pool, .relay = f->relay,
                        .topics = {f->topic_tx, f->topic_bal}};
  http_server_config hc = {.bind_address = "127.0.0.1", .port = 0, .app = &f->app};
  f->srv = http_server_start(&hc, wallet_routes, wallet_routes_count, err, sizeof err);
  if (f->srv == NULL) fail_msg("http: %s", err);
  f->port = http_server_port(f->srv);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  http_server_stop(f->srv);
  outbox_relay_stop(f->relay);
  wallet_fixture_db_close(f->pool, f->conn);
  free(f);
  return 0;
}

static void snapshot(db_conn *c, char *out, size_t len) {
  db_rows *r = NULL;
  db_error e;
  if (db_query(c,
               "SELECT CONCAT((SELECT GROUP_CONCAT(id, '=', balance, '/', version ORDER BY id) "
               "FROM accounts), '|', (SELECT COUNT(*) FROM clients), '|', "
               "(SELECT COUNT(*) FROM transactions), '|', (SELECT COUNT(*) FROM outbox), '|', "
               "(SELECT COUNT(*) FROM idempotency_keys))",
               NULL, 0, &r, &e) != 0) {
    fail_msg("%s", e.message);
  }
  snprintf(out, len, "%s", db_rows_str(r, 0, 0, NULL));
  db_rows_free(r);
}

/* Sends a request and checks the status; returns the response (caller frees). */
static http_client_resp call(fixture *f, const char *method, const char *target,
                             const char *headers, const char *body, int want_status) {
  http_client_resp r;
  if (http_client_request(f->port, method, target, headers, body, &r) != 0) {
    fail_msg("%s %s: no answer", method, target);
  }
  if (r.status != want_status) {
    fail_msg("%s %s %s: status %d, want %d; body %s", method, target, body ? body : "",
             r.status, want_status, r.body ? r.body : "");
  }
  return r;
}

static void expect_error(fixture *f, const char *method, const char *target,
                         const char *headers, const char *body, int status, int code,
                         const char *msg_part) {
  http_client_resp r = call(f, method, target, headers, body, status);
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(r.json, "code");
  const char *msg = http_client_json_str(&r, "message");
  if (!cJSON_IsNumber(c) || c->valueint != code || msg == NULL ||
      (msg_part != NULL && strstr(msg, msg_part) == NULL)) {
    fail_msg("%s %s %s: body %s, want code %d and a message containing \"%s\"", method,
             target, body ? body : "", r.body, code, msg_part ? msg_part : "");
  }
  http_client_resp_free(&r);
}

static void test_health_and_metrics(void **state) {
  fixture *f = *state;
  http_client_resp r = call(f, "GET", "/healthz", NULL, NULL, 200);
  assert_string_equal(http_client_json_str(&r, "status"), "ok");
  http_client_resp_free(&r);
  r = call(f, "GET", "/readyz", NULL, NULL, 200);
  assert_string_equal(http_client_json_str(&r, "status"), "ok");
  const cJSON *deps = cJSON_GetObjectItemCaseSensitive(r.json, "dependencies");
  assert_int_equal(cJSON_GetArraySize(deps), 2);
  for (int i = 0; i < 2; i++) {
    assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(deps, i), "ok")));
  }
  http_client_resp_free(&r);
  r = call(f, "GET", "/metrics", NULL, NULL, 200);
  assert_non_null(strstr(r.body, "outbox_pending"));
  http_client_resp_free(&r);
  expect_error(f, "GET", "/nope", NULL, NULL, 404, 5, NULL);
  expect_error(f, "DELETE", "/clients", NULL, NULL, 405, 12, NULL);
}

static void test_readyz_database_down(void **state) {
  fixture *f = *state;
  /* A pool pointed at a port where nothing listens: readiness must say the DB is down. */
  db_config bad = f->cfg;
  bad.port = 1;
  bad.connect_timeout_s = 1;
  char err[256];
  db_pool *dead = db_pool_new(&bad, err, sizeof err);
  assert_non_null(dead);
  db_pool *good = f->app.pool;
  f->app.pool = dead;
  expect_error(f, "GET", "/readyz", NULL, NULL, 503, 14, "database");
  expect_error(f, "GET", "/accounts/" A1, NULL, NULL, 503, 14, "database unavailable");
  f->app.pool = good;
  db_pool_free(dead);
}

static void test_clients(void **state) {
  fixture *f = *state;
  http_client_resp r = call(f, "POST", "/clients", NULL,
                            "{\"name\":\"Maria Souza\",\"email\":\"maria@example.com\"}", 201);
  const char *id = http_client_json_str(&r, "id");
  assert_non_null(id);
  assert_int_equal(strlen(id), 36);
  assert_string_equal(http_client_json_str(&r, "name"), "Maria Souza");
  assert_non_null(http_client_json_str(&r, "created_at"));
  char path[128];
  snprintf(path, sizeof path, "/clients/%s", id);
  http_client_resp g = call(f, "GET", path, NULL, NULL, 200);
  assert_string_equal(http_client_json_str(&g, "email"), "maria@example.com");
  assert_string_equal(http_client_json_str(&g, "created_at"), http_client_json_str(&r, "created_at"));
  http_client_resp_free(&g);
  http_client_resp_free(&r);

  char before[2048], after[2048];
  snapshot(f->conn, before, sizeof before);
  expect_error(f, "POST", "/clients", NULL, "{\"name\":\"\",\"email\":\"a@b.co\"}", 400, 3, "name");
  expect_error(f, "POST", "/clients", NULL, "{\"email\":\"a@b.co\"}", 400, 3, "name");
  expect_error(f, "POST", "/clients", NULL, "{\"name\":\"A\",\"email\":\"nope\"}", 400, 3, "email");
  expect_error(f, "POST", "/clients", NULL, "{\"name\":\"A\"}", 400, 3, "email");
  expect_error(f, "POST", "/clients", NULL, "{\"name\":5,\"email\":\"a@b.co\"}", 400, 3, "name");
  expect_error(f, "POST", "/clients", NULL, "{\"name\":\"A\",", 400, 3, NULL);
  char big[400];
  memset(big, 'n', 256);
  big[256] = '\0';
  char body[600];
  snprintf(body, sizeof body, "{\"name\":\"%s\",\"email\":\"a@b.co\"}", big);
  expect_error(f, "POST", "/clients", NULL, body, 400, 3, "255");
  snapshot(f->conn, after, sizeof after);
  assert_string_equal(before, after);

  expect_error(f, "GET", "/clients/c1000000-0000-4000-8000-000000000099", NULL, NULL, 404, 5,
               "not found");
  expect_error(f, "GET", "/clients/xyz", NULL, NULL, 400, 3, "UUID");

  /* Pages: 3 clients, 2 per page. */
  r = call(f, "GET", "/clients?page_size=2", NULL, NULL, 200);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "clients")), 2);
  const char *token = http_client_json_str(&r, "next_page_token");
  assert_non_null(token);
  assert_int_equal(strlen(token), 36);
  snprintf(path, sizeof path, "/clients?page_size=2&page_token=%s", token);
  http_client_resp_free(&r);
  r = call(f, "GET", path, NULL, NULL, 200);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "clients")), 1);
  assert_string_equal(http_client_json_str(&r, "next_page_token"), "");
  http_client_resp_free(&r);
  expect_error(f, "GET", "/clients?page_size=1001", NULL, NULL, 400, 3, "page_size");
  expect_error(f, "GET", "/clients?page_token=zzz", NULL, NULL, 400, 3, "page_token");
}

static void test_accounts(void **state) {
  fixture *f = *state;
  http_client_resp r = call(f, "POST", "/accounts", NULL, "{\"client_id\":\"" C1 "\"}", 201);
  assert_string_equal(http_client_json_str(&r, "client_id"), C1);
  assert_string_equal(http_client_json_str(&r, "balance"), "0");
  assert_string_equal(http_client_json_str(&r, "version"), "1");
  char path[128];
  snprintf(path, sizeof path, "/accounts/%s", http_client_json_str(&r, "id"));
  http_client_resp_free(&r);
  r = call(f, "GET", path, NULL, NULL, 200);
  assert_string_equal(http_client_json_str(&r, "balance"), "0");
  http_client_resp_free(&r);
  r = call(f, "GET", "/accounts/" A3, NULL, NULL, 200);
  assert_string_equal(http_client_json_str(&r, "balance"), "200000");
  assert_string_equal(http_client_json_str(&r, "version"), "1");
  http_client_resp_free(&r);
  r = call(f, "GET", "/accounts?page_size=3", NULL, NULL, 200);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(r.json, "accounts")), 3);
  assert_int_equal(strlen(http_client_json_str(&r, "next_page_token")), 36);
  http_client_resp_free(&r);

  char before[2048], after[2048];
  snapshot(f->conn, before, sizeof before);
  expect_error(f, "POST", "/accounts", NULL, "{\"client_id\":\"c1000000-0000-4000-8000-000000000077\"}",
               404, 5, "client");
  expect_error(f, "POST", "/accounts", NULL, "{\"client_id\":\"c1\"}", 400, 3, "client_id");
  expect_error(f, "POST", "/accounts", NULL, "{}", 400, 3, "client_id");
  expect_error(f, "POST", "/accounts", NULL, "[]", 400, 3, NULL);
  snapshot(f->conn, after, sizeof after);
  assert_string_equal(before, after);
  expect_error(f, "GET", "/accounts/a1000000-0000-4000-8000-000000000077", NULL, NULL, 404, 5,
               "not found");
}

static void test_transactions(void **state) {
  fixture *f = *state;
  http_client_resp r =
      call(f, "POST", "/transactions", NULL,
           "{\"account_id_from\":\"" A1 "\",\"account_id_to\":\"" A2 "\",\"amount\":\"2500\"}", 201);
  assert_string_equal(http_client_json_str(&r, "amount"), "2500");
  assert_string_equal(http_client_json_str(&r, "balance_account_id_from"), "97500");
  assert_string_equal(http_client_json_str(&r, "balance_account_id_to"), "52500");
  assert_string_equal(http_client_json_str(&r, "version_account_id_from"), "2");
  assert_string_equal(http_client_json_str(&r, "version_account_id_to"), "2");
  char path[128];
  snprintf(path, sizeof path, "/transactions/%s", http_client_json_str(&r, "id"));
  http_client_resp g = call(f, "GET", path, NULL, NULL, 200);
  assert_string_equal(g.body, r.body); /* the stored row answers the same body */
  http_client_resp_free(&g);
  http_client_resp_free(&r);
  /* camelCase names and a JSON number are accepted too. */
  r = call(f, "POST", "/transactions", NULL,
           "{\"accountIdFrom\":\"" A3 "\",\"accountIdTo\":\"" A4 "\",\"amount\":100}", 201);
  http_client_resp_free(&r);

  char before[2048], after[2048];
  snapshot(f->conn, before, sizeof before);
  const char *from_to = "\"account_id_from\":\"" A1 "\",\"account_id_to\":\"" A2 "\"";
  char body[512];
  static const struct {
    const char *amount;
    const char *msg;
  } amounts[] = {{"0", "positive"}, {"-1", "positive"}, {"\"-7\"", "positive"},
                 {"1.5", "amount"}, {"\"12x\"", "amount"}, {"\"abc\"", "amount"},
                 {"true", "amount"}, {"1e-3", "amount"}, {"99999999999999999999", "amount"}};
  for (size_t i = 0; i < sizeof amounts / sizeof amounts[0]; i++) {
    snprintf(body, sizeof body, "{%s,\"amount\":%s}", from_to, amounts[i].amount);
    expect_error(f, "POST", "/transactions", NULL, body, 400, 3, amounts[i].msg);
  }
  snprintf(body, sizeof body, "{%s}", from_to);
  expect_error(f, "POST", "/transactions", NULL, body, 400, 3, "amount");
  expect_error(f, "POST", "/transactions", NULL,
               "{\"account_id_from\":\"" A1 "\",\"account_id_to\":\"" A1 "\",\"amount\":1}", 400,
               3, "differ");
  expect_error(f, "POST", "/transactions", NULL,
               "{\"account_id_from\":\"" A1 "\",\"account_id_to\":\"x\",\"amount\":1}", 400, 3,
               "account_id_to");
  expect_error(f, "POST", "/transactions", NULL, "{\"account_id_to\":\"" A1 "\",\"amount\":1}",
               400, 3, "account_id_from");
  expect_error(f, "POST", "/transactions", NULL,
               "{\"account_id_from\":\"" A1
               "\",\"account_id_to\":\"a1000000-0000-4000-8000-000000000055\",\"amount\":1}",
               404, 5, "a1000000-0000-4000-8000-000000000055");
  expect_error(f, "POST", "/transactions", NULL,
               "{\"account_id_from\":\"" A4 "\",\"account_id_to\":\"" A1 "\",\"amount\":101}",
               400, 9, "insufficient funds");
  snprintf(body, sizeof body, "{%s,\"amount\":1,\"bogus\":1}", from_to);
  expect_error(f, "POST", "/transactions", NULL, body, 400, 3, "bogus");
  /* A body over the cap (64 KiB) is refused before parsing. */
  size_t big = 70 * 1024;
  char *huge = malloc(big + 1);
  assert_non_null(huge);
  memset(huge, ' ', big);
  huge[0] = '{';
  huge[big - 1] = '}';
  huge[big] = '\0';
  http_client_resp h;
  assert_int_equal(http_client_request(f->port, "POST", "/transactions", NULL, huge, &h), 0);
  assert_int_equal(h.status, 413);
  http_client_resp_free(&h);
  free(huge);
  snapshot(f->conn, after, sizeof after);
  assert_string_equal(before, after);

  expect_error(f, "GET", "/transactions/01a00000-0000-7000-8000-000000000000", NULL, NULL, 404,
               5, "not found");
  expect_error(f, "GET", "/transactions/123", NULL, NULL, 400, 3, "UUID");
}

static void test_idempotency_key(void **state) {
  fixture *f = *state;
  const char *body = "{\"account_id_from\":\"" A3 "\",\"account_id_to\":\"" A4 "\",\"amount\":700}";
  http_client_resp first = call(f, "POST", "/transactions", "Idempotency-Key: abc-123\r\n", body, 201);
  http_client_resp again = call(f, "POST", "/transactions", "Idempotency-Key: abc-123\r\n", body, 200);
  assert_string_equal(again.body, first.body);
  http_client_resp_free(&again);
  http_client_resp_free(&first);
  http_client_resp a4 = call(f, "GET", "/accounts/" A4, NULL, NULL, 200);
  assert_string_equal(http_client_json_str(&a4, "balance"), "700"); /* moved once */
  assert_string_equal(http_client_json_str(&a4, "version"), "2");
  http_client_resp_free(&a4);

  char before[2048], after[2048];
  snapshot(f->conn, before, sizeof before);
  expect_error(f, "POST", "/transactions", "Idempotency-Key: abc-123\r\n",
               "{\"account_id_from\":\"" A3 "\",\"account_id_to\":\"" A4 "\",\"amount\":701}", 409,
               10, "different request");
  char hdr[400] = "Idempotency-Key: ";
  memset(hdr + strlen(hdr), 'k', 256);
  strcat(hdr, "\r\n");
  expect_error(f, "POST", "/transactions", hdr, body, 400, 3, "Idempotency-Key");
  snapshot(f->conn, after, sizeof after);
  assert_string_equal(before, after);
}

/* --- events on Kafka --- */

typedef struct seen_event {
  char event_id[40];
  char type[64];
  char txid[40];
} seen_event;

static void check_headers(const rd_kafka_message_t *m, const char *event_id, const char *type) {
  rd_kafka_headers_t *h = NULL;
  assert_int_equal(rd_kafka_message_headers(m, &h), RD_KAFKA_RESP_ERR_NO_ERROR);
  char v[128];
  assert_int_equal(event_headers_get(h, "ce_id", v, sizeof v), 0);
  assert_string_equal(v, event_id);
  assert_int_equal(event_headers_get(h, "ce_type", v, sizeof v), 0);
  assert_string_equal(v, type);
  assert_int_equal(event_headers_get(h, "ce_source", v, sizeof v), 0);
  assert_string_equal(v, "wallet-core");
  assert_int_equal(event_headers_get(h, "content-type", v, sizeof v), 0);
  assert_string_equal(v, EVENT_CONTENT_TYPE);
  assert_int_equal(event_headers_get(h, "ce_time", v, sizeof v), 0);
  assert_int_equal(strlen(v), 24);
}

/* Reads both topics from the beginning until `want` records came (or the wait ends). */
static size_t consume_all(fixture *f, size_t want, seen_event *out, db_conn *conn) {
  char group[64], err[512];
  test_unique_name("g_wallet_http", group, sizeof group);
  const char *topics[] = {f->topic_tx, f->topic_bal};
  kafka_consumer *c = kafka_consumer_new(test_kafka_brokers(), group, topics, 2, NULL, err,
                                         sizeof err);
  if (c == NULL) fail_msg("consumer: %s", err);
  size_t n = 0;
  int64_t deadline = time_mono_ms() + WAIT_MS;
  while (n < want + 1 && time_mono_ms() < deadline) {
    /* Past `want`, wait a little longer for a duplicate that should not exist. */
    if (n == want) deadline = deadline < time_mono_ms() + 2000 ? deadline : time_mono_ms() + 2000;
    rd_kafka_message_t *m = kafka_consumer_poll(c, 200);
    if (m == NULL) continue;
    if (m->err) {
      rd_kafka_message_destroy(m);
      continue;
    }
    if (n >= want) fail_msg("more records than the %zu expected", want);
    seen_event *s = &out[n++];
    const char *topic = rd_kafka_topic_name(m->rkt);
    rd_kafka_headers_t *h = NULL;
    rd_kafka_message_headers(m, &h);
    assert_int_equal(event_headers_get(h, "ce_type", s->type, sizeof s->type), 0);
    const uint8_t *v = m->payload;
    char key[64] = "";
    snprintf(key, sizeof key, "%.*s", (int)m->key_len, (const char *)m->key);
    if (strcmp(s->type, "wallet.v1.TransactionCreated") == 0) {
      assert_string_equal(topic, f->topic_tx);
      Wallet__V1__TransactionCreated *e = wallet__v1__transaction_created__unpack(NULL, m->len, v);
      assert_non_null(e);
      snprintf(s->event_id, sizeof s->event_id, "%s", e->event_id);
      snprintf(s->txid, sizeof s->txid, "%s", e->transaction_id);
      assert_string_equal(key, e->account_id_from);
      /* Against the committed row. */
      db_rows *r = NULL;
      db_error de;
      const db_param p[] = {DB_P_STR(e->transaction_id)};
      assert_int_equal(db_query(conn, "SELECT account_id_from, account_id_to, amount FROM "
                                      "transactions WHERE id = ?", p, 1, &r, &de), 0);
      assert_int_equal(db_rows_count(r), 1);
      assert_string_equal(db_rows_str(r, 0, 0, NULL), e->account_id_from);
      assert_string_equal(db_rows_str(r, 0, 1, NULL), e->account_id_to);
      assert_int_equal(db_rows_i64(r, 0, 2), e->amount);
      db_rows_free(r);
      wallet__v1__transaction_created__free_unpacked(e, NULL);
    } else if (strcmp(s->type, "wallet.v1.BalanceUpdated") == 0) {
      assert_string_equal(topic, f->topic_bal);
      Wallet__V1__BalanceUpdated *e = wallet__v1__balance_updated__unpack(NULL, m->len, v);
      assert_non_null(e);
      snprintf(s->event_id, sizeof s->event_id, "%s", e->event_id);
      snprintf(s->txid, sizeof s->txid, "%s", e->transaction_id);
      assert_string_equal(key, e->account_id_from);
      db_rows *r = NULL;
      db_error de;
      const db_param p[] = {DB_P_STR(e->transaction_id)};
      assert_int_equal(db_query(conn, "SELECT balance_account_id_from, balance_account_id_to, "
                                      "version_account_id_from, version_account_id_to FROM "
                                      "transactions WHERE id = ?", p, 1, &r, &de), 0);
      assert_int_equal(db_rows_count(r), 1);
      assert_int_equal(db_rows_i64(r, 0, 0), e->balance_account_id_from);
      assert_int_equal(db_rows_i64(r, 0, 1), e->balance_account_id_to);
      assert_int_equal(db_rows_i64(r, 0, 2), e->version_account_id_from);
      assert_int_equal(db_rows_i64(r, 0, 3), e->version_account_id_to);
      db_rows_free(r);
      wallet__v1__balance_updated__free_unpacked(e, NULL);
    } else if (strcmp(s->type, "wallet.v1.AccountCreated") == 0) {
      assert_string_equal(topic, f->topic_bal);
      Wallet__V1__AccountCreated *e = wallet__v1__account_created__unpack(NULL, m->len, v);
      assert_non_null(e);
      snprintf(s->event_id, sizeof s->event_id, "%s", e->event_id);
      assert_string_equal(key, e->account_id);
      assert_int_equal(e->balance, 0);
      assert_int_equal(e->version, 1);
      wallet__v1__account_created__free_unpacked(e, NULL);
    } else {
      fail_msg("unexpected ce_type %s", s->type);
    }
    check_headers(m, s->event_id, s->type);
    rd_kafka_message_destroy(m);
  }
  kafka_consumer_close(c);
  return n;
}

static void wait_published(fixture *f) {
  int64_t deadline = time_mono_ms() + WAIT_MS;
  while (query_i64(f->conn, "SELECT COUNT(*) FROM outbox WHERE published_at IS NULL") > 0) {
    if (time_mono_ms() > deadline) fail_msg("outbox rows still pending after %d ms", WAIT_MS);
    time_sleep_ms(50);
  }
}

static void test_events_reach_kafka_once(void **state) {
  fixture *f = *state;
  /* Some of everything: an account, transfers (one replayed), rejections. */
  http_client_resp r = call(f, "POST", "/accounts", NULL, "{\"client_id\":\"" C1 "\"}", 201);
  http_client_resp_free(&r);
  const char *pairs[][2] = {{A1, A2}, {A2, A1}, {A3, A4}, {A4, A3}, {A1, A4}, {A3, A2}};
  int committed = 0;
  for (int i = 0; i < 30; i++) {
    char body[256];
    snprintf(body, sizeof body,
             "{\"account_id_from\":\"%s\",\"account_id_to\":\"%s\",\"amount\":%d}",
             pairs[i % 6][0], pairs[i % 6][1], 100 - i);
    r = call(f, "POST", "/transactions", i == 3 ? "Idempotency-Key: ev-3\r\n" : NULL, body, 201);
    http_client_resp_free(&r);
    committed++;
    if (i == 3) {
      r = call(f, "POST", "/transactions", "Idempotency-Key: ev-3\r\n", body, 200);
      http_client_resp_free(&r);
    }
  }
  expect_error(f, "POST", "/transactions", NULL,
               "{\"account_id_from\":\"" A4 "\",\"account_id_to\":\"" A1 "\",\"amount\":999999}",
               400, 9, "insufficient");

  /* Publishing starts within milliseconds of the commit, not at a poll tick. */
  wait_published(f);
  assert_int_equal(query_i64(f->conn, "SELECT COUNT(*) FROM transactions"), committed);
  size_t want = (size_t)committed * 2 + 1;
  assert_int_equal(wallet_fixture_outbox_events(f->conn, NULL), (int64_t)want);
  seen_event *ev = calloc(want + 1, sizeof *ev);
  assert_non_null(ev);
  size_t n = consume_all(f, want, ev, f->conn);
  assert_int_equal(n, want);
  /* Exactly once by event id, and one of each type per transaction. */
  for (size_t i = 0; i < n; i++) {
    for (size_t j = i + 1; j < n; j++) {
      if (strcmp(ev[i].event_id, ev[j].event_id) == 0) fail_msg("event %s twice", ev[i].event_id);
    }
  }
  db_rows *rows = NULL;
  db_error de;
  assert_int_equal(db_query(f->conn, "SELECT id FROM transactions", NULL, 0, &rows, &de), 0);
  for (size_t t = 0; t < db_rows_count(rows); t++) {
    const char *txid = db_rows_str(rows, t, 0, NULL);
    int tc = 0, bu = 0;
    for (size_t i = 0; i < n; i++) {
      if (strcmp(ev[i].txid, txid) != 0) continue;
      tc += strcmp(ev[i].type, "wallet.v1.TransactionCreated") == 0;
      bu += strcmp(ev[i].type, "wallet.v1.BalanceUpdated") == 0;
    }
    if (tc != 1 || bu != 1) fail_msg("transaction %s: %d TransactionCreated, %d BalanceUpdated", txid, tc, bu);
  }
  db_rows_free(rows);
  free(ev);
  assert_int_equal(outbox_relay_published(f->relay), want);
  assert_true(outbox_relay_is_leader(f->relay));
}


/* The load: 32 concurrent clients, 2000 random transfers among 5 accounts. */
#define LOAD_CLIENTS 32
#define LOAD_TRANSFERS 2000

typedef struct load_worker {
  fixture *f;
  const char *const *ids;
  unsigned seed;
  int n, created, rejected, server_errors, other;
  char first_problem[300];
} load_worker;

static void *load_main(void *arg) {
  load_worker *w = arg;
  for (int i = 0; i < w->n; i++) {
    int a = rand_r(&w->seed) % 5, b = rand_r(&w->seed) % 4;
    if (b >= a) b++;
    char body[256];
    snprintf(body, sizeof body,
             "{\"account_id_from\":\"%s\",\"account_id_to\":\"%s\",\"amount\":%d}", w->ids[a],
             w->ids[b], 1 + rand_r(&w->seed) % 40000);
    http_client_resp r;
    int rc = http_client_request(w->f->port, "POST", "/transactions", NULL, body, &r);
    if (rc == 0 && r.status == 201) {
      w->created++;
    } else if (rc == 0 && r.status == 400 && strstr(r.body, "insufficient funds") != NULL) {
      w->rejected++;
    } else {
      if (rc == 0 && r.status >= 500) w->server_errors++;
      else w->other++;
      if (w->first_problem[0] == '\0') {
        snprintf(w->first_problem, sizeof w->first_problem, "status %d: %.200s", r.status,
                 r.body ? r.body : "(no answer)");
      }
    }
    http_client_resp_free(&r);
  }
  return NULL;
}

static int by_event_id(const void *a, const void *b) {
  return strcmp(((const seen_event *)a)->event_id, ((const seen_event *)b)->event_id);
}

static int by_type_txid(const void *a, const void *b) {
  const seen_event *x = a, *y = b;
  int c = strcmp(x->type, y->type);
  return c != 0 ? c : strcmp(x->txid, y->txid);
}

static void test_concurrent_load_events_exactly_once(void **state) {
  fixture *f = *state;
  http_client_resp r = call(f, "POST", "/accounts", NULL, "{\"client_id\":\"" C1 "\"}", 201);
  char a5[40];
  snprintf(a5, sizeof a5, "%s", http_client_json_str(&r, "id"));
  http_client_resp_free(&r);
  const char *ids[5] = {A1, A2, A3, A4, a5};
  int64_t total = query_i64(f->conn, "SELECT SUM(balance) FROM accounts");

  load_worker w[LOAD_CLIENTS];
  pthread_t th[LOAD_CLIENTS];
  int64_t t0 = time_mono_ms();
  for (int i = 0; i < LOAD_CLIENTS; i++) {
    w[i] = (load_worker){.f = f, .ids = ids, .seed = 7u * (unsigned)i + 1u,
                         .n = LOAD_TRANSFERS / LOAD_CLIENTS + (i < LOAD_TRANSFERS % LOAD_CLIENTS)};
    assert_int_equal(pthread_create(&th[i], NULL, load_main, &w[i]), 0);
  }
  int created = 0, rejected = 0;
  for (int i = 0; i < LOAD_CLIENTS; i++) {
    pthread_join(th[i], NULL);
    if (w[i].server_errors || w[i].other) {
      fail_msg("client %d: %d 5xx, %d unexpected; first: %s", i, w[i].server_errors,
               w[i].other, w[i].first_problem);
    }
    created += w[i].created;
    rejected += w[i].rejected;
  }
  int64_t ms = time_mono_ms() - t0;
  print_message("load: %d created, %d rejected (insufficient funds) in %lld ms: %.0f req/s "
                "(sanitizer build)\n", created, rejected, (long long)ms,
                ms > 0 ? 1000.0 * (created + rejected) / (double)ms : 0.0);
  assert_int_equal(created + rejected, LOAD_TRANSFERS);
  assert_int_equal(query_i64(f->conn, "SELECT SUM(balance) FROM accounts"), total);
  assert_int_equal(query_i64(f->conn, "SELECT COUNT(*) FROM accounts WHERE balance < 0"), 0);
  assert_int_equal(query_i64(f->conn, "SELECT COUNT(*) FROM transactions"), created);

  wait_published(f);
  size_t want = (size_t)created * 2 + 1;
  seen_event *ev = calloc(want + 1, sizeof *ev);
  assert_non_null(ev);
  size_t n = consume_all(f, want, ev, f->conn);
  assert_int_equal(n, want);
  /* Exactly once by event id: sort the ids and look for neighbours that are equal. */
  qsort(ev, n, sizeof *ev, by_event_id);
  for (size_t i = 1; i < n; i++) {
    if (strcmp(ev[i - 1].event_id, ev[i].event_id) == 0) fail_msg("event %s twice", ev[i].event_id);
  }
  /* No (type, transaction) twice; with the counts below, that is one of each per
   * transaction (consume_all checked each one's transaction row exists). */
  qsort(ev, n, sizeof *ev, by_type_txid);
  for (size_t i = 1; i < n; i++) {
    if (ev[i].txid[0] != '\0' && by_type_txid(&ev[i - 1], &ev[i]) == 0) {
      fail_msg("%s for transaction %s twice", ev[i].type, ev[i].txid);
    }
  }
  size_t tc = 0, bu = 0;
  for (size_t i = 0; i < n; i++) {
    tc += strcmp(ev[i].type, "wallet.v1.TransactionCreated") == 0;
    bu += strcmp(ev[i].type, "wallet.v1.BalanceUpdated") == 0;
  }
  assert_int_equal(tc, created);
  assert_int_equal(bu, created);
  free(ev);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_health_and_metrics, setup, teardown),
      cmocka_unit_test_setup_teardown(test_readyz_database_down, setup, teardown),
      cmocka_unit_test_setup_teardown(test_clients, setup, teardown),
      cmocka_unit_test_setup_teardown(test_accounts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_idempotency_key, setup, teardown),
      cmocka_unit_test_setup_teardown(test_events_reach_kafka_once, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_load_events_exactly_once, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
