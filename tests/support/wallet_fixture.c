/* wallet_fixture: setup shared by wallet-core's integration tests. */
#include "wallet_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_admin.h"
#include "migrate.h"
#include "test_env.h"
#include "wallet/v1/outbox.pb-c.h"

void wallet_fixture_db_open(const char *prefix, unsigned pool_size, db_config *cfg,
                            db_pool **pool, db_conn **conn) {
  *cfg = test_db_fresh(prefix);
  cfg->pool_size = pool_size;
  char dir[1024], err[512];
  snprintf(dir, sizeof dir, "%s/migrations/wallet-core", test_env_require("WALLET_SOURCE_DIR"));
  if (migrate_run(cfg, dir, NULL, err, sizeof err) != 0) fail_msg("migrate: %s", err);
  *pool = db_pool_new(cfg, err, sizeof err);
  if (*pool == NULL) fail_msg("pool: %s", err);
  db_error e;
  *conn = db_pool_acquire(*pool, 5000, &e);
  if (*conn == NULL) fail_msg("acquire: %s", e.message);
}

void wallet_fixture_db_close(db_pool *pool, db_conn *conn) {
  if (conn != NULL) db_pool_release(pool, conn);
  db_pool_free(pool);
}

void wallet_fixture_topics(const char *tx, const char *bal) {
  char err[512];
  kafka_topic_spec specs[] = {{tx, 3, 1}, {bal, 3, 1}};
  if (kafka_ensure_topics(test_kafka_brokers(), specs, 2, 15000, err, sizeof err) != 0) {
    fail_msg("topics: %s", err);
  }
}

int64_t wallet_fixture_i64(db_conn *c, const char *sql) {
  db_rows *r = NULL;
  db_error e;
  if (db_query(c, sql, NULL, 0, &r, &e) != 0) fail_msg("%s: %s", sql, e.message);
  int64_t v = db_rows_i64(r, 0, 0);
  db_rows_free(r);
  return v;
}

static void add_event(outbox_event **v, size_t *n, size_t *cap, int64_t row_id,
                      const char *id, const char *topic, const char *key, const char *type,
                      const void *payload, size_t len) {
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 64;
    *v = realloc(*v, *cap * sizeof **v);
    if (*v == NULL) fail_msg("out of memory");
  }
  outbox_event *e = &(*v)[(*n)++];
  memset(e, 0, sizeof *e);
  e->row_id = row_id;
  snprintf(e->event_id, sizeof e->event_id, "%s", id ? id : "");
  snprintf(e->topic, sizeof e->topic, "%s", topic ? topic : "");
  snprintf(e->key, sizeof e->key, "%s", key ? key : "");
  snprintf(e->type, sizeof e->type, "%s", type ? type : "");
  e->payload = malloc(len ? len : 1);
  if (e->payload == NULL) fail_msg("out of memory");
  if (len) memcpy(e->payload, payload, len);
  e->len = len;
}

size_t wallet_fixture_outbox_list(db_conn *c, const char *where, outbox_event **out) {
  char sql[512];
  snprintf(sql, sizeof sql,
           "SELECT id, event_id, topic, msg_key, event_type, payload FROM outbox%s%s ORDER BY id",
           where ? " WHERE " : "", where ? where : "");
  db_rows *r = NULL;
  db_error e;
  if (db_query(c, sql, NULL, 0, &r, &e) != 0) fail_msg("%s: %s", sql, e.message);
  outbox_event *v = NULL;
  size_t n = 0, cap = 0;
  for (size_t i = 0; i < db_rows_count(r); i++) {
    size_t len = 0;
    const char *type = db_rows_str(r, i, 4, NULL);
    const char *payload = db_rows_str(r, i, 5, &len);
    int64_t id = db_rows_i64(r, i, 0);
    if (type != NULL && strcmp(type, wallet__v1__outbox_batch__descriptor.name) == 0) {
      Wallet__V1__OutboxBatch *b =
          wallet__v1__outbox_batch__unpack(NULL, len, (const uint8_t *)payload);
      if (b == NULL) fail_msg("outbox row %lld: not a valid OutboxBatch", (long long)id);
      for (size_t k = 0; k < b->n_records; k++) {
        const Wallet__V1__OutboxRecord *rec = b->records[k];
        add_event(&v, &n, &cap, id, rec->event_id, rec->topic, rec->key, rec->event_type,
                  rec->payload.data, rec->payload.len);
      }
      wallet__v1__outbox_batch__free_unpacked(b, NULL);
    } else {
      add_event(&v, &n, &cap, id, db_rows_str(r, i, 1, NULL), db_rows_str(r, i, 2, NULL),
                db_rows_str(r, i, 3, NULL), type, payload, len);
    }
  }
  db_rows_free(r);
  *out = v;
  return n;
}

void wallet_fixture_outbox_free(outbox_event *ev, size_t n) {
  for (size_t i = 0; i < n; i++) free(ev[i].payload);
  free(ev);
}

int64_t wallet_fixture_outbox_events(db_conn *c, const char *where) {
  outbox_event *v = NULL;
  size_t n = wallet_fixture_outbox_list(c, where, &v);
  wallet_fixture_outbox_free(v, n);
  return (int64_t)n;
}
