/* test_eventcat: runs the built eventcat binary against topics it fills on the real broker. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base64.h"
#include "event_headers.h"
#include "kafka_admin.h"
#include "kafka_producer.h"
#include "pbjson.h"
#include "test_env.h"
#include "timeutil.h"
#include "wallet/v1/events.pb-c.h"

#define BT "wallet.v1.BalanceUpdated"
#define TT "wallet.v1.TransactionCreated"
#define AT "wallet.v1.AccountCreated"
/* Every run is wrapped in timeout(1): a hang fails the test as exit 124, not the harness. */
#define RUN_LIMIT "timeout 60 "
#define BIG_INT64 INT64_C(9007199254740993) /* 2^53 + 1: wrong if it went through a double */
#define POISON "\xff\xff\xff\xff\x01"

static char eventcat_bin[PATH_MAX];

/* EVENTCAT_BIN when tools/test exports it, else <dir of this test>/eventcat (both land in
 * <build>/bin). */
static int setup_bin(void **state) {
  (void)state;
  const char *env = getenv("EVENTCAT_BIN");
  if (env && *env) {
    snprintf(eventcat_bin, sizeof eventcat_bin, "%s", env);
  } else {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return -1;
    self[n] = '\0';
    snprintf(eventcat_bin, sizeof eventcat_bin, "%s/eventcat", dirname(self));
  }
  if (access(eventcat_bin, X_OK) != 0) {
    fprintf(stderr, "eventcat binary not found at %s (build target eventcat)\n", eventcat_bin);
    return -1;
  }
  return 0;
}

/* ---- running the binary ---- */

typedef struct run_result {
  char *out; /* stdout, NUL-terminated */
  size_t len;
  int status; /* exit status, or -1 when killed by a signal */
  int64_t ms; /* wall time */
} run_result;

/* Runs "eventcat <args>" through sh (args are test-made: no quoting traps) with stdin from
 * stdin_path when not NULL; stderr passes through to the test log. */
static run_result run(const char *args, const char *stdin_path) {
  char *cmd = NULL;
  assert_true(asprintf(&cmd, RUN_LIMIT "'%s' %s%s%s", eventcat_bin, args,
                       stdin_path ? " < " : "", stdin_path ? stdin_path : "") > 0);
  run_result r = {0};
  int64_t t0 = time_mono_ms();
  FILE *p = popen(cmd, "r");
  free(cmd);
  assert_non_null(p);
  size_t cap = 4096;
  r.out = malloc(cap);
  assert_non_null(r.out);
  for (;;) {
    if (cap - r.len < 2048) {
      char *nb = realloc(r.out, cap * 2);
      assert_non_null(nb);
      r.out = nb;
      cap *= 2;
    }
    size_t got = fread(r.out + r.len, 1, cap - r.len - 1, p);
    if (got == 0) break;
    r.len += got;
  }
  r.out[r.len] = '\0';
  int st = pclose(p);
  r.ms = time_mono_ms() - t0;
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

static void run_free(run_result *r) {
  free(r->out);
  r->out = NULL;
}

/* Splits out into lines and parses each as JSON (a line that is not JSON fails). */
static size_t parse_lines(const char *out, cJSON **lines, size_t max) {
  size_t n = 0;
  const char *p = out;
  while (*p) {
    const char *nl = strchr(p, '\n');
    assert_non_null(nl); /* every record ends with a newline */
    assert_true(n < max);
    char *line = strndup(p, (size_t)(nl - p));
    lines[n] = cJSON_Parse(line);
    if (lines[n] == NULL) fail_msg("not a JSON line: %s", line);
    free(line);
    n++;
    p = nl + 1;
  }
  return n;
}

static void free_lines(cJSON **lines, size_t n) {
  for (size_t i = 0; i < n; i++) cJSON_Delete(lines[i]);
}

static const char *str_at(const cJSON *obj, const char *name) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, name);
  if (!cJSON_IsString(j)) fail_msg("field %s is not a string", name);
  return j->valuestring;
}

static double num_at(const cJSON *obj, const char *name) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(obj, name);
  if (!cJSON_IsNumber(j)) fail_msg("field %s is not a number", name);
  return j->valuedouble;
}

static bool is_null_at(const cJSON *obj, const char *name) {
  return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(obj, name));
}

/* ---- filling topics ---- */

static void make_topic(const char *prefix, int partitions, char *name, size_t namelen) {
  test_unique_name(prefix, name, namelen);
  char err[512] = "";
  kafka_topic_spec spec = {name, partitions, 1};
  if (kafka_ensure_topics(test_kafka_brokers(), &spec, 1, 15000, err, sizeof err) != 0)
    fail_msg("ensure_topics %s: %s", name, err);
}

typedef struct deliveries {
  int ok, failed;
} deliveries;

static void on_delivery(void *opaque, rd_kafka_resp_err_t err, int32_t partition,
                        int64_t offset, void *app) {
  deliveries *d = app;
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
    d->ok++;
  else
    d->failed++;
}

typedef struct producer {
  kafka_producer *p;
  deliveries d;
  int sent;
} producer;

static void producer_open(producer *pr) {
  char err[512] = "";
  memset(pr, 0, sizeof *pr);
  pr->p = kafka_producer_new(test_kafka_brokers(), "test-eventcat", on_delivery, &pr->d, NULL,
                             err, sizeof err);
  if (pr->p == NULL) fail_msg("producer: %s", err);
}

