/* test_http_parse: the request-head scanner and the strict head parser (RFC 9112). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

/* Big enough for every head the tests build, over-limit ones included. */
#define BUF_MAX (64u * 1024u)
static char g_in[BUF_MAX];
static char g_head_buf[BUF_MAX];
static http_head g_head;

typedef struct outcome {
  int scan;        /* enum http_scan_result */
  unsigned status; /* 0 when parsed; else the refusal's status */
  char message[96];
  size_t start, end, line_end;
} outcome;

/* The server's two steps: scan (all at once), then parse a copy of the head. */
static outcome run(const char *in, size_t len) {
  outcome o = {0};
  http_head_scan s = {0};
  http_parse_error err = {0};
  o.scan = http_head_scan_feed(&s, in, len, &err);
  if (o.scan == HTTP_SCAN_ERROR) {
    o.status = err.status;
    snprintf(o.message, sizeof o.message, "%s", err.message);
    return o;
  }
  if (o.scan == HTTP_SCAN_MORE)
    return o;
  o.start = s.start;
  o.end = s.end;
  o.line_end = s.line_end;
  assert_true(s.start <= s.line_end && s.line_end <= s.end && s.end <= len);
  memcpy(g_head_buf, in + s.start, s.end - s.start);
  if (http_parse_head(g_head_buf, s.end - s.start, &g_head, &err) != 0) {
    o.status = err.status;
    snprintf(o.message, sizeof o.message, "%s", err.message);
  }
  return o;
}

static outcome run_str(const char *in) {
  return run(in, strlen(in));
}

static void expect_ok(const char *in) {
  outcome o = run_str(in);
  if (o.scan != HTTP_SCAN_DONE || o.status != 0)
    fail_msg("refused (%d, %u: %s)", o.scan, o.status, o.message);
}

/* Refused with status, and message contains want (NULL: not checked). */
static void expect_refused_n(const char *in, size_t len, unsigned status, const char *want) {
  outcome o = run(in, len);
  if (o.status != status)
    fail_msg("status %u (%s), want %u", o.status, o.message, status);
  if (want != NULL && strstr(o.message, want) == NULL)
    fail_msg("message \"%s\" lacks \"%s\"", o.message, want);
}

static void expect_refused(const char *in, unsigned status, const char *want) {
  expect_refused_n(in, strlen(in), status, want);
}

/* Refused by the scanner itself, before a parse. */
static void expect_scan_refused_n(const char *in, size_t len, unsigned status) {
  http_head_scan s = {0};
  http_parse_error err = {0};
  assert_int_equal(http_head_scan_feed(&s, in, len, &err), HTTP_SCAN_ERROR);
  assert_int_equal(err.status, status);
}

static void test_simple_get(void **state) {
  (void)state;
  const char *in = "GET /a%2Fb?x=1 HTTP/1.1\r\nHost: example.org\r\n\r\n";
  outcome o = run_str(in);
  assert_int_equal(o.scan, HTTP_SCAN_DONE);
  assert_int_equal(o.status, 0);
  assert_int_equal(o.start, 0);
  assert_int_equal(o.line_end, strlen("GET /a%2Fb?x=1 HTTP/1.1\r\n"));
  assert_int_equal(o.end, strlen(in));
  assert_string_equal(g_head.method, "GET");
  assert_string_equal(g_head.target, "/a%2Fb?x=1");
  assert_int_equal(g_head.target_len, 10);
  assert_int_equal(g_head.minor, 1);
  assert_int_equal(g_head.nheaders, 1);
  assert_string_equal(g_head.headers[0].name, "Host");
  assert_string_equal(g_head.headers[0].value, "example.org");
  /* the strings are cut in place */
  assert_ptr_equal(g_head.method, g_head_buf);
}

