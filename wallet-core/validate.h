/* validate: input rules of wallet-core's API, checked before any database work. Each
 * returns WALLET_OK, or WALLET_INVALID with a message naming the field. */
#ifndef WALLET_CORE_VALIDATE_H
#define WALLET_CORE_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "uuid.h"
#include "wallet_err.h"

#define VALIDATE_NAME_MAX_CHARS 255
#define VALIDATE_EMAIL_MAX 254
#define VALIDATE_IDEM_KEY_MAX 255

/* A UUID in any case; writes its lowercase form into out. */
wallet_rc validate_uuid(const char *field, const char *s, char out[UUID_STR_LEN],
                        wallet_err *e);

/* Non-empty (after trimming spaces), valid UTF-8, at most 255 characters. */
wallet_rc validate_name(const char *s, wallet_err *e);

/* "local@domain.tld" shape: one '@', non-empty local part, a dot in the domain with
 * labels of letters, digits and '-', no spaces or control characters, <= 254 bytes. */
wallet_rc validate_email(const char *s, wallet_err *e);

/* amount > 0. */
wallet_rc validate_amount(int64_t amount, wallet_err *e);

/* An Idempotency-Key header: 1..255 printable ASCII characters. */
wallet_rc validate_idempotency_key(const char *s, wallet_err *e);

/* page_size 0 (-> def) or 1..max; writes the effective value. */
wallet_rc validate_page_size(int32_t page_size, int def, int max, int *out, wallet_err *e);

#endif
