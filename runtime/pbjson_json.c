/* pbjson_json: a strict JSON reader into cJSON trees that keeps number text for exactness. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pbjson_internal.h"
#include "hex.h"
#include "utf8.h"

struct reader {
  const char *s;
  size_t len, pos;
  int depth, max_depth;
  char *err;
  size_t errlen;
  int failed;
};

static void fail(struct reader *r, const char *what) {
  if (r->failed) return;
  if (r->pos >= r->len) what = "unexpected end of input";
  r->failed = 1;
  if (r->err && r->errlen)
    snprintf(r->err, r->errlen, "invalid JSON at offset %zu: %s", r->pos, what);
}

static void skip_ws(struct reader *r) {
  while (r->pos < r->len) {
    char c = r->s[r->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    r->pos++;
  }
}

static int hex4(const char *p, uint32_t *out) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    int d = hex_digit((unsigned char)p[i]);
    if (d < 0)
      return -1;
    v = v << 4 | (uint32_t)d;
  }
  *out = v;
  return 0;
}

/* Reads a string at r->pos (on the opening quote) into a new NUL-terminated buffer. */
static char *read_string(struct reader *r) {
  size_t start = ++r->pos, end = start;
  /* First find the closing quote: the decoded text is never longer than the raw. */
  while (end < r->len && r->s[end] != '"') {
    if (r->s[end] == '\\') end++;
    end++;
  }
  if (end >= r->len) {
    fail(r, "unterminated string");
    return NULL;
  }
  char *buf = malloc(end - start + 1);
  if (!buf) {
    fail(r, "out of memory");
    return NULL;
  }
  size_t o = 0;
  while (r->pos < end) {
    unsigned char c = (unsigned char)r->s[r->pos];
    if (c < 0x20) {
      fail(r, "control character in string");
      goto bad;
    }
    if (c != '\\') {
      buf[o++] = (char)c;
      r->pos++;
      continue;
    }
    char e = r->s[r->pos + 1];
    r->pos += 2;
    switch (e) {
    case '"': buf[o++] = '"'; break;
    case '\\': buf[o++] = '\\'; break;
    case '/': buf[o++] = '/'; break;
    case 'b': buf[o++] = '\b'; break;
    case 'f': buf[o++] = '\f'; break;
    case 'n': buf[o++] = '\n'; break;
    case 'r': buf[o++] = '\r'; break;
    case 't': buf[o++] = '\t'; break;
    case 'u': {
      uint32_t cp, lo;
      if (end - r->pos < 4 || hex4(r->s + r->pos, &cp)) {
        fail(r, "bad \\u escape");
        goto bad;
      }
      r->pos += 4;
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (end - r->pos < 6 || r->s[r->pos] != '\\' || r->s[r->pos + 1] != 'u' ||
            hex4(r->s + r->pos + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
          fail(r, "unpaired UTF-16 surrogate in \\u escape");
          goto bad;
        }
        r->pos += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        fail(r, "unpaired UTF-16 surrogate in \\u escape");
        goto bad;
      }
      if (cp == 0) {
        /* protobuf-c strings are NUL-terminated: a NUL inside would silently cut them. */
        fail(r, "\\u0000 in string is not supported");
        goto bad;
      }
      o += utf8_encode(cp, buf + o);
      break;
    }
    default:
      r->pos -= 1;
      fail(r, "bad escape in string");
      goto bad;
    }
  }
  buf[o] = '\0';
  if (!utf8_valid(buf, o)) {
    r->pos = start;
    fail(r, "string is not valid UTF-8");
    goto bad;
  }
  r->pos = end + 1;
  return buf;
bad:
  free(buf);
  return NULL;
}

static cJSON *read_value(struct reader *r);

