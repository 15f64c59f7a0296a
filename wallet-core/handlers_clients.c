/* handlers_clients: POST /clients, GET /clients/{id}, GET /clients. */
#include <stddef.h>

#include "clients.h"
#include "handlers.h"
#include "paging.h"
#include "validate.h"
#include "wallet/v1/wallet_core.pb-c.h"

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

static void fill_client_row(http_call *call, const void *row, ProtobufCMessage *msg) {
  fill_client(call, row, (Wallet__V1__Client *)msg);
}

static wallet_rc list_clients_page(db_conn *conn, const char *after, int limit, void **rows,
                                   size_t *n, int *more, wallet_err *e) {
  client_row *r = NULL;
  wallet_rc rc = clients_list(conn, after, limit, &r, n, more, e);
  *rows = r;
  return rc;
}

static const paging_spec client_pages = {
    .list = list_clients_page,
    .row_size = sizeof(client_row),
    .id_offset = offsetof(client_row, id),
    .item = &wallet__v1__client__descriptor,
    .fill = fill_client_row,
};

rpc_code handlers_list_clients(http_call *call, const ProtobufCMessage *req,
                               ProtobufCMessage *resp, rpc_status *st) {
  const Wallet__V1__ListClientsRequest *in = (const Wallet__V1__ListClientsRequest *)req;
  Wallet__V1__ListClientsResponse *out = (Wallet__V1__ListClientsResponse *)resp;
  ProtobufCMessage **items = NULL;
  rpc_code code = paging_handle(call, &client_pages, in->page_size, in->page_token, &items,
                                &out->n_clients, &out->next_page_token, st);
  out->clients = (Wallet__V1__Client **)items;
  return code;
}
