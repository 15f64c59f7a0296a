/* test_wallet_transfers: wallet-core's domain (clients, accounts, transfers, idempotency,
 * outbox rows) against a real MariaDB, one fresh migrated database per test. */
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

#include "accounts.h"
#include "clients.h"
#include "db.h"
#include "events.h"
#include "migrate.h"
#include "test_env.h"
#include "transfers.h"
#include "validate.h"
#include "wallet_fixture.h"
#include "wallet/v1/events.pb-c.h"

#define A1 "a1000000-0000-4000-8000-000000000001"
#define A2 "a1000000-0000-4000-8000-000000000002"
#define A3 "a1000000-0000-4000-8000-000000000003"
#define A4 "a1000000-0000-4000-8000-000000000004"
#define C1 "c1000000-0000-4000-8000-000000000001"
#define SEED_TOTAL 350000

typedef struct fixture {
  db_config cfg;
  db_pool *pool;
  db_conn *conn;
} fixture;

static int64_t query_i64(db_conn *c, const char *sql) { return wallet_fixture_i64(c, sql); }

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  assert_non_null(f);
  wallet_fixture_db_open("wallet_tr", 16, &f->cfg, &f->pool, &f->conn);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  wallet_fixture_db_close(f->pool, f->conn);
  free(f);
  return 0;
}

static void account_state(db_conn *c, const char *id, int64_t *balance, int64_t *version) {
  db_rows *r = NULL;
  db_error e;
  const db_param p[] = {DB_P_STR(id)};
  if (db_query(c, "SELECT balance, version FROM accounts WHERE id = ?", p, 1, &r, &e) != 0) {
    fail_msg("%s", e.message);
  }
  assert_int_equal(db_rows_count(r), 1);
  *balance = db_rows_i64(r, 0, 0);
  *version = db_rows_i64(r, 0, 1);
  db_rows_free(r);
}

static void assert_account(db_conn *c, const char *id, int64_t balance, int64_t version) {
  int64_t b, v;
  account_state(c, id, &b, &v);
  assert_int_equal(b, balance);
  assert_int_equal(v, version);
}

/* Everything a rejection must leave alone, as one comparable string. */
static void snapshot(db_conn *c, char *out, size_t len) {
  db_rows *r = NULL;
  db_error e;
  if (db_query(c,
               "SELECT CONCAT((SELECT GROUP_CONCAT(id, '=', balance, '/', version ORDER BY id) "
               "FROM accounts), '|', (SELECT COUNT(*) FROM transactions), '|', "
               "(SELECT COUNT(*) FROM outbox), '|', (SELECT COUNT(*) FROM idempotency_keys))",
               NULL, 0, &r, &e) != 0) {
    fail_msg("%s", e.message);
  }
  snprintf(out, len, "%s", db_rows_str(r, 0, 0, NULL));
  db_rows_free(r);
}

static int apply_one(db_conn *c, const char *from, const char *to, int64_t amount,
                     const char *key, transfer_result *res) {
  transfer_request rq = {from, to, amount, key};
  wallet_err fatal;
  int n = transfers_apply(c, &events_default_topics, &rq, res, 1, &fatal);
  if (n < 0) fail_msg("transfers_apply failed as a whole: %s", fatal.msg);
  return n;
}

static void test_seed_is_there(void **state) {
  fixture *f = *state;
  assert_int_equal(query_i64(f->conn, "SELECT SUM(balance) FROM accounts"), SEED_TOTAL);
  assert_int_equal(query_i64(f->conn, "SELECT COUNT(*) FROM clients"), 2);
  assert_int_equal(wallet_fixture_outbox_events(f->conn, NULL), 0);
  assert_account(f->conn, A3, 200000, 1);
}

