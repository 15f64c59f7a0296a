/* test_db: the pool, statements, rows and transactions against the real MariaDB. */
#include <errmsg.h>
#include <inttypes.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "sqlbatch.h"
#include "test_env.h"

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static db_pool *pool_for(db_config cfg, unsigned size) {
  char err[256] = "";
  cfg.pool_size = size;
  db_pool *p = db_pool_new(&cfg, err, sizeof err);
  if (p == NULL) fail_msg("db_pool_new: %s", err);
  return p;
}

static db_conn *must_acquire(db_pool *p) {
  db_error e = {0};
  db_conn *c = db_pool_acquire(p, 2000, &e);
  if (c == NULL) fail_msg("acquire: (%u) %s", e.code, e.message);
  return c;
}

static void must_exec(db_conn *c, const char *sql, const db_param *ps, size_t n) {
  db_error e = {0};
  if (db_exec(c, sql, ps, n, NULL, &e) != 0) fail_msg("%s: (%u) %s", sql, e.code, e.message);
}

static int64_t query_i64(db_conn *c, const char *sql, const db_param *ps, size_t n) {
  db_error e = {0};
  db_rows *rows = NULL;
  if (db_query(c, sql, ps, n, &rows, &e) != 0) fail_msg("%s: (%u) %s", sql, e.code, e.message);
  assert_int_equal(db_rows_count(rows), 1);
  int64_t v = db_rows_i64(rows, 0, 0);
  db_rows_free(rows);
  return v;
}

static void test_bad_config(void **state) {
  (void)state;
  char err[128] = "";
  db_config cfg = {.host = NULL, .user = "root"};
  assert_null(db_pool_new(&cfg, err, sizeof err));
  assert_non_null(strstr(err, "host"));
  db_pool_free(NULL);
  db_rows_free(NULL);
  db_pool_release(NULL, NULL);
}