static void test_post_with_headers(void **state) {
  (void)state;
  const char *head = "POST /transfers HTTP/1.1\r\n"
                     "Host: localhost:8080\r\n"
                     "Content-Type: application/json\r\n"
                     "Content-Length: 11\r\n"
                     "Idempotency-Key: k-1\r\n"
                     "\r\n";
  char in[512];
  snprintf(in, sizeof in, "%s{\"amount\":1}", head);
  outcome o = run_str(in);
  assert_int_equal(o.scan, HTTP_SCAN_DONE);
  assert_int_equal(o.status, 0);
  assert_int_equal(o.end, strlen(head)); /* the body is left alone */
  assert_string_equal(g_head.method, "POST");
  assert_string_equal(g_head.target, "/transfers");
  assert_int_equal(g_head.nheaders, 4);
  assert_string_equal(http_head_get(&g_head, "content-type"), "application/json");
  assert_string_equal(http_head_get(&g_head, "Content-Length"), "11");
  assert_string_equal(g_head.headers[3].name, "Idempotency-Key");
  assert_string_equal(g_head.headers[3].value, "k-1");
}

static void test_http10_and_bare_lf(void **state) {
  (void)state;
  outcome o = run_str("GET / HTTP/1.0\r\n\r\n");
  assert_int_equal(o.status, 0);
  assert_int_equal(g_head.minor, 0);
  assert_int_equal(g_head.nheaders, 0);
  /* bare LF ends lines too (RFC 9112 2.2) */
  o = run_str("GET / HTTP/1.1\nHost: a\n\nrest");
  assert_int_equal(o.scan, HTTP_SCAN_DONE);
  assert_int_equal(o.status, 0);
  assert_int_equal(o.end, strlen("GET / HTTP/1.1\nHost: a\n\n"));
  assert_string_equal(g_head.headers[0].value, "a");
  /* methods are tokens, not only the usual ones */
  expect_ok("M-SEARCH * HTTP/1.1\r\n\r\n");
  assert_string_equal(g_head.method, "M-SEARCH");
  assert_string_equal(g_head.target, "*");
}

static void test_values(void **state) {
  (void)state;
  expect_ok("GET / HTTP/1.1\r\nA:  \t a \t b \t \r\nB:c\r\nC:\r\nD: \t \r\n\r\n");
  assert_int_equal(g_head.nheaders, 4);
  assert_string_equal(g_head.headers[0].value, "a \t b");
  assert_string_equal(g_head.headers[1].value, "c");
  assert_string_equal(g_head.headers[2].value, "");
  assert_string_equal(g_head.headers[3].value, "");
  /* obs-text (RFC 9110 5.5) */
  expect_ok("GET / HTTP/1.1\r\nX-Name: caf\xc3\xa9 \x80\xff\r\n\r\n");
  assert_string_equal(g_head.headers[0].value, "caf\xc3\xa9 \x80\xff");
  /* a colon in the value is part of it */
  expect_ok("GET / HTTP/1.1\r\nHost: a:8080\r\n\r\n");
  assert_string_equal(g_head.headers[0].value, "a:8080");
}

static void test_get_and_count(void **state) {
  (void)state;
  expect_ok("GET / HTTP/1.1\r\nAccept: a\r\nX-Y: z\r\naCCEPT: b\r\n\r\n");
  assert_string_equal(http_head_get(&g_head, "ACCEPT"), "a");
  assert_string_equal(http_head_get(&g_head, "x-y"), "z");
  assert_int_equal(http_head_count(&g_head, "accept"), 2);
  assert_int_equal(http_head_count(&g_head, "X-Y"), 1);
  assert_null(http_head_get(&g_head, "Accep"));
  assert_null(http_head_get(&g_head, "Accept-"));
  assert_int_equal(http_head_count(&g_head, "missing"), 0);
}

static void test_method_refusals(void **state) {
  (void)state;
  /* a non-token method byte is refused as soon as it is seen */
  expect_scan_refused_n("G@", 2, 400);
  expect_scan_refused_n("GE\x01", 3, 400);
  expect_scan_refused_n("\x16\x03\x01\x02\x00", 5, 400); /* a TLS ClientHello */
  expect_scan_refused_n("\x16", 1, 400);
  expect_refused(" GET / HTTP/1.1\r\n\r\n", 400, NULL);
  expect_refused("GET\r\n\r\n", 400, "malformed request line");
  char m[64];
  memset(m, 'A', 32);
  snprintf(m + 32, sizeof m - 32, " / HTTP/1.1\r\n\r\n");
  expect_ok(m);
  memset(m, 'A', 33);
  snprintf(m + 33, sizeof m - 33, " / HTTP/1.1\r\n\r\n");
  expect_refused(m, 400, "method");
  expect_scan_refused_n(m, 33, 400); /* too long already before its SP */
}

