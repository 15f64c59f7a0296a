/* test_migrate: the migrations runner against the real MariaDB, with temporary dirs. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db.h"
#include "migrate.h"
#include "test_env.h"

typedef struct mig_dir {
  char path[64];
} mig_dir;

static mig_dir dir_new(void) {
  mig_dir d;
  snprintf(d.path, sizeof d.path, "/tmp/test_migrate_XXXXXX");
  if (mkdtemp(d.path) == NULL) fail_msg("mkdtemp failed");
  return d;
}

static void put(const mig_dir *d, const char *name, const char *text) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", d->path, name);
  FILE *f = fopen(path, "w");
  if (f == NULL) fail_msg("cannot write %s", path);
  fputs(text, f);
  fclose(f);
}

static void dir_free(const mig_dir *d) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->path);
  if (system(cmd) != 0) fail_msg("%s failed", cmd);
}

static int64_t q_i64(const db_config *cfg, const char *sql) {
  char err[256];
  db_config c = *cfg;
  c.pool_size = 1;
  db_pool *p = db_pool_new(&c, err, sizeof err);
  assert_non_null(p);
  db_error e = {0};
  db_conn *conn = db_pool_acquire(p, 2000, &e);
  if (conn == NULL) fail_msg("acquire: %s", e.message);
  db_rows *rows = NULL;
  if (db_query(conn, sql, NULL, 0, &rows, &e) != 0) fail_msg("%s: %s", sql, e.message);
  int64_t v = db_rows_i64(rows, 0, 0);
  db_rows_free(rows);
  db_pool_release(p, conn);
  db_pool_free(p);
  return v;
}

static void must_migrate(const db_config *cfg, const mig_dir *d, int expect_applied) {
  char err[512] = "";
  int applied = -1;
  if (migrate_run(cfg, d->path, &applied, err, sizeof err) != 0) fail_msg("migrate: %s", err);
  assert_int_equal(applied, expect_applied);
}

static void test_applies_once(void **state) {
  (void)state;
  db_config cfg = test_db_fresh("mig_once");
  mig_dir d = dir_new();
  put(&d, "001_create_accounts.sql",
      "-- accounts\nCREATE TABLE accounts (id INT PRIMARY KEY, balance BIGINT NOT NULL);\n"
      "CREATE TABLE audit (n INT NOT NULL);\n");
  put(&d, "002_seed.sql",
      "INSERT INTO accounts VALUES (1, 100), (2, 200);\nINSERT INTO audit VALUES (2);\n");
  must_migrate(&cfg, &d, 2);
  assert_int_equal(q_i64(&cfg, "SELECT SUM(balance) FROM accounts"), 300);
  assert_int_equal(q_i64(&cfg, "SELECT COUNT(*) FROM schema_migrations"), 2);
  assert_int_equal(q_i64(&cfg, "SELECT MAX(version) FROM schema_migrations"), 2);

  must_migrate(&cfg, &d, 0); /* re-run: nothing to do, seeds not doubled */
  assert_int_equal(q_i64(&cfg, "SELECT COUNT(*) FROM accounts"), 2);

  put(&d, "003_more.sql", "INSERT INTO accounts VALUES (3, 300);");
  must_migrate(&cfg, &d, 1);
  assert_int_equal(q_i64(&cfg, "SELECT COUNT(*) FROM accounts"), 3);
  assert_int_equal(q_i64(&cfg, "SELECT COUNT(*) FROM schema_migrations WHERE version = 3 AND "
                               "name = '003_more.sql' AND LENGTH(checksum) = 16"),
                   1);
  dir_free(&d);
}

static void test_creates_missing_database(void **state) {
  (void)state;
  db_config cfg = test_db_server();
  char name[64];
  test_unique_name("mig_newdb", name, sizeof name);
  cfg.database = name;
  mig_dir d = dir_new();
  put(&d, "001_t.sql", "CREATE TABLE t (id INT);");
  must_migrate(&cfg, &d, 1);
  assert_int_equal(q_i64(&cfg, "SELECT COUNT(*) FROM schema_migrations"), 1);

  char err[256] = "";
  cfg.database = "bad`name";
  assert_int_equal(migrate_run(&cfg, d.path, NULL, err, sizeof err), -1);
  assert_non_null(strstr(err, "database name"));
  dir_free(&d);
}