static void test_transfer_happy_path(void **state) {
  fixture *f = *state;
  transfer_result res;
  /* Upper-case ids are accepted and normalised. */
  assert_int_equal(apply_one(f->conn, "A1000000-0000-4000-8000-000000000001", A4, 1234, NULL, &res), 1);
  assert_int_equal(res.err.rc, WALLET_OK);
  assert_int_equal(res.replayed, 0);
  assert_string_equal(res.tx.account_id_from, A1);
  assert_string_equal(res.tx.account_id_to, A4);
  assert_int_equal(res.tx.amount, 1234);
  assert_int_equal(res.tx.balance_from, 100000 - 1234);
  assert_int_equal(res.tx.balance_to, 1234);
  assert_int_equal(res.tx.version_from, 2);
  assert_int_equal(res.tx.version_to, 2);
  assert_account(f->conn, A1, 100000 - 1234, 2);
  assert_account(f->conn, A4, 1234, 2);

  /* The stored row reads back identically. */
  transaction_row t;
  wallet_err e;
  assert_int_equal(transfers_get(f->conn, res.tx.id, &t, &e), WALLET_OK);
  assert_memory_equal(&t, &res.tx, sizeof t);
  assert_int_equal(transfers_get(f->conn, "01a00000-0000-7000-8000-000000000000", &t, &e),
                   WALLET_NOT_FOUND);
  assert_int_equal(transfers_get(f->conn, "nope", &t, &e), WALLET_INVALID);

  /* Exactly two outbox events, decodable, with the transfer's facts, written as ONE
   * batch row (the relay produces its records in order). */
  assert_int_equal(wallet_fixture_i64(f->conn, "SELECT COUNT(*) FROM outbox"), 1);
  assert_int_equal(wallet_fixture_i64(f->conn, "SELECT COUNT(*) FROM outbox WHERE event_type = "
                                               "'wallet.v1.OutboxBatch' AND topic = ''"),
                   1);
  outbox_event *ev = NULL;
  assert_int_equal(wallet_fixture_outbox_list(f->conn, NULL, &ev), 2);
  assert_string_equal(ev[0].topic, "transactions");
  assert_string_equal(ev[0].key, A1);
  assert_string_equal(ev[0].type, "wallet.v1.TransactionCreated");
  Wallet__V1__TransactionCreated *tc =
      wallet__v1__transaction_created__unpack(NULL, ev[0].len, ev[0].payload);
  assert_non_null(tc);
  assert_string_equal(tc->event_id, ev[0].event_id);
  assert_string_equal(tc->transaction_id, res.tx.id);
  assert_int_equal(tc->amount, 1234);
  assert_non_null(tc->occurred_at);
  wallet__v1__transaction_created__free_unpacked(tc, NULL);

  assert_string_equal(ev[1].topic, "balances");
  assert_string_equal(ev[1].type, "wallet.v1.BalanceUpdated");
  Wallet__V1__BalanceUpdated *bu =
      wallet__v1__balance_updated__unpack(NULL, ev[1].len, ev[1].payload);
  assert_non_null(bu);
  assert_string_equal(bu->event_id, ev[1].event_id);
  assert_string_equal(bu->transaction_id, res.tx.id);
  assert_string_equal(bu->account_id_from, A1);
  assert_string_equal(bu->account_id_to, A4);
  assert_int_equal(bu->balance_account_id_from, 100000 - 1234);
  assert_int_equal(bu->balance_account_id_to, 1234);
  assert_int_equal(bu->version_account_id_from, 2);
  assert_int_equal(bu->version_account_id_to, 2);
  wallet__v1__balance_updated__free_unpacked(bu, NULL);
  wallet_fixture_outbox_free(ev, 2);
}

