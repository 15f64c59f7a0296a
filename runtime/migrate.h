/* migrate: applies migrations/<service>/NNN_name.sql in order, once each, at start.
 *
 * Applied files are recorded in table schema_migrations (version, name, checksum,
 * applied_at). A named lock (GET_LOCK) serialises runners, so two instances starting
 * at once apply each file exactly once. A file whose checksum changed after it was
 * applied is an error: migrations are append-only. Seed data is a migration too. */
#ifndef WALLET_MIGRATE_H
#define WALLET_MIGRATE_H

#include <stddef.h>

#include "db.h"

/* Applies every pending .sql file of `dir` (NNN_name.sql, sorted by NNN) on its own
 * multi-statement connection made from cfg. *applied (may be NULL) gets how many were
 * applied now. Returns 0, or -1 with err naming the file and the server's message. */
int migrate_run(const db_config *cfg, const char *dir, int *applied, char *err,
                size_t errlen);

#endif
