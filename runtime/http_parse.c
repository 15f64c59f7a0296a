/* http_parse: finds the end of an HTTP/1.1 request head and parses it strictly. */
#include "http_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Where the scanner is; it examines each byte once, so resuming needs nothing else. */
enum {
  SCAN_LEADING = 0, /* at the start of a line before the request line (zeroed state) */
  SCAN_LEADING_CR,  /* after the CR of a leading empty line */
  SCAN_METHOD,      /* in the method */
  SCAN_LINE,        /* in the rest of the request line */
  SCAN_LINE_CR,     /* after the request line's CR */
  SCAN_FIELD_START, /* at the start of a header line, or of the final empty line */
  SCAN_FIELD,       /* in a header line */
  SCAN_FIELD_CR,    /* after a header line's CR */
  SCAN_FINAL_CR,    /* after the CR of the final empty line */
  SCAN_DONE,
};

__attribute__((format(printf, 3, 4))) static void fail(http_parse_error *err, unsigned status,
                                                       const char *fmt, ...) {
  err->status = status;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
}

/* tchar (RFC 9110 5.6.2) */
static int is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
    return 1;
  return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

#define BARE_CR "CR not followed by LF in the request head"
#define INCOMPLETE "incomplete request head"

enum http_scan_result http_head_scan_feed(http_head_scan *s, const char *buf, size_t len,
                                          http_parse_error *err) {
  /* On an error pos stays at the offending byte, so a call again gives the same error. */
  for (; s->state != SCAN_DONE && s->pos < len; s->pos++) {
    unsigned char c = (unsigned char)buf[s->pos];
    size_t in_line = s->pos + 1 - s->start; /* request-line bytes, this one included */
    /* The two limits below leave room for a request line and header lines both at their
     * longest, with their CRLFs, to pass HTTP_MAX_HEAD_BYTES by a few bytes: the head
     * must still fit a buffer of that size (and would be refused by the parser anyway). */
    if (s->state >= SCAN_FIELD_START && in_line > HTTP_MAX_HEAD_BYTES) {
      fail(err, 431, "request head larger than %u bytes", HTTP_MAX_HEAD_BYTES);
      return HTTP_SCAN_ERROR;
    }
    switch (s->state) {
    case SCAN_LEADING:
      if (c == '\r') {
        s->state = SCAN_LEADING_CR;
        break;
      }
      if (c == '\n')
        goto leading_line;
      if (!is_tchar(c)) {
        fail(err, 400, "malformed request line: the method is not a token");
        return HTTP_SCAN_ERROR;
      }
      s->start = s->pos;
      s->state = SCAN_METHOD;
      break;
    case SCAN_LEADING_CR:
      if (c != '\n') {
        fail(err, 400, BARE_CR);
        return HTTP_SCAN_ERROR;
      }
    leading_line:
      if (++s->leading > HTTP_MAX_LEADING_EMPTY_LINES) {
        s->leading--;
        fail(err, 400, "more than %u empty lines before the request line",
             HTTP_MAX_LEADING_EMPTY_LINES);
        return HTTP_SCAN_ERROR;
      }
      s->state = SCAN_LEADING;
      break;
    case SCAN_METHOD:
      if (c == ' ') {
        s->state = SCAN_LINE;
      } else if (c == '\r' || c == '\n') {
        fail(err, 400, "malformed request line");
        return HTTP_SCAN_ERROR;
      } else if (!is_tchar(c)) {
        fail(err, 400, "malformed request line: the method is not a token");
        return HTTP_SCAN_ERROR;
      } else if (in_line > HTTP_MAX_METHOD_BYTES) {
        fail(err, 400, "method longer than %u bytes", HTTP_MAX_METHOD_BYTES);
        return HTTP_SCAN_ERROR;
      }
      break;
    case SCAN_LINE:
      if (c == '\r') {
        s->state = SCAN_LINE_CR;
      } else if (c == '\n') {
        s->line_end = s->pos + 1;
        s->state = SCAN_FIELD_START;
      } else if (in_line > HTTP_MAX_REQUEST_LINE) {
        /* the target alone is allowed HTTP_MAX_URI_BYTES; the line's other parts are
         * short, so this line can only end with a target too long */
        fail(err, 414, "request target longer than %u bytes", HTTP_MAX_URI_BYTES);
        return HTTP_SCAN_ERROR;
      }
      break;
    case SCAN_LINE_CR:
      if (c != '\n') {
        fail(err, 400, BARE_CR);
        return HTTP_SCAN_ERROR;
      }
      s->line_end = s->pos + 1;
      s->state = SCAN_FIELD_START;
      break;
    case SCAN_FIELD_START:
      if (c == '\n') {
        s->end = s->pos + 1;
        s->state = SCAN_DONE;
        break;
      }
      if (c == '\r') {
        s->state = SCAN_FINAL_CR;
        break;
      }
      s->state = SCAN_FIELD;
      goto field_byte;
    case SCAN_FIELD_CR:
      if (c != '\n') {
        fail(err, 400, BARE_CR);
        return HTTP_SCAN_ERROR;
      }
      /* fall through */
    case SCAN_FIELD:
    field_byte:
      /* counted as the parser counts them, line ends included: past the limit, the
       * parser would refuse the head with 431, so there is no need to read the rest */
      if (s->pos + 1 - s->line_end > HTTP_MAX_HEADER_BYTES) {
        fail(err, 431, "request headers larger than %u bytes", HTTP_MAX_HEADER_BYTES);
        return HTTP_SCAN_ERROR;
      }
      if (c == '\n')
        s->state = SCAN_FIELD_START;
      else if (c == '\r')
        s->state = SCAN_FIELD_CR;
      break;
    case SCAN_FINAL_CR:
      if (c != '\n') {
        fail(err, 400, BARE_CR);
        return HTTP_SCAN_ERROR;
      }
      s->end = s->pos + 1;
      s->state = SCAN_DONE;
      break;
    }
  }
  return s->state == SCAN_DONE ? HTTP_SCAN_DONE : HTTP_SCAN_MORE;
}

