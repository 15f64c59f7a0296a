/* balances_routes: which URL goes to which balances handler, with its message types. */
#include "balances_routes.h"

#include "balances_handlers.h"
#include "history_handlers.h"
#include "metrics_http.h"
#include "wallet/v1/balances.pb-c.h"
#include "wallet/v1/health.pb-c.h"

/* balances serves from an event loop (io_threads): GET /balances/{id} defers to the
 * balance_reader (or, with ?as_of, to the as_of worker); the listing, the history and
 * /readyz query the database or Kafka, so they run on the server's workers. */
static const http_route balances_route_table[] = {
    {.method = "GET", .pattern = "/balances/{account_id}",
     .request_type = &wallet__v1__get_balance_request__descriptor,
     .response_type = &wallet__v1__balance__descriptor, .handler = balances_get_balance},
    {.method = "GET", .pattern = "/balances",
     .request_type = &wallet__v1__list_balances_request__descriptor,
     .response_type = &wallet__v1__list_balances_response__descriptor,
     .handler = balances_list_balances, .blocking = 1},
    {.method = "GET", .pattern = "/balances/{account_id}/history",
     .request_type = &wallet__v1__get_history_request__descriptor,
     .response_type = &wallet__v1__get_history_response__descriptor,
     .handler = balances_get_history, .blocking = 1},
    {.method = "GET", .pattern = "/healthz",
     .request_type = &wallet__v1__health_request__descriptor,
     .response_type = &wallet__v1__health_response__descriptor, .handler = balances_health},
    {.method = "GET", .pattern = "/readyz",
     .request_type = &wallet__v1__health_request__descriptor,
     .response_type = &wallet__v1__health_response__descriptor, .handler = balances_ready,
     .blocking = 1},
    {.method = "GET", .pattern = "/metrics", .raw = metrics_http_handler},
};

const http_route *balances_routes(size_t *n) {
  *n = sizeof balances_route_table / sizeof balances_route_table[0];
  return balances_route_table;
}
