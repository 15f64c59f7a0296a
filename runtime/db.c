/* db: the MariaDB connection pool, cached prepared statements, buffered rows and
 * retried transactions (one file: they share the connection's private state). */
#include "db.h"

#include <errmsg.h>
#include <errno.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timeutil.h"

typedef struct db_pool_settings {
  char *host, *user, *password, *database; /* owned copies; database may be NULL */
  unsigned port, connect_timeout_s, io_timeout_s;
} db_pool_settings;

typedef struct db_stmt_entry {
  char *sql;     /* the cache key, owned */
  uint64_t hash; /* of sql: most lookups then compare no string but their own */
  MYSQL_STMT *stmt;
} db_stmt_entry;

struct db_conn {
  db_pool *pool; /* owner: its settings serve reconnects */
  MYSQL *mysql;  /* NULL until connected, and after a close */
  bool in_use;   /* guarded by pool->mu */
  bool broken;   /* saw a connection-level error: closed on release */
  int64_t last_used_ms;
  db_stmt_entry *stmts;
  size_t nstmts, capstmts;
};

/* A connection idle longer than this is pinged before it is handed out: the server drops
 * idle sessions after wait_timeout (or restarts), and a request should not fail on that.
 * Busy connections are reused within milliseconds and skip the round trip. */
#define DB_IDLE_PING_MS 1000
/* A bounded cache: the services use a fixed set of statements (sqlbatch's multi-row
 * shapes are most of it: 34 per statement head, three heads per transfer group), so
 * hitting the cap means a caller formats SQL dynamically; evicting keeps the server's
 * max_prepared_stmt_count (16382 by default) safe instead of failing: 160 per connection
 * is 10,240 for two instances' pools of 32. */
#define DB_STMT_CACHE_MAX 160
/* First guess of a column buffer; longer values are fetched again at full length. */
#define DB_COL_BUF_MIN 64
#define DB_COL_BUF_MAX (64u * 1024u)

struct db_pool {
  pthread_mutex_t mu;
  pthread_cond_t cv; /* signalled when a connection is released */
  db_conn *conns;
  unsigned size;
  db_pool_settings set;
};

static pthread_once_t db_lib_once = PTHREAD_ONCE_INIT;
static int db_lib_rc;

static void db_lib_init(void) { db_lib_rc = mysql_library_init(0, NULL, NULL); }

__attribute__((format(printf, 4, 5))) static void db_err_set(db_error *e, unsigned code,
                                                              const char *sqlstate,
                                                              const char *fmt, ...) {
  if (e == NULL) return;
  e->code = code;
  snprintf(e->sqlstate, sizeof e->sqlstate, "%s", sqlstate ? sqlstate : "HY000");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->message, sizeof e->message, fmt, ap);
  va_end(ap);
}

static void db_err_from_mysql(db_error *e, MYSQL *m) {
  unsigned code = mysql_errno(m);
  db_err_set(e, code ? code : CR_UNKNOWN_ERROR, mysql_sqlstate(m), "%s",
             code ? mysql_error(m) : "unknown client error");
}

static void db_err_from_stmt(db_error *e, MYSQL_STMT *st) {
  unsigned code = mysql_stmt_errno(st);
  db_err_set(e, code ? code : CR_UNKNOWN_ERROR, mysql_stmt_sqlstate(st), "%s",
             code ? mysql_stmt_error(st) : "unknown client error");
}

bool db_error_is_retryable(const db_error *e) {
  return e != NULL && (e->code == ER_LOCK_DEADLOCK || e->code == ER_LOCK_WAIT_TIMEOUT);
}

