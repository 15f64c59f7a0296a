/* test_arena: pieces are aligned, never overlap (each keeps what was written into it)
 * across block boundaries and for pieces larger than a block; a reset round reuses the
 * memory; protobuf-c decodes through it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "arena.h"
#include "wallet/v1/outbox.pb-c.h"

#define PIECES 2000

static void fill_and_check(arena *a) {
  static unsigned char *p[PIECES];
  static size_t len[PIECES];
  for (int i = 0; i < PIECES; i++) {
    len[i] = (size_t)(i * 37 % 300) + (i % 97 == 0 ? 100000 : 0); /* some beyond a block */
    p[i] = arena_alloc(a, len[i]);
    assert_non_null(p[i]);
    assert_int_equal((uintptr_t)p[i] % sizeof(max_align_t), 0);
    memset(p[i], i & 0xff, len[i]);
  }
  for (int i = 0; i < PIECES; i++)
    for (size_t k = 0; k < len[i]; k++) assert_int_equal(p[i][k], i & 0xff);
}

static void test_pieces_aligned_and_apart(void **state) {
  (void)state;
  arena a = {0};
  for (int round = 0; round < 3; round++) {
    fill_and_check(&a);
    arena_reset(&a);
  }
  arena_free(&a);
  assert_null(a.head);
}

static void test_protobuf_decodes_into_it(void **state) {
  (void)state;
  Wallet__V1__OutboxRecord rec = WALLET__V1__OUTBOX_RECORD__INIT;
  rec.event_id = "e1";
  rec.topic = "balances";
  rec.key = "k";
  rec.event_type = "wallet.v1.BalanceUpdated";
  uint8_t payload[700];
  memset(payload, 7, sizeof payload);
  rec.payload.data = payload;
  rec.payload.len = sizeof payload;
  Wallet__V1__OutboxRecord *recs[] = {&rec, &rec, &rec};
  Wallet__V1__OutboxBatch b = WALLET__V1__OUTBOX_BATCH__INIT;
  b.records = recs;
  b.n_records = 3;
  uint8_t buf[4096];
  size_t n = wallet__v1__outbox_batch__pack(&b, buf);
  arena a = {0};
  ProtobufCAllocator pb = arena_protobuf_allocator(&a);
  for (int round = 0; round < 50; round++) {
    Wallet__V1__OutboxBatch *got = wallet__v1__outbox_batch__unpack(&pb, n, buf);
    assert_non_null(got);
    assert_int_equal(got->n_records, 3);
    assert_string_equal(got->records[2]->event_type, "wallet.v1.BalanceUpdated");
    assert_memory_equal(got->records[1]->payload.data, payload, sizeof payload);
    wallet__v1__outbox_batch__free_unpacked(got, &pb); /* a no-op: the reset frees */
    arena_reset(&a);
  }
  arena_free(&a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pieces_aligned_and_apart),
      cmocka_unit_test(test_protobuf_decodes_into_it),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
