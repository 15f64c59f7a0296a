/* sqlbatch: multi-row INSERTs and padded IN lists drawn from a fixed, small set of
 * statement shapes, so set-based writes do not flood the per-connection prepared
 * statement cache (runtime/db.c keeps 160 per connection). Owned by runtime; wallet-core
 * (outbox, transfers, relay) and balances (read-model upserts) use it. */
#ifndef WALLET_SQLBATCH_H
#define WALLET_SQLBATCH_H

#include <stddef.h>

#include "db.h"

/* The largest row count of one INSERT. Chunks are 256, 64 or 32 rows, then one statement
 * for the rest (1..32 rows): at most 34 shapes per statement head. */
#define SQLBATCH_MAX_ROWS 256
#define SQLBATCH_EXACT_ROWS 32

/* Slots of an IN list holding k values: 2, 8, 32, 128, 512 or 2048 (k <= 2048); the
 * caller pads the tail by repeating a value. */
size_t sqlbatch_in_slots(size_t k);

/* head "?,?,...,?" (slots marks) tail, malloc'd; NULL on OOM. */
char *sqlbatch_in_sql(const char *head, size_t slots, const char *tail);

/* head, then k copies of unit separated by commas, then tail, malloc'd; NULL on OOM. For
 * callers with their own bucket sizes (e.g. "(?,?,?,?)" VALUES tuples of an upsert). */
char *sqlbatch_repeat_sql(const char *head, const char *unit, size_t k, const char *tail);

/* Fills the ncols parameters of row `row` into out. */
typedef void (*sqlbatch_fill)(const void *ctx, size_t row, db_param *out);

/* Runs head VALUES row,row,... tail over rows [0, n) in order, in chunks of the sizes
 * above (n <= 32 is one statement); `row` is the placeholder group, e.g. "(?,?,?)", with ncols marks. Inserts keep
 * the order of rows (auto-increment ids follow it). 0, or -1 with e filled. */
int sqlbatch_insert(db_conn *conn, const char *head, const char *row, size_t ncols,
                    const char *tail, size_t n, sqlbatch_fill fill, const void *ctx,
                    db_error *e);

#endif
