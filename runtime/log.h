/* log: one logfmt line per event on stderr: ts=... level=info svc=wallet-core msg="..." */
#ifndef WALLET_LOG_H
#define WALLET_LOG_H

typedef enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* Names the service in every line and sets the threshold from LOG_LEVEL
 * (debug|info|warn|error, default info). Call once in main, before threads start. */
void log_init(const char *service);

/* msg is printf-formatted and quoted; append structured fields yourself as "k=v" pairs
 * through log_kv when they matter to a reader (ids, counts, durations). Thread-safe. */
void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
