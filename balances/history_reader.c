/* history_reader: SQL reads of balance_history and balances for the listing endpoints. */
#include "history_reader.h"

#include <stdio.h>
#include <string.h>

#include "dbtime.h"

static int hr_entries(db_rows *rows, int limit, history_entry *out, size_t *n, bool *more,
                      db_error *e) {
  size_t count = db_rows_count(rows);
  *more = count > (size_t)limit;
  if (*more) count = (size_t)limit;
  for (size_t i = 0; i < count; i++) {
    if (history_row(rows, i, &out[i], e) != 0) return -1;
  }
  *n = count;
  return 0;
}

int hr_page(db_conn *conn, const char *account, int64_t before, int limit,
            history_entry *out, size_t *n, bool *more, db_error *e) {
  *n = 0;
  *more = false;
  /* One row beyond the page says whether another page follows. PK range, backwards. */
  db_param p[] = {DB_P_STR(account), DB_P_I64(before), DB_P_I64(limit + 1)};
  db_rows *rows = NULL;
  if (db_query(conn,
               "SELECT " HISTORY_COLUMNS " FROM balance_history"
               " WHERE account_id = ? AND version < ? ORDER BY version DESC LIMIT ?",
               p, 3, &rows, e) != 0) {
    return -1;
  }
  int rc = hr_entries(rows, limit, out, n, more, e);
  db_rows_free(rows);
  return rc;
}

int hr_bounds(db_conn *conn, const char *account, int64_t *latest, int64_t *complete,
              db_error *e) {
  *latest = *complete = 0;
  db_param p[] = {DB_P_STR(account)};
  db_rows *rows = NULL;
  if (db_query(conn,
               "SELECT COALESCE(MAX(version), 0), COUNT(*), COALESCE(MIN(version), 0)"
               " FROM balance_history WHERE account_id = ?",
               p, 1, &rows, e) != 0) {
    return -1;
  }
  int64_t max = db_rows_count(rows) ? db_rows_i64(rows, 0, 0) : 0;
  int64_t count = db_rows_count(rows) ? db_rows_i64(rows, 0, 1) : 0;
  int64_t min = db_rows_count(rows) ? db_rows_i64(rows, 0, 2) : 0;
  db_rows_free(rows);
  *latest = max;
  /* Versions are distinct integers >= 1: count == max means exactly 1..max (the usual
   * case, answered by the same index range). Otherwise find the first gap. */
  if (count == max || min != 1) {
    *complete = count == max ? max : 0;
    return 0;
  }
  if (db_query(conn,
               "SELECT MIN(h.version) FROM balance_history h WHERE h.account_id = ?"
               " AND NOT EXISTS (SELECT 1 FROM balance_history x"
               " WHERE x.account_id = h.account_id AND x.version = h.version + 1)",
               p, 1, &rows, e) != 0) {
    return -1;
  }
  *complete = db_rows_count(rows) ? db_rows_i64(rows, 0, 0) : 0;
  db_rows_free(rows);
  return 0;
}

int hr_as_of(db_conn *conn, const char *account, int64_t at_us, history_entry *out,
             bool *found, db_error *e) {
  *found = false;
  char at[DBTIME_LEN];
  dbtime_format(at_us, at);
  db_param p[] = {DB_P_STR(account), DB_P_STR(at)};
  db_rows *rows = NULL;
  /* balance_history_as_of (account_id, occurred_at): one dive backwards from at. */
  if (db_query(conn,
               "SELECT " HISTORY_COLUMNS " FROM balance_history"
               " WHERE account_id = ? AND occurred_at <= ?"
               " ORDER BY occurred_at DESC, version DESC LIMIT 1",
               p, 2, &rows, e) != 0) {
    return -1;
  }
  int rc = 0;
  if (db_rows_count(rows) > 0) {
    rc = history_row(rows, 0, out, e);
    *found = rc == 0;
  }
  db_rows_free(rows);
  return rc;
}

int hr_balance_exists(db_conn *conn, const char *account, bool *exists, db_error *e) {
  db_param p[] = {DB_P_STR(account)};
  db_rows *rows = NULL;
  *exists = false;
  if (db_query(conn, "SELECT 1 FROM balances WHERE account_id = ?", p, 1, &rows, e) != 0) {
    return -1;
  }
  *exists = db_rows_count(rows) > 0;
  db_rows_free(rows);
  return 0;
}
