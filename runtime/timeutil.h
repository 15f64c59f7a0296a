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

/* RFC 3339 UTC with milliseconds, "2026-11-29T15:04:05.123Z", into out (>= 25 bytes). */
void time_format_rfc3339_ms(int64_t epoch_ms, char *out, size_t outlen);

/* An absolute deadline ms_from_now milliseconds ahead on `clock` (ms <= 0: now), for
 * pthread_cond_timedwait on a condition variable whose clock is `clock`. */
void time_deadline_ts(clockid_t clock, int64_t ms_from_now, struct timespec *out);

/* Sleeps ms milliseconds (restarts on EINTR). */
void time_sleep_ms(int64_t ms);

#endif
