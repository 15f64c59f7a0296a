/* metrics_http: the raw GET /metrics handler (Prometheus text of the metrics registry).
 * Owned by runtime; both services route /metrics to it. */
#ifndef WALLET_METRICS_HTTP_H
#define WALLET_METRICS_HTTP_H

#include "http_server.h"

/* 200 with metrics_render()'s text, or 500 "out of memory". An http_raw_handler_fn. */
void metrics_http_handler(http_call *call, http_raw_response *out);

#endif
