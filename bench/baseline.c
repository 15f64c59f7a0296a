/* bench-baseline: the baselines and load tools of tools/bench, without HTTP or JSON.
 *
 *   select   DBPORT DB USER PASS ID SECONDS THREADS
 *            the primary-key SELECT of GET /balances/{id} in a tight loop per thread
 *   transfer DBPORT DB USER PASS NACCOUNTS HOTPCT SECONDS THREADS
 *            one transfer per DB transaction, the SQL wallet-core used before batching:
 *            BEGIN, lock two rows, two UPDATEs, a transaction row, two outbox rows, COMMIT
 *   apply1   DBPORT DB USER PASS NACCOUNTS SECONDS
 *            the read model's versioned upsert, one row per commit (projector baseline)
 *   paced    HTTPPORT RATE SECONDS CONNS NACCOUNTS [HOTPCT]
 *            open-loop POST /transactions at RATE/s over CONNS keep-alive connections;
 *            latency counted from each request's scheduled time. RATE 0: closed loop
 *            (each connection sends again when answered), the cheap generator of
 *            scenario 2 (a thread per connection, no Lua); HOTPCT as for transfer
 *   produce  BROKERS TOPIC N NACCOUNTS
 *            N BalanceUpdated records (with ce_* headers), versions above any earlier run
 *
 * Prints one line "key=value ..." on stdout. Loopback only (127.0.0.1). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <mysql.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "wallet/v1/events.pb-c.h"

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t wall_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void account_id(char out[37], long i) {
  snprintf(out, 37, "b0000000-0000-4000-8000-%012ld", i % 1000000000000L);
}

typedef struct dbargs {
  unsigned port;
  const char *db, *user, *pass;
} dbargs;

static MYSQL *connect_db(const dbargs *a) {
  MYSQL *m = mysql_init(NULL);
  if (m == NULL || mysql_real_connect(m, "127.0.0.1", a->user, a->pass, a->db, a->port, NULL, 0) == NULL) {
    fprintf(stderr, "connect: %s\n", m ? mysql_error(m) : "oom");
    exit(1);
  }
  return m;
}

static MYSQL_STMT *prep(MYSQL *m, const char *sql) {
  MYSQL_STMT *st = mysql_stmt_init(m);
  if (mysql_stmt_prepare(st, sql, strlen(sql)) != 0) {
    fprintf(stderr, "prepare %s: %s\n", sql, mysql_stmt_error(st));
    exit(1);
  }
  return st;
}

static void bind_str(MYSQL_BIND *b, char *s, unsigned long *len) {
  memset(b, 0, sizeof *b);
  *len = strlen(s);
  b->buffer_type = MYSQL_TYPE_STRING;
  b->buffer = s;
  b->buffer_length = *len;
  b->length = len;
}

static void bind_i64(MYSQL_BIND *b, long long *v) {
  memset(b, 0, sizeof *b);
  b->buffer_type = MYSQL_TYPE_LONGLONG;
  b->buffer = v;
}

static void bind_blob(MYSQL_BIND *b, void *p, unsigned long *len) {
  memset(b, 0, sizeof *b);
  b->buffer_type = MYSQL_TYPE_BLOB;
  b->buffer = p;
  b->buffer_length = *len;
  b->length = len;
}

static int exec(MYSQL_STMT *st, MYSQL_BIND *b) {
  if (b != NULL && mysql_stmt_bind_param(st, b) != 0) return -1;
  if (mysql_stmt_execute(st) != 0) return -1;
  if (mysql_stmt_field_count(st) > 0) {
    mysql_stmt_store_result(st);
    mysql_stmt_free_result(st);
  }
  return 0;
}

/* ---- select ---- */

typedef struct worker {
  dbargs db;
  const char *id;
  long naccounts;
  int hotpct;
  int64_t until;
  long ops, errors;
  unsigned seed;
} worker;

static void *select_main(void *arg) {
  worker *w = arg;
  MYSQL *m = connect_db(&w->db);
  MYSQL_STMT *st = prep(m, "SELECT account_id, balance, version, updated_at FROM balances "
                           "WHERE account_id = ?");
  char id[64];
  snprintf(id, sizeof id, "%s", w->id);
  unsigned long len;
  MYSQL_BIND b[1];
  bind_str(&b[0], id, &len);
  while (now_us() < w->until) {
    for (int i = 0; i < 64; i++) {
      if (exec(st, b) != 0) w->errors++;
      else w->ops++;
    }
  }
  mysql_stmt_close(st);
  mysql_close(m);
  return NULL;
}

