/* event_headers: the Kafka headers that say what a record's value is (the CloudEvents
 * Kafka binary binding), so any consumer can decode it without a schema registry:
 *   ce_specversion "1.0", ce_id (event id), ce_type (full protobuf message name),
 *   ce_source (producing service), ce_time (RFC 3339), content-type "application/protobuf". */
#ifndef WALLET_EVENT_HEADERS_H
#define WALLET_EVENT_HEADERS_H

#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>

#define EVENT_CONTENT_TYPE "application/protobuf"

/* A new header list (caller owns; rd_kafka_headers_destroy, or hand it to
 * kafka_producer_send). time_ms: Unix epoch milliseconds. NULL on OOM. */
rd_kafka_headers_t *event_headers_new(const char *id, const char *type, const char *source,
                                      int64_t time_ms);

/* Copies header `name` of `hdrs` (last occurrence) into out as a NUL-terminated string.
 * Returns 0, or -1 when absent or longer than outlen - 1. hdrs may be NULL. */
int event_headers_get(const rd_kafka_headers_t *hdrs, const char *name, char *out,
                      size_t outlen);

#endif