/* Sends value to topic/partition with our event headers (type NULL: no headers at all). */
static void send_raw(producer *pr, const char *topic, int32_t partition, const void *key,
                     size_t keylen, const void *value, size_t len, const char *type,
                     rd_kafka_headers_t *extra_hdrs) {
  char err[512] = "";
  rd_kafka_headers_t *h = extra_hdrs;
  if (type != NULL) {
    char id[32];
    snprintf(id, sizeof id, "evt-%d", pr->sent);
    h = event_headers_new(id, type, "test-eventcat", INT64_C(1767323045678));
    assert_non_null(h);
    if (extra_hdrs != NULL) {
      /* copy the extra ones over: only ours are used here */
      const char *n;
      const void *v;
      size_t vl;
      for (size_t i = 0; rd_kafka_header_get_all(extra_hdrs, i, &n, &v, &vl) == 0; i++)
        rd_kafka_header_add(h, n, -1, v, (ssize_t)vl);
      rd_kafka_headers_destroy(extra_hdrs);
    }
  }
  if (kafka_producer_send(pr->p, topic, partition, key, keylen, value, len, h, NULL, err,
                          sizeof err) != 0)
    fail_msg("send: %s", err);
  pr->sent++;
}

static void send_msg(producer *pr, const char *topic, int32_t partition, const char *key,
                     const ProtobufCMessage *msg, rd_kafka_headers_t *extra) {
  size_t len = protobuf_c_message_get_packed_size(msg);
  uint8_t *buf = malloc(len ? len : 1);
  assert_non_null(buf);
  protobuf_c_message_pack(msg, buf);
  send_raw(pr, topic, partition, key, key ? strlen(key) : 0, buf, len, msg->descriptor->name,
           extra);
  free(buf);
}

static void producer_close(producer *pr) {
  assert_int_equal(kafka_producer_flush(pr->p, 15000), 0);
  assert_int_equal(pr->d.failed, 0);
  assert_int_equal(pr->d.ok, pr->sent);
  kafka_producer_destroy(pr->p);
  pr->p = NULL;
}

/* Messages built on the stack; strings point at literals (packing only reads them). */
static Google__Protobuf__Timestamp occurred = GOOGLE__PROTOBUF__TIMESTAMP__INIT;

static Wallet__V1__BalanceUpdated balance_updated(const char *tx, int64_t from_bal,
                                                  int64_t to_bal, int64_t v) {
  occurred.seconds = 1767323045; /* 2026-01-02T03:04:05Z */
  occurred.nanos = 678000000;
  Wallet__V1__BalanceUpdated m = WALLET__V1__BALANCE_UPDATED__INIT;
  m.event_id = "e1000000-0000-4000-8000-000000000001";
  m.occurred_at = &occurred;
  m.transaction_id = (char *)tx;
  m.account_id_from = "a1000000-0000-4000-8000-000000000001";
  m.account_id_to = "a1000000-0000-4000-8000-000000000002";
  m.balance_account_id_from = from_bal;
  m.balance_account_id_to = to_bal;
  m.version_account_id_from = v;
  m.version_account_id_to = v + 1;
  return m;
}

static Wallet__V1__TransactionCreated transaction_created(const char *tx, int64_t amount) {
  occurred.seconds = 1767323045;
  occurred.nanos = 678000000;
  Wallet__V1__TransactionCreated m = WALLET__V1__TRANSACTION_CREATED__INIT;
  m.event_id = "e2000000-0000-4000-8000-000000000002";
  m.occurred_at = &occurred;
  m.transaction_id = (char *)tx;
  m.account_id_from = "a1000000-0000-4000-8000-000000000003";
  m.account_id_to = "a1000000-0000-4000-8000-000000000004";
  m.amount = amount;
  return m;
}

/* What the HTTP gateway prints for msg, parsed: the value eventcat must agree with. */
static cJSON *gateway_json(const ProtobufCMessage *msg) {
  char err[PBJSON_ERR_MAX] = "";
  char *s = pbjson_print(msg, PBJSON_EMIT_DEFAULTS, err, sizeof err);
  if (s == NULL) fail_msg("pbjson_print: %s", err);
  cJSON *j = cJSON_Parse(s);
  free(s);
  assert_non_null(j);
  return j;
}

static void assert_value_is(const cJSON *line, const ProtobufCMessage *msg) {
  cJSON *want = gateway_json(msg);
  const cJSON *got = cJSON_GetObjectItemCaseSensitive(line, "value");
  if (!cJSON_Compare(want, got, true)) {
    char *a = cJSON_PrintUnformatted(want), *b = cJSON_PrintUnformatted(got);
    fail_msg("value differs:\n want %s\n got  %s", a, b ? b : "(none)");
  }
  cJSON_Delete(want);
}

/* ---- tests ---- */

