/* test_pbjson: the proto3 JSON mapping, both directions, every field shape and every
 * malformed input we can think of (each failure must name the field and leak nothing). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pbjson.h"
#include "wallet/test/test_proto2.pb-c.h"
#include "wallet/test/test_types.pb-c.h"
#include "wallet/v1/balances.pb-c.h"
#include "wallet/v1/events.pb-c.h"
#include "wallet/v1/health.pb-c.h"
#include "wallet/v1/wallet_core.pb-c.h"

#define J(...) #__VA_ARGS__
#define ALL (&wallet__test__all_types__descriptor)
#define LEGACY (&wallet__test__legacy__descriptor)

static ProtobufCMessage *parse_ok_flags(const ProtobufCMessageDescriptor *d, const char *json,
                                        int flags) {
  char err[PBJSON_ERR_MAX] = "";
  ProtobufCMessage *m = NULL;
  if (pbjson_parse(d, json, strlen(json), flags, &m, err, sizeof err) != 0)
    fail_msg("parse of %s failed: %s", json, err);
  assert_non_null(m);
  return m;
}

static ProtobufCMessage *parse_ok(const ProtobufCMessageDescriptor *d, const char *json) {
  return parse_ok_flags(d, json, 0);
}

static void parse_fails_flags(const ProtobufCMessageDescriptor *d, const char *json,
                              size_t len, int flags, const char *want) {
  char err[PBJSON_ERR_MAX] = "";
  ProtobufCMessage *m = (ProtobufCMessage *)1;
  int rc = pbjson_parse(d, json, len, flags, &m, err, sizeof err);
  if (rc != -1) fail_msg("parse of %.200s succeeded, want error \"%s\"", json, want);
  assert_null(m);
  if (!strstr(err, want))
    fail_msg("parse of %.200s: error \"%s\" lacks \"%s\"", json, err, want);
}

static void parse_fails(const ProtobufCMessageDescriptor *d, const char *json,
                        const char *want) {
  parse_fails_flags(d, json, strlen(json), 0, want);
}

static char *print_ok(const ProtobufCMessage *m, int flags) {
  char err[PBJSON_ERR_MAX] = "";
  char *s = pbjson_print(m, flags, err, sizeof err);
  if (!s) fail_msg("print failed: %s", err);
  return s;
}

/* JSON -> message -> JSON gives `want`; and message -> binary -> message -> JSON too. */
static void roundtrip(const ProtobufCMessageDescriptor *d, const char *in, const char *want) {
  ProtobufCMessage *m = parse_ok(d, in);
  char *out = print_ok(m, 0);
  if (strcmp(out, want) != 0) fail_msg("%s\n printed %s\n want    %s", in, out, want);
  size_t n = protobuf_c_message_get_packed_size(m);
  uint8_t *buf = malloc(n + 1);
  assert_non_null(buf);
  assert_int_equal(protobuf_c_message_pack(m, buf), n);
  ProtobufCMessage *m2 = protobuf_c_message_unpack(d, NULL, n, buf);
  assert_non_null(m2);
  char *out2 = print_ok(m2, 0);
  if (strcmp(out2, want) != 0) fail_msg("%s\n after binary %s\n want %s", in, out2, want);
  /* And the printed JSON parses back to the same thing. */
  ProtobufCMessage *m3 = parse_ok(d, out);
  char *out3 = print_ok(m3, 0);
  assert_string_equal(out3, want);
  free(out3);
  protobuf_c_message_free_unpacked(m3, NULL);
  free(out2);
  protobuf_c_message_free_unpacked(m2, NULL);
  free(buf);
  free(out);
  protobuf_c_message_free_unpacked(m, NULL);
}

struct rt_case {
  const char *in, *want;
};

static void run_roundtrips(const ProtobufCMessageDescriptor *d, const struct rt_case *c,
                           size_t n) {
  for (size_t i = 0; i < n; i++) roundtrip(d, c[i].in, c[i].want);
}

#define RUN(d, cases) run_roundtrips(d, cases, sizeof cases / sizeof cases[0])

