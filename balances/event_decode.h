/* event_decode: a record of the balances topic -> the read-model updates it carries, or
 * the reason it is a dead letter. The ce_type header names the protobuf type. */
#ifndef BALANCES_EVENT_DECODE_H
#define BALANCES_EVENT_DECODE_H

#include <stddef.h>
#include <librdkafka/rdkafka.h>

#include "read_model.h"

#define EVENT_MAX_VALUE_BYTES (64 * 1024)
#define EVENT_MAX_UPDATES 2

/* Decodes and validates m (a consumed record, err == 0). On success returns 0 and writes
 * 1 (AccountCreated) or 2 (BalanceUpdated) updates into out with ids lowercased. On a bad
 * record returns -1 with a one-line reason in `reason` (e.g. "missing ce_type header",
 * "undecodable wallet.v1.BalanceUpdated", "account_id_to: not a UUID"). */
int event_decode(const rd_kafka_message_t *m, rm_update out[EVENT_MAX_UPDATES],
                 size_t *nout, char *reason, size_t reasonlen);

/* The same on raw parts (type may be NULL), for callers without a Kafka record. */
int event_decode_value(const char *type, const void *value, size_t len,
                       rm_update out[EVENT_MAX_UPDATES], size_t *nout, char *reason,
                       size_t reasonlen);

#endif