/* The line starting at p ends before *lf (and its CR, if any). Returns the content's
 * length, or -1 when the line has no LF before end or holds a CR not before its LF. */
static ptrdiff_t line_at(const char *p, const char *end, const char **next) {
  const char *lf = memchr(p, '\n', (size_t)(end - p));
  if (lf == NULL)
    return -1;
  const char *e = lf > p && lf[-1] == '\r' ? lf - 1 : lf;
  if (memchr(p, '\r', (size_t)(e - p)) != NULL)
    return -1;
  *next = lf + 1;
  return e - p;
}

static int parse_request_line(char *p, size_t n, http_head *out, http_parse_error *err) {
  char *end = p + n;
  char *sp1 = memchr(p, ' ', n);
  char *sp2 = NULL;
  for (char *q = end; q > p; q--)
    if (q[-1] == ' ') {
      sp2 = q - 1;
      break;
    }
  if (sp1 == NULL || sp1 == sp2 || sp1 == p || sp2 == sp1 + 1 || sp2 + 1 == end) {
    fail(err, 400, "malformed request line");
    return -1;
  }
  size_t mlen = (size_t)(sp1 - p);
  for (size_t i = 0; i < mlen; i++)
    if (!is_tchar((unsigned char)p[i])) {
      fail(err, 400, "malformed request line: the method is not a token");
      return -1;
    }
  if (mlen > HTTP_MAX_METHOD_BYTES) {
    fail(err, 400, "method longer than %u bytes", HTTP_MAX_METHOD_BYTES);
    return -1;
  }
  char *target = sp1 + 1;
  size_t tlen = (size_t)(sp2 - target);
  if (tlen > HTTP_MAX_URI_BYTES) {
    fail(err, 414, "request target longer than %u bytes", HTTP_MAX_URI_BYTES);
    return -1;
  }
  for (size_t i = 0; i < tlen; i++) {
    unsigned char c = (unsigned char)target[i];
    if (c < 0x21 || c > 0x7e) {
      fail(err, 400, "request target contains a space, control or non-ASCII byte");
      return -1;
    }
  }
  const char *v = sp2 + 1;
  size_t vlen = (size_t)(end - v);
  if (vlen != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' || v[5] > '9' || v[6] != '.' ||
      v[7] < '0' || v[7] > '9') {
    fail(err, 400, "malformed HTTP version");
    return -1;
  }
  if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) {
    fail(err, 505, "HTTP version not supported");
    return -1;
  }
  *sp1 = '\0';
  *sp2 = '\0';
  out->method = p;
  out->target = target;
  out->target_len = tlen;
  out->minor = (unsigned)(v[7] - '0');
  return 0;
}