bool db_error_is_connection(const db_error *e) {
  if (e == NULL) return false;
  switch (e->code) {
  case CR_CONNECTION_ERROR:     /* 2002 */
  case CR_CONN_HOST_ERROR:      /* 2003 */
  case CR_IPSOCK_ERROR:         /* 2004 */
  case CR_UNKNOWN_HOST:         /* 2005 */
  case CR_SERVER_GONE_ERROR:    /* 2006 */
  case CR_SERVER_HANDSHAKE_ERR: /* 2012 */
  case CR_SERVER_LOST:          /* 2013 */
  case CR_SERVER_LOST_EXTENDED: /* 2055 */
  case CR_ERR_NET_READ:         /* 5013 */
  case CR_ERR_NET_WRITE:        /* 5014 */
  case ER_CON_COUNT_ERROR:      /* 1040: server full, or our pool exhausted */
  case ER_SERVER_SHUTDOWN:      /* 1053 */
  case ER_ABORTING_CONNECTION:  /* 1152 */
  case ER_NET_READ_ERROR:       /* 1158 */
  case ER_NET_READ_INTERRUPTED: /* 1159 */
  case ER_NET_ERROR_ON_WRITE:   /* 1160 */
  case ER_NET_WRITE_INTERRUPTED: /* 1161 */
  case ER_NEW_ABORTING_CONNECTION: /* 1184 */
  case ER_CONNECTION_KILLED:    /* 1927 */
    return true;
  default:
    /* SQLSTATE class 08 is "connection exception" whatever the number. */
    return e->sqlstate[0] == '0' && e->sqlstate[1] == '8';
  }
}

/* Remembers that conn can no longer be trusted, so release closes it. A command out of
 * sync means our protocol state is lost: equally unusable. */
static void db_conn_note_error(db_conn *conn, const db_error *e) {
  if (db_error_is_connection(e) || (e != NULL && e->code == CR_COMMANDS_OUT_OF_SYNC))
    conn->broken = true;
}

static void stmt_cache_clear(db_conn *conn) {
  for (size_t i = 0; i < conn->nstmts; i++) {
    /* On a dead connection this only frees memory: the close packet fails silently. */
    mysql_stmt_close(conn->stmts[i].stmt);
    free(conn->stmts[i].sql);
  }
  free(conn->stmts);
  conn->stmts = NULL;
  conn->nstmts = 0;
  conn->capstmts = 0;
}

static void db_conn_close(db_conn *conn) {
  stmt_cache_clear(conn);
  if (conn->mysql != NULL) mysql_close(conn->mysql);
  conn->mysql = NULL;
  conn->broken = false;
}

/* Session settings applied on every (re)connect, so behaviour does not depend on how
 * the server is configured:
 * - innodb_lock_wait_timeout: the default 50 s outlives our read timeout, so a lock wait
 *   would surface as a lost connection (unknown outcome, reconnect) instead of a clean,
 *   retryable 1205. It is kept below the read timeout.
 * - strict sql_mode: a value that does not fit is an error, never silently truncated
 *   (money!).
 * - time_zone UTC: TIMESTAMP columns read and write as UTC text.
 * Isolation stays at the server default, REPEATABLE READ: plain SELECTs read a snapshot,
 * so read-modify-write code must lock with SELECT ... FOR UPDATE (which reads the latest
 * committed row). */
static void session_init_sql(const db_pool_settings *s, char *out, size_t outlen) {
  unsigned lock_wait = s->io_timeout_s / 2;
  if (lock_wait > 5) lock_wait = 5;
  if (lock_wait < 1) lock_wait = 1;
  snprintf(out, outlen,
           "SET SESSION innodb_lock_wait_timeout=%u, time_zone='+00:00', "
           "sql_mode='STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,"
           "NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION'",
           lock_wait);
}

static MYSQL *db_connect_raw(const db_pool_settings *s, unsigned long flags, unsigned io_timeout_s,
                      db_error *e) {
  MYSQL *m = mysql_init(NULL);
  if (m == NULL) {
    db_err_set(e, CR_OUT_OF_MEMORY, "HY000", "mysql_init: out of memory");
    return NULL;
  }
  unsigned ct = s->connect_timeout_s, io = io_timeout_s;
  my_bool off = 0;
  char init_sql[256];
  session_init_sql(s, init_sql, sizeof init_sql);
  mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
  mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &io);
  mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &io);
  /* Never let the library reconnect behind our back: it would silently drop the open
   * transaction and the prepared statements. We reconnect explicitly instead. */
  mysql_optionsv(m, MYSQL_OPT_RECONNECT, &off);
  mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  mysql_optionsv(m, MYSQL_INIT_COMMAND, init_sql);
  if (mysql_real_connect(m, s->host, s->user, s->password, s->database, s->port, NULL,
                         flags) == NULL) {
    db_err_from_mysql(e, m);
    /* A handshake failure is a connection error for the caller whatever its number
     * (e.g. auth), but keep the server's code and text for the log. */
    mysql_close(m);
    return NULL;
  }
  return m;
}