static cJSON *read_container(struct reader *r, int is_object) {
  if (++r->depth > r->max_depth) {
    char what[64];
    snprintf(what, sizeof what, "nesting deeper than %d levels", r->max_depth);
    fail(r, what);
    return NULL;
  }
  char close = is_object ? '}' : ']';
  cJSON *c = is_object ? cJSON_CreateObject() : cJSON_CreateArray();
  if (!c) {
    fail(r, "out of memory");
    return NULL;
  }
  r->pos++;
  skip_ws(r);
  if (r->pos < r->len && r->s[r->pos] == close) {
    r->pos++;
    r->depth--;
    return c;
  }
  for (;;) {
    char *key = NULL;
    skip_ws(r);
    if (is_object) {
      if (r->pos >= r->len || r->s[r->pos] != '"') {
        fail(r, "expected a string key");
        goto bad;
      }
      key = read_string(r);
      if (!key) goto bad;
      skip_ws(r);
      if (r->pos >= r->len || r->s[r->pos] != ':') {
        free(key);
        fail(r, "expected ':'");
        goto bad;
      }
      r->pos++;
    }
    cJSON *v = read_value(r);
    if (!v) {
      free(key);
      goto bad;
    }
    cJSON_bool ok = is_object ? cJSON_AddItemToObject(c, key, v) : cJSON_AddItemToArray(c, v);
    free(key);
    if (!ok) {
      cJSON_Delete(v);
      fail(r, "out of memory");
      goto bad;
    }
    skip_ws(r);
    if (r->pos < r->len && r->s[r->pos] == ',') {
      r->pos++;
      continue;
    }
    if (r->pos < r->len && r->s[r->pos] == close) {
      r->pos++;
      break;
    }
    fail(r, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
    goto bad;
  }
  r->depth--;
  return c;
bad:
  cJSON_Delete(c);
  return NULL;
}

static int literal(struct reader *r, const char *word) {
  size_t n = strlen(word);
  if (r->len - r->pos >= n && memcmp(r->s + r->pos, word, n) == 0) {
    r->pos += n;
    return 1;
  }
  return 0;
}

static cJSON *read_value(struct reader *r) {
  skip_ws(r);
  if (r->pos >= r->len) {
    fail(r, "unexpected end of input");
    return NULL;
  }
  char c = r->s[r->pos];
  cJSON *v = NULL;
  if (c == '{' || c == '[') return read_container(r, c == '{');
  if (c == '"') {
    char *s = read_string(r);
    if (!s) return NULL;
    v = cJSON_CreateString(s);
    free(s);
  } else if (c == '-' || (c >= '0' && c <= '9')) {
    size_t n = pbjson_number_span(r->s + r->pos, r->len - r->pos);
    if (n == 0) {
      fail(r, "malformed number");
      return NULL;
    }
    char *text = cJSON_malloc(n + 1);
    if (!text) {
      fail(r, "out of memory");
      return NULL;
    }
    memcpy(text, r->s + r->pos, n);
    text[n] = '\0';
    v = cJSON_CreateNumber(strtod(text, NULL));
    if (v)
      v->valuestring = text; /* cJSON_Delete frees it; pbjson reads integers from it */
    else
      cJSON_free(text);
    r->pos += n;
  } else if (literal(r, "true")) {
    v = cJSON_CreateTrue();
  } else if (literal(r, "false")) {
    v = cJSON_CreateFalse();
  } else if (literal(r, "null")) {
    v = cJSON_CreateNull();
  } else {
    fail(r, "unexpected character");
    return NULL;
  }
  if (!v) fail(r, "out of memory");
  return v;
}

cJSON *pbjson_json_read(const char *s, size_t len, int max_depth, char *err, size_t errlen) {
  struct reader r = {.s = s ? s : "", .len = s ? len : 0, .max_depth = max_depth,
                     .err = err, .errlen = errlen};
  cJSON *v = read_value(&r);
  if (!v) return NULL;
  skip_ws(&r);
  if (r.pos != r.len) {
    fail(&r, "trailing characters after the JSON value");
    cJSON_Delete(v);
    return NULL;
  }
  return v;
}