static void test_roundtrip_values(void **state) {
  (void)state;
  db_pool *p = pool_for(test_db_fresh("dbrt"), 2);
  db_conn *c = must_acquire(p);
  must_exec(c,
            "CREATE TABLE t (id INT PRIMARY KEY, i BIGINT NULL, s VARCHAR(255) NULL,"
            " b MEDIUMBLOB NULL) DEFAULT CHARSET=utf8mb4",
            NULL, 0);

  static const char quoted[] = "it's \"quoted\" \\ back`tick; -- not a comment";
  static const char utf8[] = "Ol\xc3\xa1, \xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x9a\x80";
  static const char inject[] = "x'); DROP TABLE t; --";
  static const unsigned char blob[] = {0, 1, 0, 0xff, '\'', 0, '\\', 0x80, 0};
  size_t big_len = 200 * 1024; /* longer than the first-guess buffer: refetched */
  unsigned char *big = malloc(big_len);
  assert_non_null(big);
  for (size_t i = 0; i < big_len; i++) big[i] = (unsigned char)(i * 7);

  const char *sql = "INSERT INTO t (id, i, s, b) VALUES (?, ?, ?, ?)";
  db_param r1[] = {DB_P_I64(1), DB_P_I64(INT64_MIN), DB_P_STR(quoted), DB_P_BLOB(blob, sizeof blob)};
  db_param r2[] = {DB_P_I64(2), DB_P_I64(INT64_MAX), DB_P_STR(utf8), DB_P_BLOB(big, big_len)};
  db_param r3[] = {DB_P_I64(3), DB_P_NULL, DB_P_NULL, DB_P_NULL};
  db_param r4[] = {DB_P_I64(4), DB_P_I64(0), DB_P_STR(inject), DB_P_BLOB(NULL, 0)};
  db_param r5[] = {DB_P_I64(5), DB_P_I64(-1), DB_P_STRN("ab\0cd", 5), DB_P_STR("")};
  uint64_t affected = 0;
  db_error e = {0};
  assert_int_equal(db_exec(c, sql, r1, 4, &affected, &e), 0);
  assert_int_equal(affected, 1);
  must_exec(c, sql, r2, 4);
  must_exec(c, sql, r3, 4);
  must_exec(c, sql, r4, 4);
  must_exec(c, sql, r5, 4);

  db_rows *rows = NULL;
  assert_int_equal(db_query(c, "SELECT id, i, s, b FROM t ORDER BY id", NULL, 0, &rows, &e), 0);
  assert_int_equal(db_rows_count(rows), 5);
  assert_int_equal(db_rows_columns(rows), 4);
  size_t len = 0;

  assert_int_equal(db_rows_i64(rows, 0, 1), INT64_MIN);
  assert_string_equal(db_rows_str(rows, 0, 1, NULL), "-9223372036854775808");
  assert_string_equal(db_rows_str(rows, 0, 2, &len), quoted);
  assert_int_equal(len, strlen(quoted));
  const char *b = db_rows_str(rows, 0, 3, &len);
  assert_int_equal(len, sizeof blob);
  assert_memory_equal(b, blob, sizeof blob);

  assert_int_equal(db_rows_i64(rows, 1, 1), INT64_MAX);
  assert_string_equal(db_rows_str(rows, 1, 1, NULL), "9223372036854775807");
  assert_string_equal(db_rows_str(rows, 1, 2, NULL), utf8);
  b = db_rows_str(rows, 1, 3, &len);
  assert_int_equal(len, big_len);
  assert_memory_equal(b, big, big_len);

  for (size_t col = 1; col < 4; col++) {
    assert_true(db_rows_is_null(rows, 2, col));
    assert_null(db_rows_str(rows, 2, col, &len));
    assert_int_equal(len, 0);
  }
  assert_int_equal(db_rows_i64(rows, 2, 1), 0);
  assert_false(db_rows_is_null(rows, 2, 0));

  assert_string_equal(db_rows_str(rows, 3, 2, NULL), inject);
  assert_false(db_rows_is_null(rows, 3, 3)); /* empty, not NULL */
  assert_string_equal(db_rows_str(rows, 3, 3, &len), "");
  assert_int_equal(len, 0);
  assert_int_equal(db_rows_i64(rows, 3, 2), 0); /* text is not an int64 */

  b = db_rows_str(rows, 4, 2, &len);
  assert_int_equal(len, 5);
  assert_memory_equal(b, "ab\0cd", 5);

  /* Out of range accessors are NULL, not crashes. */
  assert_null(db_rows_str(rows, 5, 0, NULL));
  assert_null(db_rows_str(rows, 0, 4, NULL));
  assert_true(db_rows_is_null(rows, 9, 9));
  db_rows_free(rows);

  /* The injection-looking text was data: the table is still there and intact. */
  assert_int_equal(query_i64(c, "SELECT COUNT(*) FROM t", NULL, 0), 5);
  db_param q[] = {DB_P_STR(inject)};
  assert_int_equal(query_i64(c, "SELECT id FROM t WHERE s = ?", q, 1), 4);

  /* An empty result is a result. */
  db_param none[] = {DB_P_I64(999)};
  assert_int_equal(db_query(c, "SELECT id FROM t WHERE id = ?", none, 1, &rows, &e), 0);
  assert_int_equal(db_rows_count(rows), 0);
  assert_int_equal(db_rows_columns(rows), 1);
  db_rows_free(rows);

  /* Decimal and temporal columns come as text too (the session is UTC). */
  assert_int_equal(
      db_query(c, "SELECT CAST(12.50 AS DECIMAL(10,2)), TIMESTAMP'2024-01-02 03:04:05.123456'",
               NULL, 0, &rows, &e),
      0);
  assert_string_equal(db_rows_str(rows, 0, 0, NULL), "12.50");
  assert_string_equal(db_rows_str(rows, 0, 1, NULL), "2024-01-02 03:04:05.123456");
  db_rows_free(rows);

  free(big);
  db_pool_release(p, c);
  db_pool_free(p);
}

