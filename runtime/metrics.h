/* metrics: process-wide counters, gauges and latency histograms, rendered in the
 * Prometheus text format for GET /metrics. Thread-safe; cheap enough for hot paths
 * (an atomic add per update once the series is looked up). */
#ifndef WALLET_METRICS_H
#define WALLET_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef struct metric metric;

/* The series `name{labels}`, created on first use and living until exit. labels is NULL
 * or Prometheus label text without braces, e.g. "route=\"/accounts/{id}\",code=\"200\"".
 * help is the HELP line for the family (first caller wins). Returns NULL only on OOM;
 * update functions accept NULL. Look a series up once and keep the pointer on hot paths. */
metric *metrics_counter(const char *name, const char *help, const char *labels);
metric *metrics_gauge(const char *name, const char *help, const char *labels);
/* Latency histogram in seconds, buckets 0.0005 .. 10 s. */
metric *metrics_histogram(const char *name, const char *help, const char *labels);

void metrics_add(metric *m, int64_t delta);      /* counter or gauge */
void metrics_set(metric *m, int64_t value);      /* gauge */
void metrics_observe_us(metric *m, int64_t us);  /* histogram, in microseconds */

/* A value read back (counter/gauge), for tests and /readyz. */
int64_t metrics_value(const metric *m);

/* The whole registry as Prometheus text; caller frees. NULL on OOM. */
char *metrics_render(size_t *len);

#endif