static void test_request_line_refusals(void **state) {
  (void)state;
  expect_refused("GET  / HTTP/1.1\r\n\r\n", 400, NULL);
  expect_refused("GET /  HTTP/1.1\r\n\r\n", 400, NULL);
  expect_refused("GET / HTTP/1.1 \r\n\r\n", 400, NULL);
  expect_refused("GET\t/ HTTP/1.1\r\n\r\n", 400, NULL);
  expect_refused("GET /a b HTTP/1.1\r\n\r\n", 400, "request target");
  expect_refused("GET /a\x01 HTTP/1.1\r\n\r\n", 400, "request target");
  expect_refused("GET /a\x7f HTTP/1.1\r\n\r\n", 400, "request target");
  expect_refused("GET /a\x80 HTTP/1.1\r\n\r\n", 400, "request target");
  expect_refused("GET /a\xff HTTP/1.1\r\n\r\n", 400, "request target");
  expect_refused_n("GET /a\0 HTTP/1.1\r\n\r\n", 20, 400, "request target");
  expect_refused("GET / HTTP/2.0\r\n\r\n", 505, "HTTP version not supported");
  expect_refused("GET / HTTP/1.2\r\n\r\n", 505, "HTTP version not supported");
  expect_refused("GET / HTTP/0.9\r\n\r\n", 505, "HTTP version not supported");
  expect_refused("GET / HTTP/1.1x\r\n\r\n", 400, "HTTP version");
  expect_refused("GET / HTTP/11\r\n\r\n", 400, "HTTP version");
  expect_refused("GET / FOO\r\n\r\n", 400, "HTTP version");
  expect_refused("GET / http/1.1\r\n\r\n", 400, "HTTP version");
  expect_refused("GET / HTTP/1.a\r\n\r\n", 400, "HTTP version");
  expect_refused("GET /\r\n\r\n", 400, "malformed request line");
  /* a CR not followed by LF */
  expect_scan_refused_n("GET / HTTP/1.1\rX", 16, 400);
  expect_scan_refused_n("GET /\r HTTP/1.1\r\n\r\n", 19, 400);
}

static void test_header_refusals(void **state) {
  (void)state;
  expect_refused("GET / HTTP/1.1\r\nHost: a\r\nB: b\r\nNoColon\r\n\r\n", 400,
                 "header line 3 has no colon");
  expect_refused("GET / HTTP/1.1\r\nA: a\r\nHost : a\r\n\r\n", 400,
                 "whitespace before the colon in header line 2");
  expect_refused("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400,
                 "whitespace before the colon in header line 1");
  expect_refused("GET / HTTP/1.1\r\nA: a\r\n b\r\n\r\n", 400, "header line 2");
  expect_refused("GET / HTTP/1.1\r\nA: a\r\n\tb\r\n\r\n", 400, "header line 2");
  expect_refused("GET / HTTP/1.1\r\n: a\r\n\r\n", 400, "empty name");
  expect_refused("GET / HTTP/1.1\r\nB@d: a\r\n\r\n", 400, "header line 1");
  expect_refused("GET / HTTP/1.1\r\nB d: a\r\n\r\n", 400, "header line 1");
  expect_refused("GET / HTTP/1.1\r\nA: a\x01" "b\r\n\r\n", 400, "control");
  expect_refused("GET / HTTP/1.1\r\nA: a\x7f\r\n\r\n", 400, "control");
  expect_refused("GET / HTTP/1.1\r\nA: \x1b[31m\r\n\r\n", 400, "control");
  expect_refused_n("GET / HTTP/1.1\r\nA: a\0b\r\n\r\n", 26, 400, "control");
  /* HTAB inside a value is fine */
  expect_ok("GET / HTTP/1.1\r\nA: a\tb\r\n\r\n");
  /* bare CR: the scanner refuses it; the parser does too, when given one */
  const char *bare = "GET / HTTP/1.1\r\nA: a\rb\r\n\r\n";
  expect_scan_refused_n(bare, strlen(bare), 400);
  expect_scan_refused_n("GET / HTTP/1.1\r\n\rX", 18, 400);
  char buf[64];
  snprintf(buf, sizeof buf, "%s", bare);
  http_parse_error err = {0};
  assert_int_equal(http_parse_head(buf, strlen(buf), &g_head, &err), -1);
  assert_int_equal(err.status, 400);
  /* a head without its final empty line is not a head */
  snprintf(buf, sizeof buf, "GET / HTTP/1.1\r\nA: a\r\n");
  assert_int_equal(http_parse_head(buf, strlen(buf), &g_head, &err), -1);
  assert_int_equal(err.status, 400);
  assert_int_equal(http_parse_head(buf, 0, &g_head, &err), -1);
  assert_int_equal(err.status, 400);
}

