/* transfer-ceiling: wallet-core's own transfer SQL with nothing else in the way, to show
 * how fast MariaDB runs it on this machine. No HTTP, no JSON, no batcher queue, no Kafka:
 * each thread takes one connection and calls transfers_apply (the very function the
 * batcher calls, so the same statements, locks and outbox rows) on groups of GROUP random
 * transfers of 1 cent between the bench's accounts, back to back, for SECONDS.
 *
 *   transfer-ceiling DBPORT DB USER PASS NACCOUNTS HOTPCT GROUP THREADS SECONDS
 *
 * GROUP is a size ("8") or a range ("1-16": each group's size drawn uniformly from it,
 * as the batcher's groups vary under load). HOTPCT as in bench-baseline (that share of transfers touches the first fifth of the
 * accounts). Prints one line "key=value ..." on stdout; exits 1 when any group failed as
 * a whole. The outbox rows it writes are real events: a wallet-core started afterwards
 * publishes them. Loopback only (127.0.0.1). */
#include <stdio.h>
#include <stdlib.h>

#include "ceiling.h"
#include "db.h"
#include "events.h"
#include "transfers.h"

typedef struct worker {
  db_config cfg;
  long naccounts;
  int hotpct;
  size_t group_min, group_max;
  int64_t until_us;
  unsigned seed;
  long applied, rejected, groups, failed;
} worker;

/* The same account choice as bench-baseline's pick(), so hot means the same thing. */
static long pick(worker *w) {
  long hot = w->naccounts / 5;
  if (hot < 2) hot = 2;
  if ((int)(rand_r(&w->seed) % 100) < w->hotpct) return rand_r(&w->seed) % hot;
  return rand_r(&w->seed) % w->naccounts;
}

static void *run(void *arg) {
  worker *w = arg;
  char err[256];
  db_pool *pool = db_pool_new(&w->cfg, err, sizeof err);
  db_error dbe = {0};
  db_conn *conn = pool ? db_pool_acquire(pool, 5000, &dbe) : NULL;
  char(*ids)[2][40] = calloc(w->group_max, sizeof *ids);
  transfer_request *reqs = calloc(w->group_max, sizeof *reqs);
  transfer_result *results = calloc(w->group_max, sizeof *results);
  if (conn == NULL || ids == NULL || reqs == NULL || results == NULL) {
    fprintf(stderr, "transfer-ceiling: %s\n", pool == NULL ? err : dbe.message);
    w->failed++;
    goto out;
  }
  while (ceiling_clock_us(CLOCK_MONOTONIC) < w->until_us) {
    size_t n = w->group_min + (size_t)rand_r(&w->seed) % (w->group_max - w->group_min + 1);
    for (size_t i = 0; i < n; i++) {
      long a = pick(w), b = pick(w);
      if (a == b) b = (b + 1) % w->naccounts;
      snprintf(ids[i][0], sizeof ids[i][0], "b0000000-0000-4000-8000-%012ld", a);
      snprintf(ids[i][1], sizeof ids[i][1], "b0000000-0000-4000-8000-%012ld", b);
      reqs[i] = (transfer_request){.account_id_from = ids[i][0],
                                   .account_id_to = ids[i][1],
                                   .amount = 1};
    }
    wallet_err fatal;
    int applied = transfers_apply(conn, &events_default_topics, reqs, results, n, &fatal);
    w->groups++;
    if (applied < 0) {
      fprintf(stderr, "transfer-ceiling: group failed: %s\n", fatal.msg);
      w->failed++;
      break; /* a figure with failures in it would mean nothing */
    }
    w->applied += applied;
    w->rejected += (long)n - applied;
  }
out:
  if (conn != NULL) db_pool_release(pool, conn);
  db_pool_free(pool);
  free(ids);
  free(reqs);
  free(results);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 10) {
    fprintf(stderr, "usage: transfer-ceiling DBPORT DB USER PASS NACCOUNTS HOTPCT GROUP "
                    "THREADS SECONDS\n");
    return 2;
  }
  int threads = atoi(argv[8]);
  long gmin = 0, gmax = 0, naccounts = atol(argv[5]);
  char dash = 0;
  int got = sscanf(argv[7], "%ld%c%ld", &gmin, &dash, &gmax);
  if (got == 1) gmax = gmin;
  double seconds = atof(argv[9]);
  if (threads < 1 || threads > 64 || !(got == 1 || (got == 3 && dash == '-')) || gmin < 1 ||
      gmax < gmin || gmax > 1000 || naccounts < 2 || seconds <= 0) {
    fprintf(stderr, "transfer-ceiling: THREADS 1..64, GROUP N or MIN-MAX within 1..1000, "
                    "NACCOUNTS >= 2, SECONDS > 0\n");
    return 2;
  }
  worker *w = calloc((size_t)threads, sizeof *w);
  if (w == NULL) return 1;
  int64_t t0 = ceiling_clock_us(CLOCK_MONOTONIC);
  for (int i = 0; i < threads; i++) {
    w[i] = (worker){.cfg = ceiling_db(argv),
                    .naccounts = naccounts,
                    .hotpct = atoi(argv[6]),
                    .group_min = (size_t)gmin,
                    .group_max = (size_t)gmax,
                    .until_us = t0 + (int64_t)(seconds * 1e6),
                    .seed = (unsigned)(t0 ^ (i * 2654435761u))};
  }
  if (ceiling_run(w, sizeof *w, threads, run) != 0) {
    fprintf(stderr, "transfer-ceiling: could not start %d threads\n", threads);
    return 1;
  }
  long applied = 0, rejected = 0, groups = 0, failed = 0;
  for (int i = 0; i < threads; i++) {
    applied += w[i].applied;
    rejected += w[i].rejected;
    groups += w[i].groups;
    failed += w[i].failed;
  }
  double el = (double)(ceiling_clock_us(CLOCK_MONOTONIC) - t0) / 1e6;
  printf("applied=%ld rejected=%ld groups=%ld failed=%ld seconds=%.3f per_second=%.1f\n", applied,
         rejected, groups, failed, el, (double)applied / el);
  free(w);
  return failed ? 1 : 0;
}
