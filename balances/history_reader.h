/* history_reader: the queries behind GET /balances/{id}/history, ?as_of= and GET /balances
 * (keyset pages: an index range and a LIMIT, never an OFFSET). */
#ifndef BALANCES_HISTORY_READER_H
#define BALANCES_HISTORY_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "history.h"
#include "read_model.h"

/* Up to `limit` entries of `account` with version < before (INT64_MAX: from the newest),
 * newest first, into out (room for limit); *more: older entries follow. 0, or -1. */
int hr_page(db_conn *conn, const char *account, int64_t before, int limit,
            history_entry *out, size_t *n, bool *more, db_error *e);

/* *latest: the highest version stored (0: none); *complete: the highest v such that
 * versions 1..v are all stored (0 when version 1 is missing). 0, or -1. */
int hr_bounds(db_conn *conn, const char *account, int64_t *latest, int64_t *complete,
              db_error *e);

/* The entry in force at at_us: the newest occurred_at <= at_us (highest version among
 * equal times). *found false when the account had no entry yet. 0, or -1. */
int hr_as_of(db_conn *conn, const char *account, int64_t at_us, history_entry *out,
             bool *found, db_error *e);


/* Whether the balances table holds `account`. 0, or -1. */
int hr_balance_exists(db_conn *conn, const char *account, bool *exists, db_error *e);

#endif
