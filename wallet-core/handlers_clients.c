/* handlers_clients: POST /clients, GET /clients/{id}, GET /clients. */
#include <stdlib.h>

#include "clients.h"
#include "handlers.h"
#include "validate.h"
#include "wallet/v1/wallet_core.pb-c.h"

#define PAGE_DEFAULT 100
#define PAGE_MAX 1000

static void fill_client(http_call *call, const client_row *c, Wallet__V1__Client *out) {
  out->id = handlers_str(call, c->id);
  out->name = handlers_str(call, c->name);
  out->email = handlers_str(call, c->email);
  out->created_at = handlers_timestamp(call, c->created_us);
}

rpc_code handlers_create_client(http_call *call, const ProtobufCMessage *req,
                                ProtobufCMessage *resp, rpc_status *st) {
  const Wallet__V1__CreateClientRequest *in = (const Wallet__V1__CreateClientRequest *)req;
  wallet_err e = {0};
  /* Validate before taking a connection: bad input must not wait for the pool. */
  if (validate_name(in->name, &e) != WALLET_OK || validate_email(in->email, &e) != WALLET_OK) {
    return wallet_err_to_rpc(&e, st);
  }
  db_conn *conn = handlers_acquire(call, st);
  if (conn == NULL) return st->code;
  client_row c;
  wallet_rc rc = clients_create(conn, in->name, in->email, &c, &e);
  handlers_release(call, conn);
  if (rc != WALLET_OK) return wallet_err_to_rpc(&e, st);
  fill_client(call, &c, (Wallet__V1__Client *)resp);
  return RPC_OK;
}

rpc_code handlers_get_client(http_call *call, const ProtobufCMessage *req,
                             ProtobufCMessage *resp, rpc_status *st) {
  const Wallet__V1__GetClientRequest *in = (const Wallet__V1__GetClientRequest *)req;
  wallet_err e = {0};
  char id[UUID_STR_LEN];
  if (validate_uuid("id", in->id, id, &e) != WALLET_OK) return wallet_err_to_rpc(&e, st);
  db_conn *conn = handlers_acquire(call, st);
  if (conn == NULL) return st->code;
  client_row c;
  wallet_rc rc = clients_get(conn, id, &c, &e);
  handlers_release(call, conn);
  if (rc != WALLET_OK) return wallet_err_to_rpc(&e, st);
  fill_client(call, &c, (Wallet__V1__Client *)resp);
  return RPC_OK;
}

rpc_code handlers_list_clients(http_call *call, const ProtobufCMessage *req,
                               ProtobufCMessage *resp, rpc_status *st) {
  const Wallet__V1__ListClientsRequest *in = (const Wallet__V1__ListClientsRequest *)req;
  Wallet__V1__ListClientsResponse *out = (Wallet__V1__ListClientsResponse *)resp;
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
  client_row *rows = NULL;
  size_t n = 0;
  int more = 0;
  wallet_rc rc = clients_list(conn, after, limit, &rows, &n, &more, &e);
  handlers_release(call, conn);
  if (rc != WALLET_OK) return wallet_err_to_rpc(&e, st);
  out->clients = http_call_alloc(call, (n ? n : 1) * sizeof *out->clients);
  if (out->clients == NULL) {
    free(rows);
    return rpc_status_set(st, RPC_INTERNAL, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    Wallet__V1__Client *c =
        (Wallet__V1__Client *)http_call_new_message(call, &wallet__v1__client__descriptor);
    if (c == NULL) {
      free(rows);
      return rpc_status_set(st, RPC_INTERNAL, "out of memory");
    }
    fill_client(call, &rows[i], c);
    out->clients[out->n_clients++] = c;
  }
  if (more && n > 0) out->next_page_token = handlers_str(call, rows[n - 1].id);
  free(rows);
  return RPC_OK;
}
