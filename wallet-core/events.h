/* events: the protobuf events wallet-core publishes (events.proto), built from committed
 * state and written to the outbox in the same transaction. */
#ifndef WALLET_CORE_EVENTS_H
#define WALLET_CORE_EVENTS_H

#include <stdint.h>

#include "db.h"
#include "outbox.h"

/* Topic names, configurable so tests can use unique ones. */
typedef struct wallet_topics {
  const char *transactions; /* TransactionCreated */
  const char *balances;     /* BalanceUpdated, AccountCreated */
} wallet_topics;

/* {"transactions", "balances"}. */
extern const wallet_topics events_default_topics;

/* What a committed transfer changed (both balances and versions right after it). */
typedef struct events_transfer {
  const char *transaction_id;
  const char *account_id_from;
  const char *account_id_to;
  int64_t amount;
  int64_t balance_from, balance_to;
  int64_t version_from, version_to;
  int64_t occurred_us;
} events_transfer;

/* AccountCreated on topics->balances, key = account_id. 0, or -1 with e filled. */
int events_account_created(db_conn *conn, const wallet_topics *topics, const char *account_id,
                           const char *client_id, int64_t balance, int64_t version,
                           int64_t occurred_us, db_error *e);

/* TransactionCreated on topics->transactions and BalanceUpdated on topics->balances, both
 * keyed by account_id_from: every event of a transfer lands in the partition of the
 * account it debits, so one account's debits keep their order. (Credits to an account
 * travel under the debtor's key; the read model orders them by version.) */
int events_transfer_done(db_conn *conn, const wallet_topics *topics, const events_transfer *t,
                         db_error *e);

/* The same two events as events_transfer_done, packed into out[0] (TransactionCreated)
 * and out[1] (BalanceUpdated) for a batched outbox_insert_rows. Strings of t are
 * borrowed by the rows. 0, or -1 with e filled (nothing left to free). */
int events_transfer_rows(const wallet_topics *topics, const events_transfer *t,
                         outbox_row out[2], db_error *e);

#endif
