/* outbox: inserting event rows in the caller's transaction. */
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbtime.h"

int outbox_insert(db_conn *conn, const char *topic, const char *key,
                  const ProtobufCMessage *msg, const char *event_id, int64_t occurred_us,
                  db_error *e) {
  size_t len = protobuf_c_message_get_packed_size(msg);
  uint8_t stackbuf[1024];
  uint8_t *buf = len <= sizeof stackbuf ? stackbuf : malloc(len);
  if (buf == NULL) {
    e->code = 2008; /* CR_OUT_OF_MEMORY */
    snprintf(e->message, sizeof e->message, "out of memory packing %s", msg->descriptor->name);
    return -1;
  }
  protobuf_c_message_pack(msg, buf);
  char when[DBTIME_LEN];
  dbtime_format(occurred_us, when);
  const db_param p[] = {
      DB_P_STR(event_id), DB_P_STR(topic),       DB_P_STR(key),
      DB_P_STR(msg->descriptor->name), DB_P_BLOB(buf, len), DB_P_STR(when),
  };
  int rc = db_exec(conn,
                   "INSERT INTO outbox (event_id, topic, msg_key, event_type, payload, "
                   "occurred_at) VALUES (?, ?, ?, ?, ?, ?)",
                   p, sizeof p / sizeof p[0], NULL, e);
  if (buf != stackbuf) free(buf);
  return rc;
}
