/* transfers: moving money between accounts. A list of transfers is applied in ONE DB
 * transaction: every touched account is locked in id order (so opposite transfers cannot
 * deadlock), the transfers are applied in list order in memory (a rejected one does not
 * fail its neighbours), then balances, versions, transaction rows and outbox events are
 * written and committed together. A list of one per HTTP request today; a batching
 * front end can queue many per transaction without changing this. */
#ifndef WALLET_CORE_TRANSFERS_H
#define WALLET_CORE_TRANSFERS_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "events.h"
#include "uuid.h"
#include "wallet_err.h"

/* A committed transfer with both accounts' balances and versions right after it. */
typedef struct transaction_row {
  char id[UUID_STR_LEN];
  char account_id_from[UUID_STR_LEN];
  char account_id_to[UUID_STR_LEN];
  int64_t amount;
  int64_t balance_from, balance_to;
  int64_t version_from, version_to;
  int64_t created_us;
} transaction_row;

/* One requested transfer. Strings are borrowed for the call; ids are validated and
 * normalised here. */
typedef struct transfer_request {
  const char *account_id_from;
  const char *account_id_to;
  int64_t amount;
  const char *idempotency_key; /* NULL: none (validate it before: 1..255 printable) */
} transfer_request;

typedef struct transfer_result {
  wallet_err err;     /* WALLET_OK when applied now or replayed */
  int replayed;       /* 1: the Idempotency-Key was used before; tx is that transfer */
  transaction_row tx; /* valid when err.rc == WALLET_OK */
} transfer_result;

/* Applies reqs[0..n) in one transaction (retried on deadlock / lock-wait timeout) and
 * fills results[0..n). Returns how many transfers were newly applied (the caller then
 * wakes the outbox relay), or -1 when the transaction as a whole failed: fatal says why
 * (WALLET_UNAVAILABLE, WALLET_OUTCOME_UNKNOWN when the connection died during COMMIT,
 * WALLET_INTERNAL) and every result carries that error (except requests that already
 * failed validation, which keep their own). */
int transfers_apply(db_conn *conn, const wallet_topics *topics, const transfer_request *reqs,
                    transfer_result *results, size_t n, wallet_err *fatal);

/* A committed transfer by id (any case). WALLET_NOT_FOUND when there is none. */
wallet_rc transfers_get(db_conn *conn, const char *id, transaction_row *out, wallet_err *e);

#endif
