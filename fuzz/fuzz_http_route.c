/* fuzz_http_route: libFuzzer target for path-pattern matching, percent-decoding and
 * query-string walking. Input: "<pattern>\n<request target>" (target may carry ?query). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_route.h"

static int count_pairs(void *ctx, const char *key, const char *value, char *err,
                       size_t errlen) {
  (void)err;
  (void)errlen;
  /* keys are never empty, and both strings are terminated within their buffers */
  if (key[0] == '\0')
    abort();
  (*(size_t *)ctx) += strlen(key) + strlen(value) > 0;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *nl = memchr(data, '\n', size);
  if (nl == NULL)
    return 0;
  size_t plen = (size_t)(nl - (const char *)data);
  char *pattern = malloc(plen + 1);
  if (pattern == NULL)
    return 0;
  memcpy(pattern, data, plen);
  pattern[plen] = '\0';
  const char *target = nl + 1;
  size_t tlen = size - plen - 1;
  size_t path_len = 0;
  while (path_len < tlen && target[path_len] != '?')
    path_len++;

  http_route_match names;
  char err[160];
  int pattern_ok = http_route_pattern_names(pattern, &names, err, sizeof err) == 0;

  http_route_match m;
  int rc = http_route_match_path(pattern, target, path_len, &m);
  if (rc == HTTP_ROUTE_MATCH && pattern_ok) {
    /* (the server refuses malformed patterns at start, so only valid ones matter here)
     * A match captures exactly the pattern's params, each non-empty and no longer than
     * the path it came from. */
    if (m.n != names.n)
      abort();
    for (size_t i = 0; i < m.n; i++) {
      if (strcmp(m.params[i].name, names.params[i].name) != 0)
        abort();
      size_t vl = strlen(m.params[i].value);
      if (vl == 0 || vl > path_len)
        abort();
    }
  } else if (rc != HTTP_ROUTE_MATCH && (m.buf != NULL || m.n != 0)) {
    abort(); /* a failed match must own nothing */
  }
  http_route_match_clear(&m);

  char *out = malloc(path_len + 1);
  if (out != NULL) {
    ssize_t dn = http_route_pct_decode(target, path_len, 1, out);
    if (dn > (ssize_t)path_len || (dn >= 0 && out[dn] != '\0'))
      abort();
    if (dn >= 0 && !http_route_pct_valid(target, path_len))
      abort(); /* the decoder accepted what the validator refuses */
    free(out);
  }

  if (path_len < tlen) {
    size_t pairs = 0;
    http_route_query_each(target + path_len + 1, tlen - path_len - 1, count_pairs, &pairs, err,
                          sizeof err);
  }
  free(pattern);
  return 0;
}