/* The messages go into a JSON body: they never quote what the client sent. */
static void test_messages_do_not_quote(void **state) {
  (void)state;
  expect_refused("GET / HTTP/1.1\r\nSECRETNAME\r\n\r\n", 400, NULL);
  outcome o = run_str("GET / HTTP/1.1\r\nSECRETNAME\r\n\r\n");
  assert_null(strstr(o.message, "SECRET"));
  o = run_str("GET / SECRET/1.1\r\n\r\n");
  assert_int_equal(o.status, 400);
  assert_null(strstr(o.message, "SECRET"));
  o = run_str("GET / HTTP/1.1\r\nA: SECRET\x01\r\n\r\n");
  assert_int_equal(o.status, 400);
  assert_null(strstr(o.message, "SECRET"));
  o = run_str("SECRET\x01");
  assert_int_equal(o.status, 400);
  assert_null(strstr(o.message, "SECRET"));
}

static void test_leading_empty_lines(void **state) {
  (void)state;
  outcome o = run_str("\r\n\nGET / HTTP/1.1\r\n\r\n");
  assert_int_equal(o.status, 0);
  assert_int_equal(o.start, 3);
  assert_string_equal(g_head.method, "GET");
  char in[128] = "";
  for (unsigned i = 0; i < HTTP_MAX_LEADING_EMPTY_LINES; i++)
    strcat(in, "\r\n");
  strcat(in, "GET / HTTP/1.1\r\n\r\n");
  o = run_str(in);
  assert_int_equal(o.status, 0);
  assert_int_equal(o.start, 2 * HTTP_MAX_LEADING_EMPTY_LINES);
  in[0] = '\0';
  for (unsigned i = 0; i <= HTTP_MAX_LEADING_EMPTY_LINES; i++)
    strcat(in, "\r\n");
  expect_scan_refused_n(in, strlen(in), 400); /* refused before any request line */
  strcat(in, "GET / HTTP/1.1\r\n\r\n");
  expect_refused(in, 400, NULL);
  expect_scan_refused_n("\r\r\n", 3, 400);
}

/* in = "GET /<target of n bytes> HTTP/1.1\r\n\r\n" */
static size_t long_target(size_t n) {
  size_t len = 0;
  len += (size_t)snprintf(g_in, BUF_MAX, "GET /");
  memset(g_in + len, 'a', n - 1);
  len += n - 1;
  len += (size_t)snprintf(g_in + len, BUF_MAX - len, " HTTP/1.1\r\n\r\n");
  return len;
}

