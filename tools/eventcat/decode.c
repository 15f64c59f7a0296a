/* decode: resolves a record's protobuf type (flag, header, topic) and decodes it to JSON. */
#include "decode.h"

#include <stdio.h>
#include <string.h>

#include "event_headers.h"
#include "pbjson.h"
#include "pbtypes.h"

static const struct {
  const char *topic;
  const char *type;
} decode_defaults[] = {
    {"transactions", "wallet.v1.TransactionCreated"},
    {"balances", "wallet.v1.BalanceUpdated"},
};

const char *decode_topic_default(const char *topic) {
  if (topic == NULL) return NULL;
  for (size_t i = 0; i < sizeof decode_defaults / sizeof decode_defaults[0]; i++) {
    if (strcmp(topic, decode_defaults[i].topic) == 0) return decode_defaults[i].type;
  }
  return NULL;
}

const ProtobufCMessageDescriptor *decode_resolve(const char *forced,
                                                 const rd_kafka_headers_t *hdrs,
                                                 const char *topic, char *out, size_t outlen) {
  out[0] = '\0';
  if (forced != NULL) {
    snprintf(out, outlen, "%s", forced);
  } else if (event_headers_get(hdrs, "ce_type", out, outlen) == 0 && out[0] != '\0') {
    /* the producer said what it is: trust it over the topic's habit */
  } else {
    const char *def = decode_topic_default(topic);
    snprintf(out, outlen, "%s", def ? def : "");
  }
  return out[0] ? pbtypes_find(out) : NULL;
}

int decode_value(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                 bool emit_defaults, decode_result *r) {
  r->value = NULL;
  r->error[0] = '\0';
  r->unknown_fields = 0;
  if (len > DECODE_MAX_VALUE) {
    snprintf(r->error, sizeof r->error, "value of %zu bytes is over the %u-byte limit", len,
             DECODE_MAX_VALUE);
    return -1;
  }
  /* protobuf-c says only "failed": name the type and size so the reader can guess why. */
  ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, len, data);
  if (msg == NULL) {
    snprintf(r->error, sizeof r->error, "not a valid %s (%zu bytes): protobuf unpack failed",
             desc->name, len);
    return -1;
  }
  r->unknown_fields = msg->n_unknown_fields;
  char perr[PBJSON_ERR_MAX];
  perr[0] = '\0';
  r->value = pbjson_to_cjson(msg, emit_defaults ? PBJSON_EMIT_DEFAULTS : 0, perr, sizeof perr);
  protobuf_c_message_free_unpacked(msg, NULL);
  if (r->value == NULL) {
    snprintf(r->error, sizeof r->error, "%s: %s", desc->name, perr[0] ? perr : "cannot print");
    return -1;
  }
  return 0;
}

void decode_record(const rd_kafka_message_t *m, const char *forced, bool emit_defaults,
                   decode_result *r) {
  memset(r, 0, sizeof *r);
  rd_kafka_headers_t *hdrs = NULL;
  if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) hdrs = NULL;
  r->desc = decode_resolve(forced, hdrs, rd_kafka_topic_name(m->rkt), r->type, sizeof r->type);
  if (m->payload == NULL) return; /* a tombstone: nothing to decode, nothing wrong */
  if (r->type[0] == '\0') {
    snprintf(r->error, sizeof r->error,
             "no type: the record has no ce_type header and the topic no default "
             "(use --type)");
    return;
  }
  if (r->desc == NULL) {
    snprintf(r->error, sizeof r->error, "unknown type %s (see --list-types)", r->type);
    return;
  }
  decode_value(r->desc, m->payload, m->len, emit_defaults, r);
}

void decode_result_clear(decode_result *r) {
  if (r == NULL) return;
  cJSON_Delete(r->value);
  r->value = NULL;
}
