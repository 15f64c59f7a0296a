/* test_history: the balance_history projection and the statements of both sides.
 *
 *   compare_after_concurrent_load: wallet-core (HTTP, group commit, outbox relay) and
 *     balances (projector, HTTP) in one process on the real broker and MariaDB; threads
 *     move money concurrently; then every touched account's read-side history equals its
 *     write-side statement entry by entry (version, transaction, counterparty, signed
 *     amount, balance after), as_of agrees with the statement, and `balances rebuild`
 *     gives the same history again.
 *   replay_any_order: the same events applied in shuffled orders, split in random
 *     batches, with duplicates, always give the same history and balances (property).
 *   http_shapes: paging, complete_through_version with a gap, as_of errors, listing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "app.h"
#include "apply_notify.h"
#include "balance_reader.h"
#include "balances_handlers.h"
#include "balances_api.h"
#include "event_decode.h"
#include "history.h"
#include "history_handlers.h"
#include "http_client.h"
#include "http_server.h"
#include "migrate.h"
#include "outbox_relay.h"
#include "projector.h"
#include "read_model.h"
#include "rebuild.h"
#include "wallet_api.h"
#include "test_env.h"
#include "timeutil.h"
#include "transfer_batcher.h"
#include "uuid.h"
#include "wallet_fixture.h"
#include "wallet/v1/events.pb-c.h"

#define A1 "a1000000-0000-4000-8000-000000000001"
#define A2 "a1000000-0000-4000-8000-000000000002"
#define A3 "a1000000-0000-4000-8000-000000000003"
#define A4 "a1000000-0000-4000-8000-000000000004"
#define C1 "c1000000-0000-4000-8000-000000000001"
#define WAIT_MS 60000

/* ---- HTTP helpers ------------------------------------------------------------------- */

static cJSON *get_json(uint16_t port, const char *target, int want) {
  http_client_resp r;
  if (http_client_request(port, "GET", target, NULL, NULL, &r) != 0) {
    fail_msg("GET %s: no answer", target);
  }
  if (r.status != want) fail_msg("GET %s: status %d, want %d: %s", target, r.status, want, r.body);
  cJSON *j = r.json;
  r.json = NULL;
  http_client_resp_free(&r);
  if (j == NULL) fail_msg("GET %s: not JSON", target);
  return j;
}

static const char *jstr(const cJSON *o, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  return cJSON_IsString(v) ? v->valuestring : "";
}

/* int64 fields come as strings (proto3 JSON); absent means 0. */
static int64_t ji64(const cJSON *o, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
  if (cJSON_IsString(v)) return strtoll(v->valuestring, NULL, 10);
  if (cJSON_IsNumber(v)) return (int64_t)v->valuedouble;
  return 0;
}

/* One side's entries of an account, every page, newest first. */
typedef struct entry {
  int64_t version, amount, balance_after, at_us;
  char tx[40], cp[40];
} entry;

static int64_t parse_ts(const char *s) {
  int64_t us = 0;
  if (as_of_parse(s, &us) != 0) fail_msg("bad timestamp %s", s);
  return us;
}