static void test_integers(void **state) {
  (void)state;
  static const struct rt_case cases[] = {
      {J({"f_int32" : 1}), J({"f_int32":1})},
      {J({"fInt32" : "-2147483648"}), J({"f_int32":-2147483648})},
      {J({"f_int32" : 2147483647}), J({"f_int32":2147483647})},
      {J({"f_int32" : 1.0}), J({"f_int32":1})},
      {J({"f_int32" : 1e2}), J({"f_int32":100})},
      {J({"f_int32" : "1e2"}), J({"f_int32":100})},
      {J({"f_int32" : 12300e-2}), J({"f_int32":123})},
      {J({"f_int32" : -0}), J({})},
      {J({"f_int32" : 0}), J({})},
      {J({"f_int64" : "9007199254740993"}), J({"f_int64":"9007199254740993"})},
      {J({"f_int64" : 9007199254740993}), J({"f_int64":"9007199254740993"})},
      {J({"f_int64" : -9223372036854775808}), J({"f_int64":"-9223372036854775808"})},
      {J({"f_int64" : "9223372036854775807"}), J({"f_int64":"9223372036854775807"})},
      {J({"f_int64" : 9223372036854775807}), J({"f_int64":"9223372036854775807"})},
      {J({"f_int64" : "-9223372036854775808"}), J({"f_int64":"-9223372036854775808"})},
      {J({"f_int64" : 92233720368547758.07e2}), J({"f_int64":"9223372036854775807"})},
      {J({"f_uint32" : 4294967295}), J({"f_uint32":4294967295})},
      {J({"f_uint64" : 18446744073709551615}), J({"f_uint64":"18446744073709551615"})},
      {J({"fUint64" : "18446744073709551615"}), J({"f_uint64":"18446744073709551615"})},
      {J({"f_uint64" : "-0"}), J({})},
      {J({"f_sint32" : -5}), J({"f_sint32":-5})},
      {J({"f_sint64" : "-5"}), J({"f_sint64":"-5"})},
      {J({"f_fixed32" : 7}), J({"f_fixed32":7})},
      {J({"f_fixed64" : "18446744073709551615"}), J({"f_fixed64":"18446744073709551615"})},
      {J({"f_sfixed32" : -1}), J({"f_sfixed32":-1})},
      {J({"f_sfixed64" : "-9223372036854775808"}), J({"f_sfixed64":"-9223372036854775808"})},
  };
  RUN(ALL, cases);

  Wallet__Test__AllTypes *m = (Wallet__Test__AllTypes *)parse_ok(
      ALL, J({"f_int64" : 9007199254740993, "f_sint64" : -9223372036854775808,
              "f_sfixed64" : "9223372036854775807", "f_uint64" : 18446744073709551615}));
  assert_true(m->f_int64 == 9007199254740993LL);
  assert_true(m->f_sint64 == INT64_MIN);
  assert_true(m->f_sfixed64 == INT64_MAX);
  assert_true(m->f_uint64 == UINT64_MAX);
  protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void test_floats(void **state) {
  (void)state;
  static const struct rt_case cases[] = {
      {J({"f_float" : 0.1}), J({"f_float":0.1})},
      {J({"f_float" : "1.5"}), J({"f_float":1.5})},
      {J({"f_float" : "NaN"}), J({"f_float":"NaN"})},
      {J({"f_float" : "Infinity"}), J({"f_float":"Infinity"})},
      {J({"f_float" : "-Infinity"}), J({"f_float":"-Infinity"})},
      {J({"f_float" : 3.4028235e38}), J({"f_float":3.4028235e+38})},
      {J({"f_float" : 1e-45}), J({"f_float":1e-45})},
      {J({"f_double" : 0.1}), J({"f_double":0.1})},
      {J({"f_double" : -2.5e-300}), J({"f_double":-2.5e-300})},
      {J({"f_double" : 1.7976931348623157e308}), J({"f_double":1.7976931348623157e+308})},
      {J({"f_double" : "NaN"}), J({"f_double":"NaN"})},
      {J({"f_double" : "-Infinity"}), J({"f_double":"-Infinity"})},
      {J({"f_double" : 3}), J({"f_double":3})},
      {J({"r_float" : [ 1, 0.25, "NaN" ], "r_double" : [ 0.1, "Infinity" ]}),
       J({"r_float":[1,0.25,"NaN"],"r_double":[0.1,"Infinity"]})},
  };
  RUN(ALL, cases);
  Wallet__Test__AllTypes *m =
      (Wallet__Test__AllTypes *)parse_ok(ALL, J({"f_float" : "NaN", "f_double" : 0.1}));
  assert_true(isnan(m->f_float));
  assert_true(m->f_double == 0.1);
  protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void test_bool_string_bytes_enum(void **state) {
  (void)state;
  static const struct rt_case cases[] = {
      {J({"f_bool" : true}), J({"f_bool":true})},
      {J({"f_bool" : false}), J({})},
      {J({"f_string" : "h\u00e9llo \ud83d\ude00 \"q\" \\ \n"}),
       "{\"f_string\":\"h\xc3\xa9llo \xf0\x9f\x98\x80 \\\"q\\\" \\\\ \\n\"}"},
      {"{\"f_string\":\"\xe2\x82\xac\"}", "{\"f_string\":\"\xe2\x82\xac\"}"},
      {J({"f_string" : ""}), J({})},
      {J({"f_bytes" : "AAEC/w=="}), J({"f_bytes":"AAEC/w=="})},
      {J({"f_bytes" : "AAEC_w=="}), J({"f_bytes":"AAEC/w=="})},
      {J({"f_bytes" : "AAEC_w"}), J({"f_bytes":"AAEC/w=="})},
      {J({"f_bytes" : "AAEC/w"}), J({"f_bytes":"AAEC/w=="})},
      {J({"f_bytes" : "-_8"}), J({"f_bytes":"+/8="})},
      {J({"f_bytes" : "YWJj"}), J({"f_bytes":"YWJj"})},
      {J({"f_bytes" : ""}), J({})},
      {J({"f_enum" : "COLOR_RED"}), J({"f_enum":"COLOR_RED"})},
      {J({"fEnum" : 2}), J({"f_enum":"COLOR_GREEN"})},
            {J({"f_enum" : -5}), J({"f_enum":"COLOR_NEGATIVE"})},
      {J({"f_enum" : 99}), J({"f_enum":99})},
      {J({"f_enum" : "COLOR_UNSPECIFIED"}), J({})},
      {J({"r_enum" : [ "COLOR_RED", 2, 77 ]}), J({"r_enum":["COLOR_RED","COLOR_GREEN",77]})},
      {J({"r_bool" : [ true, false ]}), J({"r_bool":[true,false]})},
      {J({"r_string" : [ "a", "", "\u00e9" ]}), "{\"r_string\":[\"a\",\"\",\"\xc3\xa9\"]}"},
      {J({"r_bytes" : [ "", "AQ", "AQI=" ]}), J({"r_bytes":["","AQ==","AQI="]})},
      {J({"r_int64" : [ "1", 2, -9223372036854775808 ]}),
       J({"r_int64":["1","2","-9223372036854775808"]})},
      {J({"r_uint64" : [18446744073709551615]}), J({"r_uint64":["18446744073709551615"]})},
      {J({"r_int32" : []}), J({})},
      {J({"r_int32" : null}), J({})},
  };
  RUN(ALL, cases);
  Wallet__Test__AllTypes *m = (Wallet__Test__AllTypes *)parse_ok(
      ALL, J({"f_bytes" : "AAEC_w", "f_enum" : 99, "f_string" : ""}));
  assert_int_equal(m->f_bytes.len, 4);
  assert_memory_equal(m->f_bytes.data, "\x00\x01\x02\xff", 4);
  assert_int_equal(m->f_enum, 99);
  assert_string_equal(m->f_string, "");
  protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void test_messages_timestamps_oneofs_maps(void **state) {
  (void)state;
  static const struct rt_case cases[] = {
      {J({"f_inner" : {"label" : "x", "count" : 3}}), J({"f_inner":{"label":"x","count":"3"}})},
      {J({"f_inner" : {}}), J({"f_inner":{}})},
      {J({"f_inner" : null, "f_ts" : null, "f_int32" : null}), J({})},
      {J({"f_inner" : {"child" : {"child" : {"label" : "deep"}}}}),
       J({"f_inner":{"child":{"child":{"label":"deep"}}}})},
      {J({"r_inner" : [ {"label" : "a"}, {} ]}), J({"r_inner":[{"label":"a"},{}]})},
      {J({"f_ts" : "2026-11-29T15:04:05Z"}), J({"f_ts":"2026-11-29T15:04:05Z"})},
      {J({"f_ts" : "2026-11-29T15:04:05.123Z"}), J({"f_ts":"2026-11-29T15:04:05.123Z"})},
      {J({"f_ts" : "2026-11-29T15:04:05.1Z"}), J({"f_ts":"2026-11-29T15:04:05.100Z"})},
      {J({"f_ts" : "2026-11-29T15:04:05.123456Z"}), J({"f_ts":"2026-11-29T15:04:05.123456Z"})},
      {J({"f_ts" : "2026-11-29T15:04:05.000001Z"}), J({"f_ts":"2026-11-29T15:04:05.000001Z"})},
      {J({"f_ts" : "2026-11-29T15:04:05.123456789Z"}),
       J({"f_ts":"2026-11-29T15:04:05.123456789Z"})},
      {J({"f_ts" : "2026-11-29T17:34:05+02:30"}), J({"f_ts":"2026-11-29T15:04:05Z"})},
      {J({"f_ts" : "2026-11-29T00:04:05-23:00"}), J({"f_ts":"2026-11-29T23:04:05Z"})},
      {J({"f_ts" : "1970-01-01T00:00:00Z"}), J({"f_ts":"1970-01-01T00:00:00Z"})},
      {J({"f_ts" : "1969-12-31T23:59:59.5Z"}), J({"f_ts":"1969-12-31T23:59:59.500Z"})},
      {J({"f_ts" : "2024-02-29T12:00:00Z"}), J({"f_ts":"2024-02-29T12:00:00Z"})},
      {J({"f_ts" : "0001-01-01T00:00:00Z"}), J({"f_ts":"0001-01-01T00:00:00Z"})},
      {J({"f_ts" : "9999-12-31T23:59:59.999999999Z"}),
       J({"f_ts":"9999-12-31T23:59:59.999999999Z"})},
      {J({"r_ts" : [ "2000-01-01T00:00:00Z", "2000-03-01T00:00:00.5Z" ]}),
       J({"r_ts":["2000-01-01T00:00:00Z","2000-03-01T00:00:00.500Z"]})},
      {J({"o_string" : ""}), J({"o_string":""})},
      {J({"o_int64" : "0"}), J({"o_int64":"0"})},
      {J({"oInt64" : -1}), J({"o_int64":"-1"})},
      {J({"o_inner" : {}}), J({"o_inner":{}})},
      {J({"o_bytes" : "AQ"}), J({"o_bytes":"AQ=="})},
      {J({"o_string" : null, "o_int64" : 5}), J({"o_int64":"5"})},
      {J({"m_str_int64" : {"a" : "1", "b" : 2}}), J({"m_str_int64":{"a":"1","b":"2"}})},
      {J({"m_int32_str" : {"-1" : "x", "7" : ""}}), J({"m_int32_str":{"-1":"x","7":""}})},
      {J({"m_bool_inner" : {"true" : {"label" : "t"}, "false" : {}}}),
       J({"m_bool_inner":{"true":{"label":"t"},"false":{}}})},
      {J({"m_uint64_enum" : {"18446744073709551615" : "COLOR_RED", "0" : 3}}),
       J({"m_uint64_enum":{"18446744073709551615":"COLOR_RED","0":3}})},
      {J({"mStrInt64" : {}}), J({})},
  };
  RUN(ALL, cases);
  Wallet__Test__AllTypes *m = (Wallet__Test__AllTypes *)parse_ok(
      ALL, J({"f_ts" : "1969-12-31T23:59:59.5Z", "o_inner" : {"label" : "z"}}));
  assert_true(m->f_ts->seconds == -1);
  assert_int_equal(m->f_ts->nanos, 500000000);
  assert_int_equal(m->choice_case, WALLET__TEST__ALL_TYPES__CHOICE_O_INNER);
  assert_string_equal(m->o_inner->label, "z");
  protobuf_c_message_free_unpacked(&m->base, NULL);
}

static void test_proto2_presence(void **state) {
  (void)state;
  static const struct rt_case cases[] = {
      {J({"id" : "a"}), J({"id":"a"})},
      {J({"id" : "a", "n" : 0}), J({"id":"a","n":0})},
      {J({"id" : "a", "note" : ""}), J({"id":"a","note":""})},
      {J({"id" : "a", "note" : "hello"}), J({"id":"a","note":"hello"})},
      {J({"id" : "a", "blob" : ""}), J({"id":"a","blob":""})},
      {J({"id" : "a", "flag" : false}), J({"id":"a","flag":false})},
      {J({"id" : "", "next" : {"id" : "b", "pInt" : 0}}), J({"id":"","next":{"id":"b","p_int":0}})},
      {J({"id" : "a", "p_str" : "s", "nums" : [ "1", -2 ]}), J({"id":"a","nums":["1","-2"],"p_str":"s"})},
  };
  RUN(LEGACY, cases);
  Wallet__Test__Legacy *m = (Wallet__Test__Legacy *)parse_ok(LEGACY, J({"id" : "a"}));
  assert_false(m->has_n);
  assert_int_equal(m->n, 7);
  assert_string_equal(m->note, "hello");
  char *s = print_ok(&m->base, PBJSON_EMIT_DEFAULTS);
  assert_string_equal(s, J({"id":"a","n":7,"note":"hello","blob":"","flag":false,"next":null,"nums":[]}));
  free(s);
  protobuf_c_message_free_unpacked(&m->base, NULL);
  m = (Wallet__Test__Legacy *)parse_ok(LEGACY, J({"id" : "a", "n" : 0, "blob" : "AQ"}));
  assert_true(m->has_n);
  assert_int_equal(m->n, 0);
  assert_true(m->has_blob);
  protobuf_c_message_free_unpacked(&m->base, NULL);
  parse_fails(LEGACY, J({"n" : 1}), "missing required field \"id\"");
  parse_fails(LEGACY, J({"id" : null}), "missing required field \"id\"");
  parse_fails(LEGACY, J({"id" : "a", "next" : {}}), "next: missing required field \"id\"");
  parse_fails(LEGACY, J({"id" : "a", "p_int" : 1, "pStr" : "x"}),
              "p_str: another field of the same oneof is already set (\"p_int\")");
}

static void test_emit_defaults_and_pretty(void **state) {
  (void)state;
  ProtobufCMessage *m = parse_ok(ALL, "{}");
  char *s = print_ok(m, PBJSON_EMIT_DEFAULTS);
  const char *want[] = {"\"f_int32\":0",     "\"f_int64\":\"0\"", "\"f_uint64\":\"0\"",
                        "\"f_float\":0",     "\"f_bool\":false",  "\"f_string\":\"\"",
                        "\"f_bytes\":\"\"",  "\"f_enum\":\"COLOR_UNSPECIFIED\"",
                        "\"f_inner\":null",  "\"f_ts\":null",     "\"r_int32\":[]",
                        "\"r_inner\":[]",    "\"m_str_int64\":{}"};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
    if (!strstr(s, want[i])) fail_msg("%s lacks %s", s, want[i]);
  assert_null(strstr(s, "o_string")); /* an unset oneof stays out */
  free(s);
  s = print_ok(m, 0);
  assert_string_equal(s, "{}");
  free(s);
  protobuf_c_message_free_unpacked(m, NULL);

  m = parse_ok(ALL, J({"f_int32" : 1, "r_int32" : [ 1, 2 ]}));
  s = print_ok(m, PBJSON_PRETTY);
  assert_non_null(strchr(s, '\n'));
  free(s);
  cJSON *j = pbjson_to_cjson(m, 0, NULL, 0);
  assert_non_null(j);
  assert_int_equal(cJSON_GetObjectItem(j, "f_int32")->valueint, 1);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "r_int32")), 2);
  cJSON_Delete(j);
  protobuf_c_message_free_unpacked(m, NULL);
}

