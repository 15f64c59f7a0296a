/* wallet-core: the process (settings, migrations, pool, topics, outbox relay, HTTP, signals). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "config.h"
#include "db.h"
#include "handlers.h"
#include "kafka_admin.h"
#include "log.h"
#include "outbox_relay.h"
#include "wallet_api.h"
#include "service.h"
#include "timeutil.h"

static const char usage[] =
    "usage: wallet-core [--help]\n"
    "\n"
    "Owns clients, accounts and money transfers; publishes events to Kafka through a\n"
    "transactional outbox. Settings come from the environment:\n"
    "  HTTP_ADDR          listen address              (127.0.0.1; 0.0.0.0 in containers)\n"
    "  HTTP_PORT          listen port                 (8080)\n"
    "  HTTP_MAX_CONNECTIONS_PER_IP  open connections per client address (0: no limit)\n"
    "  HTTP_IO_THREADS    HTTP event loops, 1..8      (0: one per core)\n"
    "  DB_HOST            MariaDB host                (127.0.0.1)\n"
    "  DB_PORT            MariaDB port                (3306)\n"
    "  DB_USER            MariaDB user                (wallet)\n"
    "  DB_PASSWORD        MariaDB password            (wallet)\n"
    "  DB_NAME            database                    (wallet)\n"
    "  DB_POOL_SIZE       request connections         (32)\n"
    "  KAFKA_BROKERS      bootstrap servers           (127.0.0.1:9092)\n"
    "  TOPIC_PARTITIONS   partitions of new topics    (3)\n"
    "  TOPIC_REPLICATION  replication of new topics   (1)\n"
    "  TOPIC_TRANSACTIONS topic of TransactionCreated (transactions)\n"
    "  TOPIC_BALANCES     topic of BalanceUpdated and AccountCreated (balances)\n"
    "  MIGRATIONS_DIR     SQL migrations              (./migrations/wallet-core)\n"
    "  LOG_LEVEL          debug|info|warn|error       (info)\n"
    "  TRANSFER_BATCH_THREADS  threads committing transfers in groups (2)\n"
    "  TRANSFER_BATCH_MAX      transfers per DB transaction at most   (256)\n"
    "  TRANSFER_QUEUE_MAX      queued transfers before 503            (8192)\n"
    "  TRANSFER_WAIT_MS        a request's wait for its group, then 503 (10000)\n";

typedef struct settings {
  const char *http_addr;
  int64_t http_port, max_conn_per_ip, io_threads;
  db_config db;
  int64_t db_port, pool_size;
  const char *brokers;
  int64_t partitions, replication;
  const char *topic_transactions, *topic_balances;
  const char *migrations_dir;
  int64_t batch_threads, batch_max, queue_max, wait_ms;
} settings;

static int settings_load(settings *s, char *err, size_t errlen) {
  memset(s, 0, sizeof *s);
  s->http_addr = config_str("HTTP_ADDR", "127.0.0.1");
  if (config_int("HTTP_PORT", 8080, 0, 65535, &s->http_port, err, errlen) != 0) return -1;
  if (config_int("HTTP_MAX_CONNECTIONS_PER_IP", 0, 0, 65535, &s->max_conn_per_ip, err,
                 errlen) != 0 ||
      config_int("HTTP_IO_THREADS", 0, 0, SERVICE_IO_THREADS_MAX, &s->io_threads, err,
                 errlen) != 0)
    return -1;
  s->db.host = config_str("DB_HOST", "127.0.0.1");
  if (config_int("DB_PORT", 3306, 1, 65535, &s->db_port, err, errlen) != 0) return -1;
  s->db.user = config_str("DB_USER", "wallet");
  /* An empty password is legitimate (a dev root): only an unset variable means default. */
  const char *pw = getenv("DB_PASSWORD");
  s->db.password = pw != NULL ? pw : "wallet";
  s->db.database = config_str("DB_NAME", "wallet");
  if (config_int("DB_POOL_SIZE", 32, 1, 1024, &s->pool_size, err, errlen) != 0) return -1;
  s->db.port = (unsigned)s->db_port;
  s->db.pool_size = (unsigned)s->pool_size;
  s->brokers = config_str("KAFKA_BROKERS", "127.0.0.1:9092");
  if (config_int("TOPIC_PARTITIONS", 3, 1, 1000, &s->partitions, err, errlen) != 0) return -1;
  if (config_int("TOPIC_REPLICATION", 1, 1, 32, &s->replication, err, errlen) != 0) return -1;
  s->topic_transactions = config_str("TOPIC_TRANSACTIONS", "transactions");
  s->topic_balances = config_str("TOPIC_BALANCES", "balances");
  s->migrations_dir = config_str("MIGRATIONS_DIR", "./migrations/wallet-core");
  if (config_int("TRANSFER_BATCH_THREADS", 2, 1, 64, &s->batch_threads, err, errlen) != 0) {
    return -1;
  }
  if (config_int("TRANSFER_BATCH_MAX", 256, 1, 256, &s->batch_max, err, errlen) != 0) return -1;
  if (config_int("TRANSFER_QUEUE_MAX", 8192, 1, 1000000, &s->queue_max, err, errlen) != 0) {
    return -1;
  }
  if (config_int("TRANSFER_WAIT_MS", 10000, 1, 600000, &s->wait_ms, err, errlen) != 0) return -1;
  if (s->batch_threads >= s->pool_size) {
    snprintf(err, errlen, "TRANSFER_BATCH_THREADS (%lld) must be below DB_POOL_SIZE (%lld)",
             (long long)s->batch_threads, (long long)s->pool_size);
    return -1;
  }
  return 0;
}

