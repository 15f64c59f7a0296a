/* fuzz_http_framing: libFuzzer target for the request-head scanner and parser and the
 * chunked decoder. Input: one control byte, then the bytes a client sends. The control
 * byte's low bit picks the mode (0: head, 1: chunked body), its other bits a split point;
 * the bytes fed at once and in two pieces must give the same answer. Every buffer is an
 * exact-size copy, so ASan catches a read past its end. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_chunked.h"
#include "http_parse.h"

static char *copy(const uint8_t *data, size_t n) {
  char *p = malloc(n > 0 ? n : 1);
  if (p == NULL)
    abort();
  if (n > 0)
    memcpy(p, data, n);
  return p;
}

static int inside(const char *p, const char *buf, size_t len) {
  return p >= buf && p < buf + len;
}

/* Every string of a parsed head lies inside buf, NUL-terminated there. */
static void check_parsed(const char *buf, size_t len, const http_head *h) {
  if (!inside(h->method, buf, len) || !inside(h->target, buf, len))
    abort();
  if (strnlen(h->method, (size_t)(buf + len - h->method)) == (size_t)(buf + len - h->method))
    abort();
  if (strnlen(h->target, (size_t)(buf + len - h->target)) != h->target_len)
    abort();
  if (h->method[0] == '\0' || h->target_len == 0 || h->target_len > HTTP_MAX_URI_BYTES ||
      h->minor > 1 || h->nheaders > HTTP_MAX_HEADERS)
    abort();
  for (size_t i = 0; i < h->nheaders; i++) {
    const http_header *f = &h->headers[i];
    if (!inside(f->name, buf, len) || !inside(f->value, buf, len))
      abort();
    size_t nroom = (size_t)(buf + len - f->name), vroom = (size_t)(buf + len - f->value);
    if (strnlen(f->name, nroom) == nroom || strnlen(f->value, vroom) == vroom ||
        f->name[0] == '\0')
      abort();
    if (http_head_get(h, f->name) == NULL || http_head_count(h, f->name) == 0)
      abort();
  }
}

static void parse_copy(const char *src, size_t n) {
  char *buf = copy((const uint8_t *)src, n);
  http_head h;
  http_parse_error err = {0};
  if (http_parse_head(buf, n, &h, &err) == 0)
    check_parsed(buf, n, &h);
  else if (err.status != 400 && err.status != 414 && err.status != 431 && err.status != 505)
    abort();
  free(buf);
}

static void fuzz_head(const char *buf, size_t len, size_t split) {
  http_head_scan a = {0}, b = {0};
  http_parse_error ea = {0}, eb = {0};
  int ra = http_head_scan_feed(&a, buf, len, &ea);
  int rb = http_head_scan_feed(&b, buf, split, &eb);
  if (rb == HTTP_SCAN_MORE)
    rb = http_head_scan_feed(&b, buf, len, &eb);
  if (ra != rb)
    abort();
  if (ra == HTTP_SCAN_ERROR && (ea.status != eb.status || strcmp(ea.message, eb.message) != 0))
    abort();
  if (ra == HTTP_SCAN_DONE) {
    if (a.start != b.start || a.end != b.end || a.line_end != b.line_end)
      abort();
    if (!(a.start < a.line_end && a.line_end <= a.end && a.end <= len))
      abort();
    if (a.end - a.start > HTTP_MAX_HEAD_BYTES)
      abort();
    parse_copy(buf + a.start, a.end - a.start);
  }
  /* the parser alone, on whatever came */
  parse_copy(buf, len);
}

typedef struct decoded {
  int result;
  size_t consumed, produced;
  const char *err;
} decoded;

/* Decodes in place, in pieces [0, split) and [split, len). */
static decoded decode(char *buf, size_t len, size_t split) {
  http_chunked c = {0};
  decoded d = {HTTP_CHUNKED_MORE, 0, 0, NULL};
  size_t at = 0;
  size_t pieces[2] = {split, len - split};
  for (int i = 0; i < 2 && d.result == HTTP_CHUNKED_MORE; i++) {
    size_t consumed = 0, produced = 0;
    d.result =
        http_chunked_feed(&c, buf + at, pieces[i], buf + d.produced, &consumed, &produced, &d.err);
    if (produced > consumed || consumed > pieces[i])
      abort();
    if (d.result == HTTP_CHUNKED_MORE && consumed != pieces[i])
      abort();
    d.consumed += consumed;
    d.produced += produced;
    at += pieces[i];
  }
  return d;
}

static void fuzz_chunked(const uint8_t *data, size_t len, size_t split) {
  char *a = copy(data, len), *b = copy(data, len);
  decoded da = decode(a, len, len), db = decode(b, len, split);
  if (da.result != db.result)
    abort();
  if (da.result == HTTP_CHUNKED_ERROR) {
    if (da.err == NULL || db.err == NULL || strcmp(da.err, db.err) != 0)
      abort();
  } else if (da.consumed != db.consumed || da.produced != db.produced ||
             memcmp(a, b, da.produced) != 0) {
    abort();
  }
  free(a);
  free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  unsigned ctl = data[0];
  data++;
  size--;
  size_t split = (size_t)(ctl >> 1) * size / 127;
  if (ctl & 1) {
    fuzz_chunked(data, size, split);
  } else {
    char *buf = copy(data, size);
    fuzz_head(buf, size, split);
    free(buf);
  }
  return 0;
}
