/* apply_notify: a generation counter under a condvar, broadcast after each batch commit. */
#include "apply_notify.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "timeutil.h"

struct apply_notify {
  pthread_mutex_t mu;
  pthread_cond_t cv; /* on CLOCK_MONOTONIC: a wall-clock jump must not stretch a wait */
  uint64_t generation;
  void (*hook)(void *arg);
  void *hook_arg;
};

apply_notify *apply_notify_new(void) {
  apply_notify *n = calloc(1, sizeof *n);
  if (n == NULL) return NULL;
  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_mutex_init(&n->mu, NULL);
  pthread_cond_init(&n->cv, &attr);
  pthread_condattr_destroy(&attr);
  return n;
}

void apply_notify_free(apply_notify *n) {
  if (n == NULL) return;
  pthread_cond_destroy(&n->cv);
  pthread_mutex_destroy(&n->mu);
  free(n);
}

uint64_t apply_notify_generation(apply_notify *n) {
  pthread_mutex_lock(&n->mu);
  uint64_t g = n->generation;
  pthread_mutex_unlock(&n->mu);
  return g;
}

void apply_notify_broadcast(apply_notify *n) {
  if (n == NULL) return;
  pthread_mutex_lock(&n->mu);
  n->generation++;
  pthread_cond_broadcast(&n->cv);
  /* Under the lock, so that once subscribe(NULL) returns no call is still running. */
  if (n->hook != NULL) n->hook(n->hook_arg);
  pthread_mutex_unlock(&n->mu);
}

void apply_notify_subscribe(apply_notify *n, void (*fn)(void *arg), void *arg) {
  if (n == NULL) return;
  pthread_mutex_lock(&n->mu);
  n->hook = fn;
  n->hook_arg = arg;
  pthread_mutex_unlock(&n->mu);
}

uint64_t apply_notify_wait(apply_notify *n, uint64_t seen, int timeout_ms) {
  struct timespec deadline;
  time_deadline_ts(CLOCK_MONOTONIC, timeout_ms, &deadline);
  pthread_mutex_lock(&n->mu);
  while (n->generation == seen) {
    if (pthread_cond_timedwait(&n->cv, &n->mu, &deadline) != 0) break; /* ETIMEDOUT */
  }
  uint64_t g = n->generation;
  pthread_mutex_unlock(&n->mu);
  return g;
}
