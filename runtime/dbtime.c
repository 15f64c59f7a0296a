/* dbtime: UTC DATETIME(6) text conversions. */
#include "dbtime.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "timeutil.h"

void dbtime_format(int64_t epoch_us, char out[DBTIME_LEN]) {
  int64_t secs = epoch_us / 1000000;
  int64_t frac = epoch_us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    secs -= 1;
  }
  char buf[40];
  time_format_civil(secs, ' ', frac, 6, buf);
  memcpy(out, buf, DBTIME_LEN - 1);
  out[DBTIME_LEN - 1] = '\0';
}

int dbtime_parse(const char *s, int64_t *epoch_us) {
  if (s == NULL) return -1;
  struct tm tm = {0};
  int n = 0;
  if (sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
             &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19) {
    return -1;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  int64_t frac = 0;
  const char *p = s + n;
  if (*p == '.') {
    int digits = 0;
    for (p++; *p >= '0' && *p <= '9' && digits < 6; p++, digits++) frac = frac * 10 + (*p - '0');
    for (; digits < 6; digits++) frac *= 10;
  }
  if (*p != '\0') return -1;
  *epoch_us = (int64_t)timegm(&tm) * 1000000 + frac;
  return 0;
}
