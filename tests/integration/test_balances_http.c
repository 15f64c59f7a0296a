/* test_balances_http: GET /balances/{id} through the real HTTP server and routes, against
 * a real read model: shape, errors, and the bounded min_version wait. Every test runs
 * twice: answered from the table (READ_VIEW=off), and from a live in-memory view that
 * each write also reaches, as the view feed would deliver it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "apply_notify.h"
#include "balance_view.h"
#include "balances_handlers.h"
#include "http_server.h"
#include "migrate.h"
#include "read_model.h"
#include "balances_api.h"
#include "test_env.h"
#include "timeutil.h"
#include "uuid.h"

#define WAIT_BOUND_MS 1000 /* headroom for a loaded machine: the applies land at 150 ms */
#define SEED1 "a1000000-0000-4000-8000-000000000001"

typedef struct fixture {
  db_config db;
  db_pool *pool;
  apply_notify *notify;
  balance_reader *reader;
  balance_view *view; /* NULL in the table run */
  balances_app app;
  http_server *srv;
  uint16_t port;
} fixture;

static fixture fx;

static int setup_with(bool with_view) {
  memset(&fx, 0, sizeof fx);
  char dir[1024], err[512] = "";
  snprintf(dir, sizeof dir, "%s/migrations/balances", test_env_require("WALLET_SOURCE_DIR"));
  fx.db = test_db_fresh("bal_http");
  if (migrate_run(&fx.db, dir, NULL, err, sizeof err) != 0) fail_msg("migrate: %s", err);
  fx.pool = db_pool_new(&fx.db, err, sizeof err);
  assert_non_null(fx.pool);
  fx.notify = apply_notify_new();
  assert_non_null(fx.notify);
  if (with_view) {
    /* Loaded from the table, as the feed's snapshot does, then live. */
    fx.view = balance_view_new();
    assert_non_null(fx.view);
    db_error de = {0};
    db_conn *c = db_pool_acquire(fx.pool, 5000, &de);
    assert_non_null(c);
    rm_update *rows = NULL;
    size_t n = 0;
    if (rm_list(c, &rows, &n, &de) != 0) fail_msg("rm_list: %s", de.message);
    db_pool_release(fx.pool, c);
    assert_true(n > 0);
    assert_int_equal(balance_view_apply(fx.view, rows, n), (long)n);
    free(rows);
    balance_view_set_live(fx.view, true);
  }
  balance_reader_config rc = {.pool = fx.pool, .notify = fx.notify};
  fx.reader = balance_reader_start(&rc, err, sizeof err);
  if (fx.reader == NULL) fail_msg("balance_reader_start: %s", err);
  fx.app = (balances_app){.pool = fx.pool,
                          .reader = fx.reader,
                          .view = fx.view,
                          .projector = NULL,
                          .min_version_wait_ms = WAIT_BOUND_MS};
  /* The event-loop model, as the service runs it. */
  http_server_config hc = {.bind_address = "127.0.0.1", .port = 0, .app = &fx.app,
                           .io_threads = 2};
  fx.srv = http_server_start(&hc, balances_routes, balances_routes_count, err, sizeof err);
  if (fx.srv == NULL) fail_msg("http_server_start: %s", err);
  fx.port = http_server_port(fx.srv);
  return 0;
}

static int setup_table(void **state) { return setup_with(false); }
static int setup_view(void **state) { return setup_with(true); }

static int teardown(void **state) {
  http_server_stop(fx.srv);
  balance_reader_stop(fx.reader);
  db_pool_free(fx.pool);
  apply_notify_free(fx.notify);
  balance_view_free(fx.view);
  return 0;
}

/* ---- a minimal HTTP/1.1 GET client (Connection: close) ---------------------------- */

typedef struct response {
  int status;
  char headers[2048];
  char body[4096];
  cJSON *json;
} response;

static void http_get(const char *path, response *r) {
  memset(r, 0, sizeof *r);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(fx.port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  char req[1024];
  int len = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
  assert_int_equal(write(fd, req, (size_t)len), len);
  char buf[8192];
  size_t got = 0;
  ssize_t k;
  while (got < sizeof buf - 1 && (k = read(fd, buf + got, sizeof buf - 1 - got)) > 0) {
    got += (size_t)k;
  }
  close(fd);
  buf[got] = '\0';
  assert_int_equal(sscanf(buf, "HTTP/1.1 %d", &r->status), 1);
  char *sep = strstr(buf, "\r\n\r\n");
  assert_non_null(sep);
  snprintf(r->headers, sizeof r->headers, "%.*s", (int)(sep - buf), buf);
  snprintf(r->body, sizeof r->body, "%s", sep + 4);
  r->json = cJSON_Parse(r->body);
}

static void response_free(response *r) { cJSON_Delete(r->json); }

static const char *jstr(const response *r, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->json, name);
  if (!cJSON_IsString(v)) fail_msg("field %s is not a string in %s", name, r->body);
  return v->valuestring;
}

