/* envelope: one Kafka record as one stable JSON object (eventcat's default output).
 *
 * {"topic","partition","offset","timestamp" (ms or null),"timestamp_type",
 *  "key" (UTF-8 string or null) | "key_b64","headers":{name:value},
 *  ["headers_b64":{name:base64} for header values that are not UTF-8],
 *  "type" (full name or null),"value" (decoded object or null),
 *  ["unknown_fields": n], ["error": why, "value_b64": raw bytes] when it did not decode}
 * Duplicate header names: the last occurrence wins (as event_headers_get reads them). */
#ifndef EVENTCAT_ENVELOPE_H
#define EVENTCAT_ENVELOPE_H

#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>

#include "decode.h"

/* Builds the envelope of m with its decoding r. r->value is moved into the result
 * (r->value becomes NULL). Returns a new object (caller frees with cJSON_Delete), or
 * NULL when out of memory. */
cJSON *envelope_build(const rd_kafka_message_t *m, decode_result *r);

/* The timestamp type's name: "create_time", "log_append_time" or "not_available". */
const char *envelope_tstype_name(rd_kafka_timestamp_type_t t);

#endif
