/* docs_http: the API browser. GET /docs is a Swagger UI page (swagger-ui-dist, pinned,
 * fetched at build time and embedded: cmake/swagger_ui.cmake) that reads the service's own
 * GET /openapi.json. Raw handlers, routed by each service's generated route table. */
#ifndef WALLET_DOCS_HTTP_H
#define WALLET_DOCS_HTTP_H

#include <stddef.h>

#include "http_server.h"

void docs_http_page(http_call *call, http_raw_response *out);       /* GET /docs */
void docs_http_bundle(http_call *call, http_raw_response *out);     /* GET /docs/swagger-ui-bundle.js */
void docs_http_css(http_call *call, http_raw_response *out);        /* GET /docs/swagger-ui.css */

/* 200 with data[0..len), which must live as long as the process (embedded files, static
 * text): sent without a copy per request. */
void docs_http_bytes(http_raw_response *out, const char *content_type, const void *data,
                     size_t len);

#endif