static void test_rejections_change_nothing(void **state) {
  fixture *f = *state;
  char before[2048], after[2048];
  snapshot(f->conn, before, sizeof before);
  static const struct {
    const char *from, *to;
    int64_t amount;
    const char *key;
    wallet_rc rc;
    const char *msg_part;
  } cases[] = {
      {A1, A2, 0, NULL, WALLET_INVALID, "positive"},
      {A1, A2, -5, NULL, WALLET_INVALID, "positive"},
      {A1, A1, 10, NULL, WALLET_INVALID, "differ"},
      {A1, "A1000000-0000-4000-8000-000000000001", 10, NULL, WALLET_INVALID, "differ"},
      {"not-a-uuid", A2, 10, NULL, WALLET_INVALID, "account_id_from"},
      {A1, "", 10, NULL, WALLET_INVALID, "account_id_to"},
      {A1, "a1000000-0000-4000-8000-00000000000g", 10, NULL, WALLET_INVALID, "not a UUID"},
      {A1, "a1000000-0000-4000-8000-000000000099", 10, NULL, WALLET_NOT_FOUND,
       "a1000000-0000-4000-8000-000000000099"},
      {"a1000000-0000-4000-8000-000000000098", A1, 10, NULL, WALLET_NOT_FOUND, "not found"},
      {A4, A1, 1, NULL, WALLET_INSUFFICIENT_FUNDS, "insufficient funds"},
      {A2, A1, 50001, "k-rejected", WALLET_INSUFFICIENT_FUNDS, "has balance 50000"},
      {A1, A2, 10, "", WALLET_INVALID, "Idempotency-Key"},
      {A1, A2, 10, "bad\x01key", WALLET_INVALID, "Idempotency-Key"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    transfer_result res;
    assert_int_equal(apply_one(f->conn, cases[i].from, cases[i].to, cases[i].amount,
                               cases[i].key, &res),
                     0);
    if (res.err.rc != cases[i].rc || strstr(res.err.msg, cases[i].msg_part) == NULL) {
      fail_msg("case %zu: got rc %d \"%s\", want rc %d containing \"%s\"", i, res.err.rc,
               res.err.msg, cases[i].rc, cases[i].msg_part);
    }
  }
  snapshot(f->conn, after, sizeof after);
  assert_string_equal(before, after);

  /* The rejected request's key was not kept: fixing the body and retrying works. */
  transfer_result res;
  assert_int_equal(apply_one(f->conn, A2, A1, 50000, "k-rejected", &res), 1);
  assert_int_equal(res.err.rc, WALLET_OK);
  assert_account(f->conn, A2, 0, 2);
}

static void test_list_middle_fails_neighbours_commit(void **state) {
  fixture *f = *state;
  transfer_request rq[] = {
      {A1, A2, 100, NULL},
      {A4, A1, 999999, NULL}, /* insufficient funds */
      {A2, A3, 50, NULL},
      {A1, "a1000000-0000-4000-8000-000000000077", 1, NULL}, /* unknown */
      {A4, A3, 60, NULL}, /* A4 got nothing yet: insufficient */
      {A3, A4, 70, NULL},
      {A4, A2, 70, NULL}, /* now A4 has exactly 70: applied in list order */
  };
  size_t n = sizeof rq / sizeof rq[0];
  transfer_result res[sizeof rq / sizeof rq[0]];
  wallet_err fatal;
  assert_int_equal(transfers_apply(f->conn, &events_default_topics, rq, res, n, &fatal), 4);
  assert_int_equal(res[0].err.rc, WALLET_OK);
  assert_int_equal(res[1].err.rc, WALLET_INSUFFICIENT_FUNDS);
  assert_int_equal(res[2].err.rc, WALLET_OK);
  assert_int_equal(res[3].err.rc, WALLET_NOT_FOUND);
  assert_int_equal(res[4].err.rc, WALLET_INSUFFICIENT_FUNDS);
  assert_int_equal(res[5].err.rc, WALLET_OK);
  assert_int_equal(res[6].err.rc, WALLET_OK);
  /* Versions count the transfers applied before each one within the list. */
  assert_int_equal(res[2].tx.version_from, 3); /* A2: +1 from item 0, +1 now */
  assert_int_equal(res[6].tx.version_from, 3); /* A4: item 5, then now */
  assert_int_equal(res[6].tx.balance_from, 0);
  assert_account(f->conn, A1, 100000 - 100, 2);
  assert_account(f->conn, A2, 50000 + 100 - 50 + 70, 4);
  assert_account(f->conn, A3, 200000 + 50 - 70, 3);
  assert_account(f->conn, A4, 0, 3);
  assert_int_equal(query_i64(f->conn, "SELECT COUNT(*) FROM transactions"), 4);
  assert_int_equal(wallet_fixture_outbox_events(f->conn, NULL), 8);
  assert_int_equal(query_i64(f->conn, "SELECT SUM(balance) FROM accounts"), SEED_TOTAL);
}

static void test_idempotency(void **state) {
  fixture *f = *state;
  transfer_result first, again, other;
  assert_int_equal(apply_one(f->conn, A3, A4, 500, "key-1", &first), 1);
  assert_int_equal(first.err.rc, WALLET_OK);
  assert_int_equal(apply_one(f->conn, A3, "A1000000-0000-4000-8000-000000000004", 500, "key-1",
                             &again),
                   0);
  assert_int_equal(again.err.rc, WALLET_OK);
  assert_int_equal(again.replayed, 1);
  assert_memory_equal(&again.tx, &first.tx, sizeof first.tx);
  assert_int_equal(apply_one(f->conn, A3, A4, 501, "key-1", &other), 0);
  assert_int_equal(other.err.rc, WALLET_IDEMPOTENCY_MISMATCH);
  assert_non_null(strstr(other.err.msg, "different request"));
  /* Keys are case-sensitive: another key is another request. */
  assert_int_equal(apply_one(f->conn, A3, A4, 500, "KEY-1", &other), 1);
  assert_account(f->conn, A4, 1000, 3);
  assert_int_equal(query_i64(f->conn, "SELECT COUNT(*) FROM transactions"), 2);

  /* The same key twice in one list: the second is answered as a replay of the first. */
  transfer_request rq[] = {{A3, A1, 7, "key-2"}, {A3, A1, 7, "key-2"}, {A3, A1, 8, "key-2"}};
  transfer_result res[3];
  wallet_err fatal;
  assert_int_equal(transfers_apply(f->conn, &events_default_topics, rq, res, 3, &fatal), 1);
  assert_int_equal(res[0].err.rc, WALLET_OK);
  assert_int_equal(res[1].err.rc, WALLET_OK);
  assert_int_equal(res[1].replayed, 1);
  assert_string_equal(res[1].tx.id, res[0].tx.id);
  assert_int_equal(res[2].err.rc, WALLET_IDEMPOTENCY_MISMATCH);
  assert_account(f->conn, A1, 100007, 2);
}

/* Concurrency: opposite transfers among 5 accounts from 8 threads. */
#define THREADS 8
#define PER_THREAD 250
#define NACC 5

typedef struct worker {
  fixture *f;
  const char *const *ids;
  unsigned seed;
  int applied, rejected, failed;
  int touches[NACC];
  char first_error[320];
} worker;

static void *worker_main(void *arg) {
  worker *w = arg;
  db_error e;
  db_conn *c = db_pool_acquire(w->f->pool, 10000, &e);
  if (c == NULL) {
    snprintf(w->first_error, sizeof w->first_error, "acquire: %s", e.message);
    w->failed = PER_THREAD;
    return NULL;
  }
  for (int i = 0; i < PER_THREAD; i++) {
    int a = rand_r(&w->seed) % NACC, b = rand_r(&w->seed) % (NACC - 1);
    if (b >= a) b++;
    int64_t amount = 1 + rand_r(&w->seed) % 30000;
    transfer_request rq = {w->ids[a], w->ids[b], amount, NULL};
    transfer_result res;
    wallet_err fatal;
    int n = transfers_apply(c, &events_default_topics, &rq, &res, 1, &fatal);
    if (n < 0) {
      if (w->failed++ == 0) snprintf(w->first_error, sizeof w->first_error, "%s", fatal.msg);
    } else if (n == 1) {
      w->applied++;
      w->touches[a]++;
      w->touches[b]++;
    } else if (res.err.rc == WALLET_INSUFFICIENT_FUNDS) {
      w->rejected++;
    } else {
      if (w->failed++ == 0) snprintf(w->first_error, sizeof w->first_error, "%s", res.err.msg);
    }
  }
  db_pool_release(w->f->pool, c);
  return NULL;
}

static void test_concurrent_opposite_transfers(void **state) {
  fixture *f = *state;
  /* A fifth account, opened through the domain (AccountCreated + version 1). */
  account_row a5;
  wallet_err e;
  assert_int_equal(accounts_create(f->conn, &events_default_topics, C1, &a5, &e), WALLET_OK);
  const char *ids[NACC] = {A1, A2, A3, A4, a5.id};
  int64_t start_version[NACC];
  int64_t total_before = query_i64(f->conn, "SELECT SUM(balance) FROM accounts");
  int64_t outbox_before = wallet_fixture_outbox_events(f->conn, NULL);
  for (int i = 0; i < NACC; i++) {
    int64_t b;
    account_state(f->conn, ids[i], &b, &start_version[i]);
  }

  worker w[THREADS];
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i] = (worker){.f = f, .ids = ids, .seed = 1000u + (unsigned)i};
    assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
  }
  int applied = 0, rejected = 0, touches[NACC] = {0};
  for (int i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    if (w[i].failed > 0) {
      fail_msg("thread %d: %d transfers failed as a whole, first: %s", i, w[i].failed,
               w[i].first_error);
    }
    applied += w[i].applied;
    rejected += w[i].rejected;
    for (int k = 0; k < NACC; k++) touches[k] += w[i].touches[k];
  }
  assert_int_equal(applied + rejected, THREADS * PER_THREAD);
  assert_true(applied > THREADS * PER_THREAD / 2);
  print_message("concurrent: %d applied, %d rejected for insufficient funds\n", applied,
                rejected);

  assert_int_equal(query_i64(f->conn, "SELECT SUM(balance) FROM accounts"), total_before);
  assert_int_equal(query_i64(f->conn, "SELECT COUNT(*) FROM accounts WHERE balance < 0"), 0);
  for (int k = 0; k < NACC; k++) {
    int64_t b, v;
    account_state(f->conn, ids[k], &b, &v);
    assert_true(b >= 0);
    if (v - start_version[k] != touches[k]) {
      fail_msg("account %s: version %" PRId64 " from %" PRId64 " but %d transfers touched it",
               ids[k], v, start_version[k], touches[k]);
    }
  }
  assert_int_equal(query_i64(f->conn, "SELECT COUNT(*) FROM transactions"), applied);
  assert_int_equal(wallet_fixture_outbox_events(f->conn, NULL) - outbox_before,
                   2 * applied);
  /* Each account's transaction rows, in version order, form an unbroken chain. */
  assert_int_equal(
      query_i64(f->conn,
                "SELECT COUNT(*) FROM (SELECT v, COUNT(*) c FROM ("
                " SELECT account_id_from a, version_account_id_from v FROM transactions UNION ALL"
                " SELECT account_id_to, version_account_id_to FROM transactions) x"
                " GROUP BY a, v HAVING c > 1) d"),
      0);
}

