/* read_model: SQL on the balances table; newer-version-wins upserts in batches. */
#include "read_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbtime.h"
#include "history.h"
#include "sqlbatch.h"

#define RM_MAX_ROWS_PER_STMT 1024

static int rm_cmp(const void *a, const void *b) {
  const rm_update *x = a, *y = b;
  int c = strcmp(x->account_id, y->account_id);
  if (c != 0) return c;
  /* Highest version first, so the first of each run is the one to keep. */
  return (x->version < y->version) - (x->version > y->version);
}

size_t rm_collapse(rm_update *u, size_t n) {
  if (n == 0) return 0;
  qsort(u, n, sizeof *u, rm_cmp);
  size_t out = 1;
  for (size_t i = 1; i < n; i++) {
    if (strcmp(u[i].account_id, u[out - 1].account_id) != 0) u[out++] = u[i];
  }
  return out;
}

/* The upsert for exactly `rows` rows. MariaDB evaluates the SET list left to right with
 * already-updated values, so balance and updated_at must compare against the old version
 * before version itself is raised. Caller frees. */
static char *rm_upsert_sql(size_t rows) {
  static const char head[] =
      "INSERT INTO balances (account_id, balance, version, updated_at) VALUES ";
  static const char tuple[] = "(?,?,?,?)";
  static const char tail[] =
      " ON DUPLICATE KEY UPDATE"
      " balance = IF(VALUES(version) > version, VALUES(balance), balance),"
      " updated_at = IF(VALUES(version) > version, VALUES(updated_at), updated_at),"
      " version = GREATEST(version, VALUES(version))";
  return sqlbatch_repeat_sql(head, tuple, rows, tail);
}

static size_t rm_bucket(size_t n) {
  size_t b = 1;
  while (b < n) b <<= 1;
  return b;
}

/* One statement for u[0..n), n <= RM_MAX_ROWS_PER_STMT. */
static int rm_apply_chunk(db_conn *conn, const rm_update *u, size_t n, db_error *e) {
  size_t rows = rm_bucket(n);
  int rc = -1;
  char *sql = rm_upsert_sql(rows);
  db_param *params = calloc(rows * 4, sizeof *params);
  char(*times)[DBTIME_LEN] = calloc(n, sizeof *times);
  if (sql == NULL || params == NULL || times == NULL) {
    e->code = 2008; /* CR_OUT_OF_MEMORY */
    snprintf(e->message, sizeof e->message, "read model: out of memory");
    goto out;
  }
  for (size_t i = 0; i < rows; i++) {
    /* Padding repeats the last row: a duplicate key with an equal version is a no-op. */
    size_t src = i < n ? i : n - 1;
    dbtime_format(u[src].updated_at_us, times[src]);
    params[4 * i + 0] = DB_P_STR(u[src].account_id);
    params[4 * i + 1] = DB_P_I64(u[src].balance);
    params[4 * i + 2] = DB_P_I64(u[src].version);
    params[4 * i + 3] = DB_P_STR(times[src]);
  }
  rc = db_exec(conn, sql, params, rows * 4, NULL, e);
out:
  free(times);
  free(params);
  free(sql);
  return rc;
}

int rm_apply(db_conn *conn, const rm_update *u, size_t n, db_error *e) {
  for (size_t off = 0; off < n; off += RM_MAX_ROWS_PER_STMT) {
    size_t k = n - off < RM_MAX_ROWS_PER_STMT ? n - off : RM_MAX_ROWS_PER_STMT;
    if (rm_apply_chunk(conn, u + off, k, e) != 0) return -1;
  }
  return 0;
}

static int rm_row(const db_rows *rows, size_t i, rm_update *out, db_error *e) {
  const char *id = db_rows_str(rows, i, 0, NULL);
  snprintf(out->account_id, sizeof out->account_id, "%s", id ? id : "");
  out->balance = db_rows_i64(rows, i, 1);
  out->version = db_rows_i64(rows, i, 2);
  if (dbtime_parse(db_rows_str(rows, i, 3, NULL), &out->updated_at_us) != 0) {
    e->code = 0;
    snprintf(e->message, sizeof e->message, "read model: bad updated_at for %s",
             out->account_id);
    return -1;
  }
  return 0;
}

