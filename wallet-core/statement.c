/* statement: one keyset page of an account's transfers, from both sides' indexes. */
#include "statement.h"

#include <stdio.h>
#include <string.h>

#include "accounts.h"
#include "dbtime.h"

wallet_rc statement_page(db_conn *conn, const char *account, int64_t before, int limit,
                         statement_row *out, size_t *n, bool *more, wallet_err *e) {
  *n = 0;
  *more = false;
  /* Each branch is a backwards range of (account_id_x, version_account_id_x) taking at
   * most limit+1 rows; the merge keeps the newest limit+1 of both. An account's versions
   * are distinct across both sides (each transfer bumps it once). */
  db_param p[] = {DB_P_STR(account), DB_P_I64(before), DB_P_I64(limit + 1),
                  DB_P_STR(account), DB_P_I64(before), DB_P_I64(limit + 1),
                  DB_P_I64(limit + 1)};
  db_rows *rows = NULL;
  db_error dbe = {0};
  if (db_query(conn,
               "(SELECT id, version_account_id_from AS v, account_id_to, -amount,"
               " balance_account_id_from, created_at FROM transactions"
               " WHERE account_id_from = ? AND version_account_id_from < ?"
               " ORDER BY version_account_id_from DESC LIMIT ?)"
               " UNION ALL"
               " (SELECT id, version_account_id_to AS v, account_id_from, amount,"
               " balance_account_id_to, created_at FROM transactions"
               " WHERE account_id_to = ? AND version_account_id_to < ?"
               " ORDER BY version_account_id_to DESC LIMIT ?)"
               " ORDER BY v DESC LIMIT ?",
               p, 7, &rows, &dbe) != 0) {
    return wallet_err_from_db(e, &dbe, "reading a statement");
  }
  size_t count = db_rows_count(rows);
  *more = count > (size_t)limit;
  if (*more) count = (size_t)limit;
  for (size_t i = 0; i < count; i++) {
    statement_row *r = &out[i];
    const char *s = db_rows_str(rows, i, 0, NULL);
    snprintf(r->transaction_id, sizeof r->transaction_id, "%s", s ? s : "");
    r->version = db_rows_i64(rows, i, 1);
    s = db_rows_str(rows, i, 2, NULL);
    snprintf(r->counterparty_id, sizeof r->counterparty_id, "%s", s ? s : "");
    r->amount = db_rows_i64(rows, i, 3);
    r->balance_after = db_rows_i64(rows, i, 4);
    if (dbtime_parse(db_rows_str(rows, i, 5, NULL), &r->created_us) != 0) r->created_us = 0;
  }
  *n = count;
  db_rows_free(rows);
  if (count == 0 && before == INT64_MAX) {
    /* Nothing at all: an account without transfers, or no account (404). */
    account_row a;
    return accounts_get(conn, account, &a, e);
  }
  return WALLET_OK;
}
