/* kafka_consumer: a consumer-group consumer that commits an offset only after the caller
 * says the record's effect is durable.
 *
 * Config: enable.auto.commit=false, auto.offset.reset=earliest (a new group starts at
 * the beginning), enable.partition.eof=false. The caller polls, applies records, stores
 * the offsets it has made durable, then commits them synchronously. */
#ifndef WALLET_KAFKA_CONSUMER_H
#define WALLET_KAFKA_CONSUMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>

typedef struct kafka_consumer kafka_consumer;

/* Joins `group_id` and subscribes to `topics`. extra_conf as for the producer. Returns
 * NULL with err filled on bad configuration (an unreachable broker is not an error:
 * librdkafka keeps trying). */
kafka_consumer *kafka_consumer_new(const char *brokers, const char *group_id,
                                   const char *const *topics, size_t ntopics,
                                   const char *const *extra_conf, char *err, size_t errlen);

/* The next record, or NULL when none came within timeout_ms. The caller destroys it with
 * rd_kafka_message_destroy. A returned message with ->err set is an event (broker down,
 * partition error), not a record: log it and go on. */
rd_kafka_message_t *kafka_consumer_poll(kafka_consumer *c, int timeout_ms);

/* Marks `m` done: offset m->offset + 1 of its partition becomes the one to commit. */
int kafka_consumer_store(kafka_consumer *c, const rd_kafka_message_t *m);

/* Commits all stored offsets synchronously. 0 on success (also when nothing to commit),
 * -1 with err filled. */
int kafka_consumer_commit(kafka_consumer *c, char *err, size_t errlen);

/* True while the group has given this member at least one partition. */
bool kafka_consumer_assigned(kafka_consumer *c);

/* Sum over assigned partitions of (high watermark - next offset to read), from the
 * last statistics or a watermark query; -1 when unknown. */
int64_t kafka_consumer_lag(kafka_consumer *c);

/* Leaves the group cleanly (no rebalance wait for the others), then frees. NULL no-op. */
void kafka_consumer_close(kafka_consumer *c);

rd_kafka_t *kafka_consumer_handle(kafka_consumer *c);

#endif