/* ---- transfer ---- */

static long pick(worker *w) {
  long hot = w->naccounts / 5;
  if (hot < 2) hot = 2;
  if ((int)(rand_r(&w->seed) % 100) < w->hotpct) return rand_r(&w->seed) % hot;
  return rand_r(&w->seed) % w->naccounts;
}

static void *transfer_main(void *arg) {
  worker *w = arg;
  MYSQL *m = connect_db(&w->db);
  MYSQL_STMT *lock = prep(m, "SELECT id, balance, version FROM accounts WHERE id IN (?,?) "
                             "ORDER BY id FOR UPDATE");
  MYSQL_STMT *upd = prep(m, "UPDATE accounts SET balance = balance + ?, version = version + 1, "
                            "updated_at = UTC_TIMESTAMP(6) WHERE id = ?");
  MYSQL_STMT *tx = prep(m, "INSERT INTO transactions (id, account_id_from, account_id_to, amount, "
                           "balance_account_id_from, balance_account_id_to, "
                           "version_account_id_from, version_account_id_to, created_at) "
                           "VALUES (?,?,?,1,0,0,0,0,UTC_TIMESTAMP(6))");
  MYSQL_STMT *ob = prep(m, "INSERT INTO outbox (event_id, topic, msg_key, event_type, payload, "
                           "occurred_at, published_at) VALUES (?, 'bench', ?, 'bench', ?, "
                           "UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))");
  char from[37], to[37], txid[37], evid[37];
  char payload[150];
  memset(payload, 'x', sizeof payload);
  unsigned long lf, lt, lx, le, lp = sizeof payload;
  long long plus = 1, minus = -1;
  long seq = 0;
  unsigned tag = (unsigned)rand_r(&w->seed); /* per thread and run: transaction ids differ */
  while (now_us() < w->until) {
    long a = pick(w), b2 = pick(w);
    if (a == b2) continue;
    account_id(from, a);
    account_id(to, b2);
    snprintf(txid, sizeof txid, "%08x-0000-4000-8000-%012lx", tag, (seq++) % 1000000000000L);
    const char *lo = strcmp(from, to) < 0 ? from : to, *hi = lo == from ? to : from;
    char l1[37], l2[37];
    snprintf(l1, sizeof l1, "%s", lo);
    snprintf(l2, sizeof l2, "%s", hi);
    MYSQL_BIND lb[2], ub[2], tb[3], obb[3];
    unsigned long ll1, ll2;
    bind_str(&lb[0], l1, &ll1);
    bind_str(&lb[1], l2, &ll2);
    int ok = mysql_query(m, "BEGIN") == 0 && exec(lock, lb) == 0;
    bind_i64(&ub[0], &minus);
    bind_str(&ub[1], from, &lf);
    ok = ok && exec(upd, ub) == 0;
    bind_i64(&ub[0], &plus);
    bind_str(&ub[1], to, &lt);
    ok = ok && exec(upd, ub) == 0;
    bind_str(&tb[0], txid, &lx);
    bind_str(&tb[1], from, &lf);
    bind_str(&tb[2], to, &lt);
    ok = ok && exec(tx, tb) == 0;
    for (int k = 0; k < 2 && ok; k++) {
      snprintf(evid, sizeof evid, "%s", txid);
      evid[0] = k ? 'e' : 'f';
      bind_str(&obb[0], evid, &le);
      bind_str(&obb[1], from, &lf);
      bind_blob(&obb[2], payload, &lp);
      ok = exec(ob, obb) == 0;
    }
    ok = ok && mysql_query(m, "COMMIT") == 0;
    if (ok) {
      w->ops++;
    } else {
      w->errors++;
      mysql_query(m, "ROLLBACK");
    }
  }
  mysql_close(m);
  return NULL;
}

/* ---- apply1 ---- */