/* Topics are created in the background: the HTTP server must come up even while Kafka is
 * down (readiness says so), and the relay simply retries until the topics exist. */
typedef struct topics_job {
  const settings *s;
  atomic_bool done;
} topics_job;

static void *ensure_topics_main(void *arg) {
  topics_job *job = arg;
  const settings *s = job->s;
  const kafka_topic_spec specs[] = {
      {s->topic_transactions, (int)s->partitions, (int)s->replication},
      {s->topic_balances, (int)s->partitions, (int)s->replication},
  };
  int64_t backoff = 500;
  while (!service_should_stop()) {
    char err[512];
    if (kafka_ensure_topics(s->brokers, specs, 2, 5000, err, sizeof err) == 0) {
      log_info("kafka: topics %s and %s ready", s->topic_transactions, s->topic_balances);
      break;
    }
    log_warn("kafka: ensuring topics failed: %s; retrying in %lld ms", err, (long long)backoff);
    for (int64_t t = 0; t < backoff && !service_should_stop(); t += 100) time_sleep_ms(100);
    if (backoff < 8000) backoff *= 2;
  }
  atomic_store(&job->done, true);
  return NULL;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      fputs(usage, stdout);
      return 0;
    }
    fprintf(stderr, "wallet-core: unknown argument %s\n%s", argv[i], usage);
    return 2;
  }
  log_init("wallet-core");
  settings s;
  char err[512];
  if (settings_load(&s, err, sizeof err) != 0) {
    fprintf(stderr, "wallet-core: %s\n", err);
    return 2;
  }

  service_install_signals();

  int exit_code = 1;
  db_pool *pool = NULL;
  outbox_relay *relay = NULL;
  http_server *srv = NULL;
  transfer_batcher *batcher = NULL;
  pthread_t topics_thread;
  int topics_started = 0;
  topics_job job = {.s = &s};
  atomic_init(&job.done, false);

  if (service_migrate_with_retry(&s.db, s.migrations_dir) != 0) goto out;
  pool = db_pool_new(&s.db, err, sizeof err);
  if (pool == NULL) {
    log_error("database pool: %s", err);
    goto out;
  }
  if (pthread_create(&topics_thread, NULL, ensure_topics_main, &job) == 0) topics_started = 1;

  outbox_relay_config rc = {.db = s.db, .brokers = s.brokers};
  relay = outbox_relay_start(&rc, err, sizeof err);
  if (relay == NULL) {
    log_error("outbox relay: %s", err);
    goto out;
  }

  transfer_batcher_config bc = {
      .pool = pool,
      .topics = {s.topic_transactions, s.topic_balances},
      .relay = relay,
      .threads = (int)s.batch_threads,
      .max_batch = (int)s.batch_max,
      .queue_max = (int)s.queue_max,
      .wait_ms = (int)s.wait_ms,
  };
  batcher = transfer_batcher_start(&bc, err, sizeof err);
  if (batcher == NULL) {
    log_error("transfer batcher: %s", err);
    goto out;
  }

  wallet_app app = {
      .pool = pool,
      .relay = relay,
      .topics = {s.topic_transactions, s.topic_balances},
      .batcher = batcher,
  };
  http_server_config hc = {
      .bind_address = s.http_addr,
      .port = (uint16_t)s.http_port,
      .max_connections_per_ip = (unsigned)s.max_conn_per_ip,
      .app = &app,
      /* An event loop per core (or HTTP_IO_THREADS); the database handlers run on
       * workers, one per pooled connection the batcher does not use. */
      .io_threads = service_io_threads(s.io_threads),
      .workers = (unsigned)(s.pool_size - s.batch_threads),
      .on_rejected = handlers_on_rejected,
  };
  srv = http_server_start(&hc, wallet_routes, wallet_routes_count, err, sizeof err);
  if (srv == NULL) {
    log_error("http: %s", err);
    goto out;
  }
  log_info("wallet-core listening on %s:%u", s.http_addr, (unsigned)http_server_port(srv));

  while (!service_should_stop()) time_sleep_ms(100);
  log_info("shutting down");
  exit_code = 0;

out:
  /* Order: no new requests, then answer every queued transfer, then drain the relay (and
   * its producer), then the pool. */
  http_server_stop(srv);
  service_request_stop();
  transfer_batcher_stop(batcher);
  outbox_relay_stop(relay);
  if (topics_started) pthread_join(topics_thread, NULL);
  db_pool_free(pool);
  return exit_code;
}