/* Known events on 3 partitions: printed exactly, in order per partition, field by field. */
static void test_prints_known_events(void **state) {
  char topic[96], args[512];
  make_topic("t_ec_known", 3, topic, sizeof topic);

  Wallet__V1__BalanceUpdated b1 = balance_updated("t-1", 90000, 60000, 2);
  Wallet__V1__TransactionCreated t1 = transaction_created("t-1", 10000);
  Wallet__V1__BalanceUpdated b2 = balance_updated("t-2", BIG_INT64, 0, 3);
  Wallet__V1__AccountCreated a1 = WALLET__V1__ACCOUNT_CREATED__INIT;
  a1.event_id = "e3";
  a1.account_id = "a1000000-0000-4000-8000-000000000009";
  a1.client_id = "c1000000-0000-4000-8000-000000000001";
  a1.version = 1; /* balance 0: printed as "0" all the same (EmitUnpopulated) */
  Wallet__V1__BalanceUpdated b3 = balance_updated("t-3", -5, INT64_MAX, 4);

  producer pr;
  producer_open(&pr);
  send_msg(&pr, topic, 0, b1.account_id_from, &b1.base, NULL);
  send_msg(&pr, topic, 0, t1.account_id_from, &t1.base, NULL);
  send_msg(&pr, topic, 1, b2.account_id_from, &b2.base, NULL);
  send_msg(&pr, topic, 1, a1.account_id, &a1.base, NULL);
  /* p2: a binary key and a binary header beside the text ones */
  rd_kafka_headers_t *extra = rd_kafka_headers_new(1);
  rd_kafka_header_add(extra, "trace", -1, "\xfe\x00\x01", 3);
  size_t b3len = protobuf_c_message_get_packed_size(&b3.base);
  uint8_t b3buf[512];
  assert_true(b3len <= sizeof b3buf);
  protobuf_c_message_pack(&b3.base, b3buf);
  send_raw(&pr, topic, 2, "\xff\x00k", 3, b3buf, b3len, BT, extra);
  producer_close(&pr);

  snprintf(args, sizeof args, "-q -b %s -t %s -e -o beginning", test_kafka_brokers(), topic);
  run_result r = run(args, NULL);
  assert_int_equal(r.status, 0);
  cJSON *lines[16];
  size_t n = parse_lines(r.out, lines, 16);
  assert_int_equal(n, 5);

  /* Order across partitions is free; within one it must be the produce order. */
  const cJSON *byp[3][2] = {{0}};
  int cnt[3] = {0};
  for (size_t i = 0; i < n; i++) {
    int p = (int)num_at(lines[i], "partition");
    assert_in_range(p, 0, 2);
    assert_true(cnt[p] < 2);
    assert_int_equal((int)num_at(lines[i], "offset"), cnt[p]);
    byp[p][cnt[p]++] = lines[i];
    assert_string_equal(str_at(lines[i], "topic"), topic);
    assert_string_equal(str_at(lines[i], "timestamp_type"), "create_time");
    assert_true(num_at(lines[i], "timestamp") > 1.7e12);
    assert_null(cJSON_GetObjectItemCaseSensitive(lines[i], "error"));
    assert_null(cJSON_GetObjectItemCaseSensitive(lines[i], "value_b64"));
  }
  assert_int_equal(cnt[0], 2);
  assert_int_equal(cnt[1], 2);
  assert_int_equal(cnt[2], 1);

  const cJSON *l = byp[0][0];
  assert_string_equal(str_at(l, "key"), "a1000000-0000-4000-8000-000000000001");
  assert_string_equal(str_at(l, "type"), BT);
  const cJSON *h = cJSON_GetObjectItemCaseSensitive(l, "headers");
  assert_string_equal(str_at(h, "ce_type"), BT);
  assert_string_equal(str_at(h, "ce_id"), "evt-0");
  assert_string_equal(str_at(h, "ce_source"), "test-eventcat");
  assert_string_equal(str_at(h, "content-type"), "application/protobuf");
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(l, "value");
  assert_string_equal(str_at(v, "transaction_id"), "t-1");
  assert_string_equal(str_at(v, "balance_account_id_from"), "90000");
  assert_string_equal(str_at(v, "balance_account_id_to"), "60000");
  assert_string_equal(str_at(v, "version_account_id_to"), "3");
  assert_non_null(strstr(str_at(v, "occurred_at"), "2026-01-02T03:04:05.678"));
  assert_value_is(l, &b1.base);

  l = byp[0][1];
  assert_string_equal(str_at(l, "type"), TT);
  v = cJSON_GetObjectItemCaseSensitive(l, "value");
  assert_string_equal(str_at(v, "amount"), "10000");
  assert_string_equal(str_at(v, "account_id_to"), "a1000000-0000-4000-8000-000000000004");
  assert_value_is(l, &t1.base);

  l = byp[1][0];
  v = cJSON_GetObjectItemCaseSensitive(l, "value");
  assert_string_equal(str_at(v, "balance_account_id_from"), "9007199254740993");
  assert_string_equal(str_at(v, "balance_account_id_to"), "0");
  assert_value_is(l, &b2.base);

  l = byp[1][1];
  assert_string_equal(str_at(l, "type"), AT);
  assert_string_equal(str_at(l, "key"), "a1000000-0000-4000-8000-000000000009");
  v = cJSON_GetObjectItemCaseSensitive(l, "value");
  assert_string_equal(str_at(v, "balance"), "0");
  assert_string_equal(str_at(v, "version"), "1");
  assert_value_is(l, &a1.base);

  l = byp[2][0];
  assert_true(is_null_at(l, "key"));
  assert_string_equal(str_at(l, "key_b64"), "/wBr"); /* ff 00 6b */
  h = cJSON_GetObjectItemCaseSensitive(l, "headers");
  assert_string_equal(str_at(h, "ce_type"), BT);
  assert_null(cJSON_GetObjectItemCaseSensitive(h, "trace"));
  assert_string_equal(str_at(cJSON_GetObjectItemCaseSensitive(l, "headers_b64"), "trace"),
                      "/gAB");
  v = cJSON_GetObjectItemCaseSensitive(l, "value");
  assert_string_equal(str_at(v, "balance_account_id_from"), "-5");
  assert_string_equal(str_at(v, "balance_account_id_to"), "9223372036854775807");
  assert_value_is(l, &b3.base);

  free_lines(lines, n);
  run_free(&r);

  /* -f: the compact line, one per record, same count. */
  snprintf(args, sizeof args, "-q -b %s -t %s -e -p 0 -f", test_kafka_brokers(), topic);
  r = run(args, NULL);
  assert_int_equal(r.status, 0);
  char want[256];
  snprintf(want, sizeof want, "%s/0@0 " BT " {\"event_id\":", topic);
  assert_memory_equal(r.out, want, strlen(want));
  snprintf(want, sizeof want, "\n%s/0@1 " TT " {", topic);
  assert_non_null(strstr(r.out, want));
  assert_non_null(strstr(r.out, "\"amount\":\"10000\""));
  run_free(&r);

  /* --format with the key, headers and an escape. */
  snprintf(args, sizeof args, "-q -b %s -t %s -e -p 2 --format '%%p|%%K|%%k|%%y|%%S\\n'",
           test_kafka_brokers(), topic);
  r = run(args, NULL);
  assert_int_equal(r.status, 0);
  snprintf(want, sizeof want, "2|3|base64:/wBr|" BT "|%zu\n", b3len);
  assert_string_equal(r.out, want);
  run_free(&r);

  /* The bytes as they sit in Kafka (%s), fed to --decode: the gateway's JSON again. */
  char bin[128];
  snprintf(bin, sizeof bin, "/tmp/%s.bin", topic);
  snprintf(args, sizeof args, "-q -b %s -t %s -p 1 -o 0 -c 1 --format '%%s' > %s",
           test_kafka_brokers(), topic, bin);
  r = run(args, NULL);
  assert_int_equal(r.status, 0);
  run_free(&r);
  r = run("--decode " BT, bin);
  unlink(bin);
  assert_int_equal(r.status, 0);
  char err[PBJSON_ERR_MAX] = "";
  char *gw = pbjson_print(&b2.base, PBJSON_EMIT_DEFAULTS, err, sizeof err);
  assert_non_null(gw);
  assert_int_equal(r.len, strlen(gw) + 1);
  assert_memory_equal(r.out, gw, strlen(gw));
  free(gw);
  run_free(&r);
}

