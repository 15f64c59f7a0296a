/* handlers_accounts: POST /accounts, GET /accounts/{id}, GET /accounts. */
#include <stdlib.h>

#include "accounts.h"
#include "app.h"
#include "handlers.h"
#include "validate.h"
#include "wallet/v1/wallet_core.pb-c.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000

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

rpc_code handlers_list_accounts(http_call *call, const ProtobufCMessage *req,
                                ProtobufCMessage *resp, rpc_status *st) {
  const Wallet__V1__ListAccountsRequest *in = (const Wallet__V1__ListAccountsRequest *)req;
  Wallet__V1__ListAccountsResponse *out = (Wallet__V1__ListAccountsResponse *)resp;
  wallet_err e = {0};
  int limit;
  if (validate_page_size(in->page_size, PAGE_DEFAULT, PAGE_MAX, &limit, &e) != WALLET_OK) {
    return wallet_err_to_rpc(&e, st);
  }
  char after[UUID_STR_LEN] = "";
  if (in->page_token[0] != '\0' &&
      validate_uuid("page_token", in->page_token, after, &e) != WALLET_OK) {
    return wallet_err_to_rpc(&e, st);
  }
  db_conn *conn = handlers_acquire(call, st);
  if (conn == NULL) return st->code;
  account_row *rows = NULL;
  size_t n = 0;
  int more = 0;
  wallet_rc rc = accounts_list(conn, after, limit, &rows, &n, &more, &e);
  handlers_release(call, conn);
  if (rc != WALLET_OK) return wallet_err_to_rpc(&e, st);
  out->accounts = http_call_alloc(call, (n ? n : 1) * sizeof *out->accounts);
  if (out->accounts == NULL) {
    free(rows);
    return rpc_status_set(st, RPC_INTERNAL, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    Wallet__V1__Account *a =
        (Wallet__V1__Account *)http_call_new_message(call, &wallet__v1__account__descriptor);
    if (a == NULL) {
      free(rows);
      return rpc_status_set(st, RPC_INTERNAL, "out of memory");
    }
    fill_account(call, &rows[i], a);
    out->accounts[out->n_accounts++] = a;
  }
  if (more && n > 0) out->next_page_token = handlers_str(call, rows[n - 1].id);
  free(rows);
  return RPC_OK;
}
