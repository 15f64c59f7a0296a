/* rebuild: `balances rebuild`: empty the read model (balances and history), re-seed it, replay the balances topic
 * from its beginning, and hand the consumer group the positions reached.
 *
 * Precondition: no balances service is consuming (the group has no active members;
 * checked, and the final commit would be refused by the broker for an active group).
 * Crash-safe by ordering: the group's offsets are first moved back to the start of every
 * partition, so if the rebuild dies at any later point a restarted service replays
 * everything onto whatever the table holds, and versions make that converge. */
#ifndef BALANCES_REBUILD_H
#define BALANCES_REBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* The seed migrations' numbers (the balances seed, then the history entries derived
 * from it): rebuild deletes their schema_migrations rows and lets migrate_run apply them
 * again, so the SQL files stay the only copy of the seed. */
#define REBUILD_SEED_VERSION 2
#define REBUILD_HISTORY_SEED_VERSION 4

typedef struct rebuild_config {
  const char *brokers;
  const char *topic;          /* "balances" */
  const char *group;          /* "balances": whose offsets are reset, then advanced */
  const db_config *db;        /* for migrate_run */
  const char *migrations_dir; /* migrations/balances */
  db_pool *pool;
  int batch_max;              /* 0 means 500 */
  int idle_timeout_ms;        /* give up after this long without progress; 0 means 60000 */
  bool no_history;            /* HISTORY=off: the history is emptied and stays empty */
  const char *const *consumer_conf; /* extra librdkafka pairs, or NULL */
} rebuild_config;

typedef struct rebuild_stats {
  int partitions;
  uint64_t records;  /* records read */
  uint64_t applied;  /* valid records applied */
  uint64_t skipped;  /* invalid records (already dead-lettered by the live projector) */
  int64_t elapsed_ms;
} rebuild_stats;

/* Runs the whole rebuild. 0, or -1 with err filled (nothing unsafe is left behind: see
 * above). stats may be NULL. */
int rebuild_run(const rebuild_config *cfg, rebuild_stats *stats, char *err, size_t errlen);

#endif