/* Poison bytes between good records: printed as data with the error, and the stream goes
 * on; an unknown type and a headerless record on a topic with no default likewise. */
static void test_poison_does_not_stop_the_stream(void **state) {
  char topic[96], args[512];
  make_topic("t_ec_poison", 1, topic, sizeof topic);
  Wallet__V1__BalanceUpdated b1 = balance_updated("t-10", 1, 2, 5);
  Wallet__V1__TransactionCreated t1 = transaction_created("t-11", 777);

  producer pr;
  producer_open(&pr);
  send_msg(&pr, topic, 0, "k", &b1.base, NULL);
  send_raw(&pr, topic, 0, "k", 1, POISON, sizeof POISON - 1, BT, NULL);
  send_msg(&pr, topic, 0, "k", &t1.base, NULL);
  send_raw(&pr, topic, 0, "k", 1, "xyz", 3, "wallet.v1.NoSuchThing", NULL);
  send_raw(&pr, topic, 0, NULL, 0, "abc", 3, NULL, NULL);
  send_msg(&pr, topic, 0, "k", &b1.base, NULL);
  /* A newer producer's field 20 (varint 5): decodes, and eventcat counts what it skipped. */
  uint8_t withext[512];
  size_t wl = protobuf_c_message_get_packed_size(&t1.base);
  assert_true(wl + 3 <= sizeof withext);
  protobuf_c_message_pack(&t1.base, withext);
  memcpy(withext + wl, "\xa0\x01\x05", 3);
  send_raw(&pr, topic, 0, "k", 1, withext, wl + 3, TT, NULL);
  producer_close(&pr);

  snprintf(args, sizeof args, "-q -b %s -t %s -e", test_kafka_brokers(), topic);
  run_result r = run(args, NULL);
  assert_int_equal(r.status, 0);
  cJSON *lines[16];
  size_t n = parse_lines(r.out, lines, 16);
  assert_int_equal(n, 7);
  for (size_t i = 0; i < n; i++) assert_int_equal((int)num_at(lines[i], "offset"), (int)i);

  assert_value_is(lines[0], &b1.base);

  assert_true(is_null_at(lines[1], "value"));
  assert_string_equal(str_at(lines[1], "type"), BT);
  assert_non_null(strstr(str_at(lines[1], "error"), BT));
  char *b64 = base64_encode((const uint8_t *)POISON, sizeof POISON - 1);
  assert_string_equal(str_at(lines[1], "value_b64"), b64);
  free(b64);

  assert_string_equal(str_at(lines[2], "type"), TT);
  assert_value_is(lines[2], &t1.base);
  assert_null(cJSON_GetObjectItemCaseSensitive(lines[2], "error"));

  assert_true(is_null_at(lines[3], "value"));
  assert_string_equal(str_at(lines[3], "type"), "wallet.v1.NoSuchThing");
  assert_non_null(strstr(str_at(lines[3], "error"), "unknown type"));
  assert_string_equal(str_at(lines[3], "value_b64"), "eHl6");

  assert_true(is_null_at(lines[4], "type"));
  assert_true(is_null_at(lines[4], "key"));
  assert_true(is_null_at(lines[4], "value"));
  assert_non_null(strstr(str_at(lines[4], "error"), "no type"));
  assert_string_equal(str_at(lines[4], "value_b64"), "YWJj");

  assert_value_is(lines[5], &b1.base);
  assert_null(cJSON_GetObjectItemCaseSensitive(lines[5], "unknown_fields"));

  assert_value_is(lines[6], &t1.base);
  assert_int_equal((int)num_at(lines[6], "unknown_fields"), 1);
  assert_null(cJSON_GetObjectItemCaseSensitive(lines[6], "error"));
  free_lines(lines, n);
  run_free(&r);

  /* --type overrides the header: the TransactionCreated bytes read as a BalanceUpdated
   * (same field numbers), so amount (6) lands in balance_account_id_from (6). */
  snprintf(args, sizeof args, "-q -b %s -t %s -e -o 2 -c 1 --type " BT, test_kafka_brokers(),
           topic);
  r = run(args, NULL);
  assert_int_equal(r.status, 0);
  n = parse_lines(r.out, lines, 16);
  assert_int_equal(n, 1);
  assert_int_equal((int)num_at(lines[0], "offset"), 2);
  assert_string_equal(str_at(lines[0], "type"), BT);
  assert_string_equal(str_at(cJSON_GetObjectItemCaseSensitive(lines[0], "value"),
                             "balance_account_id_from"),
                      "777");
  free_lines(lines, n);
  run_free(&r);
}

