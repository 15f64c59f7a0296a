/* uuid: UUIDv7 generation (RFC 9562) and validation of client-supplied UUIDs. */
#include "uuid.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "timeutil.h"

/* Random bytes from a per-thread pool refilled 16 ids at a time: a transfer takes three
 * ids, and a getrandom call for each was three system calls per transfer. */
static void random_bytes(uint8_t *out, size_t n) {
  static _Thread_local uint8_t pool[256];
  static _Thread_local size_t left;
  if (left < n) {
    /* getrandom on Linux never fails for 256 bytes once the pool is initialised; fall
     * back to a weaker source rather than emit a predictable id if it somehow does. */
    if (getrandom(pool, sizeof pool, 0) != (ssize_t)sizeof pool) {
      for (size_t i = 0; i < sizeof pool; i++) pool[i] = (uint8_t)random();
    }
    left = sizeof pool;
  }
  left -= n;
  memcpy(out, pool + left, n);
  memset(pool + left, 0, n); /* a byte handed out is not kept */
}

void uuid_v7(char out[UUID_STR_LEN]) {
  static const char hex[] = "0123456789abcdef";
  uint8_t b[16];
  random_bytes(b, sizeof b);
  uint64_t ms = (uint64_t)time_now_ms();
  for (int i = 0; i < 6; i++) b[i] = (uint8_t)(ms >> (40 - 8 * i));
  b[6] = (uint8_t)(0x70 | (b[6] & 0x0f)); /* version 7 */
  b[8] = (uint8_t)(0x80 | (b[8] & 0x3f)); /* variant 10 */
  char *o = out;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *o++ = '-';
    *o++ = hex[b[i] >> 4];
    *o++ = hex[b[i] & 0x0f];
  }
  *o = '\0';
}

bool uuid_valid(const char *s) {
  if (s == NULL) return false;
  for (int i = 0; i < 36; i++) {
    bool dash = (i == 8 || i == 13 || i == 18 || i == 23);
    if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i])) return false;
  }
  return s[36] == '\0';
}

bool uuid_normalize(const char *s, char out[UUID_STR_LEN]) {
  if (!uuid_valid(s)) return false;
  for (int i = 0; i < 36; i++) out[i] = (char)tolower((unsigned char)s[i]);
  out[36] = '\0';
  return true;
}