/* base "/balances/" + id + tail "/history" (balances) or "/accounts/" .. "/transactions". */
static entry *read_all(uint16_t port, const char *base, const char *id, const char *tail,
                       int page_size,
                       size_t *n, cJSON **first_page) {
  size_t cap = 64, cnt = 0;
  entry *v = calloc(cap, sizeof *v);
  char token[64] = "";
  *first_page = NULL;
  for (int pages = 0;; pages++) {
    char path[256], target[400];
    snprintf(path, sizeof path, "%s%s%s", base, id, tail);
    snprintf(target, sizeof target, "%s?page_size=%d%s%s", path, page_size,
             token[0] ? "&page_token=" : "", token);
    cJSON *j = get_json(port, target, 200);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "entries");
    const cJSON *it;
    int in_page = 0;
    cJSON_ArrayForEach(it, arr) {
      if (cnt == cap) v = realloc(v, (cap *= 2) * sizeof *v);
      entry *e = &v[cnt++];
      memset(e, 0, sizeof *e);
      e->version = ji64(it, "version");
      e->amount = ji64(it, "amount");
      e->balance_after = ji64(it, "balance_after");
      snprintf(e->tx, sizeof e->tx, "%s", jstr(it, "transaction_id"));
      snprintf(e->cp, sizeof e->cp, "%s", jstr(it, "counterparty_account_id"));
      const char *t = jstr(it, "occurred_at");
      if (!*t) t = jstr(it, "created_at");
      e->at_us = parse_ts(t);
      in_page++;
    }
    assert_true(in_page <= page_size);
    snprintf(token, sizeof token, "%s", jstr(j, "next_page_token"));
    if (pages == 0) {
      *first_page = j;
    } else {
      cJSON_Delete(j);
    }
    if (!token[0]) break;
    assert_true(in_page == page_size); /* only a full page has a successor */
  }
  *n = cnt;
  return v;
}

/* ---- the two services in one process ------------------------------------------------- */

typedef struct stack {
  /* wallet-core */
  db_config wdb;
  db_pool *wpool;
  db_conn *wconn;
  outbox_relay *relay;
  transfer_batcher *batcher;
  wallet_app wapp;
  http_server *wsrv;
  uint16_t wport;
  char topic_tx[64], topic_bal[64];
  /* balances */
  db_config bdb;
  db_pool *bpool;
  apply_notify *notify;
  balance_reader *reader;
  as_of_worker *as_of;
  projector *proj;
  balances_app bapp;
  http_server *bsrv;
  uint16_t bport;
  char group[64], dlq[64];
  char migrations[1024];
} stack;

static projector *start_projector(stack *s) {
  char err[512];
  projector_config pc = {.brokers = test_kafka_brokers(), .topic = s->topic_bal,
                         .dlq_topic = s->dlq, .group = s->group, .pool = s->bpool,
                         .notify = s->notify};
  projector *p = projector_start(&pc, err, sizeof err);
  if (p == NULL) fail_msg("projector: %s", err);
  return p;
}

static void stack_up(stack *s) {
  memset(s, 0, sizeof *s);
  char err[512];
  wallet_fixture_db_open("hist_w", 16, &s->wdb, &s->wpool, &s->wconn);
  test_unique_name("htx", s->topic_tx, sizeof s->topic_tx);
  test_unique_name("hbal", s->topic_bal, sizeof s->topic_bal);
  test_unique_name("hdlq", s->dlq, sizeof s->dlq);
  test_unique_name("hgrp", s->group, sizeof s->group);
  wallet_fixture_topics(s->topic_tx, s->topic_bal);
  outbox_relay_config rc = {.db = s->wdb, .brokers = test_kafka_brokers()};
  s->relay = outbox_relay_start(&rc, err, sizeof err);
  if (s->relay == NULL) fail_msg("relay: %s", err);
  wallet_topics topics = {s->topic_tx, s->topic_bal};
  transfer_batcher_config bc = {.pool = s->wpool, .topics = topics, .relay = s->relay};
  s->batcher = transfer_batcher_start(&bc, err, sizeof err);
  if (s->batcher == NULL) fail_msg("batcher: %s", err);
  s->wapp = (wallet_app){.pool = s->wpool, .relay = s->relay, .topics = topics,
                         .batcher = s->batcher};
  http_server_config whc = {.bind_address = "127.0.0.1", .port = 0, .app = &s->wapp,
                            .io_threads = 2};
  s->wsrv = http_server_start(&whc, wallet_routes, wallet_routes_count, err, sizeof err);
  if (s->wsrv == NULL) fail_msg("wallet http: %s", err);
  s->wport = http_server_port(s->wsrv);

  snprintf(s->migrations, sizeof s->migrations, "%s/migrations/balances",
           test_env_require("WALLET_SOURCE_DIR"));
  s->bdb = test_db_fresh("hist_b");
  if (migrate_run(&s->bdb, s->migrations, NULL, err, sizeof err) != 0) fail_msg("%s", err);
  s->bpool = db_pool_new(&s->bdb, err, sizeof err);
  assert_non_null(s->bpool);
  s->notify = apply_notify_new();
  balance_reader_config brc = {.pool = s->bpool, .notify = s->notify};
  s->reader = balance_reader_start(&brc, err, sizeof err);
  assert_non_null(s->reader);
  s->as_of = as_of_worker_start(s->bpool, err, sizeof err);
  assert_non_null(s->as_of);
  s->proj = start_projector(s);
  s->bapp = (balances_app){.pool = s->bpool, .reader = s->reader, .as_of = s->as_of,
                           .min_version_wait_ms = 5000};
  http_server_config bhc = {.bind_address = "127.0.0.1", .port = 0, .app = &s->bapp,
                            .io_threads = 2};
  s->bsrv = http_server_start(&bhc, balances_routes, balances_routes_count, err, sizeof err);
  if (s->bsrv == NULL) fail_msg("balances http: %s", err);
  s->bport = http_server_port(s->bsrv);
}

