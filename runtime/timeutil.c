/* timeutil: wall and monotonic clocks, and protobuf Timestamps. */
#include "timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

int64_t time_now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t time_now_ms(void) { return time_now_us() / 1000; }

int64_t time_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void time_deadline_ts(clockid_t clock, int64_t ms_from_now, struct timespec *out) {
  clock_gettime(clock, out);
  if (ms_from_now <= 0) return;
  out->tv_sec += (time_t)(ms_from_now / 1000);
  out->tv_nsec += (long)(ms_from_now % 1000) * 1000000L;
  if (out->tv_nsec >= 1000000000L) {
    out->tv_sec++;
    out->tv_nsec -= 1000000000L;
  }
}

void time_to_timestamp(int64_t epoch_us, Google__Protobuf__Timestamp *ts) {
  /* Floor division so times before 1970 keep nanos in [0, 1e9), as the spec requires. */
  int64_t sec = epoch_us / 1000000, rem = epoch_us % 1000000;
  if (rem < 0) {
    sec -= 1;
    rem += 1000000;
  }
  ts->seconds = sec;
  ts->nanos = (int32_t)(rem * 1000);
}

int64_t time_from_timestamp_us(const Google__Protobuf__Timestamp *ts) {
  return ts->seconds * 1000000 + ts->nanos / 1000;
}

void time_civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

int64_t time_days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/* width decimal digits of v (0 <= v < 10^width), most significant first */
static char *put_digits(char *o, int64_t v, int width) {
  for (int i = width - 1; i >= 0; i--) {
    o[i] = (char)('0' + v % 10);
    v /= 10;
  }
  return o + width;
}

size_t time_format_civil(int64_t epoch_s, char sep, int64_t frac, int frac_digits,
                         char out[40]) {
  int64_t days = epoch_s / 86400, rem = epoch_s % 86400;
  if (rem < 0) {
    rem += 86400;
    days--;
  }
  int64_t y;
  int m, d;
  time_civil_from_days(days, &y, &m, &d);
  char *o = out;
  if (y >= 0 && y <= 9999) {
    o = put_digits(o, y, 4);
  } else {
    o += snprintf(o, 22, "%lld", (long long)y); /* never in practice: kept exact anyway */
  }
  *o++ = '-';
  o = put_digits(o, m, 2);
  *o++ = '-';
  o = put_digits(o, d, 2);
  *o++ = sep;
  o = put_digits(o, rem / 3600, 2);
  *o++ = ':';
  o = put_digits(o, rem / 60 % 60, 2);
  *o++ = ':';
  o = put_digits(o, rem % 60, 2);
  if (frac_digits > 0) {
    *o++ = '.';
    o = put_digits(o, frac, frac_digits);
  }
  *o = '\0';
  return (size_t)(o - out);
}

void time_format_rfc3339_ms(int64_t epoch_ms, char *out, size_t outlen) {
  int64_t sec = epoch_ms / 1000;
  int64_t ms = epoch_ms % 1000;
  if (ms < 0) {
    sec -= 1;
    ms += 1000;
  }
  char buf[40];
  size_t n = time_format_civil(sec, 'T', ms, 3, buf);
  buf[n++] = 'Z';
  buf[n] = '\0';
  snprintf(out, outlen, "%s", buf);
}

void time_sleep_ms(int64_t ms) {
  struct timespec req = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
  while (nanosleep(&req, &req) != 0 && errno == EINTR) {
  }
}
