/* test_http_chunked: the incremental chunked-body decoder (RFC 9112 7.1). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_chunked.h"

typedef struct decoded {
  int result;
  size_t consumed;
  size_t produced;
  const char *err;
  char payload[32 * 1024];
} decoded;

static decoded g_a, g_b;
static char g_in[32 * 1024];

/* Feeds in[0..len) in two pieces cut at `cut`, decoding in place like the server does. */
static void decode_split(const char *in, size_t len, size_t cut, decoded *d) {
  assert_true(len <= sizeof g_in);
  memcpy(g_in, in, len);
  http_chunked c = {0};
  d->result = HTTP_CHUNKED_MORE;
  d->consumed = d->produced = 0;
  d->err = NULL;
  size_t at = 0;
  size_t pieces[2] = {cut, len - cut};
  for (int i = 0; i < 2 && d->result == HTTP_CHUNKED_MORE; i++) {
    size_t consumed = 0, produced = 0;
    d->result = http_chunked_feed(&c, g_in + at, pieces[i], g_in + at, &consumed, &produced,
                                  &d->err);
    assert_true(produced <= consumed && consumed <= pieces[i]);
    if (d->result == HTTP_CHUNKED_MORE)
      assert_int_equal(consumed, pieces[i]);
    if (d->result == HTTP_CHUNKED_ERROR)
      break;
    memcpy(d->payload + d->produced, g_in + at, produced);
    d->produced += produced;
    d->consumed += consumed;
    at += pieces[i];
  }
  d->payload[d->produced] = '\0';
}

static void decode(const char *in, size_t len, decoded *d) {
  decode_split(in, len, len, d);
}

static void expect_body(const char *in, const char *payload) {
  decode(in, strlen(in), &g_a);
  if (g_a.result != HTTP_CHUNKED_DONE)
    fail_msg("result %d (%s)", g_a.result, g_a.err ? g_a.err : "");
  assert_int_equal(g_a.consumed, strlen(in));
  assert_int_equal(g_a.produced, strlen(payload));
  assert_string_equal(g_a.payload, payload);
}

static void expect_error(const char *in, size_t len, const char *want) {
  decode(in, len, &g_a);
  assert_int_equal(g_a.result, HTTP_CHUNKED_ERROR);
  assert_non_null(g_a.err);
  if (want != NULL && strstr(g_a.err, want) == NULL)
    fail_msg("error \"%s\" lacks \"%s\"", g_a.err, want);
}

static void test_simple(void **state) {
  (void)state;
  expect_body("4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n", "Wikipedia");
  expect_body("1\r\nx\r\n0\r\n\r\n", "x");
  /* bare LF in the framing */
  expect_body("4\nWiki\n5\r\npedia\n0\n\n", "Wikipedia");
}

static void test_zero_only(void **state) {
  (void)state;
  expect_body("0\r\n\r\n", "");
  expect_body("000\r\n\r\n", "");
  /* not over until the empty line after the last chunk */
  decode("0\r\n", 3, &g_a);
  assert_int_equal(g_a.result, HTTP_CHUNKED_MORE);
  assert_int_equal(g_a.consumed, 3);
}

static void test_hex(void **state) {
  (void)state;
  expect_body("a\r\n0123456789\r\nB\r\nabcdefghijk\r\n0\r\n\r\n", "0123456789abcdefghijk");
  expect_body("0004\r\nWiki\r\n00000000000000000001\r\n!\r\n0\r\n\r\n", "Wiki!");
  char in[128], want[32];
  memset(want, 'z', 31);
  want[31] = '\0';
  snprintf(in, sizeof in, "1F\r\n%s\r\n0\r\n\r\n", want);
  expect_body(in, want);
  snprintf(in, sizeof in, "1f\r\n%s\r\n0\r\n\r\n", want);
  expect_body(in, want);
}

