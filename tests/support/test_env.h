/* test_env: what integration tests need from the real servers tools/test started. */
#ifndef WALLET_TEST_ENV_H
#define WALLET_TEST_ENV_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "db.h"

/* The value of a required variable; fails the test (not skips) when it is missing, so a
 * harness that forgot to start a server cannot pass. */
const char *test_env_require(const char *name);

/* "127.0.0.1:29092" from WALLET_TEST_KAFKA. */
const char *test_kafka_brokers(void);

/* Writes into out (>= 64 bytes) a name unique to this process and call:
 * "<prefix>_<pid>_<counter>_<random>". */
void test_unique_name(const char *prefix, char *out, size_t outlen);

/* Server coordinates from WALLET_TEST_DB_*; database left NULL. */
db_config test_db_server(void);

/* Creates a fresh, empty database named after prefix and fills cfg to use it (strings are
 * static per process for the last 16 calls). Fails the test if the server is unreachable. */
db_config test_db_fresh(const char *prefix);

#endif