int rm_get_many(db_conn *conn, const char *const *ids, size_t n, rm_update *out,
                size_t *found, db_error *e) {
  *found = 0;
  if (n == 0) return 0;
  size_t slots = sqlbatch_in_slots(n);
  char *sql = sqlbatch_in_sql("SELECT account_id, balance, version, updated_at FROM balances"
                              " WHERE account_id IN (", slots, ")");
  db_param *p = calloc(slots, sizeof *p);
  db_rows *rows = NULL;
  int rc = -1;
  if (sql == NULL || p == NULL) {
    e->code = 2008; /* CR_OUT_OF_MEMORY */
    snprintf(e->message, sizeof e->message, "read model: out of memory");
    goto out;
  }
  for (size_t i = 0; i < slots; i++) p[i] = DB_P_STR(ids[i < n ? i : n - 1]);
  if (db_query(conn, sql, p, slots, &rows, e) != 0) goto out;
  size_t count = db_rows_count(rows);
  if (count > n) count = n; /* cannot happen: ids are the primary key */
  for (size_t i = 0; i < count; i++) {
    if (rm_row(rows, i, &out[i], e) != 0) goto out;
  }
  *found = count;
  rc = 0;
out:
  db_rows_free(rows);
  free(p);
  free(sql);
  return rc;
}

/* The rows of one query into a new array (caller frees). */
static int rm_rows_to_array(const db_rows *rows, rm_update **out, size_t *n, db_error *e) {
  size_t count = db_rows_count(rows);
  rm_update *v = calloc(count ? count : 1, sizeof *v);
  if (v == NULL) {
    snprintf(e->message, sizeof e->message, "read model: out of memory");
    return -1;
  }
  for (size_t i = 0; i < count; i++) {
    if (rm_row(rows, i, &v[i], e) != 0) {
      free(v);
      return -1;
    }
  }
  *out = v;
  *n = count;
  return 0;
}

int rm_list(db_conn *conn, rm_update **out, size_t *n, db_error *e) {
  db_rows *rows = NULL;
  *out = NULL;
  *n = 0;
  if (db_query(conn,
               "SELECT account_id, balance, version, updated_at FROM balances"
               " ORDER BY account_id",
               NULL, 0, &rows, e) != 0) {
    return -1;
  }
  int rc = rm_rows_to_array(rows, out, n, e);
  db_rows_free(rows);
  return rc;
}

int rm_list_page(db_conn *conn, const char *after, int limit, rm_update *out, size_t *n,
                 bool *more, db_error *e) {
  *n = 0;
  *more = false;
  /* One row beyond the page says whether another page follows. */
  db_param p[] = {DB_P_STR(after), DB_P_I64(limit + 1)};
  db_rows *rows = NULL;
  if (db_query(conn,
               "SELECT account_id, balance, version, updated_at FROM balances"
               " WHERE account_id > ? ORDER BY account_id LIMIT ?",
               p, 2, &rows, e) != 0) {
    return -1;
  }
  size_t count = db_rows_count(rows);
  *more = count > (size_t)limit;
  if (*more) count = (size_t)limit;
  int rc = 0;
  for (size_t i = 0; i < count && rc == 0; i++) {
    memset(&out[i], 0, sizeof out[i]);
    rc = rm_row(rows, i, &out[i], e);
  }
  if (rc == 0) *n = count;
  db_rows_free(rows);
  return rc;
}

int rm_clear(db_conn *conn, db_error *e) {
  return db_exec(conn, "DELETE FROM balances", NULL, 0, NULL, e);
}

typedef struct rm_tx_ctx {
  const rm_update *latest; /* the newest update per account */
  size_t nlatest;
  const rm_update *all;    /* every update, for the history */
  size_t nall;
  int flags;
} rm_tx_ctx;

static int rm_tx_body(db_conn *conn, void *ctx, db_error *e) {
  rm_tx_ctx *c = ctx;
  /* Balances first, then history: every writer takes its locks in the same order. */
  if (rm_apply(conn, c->latest, c->nlatest, e) != 0) return -1;
  if ((c->flags & RM_HISTORY) && history_apply(conn, c->all, c->nall, e) != 0) return -1;
  return 0;
}

int rm_apply_tx(db_pool *pool, rm_update *u, size_t n, int flags, db_error *e) {
  if (n == 0) return 0;
  qsort(u, n, sizeof *u, rm_cmp);
  /* The first of each account's run is its newest: those go to the balances table. u
   * itself stays whole (a retried transaction needs every row again). */
  rm_update *latest = malloc(n * sizeof *latest);
  if (latest == NULL) {
    e->code = 2008; /* CR_OUT_OF_MEMORY */
    snprintf(e->message, sizeof e->message, "read model: out of memory");
    return -1;
  }
  size_t nl = 0;
  for (size_t i = 0; i < n; i++) {
    if (i == 0 || strcmp(u[i].account_id, u[i - 1].account_id) != 0) latest[nl++] = u[i];
  }
  /* Short acquire timeout: the projector is the only caller and retries with backoff. */
  db_conn *conn = db_pool_acquire(pool, 2000, e);
  if (conn == NULL) {
    free(latest);
    return -1;
  }
  rm_tx_ctx ctx = {latest, nl, u, n, flags};
  int rc = db_transaction(conn, rm_tx_body, &ctx, 5, e);
  db_pool_release(pool, conn);
  free(latest);
  return rc == 0 ? 0 : -1;
}
