/* routes: wallet-core's HTTP route table, exactly the routes written in
 * proto/wallet/v1/wallet_core.proto, plus GET /metrics. */
#ifndef WALLET_CORE_ROUTES_H
#define WALLET_CORE_ROUTES_H

#include <stddef.h>

#include "http_server.h"

extern const http_route wallet_routes[];
extern const size_t wallet_routes_count;

#endif
