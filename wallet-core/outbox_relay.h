/* outbox_relay: the thread that publishes outbox rows to Kafka after commit and marks them
 * published only after the broker's delivery report.
 *
 * One relay publishes at a time across wallet-core instances: it holds the MariaDB named
 * lock `lock_name` on its own connection (the server drops it if the process or the
 * connection dies); the others retry every second as hot standbys. A commit that wrote
 * outbox rows calls outbox_relay_notify, so publishing starts within milliseconds; a
 * 200 ms timed wait catches rows other instances wrote. At start it publishes whatever
 * is pending (crash recovery). With Kafka down, rows stay pending and transfers go on. */
#ifndef WALLET_CORE_OUTBOX_RELAY_H
#define WALLET_CORE_OUTBOX_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

typedef struct outbox_relay outbox_relay;

typedef struct outbox_relay_config {
  db_config db;                     /* its own connection (strings copied) */
  const char *brokers;              /* "host:port[,...]" */
  const char *const *producer_conf; /* NULL or NULL-terminated librdkafka key, value pairs */
  const char *lock_name;            /* NULL: "wallet_outbox_relay:<database>" */
  int batch_size;                   /* rows per pass; 0 means 1000 */
  int idle_wait_ms;                 /* wait between passes when idle; 0 means 200 */
} outbox_relay_config;

/* Creates the producer and starts the thread. NULL with err filled on bad configuration
 * (an unreachable database or broker is not an error: the relay keeps retrying). */
outbox_relay *outbox_relay_start(const outbox_relay_config *cfg, char *err, size_t errlen);

/* Wakes the relay now (after a commit that wrote outbox rows). Cheap; NULL is a no-op. */
void outbox_relay_notify(outbox_relay *r);

/* Stops the thread: waits up to ~5 s for records already handed to Kafka and marks the
 * delivered ones, then frees everything. NULL is a no-op. */
void outbox_relay_stop(outbox_relay *r);

/* Whether a Kafka broker answers a metadata request within timeout_ms (for /readyz).
 * 0 when it does; -1 with detail filled otherwise. */
int outbox_relay_kafka_check(outbox_relay *r, int timeout_ms, char *detail, size_t len);

/* True while this relay holds the lock and is the one publishing. */
bool outbox_relay_is_leader(outbox_relay *r);

/* Rows this relay has marked published since start. */
uint64_t outbox_relay_published(outbox_relay *r);

#endif
