/* wallet_fixture: setup shared by wallet-core's integration tests (a fresh migrated
 * database with a pool and a checking connection, topic pairs, row counts). Owned by the
 * tests; failures fail the running test. */
#ifndef WALLET_TEST_WALLET_FIXTURE_H
#define WALLET_TEST_WALLET_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* A fresh database named after prefix with wallet-core's migrations applied, a pool of
 * pool_size connections on it, and one connection acquired from the pool (for checks). */
void wallet_fixture_db_open(const char *prefix, unsigned pool_size, db_config *cfg,
                            db_pool **pool, db_conn **conn);

/* Releases conn and frees the pool (the database is left for inspection). */
void wallet_fixture_db_close(db_pool *pool, db_conn *conn);

/* Creates the topics tx and bal (3 partitions, replication 1) on the test broker. */
void wallet_fixture_topics(const char *tx, const char *bal);

/* The first column of the first row of sql, as an integer (COUNT(*), SUM(...)). */
int64_t wallet_fixture_i64(db_conn *c, const char *sql);

/* One event of the outbox, as the relay will produce it (batch rows unpacked). */
typedef struct outbox_event {
  int64_t row_id;
  char event_id[40];
  char topic[250];
  char key[256];
  char type[128];
  uint8_t *payload; /* malloc'd */
  size_t len;
} outbox_event;

/* The events of the outbox rows matching `where` (SQL condition, NULL: all), in row and
 * record order. Free with wallet_fixture_outbox_free. */
size_t wallet_fixture_outbox_list(db_conn *c, const char *where, outbox_event **out);
void wallet_fixture_outbox_free(outbox_event *ev, size_t n);

/* How many events the rows matching `where` hold (NULL: all): a plain row holds one, a
 * batch row (a group of transfers) its records. */
int64_t wallet_fixture_outbox_events(db_conn *c, const char *where);

#endif