static char *write_temp(const void *data, size_t len) {
  char *path = strdup("/tmp/test_eventcat_XXXXXX");
  assert_non_null(path);
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, len), (ssize_t)len);
  close(fd);
  return path;
}

/* --decode prints byte for byte what the gateway's pbjson_print prints. */
static void test_decode_round_trip(void **state) {
  Wallet__V1__BalanceUpdated b = balance_updated("t-20", BIG_INT64, 0, 7);
  size_t len = protobuf_c_message_get_packed_size(&b.base);
  uint8_t buf[512];
  assert_true(len <= sizeof buf);
  protobuf_c_message_pack(&b.base, buf);
  char *path = write_temp(buf, len);

  char err[PBJSON_ERR_MAX] = "";
  char *want = pbjson_print(&b.base, PBJSON_EMIT_DEFAULTS, err, sizeof err);
  assert_non_null(want);
  run_result r = run("--decode " BT, path);
  assert_int_equal(r.status, 0);
  assert_int_equal(r.len, strlen(want) + 1);
  assert_memory_equal(r.out, want, strlen(want));
  assert_int_equal(r.out[r.len - 1], '\n');
  free(want);
  run_free(&r);
  unlink(path);
  free(path);

  /* Undecodable input: exit 1, nothing on stdout. */
  path = write_temp(POISON, sizeof POISON - 1);
  r = run("--decode " BT " 2>/dev/null", path);
  assert_int_equal(r.status, 1);
  assert_int_equal(r.len, 0);
  run_free(&r);
  /* An unknown type is a usage error. */
  r = run("--decode wallet.v1.Nope 2>/dev/null", path);
  assert_int_equal(r.status, 2);
  run_free(&r);
  unlink(path);
  free(path);

  /* Empty input is the all-defaults message, not an error. */
  path = write_temp("", 0);
  r = run("--decode " TT, path);
  assert_int_equal(r.status, 0);
  cJSON *j = cJSON_Parse(r.out);
  assert_non_null(j);
  assert_string_equal(str_at(j, "amount"), "0");
  cJSON_Delete(j);
  run_free(&r);
  unlink(path);
  free(path);
}

/* --decode TYPE with -t: each record must be TYPE by its ce_type header; a record of
 * another type (the balances topic's AccountCreated) is refused with exit 1 instead of
 * being decoded into the wrong fields. The raw dump of a checked record decodes offline. */
