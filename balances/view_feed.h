/* view_feed: the thread that keeps a balance_view equal to the read model of the whole
 * topic, in every balances instance (each one projects only its own partitions into the
 * table, but its view holds all of them).
 *
 * Start-up, in this order, so that nothing committed is missed:
 *  1. the projector group's committed offsets of every partition (O_p);
 *  2. the table, read in keyset pages: every event below O_p is in it, because the
 *     projector commits an offset only after the batch's database commit;
 *  3. every partition from O_p (its beginning when the group has none), with no group
 *     membership and no commits of its own: the group's offsets are never touched.
 * Overlap between 2 and 3 is harmless (the view keeps the highest version). The view
 * turns live when every partition has been read to its end once; until then, and
 * whenever the feed cannot keep it (Kafka away at start, out of memory), readers use
 * the table. Records that do not decode are skipped: the projector dead-letters them.
 * Partitions added to the topic later are picked up from their beginning within
 * FEED_METADATA_MS. */
#ifndef BALANCES_VIEW_FEED_H
#define BALANCES_VIEW_FEED_H

#include "balance_view.h"
#include "db.h"

typedef struct view_feed view_feed;

typedef struct view_feed_config {
  const char *brokers;
  const char *topic; /* "balances" */
  const char *group; /* the projector's group, whose offsets are read (never written) */
  db_pool *pool;     /* borrowed: the snapshot's connection */
  balance_view *view; /* borrowed: filled, and set live */
  const char *const *consumer_conf; /* extra librdkafka pairs, NULL-terminated, or NULL */
} view_feed_config;

/* Starts the thread (strings copied). NULL with err filled on bad configuration; an
 * unreachable broker or database is not an error (the feed retries, the view stays not
 * live). */
view_feed *view_feed_start(const view_feed_config *cfg, char *err, size_t errlen);

/* Stops the thread and frees. NULL is a no-op. The view stays as it was, not live. */
void view_feed_stop(view_feed *f);

#endif
