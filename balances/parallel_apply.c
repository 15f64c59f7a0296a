/* parallel_apply: split by account, one thread and one transaction per part. */
#include "parallel_apply.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Below this many updates a second transaction costs more than it saves. */
#define PARALLEL_MIN_UPDATES 256

typedef struct part {
  db_pool *pool;
  rm_update *u;
  size_t n;
  int flags;
  int rc;
  db_error e;
} part;

static void *part_main(void *arg) {
  part *p = arg;
  p->rc = p->n > 0 ? rm_apply_tx(p->pool, p->u, p->n, p->flags, &p->e) : 0;
  return NULL;
}

/* FNV-1a over the id text: any stable function of the account will do. */
static unsigned part_of(const char *id, int ways) {
  uint32_t h = 2166136261u;
  for (const unsigned char *c = (const unsigned char *)id; *c != '\0'; c++) {
    h ^= *c;
    h *= 16777619u;
  }
  return h % (unsigned)ways;
}

int parallel_apply(db_pool *pool, rm_update *u, size_t n, int flags, int ways, db_error *e) {
  if (ways > PARALLEL_APPLY_MAX_WAYS) ways = PARALLEL_APPLY_MAX_WAYS;
  if (ways <= 1 || n < PARALLEL_MIN_UPDATES) return rm_apply_tx(pool, u, n, flags, e);
  rm_update *sorted = malloc(n * sizeof *sorted);
  unsigned char *of = malloc(n);
  if (sorted == NULL || of == NULL) {
    free(sorted);
    free(of);
    return rm_apply_tx(pool, u, n, flags, e); /* no memory to split: one transaction */
  }
  size_t count[PARALLEL_APPLY_MAX_WAYS] = {0}, at[PARALLEL_APPLY_MAX_WAYS];
  for (size_t i = 0; i < n; i++) {
    of[i] = (unsigned char)part_of(u[i].account_id, ways);
    count[of[i]]++;
  }
  size_t off = 0;
  for (int w = 0; w < ways; w++) {
    at[w] = off;
    off += count[w];
  }
  part parts[PARALLEL_APPLY_MAX_WAYS];
  for (int w = 0; w < ways; w++)
    parts[w] = (part){.pool = pool, .u = sorted + at[w], .n = count[w], .flags = flags};
  for (size_t i = 0; i < n; i++) sorted[at[of[i]]++] = u[i];
  free(of);

  pthread_t th[PARALLEL_APPLY_MAX_WAYS];
  int started[PARALLEL_APPLY_MAX_WAYS] = {0};
  /* Part 0 runs on the caller's thread; a part whose thread cannot start runs here too. */
  for (int w = 1; w < ways; w++) started[w] = pthread_create(&th[w], NULL, part_main, &parts[w]) == 0;
  part_main(&parts[0]);
  for (int w = 1; w < ways; w++) {
    if (started[w]) pthread_join(th[w], NULL);
    else part_main(&parts[w]);
  }
  int rc = 0;
  for (int w = 0; w < ways && rc == 0; w++) {
    if (parts[w].rc != 0) {
      *e = parts[w].e;
      rc = -1;
    }
  }
  /* The caller keeps u for a retry and for the lag metric: give it the parts' order. */
  memcpy(u, sorted, n * sizeof *u);
  free(sorted);
  return rc;
}
