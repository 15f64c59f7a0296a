/* test_balance_view: the in-memory read model: highest version wins in any order, growth
 * to many accounts, bad ids, and readers racing one writer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "balance_view.h"
#include "uuid.h"

static rm_update upd(const char *id, int64_t balance, int64_t version) {
  rm_update u = {.balance = balance, .version = version, .updated_at_us = version * 1000};
  snprintf(u.account_id, sizeof u.account_id, "%s", id);
  return u;
}

static void test_highest_version_wins(void **state) {
  (void)state;
  balance_view *v = balance_view_new();
  assert_non_null(v);
  const char *a = "0190c3e2-7b1a-7c3d-8e4f-0123456789ab";
  rm_update got;
  assert_false(balance_view_get(v, a, &got));
  rm_update u[] = {upd(a, 30, 3), upd(a, 10, 1), upd(a, 50, 5), upd(a, 40, 4), upd(a, 99, 5)};
  /* 3 then 5 change it; 1, 4 and a second 5 (equal version) do not. */
  assert_int_equal(balance_view_apply(v, u, 5), 2);
  assert_true(balance_view_get(v, a, &got));
  assert_string_equal(got.account_id, a);
  assert_int_equal(got.balance, 50);
  assert_int_equal(got.version, 5);
  assert_int_equal(got.updated_at_us, 5000);
  assert_int_equal(balance_view_size(v), 1);
  /* Upper case is the same account; the answer is canonical. */
  assert_true(balance_view_get(v, "0190C3E2-7B1A-7C3D-8E4F-0123456789AB", &got));
  assert_string_equal(got.account_id, a);
  balance_view_free(v);
}

static void test_bad_ids_and_versions_ignored(void **state) {
  (void)state;
  balance_view *v = balance_view_new();
  rm_update u[] = {upd("not-a-uuid", 1, 1), upd("0190c3e2-7b1a-7c3d-8e4f-0123456789a", 1, 1),
                   upd("0190c3e27-b1a-7c3d-8e4f-0123456789ab", 1, 1),
                   upd("0190c3e2-7b1a-7c3d-8e4f-0123456789ab", 1, 0)};
  assert_int_equal(balance_view_apply(v, u, 4), 0);
  assert_int_equal(balance_view_size(v), 0);
  rm_update got;
  assert_false(balance_view_get(v, "not-a-uuid", &got));
  assert_false(balance_view_get(v, "", &got));
  /* A valid id with more after it is not that account. */
  rm_update ok = upd("0190c3e2-7b1a-7c3d-8e4f-0123456789ab", 1, 1);
  assert_int_equal(balance_view_apply(v, &ok, 1), 1);
  assert_false(balance_view_get(v, "0190c3e2-7b1a-7c3d-8e4f-0123456789abc", &got));
  assert_true(balance_view_get(v, "0190c3e2-7b1a-7c3d-8e4f-0123456789ab", &got));
  balance_view_free(v);
  assert_false(balance_view_live(NULL));
}

#define MANY 200000

static void test_many_accounts(void **state) {
  (void)state;
  static char ids[MANY][UUID_STR_LEN];
  balance_view *v = balance_view_new();
  for (int i = 0; i < MANY; i++) {
    uuid_v7(ids[i]);
    rm_update u = upd(ids[i], i, 1 + i % 7);
    assert_int_equal(balance_view_apply(v, &u, 1), 1);
  }
  assert_int_equal(balance_view_size(v), MANY);
  for (int i = 0; i < MANY; i++) {
    rm_update got;
    if (!balance_view_get(v, ids[i], &got) || got.balance != i || got.version != 1 + i % 7)
      fail_msg("account %d (%s) lost or wrong after growth", i, ids[i]);
  }
  balance_view_free(v);
}

/* Readers always see a consistent (balance, version) pair: balance == version * 10. */
typedef struct race {
  balance_view *v;
  char id[8][UUID_STR_LEN];
  atomic_bool done;
  atomic_long torn, seen;
} race;

static void *reader(void *arg) {
  race *r = arg;
  while (!atomic_load(&r->done)) {
    for (int i = 0; i < 8; i++) {
      rm_update got;
      if (!balance_view_get(r->v, r->id[i], &got)) continue;
      if (got.balance != got.version * 10) atomic_fetch_add(&r->torn, 1);
      atomic_fetch_add(&r->seen, 1);
    }
  }
  return NULL;
}

static void test_readers_race_writer(void **state) {
  (void)state;
  static race r;
  memset(&r, 0, sizeof r);
  r.v = balance_view_new();
  for (int i = 0; i < 8; i++) uuid_v7(r.id[i]);
  pthread_t th[3];
  for (int i = 0; i < 3; i++) assert_int_equal(pthread_create(&th[i], NULL, reader, &r), 0);
  for (int64_t ver = 1; ver <= 20000; ver++) {
    rm_update u = upd(r.id[ver % 8], ver * 10, ver);
    balance_view_apply(r.v, &u, 1);
  }
  atomic_store(&r.done, true);
  for (int i = 0; i < 3; i++) pthread_join(th[i], NULL);
  assert_int_equal(atomic_load(&r.torn), 0);
  assert_true(atomic_load(&r.seen) > 0);
  balance_view_free(r.v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_highest_version_wins),
      cmocka_unit_test(test_bad_ids_and_versions_ignored),
      cmocka_unit_test(test_many_accounts),
      cmocka_unit_test(test_readers_race_writer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
