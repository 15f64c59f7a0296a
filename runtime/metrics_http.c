/* metrics_http: the raw GET /metrics handler (Prometheus text of the metrics registry). */
#include "metrics_http.h"

#include <stdlib.h>
#include <string.h>

#include "metrics.h"

void metrics_http_handler(http_call *call, http_raw_response *out) {
  (void)call;
  size_t len = 0;
  char *body = metrics_render(&len);
  if (body == NULL) {
    out->status = 500;
    out->content_type = "text/plain";
    out->body = strdup("out of memory\n");
    out->len = out->body ? strlen(out->body) : 0;
    return;
  }
  out->status = 200;
  out->content_type = "text/plain; version=0.0.4";
  out->body = body;
  out->len = len;
}
