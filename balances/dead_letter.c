/* dead_letter: produce undecodable/invalid records to balances.dlq, delivery confirmed. */
#include "dead_letter.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_producer.h"
#include "log.h"
#include "metrics.h"

struct dead_letter {
  kafka_producer *producer;
  char *topic;
};

static void dead_letter_on_delivery(void *msg_opaque, rd_kafka_resp_err_t err,
                                    int32_t partition, int64_t offset, void *app) {
  int *state = msg_opaque;
  if (state == NULL) return;
  *state = err == RD_KAFKA_RESP_ERR_NO_ERROR ? DLQ_DELIVERED : DLQ_FAILED;
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    log_warn("dead letter not delivered: %s (will retry)", rd_kafka_err2str(err));
  }
}

/* Registered when the dead-letter producer is made, so /metrics shows the series at 0
 * from the start (issue 13), not only after the first dead letter. */
static metric *dead_lettered_metric(void) {
  return metrics_counter("events_dead_lettered_total",
                         "Records of the balances topic sent to the dead-letter "
                         "topic (undecodable or invalid).",
                         NULL);
}

dead_letter *dead_letter_new(const char *brokers, const char *topic,
                             const char *const *extra_conf, char *err, size_t errlen) {
  dead_letter *d = calloc(1, sizeof *d);
  if (d == NULL || (d->topic = strdup(topic)) == NULL) {
    snprintf(err, errlen, "dead letter: out of memory");
    goto fail;
  }
  d->producer = kafka_producer_new(brokers, "balances-dlq", dead_letter_on_delivery, d,
                                   extra_conf, err, errlen);
  if (d->producer == NULL) goto fail;
  (void)dead_lettered_metric();
  return d;
fail:
  if (d != NULL) free(d->topic);
  free(d);
  return NULL;
}

/* The original headers (copied) plus where the record came from and why it is here. */
static rd_kafka_headers_t *dead_letter_headers(const dead_letter_item *it) {
  rd_kafka_headers_t *orig = NULL;
  rd_kafka_headers_t *h;
  if (rd_kafka_message_headers(it->msg, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR &&
      orig != NULL) {
    h = rd_kafka_headers_copy(orig);
  } else {
    h = rd_kafka_headers_new(4);
  }
  if (h == NULL) return NULL;
  char part[16], off[24];
  snprintf(part, sizeof part, "%" PRId32, it->msg->partition);
  snprintf(off, sizeof off, "%" PRId64, it->msg->offset);
  const char *topic = rd_kafka_topic_name(it->msg->rkt);
  rd_kafka_header_add(h, "dlq_reason", -1, it->reason, -1);
  rd_kafka_header_add(h, "dlq_topic", -1, topic, -1);
  rd_kafka_header_add(h, "dlq_partition", -1, part, -1);
  rd_kafka_header_add(h, "dlq_offset", -1, off, -1);
  return h;
}

int dead_letter_deliver(dead_letter *d, dead_letter_item *items, size_t n, int timeout_ms,
                        char *err, size_t errlen) {
  metric *dead_lettered = dead_lettered_metric();
  for (size_t i = 0; i < n; i++) {
    dead_letter_item *it = &items[i];
    if (it->state != DLQ_NEW && it->state != DLQ_FAILED) continue;
    rd_kafka_headers_t *h = dead_letter_headers(it);
    if (h == NULL) {
      snprintf(err, errlen, "dead letter: out of memory");
      return -1;
    }
    char why[256];
    int first = it->state == DLQ_NEW;
    it->state = DLQ_PENDING;
    if (kafka_producer_send(d->producer, d->topic, RD_KAFKA_PARTITION_UA, it->msg->key,
                            it->msg->key_len, it->msg->payload, it->msg->len, h,
                            &it->state, why, sizeof why) != 0) {
      rd_kafka_headers_destroy(h);
      it->state = DLQ_FAILED;
      snprintf(err, errlen, "dead letter: %s", why);
      return -1;
    }
    if (first) {
      metrics_add(dead_lettered, 1);
      log_warn("dead-lettering record topic=%s partition=%" PRId32 " offset=%" PRId64
               ": %s",
               rd_kafka_topic_name(it->msg->rkt), it->msg->partition, it->msg->offset,
               it->reason);
    }
  }
  kafka_producer_flush(d->producer, timeout_ms);
  for (size_t i = 0; i < n; i++) {
    if (items[i].state != DLQ_DELIVERED) {
      snprintf(err, errlen, "dead letter: %s record(s) not delivered to %s yet",
               items[i].state == DLQ_FAILED ? "failed" : "pending", d->topic);
      return -1;
    }
  }
  return 0;
}

void dead_letter_free(dead_letter *d) {
  if (d == NULL) return;
  kafka_producer_destroy(d->producer);
  free(d->topic);
  free(d);
}
