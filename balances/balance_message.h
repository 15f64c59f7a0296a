/* balance_message: the wallet.v1.Balance answer of GET /balances/{id} from a row, the same
 * whether the row came from the table or from the in-memory view. */
#ifndef BALANCES_BALANCE_MESSAGE_H
#define BALANCES_BALANCE_MESSAGE_H

#include <stdbool.h>

#include "http_server.h"
#include "read_model.h"
#include "wallet/v1/balances.pb-c.h"

/* The 404 message, one spelling whichever path answers. */
#define BALANCE_NOT_FOUND_FMT "no balance for account %s"

/* Fills *out from row (storage from the call); stale also sets X-Read-Model-Stale.
 * false on OOM. */
bool balance_message_fill(http_call *call, Wallet__V1__Balance *out, const rm_update *row,
                          bool stale);

#endif
