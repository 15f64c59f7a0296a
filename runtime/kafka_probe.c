/* kafka_probe: "does Kafka answer?" for readiness checks, over an existing client handle. */
#include "kafka_probe.h"

#include <stdio.h>

int kafka_probe(rd_kafka_t *rk, int timeout_ms, char *err, size_t errlen) {
  if (rk == NULL) {
    snprintf(err, errlen, "no Kafka client");
    return -1;
  }
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    snprintf(err, errlen, "Kafka metadata request failed: %s", rd_kafka_err2str(e));
    return -1;
  }
  int brokers = md->broker_cnt;
  rd_kafka_metadata_destroy(md);
  if (brokers == 0) {
    snprintf(err, errlen, "Kafka answered with no brokers");
    return -1;
  }
  return 0;
}

int kafka_partition_count(rd_kafka_t *rk, const char *topic, int timeout_ms, char *err,
                          size_t errlen) {
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
  const struct rd_kafka_metadata *md = NULL;
  int n = -1;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    snprintf(err, errlen, "metadata of %s: %s", topic, rd_kafka_err2str(e));
  } else if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    snprintf(err, errlen, "topic %s: %s", topic,
             md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "not found");
  } else if (md->topics[0].partition_cnt < 1) {
    snprintf(err, errlen, "topic %s: no partitions yet", topic);
  } else {
    n = md->topics[0].partition_cnt;
  }
  if (md) rd_kafka_metadata_destroy(md);
  rd_kafka_topic_destroy(rkt);
  return n;
}
