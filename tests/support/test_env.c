/* test_env: helpers shared by integration tests (real MariaDB, real Kafka). */
#include "test_env.h"

#include <mysql.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

const char *test_env_require(const char *name) {
  const char *v = getenv(name);
  if (v == NULL || *v == '\0') {
    fail_msg("environment variable %s is not set: run the tests through tools/test", name);
  }
  return v;
}

const char *test_kafka_brokers(void) { return test_env_require("WALLET_TEST_KAFKA"); }

void test_unique_name(const char *prefix, char *out, size_t outlen) {
  static unsigned counter;
  unsigned r = 0;
  if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) r = (unsigned)rand();
  snprintf(out, outlen, "%s_%d_%u_%04x", prefix, (int)getpid(), ++counter, r & 0xffff);
}

db_config test_db_server(void) {
  db_config cfg = {0};
  cfg.host = test_env_require("WALLET_TEST_DB_HOST");
  cfg.port = (unsigned)atoi(test_env_require("WALLET_TEST_DB_PORT"));
  cfg.user = test_env_require("WALLET_TEST_DB_USER");
  const char *pw = getenv("WALLET_TEST_DB_PASSWORD");
  cfg.password = pw ? pw : "";
  return cfg;
}

db_config test_db_fresh(const char *prefix) {
  static char names[16][64];
  static unsigned next;
  char *name = names[next++ % 16];
  test_unique_name(prefix, name, sizeof names[0]);

  db_config cfg = test_db_server();
  MYSQL *m = mysql_init(NULL);
  assert_non_null(m);
  if (mysql_real_connect(m, cfg.host, cfg.user, cfg.password, NULL, cfg.port, NULL, 0) ==
      NULL) {
    fail_msg("cannot reach MariaDB at %s:%u: %s", cfg.host, cfg.port, mysql_error(m));
  }
  char sql[160];
  /* The name is ours (prefix + digits), never input: safe to format into DDL. */
  snprintf(sql, sizeof sql, "CREATE DATABASE `%s`", name);
  if (mysql_query(m, sql) != 0) fail_msg("%s: %s", sql, mysql_error(m));
  mysql_close(m);
  cfg.database = name;
  return cfg;
}