typedef struct race_ctx {
  const db_config *cfg;
  const char *dir;
  int rc, applied;
  char err[512];
} race_ctx;

static void *race_thread(void *arg) {
  race_ctx *r = arg;
  r->rc = migrate_run(r->cfg, r->dir, &r->applied, r->err, sizeof r->err);
  return NULL;
}

/* Four runners at once: the named lock lets exactly one apply each file; the side-effect
 * table has no key, so a second application would show up as an extra row. */
static void test_concurrent_runners_apply_once(void **state) {
  (void)state;
  db_config cfg = test_db_fresh("mig_race");
  mig_dir d = dir_new();
  put(&d, "001_log.sql", "CREATE TABLE log (file INT NOT NULL);\nINSERT INTO log VALUES (1);");
  put(&d, "002_slow.sql", "DO SLEEP(0.3);\nINSERT INTO log VALUES (2);");
  put(&d, "003_more.sql", "INSERT INTO log VALUES (3);\nDO SLEEP(0.1);");
  enum { N = 4 };
  race_ctx rs[N];
  pthread_t ts[N];
  for (int i = 0; i < N; i++) {
    rs[i] = (race_ctx){.cfg = &cfg, .dir = d.path};
    assert_int_equal(pthread_create(&ts[i], NULL, race_thread, &rs[i]), 0);
  }
  int total = 0;
  for (int i = 0; i < N; i++) {
    pthread_join(ts[i], NULL);
    if (rs[i].rc != 0) fail_msg("runner %d: %s", i, rs[i].err);
    total += rs[i].applied;
  }
  assert_int_equal(total, 3);
  assert_int_equal(q_i64(&cfg, "SELECT COUNT(*) FROM log"), 3);
  assert_int_equal(q_i64(&cfg, "SELECT COUNT(DISTINCT file) FROM log"), 3);
  assert_int_equal(q_i64(&cfg, "SELECT COUNT(*) FROM schema_migrations"), 3);
  dir_free(&d);
}

/* The same race between processes, as two service instances starting together. */
static void test_concurrent_processes_apply_once(void **state) {
  (void)state;
  db_config cfg = test_db_fresh("mig_fork");
  mig_dir d = dir_new();
  put(&d, "001_log.sql", "CREATE TABLE log (file INT NOT NULL);\nINSERT INTO log VALUES (1);");
  put(&d, "002_slow.sql", "DO SLEEP(0.3);\nINSERT INTO log VALUES (2);");
  fflush(NULL);
  pid_t kids[3];
  int pipes[3][2];
  for (int i = 0; i < 3; i++) {
    assert_int_equal(pipe(pipes[i]), 0);
    kids[i] = fork();
    assert_true(kids[i] >= 0);
    if (kids[i] == 0) {
      char err[512] = "";
      int applied = 0;
      int rc = migrate_run(&cfg, d.path, &applied, err, sizeof err);
      char msg[600];
      int n = snprintf(msg, sizeof msg, "%d %d %s", rc, applied, err);
      if (write(pipes[i][1], msg, (size_t)n) != n) _exit(2);
      _exit(0);
    }
    close(pipes[i][1]);
  }
  int total = 0;
  for (int i = 0; i < 3; i++) {
    char msg[600] = "";
    ssize_t n = read(pipes[i][0], msg, sizeof msg - 1);
    close(pipes[i][0]);
    int status = 0;
    waitpid(kids[i], &status, 0);
    assert_true(n > 0);
    int rc = -9, applied = 0;
    sscanf(msg, "%d %d", &rc, &applied);
    if (rc != 0) fail_msg("child %d: %s", i, msg);
    total += applied;
  }
  assert_int_equal(total, 2);
  assert_int_equal(q_i64(&cfg, "SELECT COUNT(*) FROM log"), 2);
  dir_free(&d);
}

