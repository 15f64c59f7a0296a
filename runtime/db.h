/* db: MariaDB/MySQL access through Connector/C: a bounded connection pool, prepared
 * statements only (input never becomes SQL text), reconnects, and transactions retried on
 * deadlock and lock-wait timeout.
 *
 * Threads: a connection is used by one thread at a time (acquire, use, release).
 * mysql_library_init runs once in db_pool_new, before any thread connects. Prepared
 * statements are cached per connection, keyed by SQL text, and rebuilt on reconnect. */
#ifndef WALLET_DB_H
#define WALLET_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct db_pool db_pool;
typedef struct db_conn db_conn;
typedef struct db_rows db_rows;

typedef struct db_config {
  const char *host;     /* "127.0.0.1" */
  unsigned port;        /* 3306 */
  const char *user;
  const char *password;
  const char *database;
  unsigned pool_size;         /* connections at most; 0 means 16 */
  unsigned connect_timeout_s; /* 0 means 3 */
  unsigned io_timeout_s;      /* read/write timeout per round trip; 0 means 10 */
} db_config;

/* A failure: the server's or client's error number, SQLSTATE and message. */
typedef struct db_error {
  unsigned code;       /* ER_LOCK_DEADLOCK 1213, ER_LOCK_WAIT_TIMEOUT 1205, CR_* ... */
  char sqlstate[6];
  char message[256];
} db_error;

typedef enum db_type { DB_NULL, DB_I64, DB_STR, DB_BLOB } db_type;

/* One statement parameter. Pointers are borrowed for the duration of the call. */
typedef struct db_param {
  db_type type;
  int64_t i64;
  const void *ptr;
  size_t len;
} db_param;

#define DB_P_I64(v) ((db_param){.type = DB_I64, .i64 = (v)})
#define DB_P_STR(s) ((db_param){.type = DB_STR, .ptr = (s), .len = strlen(s)})
#define DB_P_STRN(s, n) ((db_param){.type = DB_STR, .ptr = (s), .len = (n)})
#define DB_P_BLOB(p, n) ((db_param){.type = DB_BLOB, .ptr = (p), .len = (n)})
#define DB_P_NULL ((db_param){.type = DB_NULL})

/* Copies cfg's strings. Connects lazily; returns NULL with err filled only on bad
 * configuration. */
db_pool *db_pool_new(const db_config *cfg, char *err, size_t errlen);
/* Closes every connection; all must have been released. NULL is a no-op. */
void db_pool_free(db_pool *pool);

/* A connected connection, waiting up to timeout_ms for a free one. NULL with e filled
 * when none is free in time or the server cannot be reached (code CR_CONNECTION_ERROR
 * or similar: the caller answers 503). */
db_conn *db_pool_acquire(db_pool *pool, int timeout_ms, db_error *e);
/* Gives it back. A connection that saw a connection-level error is closed here and
 * reopened by a later acquire; one left inside a transaction is rolled back. */
void db_pool_release(db_pool *pool, db_conn *conn);

/* Runs a statement that returns no rows. *affected (may be NULL) gets the affected-row
 * count. 0, or -1 with e filled. */
int db_exec(db_conn *conn, const char *sql, const db_param *params, size_t nparams,
            uint64_t *affected, db_error *e);

/* Runs a query and buffers its whole result. 0 with *rows set (free with db_rows_free),
 * or -1 with e filled. */
int db_query(db_conn *conn, const char *sql, const db_param *params, size_t nparams,
             db_rows **rows, db_error *e);

size_t db_rows_count(const db_rows *rows);
size_t db_rows_columns(const db_rows *rows);
bool db_rows_is_null(const db_rows *rows, size_t row, size_t col);
/* Column value as text (NUL-terminated; len may be NULL), or NULL for SQL NULL. Owned by
 * rows. Integers come as their decimal text. BLOBs are returned raw (use len). */
const char *db_rows_str(const db_rows *rows, size_t row, size_t col, size_t *len);
/* Column value as int64 (0 for NULL or non-numeric). */
int64_t db_rows_i64(const db_rows *rows, size_t row, size_t col);
void db_rows_free(db_rows *rows);

int db_begin(db_conn *conn, db_error *e);
int db_commit(db_conn *conn, db_error *e);
int db_rollback(db_conn *conn, db_error *e);

/* Deadlock (1213) or lock wait timeout (1205): the transaction may simply be retried. */
bool db_error_is_retryable(const db_error *e);
/* The connection is gone (server away, lost, refused): reconnect, maybe 503. */
bool db_error_is_connection(const db_error *e);

/* The body of one transaction. Returns 0 to commit; -1 with e filled to roll back (a
 * retryable e is retried); or 1 to roll back and stop (a business rejection the body
 * has recorded in ctx). */
typedef int (*db_tx_fn)(db_conn *conn, void *ctx, db_error *e);

/* BEGIN; fn; COMMIT, retrying the whole transaction on deadlock/lock-wait (up to
 * max_attempts, jittered backoff) and once more after a lost connection. Returns fn's
 * 1, or 0 when committed, or -1 with e filled. */
int db_transaction(db_conn *conn, db_tx_fn fn, void *ctx, int max_attempts, db_error *e);

/* Cheap liveness probe (a round trip). 0 when the server answers. */
int db_ping(db_conn *conn, db_error *e);

#endif
