/* projector: the consumer thread that turns the balances topic into the read model.
 *
 * Per batch (what has arrived, up to batch_max records, waiting up to batch_wait_ms for
 * the first): decode every record; apply the valid ones in ONE database transaction, or
 * in `appliers` transactions at once on disjoint accounts (parallel_apply.h), newer
 * version wins; wake min_version waiters; make sure the invalid ones are delivered to
 * the dead-letter topic; only then store the offsets of the whole batch. Stored offsets
 * are committed at most every commit_every_ms while batches keep coming, at once when
 * the stream pauses (batch_wait_ms without a record), and on revoke and close. A
 * database or DLQ outage retries the same batch with backoff (100 ms .. 5 s): never
 * skipped, never committed early, so a crash at any point redelivers and the versions
 * absorb the repeat. */
#ifndef BALANCES_PROJECTOR_H
#define BALANCES_PROJECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apply_notify.h"
#include "db.h"

typedef struct projector projector;

typedef struct projector_config {
  const char *brokers;
  const char *topic;     /* "balances" */
  const char *dlq_topic; /* "balances.dlq" */
  const char *group;     /* "balances" */
  db_pool *pool;         /* borrowed; outlives the projector */
  apply_notify *notify;  /* borrowed, may be NULL */
  int batch_max;         /* 0 means 2000 */
  int batch_wait_ms;     /* 0 means 50 */
  bool no_history;       /* true: balances only, balance_history untouched (HISTORY=off) */
  int appliers;          /* transactions per batch at once, on disjoint accounts; 0 means 1 */
  int commit_every_ms;   /* 0 means 100 */
  const char *const *consumer_conf; /* extra librdkafka pairs, NULL-terminated, or NULL */
  const char *const *producer_conf; /* same, for the dead-letter producer */
} projector_config;

/* What /readyz and tests want to know. Updated by the projector thread. */
typedef struct projector_status {
  bool assigned;          /* the group gave us at least one partition */
  bool ever_assigned;
  bool db_ok;             /* the last apply succeeded (or none was needed yet) */
  bool dlq_ok;            /* the last dead-letter delivery succeeded */
  int64_t lag;            /* records behind, -1 unknown */
  uint64_t applied;       /* records applied (this instance) */
  uint64_t dead_lettered; /* records dead-lettered and delivered (this instance) */
  uint64_t batches;       /* batches committed */
} projector_status;

/* Creates the consumer and DLQ producer (strings copied) and starts the thread. NULL with
 * err filled on bad configuration; an unreachable broker is not an error. */
projector *projector_start(const projector_config *cfg, char *err, size_t errlen);

/* Stops the thread (an unfinished batch is abandoned uncommitted: it comes back on the
 * next start), leaves the group and frees. NULL is a no-op. */
void projector_stop(projector *p);

void projector_get_status(projector *p, projector_status *out);

/* A broker round trip (metadata) within timeout_ms: 0 when Kafka answers. Thread-safe. */
int projector_kafka_probe(projector *p, int timeout_ms, char *err, size_t errlen);

#endif
