/* handlers: wallet-core's thin protobuf handlers (validate, call a domain function, map
 * its outcome with wallet_err_to_rpc). Each expects http_call_app() to be a wallet_app. */
#ifndef WALLET_CORE_HANDLERS_H
#define WALLET_CORE_HANDLERS_H

#include <stdint.h>

#include "db.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "http_server.h"
#include "wallet_api.h" /* the handlers, one per rpc (generated) */
#include "wallet_err.h"

/* Shared by the handler files. */

/* A pooled connection for this call, or NULL with st set to UNAVAILABLE (503). */
db_conn *handlers_acquire(http_call *call, rpc_status *st);
void handlers_release(http_call *call, db_conn *conn);
/* A Timestamp living as long as the call (NULL on OOM). */
Google__Protobuf__Timestamp *handlers_timestamp(http_call *call, int64_t epoch_us);
/* strdup into the call's memory; "" on OOM so a response never holds NULL strings. */
char *handlers_str(http_call *call, const char *s);
/* http_server_config.on_rejected: a POST /transactions the server refused before its
 * handler ran (undecodable body, 415, 413) counts in transfers_rejected_total too. */
void handlers_on_rejected(http_call *call, unsigned status, rpc_code code);

#endif
