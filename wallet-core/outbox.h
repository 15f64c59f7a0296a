/* outbox: event rows written inside the caller's DB transaction (the transactional outbox);
 * outbox_relay publishes them to Kafka after commit. */
#ifndef WALLET_CORE_OUTBOX_H
#define WALLET_CORE_OUTBOX_H

#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "db.h"
#include "uuid.h"

/* Packs msg and inserts one pending row: event_type = msg's full proto name
 * ("wallet.v1.BalanceUpdated"), so consumers can decode it from the ce_type header.
 * Must run inside the transaction that makes the change the event describes, so the
 * event exists exactly when the change does. 0, or -1 with e filled. */
int outbox_insert(db_conn *conn, const char *topic, const char *key,
                  const ProtobufCMessage *msg, const char *event_id, int64_t occurred_us,
                  db_error *e);

/* One event row packed in memory, to be written with others in one multi-row INSERT
 * (the batched transfer path). Strings are borrowed; payload is owned. */
typedef struct outbox_row {
  char event_id[UUID_STR_LEN];
  const char *topic;
  const char *key;
  const char *event_type; /* the message's full proto name */
  uint8_t *payload;
  size_t len;
  int64_t occurred_us;
} outbox_row;

/* Packs msg into row (topic, key borrowed; event_id copied). 0, or -1 with e filled. */
int outbox_row_pack(outbox_row *row, const char *topic, const char *key,
                    const ProtobufCMessage *msg, const char *event_id, int64_t occurred_us,
                    db_error *e);
/* Frees the payload; NULL is a no-op. */
void outbox_row_free(outbox_row *row);

/* Writes the events rows[0..n) in order, inside the caller's transaction. One event is
 * one plain row; several are packed into as few batch rows as fit (event_type
 * "wallet.v1.OutboxBatch", payload an OutboxBatch of the events in order, topic and key
 * empty; see proto/wallet/v1/outbox.proto), which the relay unpacks into one Kafka record
 * per event. 0, or -1 with e filled. */
int outbox_insert_rows(db_conn *conn, const outbox_row *rows, size_t n, db_error *e);

#endif