static void test_decode_checks_ce_type(void **state) {
  char topic[96], args[512];
  make_topic("t_ec_decode_check", 1, topic, sizeof topic);
  occurred.seconds = 1767323045;
  Wallet__V1__AccountCreated a = WALLET__V1__ACCOUNT_CREATED__INIT;
  a.event_id = "e3000000-0000-4000-8000-000000000003";
  a.occurred_at = &occurred;
  a.account_id = "a1000000-0000-4000-8000-000000000001";
  a.client_id = "c1000000-0000-4000-8000-000000000001";
  Wallet__V1__BalanceUpdated b = balance_updated("t-30", 41, 42, 3);
  producer pr;
  producer_open(&pr);
  send_msg(&pr, topic, 0, "k", &a.base, NULL);
  send_msg(&pr, topic, 0, "k", &b.base, NULL);
  send_raw(&pr, topic, 0, "k", 1, "", 0, NULL, NULL); /* no ce_type: read as TYPE */
  producer_close(&pr);

  /* offset 0 is an AccountCreated: refused, nothing printed */
  snprintf(args, sizeof args, "-q -b %s -t %s -c 1 --decode " BT " --format '%%s'",
           test_kafka_brokers(), topic);
  run_result r = run(args, "/dev/null");
  assert_int_equal(r.status, 1);
  assert_int_equal(r.len, 0);
  run_free(&r);

  /* offset 1 is a BalanceUpdated: its raw bytes, which --decode reads back */
  snprintf(args, sizeof args, "-q -b %s -t %s -o 1 -c 1 --decode " BT " --format '%%s'",
           test_kafka_brokers(), topic);
  r = run(args, "/dev/null");
  assert_int_equal(r.status, 0);
  size_t len = protobuf_c_message_get_packed_size(&b.base);
  uint8_t buf[512];
  assert_true(len <= sizeof buf);
  protobuf_c_message_pack(&b.base, buf);
  assert_int_equal(r.len, len);
  assert_memory_equal(r.out, buf, len);
  char *path = write_temp(r.out, r.len);
  run_free(&r);
  r = run("--decode " BT, path);
  assert_int_equal(r.status, 0);
  cJSON *j = cJSON_Parse(r.out);
  assert_non_null(j);
  assert_string_equal(str_at(j, "balance_account_id_from"), "41");
  cJSON_Delete(j);
  run_free(&r);
  unlink(path);
  free(path);

  /* a record without ce_type is taken as TYPE; JSON output says the type */
  snprintf(args, sizeof args, "-q -b %s -t %s -o 1 -e --decode " BT, test_kafka_brokers(),
           topic);
  r = run(args, "/dev/null");
  assert_int_equal(r.status, 0);
  cJSON *lines[4];
  size_t n = parse_lines(r.out, lines, 4);
  assert_int_equal(n, 2);
  assert_string_equal(str_at(lines[1], "type"), BT);
  assert_null(cJSON_GetObjectItemCaseSensitive(lines[1], "error"));
  free_lines(lines, n);
  run_free(&r);

  /* --decode with -t and a different --type contradict each other: usage error */
  snprintf(args, sizeof args, "-q -b %s -t %s --decode " BT " --type " TT " 2>/dev/null",
           test_kafka_brokers(), topic);
  r = run(args, "/dev/null");
  assert_int_equal(r.status, 2);
  run_free(&r);
}

/* The undecodable marker is spelled one way: "!error base64:<value>" in the output, in
 * --help and in the README. */
static void test_undecodable_marker_one_spelling(void **state) {
  char topic[96], args[512];
  make_topic("t_ec_marker", 1, topic, sizeof topic);
  producer pr;
  producer_open(&pr);
  send_raw(&pr, topic, 0, "k", 1, POISON, sizeof POISON - 1, BT, NULL);
  producer_close(&pr);
  snprintf(args, sizeof args, "-q -b %s -t %s -e --format '%%v'", test_kafka_brokers(), topic);
  run_result r = run(args, NULL);
  assert_int_equal(r.status, 0);
  char *b64 = base64_encode((const uint8_t *)POISON, sizeof POISON - 1);
  char want[128];
  snprintf(want, sizeof want, "!error base64:%s", b64);
  free(b64);
  assert_string_equal(r.out, want);
  run_free(&r);

  r = run("--help", NULL);
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "!error base64:"));
  assert_null(strstr(r.out, "!ERROR"));
  run_free(&r);
}

static char *read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) fail_msg("cannot open %s", path);
  char *text = calloc(1, 1 << 20);
  assert_non_null(text);
  size_t n = fread(text, 1, (1 << 20) - 1, f);
  text[n] = '\0';
  fclose(f);
  return text;
}

/* --help lists \r among the escapes, its "watch live" example starts at the end; the
 * README mentions -V and spells the marker as the output does. */
static void test_help_and_readme_agree(void **state) {
  run_result r = run("--help", NULL);
  assert_int_equal(r.status, 0);
  const char *esc = strstr(r.out, "escapes:");
  assert_non_null(esc);
  const char *eol = strchr(esc, '\n');
  assert_non_null(eol);
  char line[128];
  snprintf(line, sizeof line, "%.*s", (int)(eol - esc), esc);
  assert_non_null(strstr(line, "\\r"));
  const char *live = strstr(r.out, "watch both topics live");
  assert_non_null(live);
  const char *cmd = strchr(live, '\n');
  assert_non_null(cmd);
  eol = strchr(cmd + 1, '\n');
  assert_non_null(eol);
  snprintf(line, sizeof line, "%.*s", (int)(eol - cmd - 1), cmd + 1);
  assert_non_null(strstr(line, "-o end"));
  run_free(&r);

  const char *src = getenv("WALLET_SOURCE_DIR");
  if (src == NULL || *src == '\0') skip();
  static const char *const readmes[] = {"tools/eventcat/README.md", "README.md"};
  for (size_t i = 0; i < 2; i++) {
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", src, readmes[i]);
    char *readme = read_text(path);
    if (strstr(readme, "`-V`") == NULL) fail_msg("%s does not mention -V", readmes[i]);
    assert_non_null(strstr(readme, "!error base64:"));
    assert_null(strstr(readme, "!ERROR"));
    /* the decode example checks the type where the record is read */
    if (strstr(readme, "-c 1 --format '%s' > value.bin") != NULL)
      fail_msg("%s: the raw-value example does not check the record's type", readmes[i]);
    free(readme);
  }
}

