/* sqlbatch: building and running multi-row statements of a few fixed shapes. */
#include "sqlbatch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows of one statement: the remainder itself up to SQLBATCH_EXACT_ROWS, else 256, 64 or
 * 32. A group of 15 rows used to take 8+4+2+1, four round trips and four executions; on
 * the bench machine that cost MariaDB ~20% more per transfer than a group of 16
 * (bench/transfer_ceiling.c). */
static size_t chunk_rows(size_t left) {
  if (left <= SQLBATCH_EXACT_ROWS) return left;
  return left >= 256 ? 256 : left >= 64 ? 64 : SQLBATCH_EXACT_ROWS;
}

size_t sqlbatch_in_slots(size_t k) {
  size_t s = 2;
  while (s < k) s *= 4;
  return s;
}

static void oom(db_error *e, const char *what) {
  e->code = 2008; /* CR_OUT_OF_MEMORY */
  snprintf(e->sqlstate, sizeof e->sqlstate, "HY001");
  snprintf(e->message, sizeof e->message, "out of memory building %s", what);
}

char *sqlbatch_repeat_sql(const char *head, const char *unit, size_t k, const char *tail) {
  size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
  char *sql = malloc(hl + k * (ul + 1) + tl + 1);
  if (sql == NULL) return NULL;
  char *p = sql;
  memcpy(p, head, hl);
  p += hl;
  for (size_t i = 0; i < k; i++) {
    if (i > 0) *p++ = ',';
    memcpy(p, unit, ul);
    p += ul;
  }
  memcpy(p, tail, tl + 1);
  return sql;
}

char *sqlbatch_in_sql(const char *head, size_t slots, const char *tail) {
  return sqlbatch_repeat_sql(head, "?", slots, tail);
}

int sqlbatch_insert(db_conn *conn, const char *head, const char *row, size_t ncols,
                    const char *tail, size_t n, sqlbatch_fill fill, const void *ctx,
                    db_error *e) {
  size_t done = 0;
  db_param *params = NULL;
  if (n == 0) return 0;
  params = malloc((n < SQLBATCH_MAX_ROWS ? n : SQLBATCH_MAX_ROWS) * ncols * sizeof *params);
  if (params == NULL) {
    oom(e, "an insert");
    return -1;
  }
  int rc = 0;
  while (done < n) {
    size_t k = chunk_rows(n - done);
    char *sql = sqlbatch_repeat_sql(head, row, k, tail);
    if (sql == NULL) {
      oom(e, "an insert");
      rc = -1;
      break;
    }
    for (size_t i = 0; i < k; i++) fill(ctx, done + i, &params[i * ncols]);
    rc = db_exec(conn, sql, params, k * ncols, NULL, e);
    free(sql);
    if (rc != 0) break;
    done += k;
  }
  free(params);
  return rc;
}