static void test_malformed_json(void **state) {
  (void)state;
  parse_fails(ALL, "", "invalid JSON at offset 0: unexpected end of input");
  parse_fails(ALL, "{", "invalid JSON");
  parse_fails(ALL, "{\"f_int32\":}", "invalid JSON at offset 11");
  parse_fails(ALL, "{\"f_int32\":1,}", "invalid JSON");
  parse_fails(ALL, "{\"f_int32\" 1}", "expected ':'");
  parse_fails(ALL, "{f_int32:1}", "expected a string key");
  parse_fails(ALL, "{} x", "trailing characters");
  parse_fails(ALL, "{}{}", "trailing characters");
  parse_fails(ALL, J({"f_int32" : 01}), "invalid JSON");
  parse_fails(ALL, J({"f_int32" : 1.}), "malformed number");
  parse_fails(ALL, J({"f_int32" : .5}), "invalid JSON");
  parse_fails(ALL, J({"f_int32" : +1}), "invalid JSON");
  parse_fails(ALL, J({"f_int32" : 1e}), "malformed number");
  parse_fails(ALL, J({"f_int32" : NaN}), "invalid JSON");
  parse_fails(ALL, J({"f_bool" : True}), "invalid JSON");
  parse_fails(ALL, "{\"f_string\":\"abc}", "unterminated string");
  parse_fails(ALL, "{\"f_string\":\"a\\qb\"}", "bad escape");
  parse_fails(ALL, "{\"f_string\":\"\\u12\"}", "bad \\u escape");
  parse_fails(ALL, "{\"f_string\":\"tab\there\"}", "control character in string");
  parse_fails(ALL, "{\"f_string\":\"\\ud800\"}", "unpaired UTF-16 surrogate");
  parse_fails(ALL, "{\"f_string\":\"\\udc00\\ud800\"}", "unpaired UTF-16 surrogate");
  parse_fails(ALL, "{\"f_string\":\"a\\u0000b\"}", "\\u0000");
  parse_fails(ALL, "{\"f_string\":\"\xff\"}", "not valid UTF-8");
  parse_fails(ALL, "{\"f_string\":\"\xc0\xaf\"}", "not valid UTF-8");        /* overlong */
  parse_fails(ALL, "{\"f_string\":\"\xed\xa0\x80\"}", "not valid UTF-8");    /* surrogate */
  parse_fails(ALL, "{\"f_string\":\"\xf4\x90\x80\x80\"}", "not valid UTF-8"); /* > 10FFFF */
  parse_fails(ALL, "{\"f_string\":\"\xe2\x82\"}", "not valid UTF-8");        /* truncated */
  parse_fails(ALL, "{\"\xff\":1}", "not valid UTF-8");
  static const char nul_inside[] = "{\"f_int32\":1}\0 ";
  parse_fails_flags(ALL, nul_inside, sizeof nul_inside - 1, 0, "trailing characters");
  /* Not NUL-terminated: only len bytes are read. */
  parse_fails_flags(ALL, "{\"f_int32\":12}", 12, 0, "unexpected end of input");
  ProtobufCMessage *m = NULL;
  char err[PBJSON_ERR_MAX];
  assert_int_equal(pbjson_parse(ALL, "{\"f_int32\":12}garbage", 14, 0, &m, err, sizeof err), 0);
  assert_int_equal(((Wallet__Test__AllTypes *)m)->f_int32, 12);
  protobuf_c_message_free_unpacked(m, NULL);
}