static void stack_down(stack *s) {
  http_server_stop(s->bsrv);
  balance_reader_stop(s->reader);
  as_of_worker_stop(s->as_of);
  projector_stop(s->proj);
  db_pool_free(s->bpool);
  apply_notify_free(s->notify);
  http_server_stop(s->wsrv);
  transfer_batcher_stop(s->batcher);
  outbox_relay_stop(s->relay);
  wallet_fixture_db_close(s->wpool, s->wconn);
}

/* ---- concurrent load, then both statements compared ------------------------------- */

#define NACC 6
#define THREADS 6
#define PER_THREAD 40

typedef struct loader {
  stack *s;
  const char *const *accounts;
  unsigned seed;
  int ok;
} loader;

static void *load_main(void *arg) {
  loader *l = arg;
  for (int i = 0; i < PER_THREAD; i++) {
    int a = (int)(rand_r(&l->seed) % NACC), b = (int)(rand_r(&l->seed) % (NACC - 1));
    if (b >= a) b++;
    char body[256];
    snprintf(body, sizeof body,
             "{\"account_id_from\":\"%s\",\"account_id_to\":\"%s\",\"amount\":%u}",
             l->accounts[a], l->accounts[b], 1 + rand_r(&l->seed) % 20000);
    http_client_resp r;
    if (http_client_request(l->s->wport, "POST", "/transactions", NULL, body, &r) == 0 &&
        r.status == 201) {
      l->ok++;
    }
    http_client_resp_free(&r);
  }
  return NULL;
}

static void new_account(stack *s, char out[UUID_STR_LEN]) {
  http_client_resp r;
  assert_int_equal(http_client_request(s->wport, "POST", "/accounts", NULL,
                                       "{\"client_id\":\"" C1 "\"}", &r),
                   0);
  if (r.status != 201) fail_msg("POST /accounts: %d %s", r.status, r.body);
  snprintf(out, UUID_STR_LEN, "%s", http_client_json_str(&r, "id"));
  http_client_resp_free(&r);
}

/* Waits until balances' history of the account is complete through its write-side
 * version. The balances row alone would not do: it jumps to the newest version while
 * older events of the account still wait on other partitions. */
static int64_t wait_caught_up(stack *s, const char *id) {
  char target[200];
  snprintf(target, sizeof target, "/accounts/%s", id);
  cJSON *acc = get_json(s->wport, target, 200);
  int64_t version = ji64(acc, "version");
  cJSON_Delete(acc);
  int64_t deadline = time_mono_ms() + WAIT_MS;
  snprintf(target, sizeof target, "/balances/%s/history?page_size=1", id);
  for (;;) {
    http_client_resp r;
    if (http_client_request(s->bport, "GET", target, NULL, NULL, &r) == 0 && r.status == 200 &&
        ji64(r.json, "complete_through_version") >= version) {
      http_client_resp_free(&r);
      return version;
    }
    http_client_resp_free(&r);
    if (time_mono_ms() > deadline) fail_msg("history of %s never complete to v%" PRId64, id, version);
    time_sleep_ms(50);
  }
}

