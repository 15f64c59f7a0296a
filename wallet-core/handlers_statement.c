/* handlers_statement: GET /accounts/{id}/transactions, the write side's statement. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "paging.h"
#include "statement.h"
#include "validate.h"
#include "version_token.h"
#include "wallet/v1/wallet_core.pb-c.h"

rpc_code handlers_list_account_transactions(http_call *call, const ProtobufCMessage *req,
                                            ProtobufCMessage *resp, rpc_status *st) {
  const Wallet__V1__ListAccountTransactionsRequest *in =
      (const Wallet__V1__ListAccountTransactionsRequest *)req;
  Wallet__V1__ListAccountTransactionsResponse *out =
      (Wallet__V1__ListAccountTransactionsResponse *)resp;
  wallet_err e = {0};
  char id[UUID_STR_LEN];
  int limit = 0;
  if (validate_uuid("id", in->id, id, &e) != WALLET_OK ||
      validate_page_size(in->page_size, PAGING_DEFAULT, PAGING_MAX, &limit, &e) != WALLET_OK) {
    return wallet_err_to_rpc(&e, st);
  }
  int64_t before = INT64_MAX;
  if (in->page_token[0] != '\0' && !version_token_parse(in->page_token, &before)) {
    return rpc_status_set(st, RPC_INVALID_ARGUMENT, "page_token: not a token of this statement");
  }
  statement_row *rows = calloc((size_t)limit, sizeof *rows);
  if (rows == NULL) return rpc_status_set(st, RPC_RESOURCE_EXHAUSTED, "out of memory");
  db_conn *conn = handlers_acquire(call, st);
  if (conn == NULL) {
    free(rows);
    return st->code;
  }
  size_t n = 0;
  bool more = false;
  wallet_rc rc = statement_page(conn, id, before, limit, rows, &n, &more, &e);
  handlers_release(call, conn);
  if (rc != WALLET_OK) {
    free(rows);
    return wallet_err_to_rpc(&e, st);
  }
  out->account_id = handlers_str(call, id);
  out->entries = http_call_alloc(call, (n ? n : 1) * sizeof *out->entries);
  if (out->entries == NULL) goto oom;
  for (size_t i = 0; i < n; i++) {
    Wallet__V1__StatementEntry *m = (Wallet__V1__StatementEntry *)http_call_new_message(
        call, &wallet__v1__statement_entry__descriptor);
    if (m == NULL) goto oom;
    m->transaction_id = handlers_str(call, rows[i].transaction_id);
    m->version = rows[i].version;
    m->counterparty_account_id = handlers_str(call, rows[i].counterparty_id);
    m->amount = rows[i].amount;
    m->balance_after = rows[i].balance_after;
    m->created_at = handlers_timestamp(call, rows[i].created_us);
    out->entries[out->n_entries++] = m;
  }
  if (more && n > 0) {
    char tok[VERSION_TOKEN_LEN];
    version_token_format(rows[n - 1].version, tok);
    out->next_page_token = handlers_str(call, tok);
  }
  free(rows);
  return RPC_OK;
oom:
  free(rows);
  return rpc_status_set(st, RPC_RESOURCE_EXHAUSTED, "out of memory");
}
