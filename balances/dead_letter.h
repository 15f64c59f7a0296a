/* dead_letter: records the projector cannot apply go, unchanged, to a dead-letter topic
 * with why and where from in extra headers. Delivery is confirmed before the projector
 * commits past them: a dead letter is never dropped silently. */
#ifndef BALANCES_DEAD_LETTER_H
#define BALANCES_DEAD_LETTER_H

#include <stddef.h>
#include <librdkafka/rdkafka.h>

typedef struct dead_letter dead_letter;

enum dead_letter_state { DLQ_NEW = 0, DLQ_PENDING, DLQ_DELIVERED, DLQ_FAILED };

/* One record to dead-letter. msg is borrowed; state is written by dead_letter_deliver
 * (and by delivery reports, so the item must stay put until dead_letter_free when a
 * delivery is still pending). */
typedef struct dead_letter_item {
  const rd_kafka_message_t *msg;
  char reason[192];
  int state; /* enum dead_letter_state */
} dead_letter_item;

/* A producer for `topic` (copied). extra_conf as for kafka_producer_new. NULL with err
 * filled on bad configuration. */
dead_letter *dead_letter_new(const char *brokers, const char *topic,
                             const char *const *extra_conf, char *err, size_t errlen);

/* Produces every item that is NEW or FAILED (value, key and headers of the original, plus
 * dlq_reason, dlq_topic, dlq_partition, dlq_offset), logs a warning per record, and waits
 * up to timeout_ms for delivery reports. 0 when every item is DELIVERED; -1 otherwise
 * (err says why): call again later, items already in flight are not sent twice. */
int dead_letter_deliver(dead_letter *d, dead_letter_item *items, size_t n, int timeout_ms,
                        char *err, size_t errlen);

/* Flushes briefly, purges what is left (their reports still arrive, so items must be
 * alive), then frees. NULL is a no-op. */
void dead_letter_free(dead_letter *d);

#endif