static void *apply1_main(void *arg) {
  worker *w = arg;
  MYSQL *m = connect_db(&w->db);
  MYSQL_STMT *st = prep(m, "INSERT INTO balances (account_id, balance, version, updated_at) "
                           "VALUES (?,?,?,UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE "
                           "balance = IF(VALUES(version) > version, VALUES(balance), balance), "
                           "updated_at = IF(VALUES(version) > version, VALUES(updated_at), "
                           "updated_at), version = GREATEST(version, VALUES(version))");
  long long version = wall_us(), bal = 5;
  char id[37];
  unsigned long li;
  while (now_us() < w->until) {
    account_id(id, rand_r(&w->seed) % w->naccounts);
    MYSQL_BIND b[3];
    bind_str(&b[0], id, &li);
    bind_i64(&b[1], &bal);
    version++;
    bind_i64(&b[2], &version);
    if (exec(st, b) != 0) w->errors++; /* autocommit: one row per commit */
    else w->ops++;
  }
  mysql_close(m);
  return NULL;
}

static int run_db_workers(void *(*fn)(void *), worker *proto, int threads, double seconds) {
  worker *w = calloc((size_t)threads, sizeof *w);
  pthread_t *th = calloc((size_t)threads, sizeof *th);
  int64_t t0 = now_us();
  for (int i = 0; i < threads; i++) {
    w[i] = *proto;
    w[i].seed = 12345u + 7919u * (unsigned)i + (unsigned)t0;
    w[i].until = t0 + (int64_t)(seconds * 1e6);
    pthread_create(&th[i], NULL, fn, &w[i]);
  }
  long ops = 0, errors = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(th[i], NULL);
    ops += w[i].ops;
    errors += w[i].errors;
  }
  double el = (double)(now_us() - t0) / 1e6;
  printf("ops=%ld errors=%ld seconds=%.3f per_second=%.1f\n", ops, errors, el, ops / el);
  free(w);
  free(th);
  return 0;
}

/* ---- paced ---- */

typedef struct pacer {
  int port;
  double interval_us;
  int64_t start, until;
  long naccounts;
  int hotpct;
  unsigned seed;
  int64_t *lat;
  long nlat, cap;
  long non2xx, errors;
} pacer;