static int db_conn_connect(db_conn *conn, db_error *e) {
  db_conn_close(conn);
  conn->mysql = db_connect_raw(&conn->pool->set, 0, conn->pool->set.io_timeout_s, e);
  if (conn->mysql == NULL) return -1;
  conn->last_used_ms = time_mono_ms();
  return 0;
}

static char *dup_or_empty(const char *s) { return strdup(s ? s : ""); }

db_pool *db_pool_new(const db_config *cfg, char *err, size_t errlen) {
  if (cfg == NULL || cfg->host == NULL || *cfg->host == '\0' || cfg->user == NULL) {
    snprintf(err, errlen, "db: host and user are required");
    return NULL;
  }
  if (cfg->port > 65535) {
    snprintf(err, errlen, "db: port %u out of range", cfg->port);
    return NULL;
  }
  pthread_once(&db_lib_once, db_lib_init);
  if (db_lib_rc != 0) {
    snprintf(err, errlen, "db: mysql_library_init failed");
    return NULL;
  }
  db_pool *p = calloc(1, sizeof *p);
  if (p == NULL) goto oom;
  p->size = cfg->pool_size ? cfg->pool_size : 16;
  p->set.port = cfg->port ? cfg->port : 3306;
  p->set.connect_timeout_s = cfg->connect_timeout_s ? cfg->connect_timeout_s : 3;
  p->set.io_timeout_s = cfg->io_timeout_s ? cfg->io_timeout_s : 10;
  p->set.host = strdup(cfg->host);
  p->set.user = strdup(cfg->user);
  p->set.password = dup_or_empty(cfg->password);
  p->set.database = cfg->database ? strdup(cfg->database) : NULL;
  p->conns = calloc(p->size, sizeof *p->conns);
  if (!p->set.host || !p->set.user || !p->set.password || (cfg->database && !p->set.database) ||
      !p->conns)
    goto oom;
  for (unsigned i = 0; i < p->size; i++) p->conns[i].pool = p;

  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  /* Waits are measured on the monotonic clock: a wall-clock jump must not stretch them. */
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&p->cv, &ca);
  pthread_condattr_destroy(&ca);
  pthread_mutex_init(&p->mu, NULL);
  return p;

oom:
  snprintf(err, errlen, "db: out of memory");
  if (p != NULL) {
    free(p->set.host);
    free(p->set.user);
    free(p->set.password);
    free(p->set.database);
    free(p->conns);
    free(p);
  }
  return NULL;
}

void db_pool_free(db_pool *pool) {
  if (pool == NULL) return;
  for (unsigned i = 0; i < pool->size; i++) db_conn_close(&pool->conns[i]);
  pthread_mutex_destroy(&pool->mu);
  pthread_cond_destroy(&pool->cv);
  free(pool->conns);
  free(pool->set.host);
  free(pool->set.user);
  free(pool->set.password);
  free(pool->set.database);
  free(pool);
}

/* An idle connection, preferring one already connected; NULL when all are taken. */
static db_conn *pick_idle(db_pool *pool) {
  db_conn *unconnected = NULL;
  for (unsigned i = 0; i < pool->size; i++) {
    db_conn *c = &pool->conns[i];
    if (c->in_use) continue;
    if (c->mysql != NULL) return c;
    if (unconnected == NULL) unconnected = c;
  }
  return unconnected;
}

static void give_back(db_pool *pool, db_conn *conn) {
  pthread_mutex_lock(&pool->mu);
  conn->in_use = false;
  pthread_cond_signal(&pool->cv);
  pthread_mutex_unlock(&pool->mu);
}

/* timeout_ms < 0 waits without limit; 0 does not wait. Connecting happens outside the
 * pool lock, so a slow or unreachable server delays only this caller. */
