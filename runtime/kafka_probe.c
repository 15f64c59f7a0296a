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