static void test_extensions(void **state) {
  (void)state;
  expect_body("4;a=b\r\nWiki\r\n5 ; x=\"q;r\" ;y\r\npedia\r\n0;last\r\n\r\n", "Wikipedia");
  expect_body("4\t;a\r\nWiki\r\n0\r\n\r\n", "Wiki");
}

static void test_trailers(void **state) {
  (void)state;
  expect_body("4\r\nWiki\r\n0\r\nX-Checksum: 1\r\nY: 2\r\n\r\n", "Wiki");
  expect_body("0\r\nX: 1\n\n", "");
}

/* The bytes after the body's last CRLF are the next request's. */
static void test_pipelined(void **state) {
  (void)state;
  const char *body = "4\r\nWiki\r\n0\r\nT: 1\r\n\r\n";
  char in[128];
  snprintf(in, sizeof in, "%sGET / HTTP/1.1\r\n\r\n", body);
  decode(in, strlen(in), &g_a);
  assert_int_equal(g_a.result, HTTP_CHUNKED_DONE);
  assert_int_equal(g_a.consumed, strlen(body));
  assert_string_equal(g_a.payload, "Wiki");
  assert_memory_equal(g_in + g_a.consumed, "GET /", 5); /* left alone */
}

static void test_every_split(void **state) {
  (void)state;
  static const char *inputs[] = {
      "4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n",
      "4;a=b\r\nWiki\r\n5 ; x=y\r\npedia\r\n0\r\nX: 1\r\nY: 2\r\n\r\nGET / HTTP/1.1\r\n\r\n",
      "0\r\n\r\n0\r\n\r\n",
      "4\nWiki\n0\n\n",
      "4\r\nWikiX\r\n",
      "4\r\nWiki\r\n0\r\nX: 1\rY\r\n\r\n",
      "g\r\n",
      "4\r\nWiki\r\n",
  };
  for (size_t k = 0; k < sizeof inputs / sizeof inputs[0]; k++) {
    size_t len = strlen(inputs[k]);
    decode(inputs[k], len, &g_a);
    for (size_t cut = 0; cut <= len; cut++) {
      decode_split(inputs[k], len, cut, &g_b);
      assert_int_equal(g_b.result, g_a.result);
      if (g_a.result == HTTP_CHUNKED_ERROR) {
        assert_string_equal(g_b.err, g_a.err);
        continue;
      }
      assert_int_equal(g_b.consumed, g_a.consumed);
      assert_int_equal(g_b.produced, g_a.produced);
      assert_memory_equal(g_b.payload, g_a.payload, g_a.produced);
    }
  }
  /* one byte at a time */
  const char *in = inputs[1];
  size_t len = strlen(in);
  http_chunked c = {0};
  char out[2];
  char payload[64];
  size_t np = 0, total = 0;
  const char *err = NULL;
  int r = HTTP_CHUNKED_MORE;
  for (size_t i = 0; i < len && r == HTTP_CHUNKED_MORE; i++) {
    size_t consumed = 0, produced = 0;
    r = http_chunked_feed(&c, in + i, 1, out, &consumed, &produced, &err);
    memcpy(payload + np, out, produced);
    np += produced;
    total += consumed;
  }
  assert_int_equal(r, HTTP_CHUNKED_DONE);
  assert_int_equal(total, strlen(in) - strlen("GET / HTTP/1.1\r\n\r\n"));
  assert_int_equal(np, 9);
  assert_memory_equal(payload, "Wikipedia", 9);
}