db_conn *db_pool_acquire(db_pool *pool, int timeout_ms, db_error *e) {
  if (pool == NULL) {
    db_err_set(e, CR_UNKNOWN_ERROR, "HY000", "db_pool_acquire: no pool");
    return NULL;
  }
  struct timespec deadline;
  time_deadline_ts(CLOCK_MONOTONIC, timeout_ms, &deadline);

  pthread_mutex_lock(&pool->mu);
  db_conn *conn;
  while ((conn = pick_idle(pool)) == NULL) {
    int rc = timeout_ms < 0 ? pthread_cond_wait(&pool->cv, &pool->mu)
                            : pthread_cond_timedwait(&pool->cv, &pool->mu, &deadline);
    if (rc == ETIMEDOUT && (conn = pick_idle(pool)) == NULL) break;
  }
  if (conn != NULL) conn->in_use = true;
  pthread_mutex_unlock(&pool->mu);
  if (conn == NULL) {
    /* No client code means "pool exhausted"; 1040 (too many connections, SQLSTATE 08004)
     * says the same thing and is classed as a connection error, so callers answer 503. */
    db_err_set(e, ER_CON_COUNT_ERROR, "08004",
               "db pool: all %u connections busy for %d ms", pool->size, timeout_ms);
    return NULL;
  }

  if (conn->mysql != NULL && !conn->broken &&
      time_mono_ms() - conn->last_used_ms > DB_IDLE_PING_MS && mysql_ping(conn->mysql) != 0)
    conn->broken = true;
  if (conn->mysql == NULL || conn->broken) {
    if (db_conn_connect(conn, e) != 0) {
      give_back(pool, conn);
      return NULL;
    }
  }
  return conn;
}

static bool db_conn_in_transaction(db_conn *conn) {
  unsigned status = 0;
  if (conn->mysql == NULL) return false;
  if (mariadb_get_infov(conn->mysql, MARIADB_CONNECTION_SERVER_STATUS, &status) != 0)
    return true; /* unknown: assume the worst, the caller rolls back */
  return (status & SERVER_STATUS_IN_TRANS) != 0;
}

void db_pool_release(db_pool *pool, db_conn *conn) {
  if (pool == NULL || conn == NULL) return;
  if (conn->mysql != NULL && !conn->broken && db_conn_in_transaction(conn)) {
    /* A caller returned mid-transaction (an early error path): never let the next user
     * inherit its locks and half-done writes. */
    if (mysql_rollback(conn->mysql) != 0) conn->broken = true;
  }
  if (conn->broken) db_conn_close(conn);
  conn->last_used_ms = time_mono_ms();
  give_back(pool, conn);
}

/* ---- prepared statements ---- */

/* FNV-1a: the shapes of one head differ only near their ends, so comparing strings
 * alone would read most of every same-head entry on each lookup. */
static uint64_t sql_hash(const char *sql) {
  uint64_t h = 14695981039346656037u;
  for (const unsigned char *p = (const unsigned char *)sql; *p; p++) h = (h ^ *p) * 1099511628211u;
  return h;
}

/* The cached statement for sql, preparing it on first use. */
static MYSQL_STMT *stmt_get(db_conn *conn, const char *sql, db_error *e) {
  uint64_t hash = sql_hash(sql);
  for (size_t i = 0; i < conn->nstmts; i++) {
    if (conn->stmts[i].hash == hash && strcmp(conn->stmts[i].sql, sql) == 0) {
      return conn->stmts[i].stmt;
    }
  }
  MYSQL_STMT *st = mysql_stmt_init(conn->mysql);
  if (st == NULL) {
    db_err_from_mysql(e, conn->mysql);
    return NULL;
  }
  if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
    db_err_from_stmt(e, st);
    mysql_stmt_close(st);
    return NULL;
  }
  my_bool on = 1;
  mysql_stmt_attr_set(st, STMT_ATTR_UPDATE_MAX_LENGTH, &on);

  if (conn->nstmts == DB_STMT_CACHE_MAX) {
    /* Evict the oldest entry. */
    mysql_stmt_close(conn->stmts[0].stmt);
    free(conn->stmts[0].sql);
    memmove(&conn->stmts[0], &conn->stmts[1], (conn->nstmts - 1) * sizeof conn->stmts[0]);
    conn->nstmts--;
  }
  if (conn->nstmts == conn->capstmts) {
    size_t cap = conn->capstmts ? conn->capstmts * 2 : 8;
    db_stmt_entry *n = realloc(conn->stmts, cap * sizeof *n);
    if (n == NULL) goto oom;
    conn->stmts = n;
    conn->capstmts = cap;
  }
  char *key = strdup(sql);
  if (key == NULL) goto oom;
  conn->stmts[conn->nstmts++] = (db_stmt_entry){.sql = key, .hash = hash, .stmt = st};
  return st;

oom:
  mysql_stmt_close(st);
  db_err_set(e, CR_OUT_OF_MEMORY, "HY001", "db: out of memory caching a statement");
  return NULL;
}

