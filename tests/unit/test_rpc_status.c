/* test_rpc_status: gRPC code names, grpc-gateway's HTTP mapping, and rpc_status_set. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "rpc_status.h"
#include "utf8.h"

static void test_http_mapping(void **state) {
  (void)state;
  static const struct {
    rpc_code code;
    unsigned http;
    const char *name;
  } table[] = {
      {RPC_OK, 200, "OK"},
      {RPC_CANCELLED, 499, "CANCELLED"},
      {RPC_UNKNOWN, 500, "UNKNOWN"},
      {RPC_INVALID_ARGUMENT, 400, "INVALID_ARGUMENT"},
      {RPC_DEADLINE_EXCEEDED, 504, "DEADLINE_EXCEEDED"},
      {RPC_NOT_FOUND, 404, "NOT_FOUND"},
      {RPC_ALREADY_EXISTS, 409, "ALREADY_EXISTS"},
      {RPC_PERMISSION_DENIED, 403, "PERMISSION_DENIED"},
      {RPC_RESOURCE_EXHAUSTED, 429, "RESOURCE_EXHAUSTED"},
      {RPC_FAILED_PRECONDITION, 400, "FAILED_PRECONDITION"},
      {RPC_ABORTED, 409, "ABORTED"},
      {RPC_OUT_OF_RANGE, 400, "OUT_OF_RANGE"},
      {RPC_UNIMPLEMENTED, 501, "UNIMPLEMENTED"},
      {RPC_INTERNAL, 500, "INTERNAL"},
      {RPC_UNAVAILABLE, 503, "UNAVAILABLE"},
      {RPC_DATA_LOSS, 500, "DATA_LOSS"},
      {RPC_UNAUTHENTICATED, 401, "UNAUTHENTICATED"},
  };
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    assert_int_equal(rpc_code_to_http(table[i].code), table[i].http);
    assert_string_equal(rpc_code_name(table[i].code), table[i].name);
  }
}

static void test_out_of_enum(void **state) {
  (void)state;
  assert_int_equal(rpc_code_to_http((rpc_code)17), 500);
  assert_int_equal(rpc_code_to_http((rpc_code)-1), 500);
  assert_string_equal(rpc_code_name((rpc_code)99), "UNKNOWN");
}

static void test_status_set(void **state) {
  (void)state;
  rpc_status st = {0};
  assert_int_equal(rpc_status_set(&st, RPC_NOT_FOUND, "account %s not found", "a1"),
                   RPC_NOT_FOUND);
  assert_int_equal(st.code, RPC_NOT_FOUND);
  assert_string_equal(st.message, "account a1 not found");

  char longer[RPC_MESSAGE_MAX * 2];
  memset(longer, 'x', sizeof longer - 1);
  longer[sizeof longer - 1] = '\0';
  rpc_status_set(&st, RPC_INTERNAL, "%s", longer);
  assert_int_equal(strlen(st.message), RPC_MESSAGE_MAX - 1); /* truncated, terminated */
  assert_int_equal(rpc_status_set(NULL, RPC_ABORTED, "ignored"), RPC_ABORTED);
}

/* A message goes out in a JSON body: it must stay UTF-8 even when "%.Ns" of a client's
 * input cuts a character in two, or the input was not UTF-8 to begin with. */
static void test_status_message_is_utf8(void **state) {
  (void)state;
  rpc_status st = {0};
  rpc_status_set(&st, RPC_INVALID_ARGUMENT, "id: \"%.5s\" is not a UUID", "abcd\xc3\xa9");
  assert_true(utf8_valid(st.message, strlen(st.message)));
  assert_string_equal(st.message, "id: \"abcd?\" is not a UUID");
  rpc_status_set(&st, RPC_INVALID_ARGUMENT, "name %s", "\xff\xc3\xa9\xed\xa0\x80z");
  assert_true(utf8_valid(st.message, strlen(st.message)));
  assert_string_equal(st.message, "name ?\xc3\xa9???z"); /* é kept, a surrogate is not */

  /* Cut by the buffer's end in the middle of a character. */
  char longer[RPC_MESSAGE_MAX + 8];
  memset(longer, 'x', sizeof longer - 1);
  longer[sizeof longer - 1] = '\0';
  memcpy(longer + RPC_MESSAGE_MAX - 2, "\xe2\x82\xac", 3);
  rpc_status_set(&st, RPC_INTERNAL, "%s", longer);
  assert_true(utf8_valid(st.message, strlen(st.message)));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_http_mapping),
      cmocka_unit_test(test_out_of_enum),
      cmocka_unit_test(test_status_set),
      cmocka_unit_test(test_status_message_is_utf8),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