static void test_errors(void **state) {
  (void)state;
  expect_error("x\r\n", 3, "chunk size");
  expect_error("4x\r\nWiki\r\n0\r\n\r\n", 14, "chunk size");
  expect_error("-1\r\n", 4, "chunk size");
  expect_error("0x4\r\n", 5, "chunk size");
  expect_error("\r\n", 2, "chunk size");
  expect_error(";a=b\r\n", 6, "chunk size");
  expect_error(" 4\r\n", 4, "chunk size");
  expect_error("4 x\r\n", 5, "chunk size");
  expect_error("10000000000000000\r\n", 19, "chunk size");   /* 17 digits */
  expect_error("4000000000000001\r\n", 18, "chunk size");    /* > 2^62 */
  expect_error("ffffffffffffffff\r\n", 18, "chunk size");
  expect_error("4\r\nWikiX\r\n0\r\n\r\n", 16, "CRLF after chunk data");
  expect_error("4\r\nWiki\rX", 9, "CRLF after chunk data");
  expect_error("4\rX", 3, NULL);
  expect_error("4;a\rX", 5, NULL);
  expect_error("4;a\x01\r\n", 6, NULL);
  expect_error("0\r\nX: 1\rY", 9, NULL);
  expect_error("0\r\n\rX", 5, NULL);
  /* 2^62 itself is a size, just a large one */
  decode("4000000000000000\r\n", 18, &g_a);
  assert_int_equal(g_a.result, HTTP_CHUNKED_MORE);
}

static void test_line_limit(void **state) {
  (void)state;
  char in[4096];
  /* a size line of exactly the limit, then one byte over it */
  size_t n = (size_t)snprintf(in, sizeof in, "4;");
  memset(in + n, 'e', HTTP_CHUNK_LINE_MAX - n);
  n = HTTP_CHUNK_LINE_MAX;
  n += (size_t)snprintf(in + n, sizeof in - n, "\r\nWiki\r\n0\r\n\r\n");
  decode(in, n, &g_a);
  assert_int_equal(g_a.result, HTTP_CHUNKED_DONE);
  assert_string_equal(g_a.payload, "Wiki");
  n = (size_t)snprintf(in, sizeof in, "4;");
  memset(in + n, 'e', HTTP_CHUNK_LINE_MAX + 1 - n);
  n = HTTP_CHUNK_LINE_MAX + 1;
  n += (size_t)snprintf(in + n, sizeof in - n, "\r\nWiki\r\n0\r\n\r\n");
  expect_error(in, n, "line");
  /* refused before the line ends */
  memset(in, '0', 2000);
  expect_error(in, 2000, NULL);
}

static void test_trailers_limit(void **state) {
  (void)state;
  static char in[3 * HTTP_CHUNK_TRAILERS_MAX];
  /* trailer lines of exactly the limit together (each with its CRLF) */
  size_t n = (size_t)snprintf(in, sizeof in, "0\r\n");
  size_t left = HTTP_CHUNK_TRAILERS_MAX;
  while (left > 0) {
    size_t l = left < 200 ? left : 100;
    memcpy(in + n, "X: ", 3);
    memset(in + n + 3, 'v', l - 5);
    memcpy(in + n + l - 2, "\r\n", 2);
    n += l;
    left -= l;
  }
  memcpy(in + n, "\r\n", 2);
  decode(in, n + 2, &g_a);
  assert_int_equal(g_a.result, HTTP_CHUNKED_DONE);
  assert_int_equal(g_a.consumed, n + 2);
  /* one byte more */
  memmove(in + 4, in + 3, n - 3);
  in[3] = 'Y';
  memcpy(in + n + 1, "\r\n", 2);
  expect_error(in, n + 3, "trailer");
  /* an endless trailer section is refused before it ends */
  n = (size_t)snprintf(in, sizeof in, "0\r\n");
  while (n + 6 < sizeof in) {
    memcpy(in + n, "X: y\r\n", 6);
    n += 6;
  }
  expect_error(in, n, "trailer");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_simple),     cmocka_unit_test(test_zero_only),
      cmocka_unit_test(test_hex),        cmocka_unit_test(test_extensions),
      cmocka_unit_test(test_trailers),   cmocka_unit_test(test_pipelined),
      cmocka_unit_test(test_every_split), cmocka_unit_test(test_errors),
      cmocka_unit_test(test_line_limit), cmocka_unit_test(test_trailers_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
