/* parallel_apply: one projector batch applied as `ways` database transactions at once, each
 * on its own pooled connection, over disjoint sets of accounts (split by a hash of the
 * account id), so that MariaDB works on one batch with that many threads instead of one.
 *
 * Disjoint accounts mean the parts take no row lock in common (the history's rows are
 * keyed by account too). All or retry: the caller stores offsets only when every part
 * committed; a part that committed before another failed is applied again on the retry,
 * which changes nothing (a row only moves to a higher version; history is INSERT IGNORE). */
#ifndef BALANCES_PARALLEL_APPLY_H
#define BALANCES_PARALLEL_APPLY_H

#include <stddef.h>

#include "db.h"
#include "read_model.h"

#define PARALLEL_APPLY_MAX_WAYS 8

/* As rm_apply_tx (u is reordered), in `ways` parts (1..PARALLEL_APPLY_MAX_WAYS; 1, or a
 * batch too small to be worth a thread, is rm_apply_tx itself). 0 when every part
 * committed; -1 with e filled (the first failure) otherwise. */
int parallel_apply(db_pool *pool, rm_update *u, size_t n, int flags, int ways, db_error *e);

#endif