/* One header line p[0 .. n), the nth (from 1); p[n] is its CR or LF. */
static int parse_field(char *p, size_t n, size_t nth, http_header *h, http_parse_error *err) {
  if (p[0] == ' ' || p[0] == '\t') {
    fail(err, 400, "header line %zu starts with whitespace (obsolete line folding)", nth);
    return -1;
  }
  char *colon = memchr(p, ':', n);
  if (colon == NULL) {
    fail(err, 400, "header line %zu has no colon", nth);
    return -1;
  }
  if (colon == p) {
    fail(err, 400, "header line %zu has an empty name", nth);
    return -1;
  }
  if (colon[-1] == ' ' || colon[-1] == '\t') {
    fail(err, 400, "whitespace before the colon in header line %zu", nth);
    return -1;
  }
  for (char *q = p; q < colon; q++)
    if (!is_tchar((unsigned char)*q)) {
      fail(err, 400, "header line %zu has a name that is not a token", nth);
      return -1;
    }
  char *v = colon + 1, *e = p + n;
  while (v < e && (*v == ' ' || *v == '\t'))
    v++;
  while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
    e--;
  for (char *q = v; q < e; q++) {
    unsigned char c = (unsigned char)*q;
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      fail(err, 400, "header line %zu has a control byte in its value", nth);
      return -1;
    }
  }
  *colon = '\0';
  *e = '\0'; /* at most the line's CR or LF */
  h->name = p;
  h->value = v;
  return 0;
}

int http_parse_head(char *buf, size_t len, http_head *out, http_parse_error *err) {
  out->nheaders = 0;
  char *end = buf + len;
  const char *next;
  ptrdiff_t n = line_at(buf, end, &next);
  if (n < 0) {
    fail(err, 400, memchr(buf, '\n', len) != NULL ? BARE_CR : INCOMPLETE);
    return -1;
  }
  char *p = buf + (next - buf);
  if (parse_request_line(buf, (size_t)n, out, err) != 0)
    return -1;
  size_t field_bytes = 0;
  for (size_t nth = 1;; nth++) {
    char *line = p;
    n = line_at(line, end, &next);
    if (n < 0) {
      fail(err, 400, memchr(line, '\n', (size_t)(end - line)) != NULL ? BARE_CR : INCOMPLETE);
      return -1;
    }
    p = buf + (next - buf);
    if (n == 0)
      return 0; /* the final empty line; what may follow it is not the head's */
    field_bytes += (size_t)(p - line);
    if (field_bytes > HTTP_MAX_HEADER_BYTES) {
      fail(err, 431, "request headers larger than %u bytes", HTTP_MAX_HEADER_BYTES);
      return -1;
    }
    if (out->nheaders == HTTP_MAX_HEADERS) {
      fail(err, 431, "more than %u header lines", HTTP_MAX_HEADERS);
      return -1;
    }
    if (parse_field(line, (size_t)n, nth, &out->headers[out->nheaders], err) != 0)
      return -1;
    out->nheaders++;
  }
}

/* ASCII only: header names are tokens, and the locale must not change the answer. */
static int name_equal(const char *a, const char *b) {
  for (;; a++, b++) {
    unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
    if (x >= 'A' && x <= 'Z')
      x = (unsigned char)(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z')
      y = (unsigned char)(y - 'A' + 'a');
    if (x != y)
      return 0;
    if (x == '\0')
      return 1;
  }
}

const char *http_head_get(const http_head *h, const char *name) {
  for (size_t i = 0; i < h->nheaders; i++)
    if (name_equal(h->headers[i].name, name))
      return h->headers[i].value;
  return NULL;
}

size_t http_head_count(const http_head *h, const char *name) {
  size_t n = 0;
  for (size_t i = 0; i < h->nheaders; i++)
    n += (size_t)name_equal(h->headers[i].name, name);
  return n;
}