static void test_wrong_types_and_ranges(void **state) {
  (void)state;
  static const struct {
    const char *json, *want;
  } cases[] = {
      {"[1]", "expected object, got array"},
      {"null", "expected object, got null"},
      {"\"x\"", "expected object, got string"},
      {J({"f_int32" : "x"}), "f_int32: invalid int32 value \"x\""},
      {J({"f_int32" : 2147483648}), "f_int32: value out of range for int32"},
      {J({"f_int32" : -2147483649}), "f_int32: value out of range for int32"},
      {J({"f_int32" : 1.5}), "f_int32: invalid int32 value \"1.5\" (not an integer)"},
      {J({"f_int32" : 1e-1}), "not an integer"},
      {J({"f_int32" : true}), "f_int32: expected number or string, got bool"},
      {J({"f_int32" : {}}), "f_int32: expected number or string, got object"},
      {J({"f_int64" : "9223372036854775808"}), "f_int64: value out of range for int64"},
      {J({"f_int64" : -9223372036854775809}), "f_int64: value out of range for int64"},
      {J({"f_int64" : "1e19"}), "f_int64: value out of range for int64"},
      {J({"f_int64" : 1e999999999999}), "f_int64: value out of range for int64"},
      {J({"f_int64" : 1e-999999999999}), "not an integer"},
      {J({"f_int64" : " 1"}), "f_int64: invalid int64 value \" 1\""},
      {J({"f_int64" : "0x10"}), "invalid int64 value"},
      {J({"f_int64" : ""}), "invalid int64 value"},
      {J({"f_int64" : "12x"}), "f_int64: invalid int64 value \"12x\""},
      {J({"f_sint64" : 9223372036854775808}), "f_sint64: value out of range for sint64"},
      {J({"f_uint64" : 18446744073709551616}), "f_uint64: value out of range for uint64"},
      {J({"f_uint64" : "-1"}), "f_uint64: value out of range for uint64"},
      {J({"f_uint64" : 184467440737095516151e-1}), "not an integer"},
      {J({"f_uint64" : 1e400}), "value out of range for uint64"},
      {J({"f_fixed64" : 18446744073709551616}), "value out of range for fixed64"},
      {J({"f_uint32" : 4294967296}), "f_uint32: value out of range for uint32"},
      {J({"f_uint32" : -1}), "f_uint32: value out of range for uint32"},
      {J({"f_float" : 3.5e38}), "f_float: value out of range for float"},
      {J({"f_float" : "-3.5e38"}), "f_float: value out of range for float"},
      {J({"f_double" : 1e400}), "f_double: value out of range for double"},
      {J({"f_double" : "1e400"}), "f_double: value out of range for double"},
      {J({"f_float" : "nan"}), "f_float: invalid float value \"nan\""},
      {J({"f_double" : "1.0x"}), "f_double: invalid double value"},
      {J({"f_double" : true}), "f_double: expected number or string, got bool"},
      {J({"f_bool" : "true"}), "f_bool: expected bool, got string"},
      {J({"f_bool" : 1}), "f_bool: expected bool, got number"},
      {J({"f_string" : 1}), "f_string: expected string, got number"},
      {J({"f_string" : ["a"]}), "f_string: expected string, got array"},
      {J({"f_bytes" : "A"}), "f_bytes: invalid base64 data"},
      {J({"f_bytes" : "AA=A"}), "f_bytes: invalid base64 data"},
      {J({"f_bytes" : "AA="}), "f_bytes: invalid base64 data"},
      {J({"f_bytes" : "a+b_"}), "f_bytes: invalid base64 data"},
      {J({"f_bytes" : "AA AA"}), "f_bytes: invalid base64 data"},
      {J({"f_bytes" : 12}), "f_bytes: expected base64 string, got number"},
      {J({"f_enum" : "COLOR_BLUE"}), "f_enum: invalid value \"COLOR_BLUE\" for enum wallet.test.Color"},
      {J({"f_enum" : "color_red"}), "invalid value \"color_red\" for enum"},
      {J({"f_enum" : "2"}), "f_enum: invalid value \"2\" for enum"},
      {J({"f_enum" : 2147483648}), "f_enum: value out of range for enum"},
      {J({"f_enum" : 1.5}), "not an integer"},
      {J({"f_enum" : true}), "f_enum: expected enum name or number, got bool"},
      {J({"f_inner" : "x"}), "f_inner: expected object, got string"},
      {J({"f_inner" : []}), "f_inner: expected object, got array"},
      {J({"f_inner" : {"nope" : 1}}), "f_inner: unknown field \"nope\""},
      {J({"f_inner" : {"count" : "x"}}), "f_inner.count: invalid int64 value \"x\""},
      {J({"f_inner" : {"child" : {"child" : {"label" : 5}}}}),
       "f_inner.child.child.label: expected string, got number"},
      {J({"r_inner" : [ {}, {"count" : true} ]}),
       "r_inner[1].count: expected number or string, got bool"},
      {J({"r_int32" : [ 1, null ]}), "r_int32[1]: null is not a valid element"},
      {J({"r_int32" : [ 1, "2", 3.5 ]}), "r_int32[2]: invalid int32 value \"3.5\""},
      {J({"r_int32" : 1}), "r_int32: expected array, got number"},
      {J({"r_int32" : {}}), "r_int32: expected array, got object"},
      {J({"r_string" : [ "a", 1 ]}), "r_string[1]: expected string, got number"},
      {J({"r_bytes" : [ "AQ", "!" ]}), "r_bytes[1]: invalid base64 data"},
      {J({"r_enum" : [ "COLOR_RED", "X" ]}), "r_enum[1]: invalid value \"X\""},
      {J({"r_ts" : [ "2026-11-29T15:04:05Z", "2026-11-29" ]}), "r_ts[1]: invalid timestamp"},
      {J({"f_ts" : "2026-13-01T00:00:00Z"}), "f_ts: invalid timestamp \"2026-13-01T00:00:00Z\""},
      {J({"f_ts" : "2026-02-29T00:00:00Z"}), "f_ts: invalid timestamp"},
      {J({"f_ts" : "2026-11-29T15:04:05"}), "f_ts: invalid timestamp"},
      {J({"f_ts" : "2026-11-29 15:04:05Z"}), "f_ts: invalid timestamp"},
      {J({"f_ts" : "2026-11-29T24:00:00Z"}), "f_ts: invalid timestamp"},
      {J({"f_ts" : "2026-11-29T15:04:60Z"}), "f_ts: invalid timestamp"},
      {J({"f_ts" : "2026-11-29T15:04:05.Z"}), "f_ts: invalid timestamp"},
      {J({"f_ts" : "2026-11-29T15:04:05.1234567890Z"}), "f_ts: invalid timestamp"},
      {J({"f_ts" : "2026-11-29T15:04:05Z "}), "f_ts: invalid timestamp"},
      {J({"f_ts" : "2026-11-29T15:04:05+0200"}), "f_ts: invalid timestamp"},
      {J({"f_ts" : "0000-12-31T23:59:59Z"}), "f_ts: invalid timestamp"},
      {J({"f_ts" : "0001-01-01T00:00:00+00:01"}), "f_ts: invalid timestamp"},
      {J({"f_ts" : "9999-12-31T23:59:59-00:01"}), "f_ts: invalid timestamp"},
      {J({"f_ts" : 1700000000}), "f_ts: expected RFC 3339 timestamp string, got number"},
      {J({"f_ts" : {"seconds" : 1}}), "f_ts: expected RFC 3339 timestamp string, got object"},
      {J({"f_int32" : 1, "f_int32" : 2}), "duplicate field \"f_int32\""},
      {J({"f_int32" : 1, "fInt32" : 2}), "duplicate field \"fInt32\""},
      {J({"f_inner" : null, "f_inner" : {}}), "duplicate field \"f_inner\""},
      {J({"f_inner" : {"label" : "a", "label" : "b"}}), "f_inner: duplicate field \"label\""},
      {J({"nope" : 1}), "unknown field \"nope\""},
      {J({"F_INT32" : 1}), "unknown field \"F_INT32\""},
      {J({"f_Int32" : 1}), "unknown field \"f_Int32\""},
      {J({"o_string" : "a", "o_int64" : "1"}),
       "o_int64: another field of the same oneof is already set (\"o_string\")"},
      {J({"o_inner" : {}, "oBytes" : ""}), "o_bytes: another field of the same oneof"},
      {J({"m_str_int64" : {"a" : "1", "a" : "2"}}), "m_str_int64: duplicate map key \"a\""},
      {J({"m_str_int64" : {"a" : "x"}}), "m_str_int64[\"a\"]: invalid int64 value \"x\""},
      {J({"m_str_int64" : {"a" : null}}), "m_str_int64[\"a\"]: null is not a valid map value"},
      {J({"m_str_int64" : []}), "m_str_int64: expected object, got array"},
      {J({"m_int32_str" : {"x" : "y"}}), "m_int32_str[\"x\"]: invalid int32 value \"x\""},
      {J({"m_int32_str" : {"1.0" : "y"}}), "invalid map key \"1.0\" for int32"},
      {J({"m_int32_str" : {"2147483648" : "y"}}), "value out of range for int32"},
      {J({"m_bool_inner" : {"yes" : {}}}), "m_bool_inner[\"yes\"]: invalid map key for bool"},
      {J({"m_bool_inner" : {"true" : {"label" : 1}}}),
       "m_bool_inner[\"true\"].label: expected string, got number"},
      {J({"m_uint64_enum" : {"1" : "NOPE"}}), "m_uint64_enum[\"1\"]: invalid value \"NOPE\""},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    parse_fails(ALL, cases[i].json, cases[i].want);
}

static char *nested_inner(int levels) {
  size_t cap = (size_t)levels * 20 + 64;
  char *s = malloc(cap);
  assert_non_null(s);
  size_t o = (size_t)snprintf(s, cap, "{\"f_inner\":");
  for (int i = 1; i < levels; i++) o += (size_t)snprintf(s + o, cap - o, "{\"child\":");
  o += (size_t)snprintf(s + o, cap - o, "{}");
  for (int i = 0; i < levels; i++) s[o++] = '}';
  s[o] = '\0';
  return s;
}

static void test_depth(void **state) {
  (void)state;
  /* PBJSON_MAX_DEPTH - 1 message levels under the top one fit exactly. */
  char *ok = nested_inner(PBJSON_MAX_DEPTH - 1);
  ProtobufCMessage *m = parse_ok(ALL, ok);
  char *back = print_ok(m, 0);
  assert_string_equal(back, ok);
  free(back);
  protobuf_c_message_free_unpacked(m, NULL);
  free(ok);

  char *deep = nested_inner(PBJSON_MAX_DEPTH);
  parse_fails(ALL, deep, "nesting deeper than 32 levels");
  free(deep);
  deep = nested_inner(5000);
  parse_fails(ALL, deep, "nesting deeper than 32 levels");
  free(deep);

  /* Deep arrays in an unknown field: rejected by the reader before any recursion. */
  size_t n = 100000;
  char *arr = malloc(n + 32);
  assert_non_null(arr);
  size_t o = (size_t)sprintf(arr, "{\"x\":");
  memset(arr + o, '[', n);
  arr[o + n] = '\0';
  parse_fails_flags(ALL, arr, strlen(arr), PBJSON_IGNORE_UNKNOWN, "nesting deeper than 32");
  free(arr);

  /* A message built in memory deeper than the limit is refused on output too. */
  Wallet__Test__Inner nodes[PBJSON_MAX_DEPTH + 2];
  for (int i = 0; i < PBJSON_MAX_DEPTH + 2; i++) {
    wallet__test__inner__init(&nodes[i]);
    if (i > 0) nodes[i - 1].child = &nodes[i];
  }
  char err[PBJSON_ERR_MAX];
  assert_null(pbjson_print(&nodes[0].base, 0, err, sizeof err));
  assert_non_null(strstr(err, "nesting deeper than 32 levels"));
  assert_non_null(strstr(err, "child.child.child"));
}

static void test_ignore_unknown(void **state) {
  (void)state;
  Wallet__Test__AllTypes *m = (Wallet__Test__AllTypes *)parse_ok_flags(
      ALL,
      J({"nope" : {"deep" : [ 1, 2, {"x" : null} ]}, "f_int32" : 3, "nope" : 1,
         "f_enum" : "COLOR_FUTURE", "r_enum" : [ "COLOR_RED", "COLOR_FUTURE", 2 ],
         "f_inner" : {"zzz" : true, "label" : "in"}}),
      PBJSON_IGNORE_UNKNOWN);
  assert_int_equal(m->f_int32, 3);
  assert_int_equal(m->f_enum, 0);
  assert_int_equal(m->n_r_enum, 2);
  assert_int_equal(m->r_enum[1], 2);
  assert_string_equal(m->f_inner->label, "in");
  protobuf_c_message_free_unpacked(&m->base, NULL);
  /* Known fields are still checked. */
  parse_fails_flags(ALL, J({"nope" : 1, "f_int32" : "x"}), strlen(J({"nope" : 1, "f_int32" : "x"})),
                    PBJSON_IGNORE_UNKNOWN, "f_int32: invalid int32 value");
}

static void test_real_protos(void **state) {
  (void)state;
  roundtrip(&wallet__v1__create_transaction_request__descriptor,
            J({"account_id_from" : "a", "accountIdTo" : "b", "amount" : 100}),
            J({"account_id_from":"a","account_id_to":"b","amount":"100"}));
  roundtrip(&wallet__v1__balance_updated__descriptor,
            J({"event_id" : "e", "occurred_at" : "2026-11-29T15:04:05.120Z",
               "balance_account_id_from" : "-9223372036854775808",
               "versionAccountIdTo" : 9007199254740993}),
            "{\"event_id\":\"e\",\"occurred_at\":\"2026-11-29T15:04:05.120Z\","
            "\"balance_account_id_from\":\"-9223372036854775808\","
            "\"version_account_id_to\":\"9007199254740993\"}");
  roundtrip(&wallet__v1__health_response__descriptor,
            J({"status" : "ok", "dependencies" : [ {"name" : "db", "ok" : true}, {"name" : "kafka", "detail" : "down"} ]}),
            J({"status":"ok","dependencies":[{"name":"db","ok":true},{"name":"kafka","detail":"down"}]}));
  roundtrip(&wallet__v1__balance__descriptor, J({"updated_at" : "2026-01-01T00:00:00Z", "stale" : true}),
            J({"updated_at":"2026-01-01T00:00:00Z","stale":true}));
  parse_fails(&wallet__v1__health_response__descriptor,
              J({"status" : "ok", "dependencies" : [ {"name" : "db"}, {"name" : 1} ]}),
              "dependencies[1].name: expected string, got number");
  parse_fails(&wallet__v1__create_transaction_request__descriptor,
              J({"amount" : "9223372036854775808"}), "amount: value out of range for int64");
  parse_fails(&wallet__v1__create_transaction_request__descriptor,
              J({"amount" : "12x"}), "amount: invalid int64 value \"12x\"");
  parse_fails(&wallet__v1__create_transaction_request__descriptor,
              J({"account_id_from" : 5}), "account_id_from: expected string, got number");
  parse_fails(&wallet__v1__create_transaction_request__descriptor, J({"amount" : 1, "foo" : 2}),
              "unknown field \"foo\"");

  Wallet__V1__CreateTransactionRequest *r =
      (Wallet__V1__CreateTransactionRequest *)parse_ok(
          &wallet__v1__create_transaction_request__descriptor,
          J({"amount" : 9007199254740993}));
  assert_true(r->amount == 9007199254740993LL);
  assert_string_equal(r->account_id_from, ""); /* still the shared default */
  protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_from_cjson(void **state) {
  (void)state;
  char err[PBJSON_ERR_MAX];
  ProtobufCMessage *m = NULL;
  const ProtobufCMessageDescriptor *d = &wallet__v1__create_transaction_request__descriptor;
  /* cJSON_Parse keeps only doubles: exact ones are fine, inexact 64-bit ones are not. */
  cJSON *j = cJSON_Parse("{\"amount\": 123456, \"account_id_to\": \"x\"}");
  assert_int_equal(pbjson_from_cjson(d, j, 0, &m, err, sizeof err), 0);
  assert_true(((Wallet__V1__CreateTransactionRequest *)m)->amount == 123456);
  protobuf_c_message_free_unpacked(m, NULL);
  cJSON_Delete(j);

  j = cJSON_Parse("{\"amount\": 9007199254740995}");
  assert_int_equal(pbjson_from_cjson(d, j, 0, &m, err, sizeof err), -1);
  assert_null(m);
  assert_non_null(strstr(err, "amount: int64 value 9.0072e+15 is not exact in a double"));
  cJSON_Delete(j);

  j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "account_id_from", "\xff\xfe");
  assert_int_equal(pbjson_from_cjson(d, j, 0, &m, err, sizeof err), -1);
  assert_non_null(strstr(err, "account_id_from: string is not valid UTF-8"));
  cJSON_Delete(j);

  assert_int_equal(pbjson_from_cjson(d, NULL, 0, &m, err, sizeof err), -1);
  j = cJSON_Parse("[]");
  assert_int_equal(pbjson_from_cjson(ALL, j, 0, &m, err, sizeof err), -1);
  assert_string_equal(err, "expected object, got array");
  cJSON_Delete(j);
}

static void test_set_field(void **state) {
  (void)state;
  char err[PBJSON_ERR_MAX];
  Wallet__V1__GetBalanceRequest g = WALLET__V1__GET_BALANCE_REQUEST__INIT;
  ProtobufCMessage *gm = &g.base;
  assert_int_equal(pbjson_set_field(gm, "account_id", "abc", err, sizeof err), 0);
  assert_int_equal(pbjson_set_field(gm, "accountId", "d\xc3\xa9" "f", err, sizeof err), 0);
  assert_string_equal(g.account_id, "d\xc3\xa9" "f");
  assert_int_equal(pbjson_set_field(gm, "min_version", "42", err, sizeof err), 0);
  assert_true(g.min_version == 42);
  assert_int_equal(pbjson_set_field(gm, "minVersion", "-9223372036854775808", err, sizeof err), 0);
  assert_true(g.min_version == INT64_MIN);
  assert_int_equal(pbjson_set_field(gm, "min_version", "x", err, sizeof err), -1);
  assert_string_equal(err, "min_version: invalid int64 value \"x\"");
  assert_int_equal(pbjson_set_field(gm, "min_version", "", err, sizeof err), -1);
  assert_int_equal(pbjson_set_field(gm, "min_version", "9223372036854775808", err, sizeof err), -1);
  assert_string_equal(err, "min_version: value out of range for int64: \"9223372036854775808\"");
  assert_int_equal(pbjson_set_field(gm, "foo", "1", err, sizeof err), -1);
  assert_string_equal(err, "unknown field \"foo\"");
  assert_int_equal(pbjson_set_field(gm, "account_id", "\xff", err, sizeof err), -1);
  assert_string_equal(err, "account_id: string is not valid UTF-8");
  assert_string_equal(g.account_id, "d\xc3\xa9" "f"); /* unchanged on error */
  free(g.account_id);

  Wallet__Test__AllTypes *a = (Wallet__Test__AllTypes *)parse_ok(ALL, "{}");
  ProtobufCMessage *am = &a->base;
  assert_int_equal(pbjson_set_field(am, "f_bool", "true", err, sizeof err), 0);
  assert_true(a->f_bool);
  assert_int_equal(pbjson_set_field(am, "f_bool", "yes", err, sizeof err), -1);
  assert_string_equal(err, "f_bool: invalid bool value \"yes\" (want true or false)");
  assert_int_equal(pbjson_set_field(am, "f_enum", "COLOR_GREEN", err, sizeof err), 0);
  assert_int_equal(a->f_enum, 2);
  assert_int_equal(pbjson_set_field(am, "fEnum", "-5", err, sizeof err), 0);
  assert_int_equal(a->f_enum, -5);
  assert_int_equal(pbjson_set_field(am, "f_enum", "COLOR_X", err, sizeof err), -1);
  assert_string_equal(err, "f_enum: invalid value \"COLOR_X\" for enum wallet.test.Color");
  assert_int_equal(pbjson_set_field(am, "f_bytes", "AQ", err, sizeof err), 0);
  assert_int_equal(pbjson_set_field(am, "f_bytes", "AQI", err, sizeof err), 0);
  assert_int_equal(a->f_bytes.len, 2);
  assert_int_equal(pbjson_set_field(am, "f_bytes", "*", err, sizeof err), -1);
  assert_int_equal(pbjson_set_field(am, "f_float", "NaN", err, sizeof err), 0);
  assert_true(isnan(a->f_float));
  assert_int_equal(pbjson_set_field(am, "f_uint64", "18446744073709551615", err, sizeof err), 0);
  assert_true(a->f_uint64 == UINT64_MAX);
  assert_int_equal(pbjson_set_field(am, "f_int32", "1e3", err, sizeof err), 0);
  assert_int_equal(a->f_int32, 1000);
  assert_int_equal(pbjson_set_field(am, "f_ts", "2026-11-29T15:04:05Z", err, sizeof err), 0);
  assert_int_equal(pbjson_set_field(am, "f_ts", "2026-11-29T15:04:06Z", err, sizeof err), 0);
  assert_true(a->f_ts->seconds == 1795964646);
  assert_int_equal(pbjson_set_field(am, "f_ts", "yesterday", err, sizeof err), -1);
  assert_int_equal(pbjson_set_field(am, "r_int32", "1", err, sizeof err), -1);
  assert_string_equal(err, "r_int32: cannot be set from a single text value");
  assert_int_equal(pbjson_set_field(am, "f_inner", "{}", err, sizeof err), -1);
  /* Oneof: setting one member frees and replaces the other. */
  assert_int_equal(pbjson_set_field(am, "o_string", "first", err, sizeof err), 0);
  assert_int_equal(pbjson_set_field(am, "o_string", "second", err, sizeof err), 0);
  assert_int_equal(pbjson_set_field(am, "o_bytes", "AQID", err, sizeof err), 0);
  assert_int_equal(pbjson_set_field(am, "oInt64", "7", err, sizeof err), 0);
  assert_int_equal(a->choice_case, WALLET__TEST__ALL_TYPES__CHOICE_O_INT64);
  assert_true(a->o_int64 == 7);
  assert_int_equal(pbjson_set_field(am, "o_string", "third", err, sizeof err), 0);
  char *s = print_ok(am, 0);
  assert_non_null(strstr(s, "\"o_string\":\"third\""));
  assert_non_null(strstr(s, "\"f_ts\":\"2026-11-29T15:04:06Z\""));
  free(s);
  protobuf_c_message_free_unpacked(am, NULL);

  Wallet__Test__Legacy *l = (Wallet__Test__Legacy *)parse_ok(LEGACY, J({"id" : "x"}));
  assert_int_equal(pbjson_set_field(&l->base, "n", "3", err, sizeof err), 0);
  assert_true(l->has_n);
  assert_int_equal(pbjson_set_field(&l->base, "note", "a", err, sizeof err), 0);
  assert_int_equal(pbjson_set_field(&l->base, "note", "b", err, sizeof err), 0);
  assert_int_equal(pbjson_set_field(&l->base, "p_str", "b", err, sizeof err), 0);
  assert_int_equal(pbjson_set_field(&l->base, "p_int", "1", err, sizeof err), 0);
  s = print_ok(&l->base, 0);
  assert_string_equal(s, J({"id":"x","n":3,"note":"b","p_int":1}));
  free(s);
  protobuf_c_message_free_unpacked(&l->base, NULL);
}

static void test_print_errors(void **state) {
  (void)state;
  char err[PBJSON_ERR_MAX];
  Wallet__Test__AllTypes a = WALLET__TEST__ALL_TYPES__INIT;
  a.f_string = "bad \xff";
  assert_null(pbjson_print(&a.base, 0, err, sizeof err));
  assert_string_equal(err, "f_string: string is not valid UTF-8");
  a.f_string = "";

  Wallet__Test__Inner in0 = WALLET__TEST__INNER__INIT, in1 = WALLET__TEST__INNER__INIT;
  Wallet__Test__Inner *rs[] = {&in0, &in1};
  in1.label = "\xc0\x80";
  a.n_r_inner = 2;
  a.r_inner = rs;
  assert_null(pbjson_print(&a.base, 0, err, sizeof err));
  assert_string_equal(err, "r_inner[1].label: string is not valid UTF-8");
  in1.label = "ok";

  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  ts.seconds = 253402300800LL;
  a.f_ts = &ts;
  assert_null(pbjson_to_cjson(&a.base, 0, err, sizeof err));
  assert_non_null(strstr(err, "f_ts: timestamp out of range"));
  ts.seconds = 0;
  ts.nanos = -1;
  assert_null(pbjson_print(&a.base, 0, err, sizeof err));
  assert_non_null(strstr(err, "f_ts: timestamp out of range"));
  ts.nanos = 0;

  char *s = pbjson_print(&a.base, 0, err, sizeof err);
  assert_string_equal(s, J({"f_ts":"1970-01-01T00:00:00Z","r_inner":[{},{"label":"ok"}]}));
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_integers),
      cmocka_unit_test(test_floats),
      cmocka_unit_test(test_bool_string_bytes_enum),
      cmocka_unit_test(test_messages_timestamps_oneofs_maps),
      cmocka_unit_test(test_proto2_presence),
      cmocka_unit_test(test_emit_defaults_and_pretty),
      cmocka_unit_test(test_malformed_json),
      cmocka_unit_test(test_wrong_types_and_ranges),
      cmocka_unit_test(test_depth),
      cmocka_unit_test(test_ignore_unknown),
      cmocka_unit_test(test_real_protos),
      cmocka_unit_test(test_from_cjson),
      cmocka_unit_test(test_set_field),
      cmocka_unit_test(test_print_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