static void test_errors_keep_connection(void **state) {
  (void)state;
  db_pool *p = pool_for(test_db_fresh("dberr"), 1);
  db_conn *c = must_acquire(p);
  db_error e = {0};
  must_exec(c, "CREATE TABLE t (id INT PRIMARY KEY, v TINYINT NOT NULL)", NULL, 0);

  assert_int_equal(db_exec(c, "SELEC nonsense", NULL, 0, NULL, &e), -1);
  assert_int_equal(e.code, ER_PARSE_ERROR);
  assert_string_equal(e.sqlstate, "42000");
  assert_false(db_error_is_connection(&e));
  assert_false(db_error_is_retryable(&e));

  db_param one[] = {DB_P_I64(1)};
  assert_int_equal(db_exec(c, "INSERT INTO t VALUES (?, ?)", one, 1, NULL, &e), -1);
  assert_int_equal(e.code, CR_INVALID_PARAMETER_NO);
  assert_non_null(strstr(e.message, "2 parameters, 1 given"));

  db_param row[] = {DB_P_I64(1), DB_P_I64(1)};
  must_exec(c, "INSERT INTO t VALUES (?, ?)", row, 2);
  assert_int_equal(db_exec(c, "INSERT INTO t VALUES (?, ?)", row, 2, NULL, &e), -1);
  assert_int_equal(e.code, ER_DUP_ENTRY);
  assert_string_equal(e.sqlstate, "23000");

  /* Strict mode: a value that does not fit is an error, not a silent clamp. */
  db_param wide[] = {DB_P_I64(2), DB_P_I64(100000)};
  assert_int_equal(db_exec(c, "INSERT INTO t VALUES (?, ?)", wide, 2, NULL, &e), -1);
  assert_int_equal(e.code, ER_WARN_DATA_OUT_OF_RANGE);

  /* None of that broke the connection: it is the same session still. */
  assert_int_equal(db_ping(c, &e), 0);
  assert_int_equal(query_i64(c, "SELECT COUNT(*) FROM t", NULL, 0), 1);

  /* db_exec on a SELECT drains the rows; the connection stays in sync. */
  must_exec(c, "SELECT * FROM t", NULL, 0);
  assert_int_equal(query_i64(c, "SELECT 41 + 1", NULL, 0), 42);
  db_pool_release(p, c);
  db_pool_free(p);
}

/* The server counts prepares per session: a cached statement is not prepared again. */
static void test_statement_cache_reuse(void **state) {
  (void)state;
  db_pool *p = pool_for(test_db_fresh("dbcache"), 1);
  db_conn *c = must_acquire(p);
  const char *status = "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS "
                       "WHERE VARIABLE_NAME = 'COM_STMT_PREPARE'";
  db_param a[] = {DB_P_I64(5)};
  assert_int_equal(query_i64(c, "SELECT ? + 1", a, 1), 6);
  int64_t before = query_i64(c, status, NULL, 0);
  for (int i = 0; i < 20; i++) {
    db_param x[] = {DB_P_I64(i)};
    assert_int_equal(query_i64(c, "SELECT ? + 1", x, 1), i + 1);
  }
  assert_int_equal(query_i64(c, status, NULL, 0), before);
  /* A new text is a new statement. */
  assert_int_equal(query_i64(c, "SELECT ? + 2", a, 1), 7);
  assert_int_equal(query_i64(c, status, NULL, 0), before + 1);
  db_pool_release(p, c);
  db_pool_free(p);
}

static void fill_seq(const void *ctx, size_t row, db_param *out) {
  const int64_t *base = ctx;
  out[0] = DB_P_I64(*base + (int64_t)row);
}

/* A multi-row insert of up to 32 rows is ONE statement (one round trip, one execution):
 * groups of every size are common under load, and splitting 15 rows into 8+4+2+1 cost
 * MariaDB ~20% more per transfer. Larger counts take 256/64/32-row chunks, then one
 * statement for the rest; rows keep their order either way. */