/* -o -1: only the last record of each partition; -o N -p P; -c stops by itself. */
static void test_offsets_and_count(void **state) {
  char topic[96], args[512];
  make_topic("t_ec_tail", 3, topic, sizeof topic);
  producer pr;
  producer_open(&pr);
  for (int i = 0; i < 3; i++) {
    Wallet__V1__BalanceUpdated b = balance_updated("p0", i, 0, i);
    send_msg(&pr, topic, 0, "k0", &b.base, NULL);
  }
  for (int i = 0; i < 2; i++) {
    Wallet__V1__BalanceUpdated b = balance_updated("p1", 100 + i, 0, i);
    send_msg(&pr, topic, 1, "k1", &b.base, NULL);
  }
  producer_close(&pr); /* partition 2 stays empty */

  snprintf(args, sizeof args, "-q -b %s -t %s -e -o -1", test_kafka_brokers(), topic);
  run_result r = run(args, NULL);
  assert_int_equal(r.status, 0);
  cJSON *lines[16];
  size_t n = parse_lines(r.out, lines, 16);
  assert_int_equal(n, 2);
  for (size_t i = 0; i < n; i++) {
    int p = (int)num_at(lines[i], "partition");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(lines[i], "value");
    if (p == 0) {
      assert_int_equal((int)num_at(lines[i], "offset"), 2);
      assert_string_equal(str_at(v, "balance_account_id_from"), "2");
    } else {
      assert_int_equal(p, 1);
      assert_int_equal((int)num_at(lines[i], "offset"), 1);
      assert_string_equal(str_at(v, "balance_account_id_from"), "101");
    }
  }
  free_lines(lines, n);
  run_free(&r);

  /* -o -10 is more than there is: everything, from the low watermark. */
  snprintf(args, sizeof args, "-q -b %s -t %s -e -o -10", test_kafka_brokers(), topic);
  r = run(args, NULL);
  assert_int_equal(r.status, 0);
  n = parse_lines(r.out, lines, 16);
  assert_int_equal(n, 5);
  free_lines(lines, n);
  run_free(&r);

  snprintf(args, sizeof args, "-q -b %s -t %s -e -o 1 -p 0", test_kafka_brokers(), topic);
  r = run(args, NULL);
  assert_int_equal(r.status, 0);
  n = parse_lines(r.out, lines, 16);
  assert_int_equal(n, 2);
  assert_int_equal((int)num_at(lines[0], "offset"), 1);
  assert_int_equal((int)num_at(lines[1], "offset"), 2);
  assert_int_equal((int)num_at(lines[0], "partition"), 0);
  free_lines(lines, n);
  run_free(&r);

  /* No -e: only -c can end this run (timeout(1) would make it 124). */
  snprintf(args, sizeof args, "-q -b %s -t %s -c 2", test_kafka_brokers(), topic);
  r = run(args, NULL);
  assert_int_equal(r.status, 0);
  n = parse_lines(r.out, lines, 16);
  assert_int_equal(n, 2);
  free_lines(lines, n);
  run_free(&r);

  /* -o end with -e: nothing old is printed. */
  snprintf(args, sizeof args, "-q -b %s -t %s -e -o end", test_kafka_brokers(), topic);
  r = run(args, NULL);
  assert_int_equal(r.status, 0);
  assert_int_equal(r.len, 0);
  run_free(&r);

  /* -p naming a partition the topic lacks is a runtime error. */
  snprintf(args, sizeof args, "-q -b %s -t %s -e -p 7 2>/dev/null", test_kafka_brokers(),
           topic);
  r = run(args, NULL);
  assert_int_equal(r.status, 1);
  run_free(&r);
}

/* -G: consumes in a group and commits, so a second run of the group sees nothing old. */
static void test_group_commits(void **state) {
  char topic[96], group[96], args[512];
  make_topic("t_ec_group", 2, topic, sizeof topic);
  test_unique_name("g_ec", group, sizeof group);
  producer pr;
  producer_open(&pr);
  Wallet__V1__TransactionCreated t = transaction_created("g-1", 5);
  send_msg(&pr, topic, 0, "k", &t.base, NULL);
  send_msg(&pr, topic, 1, "k", &t.base, NULL);
  producer_close(&pr);

  snprintf(args, sizeof args, "-q -b %s -t %s -G %s -e", test_kafka_brokers(), topic, group);
  run_result r = run(args, NULL);
  assert_int_equal(r.status, 0);
  cJSON *lines[16];
  size_t n = parse_lines(r.out, lines, 16);
  assert_int_equal(n, 2);
  assert_value_is(lines[0], &t.base);
  free_lines(lines, n);
  run_free(&r);

  r = run(args, NULL);
  assert_int_equal(r.status, 0);
  assert_int_equal(r.len, 0);
  run_free(&r);

  /* The assign mode ignores the group's offsets: still everything. */
  snprintf(args, sizeof args, "-q -b %s -t %s -e", test_kafka_brokers(), topic);
  r = run(args, NULL);
  assert_int_equal(r.status, 0);
  n = parse_lines(r.out, lines, 16);
  assert_int_equal(n, 2);
  free_lines(lines, n);
  run_free(&r);
}

