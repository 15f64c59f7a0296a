/* test_wallet_batcher: group commit of transfers (transfer_batcher) against a real MariaDB:
 * many requests in one DB transaction with a failing one in the middle, one
 * Idempotency-Key twice in one batch and again across batches, a full queue and a wait
 * that runs out (503), stop answering everything queued, and HTTP load through the
 * batcher keeping every invariant. Pausing the batcher lets requests pile up into one
 * known group; a second connection holding an account lock keeps a group running. */
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
#include "http_client.h"
#include "http_server.h"
#include "metrics.h"
#include "migrate.h"
#include "wallet_api.h"
#include "test_env.h"
#include "timeutil.h"
#include "transfer_batcher.h"
#include "wallet_fixture.h"

#define A1 "a1000000-0000-4000-8000-000000000001"
#define A2 "a1000000-0000-4000-8000-000000000002"
#define A3 "a1000000-0000-4000-8000-000000000003"
#define A4 "a1000000-0000-4000-8000-000000000004"
#define SEED_TOTAL 350000
#define MAXREQ 64

typedef struct fixture {
  db_config cfg;
  db_pool *pool;
  db_conn *conn;   /* checks */
  db_conn *holder; /* holds an account lock to keep the batcher busy */
  transfer_batcher *b;
} fixture;

static int64_t query_i64(db_conn *c, const char *sql) { return wallet_fixture_i64(c, sql); }

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  wallet_fixture_db_open("wallet_batch", 8, &f->cfg, &f->pool, &f->conn);
  db_error e;
  f->holder = db_pool_acquire(f->pool, 5000, &e);
  assert_non_null(f->holder);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  transfer_batcher_stop(f->b);
  db_pool_release(f->pool, f->holder);
  wallet_fixture_db_close(f->pool, f->conn);
  free(f);
  return 0;
}

static void start(fixture *f, int threads, int queue_max, int wait_ms) {
  transfer_batcher_config bc = {.pool = f->pool, .topics = events_default_topics,
                                .threads = threads, .queue_max = queue_max, .wait_ms = wait_ms};
  char err[256];
  f->b = transfer_batcher_start(&bc, err, sizeof err);
  if (f->b == NULL) fail_msg("batcher: %s", err);
}

/* Every transfer bumps both accounts' versions by one, money is conserved, and each
 * transaction has its two outbox events (a group writes them into one batch row). */
static void check_invariants(db_conn *c) {
  assert_int_equal(query_i64(c, "SELECT SUM(balance) FROM accounts"), SEED_TOTAL);
  assert_int_equal(query_i64(c, "SELECT COUNT(*) FROM accounts a WHERE a.version - 1 <> "
                                "(SELECT COUNT(*) FROM transactions t WHERE "
                                "t.account_id_from = a.id OR t.account_id_to = a.id)"),
                   0);
  assert_int_equal(wallet_fixture_outbox_events(c, NULL),
                   2 * query_i64(c, "SELECT COUNT(*) FROM transactions"));
}

/* Takes A1's row lock in an open transaction: the batcher's next group touching A1 waits. */
static void hold_lock(fixture *f) {
  db_error e;
  db_rows *r = NULL;
  assert_int_equal(db_begin(f->holder, &e), 0);
  if (db_query(f->holder, "SELECT balance FROM accounts WHERE id = '" A1 "' FOR UPDATE", NULL, 0,
               &r, &e) != 0) {
    fail_msg("lock: %s", e.message);
  }
  db_rows_free(r);
}

static void release_lock(fixture *f) {
  db_error e;
  assert_int_equal(db_commit(f->holder, &e), 0);
}

typedef struct job {
  fixture *f;
  transfer_request rq;
  transfer_result res;
  pthread_t th;
  int done;
} job;