static void test_target_limit(void **state) {
  (void)state;
  size_t len = long_target(HTTP_MAX_URI_BYTES);
  outcome o = run(g_in, len);
  assert_int_equal(o.status, 0);
  assert_int_equal(g_head.target_len, HTTP_MAX_URI_BYTES);
  assert_int_equal(strlen(g_head.target), HTTP_MAX_URI_BYTES);
  len = long_target(HTTP_MAX_URI_BYTES + 1);
  expect_refused_n(g_in, len, 414, "request target longer than 8192 bytes");
  /* 40 KB of target and no line end yet: refused before the line is complete */
  len = (size_t)snprintf(g_in, BUF_MAX, "GET /");
  memset(g_in + len, 'a', 40000);
  expect_scan_refused_n(g_in, len + 40000, 414);
  /* and so it is when the bytes trickle in */
  http_head_scan s = {0};
  http_parse_error err = {0};
  size_t i;
  int r = HTTP_SCAN_MORE;
  for (i = 1; i <= len + 40000 && r == HTTP_SCAN_MORE; i++)
    r = http_head_scan_feed(&s, g_in, i, &err);
  assert_int_equal(r, HTTP_SCAN_ERROR);
  assert_int_equal(err.status, 414);
  assert_true(i <= HTTP_MAX_REQUEST_LINE + 2);
}

/* A request line and header lines of exactly `bytes` together, each with its CRLF, and
 * the final empty line. */
static size_t header_block(size_t bytes, size_t line) {
  size_t len = (size_t)snprintf(g_in, BUF_MAX, "GET / HTTP/1.1\r\n");
  size_t left = bytes;
  unsigned n = 0;
  while (left > 0) {
    size_t l = left < line + 8 ? left : line;
    /* "Xnn: v...v\r\n" with l >= 8 */
    assert_true(l >= 8);
    int k = snprintf(g_in + len, BUF_MAX - len, "X%02u: ", n++ % 100);
    memset(g_in + len + k, 'v', l - (size_t)k - 2);
    memcpy(g_in + len + l - 2, "\r\n", 2);
    len += l;
    left -= l;
  }
  memcpy(g_in + len, "\r\n", 2);
  return len + 2;
}

static void test_header_bytes_limit(void **state) {
  (void)state;
  size_t len = header_block(HTTP_MAX_HEADER_BYTES, 200);
  outcome o = run(g_in, len);
  assert_int_equal(o.status, 0);
  assert_true(g_head.nheaders <= HTTP_MAX_HEADERS);
  len = header_block(HTTP_MAX_HEADER_BYTES + 1, 200);
  expect_refused_n(g_in, len, 431, "request headers larger than 16384 bytes");
  /* one huge header line */
  len = header_block(HTTP_MAX_HEADER_BYTES, HTTP_MAX_HEADER_BYTES);
  assert_int_equal(run(g_in, len).status, 0);
  assert_int_equal(g_head.nheaders, 1);
  len = header_block(HTTP_MAX_HEADER_BYTES + 1, HTTP_MAX_HEADER_BYTES + 1);
  expect_refused_n(g_in, len, 431, NULL);
  /* and with a target as long as allowed too: the head still fits HTTP_MAX_HEAD_BYTES */
  size_t tl = long_target(HTTP_MAX_URI_BYTES) - 2;
  char *save = malloc(tl);
  assert_non_null(save);
  memcpy(save, g_in, tl);
  len = header_block(HTTP_MAX_HEADER_BYTES, 300);
  size_t hl = len - strlen("GET / HTTP/1.1\r\n");
  memmove(g_in + tl, g_in + strlen("GET / HTTP/1.1\r\n"), hl);
  memcpy(g_in, save, tl);
  free(save);
  o = run(g_in, tl + hl);
  assert_int_equal(o.status, 0);
  assert_true(o.end - o.start <= HTTP_MAX_HEAD_BYTES);
}

/* A request line and header lines both at their scanner limits: the head would be two
 * bytes over HTTP_MAX_HEAD_BYTES, so it is refused before it ends. */
