/* apply_notify: tells the balance_reader that the projector has committed a batch, so
 * lookups waiting for a version (read-your-writes) are read again at once. Not a
 * predicate: the reader re-reads the database, which also covers batches another
 * balances instance committed. */
#ifndef BALANCES_APPLY_NOTIFY_H
#define BALANCES_APPLY_NOTIFY_H

typedef struct apply_notify apply_notify;

/* NULL on OOM. Free with apply_notify_free (NULL is a no-op). */
apply_notify *apply_notify_new(void);
void apply_notify_free(apply_notify *n);

/* After a DB commit: calls the subscriber, if any. NULL n is a no-op. */
void apply_notify_broadcast(apply_notify *n);

/* fn(arg) is called on every broadcast, under the notifier's lock: it must be short and
 * must not call back into apply_notify. One subscriber; NULL fn removes it, and once
 * that returns fn is not running. NULL n is a no-op. */
void apply_notify_subscribe(apply_notify *n, void (*fn)(void *arg), void *arg);

#endif
