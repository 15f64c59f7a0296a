/* version_token: the page token of a per-account listing ordered by version, newest first
 * (wallet-core's statement, balances' history): the version of the page's last (oldest)
 * entry, in decimal. */
#ifndef WALLET_VERSION_TOKEN_H
#define WALLET_VERSION_TOKEN_H

#include <stdbool.h>
#include <stdint.h>

/* true with *before set when s is such a token (a version >= 1, no sign, no leading zero). */
bool version_token_parse(const char *s, int64_t *before);

/* The token of a page whose last entry has version v (v >= 1). */
#define VERSION_TOKEN_LEN 21 /* 19 digits of an int64 and the NUL, with room */
void version_token_format(int64_t v, char out[VERSION_TOKEN_LEN]);

#endif