static void test_head_limit(void **state) {
  (void)state;
  size_t len = header_block(HTTP_MAX_HEADER_BYTES, 300);
  size_t rl = strlen("GET / HTTP/1.1\r\n");
  size_t hl = len - rl;
  size_t tl = HTTP_MAX_REQUEST_LINE + 2; /* with its CRLF */
  memmove(g_in + tl, g_in + rl, hl);
  memcpy(g_in, "GET /", 5);
  memset(g_in + 5, 'a', tl - 5 - strlen(" HTTP/1.1\r\n"));
  memcpy(g_in + tl - strlen(" HTTP/1.1\r\n"), " HTTP/1.1\r\n", strlen(" HTTP/1.1\r\n"));
  assert_int_equal(tl + hl, HTTP_MAX_HEAD_BYTES + 2);
  expect_scan_refused_n(g_in, tl + hl, 431);
  /* two bytes shorter, it fits: then the parser refuses it for its target */
  memmove(g_in + 5, g_in + 7, tl + hl - 7);
  outcome o = run(g_in, tl + hl - 2);
  assert_int_equal(o.scan, HTTP_SCAN_DONE);
  assert_int_equal(o.end, HTTP_MAX_HEAD_BYTES);
  assert_int_equal(o.status, 414);
}

static void test_header_count_limit(void **state) {
  (void)state;
  size_t len = header_block(HTTP_MAX_HEADERS * 8, 8);
  assert_int_equal(run(g_in, len).status, 0);
  assert_int_equal(g_head.nheaders, HTTP_MAX_HEADERS);
  len = header_block((HTTP_MAX_HEADERS + 1) * 8, 8);
  expect_refused_n(g_in, len, 431, "more than 100 header lines");
}

static void test_endless_head(void **state) {
  (void)state;
  size_t len = (size_t)snprintf(g_in, BUF_MAX, "GET / HTTP/1.1\r\n");
  while (len + 6 < 40000) {
    memcpy(g_in + len, "X: y\r\n", 6);
    len += 6;
  }
  expect_scan_refused_n(g_in, len, 431);
  http_head_scan s = {0};
  http_parse_error err = {0};
  int r = HTTP_SCAN_MORE;
  size_t i;
  for (i = 1; i <= len && r == HTTP_SCAN_MORE; i++)
    r = http_head_scan_feed(&s, g_in, i, &err);
  assert_int_equal(r, HTTP_SCAN_ERROR);
  assert_int_equal(err.status, 431);
  assert_true(i <= HTTP_MAX_HEAD_BYTES + 2);
}

/* Feeds in[0..len) in pieces ending at cuts[0] < cuts[1] < ... (the last one is len). */
static int scan_pieces(const char *in, const size_t *cuts, size_t ncuts, http_head_scan *s,
                       http_parse_error *err) {
  *s = (http_head_scan){0};
  int r = HTTP_SCAN_MORE;
  for (size_t i = 0; i < ncuts && r == HTTP_SCAN_MORE; i++)
    r = http_head_scan_feed(s, in, cuts[i], err);
  return r;
}

static void same_scan(const char *in, size_t len, const size_t *cuts, size_t ncuts) {
  http_head_scan a, b;
  http_parse_error ea = {0}, eb = {0};
  int ra = scan_pieces(in, &len, 1, &a, &ea);
  int rb = scan_pieces(in, cuts, ncuts, &b, &eb);
  assert_int_equal(ra, rb);
  if (ra == HTTP_SCAN_DONE) {
    assert_int_equal(a.start, b.start);
    assert_int_equal(a.line_end, b.line_end);
    assert_int_equal(a.end, b.end);
  } else if (ra == HTTP_SCAN_ERROR) {
    assert_int_equal(ea.status, eb.status);
    assert_string_equal(ea.message, eb.message);
  }
}

