/* version_token: parsing the version page token shared by statement and history. */
#include "version_token.h"

#include <inttypes.h>
#include <stdio.h>

#include <stdlib.h>
#include <string.h>

bool version_token_parse(const char *s, int64_t *before) {
  char *end = NULL;
  if (s[0] < '1' || s[0] > '9' || strlen(s) > 19) return false;
  long long v = strtoll(s, &end, 10);
  if (*end != '\0' || v < 1) return false;
  *before = v;
  return true;
}

void version_token_format(int64_t v, char out[VERSION_TOKEN_LEN]) {
  snprintf(out, VERSION_TOKEN_LEN, "%" PRId64, v);
}
