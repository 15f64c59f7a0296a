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

void time_format_rfc3339_ms(int64_t epoch_ms, char *out, size_t outlen) {
  time_t sec = (time_t)(epoch_ms / 1000);
  int ms = (int)(epoch_ms % 1000);
  if (ms < 0) {
    sec -= 1;
    ms += 1000;
  }
  struct tm tm;
  gmtime_r(&sec, &tm);
  snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

void time_sleep_ms(int64_t ms) {
  struct timespec req = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
  while (nanosleep(&req, &req) != 0 && errno == EINTR) {
  }
}
