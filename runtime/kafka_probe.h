/* kafka_probe: "does Kafka answer?" for readiness checks, over an existing client handle.
 * Owned by runtime; wallet-core's relay and balances' projector both use it. */
#ifndef WALLET_KAFKA_PROBE_H
#define WALLET_KAFKA_PROBE_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

/* A metadata request on rk within timeout_ms that names at least one broker: 0, or -1 with
 * err filled (rk NULL, request failed, no brokers). */
int kafka_probe(rd_kafka_t *rk, int timeout_ms, char *err, size_t errlen);

/* The partition count of topic, from a metadata request on rk within timeout_ms: >= 1, or
 * -1 with err filled (request failed, topic unknown, no partitions yet). */
int kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, char *err,
                          size_t errlen);

#endif