/* The read side's history of one account against its write-side statement. Returns
 * the number of entries compared. */
static size_t compare_account(stack *s, const char *id, int64_t version, int64_t opening) {
  cJSON *hp = NULL, *sp = NULL;
  size_t nh = 0, ns = 0;
  entry *h = read_all(s->bport, "/balances/", id, "/history", 5, &nh, &hp);
  entry *w = read_all(s->wport, "/accounts/", id, "/transactions", 7, &ns, &sp);
  /* The history has the creation (version 1) on top of every transfer. */
  if (nh != ns + 1) fail_msg("%s: %zu history entries, %zu statement entries", id, nh, ns);
  assert_int_equal(ji64(hp, "latest_version"), version);
  assert_int_equal(ji64(hp, "complete_through_version"), version);
  for (size_t i = 0; i < ns; i++) {
    const entry *a = &h[i], *b = &w[i];
    if (a->version != b->version || a->amount != b->amount ||
        a->balance_after != b->balance_after || strcmp(a->tx, b->tx) != 0 ||
        strcmp(a->cp, b->cp) != 0 || a->at_us != b->at_us) {
      fail_msg("%s entry %zu: history v%" PRId64 " %s %s %+" PRId64 " -> %" PRId64
               " at %" PRId64 "; statement v%" PRId64 " %s %s %+" PRId64 " -> %" PRId64
               " at %" PRId64,
               id, i, a->version, a->tx, a->cp, a->amount, a->balance_after, a->at_us,
               b->version, b->tx, b->cp, b->amount, b->balance_after, b->at_us);
    }
    assert_int_equal(b->version, version - (int64_t)i); /* newest first, no gap */
  }
  const entry *created = &h[nh - 1];
  assert_int_equal(created->version, 1);
  assert_int_equal(created->balance_after, opening);
  assert_string_equal(created->tx, "");

  /* as_of at each transfer's time: the newest entry at or before it (a group commits
   * several transfers at one instant: the highest version of that instant). */
  for (size_t i = 0; i < ns; i += 3) {
    int64_t t = w[i].at_us;
    /* The latest instant at or before t, and the highest version at it (two batcher
     * threads may commit in an order their clocks do not show). */
    const entry *want = NULL;
    for (size_t k = 0; k < ns; k++) {
      if (w[k].at_us > t) continue;
      if (want == NULL || w[k].at_us > want->at_us ||
          (w[k].at_us == want->at_us && w[k].version > want->version)) {
        want = &w[k];
      }
    }
    char at[64], target[256];
    Google__Protobuf__Timestamp ts;
    time_to_timestamp(t, &ts);
    time_t secs = (time_t)ts.seconds;
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(target, sizeof target, "/balances/%s?as_of=%s.%06dZ", id, at, ts.nanos / 1000);
    cJSON *j = get_json(s->bport, target, 200);
    assert_int_equal(ji64(j, "version"), want->version);
    assert_int_equal(ji64(j, "balance"), want->balance_after);
    cJSON_Delete(j);
  }
  cJSON_Delete(hp);
  cJSON_Delete(sp);
  free(h);
  free(w);
  return ns;
}

