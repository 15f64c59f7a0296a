/* read_model: the balances table: one row per account, the balance of the newest version
 * seen, and (history.h) the balance_history table: one row per account per version.
 * Applying is idempotent and order-free: a row only moves to a higher version, and a
 * history row, keyed by (account, version), is written once. */
#ifndef BALANCES_READ_MODEL_H
#define BALANCES_READ_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "uuid.h"

/* One account's state as an event reports it (or as a row holds it). */
typedef struct rm_update {
  char account_id[UUID_STR_LEN]; /* lowercase canonical UUID */
  int64_t balance;               /* minor units, >= 0 */
  int64_t version;               /* >= 1 */
  int64_t updated_at_us;         /* Unix epoch microseconds (UTC) */
  /* For the history entry of this version (history.h): */
  char transaction_id[UUID_STR_LEN];  /* "" for the account's creation */
  char counterparty_id[UUID_STR_LEN]; /* the other account; "" for the creation */
  int64_t amount;                     /* signed minor units: < 0 out, > 0 in */
} rm_update;

/* rm_apply_tx's flags. */
#define RM_HISTORY 1 /* also write every update's balance_history row */

/* Sorts u[0..n) by account and keeps, per account, the update with the highest version
 * (in place). Returns the new count. */
size_t rm_collapse(rm_update *u, size_t n);

/* Upserts u[0..n) (collapsed or not) inside the caller's transaction: a row is inserted,
 * or updated only where the update's version is newer than the stored one. Statements
 * use a fixed set of row counts (powers of two up to 1024, the tail padded with a
 * repeat of the last row, which changes nothing) so the per-connection statement cache
 * stays small. 0, or -1 with e filled. */
int rm_apply(db_conn *conn, const rm_update *u, size_t n, db_error *e);

/* Sorts u in place (by account, newest version first) and, in one transaction on a pooled
 * connection (deadlocks retried by db_transaction), upserts the newest update of each
 * account and, with RM_HISTORY in flags, inserts a history row for EVERY update (one
 * multi-row INSERT IGNORE per chunk). 0, or -1 with e filled (the database is away: the
 * caller retries the same updates later). */
int rm_apply_tx(db_pool *pool, rm_update *u, size_t n, int flags, db_error *e);

/* Reads the accounts ids[0..n) (duplicates allowed) with one SELECT ... IN: the rows
 * found go to out[0..*found) in no particular order (out has room for n). Statement
 * sizes come from sqlbatch_in_slots. 0, or -1 with e filled. */
int rm_get_many(db_conn *conn, const char *const *ids, size_t n, rm_update *out,
                size_t *found, db_error *e);

/* Every row, ordered by account (for rebuild checks and tests). Caller frees *out.
 * 0, or -1 with e filled. */
int rm_list(db_conn *conn, rm_update **out, size_t *n, db_error *e);

/* Up to `limit` rows with account_id > after ("" from the start), by account_id, into out
 * (room for limit): a keyset page (GET /balances, the view's snapshot). *more: rows
 * follow. 0, or -1 with e filled. */
int rm_list_page(db_conn *conn, const char *after, int limit, rm_update *out, size_t *n,
                 bool *more, db_error *e);

/* Deletes every row (rebuild). 0, or -1 with e filled. */
int rm_clear(db_conn *conn, db_error *e);

#endif
