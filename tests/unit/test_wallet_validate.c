/* test_wallet_validate: the input rules wallet-core applies before touching the database. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "validate.h"

static void test_idempotency_key(void **state) {
  wallet_err e;
  assert_int_equal(validate_idempotency_key("abc-123", &e), WALLET_OK);
  assert_int_equal(validate_idempotency_key("a b", &e), WALLET_OK);
  assert_int_equal(validate_idempotency_key("", &e), WALLET_INVALID);
  assert_int_equal(validate_idempotency_key("tab\there", &e), WALLET_INVALID);
  assert_non_null(strstr(e.msg, "printable ASCII"));
  /* MariaDB's ascii_bin ignores trailing spaces: "abc " would collide with "abc". */
  assert_int_equal(validate_idempotency_key("abc ", &e), WALLET_INVALID);
  assert_non_null(strstr(e.msg, "space"));
  assert_int_equal(validate_idempotency_key(" abc", &e), WALLET_INVALID);
  char long_key[300];
  memset(long_key, 'k', sizeof long_key - 1);
  long_key[sizeof long_key - 1] = '\0';
  assert_int_equal(validate_idempotency_key(long_key, &e), WALLET_INVALID);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_idempotency_key)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