static int conn_usable(db_conn *conn, db_error *e) {
  if (conn == NULL || conn->mysql == NULL) {
    db_err_set(e, CR_SERVER_GONE_ERROR, "08S01", "db: connection is not open");
    return -1;
  }
  if (conn->broken) {
    /* Fail fast: the socket is known dead, the next command would only time out or
     * report the same thing less clearly. */
    db_err_set(e, CR_SERVER_GONE_ERROR, "08S01",
               "db: connection was lost earlier; release it and acquire another");
    return -1;
  }
  return 0;
}

/* Prepares (or reuses), binds and executes. Returns the statement, NULL with e filled. */
static MYSQL_STMT *stmt_run(db_conn *conn, const char *sql, const db_param *params,
                            size_t nparams, db_error *e) {
  MYSQL_STMT *ret = NULL;
  MYSQL_BIND *binds = NULL;
  unsigned long *lens = NULL;
  long long *ints = NULL;
  if (conn_usable(conn, e) != 0) return NULL;
  if (sql == NULL || (nparams > 0 && params == NULL)) {
    db_err_set(e, CR_INVALID_PARAMETER_NO, "HY000", "db: missing sql or params");
    return NULL;
  }
  MYSQL_STMT *st = stmt_get(conn, sql, e);
  if (st == NULL) goto fail;
  unsigned long want = mysql_stmt_param_count(st);
  if (want != nparams) {
    db_err_set(e, CR_INVALID_PARAMETER_NO, "HY000",
               "db: statement takes %lu parameters, %zu given", want, nparams);
    return NULL;
  }
  if (nparams > 0) { /* one block: binds, then lengths, then integers */
    binds = calloc(1, nparams * (sizeof *binds + sizeof *lens + sizeof *ints));
    if (binds == NULL) {
      db_err_set(e, CR_OUT_OF_MEMORY, "HY001", "db: out of memory binding parameters");
      goto out;
    }
    lens = (unsigned long *)(binds + nparams);
    ints = (long long *)(lens + nparams);
  }
  for (size_t i = 0; i < nparams; i++) {
    const db_param *p = &params[i];
    switch (p->type) {
    case DB_NULL:
      binds[i].buffer_type = MYSQL_TYPE_NULL;
      break;
    case DB_I64:
      ints[i] = p->i64;
      binds[i].buffer_type = MYSQL_TYPE_LONGLONG;
      binds[i].buffer = &ints[i];
      break;
    case DB_STR:
    case DB_BLOB:
      lens[i] = (unsigned long)p->len;
      binds[i].buffer_type = p->type == DB_STR ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
      /* The library only reads the buffer; "" stands in for an empty NULL pointer. */
      binds[i].buffer = (void *)(p->ptr ? p->ptr : "");
      binds[i].buffer_length = lens[i];
      binds[i].length = &lens[i];
      break;
    default:
      db_err_set(e, CR_UNSUPPORTED_PARAM_TYPE, "HY000", "db: parameter %zu has bad type %d",
                 i + 1, (int)p->type);
      goto out;
    }
  }
  if (nparams > 0 && mysql_stmt_bind_param(st, binds) != 0) {
    db_err_from_stmt(e, st);
    goto fail;
  }
  if (mysql_stmt_execute(st) != 0) {
    db_err_from_stmt(e, st);
    goto fail;
  }
  ret = st;
  goto out;

fail:
  db_conn_note_error(conn, e);
out:
  free(binds);
  return ret;
}

int db_exec(db_conn *conn, const char *sql, const db_param *params, size_t nparams,
            uint64_t *affected, db_error *e) {
  MYSQL_STMT *st = stmt_run(conn, sql, params, nparams, e);
  if (st == NULL) return -1;
  if (affected != NULL) {
    my_ulonglong n = mysql_stmt_affected_rows(st);
    *affected = n == (my_ulonglong)-1 ? 0 : (uint64_t)n;
  }
  /* A statement that did return rows: drain them so the connection stays in sync. */
  if (mysql_stmt_field_count(st) > 0) {
    if (mysql_stmt_store_result(st) != 0) {
      db_err_from_stmt(e, st);
      db_conn_note_error(conn, e);
      mysql_stmt_free_result(st);
      return -1;
    }
  }
  mysql_stmt_free_result(st);
  return 0;
}