static void test_compare_after_concurrent_load(void **state) {
  stack s;
  stack_up(&s);
  char n1[UUID_STR_LEN], n2[UUID_STR_LEN];
  new_account(&s, n1);
  new_account(&s, n2);
  const char *const accounts[NACC] = {A1, A2, A3, A4, n1, n2};
  const int64_t opening[NACC] = {100000, 50000, 200000, 0, 0, 0};
  pthread_t th[THREADS];
  loader ls[THREADS];
  for (int i = 0; i < THREADS; i++) {
    ls[i] = (loader){.s = &s, .accounts = accounts, .seed = 1234u + (unsigned)i};
    assert_int_equal(pthread_create(&th[i], NULL, load_main, &ls[i]), 0);
  }
  int ok = 0;
  for (int i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    ok += ls[i].ok;
  }
  assert_true(ok > THREADS * PER_THREAD / 2);
  size_t compared = 0;
  int64_t versions[NACC];
  for (int i = 0; i < NACC; i++) {
    versions[i] = wait_caught_up(&s, accounts[i]);
    compared += compare_account(&s, accounts[i], versions[i], opening[i]);
  }
  assert_int_equal(compared, 2 * (size_t)ok);
  print_message("compared %zu statement entries of %d accounts after %d transfers\n", compared,
                NACC, ok);

  /* rebuild: stop consuming, replay the topic into emptied tables: the same history. */
  db_error de = {0};
  db_conn *c = db_pool_acquire(s.bpool, 5000, &de);
  history_entry *live = NULL, *again = NULL;
  size_t nlive = 0, nagain = 0;
  assert_int_equal(history_list(c, &live, &nlive, &de), 0);
  db_pool_release(s.bpool, c);
  projector_stop(s.proj);
  char err[512];
  rebuild_config rbc = {.brokers = test_kafka_brokers(), .topic = s.topic_bal,
                        .group = s.group, .db = &s.bdb, .migrations_dir = s.migrations,
                        .pool = s.bpool, .batch_max = 50, .idle_timeout_ms = 20000};
  rebuild_stats rs;
  if (rebuild_run(&rbc, &rs, err, sizeof err) != 0) fail_msg("rebuild: %s", err);
  c = db_pool_acquire(s.bpool, 5000, &de);
  assert_int_equal(history_list(c, &again, &nagain, &de), 0);
  db_pool_release(s.bpool, c);
  assert_int_equal(nagain, nlive);
  assert_memory_equal(again, live, nlive * sizeof *live);
  free(live);
  free(again);
  s.proj = start_projector(&s);
  for (int i = 0; i < NACC; i++) compare_account(&s, accounts[i], versions[i], opening[i]);
  stack_down(&s);
}

/* ---- property: any order, any batching, duplicates: one history ----------------- */

#define P_ACC 5
#define P_TRANSFERS 120
#define P_ROUNDS 12

/* A ledger simulated here, its events packed and decoded as the projector does. */
static size_t make_events(rm_update *u, unsigned *seed) {
  char ids[P_ACC][UUID_STR_LEN];
  int64_t bal[P_ACC], ver[P_ACC];
  size_t n = 0;
  char reason[192];
  for (int i = 0; i < P_ACC; i++) {
    uuid_v7(ids[i]);
    bal[i] = 1000 * (i + 1);
    ver[i] = 1;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    time_to_timestamp(INT64_C(1790000000000000) + i, &ts);
    char eid[UUID_STR_LEN];
    uuid_v7(eid);
    Wallet__V1__AccountCreated ac = WALLET__V1__ACCOUNT_CREATED__INIT;
    ac.event_id = eid;
    ac.occurred_at = &ts;
    ac.account_id = ids[i];
    ac.client_id = eid;
    ac.balance = bal[i];
    ac.version = 1;
    uint8_t buf[512];
    size_t len = protobuf_c_message_pack(&ac.base, buf), k = 0;
    assert_int_equal(event_decode_value("wallet.v1.AccountCreated", buf, len, &u[n], &k,
                                        reason, sizeof reason),
                     0);
    n += k;
  }
  for (int t = 0; t < P_TRANSFERS; t++) {
    int a = (int)(rand_r(seed) % P_ACC), b = (int)(rand_r(seed) % (P_ACC - 1));
    if (b >= a) b++;
    int64_t amount = 1 + rand_r(seed) % 500;
    if (bal[a] < amount) continue;
    bal[a] -= amount;
    bal[b] += amount;
    ver[a]++;
    ver[b]++;
    Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    time_to_timestamp(INT64_C(1790000001000000) + t * 1000, &ts);
    char eid[UUID_STR_LEN], tid[UUID_STR_LEN];
    uuid_v7(eid);
    uuid_v7(tid);
    Wallet__V1__BalanceUpdated bu = WALLET__V1__BALANCE_UPDATED__INIT;
    bu.event_id = eid;
    bu.occurred_at = &ts;
    bu.transaction_id = tid;
    bu.account_id_from = ids[a];
    bu.account_id_to = ids[b];
    bu.balance_account_id_from = bal[a];
    bu.balance_account_id_to = bal[b];
    bu.version_account_id_from = ver[a];
    bu.version_account_id_to = ver[b];
    bu.amount = amount;
    uint8_t buf[512];
    size_t len = protobuf_c_message_pack(&bu.base, buf), k = 0;
    assert_int_equal(event_decode_value("wallet.v1.BalanceUpdated", buf, len, &u[n], &k,
                                        reason, sizeof reason),
                     0);
    n += k;
  }
  return n;
}