static int has_header(const response *r, const char *line) {
  return strcasestr(r->headers, line) != NULL;
}

/* ---- helpers on the read model ------------------------------------------------------ */

static void apply(const char *id, int64_t balance, int64_t version, bool notify) {
  rm_update u = {.balance = balance, .version = version, .updated_at_us = time_now_us()};
  snprintf(u.account_id, sizeof u.account_id, "%s", id);
  db_error e = {0};
  if (rm_apply_tx(fx.pool, &u, 1, RM_HISTORY, &e) != 0) fail_msg("apply: %s", e.message);
  if (fx.view != NULL) balance_view_apply(fx.view, &u, 1);
  if (notify) apply_notify_broadcast(fx.notify);
}

typedef struct later {
  char id[UUID_STR_LEN];
  int64_t balance, version;
  int delay_ms;
  bool notify;
} later;

static void *apply_later(void *arg) {
  later *l = arg;
  time_sleep_ms(l->delay_ms);
  apply(l->id, l->balance, l->version, l->notify);
  return NULL;
}

/* ---- tests ---------------------------------------------------------------------------- */

static void test_shape(void **state) {
  response r;
  http_get("/balances/" SEED1, &r);
  assert_int_equal(r.status, 200);
  assert_non_null(r.json);
  assert_string_equal(jstr(&r, "account_id"), SEED1);
  assert_string_equal(jstr(&r, "balance"), "100000"); /* int64 as a JSON string */
  assert_string_equal(jstr(&r, "version"), "1");
  assert_string_equal(jstr(&r, "updated_at"), "2026-01-01T00:00:00Z");
  assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r.json, "stale")));
  assert_false(has_header(&r, "X-Read-Model-Stale"));
  response_free(&r);

  /* Upper-case ids are the same account. */
  http_get("/balances/A1000000-0000-4000-8000-000000000001", &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(jstr(&r, "account_id"), SEED1);
  response_free(&r);
}

static void test_errors(void **state) {
  response r;
  http_get("/balances/a1000000-0000-4000-8000-00000000ffff", &r);
  assert_int_equal(r.status, 404);
  assert_int_equal(cJSON_GetObjectItemCaseSensitive(r.json, "code")->valueint, 5);
  assert_non_null(strstr(jstr(&r, "message"), "no balance for account"));
  assert_true(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(r.json, "details")));
  response_free(&r);

  static const char *const bad[] = {
      "/balances/not-a-uuid",
      "/balances/a1000000-0000-4000-8000-00000000000",
      "/balances/a1000000-0000-4000-8000-000000000001x",
      "/balances/a1000000%2D0000-4000-8000-00000000000g",
      "/balances/" SEED1 "?min_version=-1",
      "/balances/" SEED1 "?min_version=abc",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    http_get(bad[i], &r);
    if (r.status != 400) fail_msg("%s: status %d, body %s", bad[i], r.status, r.body);
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(r.json, "code")->valueint, 3);
    response_free(&r);
  }
}

static void test_min_version_already_reached(void **state) {
  response r;
  int64_t t0 = time_mono_ms();
  http_get("/balances/" SEED1 "?min_version=1", &r);
  assert_true(time_mono_ms() - t0 < WAIT_BOUND_MS / 2);
  assert_int_equal(r.status, 200);
  assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r.json, "stale")));
  response_free(&r);
}

static void wait_case(bool notify) {
  later l = {.balance = 4242, .version = 5, .delay_ms = 150, .notify = notify};
  uuid_v7(l.id);
  apply(l.id, 1, 2, false);
  char path[128];
  snprintf(path, sizeof path, "/balances/%s?min_version=5", l.id);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, apply_later, &l), 0);
  int64_t t0 = time_mono_ms();
  response r;
  http_get(path, &r);
  int64_t took = time_mono_ms() - t0;
  pthread_join(th, NULL);
  assert_int_equal(r.status, 200);
  assert_string_equal(jstr(&r, "balance"), "4242");
  assert_string_equal(jstr(&r, "version"), "5");
  assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r.json, "stale")));
  assert_false(has_header(&r, "X-Read-Model-Stale"));
  assert_true(took >= 140);
  assert_true(took < WAIT_BOUND_MS);
  response_free(&r);
}

/* Woken by the local projector's broadcast. */
static void test_min_version_reached_during_wait(void **state) { wait_case(true); }

/* Applied by "another instance" (no broadcast here): the periodic re-read finds it. */
static void test_min_version_reached_elsewhere(void **state) { wait_case(false); }

