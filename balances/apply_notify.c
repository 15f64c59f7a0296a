/* apply_notify: one subscriber called, under a lock, after each batch commit. */
#include "apply_notify.h"

#include <pthread.h>
#include <stdlib.h>

struct apply_notify {
  pthread_mutex_t mu;
  void (*hook)(void *arg);
  void *hook_arg;
};

apply_notify *apply_notify_new(void) {
  apply_notify *n = calloc(1, sizeof *n);
  if (n == NULL) return NULL;
  pthread_mutex_init(&n->mu, NULL);
  return n;
}

void apply_notify_free(apply_notify *n) {
  if (n == NULL) return;
  pthread_mutex_destroy(&n->mu);
  free(n);
}

void apply_notify_broadcast(apply_notify *n) {
  if (n == NULL) return;
  pthread_mutex_lock(&n->mu);
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
