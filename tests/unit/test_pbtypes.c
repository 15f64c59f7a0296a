/* test_pbtypes: the message registry is sorted, complete and finds every type by name. */
#include <ctype.h>
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pbtypes.h"

static void test_sorted_and_findable(void **state) {
  (void)state;
  size_t n = 0;
  const ProtobufCMessageDescriptor *const *all = pbtypes_all(&n);
  assert_true(n >= 20);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(all[i]->magic, PROTOBUF_C__MESSAGE_DESCRIPTOR_MAGIC);
    if (i > 0 && strcmp(all[i - 1]->name, all[i]->name) >= 0)
      fail_msg("not sorted: %s before %s", all[i - 1]->name, all[i]->name);
    assert_ptr_equal(pbtypes_find(all[i]->name), all[i]);
  }
}

static void test_find_misses(void **state) {
  (void)state;
  assert_null(pbtypes_find(NULL));
  assert_null(pbtypes_find(""));
  assert_null(pbtypes_find("wallet.v1.Nope"));
  assert_null(pbtypes_find("wallet.v1.Balanc"));
  assert_null(pbtypes_find("wallet.v1.BalanceUpdatedX"));
  assert_null(pbtypes_find("zzz"));
  assert_null(pbtypes_find("BalanceUpdated"));
  const ProtobufCMessageDescriptor *d = pbtypes_find("wallet.v1.BalanceUpdated");
  assert_non_null(d);
  assert_string_equal(d->short_name, "BalanceUpdated");
  assert_non_null(pbtypes_find("google.protobuf.Timestamp"));
}

/* protoc-c names a descriptor after its C type: Wallet__V1__AccountCreated becomes
 * wallet__v1__account_created__descriptor. */
static void c_symbol(const char *c_name, char *out, size_t outlen) {
  size_t o = 0;
  for (const char *p = c_name; *p && o + 16 < outlen; p++) {
    if (isupper((unsigned char)*p) && p > c_name && p[-1] != '_') out[o++] = '_';
    out[o++] = (char)tolower((unsigned char)*p);
  }
  snprintf(out + o, outlen - o, "__descriptor");
}

/* Every message descriptor protoc-c generated from proto/ must be registered. */
static void test_registry_is_complete(void **state) {
  (void)state;
  size_t n = 0;
  const ProtobufCMessageDescriptor *const *all = pbtypes_all(&n);
  glob_t g;
  memset(&g, 0, sizeof g);
  assert_int_equal(glob(WALLET_GEN_DIR "/wallet/v1/*.pb-c.h", 0, NULL, &g), 0);
  assert_int_equal(glob(WALLET_GEN_DIR "/google/protobuf/timestamp.pb-c.h", GLOB_APPEND, NULL, &g), 0);
  size_t generated = 0;
  for (size_t i = 0; i < g.gl_pathc; i++) {
    FILE *f = fopen(g.gl_pathv[i], "r");
    assert_non_null(f);
    char line[512];
    const char *prefix = "extern const ProtobufCMessageDescriptor ";
    while (fgets(line, sizeof line, f)) {
      if (strncmp(line, prefix, strlen(prefix)) != 0) continue;
      char *sym = line + strlen(prefix);
      sym[strcspn(sym, ";\n")] = '\0';
      generated++;
      int found = 0;
      for (size_t k = 0; k < n && !found; k++) {
        char want[256];
        c_symbol(all[k]->c_name, want, sizeof want);
        found = strcmp(want, sym) == 0;
      }
      if (!found) fail_msg("%s (in %s) is not registered in pbtypes.c", sym, g.gl_pathv[i]);
    }
    fclose(f);
  }
  globfree(&g);
  assert_int_equal(generated, n);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sorted_and_findable),
      cmocka_unit_test(test_find_misses),
      cmocka_unit_test(test_registry_is_complete),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
