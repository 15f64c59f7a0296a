/* outbox: event rows written inside the caller's DB transaction (the transactional outbox);
 * outbox_relay publishes them to Kafka after commit. */
#ifndef WALLET_CORE_OUTBOX_H
#define WALLET_CORE_OUTBOX_H

#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "db.h"

/* Packs msg and inserts one pending row: event_type = msg's full proto name
 * ("wallet.v1.BalanceUpdated"), so consumers can decode it from the ce_type header.
 * Must run inside the transaction that makes the change the event describes, so the
 * event exists exactly when the change does. 0, or -1 with e filled. */
int outbox_insert(db_conn *conn, const char *topic, const char *key,
                  const ProtobufCMessage *msg, const char *event_id, int64_t occurred_us,
                  db_error *e);

#endif
