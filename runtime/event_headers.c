/* event_headers: the CloudEvents Kafka binary binding headers our events carry. */
#include "event_headers.h"

#include <string.h>

#include "timeutil.h"

rd_kafka_headers_t *event_headers_new(const char *id, const char *type, const char *source,
                                      int64_t time_ms) {
  char ts[40];
  time_format_rfc3339_ms(time_ms, ts, sizeof ts);
  const char *const pairs[][2] = {
      {"ce_specversion", "1.0"}, {"ce_id", id},     {"ce_type", type},
      {"ce_source", source},     {"ce_time", ts},   {"content-type", EVENT_CONTENT_TYPE},
  };
  size_t n = sizeof pairs / sizeof pairs[0];
  rd_kafka_headers_t *h = rd_kafka_headers_new(n);
  if (h == NULL) return NULL;
  for (size_t i = 0; i < n; i++) {
    const char *v = pairs[i][1] != NULL ? pairs[i][1] : "";
    if (rd_kafka_header_add(h, pairs[i][0], -1, v, -1) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_headers_destroy(h);
      return NULL;
    }
  }
  return h;
}

int event_headers_get(const rd_kafka_headers_t *hdrs, const char *name, char *out,
                      size_t outlen) {
  if (hdrs == NULL || name == NULL || out == NULL || outlen == 0) return -1;
  const void *val = NULL;
  size_t size = 0;
  if (rd_kafka_header_get_last(hdrs, name, &val, &size) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return -1;
  }
  /* A header present with a null value reads as empty. */
  if (val == NULL) size = 0;
  if (size > outlen - 1) return -1;
  if (size > 0) memcpy(out, val, size);
  out[size] = '\0';
  return 0;
}
