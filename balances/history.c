/* history: multi-row INSERT IGNORE into balance_history, and the table's bulk reads. */
#include "history.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbtime.h"
#include "sqlbatch.h"

typedef struct history_fill_ctx {
  const rm_update *u;
  char (*times)[DBTIME_LEN];
} history_fill_ctx;

static void history_fill(const void *ctx, size_t row, db_param *out) {
  const history_fill_ctx *c = ctx;
  const rm_update *u = &c->u[row];
  out[0] = DB_P_STR(u->account_id);
  out[1] = DB_P_I64(u->version);
  out[2] = DB_P_STR(u->transaction_id);
  out[3] = DB_P_STR(u->counterparty_id);
  out[4] = DB_P_I64(u->amount);
  out[5] = DB_P_I64(u->balance);
  out[6] = DB_P_STR(c->times[row]);
}

int history_apply(db_conn *conn, const rm_update *u, size_t n, db_error *e) {
  if (n == 0) return 0;
  char(*times)[DBTIME_LEN] = malloc(n * sizeof *times);
  if (times == NULL) {
    e->code = 2008; /* CR_OUT_OF_MEMORY */
    snprintf(e->message, sizeof e->message, "history: out of memory");
    return -1;
  }
  for (size_t i = 0; i < n; i++) dbtime_format(u[i].updated_at_us, times[i]);
  history_fill_ctx ctx = {u, times};
  /* IGNORE: a duplicate (account_id, version) is a redelivery or a replay of the same
   * event; the first copy stays (they are equal: the event is immutable). */
  int rc = sqlbatch_insert(conn,
                           "INSERT IGNORE INTO balance_history (account_id, version,"
                           " transaction_id, counterparty_id, amount, balance_after,"
                           " occurred_at) VALUES ",
                           "(?,?,?,?,?,?,?)", 7, "", n, history_fill, &ctx, e);
  free(times);
  return rc;
}

int history_row(const db_rows *rows, size_t i, history_entry *out, db_error *e) {
  const char *s = db_rows_str(rows, i, 0, NULL);
  snprintf(out->account_id, sizeof out->account_id, "%s", s ? s : "");
  out->version = db_rows_i64(rows, i, 1);
  s = db_rows_str(rows, i, 2, NULL);
  snprintf(out->transaction_id, sizeof out->transaction_id, "%s", s ? s : "");
  s = db_rows_str(rows, i, 3, NULL);
  snprintf(out->counterparty_id, sizeof out->counterparty_id, "%s", s ? s : "");
  out->amount = db_rows_i64(rows, i, 4);
  out->balance_after = db_rows_i64(rows, i, 5);
  if (dbtime_parse(db_rows_str(rows, i, 6, NULL), &out->occurred_at_us) != 0) {
    e->code = 0;
    snprintf(e->message, sizeof e->message, "history: bad occurred_at for %s v%lld",
             out->account_id, (long long)out->version);
    return -1;
  }
  return 0;
}

int history_list(db_conn *conn, history_entry **out, size_t *n, db_error *e) {
  db_rows *rows = NULL;
  *out = NULL;
  *n = 0;
  if (db_query(conn,
               "SELECT " HISTORY_COLUMNS " FROM balance_history ORDER BY account_id, version",
               NULL, 0, &rows, e) != 0) {
    return -1;
  }
  int rc = -1;
  size_t count = db_rows_count(rows);
  history_entry *v = calloc(count ? count : 1, sizeof *v);
  if (v == NULL) {
    snprintf(e->message, sizeof e->message, "history: out of memory");
    goto out;
  }
  for (size_t i = 0; i < count; i++) {
    if (history_row(rows, i, &v[i], e) != 0) goto out;
  }
  *out = v;
  *n = count;
  v = NULL;
  rc = 0;
out:
  free(v);
  db_rows_free(rows);
  return rc;
}

int history_clear(db_conn *conn, db_error *e) {
  return db_exec(conn, "DELETE FROM balance_history", NULL, 0, NULL, e);
}
