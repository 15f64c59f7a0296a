/* config: settings from environment variables, each with a documented default. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

const char *config_str(const char *name, const char *def) {
  const char *v = getenv(name);
  return (v != NULL && *v != '\0') ? v : def;
}

int config_int(const char *name, int64_t def, int64_t min, int64_t max, int64_t *out,
               char *err, size_t errlen) {
  const char *v = getenv(name);
  if (v == NULL || *v == '\0') {
    *out = def;
    return 0;
  }
  char *end = NULL;
  errno = 0;
  long long n = strtoll(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
    snprintf(err, errlen, "%s: expected an integer in %" PRId64 "..%" PRId64 ", got \"%s\"",
             name, min, max, v);
    return -1;
  }
  *out = n;
  return 0;
}