/* ---- buffered rows ---- */

typedef struct db_cell {
  char *p;    /* NULL for SQL NULL; else len bytes + NUL, in the rows' text */
  size_t off; /* where those bytes start in text (p is set once every row is in) */
  size_t len;
  bool null;
} db_cell;

/* Every value's bytes go into one text buffer (a malloc per value before: a group's
 * locking SELECT alone returned about seventy). */
struct db_rows {
  size_t nrows, ncols, cap; /* cap counted in rows */
  db_cell *cells;           /* nrows * ncols, row-major */
  char *text;
  size_t text_len, text_cap;
};

static int rows_push(db_rows *r, db_cell *row) {
  if (r->nrows == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 16;
    db_cell *n = realloc(r->cells, cap * r->ncols * sizeof *n);
    if (n == NULL) return -1;
    r->cells = n;
    r->cap = cap;
  }
  memcpy(&r->cells[r->nrows * r->ncols], row, r->ncols * sizeof *row);
  r->nrows++;
  return 0;
}

/* A column's fetch buffer: its longest value in this result, within fixed bounds. */
static unsigned long col_buf_size(const MYSQL_FIELD *f) {
  unsigned long sz = f->max_length + 1;
  if (sz < DB_COL_BUF_MIN) sz = DB_COL_BUF_MIN;
  if (sz > DB_COL_BUF_MAX) sz = DB_COL_BUF_MAX;
  return sz;
}

/* Room for n more bytes of text; its offset, or SIZE_MAX when out of memory. */
static size_t rows_text_reserve(db_rows *r, size_t n) {
  if (n > SIZE_MAX / 4 || r->text_len > SIZE_MAX / 4) return SIZE_MAX;
  if (r->text_cap - r->text_len < n) {
    size_t cap = r->text_cap ? r->text_cap : 1024;
    while (cap - r->text_len < n) cap *= 2;
    char *t = realloc(r->text, cap);
    if (t == NULL) return SIZE_MAX;
    r->text = t;
    r->text_cap = cap;
  }
  size_t off = r->text_len;
  r->text_len += n;
  return off;
}

int db_query(db_conn *conn, const char *sql, const db_param *params, size_t nparams,
             db_rows **out, db_error *e) {
  int ret = -1;
  MYSQL_RES *meta = NULL;
  db_rows *r = NULL;
  MYSQL_BIND *binds = NULL; /* one allocation: binds, row, lengths, nulls, buffers */
  unsigned long *lens = NULL;
  my_bool *nulls = NULL;
  db_cell *row = NULL;
  size_t ncols = 0;
  if (out != NULL) *out = NULL;

  MYSQL_STMT *st = stmt_run(conn, sql, params, nparams, e);
  if (st == NULL) return -1;
  r = calloc(1, sizeof *r);
  if (r == NULL) goto oom;
  r->ncols = ncols = mysql_stmt_field_count(st);
  if (ncols == 0) goto done; /* not a SELECT: an empty result */

  if (mysql_stmt_store_result(st) != 0) goto stmt_err;
  meta = mysql_stmt_result_metadata(st);
  if (meta == NULL) goto stmt_err;
  MYSQL_FIELD *fields = mysql_fetch_fields(meta);
  /* Everything is fetched as text: the library formats numbers and dates, and leaves
   * BLOB bytes as they are. max_length (from STMT_ATTR_UPDATE_MAX_LENGTH) sizes each
   * column's buffer; anything longer is fetched again below. */
  size_t bufs = 0;
  for (size_t c = 0; c < ncols; c++) bufs += col_buf_size(&fields[c]);
  binds = calloc(1, ncols * (sizeof *binds + sizeof *row + sizeof *lens + sizeof *nulls) + bufs);
  if (binds == NULL) goto oom;
  row = (db_cell *)(binds + ncols);
  lens = (unsigned long *)(row + ncols);
  nulls = (my_bool *)(lens + ncols);
  char *buf = (char *)(nulls + ncols);
  for (size_t c = 0; c < ncols; c++) {
    unsigned long sz = col_buf_size(&fields[c]);
    binds[c].buffer_type = MYSQL_TYPE_STRING;
    binds[c].buffer = buf;
    binds[c].buffer_length = sz;
    binds[c].length = &lens[c];
    binds[c].is_null = &nulls[c];
    buf += sz;
  }
  if (mysql_stmt_bind_result(st, binds) != 0) goto stmt_err;

  for (;;) {
    int rc = mysql_stmt_fetch(st);
    if (rc == MYSQL_NO_DATA) break;
    if (rc == 1) goto stmt_err;
    for (size_t c = 0; c < ncols; c++) {
      row[c] = (db_cell){.null = nulls[c] != 0};
      if (nulls[c]) continue;
      size_t len = lens[c];
      size_t off = rows_text_reserve(r, len + 1);
      if (off == SIZE_MAX) goto oom;
      char *p = r->text + off;
      if (len < binds[c].buffer_length) {
        memcpy(p, binds[c].buffer, len);
      } else if (len > 0) {
        /* Truncated (or exactly filling the buffer): fetch the whole value. */
        MYSQL_BIND full = {0};
        unsigned long flen = 0;
        full.buffer_type = MYSQL_TYPE_STRING;
        full.buffer = p;
        full.buffer_length = len + 1;
        full.length = &flen;
        if (mysql_stmt_fetch_column(st, &full, (unsigned)c, 0) != 0) goto stmt_err;
      }
      p[len] = '\0';
      row[c].off = off;
      row[c].len = len;
    }
    if (rows_push(r, row) != 0) goto oom;
  }
  /* The text no longer moves: point every value into it. */
  for (size_t i = 0; i < r->nrows * ncols; i++)
    if (!r->cells[i].null) r->cells[i].p = r->text + r->cells[i].off;

done:
  if (out != NULL) {
    *out = r;
    r = NULL;
  }
  ret = 0;
  goto out;

stmt_err:
  db_err_from_stmt(e, st);
  db_conn_note_error(conn, e);
  goto out;
oom:
  db_err_set(e, CR_OUT_OF_MEMORY, "HY001", "db: out of memory reading rows");
out:
  mysql_stmt_free_result(st);
  if (meta != NULL) mysql_free_result(meta);
  free(binds);
  db_rows_free(r);
  return ret;
}