static void test_min_version_never_reached(void **state) {
  response r;
  int64_t t0 = time_mono_ms();
  http_get("/balances/" SEED1 "?min_version=2", &r);
  int64_t took = time_mono_ms() - t0;
  assert_int_equal(r.status, 200);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "stale")));
  assert_true(has_header(&r, "X-Read-Model-Stale: true"));
  assert_string_equal(jstr(&r, "version"), "1");
  assert_true(took >= WAIT_BOUND_MS - 5);
  assert_true(took < WAIT_BOUND_MS + 1000);
  response_free(&r);

  /* An account that never appears: 404 after the bound, not a stale 200. */
  t0 = time_mono_ms();
  http_get("/balances/a1000000-0000-4000-8000-0000000000ee?min_version=1", &r);
  assert_int_equal(r.status, 404);
  assert_true(time_mono_ms() - t0 >= WAIT_BOUND_MS - 5);
  response_free(&r);
}

/* An account created during the wait (AccountCreated arriving) is found. */
static void test_min_version_account_appears(void **state) {
  later l = {.balance = 77, .version = 1, .delay_ms = 100, .notify = true};
  uuid_v7(l.id);
  char path[128];
  snprintf(path, sizeof path, "/balances/%s?min_version=1", l.id);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, apply_later, &l), 0);
  response r;
  http_get(path, &r);
  pthread_join(th, NULL);
  assert_int_equal(r.status, 200);
  assert_string_equal(jstr(&r, "balance"), "77");
  response_free(&r);
}

/* ---- many lookups at once: grouped into shared SELECTs, each answered with its own row */

#define CONCURRENT 64

typedef struct lookup_job {
  char id[UUID_STR_LEN];
  int64_t want_balance; /* -1: the account does not exist */
  int64_t min_version;
  int status;           /* what came back */
  int64_t got_balance;
  int64_t took_ms;
} lookup_job;

/* No cmocka asserts off the main thread: record, then check after the join. */
static void *lookup_thread(void *arg) {
  lookup_job *j = arg;
  j->status = -1;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return NULL;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(fx.port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  char req[256], buf[4096];
  int len = snprintf(req, sizeof req,
                     "GET /balances/%s?min_version=%" PRId64
                     " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                     j->id, j->min_version);
  int64_t t0 = time_mono_ms();
  size_t got = 0;
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && write(fd, req, (size_t)len) == len) {
    ssize_t k;
    while (got < sizeof buf - 1 && (k = read(fd, buf + got, sizeof buf - 1 - got)) > 0)
      got += (size_t)k;
  }
  close(fd);
  j->took_ms = time_mono_ms() - t0;
  buf[got] = '\0';
  if (sscanf(buf, "HTTP/1.1 %d", &j->status) != 1) return NULL;
  char *sep = strstr(buf, "\r\n\r\n");
  cJSON *o = sep != NULL ? cJSON_Parse(sep + 4) : NULL;
  const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "balance");
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "account_id");
  j->got_balance = cJSON_IsString(b) ? strtoll(b->valuestring, NULL, 10) : -1;
  if (j->status == 200 && (!cJSON_IsString(a) || strcmp(a->valuestring, j->id) != 0))
    j->status = -2; /* someone else's row */
  cJSON_Delete(o);
  return NULL;
}

static void run_jobs(lookup_job *jobs, int n) {
  pthread_t th[CONCURRENT];
  for (int i = 0; i < n; i++) assert_int_equal(pthread_create(&th[i], NULL, lookup_thread, &jobs[i]), 0);
  for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
}

static void test_concurrent_lookups_get_their_own_rows(void **state) {
  static lookup_job jobs[CONCURRENT];
  memset(jobs, 0, sizeof jobs);
  for (int i = 0; i < CONCURRENT; i++) {
    uuid_v7(jobs[i].id);
    if (i % 8 == 7) {
      jobs[i].want_balance = -1; /* unknown: 404 in the same groups as the found ones */
    } else {
      jobs[i].want_balance = 1000 + i;
      apply(jobs[i].id, jobs[i].want_balance, 1, false);
    }
  }
  /* Two ids asked twice: duplicates inside one IN list still answer both. */
  memcpy(jobs[1].id, jobs[0].id, sizeof jobs[0].id);
  jobs[1].want_balance = jobs[0].want_balance;
  run_jobs(jobs, CONCURRENT);
  for (int i = 0; i < CONCURRENT; i++) {
    if (jobs[i].want_balance < 0) {
      assert_int_equal(jobs[i].status, 404);
    } else {
      assert_int_equal(jobs[i].status, 200);
      assert_int_equal(jobs[i].got_balance, jobs[i].want_balance);
    }
  }
}

/* Waiting lookups hold no thread: while half of them wait for a version that comes
 * late, the other half (already satisfied) are answered at once. */