static void test_sqlbatch_insert_statements(void **state) {
  (void)state;
  db_pool *p = pool_for(test_db_fresh("dbbatch"), 1);
  db_conn *c = must_acquire(p);
  must_exec(c, "CREATE TABLE t (k BIGINT AUTO_INCREMENT PRIMARY KEY, v BIGINT NOT NULL)", NULL, 0);
  const char *executes = "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS "
                         "WHERE VARIABLE_NAME = 'COM_STMT_EXECUTE'";
  const char *prepares = "SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS "
                         "WHERE VARIABLE_NAME = 'COM_STMT_PREPARE'";
  const struct {
    size_t rows, statements;
  } cases[] = {{1, 1}, {7, 1}, {15, 1}, {31, 1}, {32, 1}, {33, 2}, {100, 3}, {300, 3}, {15, 1}};
  int64_t base = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    must_exec(c, "DELETE FROM t", NULL, 0);
    int64_t ex0 = query_i64(c, executes, NULL, 0);
    db_error e = {0};
    if (sqlbatch_insert(c, "INSERT INTO t (v) VALUES ", "(?)", 1, "", cases[i].rows, fill_seq,
                        &base, &e) != 0) {
      fail_msg("sqlbatch_insert %zu rows: (%u) %s", cases[i].rows, e.code, e.message);
    }
    /* + 1: the status query that reads the counter counts itself. */
    int64_t ran = query_i64(c, executes, NULL, 0) - ex0 - 1;
    if (ran != (int64_t)cases[i].statements) {
      fail_msg("%zu rows took %" PRId64 " statements, want %zu", cases[i].rows, ran,
               cases[i].statements);
    }
    assert_int_equal(query_i64(c, "SELECT COUNT(*) FROM t", NULL, 0), (int64_t)cases[i].rows);
    /* In order: v rises with the auto-increment key. */
    assert_int_equal(query_i64(c, "SELECT COUNT(*) FROM t a JOIN t b ON a.k < b.k AND a.v > b.v",
                               NULL, 0),
                     0);
    assert_int_equal(query_i64(c, "SELECT MIN(v) FROM t", NULL, 0), base);
    base += (int64_t)cases[i].rows;
  }
  /* The last case repeats 15 rows: its statement came from the cache. */
  int64_t pr0 = query_i64(c, prepares, NULL, 0);
  db_error e = {0};
  assert_int_equal(sqlbatch_insert(c, "INSERT INTO t (v) VALUES ", "(?)", 1, "", 15, fill_seq, &base, &e), 0);
  assert_int_equal(query_i64(c, prepares, NULL, 0), pr0);
  db_pool_release(p, c);
  db_pool_free(p);
}

typedef struct tx_ctx {
  int64_t id;
  int mode; /* 0 commit, -1 fail, 1 reject */
  int calls;
} tx_ctx;

static int tx_insert(db_conn *c, void *vctx, db_error *e) {
  tx_ctx *ctx = vctx;
  ctx->calls++;
  db_param ps[] = {DB_P_I64(ctx->id)};
  if (db_exec(c, "INSERT INTO t (id) VALUES (?)", ps, 1, NULL, e) != 0) return -1;
  if (ctx->mode == -1) {
    snprintf(e->message, sizeof e->message, "body failed on purpose");
    e->code = 9999;
    return -1;
  }
  return ctx->mode;
}

