/* apply_notify: wakes readers waiting for a version (read-your-writes) when the projector
 * has committed a batch. A generation counter, not a predicate: waiters re-read the
 * database, which also covers batches another balances instance committed. */
#ifndef BALANCES_APPLY_NOTIFY_H
#define BALANCES_APPLY_NOTIFY_H

#include <stdint.h>

typedef struct apply_notify apply_notify;

/* NULL on OOM. Free with apply_notify_free (NULL is a no-op). */
apply_notify *apply_notify_new(void);
void apply_notify_free(apply_notify *n);

/* The current generation: read it BEFORE reading the database, then wait for a change,
 * so a commit between the read and the wait is not missed. */
uint64_t apply_notify_generation(apply_notify *n);

/* After a DB commit: bumps the generation and wakes every waiter. */
void apply_notify_broadcast(apply_notify *n);

/* Also calls fn(arg) on every broadcast: how a thread that waits on a condition of its
 * own (the balance_reader) hears of commits. fn runs under the notifier's lock: it must
 * be short and must not call back into apply_notify. One subscriber; NULL fn removes it,
 * and once that returns fn is not running. */
void apply_notify_subscribe(apply_notify *n, void (*fn)(void *arg), void *arg);

/* Waits until the generation differs from `seen` or timeout_ms passes. Returns the
 * generation now. */
uint64_t apply_notify_wait(apply_notify *n, uint64_t seen, int timeout_ms);

#endif
