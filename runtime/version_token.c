/* version_token: parsing the version page token shared by statement and history. */
#include "version_token.h"

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
