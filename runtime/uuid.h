/* uuid: identifiers. New ids are UUIDv7 (time-ordered, so InnoDB primary-key inserts
 * append instead of splitting pages); any RFC 4122 UUID is accepted as input. */
#ifndef WALLET_UUID_H
#define WALLET_UUID_H

#include <stdbool.h>

#define UUID_STR_LEN 37 /* 36 characters and the NUL */

/* Writes a new lowercase UUIDv7 ("0190c3e2-7b1a-7c3d-8e4f-0123456789ab"). */
void uuid_v7(char out[UUID_STR_LEN]);

/* True for the canonical 8-4-4-4-12 hex form (either case). */
bool uuid_valid(const char *s);

/* Copies a valid UUID in lowercase into out; false (out untouched) when s is not one. */
bool uuid_normalize(const char *s, char out[UUID_STR_LEN]);

#endif