static void *job_main(void *arg) {
  job *j = arg;
  transfer_batcher_submit(j->f->b, &j->rq, &j->res);
  __atomic_store_n(&j->done, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

static void wait_queued(fixture *f, size_t n) {
  int64_t deadline = time_mono_ms() + 10000;
  while (transfer_batcher_queued(f->b) != n) {
    if (time_mono_ms() > deadline) {
      fail_msg("queue holds %zu, want %zu", transfer_batcher_queued(f->b), n);
    }
    time_sleep_ms(2);
  }
}

/* Submits j from its own thread and waits until it is queued (so order is known). */
static void submit_async(fixture *f, job *j, size_t queued_after) {
  j->f = f;
  assert_int_equal(pthread_create(&j->th, NULL, job_main, j), 0);
  wait_queued(f, queued_after);
}

static int64_t batches(void) {
  return metrics_value(metrics_counter("transfer_batch_size_count", "", NULL));
}

/* A first request goes through alone; then the batcher is paused so that the next ones
 * queue up and are applied together as the second group once it resumes. */
static void block_batcher(fixture *f, job *first) {
  first->rq = (transfer_request){A1, A2, 1, NULL};
  first->f = f;
  job_main(first);
  transfer_batcher_pause(f->b, 1);
}

static void release(fixture *f) { transfer_batcher_pause(f->b, 0); }

static void test_one_batch_failing_middle(void **state) {
  fixture *f = *state;
  start(f, 1, 0, 0);
  job first = {0}, jobs[21];
  memset(jobs, 0, sizeof jobs);
  block_batcher(f, &first);
  int64_t b0 = batches();
  for (int i = 0; i < 21; i++) {
    jobs[i].rq = (transfer_request){i % 2 ? A3 : A2, i % 2 ? A4 : A3, 10, NULL};
    if (i == 10) jobs[i].rq = (transfer_request){A4, A1, 999999999, NULL}; /* no funds */
    submit_async(f, &jobs[i], (size_t)i + 1);
  }
  release(f);
  assert_int_equal(first.res.err.rc, WALLET_OK);
  for (int i = 0; i < 21; i++) {
    pthread_join(jobs[i].th, NULL);
    if (i == 10) {
      assert_int_equal(jobs[i].res.err.rc, WALLET_INSUFFICIENT_FUNDS);
      assert_non_null(strstr(jobs[i].res.err.msg, "insufficient funds"));
    } else if (jobs[i].res.err.rc != WALLET_OK) {
      fail_msg("job %d: %d %s", i, jobs[i].res.err.rc, jobs[i].res.err.msg);
    }
  }
  /* All 21 queued requests went in one group. */
  assert_int_equal(batches() - b0, 1);
  assert_int_equal(query_i64(f->conn, "SELECT COUNT(*) FROM transactions"), 21);
  /* Versions inside the group follow list order: A3 took part in all 20, A1 once. */
  assert_int_equal(query_i64(f->conn, "SELECT version FROM accounts WHERE id = '" A3 "'"), 21);
  assert_int_equal(query_i64(f->conn, "SELECT version FROM accounts WHERE id = '" A1 "'"), 2);
  assert_int_equal(jobs[19].res.tx.version_from, 20); /* A3 -> A4 */
  assert_int_equal(jobs[20].res.tx.version_to, 21);   /* A2 -> A3, the last one */
  check_invariants(f->conn);
}

static void test_same_key_in_one_batch_and_across(void **state) {
  fixture *f = *state;
  start(f, 1, 0, 0);
  job first = {0}, jobs[4];
  memset(jobs, 0, sizeof jobs);
  block_batcher(f, &first);
  int64_t b0 = batches();
  jobs[0].rq = (transfer_request){A3, A4, 500, "key-1"};
  jobs[1].rq = (transfer_request){A2, A4, 7, NULL};
  jobs[2].rq = (transfer_request){A3, A4, 500, "key-1"}; /* the same request again */
  jobs[3].rq = (transfer_request){A3, A4, 501, "key-1"}; /* same key, other body */
  for (int i = 0; i < 4; i++) submit_async(f, &jobs[i], (size_t)i + 1);
  release(f);
  for (int i = 0; i < 4; i++) pthread_join(jobs[i].th, NULL);
  assert_int_equal(batches() - b0, 1);
  assert_int_equal(jobs[0].res.err.rc, WALLET_OK);
  assert_int_equal(jobs[0].res.replayed, 0);
  assert_int_equal(jobs[1].res.err.rc, WALLET_OK);
  assert_int_equal(jobs[2].res.err.rc, WALLET_OK);
  assert_int_equal(jobs[2].res.replayed, 1);
  assert_string_equal(jobs[2].res.tx.id, jobs[0].res.tx.id);
  assert_int_equal(jobs[2].res.tx.balance_from, jobs[0].res.tx.balance_from);
  assert_int_equal(jobs[3].res.err.rc, WALLET_IDEMPOTENCY_MISMATCH);
  /* Money moved once for the key. */
  assert_int_equal(query_i64(f->conn, "SELECT balance FROM accounts WHERE id = '" A4 "'"), 507);
  assert_int_equal(query_i64(f->conn, "SELECT COUNT(*) FROM idempotency_keys"), 1);

  /* Across batches: a later group replays it. */
  job again = {.f = f, .rq = {A3, A4, 500, "key-1"}};
  job_main(&again);
  assert_int_equal(again.res.err.rc, WALLET_OK);
  assert_int_equal(again.res.replayed, 1);
  assert_string_equal(again.res.tx.id, jobs[0].res.tx.id);

  /* A rejected transfer does not keep its key, even inside a batch with a success. */
  job first2 = {0}, k2[2];
  memset(k2, 0, sizeof k2);
  block_batcher(f, &first2);
  k2[0].rq = (transfer_request){A4, A3, 100000000, "key-2"};
  k2[1].rq = (transfer_request){A4, A3, 1, "key-3"};
  submit_async(f, &k2[0], 1);
  submit_async(f, &k2[1], 2);
  release(f);
  pthread_join(k2[0].th, NULL);
  pthread_join(k2[1].th, NULL);
  assert_int_equal(k2[0].res.err.rc, WALLET_INSUFFICIENT_FUNDS);
  assert_int_equal(k2[1].res.err.rc, WALLET_OK);
  assert_int_equal(query_i64(f->conn, "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = "
                                      "'key-2'"),
                   0);
  assert_int_equal(query_i64(f->conn, "SELECT COUNT(*) FROM idempotency_keys WHERE idem_key = "
                                      "'key-3'"),
                   1);
  check_invariants(f->conn);
}

static void test_queue_full_and_timeout(void **state) {
  fixture *f = *state;
  start(f, 1, 2, 400);
  job first = {0}, q[2], over = {0};
  memset(q, 0, sizeof q);
  block_batcher(f, &first);
  assert_int_equal(first.res.err.rc, WALLET_OK);
  q[0].rq = (transfer_request){A3, A4, 5, NULL};
  q[1].rq = (transfer_request){A3, A4, 6, NULL};
  submit_async(f, &q[0], 1);
  submit_async(f, &q[1], 2);
  /* The queue is full: refused at once, not applied. */
  over.f = f;
  over.rq = (transfer_request){A3, A4, 7, NULL};
  int64_t t0 = time_mono_ms();
  job_main(&over);
  assert_true(time_mono_ms() - t0 < 200);
  assert_int_equal(over.res.err.rc, WALLET_UNAVAILABLE);
  assert_non_null(strstr(over.res.err.msg, "queued"));
  /* The queued ones wait 400 ms, then leave the queue unapplied. */
  pthread_join(q[0].th, NULL);
  pthread_join(q[1].th, NULL);
  assert_true(time_mono_ms() - t0 >= 350);
  assert_int_equal(q[0].res.err.rc, WALLET_UNAVAILABLE);
  assert_non_null(strstr(q[0].res.err.msg, "not applied"));
  assert_int_equal(q[1].res.err.rc, WALLET_UNAVAILABLE);
  assert_int_equal(transfer_batcher_queued(f->b), 0);
  release(f);

  /* A group already running when the wait ends: the answer is "outcome unknown", and the
   * group still commits once the lock it waits for goes. */
  hold_lock(f);
  job running = {.f = f, .rq = {A1, A2, 2, NULL}};
  job_main(&running);
  assert_int_equal(running.res.err.rc, WALLET_OUTCOME_UNKNOWN);
  assert_non_null(strstr(running.res.err.msg, "Idempotency-Key"));
  release_lock(f);
  int64_t deadline = time_mono_ms() + 10000;
  while (query_i64(f->conn, "SELECT COUNT(*) FROM transactions") < 2) {
    if (time_mono_ms() > deadline) fail_msg("the running group never committed");
    time_sleep_ms(20);
  }
  time_sleep_ms(100);
  assert_int_equal(query_i64(f->conn, "SELECT COUNT(*) FROM transactions"), 2);
  assert_int_equal(query_i64(f->conn, "SELECT COUNT(*) FROM transactions WHERE amount IN (5, 6, 7)"), 0);
  check_invariants(f->conn);
}

static void *stop_main(void *arg) {
  fixture *f = arg;
  transfer_batcher_stop(f->b);
  return NULL;
}

static void test_stop_drains_queue(void **state) {
  fixture *f = *state;
  start(f, 1, 0, 0);
  job first = {0}, jobs[10];
  memset(jobs, 0, sizeof jobs);
  block_batcher(f, &first);
  for (int i = 0; i < 10; i++) {
    jobs[i].rq = (transfer_request){A3, A2, 100 + i, NULL};
    submit_async(f, &jobs[i], (size_t)i + 1);
  }
  /* Still paused: stop alone must take and answer everything queued. */
  pthread_t stopper;
  assert_int_equal(pthread_create(&stopper, NULL, stop_main, f), 0);
  pthread_join(stopper, NULL);
  f->b = NULL;
  for (int i = 0; i < 10; i++) {
    pthread_join(jobs[i].th, NULL);
    assert_int_equal(jobs[i].res.err.rc, WALLET_OK);
  }
  assert_int_equal(query_i64(f->conn, "SELECT COUNT(*) FROM transactions"), 11);
  check_invariants(f->conn);
}

/* --- async submit: answered by a callback, no waiting thread --- */

typedef struct async_box {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int calls;
  transfer_result res;
} async_box;

static void async_box_init(async_box *b) {
  memset(b, 0, sizeof *b);
  pthread_mutex_init(&b->mu, NULL);
  pthread_cond_init(&b->cv, NULL);
}

static void async_done(void *arg, const transfer_result *r) {
  async_box *b = arg;
  pthread_mutex_lock(&b->mu);
  b->res = *r;
  b->calls++;
  pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
}

static int async_calls(async_box *b) {
  pthread_mutex_lock(&b->mu);
  int n = b->calls;
  pthread_mutex_unlock(&b->mu);
  return n;
}

static void async_wait(async_box *b) {
  int64_t deadline = time_mono_ms() + 10000;
  while (async_calls(b) == 0) {
    if (time_mono_ms() > deadline) fail_msg("no async answer in 10 s");
    time_sleep_ms(5);
  }
}

static void test_async_submit(void **state) {
  fixture *f = *state;
  start(f, 2, 0, 300);
  async_box ok, bad, late;
  async_box_init(&ok);
  async_box_init(&bad);
  async_box_init(&late);

  transfer_request rq = {A1, A2, 3, NULL};
  transfer_batcher_submit_async(f->b, &rq, async_done, &ok);
  async_wait(&ok);
  assert_int_equal(ok.res.err.rc, WALLET_OK);
  assert_int_equal(ok.res.tx.amount, 3);
  assert_int_equal(query_i64(f->conn, "SELECT COUNT(*) FROM transactions"), 1);

  /* Refused before queueing: answered at once, on the caller's thread. */
  transfer_request invalid = {"nope", A2, 3, NULL};
  transfer_batcher_submit_async(f->b, &invalid, async_done, &bad);
  assert_int_equal(async_calls(&bad), 1);
  assert_int_equal(bad.res.err.rc, WALLET_INVALID);

  /* Queued past wait_ms (nobody takes it while paused): refused unapplied when taken. */
  transfer_batcher_pause(f->b, 1);
  transfer_request rq2 = {A1, A2, 4, NULL};
  transfer_batcher_submit_async(f->b, &rq2, async_done, &late);
  time_sleep_ms(400);
  assert_int_equal(async_calls(&late), 0);
  transfer_batcher_pause(f->b, 0);
  async_wait(&late);
  assert_int_equal(late.res.err.rc, WALLET_UNAVAILABLE);
  assert_non_null(strstr(late.res.err.msg, "not applied"));
  time_sleep_ms(50);
  assert_int_equal(async_calls(&ok) + async_calls(&bad) + async_calls(&late), 3); /* once each */
  assert_int_equal(query_i64(f->conn, "SELECT COUNT(*) FROM transactions"), 1);
  check_invariants(f->conn);
}

/* --- HTTP through the batcher --- */

#define HTTP_CLIENTS 24
#define HTTP_EACH 25

typedef struct http_worker {
  uint16_t port;
  unsigned seed;
  int created, rejected, bad;
  char problem[256];
  pthread_t th;
} http_worker;

static void *http_main(void *arg) {
  http_worker *w = arg;
  const char *ids[] = {A1, A2, A3, A4};
  for (int i = 0; i < HTTP_EACH; i++) {
    int a = (int)(rand_r(&w->seed) % 4), b = (int)(rand_r(&w->seed) % 3);
    if (b >= a) b++;
    char body[256];
    snprintf(body, sizeof body,
             "{\"account_id_from\":\"%s\",\"account_id_to\":\"%s\",\"amount\":%u}", ids[a],
             ids[b], 1 + rand_r(&w->seed) % 20000);
    http_client_resp r;
    if (http_client_request(w->port, "POST", "/transactions", NULL, body, &r) != 0) r.status = 0;
    if (r.status == 201) w->created++;
    else if (r.status == 400) w->rejected++;
    else if (w->bad++ == 0) snprintf(w->problem, sizeof w->problem, "%d %s", r.status, r.body ? r.body : "");
    http_client_resp_free(&r);
  }
  return NULL;
}

typedef struct key_worker {
  uint16_t port;
  int status;
  char body[1024];
  pthread_t th;
} key_worker;

static void *key_main(void *arg) {
  key_worker *w = arg;
  http_client_resp r;
  if (http_client_request(w->port, "POST", "/transactions", "Idempotency-Key: same-key\r\n",
                          "{\"account_id_from\":\"" A3 "\",\"account_id_to\":\"" A4
                          "\",\"amount\":333}",
                          &r) == 0) {
    w->status = r.status;
    snprintf(w->body, sizeof w->body, "%s", r.body ? r.body : "");
  }
  http_client_resp_free(&r);
  return NULL;
}

static void test_http_load_through_batcher(void **state) {
  fixture *f = *state;
  start(f, 2, 0, 0);
  wallet_app app = {.pool = f->pool, .topics = events_default_topics, .batcher = f->b};
  /* The service's model: an event loop, transfers parked until their group commits. */
  http_server_config hc = {.bind_address = "127.0.0.1", .port = 0, .app = &app,
                           .io_threads = 2, .workers = 4};
  char err[256];
  http_server *srv = http_server_start(&hc, wallet_routes, wallet_routes_count, err, sizeof err);
  if (srv == NULL) fail_msg("http: %s", err);
  uint16_t port = http_server_port(srv);
  int64_t b0 = batches();

  http_worker w[HTTP_CLIENTS];
  memset(w, 0, sizeof w);
  for (int i = 0; i < HTTP_CLIENTS; i++) {
    w[i].port = port;
    w[i].seed = 31u * (unsigned)i + 5u;
    assert_int_equal(pthread_create(&w[i].th, NULL, http_main, &w[i]), 0);
  }
  int created = 0, rejected = 0;
  for (int i = 0; i < HTTP_CLIENTS; i++) {
    pthread_join(w[i].th, NULL);
    if (w[i].bad) fail_msg("client %d: %d unexpected answers; first %s", i, w[i].bad, w[i].problem);
    created += w[i].created;
    rejected += w[i].rejected;
  }
  int64_t groups = batches() - b0;
  print_message("batcher over HTTP: %d created, %d rejected in %lld groups\n", created,
                rejected, (long long)groups);
  assert_int_equal(created + rejected, HTTP_CLIENTS * HTTP_EACH);
  assert_true(groups < HTTP_CLIENTS * HTTP_EACH); /* some groups held several transfers */
  assert_int_equal(query_i64(f->conn, "SELECT COUNT(*) FROM transactions"), created);

  /* Eight concurrent requests with one key: one transfer, eight identical bodies. */
  key_worker k[8];
  memset(k, 0, sizeof k);
  for (int i = 0; i < 8; i++) {
    k[i].port = port;
    assert_int_equal(pthread_create(&k[i].th, NULL, key_main, &k[i]), 0);
  }
  int fresh = 0;
  for (int i = 0; i < 8; i++) {
    pthread_join(k[i].th, NULL);
    if (k[i].status == 201) fresh++;
    else if (k[i].status != 200 && k[i].status != 400) fail_msg("key: status %d %s", k[i].status, k[i].body);
    assert_string_equal(k[i].body, k[0].body);
  }
  assert_int_equal(fresh, 1);
  assert_int_equal(query_i64(f->conn, "SELECT COUNT(*) FROM transactions WHERE amount = 333"),
                   fresh);
  http_server_stop(srv);
  check_invariants(f->conn);
  char *m = metrics_render(NULL);
  assert_non_null(m);
  assert_non_null(strstr(m, "transfer_batch_size_bucket{le=\"+Inf\"}"));
  assert_non_null(strstr(m, "transfers_rejected_total{reason=\"insufficient_funds\"}"));
  free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_one_batch_failing_middle, setup, teardown),
      cmocka_unit_test_setup_teardown(test_same_key_in_one_batch_and_across, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queue_full_and_timeout, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stop_drains_queue, setup, teardown),
      cmocka_unit_test_setup_teardown(test_async_submit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_http_load_through_batcher, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
