/* wallet_err: the outcome of a domain operation, independent of HTTP; the handlers map it
 * to an rpc code in one place (wallet_err_to_rpc). */
#ifndef WALLET_CORE_WALLET_ERR_H
#define WALLET_CORE_WALLET_ERR_H

#include "db.h"
#include "rpc_status.h"

typedef enum wallet_rc {
  WALLET_OK = 0,
  WALLET_INVALID,              /* bad input: 400 */
  WALLET_NOT_FOUND,            /* unknown client, account or transaction: 404 */
  WALLET_INSUFFICIENT_FUNDS,   /* 400 FAILED_PRECONDITION */
  WALLET_IDEMPOTENCY_MISMATCH, /* key reused with another request: 409 ABORTED */
  WALLET_UNAVAILABLE,          /* database unreachable or pool exhausted: 503 */
  WALLET_OUTCOME_UNKNOWN,      /* connection lost during COMMIT: 503, retry with the key */
  WALLET_INTERNAL,             /* anything else: 500 */
} wallet_rc;

#define WALLET_ERR_MAX 256

typedef struct wallet_err {
  wallet_rc rc;
  char msg[WALLET_ERR_MAX];
} wallet_err;

/* Sets rc and a printf message; returns rc. e may be NULL. */
wallet_rc wallet_err_set(wallet_err *e, wallet_rc rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A database failure: connection-level errors, and deadlocks or lock waits that used up
 * their retries, become WALLET_UNAVAILABLE (nothing was written; the client may retry);
 * anything else WALLET_INTERNAL. `what` says what we were doing. Returns rc. */
wallet_rc wallet_err_from_db(wallet_err *e, const db_error *dbe, const char *what);

/* The rpc code for e, with st's message copied from e. */
rpc_code wallet_err_to_rpc(const wallet_err *e, rpc_status *st);

#endif
