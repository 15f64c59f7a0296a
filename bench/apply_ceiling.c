/* apply-ceiling: the projector's SQL with nothing else in the way, to show how fast the
 * balances database applies it on this machine. No Kafka, no decoding, no offsets: each
 * thread calls rm_apply_tx (the very function the projector's appliers call, so the same
 * upsert, history rows and transaction) on batches of BATCH events, back to back, for
 * SECONDS. An event is what a BalanceUpdated carries: two updates, the debited account
 * and the credited one, each with its own new version and history row. Like
 * PROJECTOR_APPLIERS, the threads' accounts are disjoint.
 *
 *   apply-ceiling DBPORT DB USER PASS NACCOUNTS BATCH THREADS HISTORY SECONDS
 *
 * Accounts are c0000000-0000-4000-8000-NNNNNNNNNNNN (not the bench's b... ones, whose
 * versions come from Kafka); versions start above the current time in microseconds and
 * rise by one per update, so every update is newer than the row and every history row is
 * new. HISTORY 1 writes balance_history as the projector does by default, 0 as with
 * HISTORY=off. Prints one line "key=value ..." on stdout (per_second: events); exits 1
 * when any batch failed. Loopback only (127.0.0.1). */
#include <stdio.h>
#include <stdlib.h>

#include "ceiling.h"
#include "db.h"
#include "read_model.h"

typedef struct worker {
  db_config cfg;
  long first, count; /* this thread's accounts */
  long batch;
  int flags;
  int64_t version, until_us;
  unsigned seed;
  long applied, failed;
} worker;

static void *run(void *arg) {
  worker *w = arg;
  char err[256];
  db_pool *pool = db_pool_new(&w->cfg, err, sizeof err);
  rm_update *u = calloc(2 * (size_t)w->batch, sizeof *u);
  if (pool == NULL || u == NULL) {
    fprintf(stderr, "apply-ceiling: %s\n", pool == NULL ? err : "out of memory");
    w->failed++;
    goto out;
  }
  while (ceiling_clock_us(CLOCK_MONOTONIC) < w->until_us) {
    for (long i = 0; i < w->batch; i++) {
      long a = w->first + (long)(rand_r(&w->seed) % (unsigned)w->count);
      long b = w->first + (a - w->first + 1) % w->count;
      int64_t now = ceiling_clock_us(CLOCK_REALTIME);
      for (int k = 0; k < 2; k++) {
        rm_update *x = &u[2 * i + k];
        snprintf(x->account_id, sizeof x->account_id, "c0000000-0000-4000-8000-%012ld", k ? b : a);
        snprintf(x->counterparty_id, sizeof x->counterparty_id,
                 "c0000000-0000-4000-8000-%012ld", k ? a : b);
        snprintf(x->transaction_id, sizeof x->transaction_id, "d0000000-0000-4000-8000-%012lx",
                 (unsigned long)(w->version & 0xffffffffffffL));
        x->version = w->version++;
        x->balance = 1000000 + (int64_t)(rand_r(&w->seed) % 1000);
        x->amount = k ? 1 : -1;
        x->updated_at_us = now;
      }
    }
    db_error e = {0};
    if (rm_apply_tx(pool, u, 2 * (size_t)w->batch, w->flags, &e) != 0) {
      fprintf(stderr, "apply-ceiling: batch failed: (%u) %s\n", e.code, e.message);
      w->failed++;
      break; /* a figure with failures in it would mean nothing */
    }
    w->applied += w->batch;
  }
out:
  db_pool_free(pool);
  free(u);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 10) {
    fprintf(stderr, "usage: apply-ceiling DBPORT DB USER PASS NACCOUNTS BATCH THREADS HISTORY "
                    "SECONDS\n");
    return 2;
  }
  long naccounts = atol(argv[5]), batch = atol(argv[6]);
  int threads = atoi(argv[7]), history = atoi(argv[8]);
  double seconds = atof(argv[9]);
  if (threads < 1 || threads > 16 || naccounts < 2L * threads || batch < 1 || batch > 100000 ||
      (history != 0 && history != 1) || seconds <= 0) {
    fprintf(stderr, "apply-ceiling: THREADS 1..16, NACCOUNTS >= 2*THREADS, BATCH 1..100000, "
                    "HISTORY 0|1, SECONDS > 0\n");
    return 2;
  }
  worker *w = calloc((size_t)threads, sizeof *w);
  if (w == NULL) return 1;
  int64_t t0 = ceiling_clock_us(CLOCK_MONOTONIC), base = ceiling_clock_us(CLOCK_REALTIME);
  long per = naccounts / threads;
  for (int i = 0; i < threads; i++) {
    w[i] = (worker){.cfg = ceiling_db(argv),
                    .first = i * per,
                    .count = per,
                    .batch = batch,
                    .flags = history ? RM_HISTORY : 0,
                    /* Above every earlier run's versions: a run applies fewer updates
                     * than the microseconds it lasts. Accounts are disjoint, so threads
                     * may share version numbers. */
                    .version = base,
                    .until_us = t0 + (int64_t)(seconds * 1e6),
                    .seed = (unsigned)(t0 ^ (i * 2654435761u))};
  }
  if (ceiling_run(w, sizeof *w, threads, run) != 0) {
    fprintf(stderr, "apply-ceiling: could not start %d threads\n", threads);
    return 1;
  }
  long applied = 0, failed = 0;
  for (int i = 0; i < threads; i++) {
    applied += w[i].applied;
    failed += w[i].failed;
  }
  double el = (double)(ceiling_clock_us(CLOCK_MONOTONIC) - t0) / 1e6;
  printf("applied=%ld failed=%ld seconds=%.3f per_second=%.1f\n", applied, failed, el,
         (double)applied / el);
  free(w);
  return failed ? 1 : 0;
}
