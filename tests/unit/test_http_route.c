/* test_http_route: path-pattern matching, percent-decoding and query-string walking. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "http_route.h"

static int match(const char *pattern, const char *path, http_route_match *m) {
  return http_route_match_path(pattern, path, strlen(path), m);
}

static void test_literal_paths(void **state) {
  (void)state;
  http_route_match m;
  assert_int_equal(match("/transactions", "/transactions", &m), HTTP_ROUTE_MATCH);
  assert_int_equal(m.n, 0);
  http_route_match_clear(&m);
  assert_int_equal(match("/", "/", &m), HTTP_ROUTE_MATCH);
  http_route_match_clear(&m);
  assert_int_equal(match("/transactions", "/transaction", &m), HTTP_ROUTE_NO_MATCH);
  assert_int_equal(match("/transactions", "/transactions/", &m), HTTP_ROUTE_NO_MATCH);
  assert_int_equal(match("/transactions", "/transactionsX", &m), HTTP_ROUTE_NO_MATCH);
  assert_int_equal(match("/transactions", "transactions", &m), HTTP_ROUTE_NO_MATCH);
  assert_int_equal(match("/transactions", "", &m), HTTP_ROUTE_NO_MATCH);
  /* literals are compared undecoded */
  assert_int_equal(match("/transactions", "/transaction%73", &m), HTTP_ROUTE_NO_MATCH);
}

static void test_params(void **state) {
  (void)state;
  http_route_match m;
  assert_int_equal(match("/balances/{account_id}", "/balances/abc-1", &m), HTTP_ROUTE_MATCH);
  assert_int_equal(m.n, 1);
  assert_string_equal(m.params[0].name, "account_id");
  assert_string_equal(m.params[0].value, "abc-1");
  http_route_match_clear(&m);
  assert_null(m.buf);

  assert_int_equal(match("/a/{x}/b/{y}", "/a/1/b/22", &m), HTTP_ROUTE_MATCH);
  assert_int_equal(m.n, 2);
  assert_string_equal(m.params[0].value, "1");
  assert_string_equal(m.params[1].name, "y");
  assert_string_equal(m.params[1].value, "22");
  http_route_match_clear(&m);

  /* a param takes exactly one non-empty segment */
  assert_int_equal(match("/balances/{id}", "/balances/", &m), HTTP_ROUTE_NO_MATCH);
  assert_int_equal(match("/balances/{id}", "/balances", &m), HTTP_ROUTE_NO_MATCH);
  assert_int_equal(match("/balances/{id}", "/balances/a/b", &m), HTTP_ROUTE_NO_MATCH);
  assert_int_equal(match("/a/{x}/b", "/a/1/c", &m), HTTP_ROUTE_NO_MATCH);
  assert_null(m.buf); /* a failed match owns nothing */
}

static void test_param_decoding(void **state) {
  (void)state;
  http_route_match m;
  /* %2F stays inside the segment: decoding happens after splitting */
  assert_int_equal(match("/balances/{id}", "/balances/a%2Fb%20c+d", &m), HTTP_ROUTE_MATCH);
  assert_string_equal(m.params[0].value, "a/b c+d"); /* '+' is literal in paths */
  http_route_match_clear(&m);
  assert_int_equal(match("/balances/{id}", "/balances/%C3%A9", &m), HTTP_ROUTE_MATCH);
  assert_string_equal(m.params[0].value, "\xc3\xa9");
  http_route_match_clear(&m);
  assert_int_equal(match("/balances/{id}", "/balances/a%zz", &m), HTTP_ROUTE_BAD_PATH);
  assert_int_equal(match("/balances/{id}", "/balances/a%2", &m), HTTP_ROUTE_BAD_PATH);
  assert_int_equal(match("/balances/{id}", "/balances/%00", &m), HTTP_ROUTE_BAD_PATH);
  assert_null(m.buf);
}