static int open_conn(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

/* Reads one response (Content-Length framed). Returns status or -1. */
static int read_resp(int fd, char *buf, size_t cap) {
  size_t have = 0;
  for (;;) {
    ssize_t r = read(fd, buf + have, cap - 1 - have);
    if (r <= 0) return -1;
    have += (size_t)r;
    buf[have] = '\0';
    char *eoh = strstr(buf, "\r\n\r\n");
    if (eoh == NULL) continue;
    char *cl = strcasestr(buf, "content-length:");
    size_t body = cl ? strtoul(cl + 15, NULL, 10) : 0;
    if (have >= (size_t)(eoh + 4 - buf) + body) return atoi(buf + 9);
  }
}

/* One POST /transactions between two random accounts (hotpct% of picks among the first
 * fifth, like the wrk script). Returns the request's length. */
static int transfer_request(pacer *p, char *req, size_t cap) {
  char a[37], b[37], body[200];
  long hot = p->naccounts / 5 > 0 ? p->naccounts / 5 : 1;
  long x, y;
  do {
    x = rand_r(&p->seed) % 100 < p->hotpct ? rand_r(&p->seed) % hot : rand_r(&p->seed) % p->naccounts;
    y = rand_r(&p->seed) % 100 < p->hotpct ? rand_r(&p->seed) % hot : rand_r(&p->seed) % p->naccounts;
  } while (x == y);
  account_id(a, x);
  account_id(b, y);
  int bl = snprintf(body, sizeof body,
                    "{\"account_id_from\":\"%s\",\"account_id_to\":\"%s\",\"amount\":1}", a, b);
  return snprintf(req, cap,
                  "POST /transactions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                  "application/json\r\nContent-Length: %d\r\n\r\n%s",
                  bl, body);
}

/* Sends req on *fd (reconnecting once) and reads the answer: its status, or -1. */
static int round_trip(pacer *p, int *fd, const char *req, int rl, char *buf, size_t cap) {
  int status = -1;
  for (int attempt = 0; attempt < 2 && status < 0; attempt++) {
    if (*fd < 0) *fd = open_conn(p->port);
    if (*fd >= 0 && write(*fd, req, (size_t)rl) == rl) status = read_resp(*fd, buf, cap);
    if (status < 0 && *fd >= 0) {
      close(*fd);
      *fd = -1;
    }
  }
  return status;
}

static void tally(pacer *p, int status, int64_t latency_us) {
  if (status < 0) p->errors++;
  else if (status < 200 || status > 299) p->non2xx++;
  if (p->nlat < p->cap) p->lat[p->nlat++] = latency_us;
}

/* Open loop: request k is due at start + k * interval, whether or not the last one came
 * back (latency counts from when it was due). interval 0: closed loop, next on answer. */
static void *paced_main(void *arg) {
  pacer *p = arg;
  int fd = open_conn(p->port);
  char req[512], buf[8192];
  for (long k = 0;; k++) {
    int64_t sched = p->start + (int64_t)(k * p->interval_us);
    int64_t now = now_us();
    if (p->interval_us == 0) sched = now;
    if (sched >= p->until || now >= p->until) break;
    if (sched > now) usleep((useconds_t)(sched - now));
    int rl = transfer_request(p, req, sizeof req);
    int status = round_trip(p, &fd, req, rl, buf, sizeof buf);
    tally(p, status, now_us() - sched);
  }
  if (fd >= 0) close(fd);
  return NULL;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

/* rate 0: closed loop (each connection sends its next request when the answer came). */
static int run_paced(int port, double rate, double seconds, int conns, long naccounts,
                     int hotpct) {
  pacer *p = calloc((size_t)conns, sizeof *p);
  pthread_t *th = calloc((size_t)conns, sizeof *th);
  int64_t t0 = now_us() + 100000;
  long per = rate > 0 ? (long)(rate * seconds / conns) + 16 : (long)(seconds * 100000) + 16;
  for (int i = 0; i < conns; i++) {
    p[i] = (pacer){.port = port, .interval_us = rate > 0 ? 1e6 * conns / rate : 0,
                   .start = t0 + (rate > 0 ? (int64_t)(1e6 / rate * i) : 0),
                   .until = t0 + (int64_t)(seconds * 1e6), .naccounts = naccounts,
                   .hotpct = hotpct, .seed = 99u + (unsigned)i * 31u, .cap = per};
    p[i].lat = calloc((size_t)per, sizeof *p[i].lat);
    pthread_create(&th[i], NULL, paced_main, &p[i]);
  }
  long n = 0, non2xx = 0, errors = 0;
  for (int i = 0; i < conns; i++) {
    pthread_join(th[i], NULL);
    n += p[i].nlat;
    non2xx += p[i].non2xx;
    errors += p[i].errors;
  }
  int64_t *all = calloc((size_t)n + 1, sizeof *all);
  long k = 0;
  for (int i = 0; i < conns; i++) {
    memcpy(all + k, p[i].lat, (size_t)p[i].nlat * sizeof *all);
    k += p[i].nlat;
    free(p[i].lat);
  }
  qsort(all, (size_t)n, sizeof *all, cmp_i64);
  double el = (double)(now_us() - t0) / 1e6;
  printf("requests=%ld non2xx=%ld errors=%ld seconds=%.3f per_second=%.1f p50_ms=%.3f "
         "p99_ms=%.3f max_ms=%.3f\n",
         n, non2xx, errors, el, n / el, n ? all[n / 2] / 1e3 : 0.0,
         n ? all[(long)(n * 0.99)] / 1e3 : 0.0, n ? all[n - 1] / 1e3 : 0.0);
  free(all);
  free(p);
  free(th);
  return 0;
}

/* ---- produce ---- */

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  if (m->err) atomic_fetch_add((atomic_long *)opaque, 1);
}

static int run_produce(const char *brokers, const char *topic, long n, long naccounts) {
  char err[512];
  atomic_long failed = 0;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", brokers, err, sizeof err);
  rd_kafka_conf_set(conf, "linger.ms", "20", err, sizeof err);
  rd_kafka_conf_set(conf, "queue.buffering.max.messages", "1000000", err, sizeof err);
  rd_kafka_conf_set(conf, "compression.type", "lz4", err, sizeof err);
  rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
  rd_kafka_conf_set_opaque(conf, &failed);
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == NULL) {
    fprintf(stderr, "producer: %s\n", err);
    return 1;
  }
  int64_t base = wall_us(); /* versions above any earlier run's */
  int64_t t0 = now_us();
  char evid[37], from[37], to[37], txid[37], ts[32];
  for (long i = 0; i < n; i++) {
    long a = i % naccounts, b = (i * 7 + 1) % naccounts;
    if (a == b) b = (b + 1) % naccounts;
    account_id(from, a);
    account_id(to, b);
    snprintf(evid, sizeof evid, "e0000000-0000-4000-8000-%012ld", i % 1000000000000L);
    snprintf(txid, sizeof txid, "d0000000-0000-4000-8000-%012ld", i % 1000000000000L);
    int64_t occ = wall_us();
    Google__Protobuf__Timestamp t = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
    t.seconds = occ / 1000000;
    t.nanos = (int32_t)(occ % 1000000) * 1000;
    Wallet__V1__BalanceUpdated bu = WALLET__V1__BALANCE_UPDATED__INIT;
    bu.event_id = evid;
    bu.occurred_at = &t;
    bu.transaction_id = txid;
    bu.account_id_from = from;
    bu.account_id_to = to;
    bu.balance_account_id_from = 1000;
    bu.balance_account_id_to = 1000;
    bu.version_account_id_from = base + i;
    bu.version_account_id_to = base + i;
    uint8_t buf[512];
    size_t len = wallet__v1__balance_updated__pack(&bu, buf);
    time_t secs = (time_t)(occ / 1000000);
    struct tm tmv;
    gmtime_r(&secs, &tmv);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tmv);
    snprintf(ts + strlen(ts), sizeof ts - strlen(ts), ".%03dZ", (int)(occ / 1000 % 1000));
    rd_kafka_headers_t *h = rd_kafka_headers_new(6);
    rd_kafka_header_add(h, "ce_specversion", -1, "1.0", -1);
    rd_kafka_header_add(h, "ce_id", -1, evid, -1);
    rd_kafka_header_add(h, "ce_type", -1, "wallet.v1.BalanceUpdated", -1);
    rd_kafka_header_add(h, "ce_source", -1, "bench", -1);
    rd_kafka_header_add(h, "ce_time", -1, ts, -1);
    rd_kafka_header_add(h, "content-type", -1, "application/protobuf", -1);
    for (;;) {
      rd_kafka_resp_err_t e = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(from, 36), RD_KAFKA_V_VALUE(buf, len),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk, 10);
        continue;
      }
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "produce: %s\n", rd_kafka_err2str(e));
        rd_kafka_headers_destroy(h);
        return 1;
      }
      break;
    }
    if (i % 1000 == 0) rd_kafka_poll(rk, 0);
  }
  rd_kafka_flush(rk, 120000);
  double el = (double)(now_us() - t0) / 1e6;
  printf("produced=%ld failed=%ld seconds=%.3f per_second=%.1f\n", n, (long)failed, el, n / el);
  rd_kafka_destroy(rk);
  return failed ? 1 : 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: bench-baseline select|transfer|apply1|paced|produce ARGS (see source)\n");
    return 2;
  }
  const char *mode = argv[1];
  if (strcmp(mode, "select") == 0 && argc == 9) {
    worker w = {.db = {(unsigned)atoi(argv[2]), argv[3], argv[4], argv[5]}, .id = argv[6]};
    return run_db_workers(select_main, &w, atoi(argv[8]), atof(argv[7]));
  }
  if (strcmp(mode, "transfer") == 0 && argc == 10) {
    worker w = {.db = {(unsigned)atoi(argv[2]), argv[3], argv[4], argv[5]},
                .naccounts = atol(argv[6]), .hotpct = atoi(argv[7])};
    return run_db_workers(transfer_main, &w, atoi(argv[9]), atof(argv[8]));
  }
  if (strcmp(mode, "apply1") == 0 && argc == 8) {
    worker w = {.db = {(unsigned)atoi(argv[2]), argv[3], argv[4], argv[5]},
                .naccounts = atol(argv[6])};
    return run_db_workers(apply1_main, &w, 1, atof(argv[7]));
  }
  if (strcmp(mode, "paced") == 0 && (argc == 7 || argc == 8)) {
    return run_paced(atoi(argv[2]), atof(argv[3]), atof(argv[4]), atoi(argv[5]), atol(argv[6]),
                     argc == 8 ? atoi(argv[7]) : 0);
  }
  if (strcmp(mode, "produce") == 0 && argc == 6) {
    return run_produce(argv[2], argv[3], atol(argv[4]), atol(argv[5]));
  }
  fprintf(stderr, "bench-baseline: bad arguments for %s\n", mode);
  return 2;
}
