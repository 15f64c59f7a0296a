/* service: process plumbing shared by the service mains (stop signals, startup migrations).
 * Owned by runtime; wallet-core/main.c and balances/main.c use it. */
#ifndef WALLET_SERVICE_H
#define WALLET_SERVICE_H

#include <stdint.h>
#include <stdbool.h>

#include "db.h"

/* SIGTERM and SIGINT request a stop (see service_should_stop); SIGPIPE is ignored so a
 * peer closing a socket is an error value, not a dead process. Call once, from main. */
void service_install_signals(void);

/* True once a stop signal arrived or service_request_stop was called. Async-signal-safe
 * flag: poll it (the mains' wait loops, background retry loops). */
bool service_should_stop(void);

/* Asks every loop polling service_should_stop to finish (e.g. startup failed). */
void service_request_stop(void);

/* Applies migrations_dir to db, retrying with backoff for about a minute while the
 * database does not answer (compose may start the service first); gives up early once a
 * stop is requested. 0, or -1 (logged). */
int service_migrate_with_retry(const db_config *db, const char *migrations_dir);

/* HTTP_IO_THREADS's upper bound, and that of one loop per core. */
#define SERVICE_IO_THREADS_MAX 8

/* How many HTTP event-loop threads to run: `configured` (HTTP_IO_THREADS, already within
 * 0..SERVICE_IO_THREADS_MAX) when > 0, else one per online core, at most the maximum. */
unsigned service_io_threads(int64_t configured);

#endif
