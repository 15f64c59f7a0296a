/* balance_view: the read model in memory, every account of every partition, so that
 * GET /balances/{id} is answered without a database round trip (the GlobalKTable idea).
 *
 * It holds, per account, the balance of the highest version it was given: applying is
 * idempotent and order-free, like the table (read_model.h), so a snapshot of the table
 * and the topic's events can be merged in any order and any number of times. The
 * view_feed fills it; it is "live" once it has caught up with what the table held when
 * it started, and only then do readers use it (before that they read the table).
 *
 * Thread-safe: many readers and one writer (sharded read-write locks). */
#ifndef BALANCES_BALANCE_VIEW_H
#define BALANCES_BALANCE_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "read_model.h"

typedef struct balance_view balance_view;

/* NULL on OOM. Free with balance_view_free (NULL is a no-op). */
balance_view *balance_view_new(void);
void balance_view_free(balance_view *v);

/* Keeps each account's update with the highest version (a lower or equal one changes
 * nothing). Ids must be canonical lowercase UUIDs (event_decode and the table give
 * them so). Returns how many updates changed the view, or -1 on OOM (the updates not
 * applied are lost to the view: the feed then marks it not live). */
long balance_view_apply(balance_view *v, const rm_update *u, size_t n);

/* The account's newest state into *out (account_id, balance, version, updated_at_us;
 * history fields empty). false when the view has no such account. */
bool balance_view_get(balance_view *v, const char *account_id, rm_update *out);

/* Accounts held. */
size_t balance_view_size(balance_view *v);

/* Whether readers may answer from it (set by the feed). */
bool balance_view_live(const balance_view *v);
void balance_view_set_live(balance_view *v, bool live);

#endif
