/* metrics: a small Prometheus registry. Series are created under a mutex and never freed
 * (they live for the process), so hot paths keep a pointer and update it with atomics. */
#include "metrics.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM } metric_kind;

/* Upper bounds in microseconds: 0.25 ms .. 10 s, finer where the latency targets are
 * (2 ms, 10 ms): a quantile is interpolated inside its bucket, and between 10 and 25 ms
 * that could put a p99 of 11 ms anywhere up to 25. */
static const int64_t bucket_us[] = {250,    500,    1000,    2000,    2500,    5000,   7500,
                                    10000,  15000,  20000,   25000,   50000,   100000, 250000,
                                    500000, 1000000, 2500000, 5000000, 10000000};
#define NBUCKETS (sizeof bucket_us / sizeof bucket_us[0])

struct metric {
  struct metric *next;
  char *name;
  char *help;
  char *labels; /* may be NULL */
  metric_kind kind;
  _Atomic int64_t value;              /* counter/gauge; histogram: sum in us */
  _Atomic int64_t buckets[NBUCKETS];  /* histogram: non-cumulative counts */
  _Atomic int64_t count;              /* histogram: observations */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static metric *registry; /* newest first; rendered grouped by name */

static bool same(const char *a, const char *b) {
  return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static metric *lookup(const char *name, const char *help, const char *labels,
                      metric_kind kind) {
  pthread_mutex_lock(&registry_lock);
  metric *m = registry;
  while (m != NULL && !(strcmp(m->name, name) == 0 && same(m->labels, labels))) m = m->next;
  if (m == NULL) {
    m = calloc(1, sizeof *m);
    if (m != NULL) {
      m->name = strdup(name);
      m->help = strdup(help != NULL ? help : "");
      m->labels = labels != NULL ? strdup(labels) : NULL;
      m->kind = kind;
      if (m->name == NULL || m->help == NULL || (labels != NULL && m->labels == NULL)) {
        free(m->name);
        free(m->help);
        free(m->labels);
        free(m);
        m = NULL;
      } else {
        m->next = registry;
        registry = m;
      }
    }
  }
  pthread_mutex_unlock(&registry_lock);
  return m;
}

metric *metrics_counter(const char *name, const char *help, const char *labels) {
  return lookup(name, help, labels, KIND_COUNTER);
}
metric *metrics_gauge(const char *name, const char *help, const char *labels) {
  return lookup(name, help, labels, KIND_GAUGE);
}
metric *metrics_histogram(const char *name, const char *help, const char *labels) {
  return lookup(name, help, labels, KIND_HISTOGRAM);
}

void metrics_add(metric *m, int64_t delta) {
  if (m != NULL) atomic_fetch_add_explicit(&m->value, delta, memory_order_relaxed);
}

void metrics_set(metric *m, int64_t value) {
  if (m != NULL) atomic_store_explicit(&m->value, value, memory_order_relaxed);
}

void metrics_observe_us(metric *m, int64_t us) {
  if (m == NULL) return;
  size_t i = 0;
  while (i < NBUCKETS && us > bucket_us[i]) i++;
  if (i < NBUCKETS) atomic_fetch_add_explicit(&m->buckets[i], 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
  atomic_fetch_add_explicit(&m->value, us, memory_order_relaxed);
}

int64_t metrics_value(const metric *m) {
  return m != NULL ? atomic_load_explicit(&m->value, memory_order_relaxed) : 0;
}

/* A growable text buffer; on OOM it sets failed and ignores further appends. */
typedef struct {
  char *buf;
  size_t len, cap;
  bool failed;
} textbuf;

static void tb_printf(textbuf *tb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_printf(textbuf *tb, const char *fmt, ...) {
  if (tb->failed) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tb->buf + tb->len, tb->cap - tb->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
      tb->failed = true;
      return;
    }
    if ((size_t)n < tb->cap - tb->len) {
      tb->len += (size_t)n;
      return;
    }
    size_t ncap = (tb->cap + (size_t)n + 1) * 2;
    char *nb = realloc(tb->buf, ncap);
    if (nb == NULL) {
      tb->failed = true;
      return;
    }
    tb->buf = nb;
    tb->cap = ncap;
  }
}

static const char *kind_name(metric_kind k) {
  return k == KIND_COUNTER ? "counter" : k == KIND_GAUGE ? "gauge" : "histogram";
}

static void render_series(textbuf *tb, const metric *m) {
  const char *l = m->labels;
  if (m->kind != KIND_HISTOGRAM) {
    tb_printf(tb, "%s%s%s%s %" PRId64 "\n", m->name, l ? "{" : "", l ? l : "", l ? "}" : "",
              atomic_load(&m->value));
    return;
  }
  int64_t cum = 0;
  for (size_t i = 0; i < NBUCKETS; i++) {
    cum += atomic_load(&m->buckets[i]);
    tb_printf(tb, "%s_bucket{%s%sle=\"%g\"} %" PRId64 "\n", m->name, l ? l : "", l ? "," : "",
              (double)bucket_us[i] / 1e6, cum);
  }
  int64_t count = atomic_load(&m->count);
  tb_printf(tb, "%s_bucket{%s%sle=\"+Inf\"} %" PRId64 "\n", m->name, l ? l : "", l ? "," : "",
            count);
  tb_printf(tb, "%s_sum%s%s%s %.6f\n", m->name, l ? "{" : "", l ? l : "", l ? "}" : "",
            (double)atomic_load(&m->value) / 1e6);
  tb_printf(tb, "%s_count%s%s%s %" PRId64 "\n", m->name, l ? "{" : "", l ? l : "", l ? "}" : "",
            count);
}

char *metrics_render(size_t *len) {
  textbuf tb = {.buf = malloc(4096), .cap = 4096};
  if (tb.buf == NULL) return NULL;
  tb.buf[0] = '\0';
  pthread_mutex_lock(&registry_lock);
  /* Families in first-seen order would need a second list; grouping by name is all the
   * format asks: print each family once, with all its series, at its first occurrence. */
  for (const metric *m = registry; m != NULL; m = m->next) {
    bool seen = false;
    for (const metric *p = registry; p != m; p = p->next) {
      if (strcmp(p->name, m->name) == 0) {
        seen = true;
        break;
      }
    }
    if (seen) continue;
    tb_printf(&tb, "# HELP %s %s\n# TYPE %s %s\n", m->name, m->help, m->name,
              kind_name(m->kind));
    for (const metric *s = m; s != NULL; s = s->next) {
      if (strcmp(s->name, m->name) == 0) render_series(&tb, s);
    }
  }
  pthread_mutex_unlock(&registry_lock);
  if (tb.failed) {
    free(tb.buf);
    return NULL;
  }
  if (len != NULL) *len = tb.len;
  return tb.buf;
}
