/* log: one logfmt line per event on stderr, so both people and log shippers can read it. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "timeutil.h"

static const char *log_service = "-";
static log_level log_threshold = LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *service) {
  log_service = service;
  const char *lvl = config_str("LOG_LEVEL", "info");
  for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
    if (strcasecmp(lvl, level_names[i]) == 0) log_threshold = (log_level)i;
  }
}

void log_msg(log_level level, const char *fmt, ...) {
  if (level < log_threshold) return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);

  /* Quote the message logfmt-style: escape backslash, quote and newlines so one event
   * stays one line whatever it carries. */
  char quoted[2 * sizeof msg + 1];
  size_t o = 0;
  for (const char *p = msg; *p != '\0' && o + 2 < sizeof quoted; p++) {
    if (*p == '"' || *p == '\\') {
      quoted[o++] = '\\';
      quoted[o++] = *p;
    } else if (*p == '\n') {
      quoted[o++] = '\\';
      quoted[o++] = 'n';
    } else {
      quoted[o++] = *p;
    }
  }
  quoted[o] = '\0';

  char ts[32];
  time_format_rfc3339_ms(time_now_ms(), ts, sizeof ts);
  /* One fprintf per line: stdio locks the stream, so threads do not interleave. */
  fprintf(stderr, "ts=%s level=%s svc=%s msg=\"%s\"\n", ts, level_names[level], log_service,
          quoted);
}
