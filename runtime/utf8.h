/* utf8: strict UTF-8 validation and encoding (no overlongs, surrogates or > U+10FFFF). */
#ifndef WALLET_UTF8_H
#define WALLET_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* 1 when s[0..len) is well-formed UTF-8 (RFC 3629), else 0. s may be NULL when len is 0. */
int utf8_valid(const char *s, size_t len);

/* Writes code point cp (not a surrogate, <= 0x10FFFF) into out (>= 4 bytes) and returns
 * the byte count, or 0 when cp cannot be encoded. */
size_t utf8_encode(uint32_t cp, char *out);

/* Makes s (NUL-terminated) well-formed UTF-8 in place: each byte that does not begin a
 * well-formed sequence (a stray continuation, a cut or overlong sequence, a surrogate)
 * becomes '?'. Length is unchanged. */
void utf8_scrub(char *s);

#endif