static void test_changed_file_is_an_error(void **state) {
  (void)state;
  db_config cfg = test_db_fresh("mig_sum");
  mig_dir d = dir_new();
  put(&d, "001_t.sql", "CREATE TABLE t (id INT);");
  must_migrate(&cfg, &d, 1);
  put(&d, "001_t.sql", "CREATE TABLE t (id BIGINT);");
  put(&d, "002_u.sql", "CREATE TABLE u (id INT);");
  char err[512] = "";
  int applied = -1;
  assert_int_equal(migrate_run(&cfg, d.path, &applied, err, sizeof err), -1);
  assert_int_equal(applied, 0);
  assert_non_null(strstr(err, "001_t.sql"));
  assert_non_null(strstr(err, "changed"));
  /* Nothing after the bad file ran. */
  assert_int_equal(q_i64(&cfg, "SELECT COUNT(*) FROM information_schema.TABLES WHERE "
                               "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'u'"),
                   0);
  dir_free(&d);
}

static void test_renamed_or_missing_file_is_an_error(void **state) {
  (void)state;
  db_config cfg = test_db_fresh("mig_ren");
  mig_dir d = dir_new();
  put(&d, "001_t.sql", "CREATE TABLE t (id INT);");
  put(&d, "002_u.sql", "CREATE TABLE u (id INT);");
  must_migrate(&cfg, &d, 2);
  char err[512] = "";
  char from[256], to[256];
  snprintf(from, sizeof from, "%s/002_u.sql", d.path);
  snprintf(to, sizeof to, "%s/002_v.sql", d.path);
  assert_int_equal(rename(from, to), 0);
  assert_int_equal(migrate_run(&cfg, d.path, NULL, err, sizeof err), -1);
  assert_non_null(strstr(err, "002_u.sql"));
  assert_non_null(strstr(err, "002_v.sql"));
  assert_int_equal(unlink(to), 0);
  assert_int_equal(migrate_run(&cfg, d.path, NULL, err, sizeof err), -1);
  assert_non_null(strstr(err, "no such file"));
  dir_free(&d);
}

static void test_failing_statement_names_file(void **state) {
  (void)state;
  db_config cfg = test_db_fresh("mig_fail");
  mig_dir d = dir_new();
  put(&d, "001_ok.sql", "CREATE TABLE t (id INT);");
  put(&d, "002_broken.sql",
      "CREATE TABLE u (id INT);\nINSERT INTO no_such_table VALUES (1);\nCREATE TABLE w (id INT);");
  put(&d, "003_after.sql", "CREATE TABLE z (id INT);");
  char err[512] = "";
  int applied = -1;
  assert_int_equal(migrate_run(&cfg, d.path, &applied, err, sizeof err), -1);
  assert_int_equal(applied, 1);
  assert_non_null(strstr(err, "002_broken.sql"));
  assert_non_null(strstr(err, "statement 2"));
  assert_non_null(strstr(err, "no_such_table"));
  assert_int_equal(q_i64(&cfg, "SELECT COUNT(*) FROM schema_migrations"), 1);
  /* Not atomic (DDL commits): statement 1 stayed, statement 3 never ran, nor did 003. */
  assert_int_equal(q_i64(&cfg, "SELECT COUNT(*) FROM information_schema.TABLES WHERE "
                               "TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN ('u','w','z')"),
                   1);

  /* A syntax error in the first statement is reported too. */
  put(&d, "002_broken.sql", "CREATE TABLEE oops;");
  assert_int_equal(migrate_run(&cfg, d.path, &applied, err, sizeof err), -1);
  assert_non_null(strstr(err, "002_broken.sql"));
  assert_non_null(strstr(err, "statement 1"));
  assert_non_null(strstr(err, "1064"));

  /* Fixed, the run goes on from where it stopped. */
  put(&d, "002_broken.sql", "CREATE TABLE IF NOT EXISTS u (id INT);");
  must_migrate(&cfg, &d, 2);
  dir_free(&d);
}