size_t db_rows_count(const db_rows *rows) { return rows ? rows->nrows : 0; }

size_t db_rows_columns(const db_rows *rows) { return rows ? rows->ncols : 0; }

static const db_cell *cell_at(const db_rows *rows, size_t row, size_t col) {
  if (rows == NULL || row >= rows->nrows || col >= rows->ncols) return NULL;
  return &rows->cells[row * rows->ncols + col];
}

bool db_rows_is_null(const db_rows *rows, size_t row, size_t col) {
  const db_cell *c = cell_at(rows, row, col);
  return c == NULL || c->p == NULL;
}

const char *db_rows_str(const db_rows *rows, size_t row, size_t col, size_t *len) {
  const db_cell *c = cell_at(rows, row, col);
  if (len != NULL) *len = (c && c->p) ? c->len : 0;
  return c ? c->p : NULL;
}

int64_t db_rows_i64(const db_rows *rows, size_t row, size_t col) {
  const db_cell *c = cell_at(rows, row, col);
  if (c == NULL || c->p == NULL || c->len == 0) return 0;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(c->p, &end, 10);
  /* Out of range (a BIGINT UNSIGNED above INT64_MAX) is "not an int64": 0, as for text. */
  if (errno != 0 || end != c->p + c->len) return 0;
  return (int64_t)v;
}

void db_rows_free(db_rows *rows) {
  if (rows == NULL) return;
  free(rows->text);
  free(rows->cells);
  free(rows);
}

/* ---- transactions ---- */

/* A statement without parameters over the text protocol (no prepare round trip). */
static int simple_cmd(db_conn *conn, const char *sql, db_error *e) {
  if (conn_usable(conn, e) != 0) return -1;
  if (mysql_real_query(conn->mysql, sql, strlen(sql)) != 0) {
    db_err_from_mysql(e, conn->mysql);
    db_conn_note_error(conn, e);
    return -1;
  }
  return 0;
}

int db_begin(db_conn *conn, db_error *e) { return simple_cmd(conn, "START TRANSACTION", e); }

int db_commit(db_conn *conn, db_error *e) { return simple_cmd(conn, "COMMIT", e); }

int db_rollback(db_conn *conn, db_error *e) { return simple_cmd(conn, "ROLLBACK", e); }

