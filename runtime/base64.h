/* base64: RFC 4648 encoding (standard alphabet, padded) and a lenient decoder. */
#ifndef WALLET_BASE64_H
#define WALLET_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Encodes data[0..len) with the standard alphabet and '=' padding into a new
 * NUL-terminated string (caller frees), or NULL when out of memory. */
char *base64_encode(const uint8_t *data, size_t len);

/* Decodes s[0..len): standard ('+/') or URL-safe ('-_') alphabet (not mixed), padding
 * optional but, when present, complete. On success returns 0 and sets *out to a new
 * buffer (caller frees; NULL when *outlen is 0). Returns -1 on malformed input or out
 * of memory, with *out NULL. */
int base64_decode(const char *s, size_t len, uint8_t **out, size_t *outlen);

#endif
