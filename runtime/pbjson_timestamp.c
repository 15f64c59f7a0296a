/* pbjson_timestamp: google.protobuf.Timestamp as RFC 3339 text, without libc time zones. */
#include <string.h>

#include "pbjson_internal.h"
#include "timeutil.h"

static int days_in_month(int64_t y, int m) {
  static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : dm[m - 1];
}

/* Reads exactly n digits at *p. */
static int digits(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    char c = (*p)[i];
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  *p += n;
  *out = v;
  return 0;
}

int pbjson_ts_parse(const char *s, int64_t *seconds, int32_t *nanos) {
  const char *p = s;
  int Y, M, D, h, mi, sec, ns = 0;
  if (digits(&p, 4, &Y) || *p++ != '-' || digits(&p, 2, &M) || *p++ != '-' ||
      digits(&p, 2, &D) || *p++ != 'T' || digits(&p, 2, &h) || *p++ != ':' ||
      digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &sec))
    return -1;
  if (Y < 1 || M < 1 || M > 12 || D < 1 || D > days_in_month(Y, M) || h > 23 || mi > 59 ||
      sec > 59)
    return -1;
  if (*p == '.') {
    p++;
    int n = 0;
    while (p[n] >= '0' && p[n] <= '9') n++;
    if (n < 1 || n > 9) return -1;
    for (int i = 0; i < 9; i++) ns = ns * 10 + (i < n ? p[i] - '0' : 0);
    p += n;
  }
  int64_t offset = 0;
  if (*p == 'Z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int sign = *p++ == '-' ? -1 : 1, oh, om;
    if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
      return -1;
    offset = sign * (oh * 3600 + om * 60);
  } else {
    return -1;
  }
  if (*p != '\0') return -1;
  int64_t t = time_days_from_civil(Y, M, D) * 86400 + h * 3600 + mi * 60 + sec - offset;
  if (t < PBJSON_TS_MIN_SECONDS || t > PBJSON_TS_MAX_SECONDS) return -1;
  *seconds = t;
  *nanos = ns;
  return 0;
}

int pbjson_ts_format(int64_t seconds, int32_t nanos, char *out, size_t outlen) {
  if (seconds < PBJSON_TS_MIN_SECONDS || seconds > PBJSON_TS_MAX_SECONDS || nanos < 0 ||
      nanos > 999999999)
    return -1;
  /* protojson prints the shortest of 0, 3, 6 or 9 digits that is exact. */
  int digits = nanos == 0 ? 0 : nanos % 1000000 == 0 ? 3 : nanos % 1000 == 0 ? 6 : 9;
  int64_t frac = digits == 3 ? nanos / 1000000 : digits == 6 ? nanos / 1000 : nanos;
  char buf[40];
  size_t n = time_format_civil(seconds, 'T', frac, digits, buf);
  if (n + 2 > outlen) return -1;
  memcpy(out, buf, n);
  out[n] = 'Z';
  out[n + 1] = '\0';
  return 0;
}
