/* balances_routes: which URL goes to which balances handler, with its message types. */
#include "balances_routes.h"

#include "balances_handlers.h"
#include "metrics_http.h"
#include "wallet/v1/balances.pb-c.h"
#include "wallet/v1/health.pb-c.h"

static const http_route balances_route_table[] = {
    {"GET", "/balances/{account_id}", &wallet__v1__get_balance_request__descriptor,
     &wallet__v1__balance__descriptor, balances_get_balance, 200, NULL},
    {"GET", "/healthz", &wallet__v1__health_request__descriptor,
     &wallet__v1__health_response__descriptor, balances_health, 200, NULL},
    {"GET", "/readyz", &wallet__v1__health_request__descriptor,
     &wallet__v1__health_response__descriptor, balances_ready, 200, NULL},
    {"GET", "/metrics", NULL, NULL, NULL, 200, metrics_http_handler},
};

const http_route *balances_routes(size_t *n) {
  *n = sizeof balances_route_table / sizeof balances_route_table[0];
  return balances_route_table;
}
