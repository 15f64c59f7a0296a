/* outbox: inserting event rows in the caller's transaction. */
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbtime.h"
#include "sqlbatch.h"

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

int outbox_row_pack(outbox_row *row, const char *topic, const char *key,
                    const ProtobufCMessage *msg, const char *event_id, int64_t occurred_us,
                    db_error *e) {
  size_t len = protobuf_c_message_get_packed_size(msg);
  row->payload = malloc(len ? len : 1);
  if (row->payload == NULL) {
    e->code = 2008; /* CR_OUT_OF_MEMORY */
    snprintf(e->message, sizeof e->message, "out of memory packing %s", msg->descriptor->name);
    return -1;
  }
  row->len = protobuf_c_message_pack(msg, row->payload);
  snprintf(row->event_id, sizeof row->event_id, "%s", event_id);
  row->topic = topic;
  row->key = key;
  row->event_type = msg->descriptor->name;
  row->occurred_us = occurred_us;
  return 0;
}

void outbox_row_free(outbox_row *row) {
  if (row == NULL) return;
  free(row->payload);
  row->payload = NULL;
}

typedef struct rows_ctx {
  const outbox_row *rows;
  char (*when)[DBTIME_LEN];
} rows_ctx;

static void fill_row(const void *ctx, size_t i, db_param *p) {
  const rows_ctx *c = ctx;
  const outbox_row *r = &c->rows[i];
  p[0] = DB_P_STR(r->event_id);
  p[1] = DB_P_STR(r->topic);
  p[2] = DB_P_STR(r->key);
  p[3] = DB_P_STR(r->event_type);
  p[4] = DB_P_BLOB(r->payload, r->len);
  p[5] = DB_P_STR(c->when[i]);
}

int outbox_insert_rows(db_conn *conn, const outbox_row *rows, size_t n, db_error *e) {
  if (n == 0) return 0;
  char(*when)[DBTIME_LEN] = malloc(n * sizeof *when);
  if (when == NULL) {
    e->code = 2008;
    snprintf(e->message, sizeof e->message, "out of memory writing %zu outbox rows", n);
    return -1;
  }
  for (size_t i = 0; i < n; i++) dbtime_format(rows[i].occurred_us, when[i]);
  rows_ctx c = {rows, when};
  int rc = sqlbatch_insert(conn,
                           "INSERT INTO outbox (event_id, topic, msg_key, event_type, payload, "
                           "occurred_at) VALUES ",
                           "(?,?,?,?,?,?)", 6, "", n, fill_row, &c, e);
  free(when);
  return rc;
}
