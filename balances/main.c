/* balances: the read-model service (GET /balances/{id} on port 3003) and its rebuild tool. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_notify.h"
#include "balance_reader.h"
#include "config.h"
#include "db.h"
#include "balances_handlers.h"
#include "http_server.h"
#include "kafka_admin.h"
#include "log.h"
#include "metrics.h"
#include "parallel_apply.h"
#include "projector.h"
#include "rebuild.h"
#include "service.h"
#include "balances_api.h"
#include "history_handlers.h"
#include "timeutil.h"
#include "view_feed.h"

#define TOPIC_BALANCES "balances"
#define TOPIC_DLQ "balances.dlq"

static const char usage_text[] =
    "usage: balances            run the service (HTTP API + projector)\n"
    "       balances rebuild    rebuild the read model from the balances topic, then exit\n"
    "       balances --help     this text\n"
    "\n"
    "The service consumes topic balances (group KAFKA_GROUP) into table balances and serves\n"
    "  GET /balances/{account_id}[?min_version=N|?as_of=T], GET /balances,\n"
    "  GET /balances/{account_id}/history, /healthz, /readyz, /metrics; with HISTORY=on\n"
    "  it also records every event's entry in table balance_history.\n"
    "\n"
    "rebuild: STOP EVERY balances SERVICE FIRST (it refuses while the group has members).\n"
    "  It moves the group's offsets back to the start, empties both tables, re-applies the\n"
    "  seed migrations, replays the topic from offset 0 up to its end at start, and commits\n"
    "  the group's offsets there, so a restarted service continues from that point.\n"
    "  Invalid records are skipped (the live service dead-lettered them already).\n"
    "\n"
    "Environment (default):\n"
    "  HTTP_ADDR            listen address (127.0.0.1; 0.0.0.0 in containers)\n"
    "  HTTP_PORT            listen port (3003)\n"
    "  HTTP_MAX_CONNECTIONS_PER_IP  open connections per client address (0: no limit)\n"
    "  HTTP_IO_THREADS      HTTP event loops, 1..8 (0: one per core)\n"
    "  DB_HOST              MariaDB host (127.0.0.1)\n"
    "  DB_PORT              MariaDB port (3307)\n"
    "  DB_USER              (balances)\n"
    "  DB_PASSWORD          (balances)\n"
    "  DB_NAME              (balances)\n"
    "  DB_POOL_SIZE         connections at most (32)\n"
    "  KAFKA_BROKERS        bootstrap servers (127.0.0.1:9092)\n"
    "  KAFKA_GROUP          consumer group of the projector (balances)\n"
    "  TOPIC_PARTITIONS     partitions of topics created at start (3)\n"
    "  TOPIC_REPLICATION    replication factor of topics created at start (1)\n"
    "  MIGRATIONS_DIR       SQL migrations applied at start (./migrations/balances)\n"
    "  MIN_VERSION_WAIT_MS  longest wait of a ?min_version read before answering stale (2000)\n"
    "  HISTORY              on|off: write balance_history (on; off: balances only, as_of\n"
    "                       and history answer from what is already there)\n"
    "  PROJECTOR_APPLIERS   database transactions applying one batch at once, on disjoint\n"
    "                       accounts, 1..8 (2)\n"
    "  READ_VIEW            on|off: answer GET /balances/{id} from an in-memory view of\n"
    "                       every account, fed from all partitions (on; off: from the\n"
    "                       table, one grouped SELECT per batch of lookups)\n"
    "  LOG_LEVEL            debug|info|warn|error (info)\n";

typedef struct settings {
  const char *http_addr;
  int64_t http_port, max_conn_per_ip, io_threads;
  db_config db;
  int64_t db_port, pool_size;
  const char *brokers, *group, *migrations_dir;
  int64_t partitions, replication, min_version_wait_ms, appliers;
  bool no_history;
  bool read_view;
} settings;

static int load_settings(settings *s, char *err, size_t errlen) {
  memset(s, 0, sizeof *s);
  s->http_addr = config_str("HTTP_ADDR", "127.0.0.1");
  s->db.host = config_str("DB_HOST", "127.0.0.1");
  s->db.user = config_str("DB_USER", "balances");
  /* An explicitly empty DB_PASSWORD means no password (config_str treats empty as unset). */
  const char *pw = getenv("DB_PASSWORD");
  s->db.password = pw != NULL ? pw : "balances";
  s->db.database = config_str("DB_NAME", "balances");
  s->brokers = config_str("KAFKA_BROKERS", "127.0.0.1:9092");
  s->group = config_str("KAFKA_GROUP", "balances");
  s->migrations_dir = config_str("MIGRATIONS_DIR", "./migrations/balances");
  const char *history = config_str("HISTORY", "on");
  if (strcmp(history, "on") != 0 && strcmp(history, "off") != 0) {
    snprintf(err, errlen, "HISTORY: must be on or off, got \"%.32s\"", history);
    return -1;
  }
  s->no_history = strcmp(history, "off") == 0;
  const char *view = config_str("READ_VIEW", "on");
  if (strcmp(view, "on") != 0 && strcmp(view, "off") != 0) {
    snprintf(err, errlen, "READ_VIEW: must be on or off, got \"%.32s\"", view);
    return -1;
  }
  s->read_view = strcmp(view, "on") == 0;
  if (config_int("HTTP_PORT", 3003, 0, 65535, &s->http_port, err, errlen) != 0 ||
      config_int("HTTP_MAX_CONNECTIONS_PER_IP", 0, 0, 65535, &s->max_conn_per_ip, err,
                 errlen) != 0 ||
      config_int("HTTP_IO_THREADS", 0, 0, SERVICE_IO_THREADS_MAX, &s->io_threads, err,
                 errlen) != 0 ||
      config_int("DB_PORT", 3307, 1, 65535, &s->db_port, err, errlen) != 0 ||
      config_int("DB_POOL_SIZE", 32, 1, 1024, &s->pool_size, err, errlen) != 0 ||
      config_int("TOPIC_PARTITIONS", 3, 1, 1000, &s->partitions, err, errlen) != 0 ||
      config_int("TOPIC_REPLICATION", 1, 1, 32, &s->replication, err, errlen) != 0 ||
      config_int("MIN_VERSION_WAIT_MS", 2000, 1, 60000, &s->min_version_wait_ms, err,
                 errlen) != 0 ||
      config_int("PROJECTOR_APPLIERS", 2, 1, PARALLEL_APPLY_MAX_WAYS, &s->appliers, err,
                 errlen) != 0) {
    return -1;
  }
  s->db.port = (unsigned)s->db_port;
  s->db.pool_size = (unsigned)s->pool_size;
  return 0;
}

