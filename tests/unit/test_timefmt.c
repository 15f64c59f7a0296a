/* test_timefmt: the UTC text formats we write (DATETIME(6) for MariaDB, RFC 3339 for the
 * ce_time header) equal what gmtime_r and printf give, across leap days, centuries, the
 * epoch and negative times; and parse back to the same instant. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dbtime.h"
#include "timeutil.h"

static void ref_dbtime(int64_t us, char *out, size_t len) {
  time_t s = (time_t)(us / 1000000);
  int64_t f = us % 1000000;
  if (f < 0) {
    f += 1000000;
    s -= 1;
  }
  struct tm tm;
  gmtime_r(&s, &tm);
  snprintf(out, len, "%04d-%02d-%02d %02d:%02d:%02d.%06d", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)f);
}

static void ref_rfc3339(int64_t ms, char *out, size_t len) {
  time_t s = (time_t)(ms / 1000);
  int f = (int)(ms % 1000);
  if (f < 0) {
    f += 1000;
    s -= 1;
  }
  struct tm tm;
  gmtime_r(&s, &tm);
  snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, f);
}

static void check(int64_t us) {
  char got[DBTIME_LEN], want[64];
  dbtime_format(us, got);
  ref_dbtime(us, want, sizeof want);
  assert_string_equal(got, want);
  int64_t back = 0;
  assert_int_equal(dbtime_parse(got, &back), 0);
  assert_true(back == us);
  char got3[40], want3[64];
  time_format_rfc3339_ms(us / 1000, got3, sizeof got3);
  ref_rfc3339(us / 1000, want3, sizeof want3);
  assert_string_equal(got3, want3);
}

static void test_edges(void **state) {
  (void)state;
  const int64_t day = 86400LL * 1000000;
  const int64_t at[] = {
      0,
      1,
      -1,
      999999,
      -1000000,
      951782400LL * 1000000,           /* 2000-02-29 */
      951868799LL * 1000000 + 999999,  /* 2000-02-29 23:59:59.999999 */
      4107542400LL * 1000000,          /* 2100-03-01 */
      4107456000LL * 1000000,          /* 2100-02-28 */
      253402214399LL * 1000000 + 999999, /* 9999-12-30 23:59:59.999999 (and the last day) */
      -62135596800LL * 1000000,        /* 0001-01-01 */
      1796083200LL * 1000000 + 123456, /* 2026-12-01 */
  };
  for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
    check(at[i]);
    check(at[i] + day - 1);
  }
}

/* Every day from 1900 to 2200 at a time of day that moves, and a pseudo-random sweep. */
static void test_sweep(void **state) {
  (void)state;
  const int64_t day = 86400LL * 1000000;
  int64_t from = -2208988800LL * 1000000; /* 1900-01-01 */
  for (int64_t i = 0; i < 300 * 366; i++) check(from + i * day + (i * 7919 % 86400) * 1000037);
  uint64_t x = 88172645463325252ULL;
  for (int i = 0; i < 20000; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    check((int64_t)(x % (uint64_t)(253402300799LL * 1000000)));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_edges),
      cmocka_unit_test(test_sweep),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