static void test_transaction_outcomes(void **state) {
  (void)state;
  db_pool *p = pool_for(test_db_fresh("dbtx"), 1);
  db_conn *c = must_acquire(p);
  db_error e = {0};
  must_exec(c, "CREATE TABLE t (id BIGINT PRIMARY KEY) ENGINE=InnoDB", NULL, 0);

  tx_ctx ok = {.id = 1, .mode = 0};
  assert_int_equal(db_transaction(c, tx_insert, &ok, 3, &e), 0);
  tx_ctx bad = {.id = 2, .mode = -1};
  assert_int_equal(db_transaction(c, tx_insert, &bad, 3, &e), -1);
  assert_int_equal(e.code, 9999);
  assert_int_equal(bad.calls, 1); /* not retryable: not retried */
  tx_ctx no = {.id = 3, .mode = 1};
  assert_int_equal(db_transaction(c, tx_insert, &no, 3, &e), 1);
  /* A statement error inside the body (duplicate key) rolls back and surfaces. */
  tx_ctx dup = {.id = 1, .mode = 0};
  assert_int_equal(db_transaction(c, tx_insert, &dup, 3, &e), -1);
  assert_int_equal(e.code, ER_DUP_ENTRY);

  db_rows *rows = NULL;
  assert_int_equal(db_query(c, "SELECT id FROM t ORDER BY id", NULL, 0, &rows, &e), 0);
  assert_int_equal(db_rows_count(rows), 1);
  assert_int_equal(db_rows_i64(rows, 0, 0), 1);
  db_rows_free(rows);

  /* Nested use is refused instead of silently committing the outer transaction. */
  assert_int_equal(db_begin(c, &e), 0);
  tx_ctx inner = {.id = 4, .mode = 0};
  assert_int_equal(db_transaction(c, tx_insert, &inner, 3, &e), -1);
  assert_int_equal(inner.calls, 0);
  assert_int_equal(db_rollback(c, &e), 0);

  /* Released inside a transaction: rolled back, the next user starts clean. */
  assert_int_equal(db_begin(c, &e), 0);
  db_param five[] = {DB_P_I64(5)};
  must_exec(c, "INSERT INTO t (id) VALUES (?)", five, 1);
  db_pool_release(p, c);
  c = must_acquire(p); /* pool of one: the same connection */
  assert_int_equal(query_i64(c, "SELECT COUNT(*) FROM t WHERE id = 5", NULL, 0), 0);
  assert_int_equal(query_i64(c, "SELECT @@in_transaction", NULL, 0), 0);
  db_pool_release(p, c);
  db_pool_free(p);
}

/* Two bodies lock rows 1 and 2 in opposite order; a barrier makes both hold their first
 * lock before asking for the second on the first attempt, so InnoDB must pick a victim. */
typedef struct dl_shared {
  db_pool *pool;
  pthread_barrier_t barrier;
} dl_shared;

typedef struct dl_ctx {
  dl_shared *sh;
  int64_t first, second;
  int calls;
  int rc;
  db_error e;
} dl_ctx;

static int dl_body(db_conn *c, void *vctx, db_error *e) {
  dl_ctx *ctx = vctx;
  ctx->calls++;
  db_param a[] = {DB_P_I64(ctx->first)};
  db_param b[] = {DB_P_I64(ctx->second)};
  if (db_exec(c, "UPDATE r SET v = v + 1 WHERE id = ?", a, 1, NULL, e) != 0) return -1;
  if (ctx->calls == 1) pthread_barrier_wait(&ctx->sh->barrier);
  if (db_exec(c, "UPDATE r SET v = v + 1 WHERE id = ?", b, 1, NULL, e) != 0) return -1;
  return 0;
}

static void *dl_thread(void *arg) {
  dl_ctx *ctx = arg;
  db_error e = {0};
  db_conn *c = db_pool_acquire(ctx->sh->pool, 5000, &e);
  if (c == NULL) {
    ctx->rc = -2;
    ctx->e = e;
    return NULL;
  }
  ctx->rc = db_transaction(c, dl_body, ctx, 5, &ctx->e);
  db_pool_release(ctx->sh->pool, c);
  return NULL;
}

static void test_deadlock_is_retried(void **state) {
  (void)state;
  dl_shared sh = {.pool = pool_for(test_db_fresh("dbdl"), 2)};
  db_conn *c = must_acquire(sh.pool);
  must_exec(c, "CREATE TABLE r (id BIGINT PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB", NULL, 0);
  must_exec(c, "INSERT INTO r VALUES (1, 0), (2, 0)", NULL, 0);
  db_pool_release(sh.pool, c);

  pthread_barrier_init(&sh.barrier, NULL, 2);
  dl_ctx x = {.sh = &sh, .first = 1, .second = 2};
  dl_ctx y = {.sh = &sh, .first = 2, .second = 1};
  pthread_t tx, ty;
  assert_int_equal(pthread_create(&tx, NULL, dl_thread, &x), 0);
  assert_int_equal(pthread_create(&ty, NULL, dl_thread, &y), 0);
  pthread_join(tx, NULL);
  pthread_join(ty, NULL);
  pthread_barrier_destroy(&sh.barrier);

  if (x.rc != 0) fail_msg("x: rc %d (%u) %s", x.rc, x.e.code, x.e.message);
  if (y.rc != 0) fail_msg("y: rc %d (%u) %s", y.rc, y.e.code, y.e.message);
  /* One of them was the deadlock victim and ran again. */
  assert_int_equal(x.calls + y.calls, 3);

  c = must_acquire(sh.pool);
  assert_int_equal(query_i64(c, "SELECT SUM(v) FROM r", NULL, 0), 4);
  assert_int_equal(query_i64(c, "SELECT MIN(v) FROM r", NULL, 0), 2);
  db_pool_release(sh.pool, c);
  db_pool_free(sh.pool);
}

