/* uuid: UUIDv7 generation (RFC 9562) and validation of client-supplied UUIDs. */
#include "uuid.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "timeutil.h"

void uuid_v7(char out[UUID_STR_LEN]) {
  uint8_t b[16];
  /* getrandom on Linux never fails for 16 bytes once the pool is initialised; fall back
   * to a weaker source rather than emit a predictable id if it somehow does. */
  if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
    for (size_t i = 0; i < sizeof b; i++) b[i] = (uint8_t)random();
  }
  uint64_t ms = (uint64_t)time_now_ms();
  for (int i = 0; i < 6; i++) b[i] = (uint8_t)(ms >> (40 - 8 * i));
  b[6] = (uint8_t)(0x70 | (b[6] & 0x0f)); /* version 7 */
  b[8] = (uint8_t)(0x80 | (b[8] & 0x3f)); /* variant 10 */
  snprintf(out, UUID_STR_LEN,
           "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
           b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
           b[15]);
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