static void test_pct_decode(void **state) {
  (void)state;
  char out[32];
  assert_int_equal(http_route_pct_decode("a%41b", 5, 0, out), 3);
  assert_string_equal(out, "aAb");
  assert_int_equal(http_route_pct_decode("a+b%2b", 6, 1, out), 4);
  assert_string_equal(out, "a b+");
  assert_int_equal(http_route_pct_decode("a+b", 3, 0, out), 3);
  assert_string_equal(out, "a+b");
  assert_int_equal(http_route_pct_decode("", 0, 0, out), 0);
  assert_string_equal(out, "");
  assert_int_equal(http_route_pct_decode("%", 1, 0, out), -1);
  assert_int_equal(http_route_pct_decode("%g0", 3, 0, out), -1);
  assert_int_equal(http_route_pct_decode("%0", 2, 0, out), -1);
  assert_int_equal(http_route_pct_decode("x%00", 4, 0, out), -1);
  /* the length bounds the input: "%41" cut to "%4" is malformed */
  assert_int_equal(http_route_pct_decode("%41", 2, 0, out), -1);
  assert_true(http_route_pct_valid("/a%20b/c", 8));
  assert_false(http_route_pct_valid("/a%2", 4));
  assert_false(http_route_pct_valid("/a%x1", 5));
}

static void test_pattern_names(void **state) {
  (void)state;
  http_route_match m;
  char err[160];
  assert_int_equal(http_route_pattern_names("/a/{x}/b/{yy}", &m, err, sizeof err), 0);
  assert_int_equal(m.n, 2);
  assert_string_equal(m.params[0].name, "x");
  assert_string_equal(m.params[1].name, "yy");
  assert_int_equal(http_route_pattern_names("/metrics", &m, err, sizeof err), 0);
  assert_int_equal(m.n, 0);
  assert_int_equal(http_route_pattern_names("a/{x}", &m, err, sizeof err), -1);
  assert_int_equal(http_route_pattern_names("/a/{}", &m, err, sizeof err), -1);
  assert_int_equal(http_route_pattern_names("/a/{x", &m, err, sizeof err), -1);
  assert_int_equal(http_route_pattern_names("/a/x{y}", &m, err, sizeof err), -1);
  assert_non_null(strstr(err, "whole segment"));
  assert_int_equal(
      http_route_pattern_names("/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", &m, err, sizeof err), -1);
}

typedef struct collected {
  char text[256];
  int stop_at;
  int calls;
} collected;

static int collect(void *ctx, const char *key, const char *value, char *err, size_t errlen) {
  collected *c = ctx;
  c->calls++;
  size_t n = strlen(c->text);
  snprintf(c->text + n, sizeof c->text - n, "[%s=%s]", key, value);
  if (c->stop_at != 0 && c->calls == c->stop_at) {
    snprintf(err, errlen, "stopped at %s", key);
    return 7;
  }
  return 0;
}

static void test_query_each(void **state) {
  (void)state;
  char err[128];
  collected c = {0};
  const char *q = "a=1&&b=x+y%26z&flag&c=";
  assert_int_equal(http_route_query_each(q, strlen(q), collect, &c, err, sizeof err), 0);
  assert_string_equal(c.text, "[a=1][b=x y&z][flag=][c=]");

  collected c2 = {.stop_at = 2};
  assert_int_equal(http_route_query_each("a=1&b=2&c=3", 11, collect, &c2, err, sizeof err), 7);
  assert_string_equal(err, "stopped at b");
  assert_int_equal(c2.calls, 2);

  collected c3 = {0};
  assert_int_equal(http_route_query_each("a=%zz", 5, collect, &c3, err, sizeof err), -1);
  assert_non_null(strstr(err, "\"a\""));
  assert_int_equal(http_route_query_each("=1", 2, collect, &c3, err, sizeof err), -1);
  assert_int_equal(c3.calls, 0);
  assert_int_equal(http_route_query_each(NULL, 0, collect, &c3, err, sizeof err), 0);
  /* the length bounds the walk: "a=1&b" cut to "a=1" */
  collected c4 = {0};
  assert_int_equal(http_route_query_each("a=1&b", 3, collect, &c4, err, sizeof err), 0);
  assert_string_equal(c4.text, "[a=1]");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_literal_paths),  cmocka_unit_test(test_params),
      cmocka_unit_test(test_param_decoding), cmocka_unit_test(test_pct_decode),
      cmocka_unit_test(test_pattern_names),  cmocka_unit_test(test_query_each),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