/* A body that always deadlocks-ish: reports a retryable error; retries stop at the cap. */
static int always_retryable(db_conn *c, void *vctx, db_error *e) {
  (*(int *)vctx)++;
  e->code = ER_LOCK_WAIT_TIMEOUT;
  snprintf(e->sqlstate, sizeof e->sqlstate, "HY000");
  snprintf(e->message, sizeof e->message, "simulated lock wait timeout");
  return -1;
}

static void test_retry_is_bounded(void **state) {
  (void)state;
  db_pool *p = pool_for(test_db_fresh("dbcap"), 1);
  db_conn *c = must_acquire(p);
  db_error e = {0};
  int calls = 0;
  assert_int_equal(db_transaction(c, always_retryable, &calls, 4, &e), -1);
  assert_int_equal(calls, 4);
  assert_true(db_error_is_retryable(&e));
  db_pool_release(p, c);
  db_pool_free(p);
}

static void test_pool_exhaustion(void **state) {
  (void)state;
  db_pool *p = pool_for(test_db_fresh("dbex"), 2);
  db_conn *a = must_acquire(p), *b = must_acquire(p);
  assert_ptr_not_equal(a, b);
  db_error e = {0};
  int64_t t0 = now_ms();
  assert_null(db_pool_acquire(p, 200, &e));
  int64_t waited = now_ms() - t0;
  assert_true(waited >= 190);
  assert_true(waited < 2000);
  assert_int_equal(e.code, ER_CON_COUNT_ERROR);
  assert_true(db_error_is_connection(&e));
  assert_non_null(strstr(e.message, "busy"));
  assert_null(db_pool_acquire(p, 0, &e)); /* 0: no wait at all */

  db_pool_release(p, b);
  db_conn *c = db_pool_acquire(p, 200, &e);
  assert_ptr_equal(c, b); /* the released one, still connected */
  assert_int_equal(db_ping(c, &e), 0);
  db_pool_release(p, a);
  db_pool_release(p, c);
  db_pool_free(p);
}

/* A blocked acquirer is woken by a release from another thread. */
typedef struct wake_ctx {
  db_pool *pool;
  db_conn *got;
  int64_t waited;
} wake_ctx;

static void *wake_thread(void *arg) {
  wake_ctx *w = arg;
  db_error e = {0};
  int64_t t0 = now_ms();
  w->got = db_pool_acquire(w->pool, 5000, &e);
  w->waited = now_ms() - t0;
  return NULL;
}

static void test_acquire_waits_for_release(void **state) {
  (void)state;
  db_pool *p = pool_for(test_db_fresh("dbwake"), 1);
  db_conn *a = must_acquire(p);
  wake_ctx w = {.pool = p};
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, wake_thread, &w), 0);
  struct timespec d = {0, 150 * 1000000L};
  nanosleep(&d, NULL);
  db_pool_release(p, a);
  pthread_join(t, NULL);
  assert_ptr_equal(w.got, a);
  assert_true(w.waited >= 100 && w.waited < 4000);
  db_pool_release(p, w.got);
  db_pool_free(p);
}

static void kill_connection(db_conn *killer, int64_t id) {
  db_param ps[] = {DB_P_I64(id)};
  must_exec(killer, "KILL CONNECTION ?", ps, 1);
}