static void test_clients_and_accounts(void **state) {
  fixture *f = *state;
  client_row c;
  wallet_err e;
  assert_int_equal(clients_create(f->conn, "Zoë Ümlaut", "zoe@example.com", &c, &e), WALLET_OK);
  client_row got;
  assert_int_equal(clients_get(f->conn, c.id, &got, &e), WALLET_OK);
  assert_string_equal(got.name, "Zoë Ümlaut");
  assert_int_equal(got.created_us, c.created_us);
  assert_int_equal(clients_create(f->conn, "  ", "a@b.co", &c, &e), WALLET_INVALID);
  assert_int_equal(clients_create(f->conn, "X", "no-at.example.com", &c, &e), WALLET_INVALID);
  assert_int_equal(clients_get(f->conn, "c1000000-0000-4000-8000-000000000042", &got, &e),
                   WALLET_NOT_FOUND);

  account_row a;
  int64_t outbox = wallet_fixture_outbox_events(f->conn, NULL);
  assert_int_equal(accounts_create(f->conn, &events_default_topics, got.id, &a, &e), WALLET_OK);
  assert_int_equal(a.balance, 0);
  assert_int_equal(a.version, 1);
  assert_int_equal(wallet_fixture_outbox_events(f->conn, NULL), outbox + 1);
  assert_int_equal(accounts_create(f->conn, &events_default_topics,
                                   "c1000000-0000-4000-8000-000000000042", &a, &e),
                   WALLET_NOT_FOUND);
  assert_int_equal(wallet_fixture_outbox_events(f->conn, NULL), outbox + 1);

  /* Keyset pages cover every account once. */
  size_t seen = 0;
  char after[UUID_STR_LEN] = "";
  for (int page = 0; page < 10; page++) {
    account_row *rows;
    size_t n;
    int more;
    assert_int_equal(accounts_list(f->conn, after, 2, &rows, &n, &more, &e), WALLET_OK);
    seen += n;
    if (n > 0) memcpy(after, rows[n - 1].id, UUID_STR_LEN);
    free(rows);
    if (!more) break;
  }
  assert_int_equal(seen, 5);
}

