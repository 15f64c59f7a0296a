/* balances_routes: the balances HTTP route table (GET /balances/{account_id}, health, metrics). */
#ifndef BALANCES_BALANCES_ROUTES_H
#define BALANCES_BALANCES_ROUTES_H

#include <stddef.h>

#include "http_server.h"

/* The static route table; *n gets its length. Handlers expect a balances_app as app. */
const http_route *balances_routes(size_t *n);

#endif
