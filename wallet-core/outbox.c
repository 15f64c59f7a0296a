/* outbox: inserting event rows (or batch rows of many events) in the caller's transaction. */
#include "outbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbtime.h"
#include "sqlbatch.h"
#include "wallet/v1/outbox.pb-c.h"

/* The payload column is a BLOB (64 KiB): a batch row stays well under it. */
#define BATCH_MAX_BYTES 60000

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

static int insert_plain(db_conn *conn, const outbox_row *rows, size_t n, db_error *e) {
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

static int oom(db_error *e, size_t n) {
  e->code = 2008; /* CR_OUT_OF_MEMORY */
  snprintf(e->message, sizeof e->message, "out of memory writing %zu outbox events", n);
  return -1;
}

/* Packs recs[0..k) as one batch row (payload malloc'd into *out). */
static int pack_batch(Wallet__V1__OutboxRecord **recs, size_t k, int64_t occurred_us,
                      outbox_row *out, db_error *e) {
  Wallet__V1__OutboxBatch b = WALLET__V1__OUTBOX_BATCH__INIT;
  b.n_records = k;
  b.records = recs;
  size_t len = protobuf_c_message_get_packed_size(&b.base);
  out->payload = malloc(len ? len : 1);
  if (out->payload == NULL) return oom(e, k);
  out->len = protobuf_c_message_pack(&b.base, out->payload);
  uuid_v7(out->event_id);
  out->topic = "";
  out->key = "";
  out->event_type = wallet__v1__outbox_batch__descriptor.name;
  out->occurred_us = occurred_us;
  return 0;
}

int outbox_insert_rows(db_conn *conn, const outbox_row *rows, size_t n, db_error *e) {
  if (n <= 1) return insert_plain(conn, rows, n, e);
  Wallet__V1__OutboxRecord *recs = calloc(n, sizeof *recs);
  Wallet__V1__OutboxRecord **ptrs = calloc(n, sizeof *ptrs);
  outbox_row *batches = calloc(n, sizeof *batches); /* at most one per event */
  size_t nb = 0;
  int rc = -1;
  if (recs == NULL || ptrs == NULL || batches == NULL) {
    oom(e, n);
    goto out;
  }
  for (size_t i = 0; i < n; i++) {
    wallet__v1__outbox_record__init(&recs[i]);
    recs[i].event_id = (char *)rows[i].event_id;
    recs[i].topic = (char *)rows[i].topic;
    recs[i].key = (char *)rows[i].key;
    recs[i].event_type = (char *)rows[i].event_type;
    recs[i].payload.data = rows[i].payload;
    recs[i].payload.len = rows[i].len;
    recs[i].occurred_us = rows[i].occurred_us;
    ptrs[i] = &recs[i];
  }
  /* Greedy: as many records per row as fit (a record costs its size plus at most 4
   * bytes of tag and length); one record always fits, events are a few hundred bytes. */
  for (size_t i = 0; i < n;) {
    size_t k = 0, bytes = 0;
    while (i + k < n) {
      size_t one = protobuf_c_message_get_packed_size(&recs[i + k].base) + 4;
      if (k > 0 && bytes + one > BATCH_MAX_BYTES) break;
      bytes += one;
      k++;
    }
    if (pack_batch(ptrs + i, k, rows[i].occurred_us, &batches[nb], e) != 0) goto out;
    nb++;
    i += k;
  }
  rc = insert_plain(conn, batches, nb, e);
out:
  for (size_t i = 0; i < nb; i++) outbox_row_free(&batches[i]);
  free(batches);
  free(ptrs);
  free(recs);
  return rc;
}
