/* decode: which protobuf type a record holds, and its value as proto3 JSON. */
#ifndef EVENTCAT_DECODE_H
#define EVENTCAT_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include <librdkafka/rdkafka.h>
#include <protobuf-c/protobuf-c.h>

#define DECODE_TYPE_MAX 256
#define DECODE_ERR_MAX 384
/* A value larger than this is not decoded (printed as an error with its bytes): protobuf-c
 * would allocate for it without bound. Kafka's default message.max.bytes is ~1 MB. */
#define DECODE_MAX_VALUE (64u * 1024 * 1024)

typedef struct decode_result {
  /* The type name used ("" when none could be found); may name a type we do not know. */
  char type[DECODE_TYPE_MAX];
  const ProtobufCMessageDescriptor *desc; /* NULL when type is empty or unknown */
  cJSON *value;                           /* decoded value (caller frees), or NULL */
  char error[DECODE_ERR_MAX];             /* "" on success or for a null (tombstone) value */
  size_t unknown_fields;                  /* top-level fields the schema does not know */
} decode_result;

/* The default type of a topic ("transactions" -> "wallet.v1.TransactionCreated",
 * "balances" -> "wallet.v1.BalanceUpdated"), or NULL. Static. */
const char *decode_topic_default(const char *topic);

/* Picks the type of a record: forced (--type, may be NULL), else the ce_type header,
 * else the topic default. Writes the name into out ("" when none) and returns its
 * descriptor, or NULL when none or unknown. */
const ProtobufCMessageDescriptor *decode_resolve(const char *forced,
                                                 const rd_kafka_headers_t *hdrs,
                                                 const char *topic, char *out, size_t outlen);

/* Decodes data[0..len) as desc into r->value (pbjson_to_cjson with PBJSON_EMIT_DEFAULTS
 * when emit_defaults). Returns 0, or -1 with r->error filled (unpack failure, invalid
 * UTF-8, too large). r->type and r->desc are left as they are. */
int decode_value(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                 bool emit_defaults, decode_result *r);

/* decode_resolve then decode_value for one record, into *r (zeroed first). A NULL value
 * (tombstone) gives value NULL and no error; a missing or unknown type gives an error. */
void decode_record(const rd_kafka_message_t *m, const char *forced, bool emit_defaults,
                   decode_result *r);

/* Frees r->value. NULL no-op. */
void decode_result_clear(decode_result *r);

#endif
