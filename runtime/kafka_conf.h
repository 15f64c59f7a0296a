/* kafka_conf: librdkafka configuration shared by our producer, consumer and admin client. */
#ifndef WALLET_KAFKA_CONF_H
#define WALLET_KAFKA_CONF_H

#include <stddef.h>
#include <librdkafka/rdkafka.h>

/* A new configuration: bootstrap.servers = brokers, then `defaults`, then `extra` (both
 * NULL or NULL-terminated key, value lists; later pairs win, so the caller's extras
 * override our defaults), with librdkafka's log and error callbacks routed to log.h.
 * Returns NULL with err filled on an unknown key, a bad value or an odd-length list.
 * The caller owns the result until rd_kafka_new takes it. */
rd_kafka_conf_t *kafka_conf_new(const char *brokers, const char *const *defaults,
                                const char *const *extra, char *err, size_t errlen);

/* Applies one NULL-terminated key, value list to conf. 0, or -1 with err filled. */
int kafka_conf_set_pairs(rd_kafka_conf_t *conf, const char *const *pairs, char *err,
                         size_t errlen);

#endif