int db_ping(db_conn *conn, db_error *e) {
  if (conn_usable(conn, e) != 0) return -1;
  if (mysql_ping(conn->mysql) != 0) {
    db_err_from_mysql(e, conn->mysql);
    db_conn_note_error(conn, e);
    return -1;
  }
  return 0;
}

/* Sleeps a random 1..cap ms, cap growing 2, 4, 8, 16, 20 with the attempt: two
 * transactions that just deadlocked should not collide again in lockstep. */
static void tx_backoff(int attempt) {
  static _Thread_local unsigned seed;
  if (seed == 0) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    seed = (unsigned)ts.tv_nsec ^ (unsigned)(uintptr_t)&ts ^ 0x9e3779b9u;
    if (seed == 0) seed = 1;
  }
  unsigned cap = attempt >= 5 ? 20 : 1u << attempt;
  if (cap > 20) cap = 20;
  unsigned ms = 1 + (unsigned)rand_r(&seed) % cap;
  struct timespec d = {.tv_sec = 0, .tv_nsec = (long)ms * 1000000L};
  while (nanosleep(&d, &d) != 0 && errno == EINTR) {
  }
}

/* Best effort: the transaction is being abandoned anyway. A rollback that fails on a
 * dead connection marks it broken; the server rolls back on disconnect by itself. */
static void tx_abandon(db_conn *conn) {
  db_error ignored;
  if (conn->mysql != NULL && !conn->broken) db_rollback(conn, &ignored);
}

/* Retry policy:
 * - deadlock / lock wait timeout (from fn or, rarely, from COMMIT): roll back and run the
 *   whole transaction again, up to max_attempts in total. fn runs again from scratch, so
 *   it must reset whatever it wrote into ctx.
 * - connection lost BEFORE COMMIT was sent (in BEGIN or inside fn): nothing was
 *   committed (the server rolls back a transaction whose session ends), so one reconnect
 *   and a fresh attempt are safe.
 * - connection lost DURING COMMIT: the server may or may not have committed before the
 *   socket died, and a new session cannot tell. Retrying could apply the transaction
 *   twice, so we return -1 with the connection error and "outcome unknown" in the
 *   message; callers must treat it as unknown (e.g. answer 503 and let the client
 *   retry with an idempotency key, or check the effect by reading). */
int db_transaction(db_conn *conn, db_tx_fn fn, void *ctx, int max_attempts, db_error *e) {
  db_error local;
  if (e == NULL) e = &local;
  if (conn == NULL || fn == NULL) {
    db_err_set(e, CR_UNKNOWN_ERROR, "HY000", "db_transaction: no connection or body");
    return -1;
  }
  if (max_attempts < 1) max_attempts = 1;
  if (conn->mysql != NULL && !conn->broken && db_conn_in_transaction(conn)) {
    /* START TRANSACTION would silently commit the caller's open transaction. */
    db_err_set(e, CR_COMMANDS_OUT_OF_SYNC, "25000",
               "db_transaction: connection is already inside a transaction");
    return -1;
  }
  bool reconnected = false;
  for (int attempt = 1;;) {
    if (conn->mysql == NULL || conn->broken) {
      if (reconnected) return -1; /* e holds the failure that got us here */
      reconnected = true;
      if (db_conn_connect(conn, e) != 0) {
        conn->broken = true; /* release closes what is left */
        return -1;
      }
    }
    int rc = db_begin(conn, e);
    if (rc == 0) {
      rc = fn(conn, ctx, e);
      if (rc == 1) {
        tx_abandon(conn);
        return 1;
      }
      if (rc == 0) {
        if (db_commit(conn, e) == 0) return 0;
        if (db_error_is_connection(e)) {
          size_t n = strlen(e->message);
          const char *tag = " (COMMIT outcome unknown)";
          if (n + strlen(tag) < sizeof e->message) memcpy(e->message + n, tag, strlen(tag) + 1);
          return -1;
        }
      }
    }
    /* Here rc is -1: BEGIN, fn or COMMIT failed with e filled. */
    tx_abandon(conn);
    if (db_error_is_connection(e)) {
      if (reconnected) return -1;
      conn->broken = true; /* the loop head reconnects */
      continue;
    }
    /* Only e decides whether to run again: a failed rollback after a business error
     * must not turn into a retry. */
    if (!db_error_is_retryable(e) || attempt >= max_attempts) return -1;
    tx_backoff(attempt);
    attempt++;
  }
}
