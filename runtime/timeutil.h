/* timeutil: wall and monotonic clocks, and protobuf Timestamps. */
#ifndef WALLET_TIMEUTIL_H
#define WALLET_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "google/protobuf/timestamp.pb-c.h"

/* Unix epoch milliseconds and microseconds (wall clock: for event times). */
int64_t time_now_ms(void);
int64_t time_now_us(void);
/* Monotonic milliseconds (for timeouts and durations: never jumps). */
int64_t time_mono_ms(void);

/* Fills ts (already initialised) from epoch microseconds. */
void time_to_timestamp(int64_t epoch_us, Google__Protobuf__Timestamp *ts);
int64_t time_from_timestamp_us(const Google__Protobuf__Timestamp *ts);

/* The proleptic Gregorian date of a count of days since 1970-01-01 (Howard Hinnant's
 * algorithm), and back. */
void time_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
int64_t time_days_from_civil(int64_t y, int m, int d);

/* "YYYY-MM-DD?hh:mm:ss" UTC of epoch seconds, sep in place of '?', then frac_digits
 * digits of frac after a '.' (0: none), NUL-terminated; returns the length. Years
 * outside 0000-9999 are written with their own width. Plain arithmetic: gmtime_r takes
 * glibc's time-zone lock, and this runs several times per transfer. */
size_t time_format_civil(int64_t epoch_s, char sep, int64_t frac, int frac_digits,
                         char out[40]);

/* RFC 3339 UTC with milliseconds, "2026-11-29T15:04:05.123Z", into out (>= 25 bytes). */
void time_format_rfc3339_ms(int64_t epoch_ms, char *out, size_t outlen);

/* An absolute deadline ms_from_now milliseconds ahead on `clock` (ms <= 0: now), for
 * pthread_cond_timedwait on a condition variable whose clock is `clock`. */
void time_deadline_ts(clockid_t clock, int64_t ms_from_now, struct timespec *out);

/* Sleeps ms milliseconds (restarts on EINTR). */
void time_sleep_ms(int64_t ms);

#endif
