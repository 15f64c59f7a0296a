/* kafka_conf: builds librdkafka configurations and routes librdkafka's logs to log.h. */
#include "kafka_conf.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

/* librdkafka calls this from its own threads; log_msg is thread-safe. */
static void kafka_conf_log_cb(const rd_kafka_t *rk, int level, const char *fac,
                              const char *buf) {
  /* A broker connection failure is logged (FAIL) and raised to the error callback too;
   * one line about it is enough, and the error callback's is the one with the code. */
  if (strcmp(fac, "FAIL") == 0) return;
  log_level lvl = level <= 3 ? LOG_ERROR : level == 4 ? LOG_WARN : level <= 6 ? LOG_INFO
                                                                               : LOG_DEBUG;
  log_msg(lvl, "rdkafka %s %s: %s", rd_kafka_name(rk), fac, buf);
}

/* Most errors here are transient (broker down, connection refused): librdkafka keeps
 * retrying by itself, so they are warnings. A fatal error (an idempotent producer that
 * lost its guarantees) makes the handle unusable: that is an error the owner must act on. */
static void kafka_conf_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char why[512];
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, why, sizeof why);
    log_error("kafka %s fatal error %s: %s", rd_kafka_name(rk), rd_kafka_err2name(orig),
              why);
    return;
  }
  log_warn("kafka %s: %s: %s", rd_kafka_name(rk), rd_kafka_err2name(err), reason);
}

int kafka_conf_set_pairs(rd_kafka_conf_t *conf, const char *const *pairs, char *err,
                         size_t errlen) {
  if (pairs == NULL) return 0;
  for (size_t i = 0; pairs[i] != NULL; i += 2) {
    if (pairs[i + 1] == NULL) {
      snprintf(err, errlen, "kafka config: key %s has no value", pairs[i]);
      return -1;
    }
    char why[256];
    if (rd_kafka_conf_set(conf, pairs[i], pairs[i + 1], why, sizeof why) !=
        RD_KAFKA_CONF_OK) {
      snprintf(err, errlen, "kafka config %s=%s: %s", pairs[i], pairs[i + 1], why);
      return -1;
    }
  }
  return 0;
}

rd_kafka_conf_t *kafka_conf_new(const char *brokers, const char *const *defaults,
                                const char *const *extra, char *err, size_t errlen) {
  if (brokers == NULL || *brokers == '\0') {
    snprintf(err, errlen, "kafka config: no brokers given");
    return NULL;
  }
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (conf == NULL) {
    snprintf(err, errlen, "kafka config: out of memory");
    return NULL;
  }
  const char *const base[] = {"bootstrap.servers", brokers, NULL};
  if (kafka_conf_set_pairs(conf, base, err, errlen) != 0 ||
      kafka_conf_set_pairs(conf, defaults, err, errlen) != 0 ||
      kafka_conf_set_pairs(conf, extra, err, errlen) != 0) {
    rd_kafka_conf_destroy(conf);
    return NULL;
  }
  rd_kafka_conf_set_log_cb(conf, kafka_conf_log_cb);
  rd_kafka_conf_set_error_cb(conf, kafka_conf_error_cb);
  return conf;
}