static void reset_tables(db_pool *pool) {
  db_error de = {0};
  db_conn *c = db_pool_acquire(pool, 5000, &de);
  assert_non_null(c);
  assert_int_equal(history_clear(c, &de), 0);
  assert_int_equal(rm_clear(c, &de), 0);
  db_pool_release(pool, c);
}

static void snapshot(db_pool *pool, history_entry **h, size_t *nh, rm_update **b, size_t *nb) {
  db_error de = {0};
  db_conn *c = db_pool_acquire(pool, 5000, &de);
  assert_non_null(c);
  if (history_list(c, h, nh, &de) != 0) fail_msg("history_list: %s", de.message);
  if (rm_list(c, b, nb, &de) != 0) fail_msg("rm_list: %s", de.message);
  db_pool_release(pool, c);
}

static void test_replay_any_order(void **state) {
  char dir[1024], err[512] = "";
  snprintf(dir, sizeof dir, "%s/migrations/balances", test_env_require("WALLET_SOURCE_DIR"));
  db_config db = test_db_fresh("hist_prop");
  assert_int_equal(migrate_run(&db, dir, NULL, err, sizeof err), 0);
  db_pool *pool = db_pool_new(&db, err, sizeof err);
  assert_non_null(pool);
  unsigned seed = 20261203u;
  enum { CAP = P_ACC + 2 * P_TRANSFERS };
  rm_update *events = calloc(CAP, sizeof *events);
  rm_update *work = calloc(2 * CAP, sizeof *work);
  size_t n = make_events(events, &seed);

  /* Reference: in order, one event at a time. */
  reset_tables(pool);
  db_error de = {0};
  for (size_t i = 0; i < n; i++) {
    work[0] = events[i];
    assert_int_equal(rm_apply_tx(pool, work, 1, RM_HISTORY, &de), 0);
  }
  history_entry *ref = NULL;
  rm_update *ref_b = NULL;
  size_t nref = 0, nref_b = 0;
  snapshot(pool, &ref, &nref, &ref_b, &nref_b);
  assert_int_equal(nref, n);
  /* The history is the ledger: per account, versions 1..k, each balance = the previous
   * one plus the entry's signed amount. */
  for (size_t i = 1; i < nref; i++) {
    if (strcmp(ref[i].account_id, ref[i - 1].account_id) != 0) {
      assert_int_equal(ref[i].version, 1);
      continue;
    }
    assert_int_equal(ref[i].version, ref[i - 1].version + 1);
    assert_int_equal(ref[i].balance_after, ref[i - 1].balance_after + ref[i].amount);
  }

  for (int round = 0; round < P_ROUNDS; round++) {
    /* Shuffled, a random tenth duplicated, applied in random batch sizes. */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
      work[m++] = events[i];
      if (rand_r(&seed) % 10 == 0) work[m++] = events[i];
    }
    for (size_t i = m - 1; i > 0; i--) {
      size_t j = rand_r(&seed) % (i + 1);
      rm_update t = work[i];
      work[i] = work[j];
      work[j] = t;
    }
    reset_tables(pool);
    for (size_t off = 0; off < m;) {
      size_t k = 1 + rand_r(&seed) % 64;
      if (k > m - off) k = m - off;
      assert_int_equal(rm_apply_tx(pool, work + off, k, RM_HISTORY, &de), 0);
      off += k;
    }
    history_entry *h = NULL;
    rm_update *b = NULL;
    size_t nh = 0, nb = 0;
    snapshot(pool, &h, &nh, &b, &nb);
    assert_int_equal(nh, nref);
    assert_memory_equal(h, ref, nref * sizeof *ref);
    assert_int_equal(nb, nref_b);
    for (size_t i = 0; i < nb; i++) {
      assert_string_equal(b[i].account_id, ref_b[i].account_id);
      assert_int_equal(b[i].balance, ref_b[i].balance);
      assert_int_equal(b[i].version, ref_b[i].version);
    }
    free(h);
    free(b);
  }
  free(ref);
  free(ref_b);
  free(events);
  free(work);
  db_pool_free(pool);
}