static void test_validate(void **state) {
  (void)state;
  wallet_err e;
  assert_int_equal(validate_email("john@example.com", &e), WALLET_OK);
  assert_int_equal(validate_email("j.o+x@mail.example.co", &e), WALLET_OK);
  const char *bad[] = {"", "john", "@example.com", "john@", "john@example", "john@@x.com",
                       "jo hn@example.com", "john@exa mple.com", "john@-x.com", "john@x..com",
                       "john@x.com."};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (validate_email(bad[i], &e) != WALLET_INVALID) fail_msg("accepted \"%s\"", bad[i]);
  }
  char name[1100];
  memset(name, 'x', 255);
  name[255] = '\0';
  assert_int_equal(validate_name(name, &e), WALLET_OK);
  name[255] = 'x';
  name[256] = '\0';
  assert_int_equal(validate_name(name, &e), WALLET_INVALID);
  /* 255 two-byte characters are 255 characters, not 510. */
  for (int i = 0; i < 255; i++) memcpy(name + 2 * i, "\xc3\xa9", 2);
  name[510] = '\0';
  assert_int_equal(validate_name(name, &e), WALLET_OK);
  assert_int_equal(validate_name("\xff\xfe", &e), WALLET_INVALID);
  char key[300];
  memset(key, 'k', 256);
  key[256] = '\0';
  assert_int_equal(validate_idempotency_key(key, &e), WALLET_INVALID);
  key[255] = '\0';
  assert_int_equal(validate_idempotency_key(key, &e), WALLET_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_validate),
      cmocka_unit_test_setup_teardown(test_seed_is_there, setup, teardown),
      cmocka_unit_test_setup_teardown(test_transfer_happy_path, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rejections_change_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_list_middle_fails_neighbours_commit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_idempotency, setup, teardown),
      cmocka_unit_test_setup_teardown(test_clients_and_accounts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_concurrent_opposite_transfers, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