/* SIGTERM (and SIGINT) end a live run cleanly, after what was there got printed. */
static void test_sigterm_stops_cleanly(void **state) {
  char topic[96];
  make_topic("t_ec_sig", 1, topic, sizeof topic);
  producer pr;
  producer_open(&pr);
  Wallet__V1__TransactionCreated t = transaction_created("s-1", 9);
  send_msg(&pr, topic, 0, "k", &t.base, NULL);
  producer_close(&pr);

  for (int s = 0; s < 2; s++) {
    /* Out to a file so the shell can report the status after the kill. */
    char *cmd = NULL;
    assert_true(asprintf(&cmd,
             "sh -c \"'%s' -q -b %s -t %s > /tmp/%s.out & pid=\\$!; sleep 3; kill -%s "
             "\\$pid; wait \\$pid; echo rc=\\$?; cat /tmp/%s.out; rm -f /tmp/%s.out\"",
             eventcat_bin, test_kafka_brokers(), topic, topic, s ? "INT" : "TERM", topic,
             topic) > 0);
    FILE *p = popen(cmd, "r");
    free(cmd);
    assert_non_null(p);
    char buf[4096];
    size_t got = fread(buf, 1, sizeof buf - 1, p);
    buf[got] = '\0';
    assert_int_equal(WEXITSTATUS(pclose(p)), 0);
    assert_memory_equal(buf, "rc=0\n", 5);
    cJSON *j = cJSON_Parse(buf + 5);
    assert_non_null(j);
    assert_value_is(j, &t.base);
    cJSON_Delete(j);
  }
}

static void test_list_types_help_and_usage(void **state) {
  run_result r = run("--list-types", NULL);
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "\n" BT "\n"));
  assert_non_null(strstr(r.out, "\n" TT "\n"));
  assert_non_null(strstr(r.out, "\n" AT "\n"));
  run_free(&r);

  r = run("--help", NULL);
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "Examples:"));
  assert_non_null(strstr(r.out, "-o OFFSET"));
  run_free(&r);

  static const char *const bad[] = {
      "",                                /* no topic */
      "-t x -o sometime",                /* bad offset */
      "-t x -c 0",                       /* count below 1 */
      "-t x -c 12x",                     /* not a number */
      "-t x -p a",                       /* bad partition */
      "-t x -G g -p 0",                  /* group assigns partitions */
      "-t x -G g -o -3",                 /* tail needs assign mode */
      "-t x -X novalue",                 /* -X needs key=value */
      "-t x --format '%q'",              /* unknown token */
      "-t x --type wallet.v1.Nope",      /* unknown type */
      "-t x --bogus",                    /* unknown option */
      "-t x extra",                      /* stray argument */
      "-t",                              /* missing argument */
      "--decode " BT " --list-types",    /* two modes */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char args[256];
    snprintf(args, sizeof args, "%s 2>/dev/null", bad[i]);
    r = run(args, NULL);
    if (r.status != 2) fail_msg("eventcat %s: exit %d, want 2", bad[i], r.status);
    assert_int_equal(r.len, 0);
    run_free(&r);
  }
}

/* An unreachable broker in batch mode (-e) is exit 1, in bounded time. */
static void test_unreachable_broker_exits_1(void **state) {
  run_result r = run("-q -b 127.0.0.1:1 -t transactions -e -m 3 "
                     "-X socket.connection.setup.timeout.ms=1000 2>/dev/null",
                     NULL);
  assert_int_equal(r.status, 1);
  assert_int_equal(r.len, 0);
  assert_true(r.ms < 15000);
  run_free(&r);

  /* An unknown topic too (auto-create is off on our broker). */
  char topic[96], args[512];
  test_unique_name("t_ec_missing", topic, sizeof topic);
  snprintf(args, sizeof args, "-q -b %s -t %s -e -m 3 2>/dev/null", test_kafka_brokers(),
           topic);
  r = run(args, NULL);
  assert_int_equal(r.status, 1);
  assert_true(r.ms < 15000);
  run_free(&r);

  /* A bad -X key is a runtime configuration error, caught before any connection. */
  snprintf(args, sizeof args, "-q -b %s -t x -e -X no.such.key=1 2>/dev/null",
           test_kafka_brokers());
  r = run(args, NULL);
  assert_int_equal(r.status, 1);
  run_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_list_types_help_and_usage),
      cmocka_unit_test(test_decode_round_trip),
      cmocka_unit_test(test_decode_checks_ce_type),
      cmocka_unit_test(test_undecodable_marker_one_spelling),
      cmocka_unit_test(test_help_and_readme_agree),
      cmocka_unit_test(test_prints_known_events),
      cmocka_unit_test(test_poison_does_not_stop_the_stream),
      cmocka_unit_test(test_offsets_and_count),
      cmocka_unit_test(test_group_commits),
      cmocka_unit_test(test_sigterm_stops_cleanly),
      cmocka_unit_test(test_unreachable_broker_exits_1),
  };
  return cmocka_run_group_tests(tests, setup_bin, NULL);
}
