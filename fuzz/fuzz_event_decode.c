/* fuzz_event_decode: libFuzzer target for balances' event decoding and validation.
 * Input: one selector byte (the ce_type: 0 BalanceUpdated, 1 AccountCreated, 2 no header,
 * 3 TransactionCreated, else an unknown name), then the record value. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event_decode.h"

static const char *const types[] = {"wallet.v1.BalanceUpdated", "wallet.v1.AccountCreated", NULL,
                                    "wallet.v1.TransactionCreated", "wallet.v1.Nope"};

/* What event_decode promises of an accepted record: the projector and SQL rely on it. */
static void check_update(const rm_update *u) {
  if (strlen(u->account_id) != 36) abort();
  for (size_t i = 0; i < 36; i++) {
    char c = u->account_id[i];
    int dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) abort();
  }
  if (u->balance < 0 || u->version < 1 || u->updated_at_us < 0) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0) return 0;
  size_t sel = data[0] < 4 ? data[0] : 4;
  /* A copy of exactly the value's size, so ASan sees any read past its end. */
  size_t len = size - 1;
  uint8_t *value = malloc(len ? len : 1);
  if (value == NULL) return 0;
  memcpy(value, data + 1, len);
  rm_update out[EVENT_MAX_UPDATES];
  size_t nout = 99;
  char reason[256];
  reason[0] = '\0';
  int rc = event_decode_value(types[sel], value, len, out, &nout, reason, sizeof reason);
  if (rc == 0) {
    if (sel > 1 || nout != (sel == 0 ? 2u : 1u)) abort();
    for (size_t i = 0; i < nout; i++) check_update(&out[i]);
    if (nout == 2 && strcmp(out[0].account_id, out[1].account_id) == 0) abort();
  } else {
    if (rc != -1 || nout != 0 || reason[0] == '\0' || strlen(reason) >= sizeof reason) abort();
  }
  free(value);
  return 0;
}
