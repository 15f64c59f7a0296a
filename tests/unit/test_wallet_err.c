/* test_wallet_err: database failures map to the statuses the invariants promise. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "wallet_err.h"

static wallet_rc from_code(unsigned code, const char *sqlstate, wallet_err *e) {
  db_error dbe = {.code = code};
  snprintf(dbe.sqlstate, sizeof dbe.sqlstate, "%s", sqlstate);
  snprintf(dbe.message, sizeof dbe.message, "error %u", code);
  return wallet_err_from_db(e, &dbe, "applying a transfer");
}

/* Invariant 2: a deadlock or lock wait is never a 500, even after the retries ran out. */
static void test_contention_is_unavailable(void **state) {
  wallet_err e;
  rpc_status st;
  assert_int_equal(from_code(1213, "40001", &e), WALLET_UNAVAILABLE);
  assert_int_equal(wallet_err_to_rpc(&e, &st), RPC_UNAVAILABLE);
  assert_int_equal(rpc_code_to_http(st.code), 503);
  assert_non_null(strstr(st.message, "retry"));
  assert_int_equal(from_code(1205, "HY000", &e), WALLET_UNAVAILABLE);
}

static void test_connection_errors_are_unavailable(void **state) {
  wallet_err e;
  assert_int_equal(from_code(2013, "HY000", &e), WALLET_UNAVAILABLE);
  assert_int_equal(from_code(2006, "HY000", &e), WALLET_UNAVAILABLE);
}

static void test_other_errors_are_internal(void **state) {
  wallet_err e;
  rpc_status st;
  assert_int_equal(from_code(1146, "42S02", &e), WALLET_INTERNAL); /* no such table */
  assert_int_equal(wallet_err_to_rpc(&e, &st), RPC_INTERNAL);
  assert_int_equal(rpc_code_to_http(st.code), 500);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_contention_is_unavailable),
      cmocka_unit_test(test_connection_errors_are_unavailable),
      cmocka_unit_test(test_other_errors_are_internal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
