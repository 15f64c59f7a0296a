/* http_route: path-pattern matching and percent-decoding for the HTTP gateway. */
#include "http_route.h"
#include "hex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ssize_t http_route_pct_decode(const char *in, size_t len, int plus_is_space, char *out) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    char c = in[i];
    if (c == '%') {
      if (len - i < 3)
        return -1;
      int hi = hex_digit((unsigned char)in[i + 1]), lo = hex_digit((unsigned char)in[i + 2]);
      if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
        return -1;
      out[o++] = (char)(hi << 4 | lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out[o++] = ' ';
    } else if (c == '\0') {
      return -1; /* an embedded NUL would truncate the value silently */
    } else {
      out[o++] = c;
    }
  }
  out[o] = '\0';
  return (ssize_t)o;
}

int http_route_pct_valid(const char *s, size_t len) {
  for (size_t i = 0; i < len; i++) {
    if (s[i] != '%')
      continue;
    if (len - i < 3 || hex_digit((unsigned char)s[i + 1]) < 0 ||
        hex_digit((unsigned char)s[i + 2]) < 0)
      return 0;
    i += 2;
  }
  return 1;
}

/* The segment starting at s (just after a '/') ends at the next '/' or at end. */
static const char *segment_end(const char *s, const char *end) {
  const char *slash = memchr(s, '/', (size_t)(end - s));
  return slash != NULL ? slash : end;
}

static int is_param(const char *s, size_t n) {
  return n >= 2 && s[0] == '{' && s[n - 1] == '}';
}

int http_route_pattern_names(const char *pattern, http_route_match *m, char *err,
                             size_t errlen) {
  memset(m, 0, sizeof *m);
  if (pattern == NULL || pattern[0] != '/') {
    snprintf(err, errlen, "pattern must start with '/'");
    return -1;
  }
  const char *end = pattern + strlen(pattern);
  const char *s = pattern + 1;
  for (;;) {
    const char *e = segment_end(s, end);
    size_t n = (size_t)(e - s);
    int braces = memchr(s, '{', n) != NULL || memchr(s, '}', n) != NULL;
    if (is_param(s, n)) {
      size_t name_len = n - 2;
      if (name_len == 0 || memchr(s + 1, '{', name_len) || memchr(s + 1, '}', name_len)) {
        snprintf(err, errlen, "pattern %s: malformed {name} segment", pattern);
        goto fail;
      }
      if (name_len >= HTTP_ROUTE_NAME_MAX || m->n == HTTP_ROUTE_MAX_PARAMS) {
        snprintf(err, errlen, "pattern %s: too many params or name too long", pattern);
        goto fail;
      }
      memcpy(m->params[m->n].name, s + 1, name_len);
      m->params[m->n].name[name_len] = '\0';
      m->n++;
    } else if (braces) {
      snprintf(err, errlen, "pattern %s: braces must span a whole segment", pattern);
      goto fail;
    }
    if (e == end)
      return 0;
    s = e + 1;
  }
fail:
  memset(m, 0, sizeof *m);
  return -1;
}

int http_route_match_path(const char *pattern, const char *path, size_t path_len,
                          http_route_match *m) {
  memset(m, 0, sizeof *m);
  if (pattern == NULL || path == NULL || pattern[0] != '/' || path_len == 0 || path[0] != '/')
    return HTTP_ROUTE_NO_MATCH;
  const char *pend = pattern + strlen(pattern);
  const char *end = path + path_len;
  const char *p = pattern + 1, *s = path + 1;
  /* Decoded values never outgrow their raw segments, and every segment follows a '/', so
   * path_len + 1 bytes hold all values with their terminators. Allocated on first use. */
  size_t used = 0;
  int rc = HTTP_ROUTE_NO_MATCH;
  for (;;) {
    const char *pe = segment_end(p, pend);
    const char *se = segment_end(s, end);
    size_t pn = (size_t)(pe - p), sn = (size_t)(se - s);
    if (is_param(p, pn)) {
      size_t name_len = pn - 2;
      if (sn == 0 || name_len >= HTTP_ROUTE_NAME_MAX || m->n == HTTP_ROUTE_MAX_PARAMS)
        goto out;
      if (m->buf == NULL && (m->buf = malloc(path_len + 1)) == NULL) {
        rc = HTTP_ROUTE_OOM;
        goto out;
      }
      ssize_t dn = http_route_pct_decode(s, sn, 0, m->buf + used);
      if (dn < 0) {
        rc = HTTP_ROUTE_BAD_PATH;
        goto out;
      }
      http_route_param *prm = &m->params[m->n++];
      memcpy(prm->name, p + 1, name_len);
      prm->name[name_len] = '\0';
      prm->value = m->buf + used;
      used += (size_t)dn + 1;
    } else if (pn != sn || memcmp(p, s, pn) != 0) {
      goto out;
    }
    /* Both must end together, or both continue with another segment. */
    if (pe == pend || se == end) {
      if (pe == pend && se == end)
        return HTTP_ROUTE_MATCH;
      goto out;
    }
    p = pe + 1;
    s = se + 1;
  }
out:
  http_route_match_clear(m);
  return rc;
}

void http_route_match_clear(http_route_match *m) {
  if (m == NULL)
    return;
  free(m->buf);
  memset(m, 0, sizeof *m);
}

int http_route_query_each(const char *query, size_t len, http_route_query_fn fn, void *ctx,
                          char *err, size_t errlen) {
  if (query == NULL || len == 0)
    return 0;
  /* One scratch buffer big enough for any key or value of this query. */
  char *buf = malloc(2 * (len + 1));
  if (buf == NULL) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  char *key = buf, *val = buf + len + 1;
  int rc = 0;
  const char *end = query + len, *s = query;
  while (s < end) {
    const char *amp = memchr(s, '&', (size_t)(end - s));
    const char *pe = amp != NULL ? amp : end;
    if (pe > s) {
      const char *eq = memchr(s, '=', (size_t)(pe - s));
      const char *ke = eq != NULL ? eq : pe;
      if (ke == s) {
        snprintf(err, errlen, "query parameter with an empty name");
        rc = -1;
        goto out;
      }
      if (http_route_pct_decode(s, (size_t)(ke - s), 1, key) < 0 ||
          (eq != NULL && http_route_pct_decode(eq + 1, (size_t)(pe - eq - 1), 1, val) < 0)) {
        snprintf(err, errlen, "query parameter \"%.*s\": malformed percent-encoding",
                 (int)(ke - s > 64 ? 64 : ke - s), s);
        rc = -1;
        goto out;
      }
      if (eq == NULL)
        val[0] = '\0';
      rc = fn(ctx, key, val, err, errlen);
      if (rc != 0)
        goto out;
    }
    if (pe == end)
      break;
    s = pe + 1;
  }
out:
  free(buf);
  return rc;
}
