/* statement: an account's transfers seen from that account (GET /accounts/{id}/transactions),
 * newest first by the account's own version. Every transfer row already stores both
 * accounts' balances and versions after it, so the statement is a read of the
 * transactions table: nothing is added to the money path but two widened indexes
 * (migrations/wallet-core/003_statement_index.sql). */
#ifndef WALLET_CORE_STATEMENT_H
#define WALLET_CORE_STATEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "uuid.h"
#include "wallet_err.h"

typedef struct statement_row {
  char transaction_id[UUID_STR_LEN];
  int64_t version;                    /* the account's version after the transfer */
  char counterparty_id[UUID_STR_LEN];
  int64_t amount;                     /* signed: < 0 sent, > 0 received */
  int64_t balance_after;
  int64_t created_us;
} statement_row;

/* Up to `limit` entries of `account` (canonical) with version < before (INT64_MAX from
 * the newest), newest first, into out (room for limit); *more: older entries follow.
 * NOT_FOUND when the account does not exist. */
wallet_rc statement_page(db_conn *conn, const char *account, int64_t before, int limit,
                         statement_row *out, size_t *n, bool *more, wallet_err *e);

#endif
