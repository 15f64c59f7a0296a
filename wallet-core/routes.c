/* routes: the route table (method, pattern, message types, handler, success status). */
#include "routes.h"

#include "handlers.h"
#include "metrics_http.h"
#include "wallet/v1/health.pb-c.h"
#include "wallet/v1/wallet_core.pb-c.h"

/* wallet-core serves from an event loop: handlers that query the database run on the
 * server's workers (BLOCKING); POST /transactions only queues into the batcher and
 * defers (with no batcher, in tests, it applies inline: those use thread per connection). */
#define ROUTE(m, p, req, resp, h, status, block)                                           \
  { .method = m, .pattern = p, .request_type = &req, .response_type = &resp, .handler = h, \
    .success_status = status, .blocking = block }
#define BLOCKING 1
#define INLINE 0

const http_route wallet_routes[] = {
    ROUTE("POST", "/clients", wallet__v1__create_client_request__descriptor,
          wallet__v1__client__descriptor, handlers_create_client, 201, BLOCKING),
    ROUTE("GET", "/clients/{id}", wallet__v1__get_client_request__descriptor,
          wallet__v1__client__descriptor, handlers_get_client, 200, BLOCKING),
    ROUTE("GET", "/clients", wallet__v1__list_clients_request__descriptor,
          wallet__v1__list_clients_response__descriptor, handlers_list_clients, 200, BLOCKING),
    ROUTE("POST", "/accounts", wallet__v1__create_account_request__descriptor,
          wallet__v1__account__descriptor, handlers_create_account, 201, BLOCKING),
    ROUTE("GET", "/accounts/{id}", wallet__v1__get_account_request__descriptor,
          wallet__v1__account__descriptor, handlers_get_account, 200, BLOCKING),
    ROUTE("GET", "/accounts", wallet__v1__list_accounts_request__descriptor,
          wallet__v1__list_accounts_response__descriptor, handlers_list_accounts, 200, BLOCKING),
    ROUTE("GET", "/accounts/{id}/transactions",
          wallet__v1__list_account_transactions_request__descriptor,
          wallet__v1__list_account_transactions_response__descriptor,
          handlers_list_account_transactions, 200, BLOCKING),
    ROUTE("POST", "/transactions", wallet__v1__create_transaction_request__descriptor,
          wallet__v1__transaction__descriptor, handlers_create_transaction, 201, INLINE),
    ROUTE("GET", "/transactions/{id}", wallet__v1__get_transaction_request__descriptor,
          wallet__v1__transaction__descriptor, handlers_get_transaction, 200, BLOCKING),
    ROUTE("GET", "/healthz", wallet__v1__health_request__descriptor,
          wallet__v1__health_response__descriptor, handlers_health, 200, INLINE),
    ROUTE("GET", "/readyz", wallet__v1__health_request__descriptor,
          wallet__v1__health_response__descriptor, handlers_ready, 200, BLOCKING),
    {.method = "GET", .pattern = "/metrics", .raw = metrics_http_handler},
};

const size_t wallet_routes_count = sizeof wallet_routes / sizeof wallet_routes[0];
