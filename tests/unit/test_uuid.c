/* test_uuid: generated ids are well-formed version-7 UUIDs, time-ordered and distinct,
 * also when several threads draw from their own random pools at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"
#include "uuid.h"

#define PER_THREAD 5000
#define THREADS 4

static int cmp_id(const void *a, const void *b) { return strcmp(a, b); }

static void assert_v7(const char *id, int64_t ms_lo, int64_t ms_hi) {
  assert_int_equal(strlen(id), 36);
  assert_true(uuid_valid(id));
  for (int i = 0; i < 36; i++) {
    if (id[i] == '-') continue;
    assert_true((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f'));
  }
  assert_int_equal(id[14], '7');            /* version */
  assert_non_null(strchr("89ab", id[19])); /* variant 10 */
  char hex[13];
  memcpy(hex, id, 8);
  memcpy(hex + 8, id + 9, 4);
  hex[12] = '\0';
  int64_t ms = (int64_t)strtoll(hex, NULL, 16);
  assert_true(ms >= ms_lo && ms <= ms_hi);
}

static void test_format_and_time(void **state) {
  (void)state;
  int64_t lo = time_now_ms();
  char id[UUID_STR_LEN];
  for (int i = 0; i < 1000; i++) {
    uuid_v7(id);
    assert_v7(id, lo, time_now_ms());
  }
}

static void *draw(void *arg) {
  char(*ids)[UUID_STR_LEN] = arg;
  for (int i = 0; i < PER_THREAD; i++) uuid_v7(ids[i]);
  return NULL;
}

/* Ids come from per-thread pools of random bytes: no two threads, and no two refills,
 * may hand out the same bytes. */
static void test_distinct_across_threads(void **state) {
  (void)state;
  char(*ids)[UUID_STR_LEN] = calloc(THREADS * PER_THREAD, UUID_STR_LEN);
  assert_non_null(ids);
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&t[i], NULL, draw, ids + i * PER_THREAD), 0);
  for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
  qsort(ids, THREADS * PER_THREAD, UUID_STR_LEN, cmp_id);
  for (int i = 1; i < THREADS * PER_THREAD; i++) assert_string_not_equal(ids[i - 1], ids[i]);
  /* The 74 random bits are not constant: every hex digit of the last group varies. */
  for (int pos = 24; pos < 36; pos++) {
    int seen[16] = {0}, kinds = 0;
    for (int i = 0; i < THREADS * PER_THREAD; i++) {
      int v = ids[i][pos] <= '9' ? ids[i][pos] - '0' : ids[i][pos] - 'a' + 10;
      kinds += !seen[v]++;
    }
    assert_int_equal(kinds, 16);
  }
  free(ids);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_format_and_time),
      cmocka_unit_test(test_distinct_across_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
