/* handlers_accounts: POST /accounts, GET /accounts/{id}, GET /accounts. */
#include <stdlib.h>

#include "accounts.h"
#include "app.h"
#include "handlers.h"
#include "paging.h"
#include "validate.h"
#include "wallet/v1/wallet_core.pb-c.h"

static void fill_account(http_call *call, const account_row *a, Wallet__V1__Account *out) {
  out->id = handlers_str(call, a->id);
  out->client_id = handlers_str(call, a->client_id);
  out->balance = a->balance;
  out->version = a->version;
  out->created_at = handlers_timestamp(call, a->created_us);
}

rpc_code handlers_create_account(http_call *call, const ProtobufCMessage *req,
                                 ProtobufCMessage *resp, rpc_status *st) {
  const Wallet__V1__CreateAccountRequest *in = (const Wallet__V1__CreateAccountRequest *)req;
  wallet_app *app = http_call_app(call);
  wallet_err e = {0};
  char client_id[UUID_STR_LEN];
  if (validate_uuid("client_id", in->client_id, client_id, &e) != WALLET_OK) {
    return wallet_err_to_rpc(&e, st);
  }
  db_conn *conn = handlers_acquire(call, st);
  if (conn == NULL) return st->code;
  account_row a;
  wallet_rc rc = accounts_create(conn, &app->topics, client_id, &a, &e);
  handlers_release(call, conn);
  if (rc != WALLET_OK) return wallet_err_to_rpc(&e, st);
  outbox_relay_notify(app->relay); /* AccountCreated is committed: publish it now */
  fill_account(call, &a, (Wallet__V1__Account *)resp);
  return RPC_OK;
}

rpc_code handlers_get_account(http_call *call, const ProtobufCMessage *req,
                              ProtobufCMessage *resp, rpc_status *st) {
  const Wallet__V1__GetAccountRequest *in = (const Wallet__V1__GetAccountRequest *)req;
  wallet_err e = {0};
  char id[UUID_STR_LEN];
  if (validate_uuid("id", in->id, id, &e) != WALLET_OK) return wallet_err_to_rpc(&e, st);
  db_conn *conn = handlers_acquire(call, st);
  if (conn == NULL) return st->code;
  account_row a;
  wallet_rc rc = accounts_get(conn, id, &a, &e);
  handlers_release(call, conn);
  if (rc != WALLET_OK) return wallet_err_to_rpc(&e, st);
  fill_account(call, &a, (Wallet__V1__Account *)resp);
  return RPC_OK;
}

static void fill_account_row(http_call *call, const void *row, ProtobufCMessage *msg) {
  fill_account(call, row, (Wallet__V1__Account *)msg);
}

rpc_code handlers_list_accounts(http_call *call, const ProtobufCMessage *req,
                                ProtobufCMessage *resp, rpc_status *st) {
  const Wallet__V1__ListAccountsRequest *in = (const Wallet__V1__ListAccountsRequest *)req;
  Wallet__V1__ListAccountsResponse *out = (Wallet__V1__ListAccountsResponse *)resp;
  wallet_err e = {0};
  paging_req page;
  if (paging_parse(in->page_size, in->page_token, &page, &e) != WALLET_OK) {
    return wallet_err_to_rpc(&e, st);
  }
  db_conn *conn = handlers_acquire(call, st);
  if (conn == NULL) return st->code;
  account_row *rows = NULL;
  size_t n = 0;
  int more = 0;
  wallet_rc rc = accounts_list(conn, page.after, page.limit, &rows, &n, &more, &e);
  handlers_release(call, conn);
  if (rc != WALLET_OK) return wallet_err_to_rpc(&e, st);
  ProtobufCMessage **msgs = NULL;
  rpc_code code = paging_fill(call, rows, n, sizeof *rows, &wallet__v1__account__descriptor,
                              fill_account_row, &msgs, &out->n_accounts, st);
  out->accounts = (Wallet__V1__Account **)msgs;
  if (code == RPC_OK && more && n > 0) out->next_page_token = handlers_str(call, rows[n - 1].id);
  free(rows);
  return code;
}