static void test_killed_connection_reconnects(void **state) {
  (void)state;
  db_pool *p = pool_for(test_db_fresh("dbkill"), 2);
  db_conn *victim = must_acquire(p), *killer = must_acquire(p);
  db_error e = {0};
  int64_t id = query_i64(victim, "SELECT CONNECTION_ID()", NULL, 0);
  kill_connection(killer, id);

  db_rows *rows = NULL;
  assert_int_equal(db_query(victim, "SELECT 1", NULL, 0, &rows, &e), -1);
  assert_null(rows);
  if (!db_error_is_connection(&e)) fail_msg("not a connection error: (%u) %s", e.code, e.message);
  /* Later uses fail fast and say the same. */
  assert_int_equal(db_exec(victim, "SELECT 1", NULL, 0, NULL, &e), -1);
  assert_true(db_error_is_connection(&e));
  assert_int_equal(db_ping(victim, &e), -1);
  assert_true(db_error_is_connection(&e));
  db_pool_release(p, victim);

  db_conn *again = must_acquire(p);
  int64_t id2 = query_i64(again, "SELECT CONNECTION_ID()", NULL, 0);
  assert_true(id2 != id);
  assert_int_equal(query_i64(again, "SELECT 7", NULL, 0), 7);
  db_pool_release(p, again);
  db_pool_release(p, killer);
  db_pool_free(p);
}

/* The server closed an idle session (wait_timeout): acquire notices and reconnects, so
 * the caller's first statement does not fail. */
static void test_idle_connection_closed_by_server(void **state) {
  (void)state;
  db_pool *p = pool_for(test_db_fresh("dbidle"), 1);
  db_conn *c = must_acquire(p);
  int64_t id = query_i64(c, "SELECT CONNECTION_ID()", NULL, 0);
  must_exec(c, "SET SESSION wait_timeout = 1", NULL, 0);
  db_pool_release(p, c);
  struct timespec d = {2, 500 * 1000000L};
  nanosleep(&d, NULL);
  c = must_acquire(p);
  db_error e = {0};
  assert_int_equal(db_ping(c, &e), 0);
  assert_true(query_i64(c, "SELECT CONNECTION_ID()", NULL, 0) != id);
  db_pool_release(p, c);
  db_pool_free(p);
}

/* A body whose connection is killed under it every time it runs. */
typedef struct kill_ctx {
  db_conn *killer;
  int calls;
} kill_ctx;

static int killed_body(db_conn *c, void *vctx, db_error *e) {
  kill_ctx *k = vctx;
  k->calls++;
  db_rows *rows = NULL;
  if (db_query(c, "SELECT CONNECTION_ID()", NULL, 0, &rows, e) != 0) return -1;
  int64_t id = db_rows_i64(rows, 0, 0);
  db_rows_free(rows);
  kill_connection(k->killer, id);
  return db_exec(c, "INSERT INTO t (id) VALUES (99)", NULL, 0, NULL, e);
}

/* A connection lost before COMMIT: the transaction reconnects once and commits; lost
 * again, it gives up with the connection error. */
static void test_transaction_survives_lost_connection(void **state) {
  (void)state;
  db_pool *p = pool_for(test_db_fresh("dbtxkill"), 2);
  db_conn *c = must_acquire(p), *killer = must_acquire(p);
  db_error e = {0};
  must_exec(c, "CREATE TABLE t (id BIGINT PRIMARY KEY) ENGINE=InnoDB", NULL, 0);
  kill_connection(killer, query_i64(c, "SELECT CONNECTION_ID()", NULL, 0));

  tx_ctx ok = {.id = 10, .mode = 0};
  if (db_transaction(c, tx_insert, &ok, 3, &e) != 0)
    fail_msg("transaction: (%u) %s", e.code, e.message);
  assert_int_equal(ok.calls, 1); /* BEGIN failed, the body ran once after reconnecting */
  assert_int_equal(query_i64(killer, "SELECT COUNT(*) FROM t WHERE id = 10", NULL, 0), 1);

  kill_ctx k = {.killer = killer};
  assert_int_equal(db_transaction(c, killed_body, &k, 5, &e), -1);
  assert_true(db_error_is_connection(&e));
  assert_int_equal(k.calls, 2);
  assert_int_equal(query_i64(killer, "SELECT COUNT(*) FROM t WHERE id = 99", NULL, 0), 0);

  db_pool_release(p, c);
  c = must_acquire(p);
  assert_int_equal(query_i64(c, "SELECT COUNT(*) FROM t", NULL, 0), 1);
  db_pool_release(p, c);
  db_pool_release(p, killer);
  db_pool_free(p);
}

