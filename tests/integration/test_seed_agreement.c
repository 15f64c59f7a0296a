/* test_seed_agreement: wallet-core's and balances' seed migrations describe the same
 * accounts (ids, balances, versions, times), so the read model is right from the start. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "migrate.h"
#include "test_env.h"

#define MAX_ROWS 64

typedef struct seed_row {
  char id[40];
  int64_t balance, version;
  char updated_at[32];
} seed_row;

/* Migrates a fresh database from migrations/<service> and reads `sql` into rows. */
static size_t load(const char *service, const char *sql, seed_row *rows) {
  char dir[1024], err[512] = "", prefix[32];
  snprintf(dir, sizeof dir, "%s/migrations/%s", test_env_require("WALLET_SOURCE_DIR"),
           service);
  snprintf(prefix, sizeof prefix, "seed_%.12s", service);
  for (char *p = prefix; *p; p++) {
    if (*p == '-') *p = '_';
  }
  db_config cfg = test_db_fresh(prefix);
  int applied = 0;
  if (migrate_run(&cfg, dir, &applied, err, sizeof err) != 0) fail_msg("%s: %s", dir, err);
  assert_true(applied >= 2);
  db_pool *pool = db_pool_new(&cfg, err, sizeof err);
  assert_non_null(pool);
  db_error e = {0};
  db_conn *c = db_pool_acquire(pool, 5000, &e);
  assert_non_null(c);
  db_rows *r = NULL;
  if (db_query(c, sql, NULL, 0, &r, &e) != 0) fail_msg("%s: %s", sql, e.message);
  size_t n = db_rows_count(r);
  assert_true(n <= MAX_ROWS);
  for (size_t i = 0; i < n; i++) {
    snprintf(rows[i].id, sizeof rows[i].id, "%s", db_rows_str(r, i, 0, NULL));
    rows[i].balance = db_rows_i64(r, i, 1);
    rows[i].version = db_rows_i64(r, i, 2);
    snprintf(rows[i].updated_at, sizeof rows[i].updated_at, "%s", db_rows_str(r, i, 3, NULL));
  }
  db_rows_free(r);
  db_pool_release(pool, c);
  db_pool_free(pool);
  return n;
}

static void test_seeds_agree(void **state) {
  seed_row core[MAX_ROWS], bal[MAX_ROWS];
  size_t nc = load("wallet-core",
                   "SELECT id, balance, version, updated_at FROM accounts ORDER BY id", core);
  size_t nb = load("balances",
                   "SELECT account_id, balance, version, updated_at FROM balances"
                   " ORDER BY account_id",
                   bal);
  assert_int_equal(nc, 4);
  assert_int_equal(nb, nc);
  int64_t total = 0;
  for (size_t i = 0; i < nc; i++) {
    assert_string_equal(core[i].id, bal[i].id);
    if (core[i].balance != bal[i].balance || core[i].version != bal[i].version) {
      fail_msg("%s: wallet-core has %" PRId64 " v%" PRId64 ", balances has %" PRId64
               " v%" PRId64,
               core[i].id, core[i].balance, core[i].version, bal[i].balance, bal[i].version);
    }
    assert_string_equal(core[i].updated_at, bal[i].updated_at);
    assert_int_equal(bal[i].version, 1); /* events for them start at version 2 */
    total += bal[i].balance;
  }
  assert_int_equal(total, 350000);
  assert_string_equal(bal[0].id, "a1000000-0000-4000-8000-000000000001");
}

/* A crash after a seed's inserts but before the runner records the file makes the next
 * start run it again: that must succeed and leave the same rows. */
static void rerun_seed(const char *service, const char *count_sql) {
  char dir[1024], err[512] = "";
  snprintf(dir, sizeof dir, "%s/migrations/%s", test_env_require("WALLET_SOURCE_DIR"),
           service);
  db_config cfg = test_db_fresh("seed_rerun");
  if (migrate_run(&cfg, dir, NULL, err, sizeof err) != 0) fail_msg("%s: %s", dir, err);
  db_pool *pool = db_pool_new(&cfg, err, sizeof err);
  assert_non_null(pool);
  db_error e = {0};
  db_conn *c = db_pool_acquire(pool, 5000, &e);
  assert_non_null(c);
  uint64_t affected = 0;
  if (db_exec(c, "DELETE FROM schema_migrations WHERE version = 2", NULL, 0, &affected, &e) !=
      0) {
    fail_msg("%s", e.message);
  }
  assert_int_equal(affected, 1);
  int applied = 0;
  if (migrate_run(&cfg, dir, &applied, err, sizeof err) != 0) {
    fail_msg("re-running %s's seed: %s", service, err);
  }
  assert_int_equal(applied, 1);
  db_rows *r = NULL;
  if (db_query(c, count_sql, NULL, 0, &r, &e) != 0) fail_msg("%s", e.message);
  assert_int_equal(db_rows_i64(r, 0, 0), 4);
  assert_int_equal(db_rows_i64(r, 0, 1), 350000);
  db_rows_free(r);
  db_pool_release(pool, c);
  db_pool_free(pool);
}

static void test_seeds_rerunnable(void **state) {
  rerun_seed("wallet-core", "SELECT COUNT(*), SUM(balance) FROM accounts");
  rerun_seed("balances", "SELECT COUNT(*), SUM(balance) FROM balances");
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_seeds_agree),
                                     cmocka_unit_test(test_seeds_rerunnable)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