/* ---- the endpoints' shapes and errors --------------------------------------------- */

static void expect_code(uint16_t port, const char *target, int status, const char *part) {
  http_client_resp r;
  assert_int_equal(http_client_request(port, "GET", target, NULL, NULL, &r), 0);
  if (r.status != status || (part != NULL && (r.body == NULL || strstr(r.body, part) == NULL))) {
    fail_msg("GET %s: %d %s, want %d with \"%s\"", target, r.status, r.body, status,
             part ? part : "");
  }
  http_client_resp_free(&r);
}

static void test_http_shapes(void **state) {
  char dir[1024], err[512] = "";
  snprintf(dir, sizeof dir, "%s/migrations/balances", test_env_require("WALLET_SOURCE_DIR"));
  db_config db = test_db_fresh("hist_http");
  assert_int_equal(migrate_run(&db, dir, NULL, err, sizeof err), 0);
  db_pool *pool = db_pool_new(&db, err, sizeof err);
  apply_notify *notify = apply_notify_new();
  balance_reader_config brc = {.pool = pool, .notify = notify};
  balance_reader *reader = balance_reader_start(&brc, err, sizeof err);
  as_of_worker *w = as_of_worker_start(pool, err, sizeof err);
  balances_app app = {.pool = pool, .reader = reader, .as_of = w, .min_version_wait_ms = 200};
  http_server_config hc = {.bind_address = "127.0.0.1", .port = 0, .app = &app,
                           .io_threads = 1};
  http_server *srv = http_server_start(&hc, balances_routes, balances_routes_count, err, sizeof err);
  assert_non_null(srv);
  uint16_t port = http_server_port(srv);

  /* An account with versions 1..6 and 8 (7 in flight): complete through 6. */
  char id[UUID_STR_LEN], other[UUID_STR_LEN];
  uuid_v7(id);
  uuid_v7(other);
  const int64_t t0 = INT64_C(1798761600000000); /* 2027-01-01T00:00:00Z */
  rm_update u[8];
  size_t n = 0;
  for (int v = 1; v <= 8; v++) {
    if (v == 7) continue;
    rm_update *x = &u[n++];
    memset(x, 0, sizeof *x);
    snprintf(x->account_id, sizeof x->account_id, "%s", id);
    x->version = v;
    x->balance = 100 * v;
    x->amount = v == 1 ? 100 : 100;
    x->updated_at_us = t0 + (v - 1) * INT64_C(3600000000); /* hourly */
    if (v > 1) {
      uuid_v7(x->transaction_id);
      snprintf(x->counterparty_id, sizeof x->counterparty_id, "%s", other);
    }
  }
  db_error de = {0};
  assert_int_equal(rm_apply_tx(pool, u, n, RM_HISTORY, &de), 0);

  char target[300];
  snprintf(target, sizeof target, "/balances/%s/history?page_size=3", id);
  cJSON *j = get_json(port, target, 200);
  assert_int_equal(ji64(j, "latest_version"), 8);
  assert_int_equal(ji64(j, "complete_through_version"), 6);
  const cJSON *e0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "entries"), 0);
  assert_int_equal(ji64(e0, "version"), 8);
  assert_string_equal(jstr(e0, "occurred_at"), "2027-01-01T07:00:00Z");
  assert_string_equal(jstr(e0, "counterparty_account_id"), other);
  assert_string_equal(jstr(j, "next_page_token"), "5");
  cJSON_Delete(j);
  snprintf(target, sizeof target, "/balances/%s/history?page_size=3&page_token=2", id);
  j = get_json(port, target, 200);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "entries")), 1);
  assert_string_equal(jstr(j, "next_page_token"), "");
  cJSON_Delete(j);

  /* as_of: between entries, exactly at one, before the account, and bad input. */
  snprintf(target, sizeof target, "/balances/%s?as_of=2027-01-01T02:30:00Z", id);
  j = get_json(port, target, 200);
  assert_int_equal(ji64(j, "version"), 3);
  assert_int_equal(ji64(j, "balance"), 300);
  cJSON_Delete(j);
  snprintf(target, sizeof target, "/balances/%s?as_of=2027-01-01T05:00:00%%2B02:00", id);
  j = get_json(port, target, 200); /* 03:00Z: exactly version 4 */
  assert_int_equal(ji64(j, "version"), 4);
  cJSON_Delete(j);
  snprintf(target, sizeof target, "/balances/%s?as_of=2026-12-31T23:59:59Z", id);
  expect_code(port, target, 404, "as of");
  /* Any RFC 3339 instant is a valid question, even one before 1970 (schemathesis found
   * year 0743 answered 400): before the account existed is a 404. */
  snprintf(target, sizeof target, "/balances/%s?as_of=0743-07-29T20:56:50.03%%2B23:37", id);
  expect_code(port, target, 404, "as of");
  snprintf(target, sizeof target, "/balances/%s?as_of=yesterday", id);
  expect_code(port, target, 400, "RFC 3339");
  snprintf(target, sizeof target, "/balances/%s?as_of=2027-02-30T00:00:00Z", id);
  expect_code(port, target, 400, "as_of");
  snprintf(target, sizeof target, "/balances/%s?as_of=2027-01-01T00:00:00Z&min_version=2", id);
  expect_code(port, target, 400, "cannot be combined");
  snprintf(target, sizeof target, "/balances/%s/history?page_token=abc", id);
  expect_code(port, target, 400, "page_token");
  snprintf(target, sizeof target, "/balances/%s/history?page_size=1001", id);
  expect_code(port, target, 400, "page_size");
  snprintf(target, sizeof target, "/balances/%s/history", other);
  expect_code(port, target, 404, "no history");
  expect_code(port, "/balances/not-a-uuid/history", 400, "UUID");

  /* Listing: the 4 seeds and the account, 2 per page, by account id. */
  size_t listed = 0;
  char token[64] = "", prev[64] = "";
  for (;;) {
    snprintf(target, sizeof target, "/balances?page_size=2%s%s", token[0] ? "&page_token=" : "",
             token);
    j = get_json(port, target, 200);
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "balances")) {
      assert_true(strcmp(jstr(it, "account_id"), prev) > 0);
      snprintf(prev, sizeof prev, "%s", jstr(it, "account_id"));
      listed++;
    }
    snprintf(token, sizeof token, "%s", jstr(j, "next_page_token"));
    cJSON_Delete(j);
    if (!token[0]) break;
  }
  assert_int_equal(listed, 5);
  expect_code(port, "/balances?page_token=zzz", 400, "page_token");

  http_server_stop(srv);
  balance_reader_stop(reader);
  as_of_worker_stop(w);
  db_pool_free(pool);
  apply_notify_free(notify);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_http_shapes),
      cmocka_unit_test(test_replay_any_order),
      cmocka_unit_test(test_compare_after_concurrent_load),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
