/* event_decode: protobuf decoding and validation of AccountCreated / BalanceUpdated. */
#include "event_decode.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "event_headers.h"
#include "pbtypes.h"
#include "timeutil.h"
#include "wallet/v1/events.pb-c.h"

static int ed_fail(char *reason, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int ed_fail(char *reason, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, len, fmt, ap);
  va_end(ap);
  return -1;
}

/* Fills one update after checking its parts; the field names go into the reason. */
static int ed_update(rm_update *u, const char *id, const char *id_field, int64_t balance,
                     const char *balance_field, int64_t version, const char *version_field,
                     int64_t at_us, char *reason, size_t len) {
  if (id == NULL || *id == '\0') return ed_fail(reason, len, "%s: missing", id_field);
  if (!uuid_normalize(id, u->account_id)) {
    return ed_fail(reason, len, "%s: not a UUID", id_field);
  }
  if (balance < 0) {
    return ed_fail(reason, len, "%s: negative (%" PRId64 ")", balance_field, balance);
  }
  if (version < 1) {
    return ed_fail(reason, len, "%s: must be >= 1 (got %" PRId64 ")", version_field, version);
  }
  u->balance = balance;
  u->version = version;
  u->updated_at_us = at_us;
  return 0;
}

/* The event's own ids are not stored, but an event without them breaks the contract
 * (events.proto: UUIDs) and could never be traced or deduplicated: a dead letter. */
static int ed_id(const char *id, const char *field, char *reason, size_t len) {
  char norm[UUID_STR_LEN];
  if (id == NULL || *id == '\0') return ed_fail(reason, len, "%s: missing", field);
  if (!uuid_normalize(id, norm)) return ed_fail(reason, len, "%s: not a UUID", field);
  return 0;
}

/* occurred_at becomes updated_at, so a replay writes the same rows as the live run. */
static int ed_time(const Google__Protobuf__Timestamp *ts, int64_t *us, char *reason,
                   size_t len) {
  if (ts == NULL) return ed_fail(reason, len, "occurred_at: missing");
  /* DATETIME(6) holds years 1000..9999; stay well inside (1970..9999). */
  if (ts->seconds < 0 || ts->seconds > 253402300799LL || ts->nanos < 0 ||
      ts->nanos > 999999999) {
    return ed_fail(reason, len, "occurred_at: out of range");
  }
  *us = time_from_timestamp_us(ts);
  return 0;
}

static int ed_balance_updated(const Wallet__V1__BalanceUpdated *ev, rm_update out[2],
                              size_t *nout, char *reason, size_t len) {
  int64_t at = 0;
  if (ed_time(ev->occurred_at, &at, reason, len) != 0) return -1;
  if (ed_update(&out[0], ev->account_id_from, "account_id_from", ev->balance_account_id_from,
                "balance_account_id_from", ev->version_account_id_from,
                "version_account_id_from", at, reason, len) != 0 ||
      ed_update(&out[1], ev->account_id_to, "account_id_to", ev->balance_account_id_to,
                "balance_account_id_to", ev->version_account_id_to, "version_account_id_to",
                at, reason, len) != 0) {
    return -1;
  }
  if (strcmp(out[0].account_id, out[1].account_id) == 0) {
    return ed_fail(reason, len, "account_id_from equals account_id_to");
  }
  if (ed_id(ev->event_id, "event_id", reason, len) != 0 ||
      ed_id(ev->transaction_id, "transaction_id", reason, len) != 0) {
    return -1;
  }
  /* 0: an event from before the field existed (its history entry says 0 moved). */
  if (ev->amount < 0) {
    return ed_fail(reason, len, "amount: negative (%" PRId64 ")", ev->amount);
  }
  uuid_normalize(ev->transaction_id, out[0].transaction_id);
  memcpy(out[1].transaction_id, out[0].transaction_id, sizeof out[1].transaction_id);
  memcpy(out[0].counterparty_id, out[1].account_id, sizeof out[0].counterparty_id);
  memcpy(out[1].counterparty_id, out[0].account_id, sizeof out[1].counterparty_id);
  out[0].amount = -ev->amount;
  out[1].amount = ev->amount;
  *nout = 2;
  return 0;
}

static int ed_account_created(const Wallet__V1__AccountCreated *ev, rm_update out[1],
                              size_t *nout, char *reason, size_t len) {
  int64_t at = 0;
  if (ed_time(ev->occurred_at, &at, reason, len) != 0) return -1;
  if (ed_update(&out[0], ev->account_id, "account_id", ev->balance, "balance", ev->version,
                "version", at, reason, len) != 0 ||
      ed_id(ev->event_id, "event_id", reason, len) != 0) {
    return -1;
  }
  /* The creation entry: no transfer, the opening balance as its amount. */
  out[0].transaction_id[0] = '\0';
  out[0].counterparty_id[0] = '\0';
  out[0].amount = ev->balance;
  *nout = 1;
  return 0;
}

int event_decode_value(const char *type, const void *value, size_t len,
                       rm_update out[EVENT_MAX_UPDATES], size_t *nout, char *reason,
                       size_t reasonlen) {
  *nout = 0;
  if (type == NULL) return ed_fail(reason, reasonlen, "missing ce_type header");
  const ProtobufCMessageDescriptor *desc = pbtypes_find(type);
  if (desc == NULL) return ed_fail(reason, reasonlen, "unknown ce_type \"%.64s\"", type);
  if (desc != &wallet__v1__balance_updated__descriptor &&
      desc != &wallet__v1__account_created__descriptor) {
    return ed_fail(reason, reasonlen, "unexpected event type %s on this topic", type);
  }
  if (len > EVENT_MAX_VALUE_BYTES) {
    return ed_fail(reason, reasonlen, "value too large (%zu bytes, limit %d)", len,
                   EVENT_MAX_VALUE_BYTES);
  }
  /* protobuf-c reads nothing for len 0 but wants a non-NULL pointer. */
  static const uint8_t empty[1];
  ProtobufCMessage *msg =
      protobuf_c_message_unpack(desc, NULL, len, value != NULL ? value : empty);
  if (msg == NULL) return ed_fail(reason, reasonlen, "undecodable %s", type);
  int rc;
  if (desc == &wallet__v1__balance_updated__descriptor) {
    rc = ed_balance_updated((const Wallet__V1__BalanceUpdated *)msg, out, nout, reason,
                            reasonlen);
  } else {
    rc = ed_account_created((const Wallet__V1__AccountCreated *)msg, out, nout, reason,
                            reasonlen);
  }
  protobuf_c_message_free_unpacked(msg, NULL);
  return rc;
}

int event_decode(const rd_kafka_message_t *m, rm_update out[EVENT_MAX_UPDATES],
                 size_t *nout, char *reason, size_t reasonlen) {
  rd_kafka_headers_t *hdrs = NULL;
  char type[128];
  *nout = 0;
  /* Read-only view owned by m; NOENT when the record has no headers. */
  if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) hdrs = NULL;
  if (event_headers_get(hdrs, "ce_type", type, sizeof type) != 0) {
    return ed_fail(reason, reasonlen, "missing ce_type header");
  }
  return event_decode_value(type, m->payload, m->len, out, nout, reason, reasonlen);
}
