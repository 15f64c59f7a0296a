/* dbtime: DATETIME(6) text in UTC <-> epoch microseconds, so stored times never depend on
 * the database server's time zone. Owned by runtime; wallet-core and balances both use it. */
#ifndef WALLET_DBTIME_H
#define WALLET_DBTIME_H

#include <stdint.h>

#define DBTIME_LEN 27 /* "2026-01-01 00:00:00.000000" and the NUL */

/* Formats epoch_us as "YYYY-MM-DD HH:MM:SS.ffffff" UTC into out. */
void dbtime_format(int64_t epoch_us, char out[DBTIME_LEN]);

/* Parses exactly that form ("YYYY-MM-DD HH:MM:SS", then optionally '.' and at most 6
 * fraction digits). 0, or -1 when malformed. */
int dbtime_parse(const char *s, int64_t *epoch_us);

#endif
