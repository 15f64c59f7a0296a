/* wallet_fixture: setup shared by wallet-core's integration tests. */
#include "wallet_fixture.h"

#include <stdio.h>

#include "kafka_admin.h"
#include "migrate.h"
#include "test_env.h"

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
