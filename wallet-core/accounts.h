/* accounts: where money lives (create with an AccountCreated event, get, list by id pages). */
#ifndef WALLET_CORE_ACCOUNTS_H
#define WALLET_CORE_ACCOUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "events.h"
#include "uuid.h"
#include "wallet_err.h"

typedef struct account_row {
  char id[UUID_STR_LEN];
  char client_id[UUID_STR_LEN];
  int64_t balance; /* minor units */
  int64_t version; /* 1 at creation, +1 per transfer touching it */
  int64_t created_us;
} account_row;

/* Opens an account for client_id with balance 0, version 1, and writes AccountCreated to
 * the outbox in the same transaction. WALLET_NOT_FOUND for an unknown client. The caller
 * notifies the relay after a WALLET_OK. */
wallet_rc accounts_create(db_conn *conn, const wallet_topics *topics, const char *client_id,
                          account_row *out, wallet_err *e);

/* By id (any case), with its current balance and version. */
wallet_rc accounts_get(db_conn *conn, const char *id, account_row *out, wallet_err *e);

/* Keyset page: up to `limit` accounts with id > after, in id order; *rows malloc'd (caller
 * frees); *more set when another page exists. */
wallet_rc accounts_list(db_conn *conn, const char *after, int limit, account_row **rows,
                        size_t *n, int *more, wallet_err *e);

#endif
