/* fuzz_pbjson_parse: libFuzzer target for the JSON gateway: any input either fails
 * cleanly or parses into a message that prints, reparses and reprints identically. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbjson.h"
#include "wallet/test/test_proto2.pb-c.h"
#include "wallet/test/test_types.pb-c.h"
#include "wallet/v1/events.pb-c.h"
#include "wallet/v1/health.pb-c.h"
#include "wallet/v1/wallet_core.pb-c.h"

static const ProtobufCMessageDescriptor *const targets[] = {
    &wallet__v1__create_transaction_request__descriptor,
    &wallet__v1__balance_updated__descriptor,
    &wallet__v1__health_response__descriptor,
    &wallet__test__all_types__descriptor,
    &wallet__test__legacy__descriptor,
};

static void die(const char *what, const ProtobufCMessageDescriptor *d, const char *a,
                const char *b) {
  fprintf(stderr, "pbjson inconsistency (%s) for %s\n  first:  %s\n  second: %s\n", what,
          d->name, a ? a : "(null)", b ? b : "(null)");
  abort();
}

/* Prints m, reparses the text and prints again: both texts must be equal. The binary
 * encoding must round-trip to the same text as well. */
static void check(const ProtobufCMessageDescriptor *d, const ProtobufCMessage *m, int pflags) {
  char err[PBJSON_ERR_MAX];
  char *first = pbjson_print(m, pflags, err, sizeof err);
  if (!first) die("a parsed message does not print", d, err, NULL);
  ProtobufCMessage *again = NULL;
  if (pbjson_parse(d, first, strlen(first), 0, &again, err, sizeof err) != 0)
    die("printed JSON does not parse", d, first, err);
  char *second = pbjson_print(again, pflags, err, sizeof err);
  if (!second || strcmp(first, second) != 0) die("reprint differs", d, first, second);

  size_t n = protobuf_c_message_get_packed_size(m);
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) abort();
  if (protobuf_c_message_pack(m, buf) != n) die("pack size", d, first, NULL);
  ProtobufCMessage *bin = protobuf_c_message_unpack(d, NULL, n, buf);
  if (!bin) die("packed message does not unpack", d, first, NULL);
  char *third = pbjson_print(bin, pflags, err, sizeof err);
  if (!third || strcmp(first, third) != 0) die("binary round trip differs", d, first, third);

  free(third);
  protobuf_c_message_free_unpacked(bin, NULL);
  free(buf);
  free(second);
  protobuf_c_message_free_unpacked(again, NULL);
  free(first);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[PBJSON_ERR_MAX];
  for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
    for (int flags = 0; flags <= PBJSON_IGNORE_UNKNOWN; flags += PBJSON_IGNORE_UNKNOWN) {
      ProtobufCMessage *m = (ProtobufCMessage *)1;
      int rc = pbjson_parse(targets[i], (const char *)data, size, flags, &m, err, sizeof err);
      if (rc != 0) {
        if (m != NULL || err[0] == '\0') die("failure without error or with a message",
                                             targets[i], err, NULL);
        continue;
      }
      check(targets[i], m, 0);
      check(targets[i], m, PBJSON_EMIT_DEFAULTS);
      protobuf_c_message_free_unpacked(m, NULL);
    }
  }
  return 0;
}
