/* kafka_producer: an idempotent librdkafka producer whose delivery reports decide success.
 *
 * Config: enable.idempotence=true, acks=all, partitioner=murmur2_random (the Java
 * client's, so keys land where other clients expect). A produce call only queues; the
 * delivery callback, served from kafka_producer_poll/flush on the caller's thread,
 * says whether the broker has the record. */
#ifndef WALLET_KAFKA_PRODUCER_H
#define WALLET_KAFKA_PRODUCER_H

#include <stddef.h>
#include <librdkafka/rdkafka.h>

typedef struct kafka_producer kafka_producer;

/* Called once per queued record, from poll/flush. err is RD_KAFKA_RESP_ERR_NO_ERROR when
 * the record is durably written (acks=all). msg_opaque is what kafka_producer_send got. */
typedef void (*kafka_delivery_fn)(void *msg_opaque, rd_kafka_resp_err_t err,
                                  int32_t partition, int64_t offset, void *app);

/* brokers: "host:port[,host:port]". extra_conf: NULL, or a NULL-terminated list of
 * key, value pairs passed to librdkafka (they override our defaults). on_delivery may
 * be NULL. Returns NULL with err filled on bad configuration. */
kafka_producer *kafka_producer_new(const char *brokers, const char *client_id,
                                   kafka_delivery_fn on_delivery, void *app,
                                   const char *const *extra_conf, char *err, size_t errlen);

/* Queues one record. headers: NULL, or a list this call takes ownership of on success
 * (on failure the caller still owns it). Returns 0, or -1 with err filled (queue full
 * after waiting up to 1 s, unknown topic, message too large). partition:
 * RD_KAFKA_PARTITION_UA to let the key decide. */
int kafka_producer_send(kafka_producer *p, const char *topic, int32_t partition,
                        const void *key, size_t keylen, const void *value, size_t len,
                        rd_kafka_headers_t *headers, void *msg_opaque,
                        char *err, size_t errlen);

/* Serves delivery reports; returns how many were served. */
int kafka_producer_poll(kafka_producer *p, int timeout_ms);

/* Waits until every queued record has a delivery report, or timeout. 0 when all were
 * reported, -1 on timeout. */
int kafka_producer_flush(kafka_producer *p, int timeout_ms);

/* Records queued or in flight, not yet reported. */
int kafka_producer_outstanding(kafka_producer *p);

/* Flushes up to 5 s, then frees. NULL is a no-op. */
void kafka_producer_destroy(kafka_producer *p);

rd_kafka_t *kafka_producer_handle(kafka_producer *p);

#endif