static void test_scan_splits(void **state) {
  (void)state;
  static const char *inputs[] = {
      "GET / HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\n\n",
      "\r\n\nPOST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\nA: b\r\nC:\r\n\r\n\r\n",
      "GET / HTTP/1.1\r\nA: b\rC\r\n\r\n",
      "G\x7fT / HTTP/1.1\r\n\r\n",
      "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n",
      "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
      "GET / HTTP/1.1\r\nA: b\r\n",
      "GET / HTTP/1.1\r\n\r",
      "GET / HTTP/1.1\r\n\rX",
  };
  size_t cuts[64];
  srand(12345);
  for (size_t k = 0; k < sizeof inputs / sizeof inputs[0]; k++) {
    const char *in = inputs[k];
    size_t len = strlen(in);
    /* byte by byte */
    for (size_t i = 0; i < len; i++)
      cuts[i] = i + 1;
    same_scan(in, len, cuts, len);
    /* in two at every point */
    for (size_t i = 0; i <= len; i++) {
      cuts[0] = i;
      cuts[1] = len;
      same_scan(in, len, cuts, 2);
    }
    /* random pieces */
    for (int round = 0; round < 200; round++) {
      size_t n = 0, at = 0;
      while (at < len && n < 63) {
        at += 1 + (size_t)rand() % 7;
        cuts[n++] = at < len ? at : len;
      }
      cuts[n++] = len;
      same_scan(in, len, cuts, n);
    }
  }
  /* the long heads too, by pieces of 1 and of 997 bytes */
  size_t lens[3];
  lens[0] = long_target(HTTP_MAX_URI_BYTES + 1);
  char *copies[3];
  copies[0] = malloc(lens[0]);
  memcpy(copies[0], g_in, lens[0]);
  lens[1] = header_block(HTTP_MAX_HEADER_BYTES + 1, 200);
  copies[1] = malloc(lens[1]);
  memcpy(copies[1], g_in, lens[1]);
  lens[2] = header_block(HTTP_MAX_HEADER_BYTES, 200);
  copies[2] = malloc(lens[2]);
  memcpy(copies[2], g_in, lens[2]);
  for (int k = 0; k < 3; k++) {
    http_head_scan a, b;
    http_parse_error ea = {0}, eb = {0};
    int ra = scan_pieces(copies[k], &lens[k], 1, &a, &ea);
    b = (http_head_scan){0};
    int rb = HTTP_SCAN_MORE;
    for (size_t i = 1; i <= lens[k] && rb == HTTP_SCAN_MORE; i++)
      rb = http_head_scan_feed(&b, copies[k], i, &eb);
    assert_int_equal(ra, rb);
    assert_int_equal(ea.status, eb.status);
    assert_int_equal(a.end, b.end);
    b = (http_head_scan){0};
    rb = HTTP_SCAN_MORE;
    for (size_t i = 997; rb == HTTP_SCAN_MORE && i < lens[k] + 997; i += 997)
      rb = http_head_scan_feed(&b, copies[k], i < lens[k] ? i : lens[k], &eb);
    assert_int_equal(ra, rb);
    assert_int_equal(a.end, b.end);
    free(copies[k]);
  }
}

/* What follows the head is the next request's: scanning it from there works. */
static void test_pipelined(void **state) {
  (void)state;
  const char *in = "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
  http_head_scan s = {0};
  http_parse_error err = {0};
  size_t len = strlen(in);
  assert_int_equal(http_head_scan_feed(&s, in, len, &err), HTTP_SCAN_DONE);
  size_t first = strlen("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  assert_int_equal(s.end, first);
  /* feeding again changes nothing */
  assert_int_equal(http_head_scan_feed(&s, in, len, &err), HTTP_SCAN_DONE);
  assert_int_equal(s.end, first);
  outcome o = run(in + first, len - first);
  assert_int_equal(o.status, 0);
  assert_int_equal(o.end, len - first);
  assert_string_equal(g_head.target, "/b");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_simple_get),
      cmocka_unit_test(test_post_with_headers),
      cmocka_unit_test(test_http10_and_bare_lf),
      cmocka_unit_test(test_values),
      cmocka_unit_test(test_get_and_count),
      cmocka_unit_test(test_method_refusals),
      cmocka_unit_test(test_request_line_refusals),
      cmocka_unit_test(test_header_refusals),
      cmocka_unit_test(test_messages_do_not_quote),
      cmocka_unit_test(test_leading_empty_lines),
      cmocka_unit_test(test_target_limit),
      cmocka_unit_test(test_header_bytes_limit),
      cmocka_unit_test(test_head_limit),
      cmocka_unit_test(test_header_count_limit),
      cmocka_unit_test(test_endless_head),
      cmocka_unit_test(test_scan_splits),
      cmocka_unit_test(test_pipelined),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