static void test_waiters_do_not_hold_up_others(void **state) {
  static lookup_job jobs[CONCURRENT];
  memset(jobs, 0, sizeof jobs);
  for (int i = 0; i < CONCURRENT; i++) {
    uuid_v7(jobs[i].id);
    apply(jobs[i].id, 10, 1, false);
    jobs[i].want_balance = i % 2 == 0 ? 20 : 10;
    jobs[i].min_version = i % 2 == 0 ? 2 : 1;
  }
  later ls[CONCURRENT / 2];
  pthread_t th[CONCURRENT / 2];
  for (int i = 0; i < CONCURRENT / 2; i++) {
    ls[i] = (later){.balance = 20, .version = 2, .delay_ms = 150, .notify = true};
    memcpy(ls[i].id, jobs[2 * i].id, sizeof ls[i].id);
    assert_int_equal(pthread_create(&th[i], NULL, apply_later, &ls[i]), 0);
  }
  run_jobs(jobs, CONCURRENT);
  for (int i = 0; i < CONCURRENT / 2; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < CONCURRENT; i++) {
    assert_int_equal(jobs[i].status, 200);
    assert_int_equal(jobs[i].got_balance, jobs[i].want_balance);
    if (i % 2 == 1) assert_true(jobs[i].took_ms < 140);  /* not behind the waiters */
    /* A waiter's balance 20 already proves it waited for the late apply; its own clock
     * may start after that apply's (threads start late on a loaded machine). */
    else assert_true(jobs[i].took_ms < WAIT_BOUND_MS);
  }
}

/* GET path answers 200 with that balance (want NULL: 404). */
static void expect_balance(const char *path, const char *want) {
  response r;
  http_get(path, &r);
  if (want == NULL) {
    assert_int_equal(r.status, 404);
  } else {
    if (r.status != 200) fail_msg("%s: status %d, body %s", path, r.status, r.body);
    assert_string_equal(jstr(&r, "balance"), want);
  }
  response_free(&r);
}

/* Which source answers: the live view (no round trip), else the table. The two are
 * made to disagree on purpose, which the feed never lets last. */
static void test_source_of_answers(void **state) {
  char id[UUID_STR_LEN];
  uuid_v7(id);
  rm_update u = {.balance = 500, .version = 3, .updated_at_us = time_now_us()};
  snprintf(u.account_id, sizeof u.account_id, "%s", id);
  db_error e = {0};
  if (rm_apply_tx(fx.pool, &u, 1, 0, &e) != 0) fail_msg("apply: %s", e.message);
  char path[128], waiting[160];
  snprintf(path, sizeof path, "/balances/%s", id);
  snprintf(waiting, sizeof waiting, "%s?min_version=4", path);
  if (fx.view == NULL) {
    expect_balance(path, "500");
    return;
  }
  expect_balance(path, NULL); /* the view has not seen it: 404, though the table has it */
  u.balance = 600;
  u.version = 4;
  balance_view_apply(fx.view, &u, 1);
  expect_balance(path, "600");
  /* ?min_version reads your write in the table, which history and as_of read too: the
   * view having version 4 is not enough, so this one waits out its bound and answers the
   * table's version 3, stale. */
  response r;
  http_get(waiting, &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(jstr(&r, "balance"), "500");
  assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r.json, "stale")));
  response_free(&r);
  /* Not live (start-up, or the feed gave up): the table answers again. */
  balance_view_set_live(fx.view, false);
  expect_balance(path, "500");
  balance_view_set_live(fx.view, true);
}

static void test_health_ready_metrics(void **state) {
  response r;
  http_get("/healthz", &r);
  assert_int_equal(r.status, 200);
  assert_string_equal(jstr(&r, "status"), "ok");
  response_free(&r);
  /* No projector in this fixture: not ready, and it says why. */
  http_get("/readyz", &r);
  assert_int_equal(r.status, 503);
  assert_string_equal(jstr(&r, "status"), "unavailable");
  assert_non_null(strstr(r.body, "\"name\":\"database\",\"ok\":true"));
  assert_non_null(strstr(r.body, "projector not running"));
  response_free(&r);
  http_get("/metrics", &r);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "http_requests_total"));
  response_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_shape),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_min_version_already_reached),
      cmocka_unit_test(test_min_version_reached_during_wait),
      cmocka_unit_test(test_min_version_reached_elsewhere),
      cmocka_unit_test(test_min_version_never_reached),
      cmocka_unit_test(test_min_version_account_appears),
      cmocka_unit_test(test_concurrent_lookups_get_their_own_rows),
      cmocka_unit_test(test_waiters_do_not_hold_up_others),
      cmocka_unit_test(test_source_of_answers),
      cmocka_unit_test(test_health_ready_metrics),
  };
  int failed = cmocka_run_group_tests_name("from the table", tests, setup_table, teardown);
  failed += cmocka_run_group_tests_name("from the view", tests, setup_view, teardown);
  return failed;
}
