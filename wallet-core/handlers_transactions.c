/* handlers_transactions: POST /transactions (with Idempotency-Key), GET /transactions/{id}. */
#include <string.h>

#include "app.h"
#include "handlers.h"
#include "transfer_batcher.h"
#include "transfers.h"
#include "validate.h"
#include "wallet/v1/wallet_core.pb-c.h"

static void fill_transaction(http_call *call, const transaction_row *t,
                             Wallet__V1__Transaction *out) {
  out->id = handlers_str(call, t->id);
  out->account_id_from = handlers_str(call, t->account_id_from);
  out->account_id_to = handlers_str(call, t->account_id_to);
  out->amount = t->amount;
  out->balance_account_id_from = t->balance_from;
  out->balance_account_id_to = t->balance_to;
  out->version_account_id_from = t->version_from;
  out->version_account_id_to = t->version_to;
  out->created_at = handlers_timestamp(call, t->created_us);
}

/* A POST /transactions parked until its group commits. Lives in the call's memory. */
typedef struct pending_transfer {
  http_call *call;
  Wallet__V1__Transaction *out;
} pending_transfer;

/* On a batcher thread, after the group's COMMIT: the answer, then the parked call goes. */
static void transfer_done(void *arg, const transfer_result *res) {
  pending_transfer *p = arg;
  rpc_status st = {.code = RPC_OK, .message = ""};
  if (res->err.rc != WALLET_OK) {
    wallet_err e = res->err;
    http_call_finish(p->call, wallet_err_to_rpc(&e, &st), &st);
    return;
  }
  if (res->replayed) http_call_set_status(p->call, 200);
  fill_transaction(p->call, &res->tx, p->out);
  http_call_finish(p->call, RPC_OK, NULL);
}

/* A transfer refused before it reached the batcher: counted under the same reasons as
 * the batcher's (transfers_rejected_total), so 4xx answers and rejections agree. */
static rpc_code reject(const wallet_err *e, rpc_status *st) {
  transfer_result r = {.err = *e};
  transfer_batcher_count(&r, 1);
  return wallet_err_to_rpc(e, st);
}

void handlers_on_rejected(http_call *call, unsigned status, rpc_code code) {
  (void)status;
  const char *route = http_call_route(call);
  const char *method = http_call_method(call);
  if (route == NULL || method == NULL || strcmp(route, "/transactions") != 0 ||
      strcmp(method, "POST") != 0)
    return;
  transfer_result r = {.err = {.rc = code == RPC_INTERNAL ? WALLET_INTERNAL : WALLET_INVALID}};
  transfer_batcher_count(&r, 1);
}

rpc_code handlers_create_transaction(http_call *call, const ProtobufCMessage *req,
                                     ProtobufCMessage *resp, rpc_status *st) {
  const Wallet__V1__CreateTransactionRequest *in =
      (const Wallet__V1__CreateTransactionRequest *)req;
  wallet_app *app = http_call_app(call);
  wallet_err e = {0};
  const char *key = http_call_header(call, "Idempotency-Key");
  if (key != NULL && validate_idempotency_key(key, &e) != WALLET_OK) return reject(&e, st);
  transfer_request rq = {
      .account_id_from = in->account_id_from,
      .account_id_to = in->account_id_to,
      .amount = in->amount,
      .idempotency_key = key,
  };
  /* Input errors need no connection: answer them before waiting for the pool. */
  char from[UUID_STR_LEN], to[UUID_STR_LEN];
  if (validate_uuid("account_id_from", rq.account_id_from, from, &e) != WALLET_OK ||
      validate_uuid("account_id_to", rq.account_id_to, to, &e) != WALLET_OK ||
      validate_amount(rq.amount, &e) != WALLET_OK) {
    return reject(&e, st);
  }
  transfer_result res;
  if (app->batcher != NULL) {
    /* Answered after its group's COMMIT (the batcher wakes the relay and counts); no
     * thread waits meanwhile. */
    pending_transfer *p = http_call_alloc(call, sizeof *p);
    if (p == NULL) return rpc_status_set(st, RPC_RESOURCE_EXHAUSTED, "out of memory");
    p->call = call;
    p->out = (Wallet__V1__Transaction *)resp;
    http_call_defer(call);
    transfer_batcher_submit_async(app->batcher, &rq, transfer_done, p);
    return RPC_OK;
  } else {
    db_conn *conn = handlers_acquire(call, st);
    if (conn == NULL) return st->code;
    wallet_err fatal;
    int applied = transfers_apply(conn, &app->topics, &rq, &res, 1, &fatal);
    handlers_release(call, conn);
    if (applied > 0) outbox_relay_notify(app->relay);
    transfer_batcher_count(&res, 1);
  }
  if (res.err.rc != WALLET_OK) return wallet_err_to_rpc(&res.err, st);
  if (res.replayed) http_call_set_status(call, 200);
  fill_transaction(call, &res.tx, (Wallet__V1__Transaction *)resp);
  return RPC_OK;
}

rpc_code handlers_get_transaction(http_call *call, const ProtobufCMessage *req,
                                  ProtobufCMessage *resp, rpc_status *st) {
  const Wallet__V1__GetTransactionRequest *in = (const Wallet__V1__GetTransactionRequest *)req;
  wallet_err e = {0};
  char id[UUID_STR_LEN];
  if (validate_uuid("id", in->id, id, &e) != WALLET_OK) return wallet_err_to_rpc(&e, st);
  db_conn *conn = handlers_acquire(call, st);
  if (conn == NULL) return st->code;
  transaction_row t;
  wallet_rc rc = transfers_get(conn, id, &t, &e);
  handlers_release(call, conn);
  if (rc != WALLET_OK) return wallet_err_to_rpc(&e, st);
  fill_transaction(call, &t, (Wallet__V1__Transaction *)resp);
  return RPC_OK;
}
