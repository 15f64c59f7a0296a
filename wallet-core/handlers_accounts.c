/* handlers_accounts: POST /accounts, GET /accounts/{id}, GET /accounts. */
#include <stddef.h>

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

static wallet_rc list_accounts_page(db_conn *conn, const char *after, int limit, void **rows,
                                    size_t *n, int *more, wallet_err *e) {
  account_row *r = NULL;
  wallet_rc rc = accounts_list(conn, after, limit, &r, n, more, e);
  *rows = r;
  return rc;
}

static const paging_spec account_pages = {
    .list = list_accounts_page,
    .row_size = sizeof(account_row),
    .id_offset = offsetof(account_row, id),
    .item = &wallet__v1__account__descriptor,
    .fill = fill_account_row,
};

rpc_code handlers_list_accounts(http_call *call, const ProtobufCMessage *req,
                                ProtobufCMessage *resp, rpc_status *st) {
  const Wallet__V1__ListAccountsRequest *in = (const Wallet__V1__ListAccountsRequest *)req;
  Wallet__V1__ListAccountsResponse *out = (Wallet__V1__ListAccountsResponse *)resp;
  ProtobufCMessage **items = NULL;
  rpc_code code = paging_handle(call, &account_pages, in->page_size, in->page_token, &items,
                                &out->n_accounts, &out->next_page_token, st);
  out->accounts = (Wallet__V1__Account **)items;
  return code;
}