static int run_rebuild(const settings *s) {
  char err[512];
  int rc = 1;
  if (service_migrate_with_retry(&s->db, s->migrations_dir) != 0) return 1;
  db_pool *pool = db_pool_new(&s->db, err, sizeof err);
  if (pool == NULL) {
    log_error("database pool: %s", err);
    return 2;
  }
  rebuild_config rc_cfg = {
      .brokers = s->brokers,
      .topic = TOPIC_BALANCES,
      .group = s->group,
      .db = &s->db,
      .migrations_dir = s->migrations_dir,
      .pool = pool,
      .no_history = s->no_history,
  };
  rebuild_stats st;
  if (rebuild_run(&rc_cfg, &st, err, sizeof err) != 0) {
    log_error("%s", err);
  } else {
    printf("rebuilt: partitions=%d records=%" PRIu64 " applied=%" PRIu64 " skipped=%" PRIu64
           " elapsed_ms=%" PRId64 "\n",
           st.partitions, st.records, st.applied, st.skipped, st.elapsed_ms);
    rc = 0;
  }
  db_pool_free(pool);
  return rc;
}

static int run_service(const settings *s) {
  char err[512];
  int rc = 1;
  db_pool *pool = NULL;
  apply_notify *notify = NULL;
  balance_reader *reader = NULL;
  as_of_worker *as_of = NULL;
  http_server *srv = NULL;
  projector *proj = NULL;
  balance_view *view = NULL;
  view_feed *feed = NULL;

  if (service_migrate_with_retry(&s->db, s->migrations_dir) != 0) goto out;
  pool = db_pool_new(&s->db, err, sizeof err);
  notify = apply_notify_new();
  if (s->read_view) view = balance_view_new();
  if (pool == NULL || notify == NULL || (s->read_view && view == NULL)) {
    log_error("startup: %s", pool == NULL ? err : "out of memory");
    goto out;
  }
  balance_reader_config brc = {.pool = pool, .notify = notify};
  reader = balance_reader_start(&brc, err, sizeof err);
  if (reader == NULL) {
    log_error("startup: %s", err);
    goto out;
  }
  as_of = as_of_worker_start(pool, err, sizeof err);
  if (as_of == NULL) {
    log_error("startup: %s", err);
    goto out;
  }
  balances_app app = {
      .pool = pool,
      .reader = reader,
      .view = view,
      .as_of = as_of,
      .projector = NULL, /* set once Kafka has the topics; handlers load it atomically */
      .min_version_wait_ms = s->min_version_wait_ms,
  };
  http_server_config hc = {
      .bind_address = s->http_addr,
      .port = (uint16_t)s->http_port,
      .max_connections_per_ip = (unsigned)s->max_conn_per_ip,
      .app = &app,
      /* An event loop per core (or HTTP_IO_THREADS): handlers do not block (lookups go to
       * the reader). */
      .io_threads = service_io_threads(s->io_threads),
  };
  /* HTTP first: /healthz and /readyz must answer (not ready) while Kafka is still away. */
  srv = http_server_start(&hc, balances_routes, balances_routes_count, err, sizeof err);
  if (srv == NULL) {
    log_error("http: %s", err);
    goto out;
  }
  log_info("listening on %s:%u", s->http_addr, (unsigned)http_server_port(srv));

  kafka_topic_spec topics[] = {
      {TOPIC_BALANCES, (int)s->partitions, (int)s->replication},
      {TOPIC_DLQ, (int)s->partitions, (int)s->replication},
  };
  int backoff = 250;
  int64_t next_try = 0;
  while (!service_should_stop()) {
    if (proj == NULL && time_mono_ms() >= next_try) {
      if (kafka_ensure_topics(s->brokers, topics, 2, 5000, err, sizeof err) != 0) {
        log_warn("kafka topics not ensured yet (%s); retrying in %d ms", err, backoff);
        next_try = time_mono_ms() + backoff;
        backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
      } else {
        projector_config pc = {
            .brokers = s->brokers,
            .topic = TOPIC_BALANCES,
            .dlq_topic = TOPIC_DLQ,
            .group = s->group,
            .pool = pool,
            .notify = notify,
            .no_history = s->no_history,
            .appliers = (int)s->appliers,
        };
        proj = projector_start(&pc, err, sizeof err);
        if (proj == NULL) {
          log_error("projector: %s", err);
          goto out;
        }
        __atomic_store_n(&app.projector, proj, __ATOMIC_RELEASE);
        log_info("projector started: topic %s, group %s", TOPIC_BALANCES, s->group);
        if (view != NULL) {
          view_feed_config vc = {
              .brokers = s->brokers,
              .topic = TOPIC_BALANCES,
              .group = s->group,
              .pool = pool,
              .view = view,
          };
          feed = view_feed_start(&vc, err, sizeof err);
          if (feed == NULL) {
            log_error("view: %s", err);
            goto out;
          }
        }
      }
    }
    time_sleep_ms(100);
  }
  log_info("shutting down");
  rc = 0;
out:
  http_server_stop(srv); /* no handler touches the projector after this */
  balance_reader_stop(reader); /* after the server: it answers what the server waits for */
  as_of_worker_stop(as_of);    /* the same */
  view_feed_stop(feed);
  projector_stop(proj);
  db_pool_free(pool);
  apply_notify_free(notify);
  balance_view_free(view);
  return rc;
}

int main(int argc, char **argv) {
  if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    fputs(usage_text, stdout);
    return 0;
  }
  bool rebuild = argc == 2 && strcmp(argv[1], "rebuild") == 0;
  if (argc > 1 && !rebuild) {
    fputs(usage_text, stderr);
    return 2;
  }
  log_init("balances");
  settings s;
  char err[256];
  if (load_settings(&s, err, sizeof err) != 0) {
    fprintf(stderr, "balances: %s\n", err);
    return 2;
  }
  service_install_signals();
  return rebuild ? run_rebuild(&s) : run_service(&s);
}
