/* wallet_err: domain outcomes and their single mapping to rpc codes. */
#include "wallet_err.h"

#include <stdarg.h>
#include <stdio.h>

wallet_rc wallet_err_set(wallet_err *e, wallet_rc rc, const char *fmt, ...) {
  if (e == NULL) return rc;
  e->rc = rc;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  return rc;
}

wallet_rc wallet_err_from_db(wallet_err *e, const db_error *dbe, const char *what) {
  if (db_error_is_connection(dbe)) {
    return wallet_err_set(e, WALLET_UNAVAILABLE, "database unavailable while %s: %s", what,
                          dbe->message);
  }
  if (db_error_is_retryable(dbe)) {
    /* Deadlocks and lock waits are retried inside db_transaction; one still here used up
     * its attempts under heavy contention. Nothing was written: the client may retry,
     * so it is a 503, never a 500. */
    return wallet_err_set(e, WALLET_UNAVAILABLE, "too much contention while %s, please retry: "
                          "%s", what, dbe->message);
  }
  return wallet_err_set(e, WALLET_INTERNAL, "database error while %s: %s (%u)", what,
                        dbe->message, dbe->code);
}

rpc_code wallet_err_to_rpc(const wallet_err *e, rpc_status *st) {
  rpc_code code;
  switch (e->rc) {
  case WALLET_OK: return RPC_OK;
  case WALLET_INVALID: code = RPC_INVALID_ARGUMENT; break;
  case WALLET_NOT_FOUND: code = RPC_NOT_FOUND; break;
  case WALLET_INSUFFICIENT_FUNDS: code = RPC_FAILED_PRECONDITION; break;
  case WALLET_IDEMPOTENCY_MISMATCH: code = RPC_ABORTED; break;
  case WALLET_UNAVAILABLE: code = RPC_UNAVAILABLE; break;
  case WALLET_OUTCOME_UNKNOWN: code = RPC_UNAVAILABLE; break;
  default: code = RPC_INTERNAL; break;
  }
  return rpc_status_set(st, code, "%s", e->msg);
}
