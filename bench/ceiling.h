/* ceiling: what transfer-ceiling and apply-ceiling share: the database of their first four
 * arguments, a clock, and running one worker per thread until all are done. */
#ifndef BENCH_CEILING_H
#define BENCH_CEILING_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "db.h"

/* DBPORT DB USER PASS from argv[1..4], on 127.0.0.1, a pool of one connection. */
db_config ceiling_db(char **argv);

/* Microseconds of clock id (CLOCK_MONOTONIC for deadlines, CLOCK_REALTIME for versions). */
int64_t ceiling_clock_us(clockid_t id);

/* Runs fn on each of the n workers (size bytes apart from workers) in its own thread and
 * waits for all. 0, or -1 when a thread could not be started (none is left running). */
int ceiling_run(void *workers, size_t size, int n, void *(*fn)(void *));

#endif