static void test_open_transaction_is_an_error(void **state) {
  (void)state;
  db_config cfg = test_db_fresh("mig_tx");
  mig_dir d = dir_new();
  put(&d, "001_t.sql", "CREATE TABLE t (id INT) ENGINE=InnoDB;");
  put(&d, "002_seed.sql", "START TRANSACTION;\nINSERT INTO t VALUES (1);");
  char err[512] = "";
  assert_int_equal(migrate_run(&cfg, d.path, NULL, err, sizeof err), -1);
  assert_non_null(strstr(err, "002_seed.sql"));
  assert_non_null(strstr(err, "transaction"));
  assert_int_equal(q_i64(&cfg, "SELECT COUNT(*) FROM t"), 0);
  assert_int_equal(q_i64(&cfg, "SELECT COUNT(*) FROM schema_migrations"), 1);
  put(&d, "002_seed.sql", "START TRANSACTION;\nINSERT INTO t VALUES (1);\nCOMMIT;\n");
  must_migrate(&cfg, &d, 1);
  assert_int_equal(q_i64(&cfg, "SELECT COUNT(*) FROM t"), 1);
  dir_free(&d);
}

static void test_ignores_other_names(void **state) {
  (void)state;
  db_config cfg = test_db_fresh("mig_names");
  mig_dir d = dir_new();
  put(&d, "001_t.sql", "CREATE TABLE t (id INT);");
  put(&d, "README.md", "not sql");
  put(&d, "01_short.sql", "syntax error");
  put(&d, "002_Upper.sql", "syntax error");
  put(&d, "002_t.sql.bak", "syntax error");
  put(&d, "002-dash.sql", "syntax error");
  put(&d, "002_.sql", "syntax error");
  put(&d, "notes.sql", "syntax error");
  must_migrate(&cfg, &d, 1);
  assert_int_equal(q_i64(&cfg, "SELECT COUNT(*) FROM schema_migrations"), 1);
  dir_free(&d);
}

static void test_bad_versions_are_errors(void **state) {
  (void)state;
  db_config cfg = test_db_fresh("mig_ver");
  char err[512] = "";
  mig_dir d = dir_new();
  put(&d, "001_a.sql", "CREATE TABLE a (id INT);");
  put(&d, "001_b.sql", "CREATE TABLE b (id INT);");
  assert_int_equal(migrate_run(&cfg, d.path, NULL, err, sizeof err), -1);
  assert_non_null(strstr(err, "duplicate"));
  assert_non_null(strstr(err, "001_a.sql"));
  assert_non_null(strstr(err, "001_b.sql"));
  dir_free(&d);

  mig_dir g = dir_new();
  put(&g, "001_a.sql", "CREATE TABLE a (id INT);");
  put(&g, "003_c.sql", "CREATE TABLE c (id INT);");
  assert_int_equal(migrate_run(&cfg, g.path, NULL, err, sizeof err), -1);
  assert_non_null(strstr(err, "gap"));
  assert_non_null(strstr(err, "003_c.sql"));
  /* Nothing was applied: the directory is checked before any file runs. */
  assert_int_equal(q_i64(&cfg, "SELECT COUNT(*) FROM information_schema.TABLES WHERE "
                               "TABLE_SCHEMA = DATABASE()"),
                   0);
  dir_free(&g);

  assert_int_equal(migrate_run(&cfg, "/nonexistent/migrations", NULL, err, sizeof err), -1);
  assert_non_null(strstr(err, "/nonexistent/migrations"));
}

static void test_empty_dir_and_unreachable(void **state) {
  (void)state;
  db_config cfg = test_db_fresh("mig_empty");
  mig_dir d = dir_new();
  must_migrate(&cfg, &d, 0);
  assert_int_equal(q_i64(&cfg, "SELECT COUNT(*) FROM schema_migrations"), 0);
  char err[512] = "";
  cfg.port = 1;
  assert_int_equal(migrate_run(&cfg, d.path, NULL, err, sizeof err), -1);
  assert_non_null(strstr(err, "cannot connect"));
  dir_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_applies_once),
      cmocka_unit_test(test_creates_missing_database),
      cmocka_unit_test(test_concurrent_runners_apply_once),
      cmocka_unit_test(test_concurrent_processes_apply_once),
      cmocka_unit_test(test_changed_file_is_an_error),
      cmocka_unit_test(test_renamed_or_missing_file_is_an_error),
      cmocka_unit_test(test_failing_statement_names_file),
      cmocka_unit_test(test_open_transaction_is_an_error),
      cmocka_unit_test(test_ignores_other_names),
      cmocka_unit_test(test_bad_versions_are_errors),
      cmocka_unit_test(test_empty_dir_and_unreachable),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
