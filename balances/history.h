/* history: the balance_history projection (migrations/balances/003_history.sql): one row
 * per account per event, keyed by (account_id, version). Written by the projector in the
 * same transaction as the balances upsert (read_model.c), so a committed batch has both
 * or neither; INSERT IGNORE makes redelivery and replay change nothing and arrival order
 * irrelevant: the table is a set of facts, not a sequence of steps. */
#ifndef BALANCES_HISTORY_H
#define BALANCES_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "read_model.h"

/* One stored entry (the same fields an rm_update carries for its version). */
typedef struct history_entry {
  char account_id[UUID_STR_LEN];
  int64_t version;
  char transaction_id[UUID_STR_LEN];  /* "" for version 1 */
  char counterparty_id[UUID_STR_LEN]; /* "" for version 1 */
  int64_t amount;                     /* signed */
  int64_t balance_after;
  int64_t occurred_at_us;
} history_entry;

/* Inserts one history row per update u[0..n) inside the caller's transaction, in
 * multi-row INSERT IGNORE statements (sqlbatch chunk sizes). 0, or -1 with e filled. */
int history_apply(db_conn *conn, const rm_update *u, size_t n, db_error *e);

/* Every row, ordered by (account_id, version) (rebuild checks, tests). Caller frees *out.
 * 0, or -1 with e filled. */
int history_list(db_conn *conn, history_entry **out, size_t *n, db_error *e);

/* Deletes every row (rebuild). 0, or -1 with e filled. */
int history_clear(db_conn *conn, db_error *e);

/* Decodes row i of a SELECT of the columns HISTORY_COLUMNS into *out. 0, or -1 with e
 * filled (a malformed occurred_at). */
#define HISTORY_COLUMNS \
  "account_id, version, transaction_id, counterparty_id, amount, balance_after, occurred_at"
int history_row(const db_rows *rows, size_t i, history_entry *out, db_error *e);

#endif