/* The connection dies after the body and before COMMIT gets an answer: the client
 * cannot know whether COMMIT happened, so the body is NOT run again. */
static int killed_before_commit(db_conn *c, void *vctx, db_error *e) {
  kill_ctx *k = vctx;
  k->calls++;
  db_rows *rows = NULL;
  if (db_exec(c, "INSERT INTO t (id) VALUES (77)", NULL, 0, NULL, e) != 0) return -1;
  if (db_query(c, "SELECT CONNECTION_ID()", NULL, 0, &rows, e) != 0) return -1;
  int64_t id = db_rows_i64(rows, 0, 0);
  db_rows_free(rows);
  kill_connection(k->killer, id);
  return 0;
}

static void test_commit_lost_is_unknown_outcome(void **state) {
  (void)state;
  db_pool *p = pool_for(test_db_fresh("dbunk"), 2);
  db_conn *c = must_acquire(p), *killer = must_acquire(p);
  db_error e = {0};
  must_exec(c, "CREATE TABLE t (id BIGINT PRIMARY KEY) ENGINE=InnoDB", NULL, 0);
  kill_ctx k = {.killer = killer};
  assert_int_equal(db_transaction(c, killed_before_commit, &k, 5, &e), -1);
  assert_int_equal(k.calls, 1);
  assert_true(db_error_is_connection(&e));
  assert_non_null(strstr(e.message, "outcome unknown"));
  db_pool_release(p, c);
  /* Here the kill came first, so nothing was committed; the caller could not know. */
  assert_int_equal(query_i64(killer, "SELECT COUNT(*) FROM t", NULL, 0), 0);
  db_pool_release(p, killer);
  db_pool_free(p);
}

static void test_unreachable_server_fails_fast(void **state) {
  (void)state;
  db_config cfg = test_db_server();
  cfg.port = 1;
  cfg.database = "nothing";
  db_pool *p = pool_for(cfg, 2);
  db_error e = {0};
  int64_t t0 = now_ms();
  assert_null(db_pool_acquire(p, 1000, &e));
  assert_true(now_ms() - t0 < 3000);
  if (!db_error_is_connection(&e)) fail_msg("not a connection error: (%u) %s", e.code, e.message);
  /* The slot went back: the next attempt fails the same way, not with "busy". */
  assert_null(db_pool_acquire(p, 0, &e));
  assert_true(e.code != ER_CON_COUNT_ERROR);
  assert_null(db_pool_acquire(p, 0, &e));
  assert_true(e.code != ER_CON_COUNT_ERROR);
  db_pool_free(p);
}

static void test_wrong_password_is_reported(void **state) {
  (void)state;
  db_config cfg = test_db_server();
  cfg.user = "no_such_user_xyz";
  cfg.password = "nope";
  db_pool *p = pool_for(cfg, 1);
  db_error e = {0};
  assert_null(db_pool_acquire(p, 1000, &e));
  assert_int_equal(e.code, ER_ACCESS_DENIED_ERROR);
  assert_string_equal(e.sqlstate, "28000");
  db_pool_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_config),
      cmocka_unit_test(test_roundtrip_values),
      cmocka_unit_test(test_errors_keep_connection),
      cmocka_unit_test(test_statement_cache_reuse),
      cmocka_unit_test(test_sqlbatch_insert_statements),
      cmocka_unit_test(test_transaction_outcomes),
      cmocka_unit_test(test_deadlock_is_retried),
      cmocka_unit_test(test_retry_is_bounded),
      cmocka_unit_test(test_pool_exhaustion),
      cmocka_unit_test(test_acquire_waits_for_release),
      cmocka_unit_test(test_killed_connection_reconnects),
      cmocka_unit_test(test_idle_connection_closed_by_server),
      cmocka_unit_test(test_transaction_survives_lost_connection),
      cmocka_unit_test(test_commit_lost_is_unknown_outcome),
      cmocka_unit_test(test_unreachable_server_fails_fast),
      cmocka_unit_test(test_wrong_password_is_reported),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
