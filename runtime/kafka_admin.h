/* kafka_admin: topics created at start, idempotently, with the admin API. */
#ifndef WALLET_KAFKA_ADMIN_H
#define WALLET_KAFKA_ADMIN_H

#include <stddef.h>

typedef struct kafka_topic_spec {
  const char *name;
  int partitions;
  int replication_factor;
} kafka_topic_spec;

/* Creates each topic that does not exist yet, with retention.ms=-1 (records are kept
 * forever: replaying a topic from offset 0 must rebuild the read model); one that exists
 * already is success (its partition count and configs are left alone). Returns 0, or -1 with err filled (broker unreachable
 * within timeout_ms, invalid spec). */
int kafka_ensure_topics(const char *brokers, const kafka_topic_spec *topics, size_t n,
                        int timeout_ms, char *err, size_t errlen);

#endif
