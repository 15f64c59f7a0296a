/* validate: API input rules (ids, names, emails, amounts, idempotency keys, pages). */
#include "validate.h"

#include <string.h>

#include "utf8.h"

wallet_rc validate_uuid(const char *field, const char *s, char out[UUID_STR_LEN],
                        wallet_err *e) {
  if (s == NULL || *s == '\0') return wallet_err_set(e, WALLET_INVALID, "%s is required", field);
  if (!uuid_normalize(s, out)) {
    return wallet_err_set(e, WALLET_INVALID, "%s: \"%.64s\" is not a UUID", field, s);
  }
  return WALLET_OK;
}

wallet_rc validate_name(const char *s, wallet_err *e) {
  size_t len = s ? strlen(s) : 0;
  size_t nonspace = 0;
  for (size_t i = 0; i < len; i++) {
    if (s[i] != ' ' && s[i] != '\t') nonspace++;
  }
  if (nonspace == 0) return wallet_err_set(e, WALLET_INVALID, "name is required");
  if (!utf8_valid(s, len)) return wallet_err_set(e, WALLET_INVALID, "name: invalid UTF-8");
  size_t chars = 0;
  for (size_t i = 0; i < len; i++) {
    if (((unsigned char)s[i] & 0xc0) != 0x80) chars++;
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
      return wallet_err_set(e, WALLET_INVALID, "name: control characters are not allowed");
    }
  }
  if (chars > VALIDATE_NAME_MAX_CHARS) {
    return wallet_err_set(e, WALLET_INVALID, "name: at most %d characters, got %zu",
                          VALIDATE_NAME_MAX_CHARS, chars);
  }
  return WALLET_OK;
}

static int label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-';
}

wallet_rc validate_email(const char *s, wallet_err *e) {
  if (s == NULL || *s == '\0') return wallet_err_set(e, WALLET_INVALID, "email is required");
  size_t len = strlen(s);
  if (len > VALIDATE_EMAIL_MAX) {
    return wallet_err_set(e, WALLET_INVALID, "email: at most %d characters",
                          VALIDATE_EMAIL_MAX);
  }
  const char *at = strchr(s, '@');
  if (at == NULL || at == s || strchr(at + 1, '@') != NULL) goto bad;
  for (const char *p = s; p < at; p++) {
    unsigned char c = (unsigned char)*p;
    if (c <= 0x20 || c >= 0x7f || strchr("()<>[]:;,\\\"", c) != NULL) goto bad;
  }
  /* Domain: dot-separated labels, at least two, none empty or edged with '-'. */
  const char *d = at + 1;
  int labels = 0;
  while (*d != '\0') {
    const char *start = d;
    while (*d != '\0' && *d != '.') {
      if (!label_char(*d)) goto bad;
      d++;
    }
    if (d == start || *start == '-' || d[-1] == '-') goto bad;
    labels++;
    if (*d == '.') {
      d++;
      if (*d == '\0') goto bad;
    }
  }
  if (labels < 2) goto bad;
  return WALLET_OK;
bad:
  return wallet_err_set(e, WALLET_INVALID, "email: \"%.64s\" is not a valid email address", s);
}

wallet_rc validate_amount(int64_t amount, wallet_err *e) {
  if (amount <= 0) {
    return wallet_err_set(e, WALLET_INVALID,
                          "amount must be a positive integer of minor units, got %lld",
                          (long long)amount);
  }
  return WALLET_OK;
}

wallet_rc validate_idempotency_key(const char *s, wallet_err *e) {
  size_t len = s ? strlen(s) : 0;
  if (len == 0 || len > VALIDATE_IDEM_KEY_MAX) {
    return wallet_err_set(e, WALLET_INVALID, "Idempotency-Key must be 1..%d characters",
                          VALIDATE_IDEM_KEY_MAX);
  }
  for (size_t i = 0; i < len; i++) {
    if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e) {
      return wallet_err_set(e, WALLET_INVALID,
                            "Idempotency-Key must be printable ASCII");
    }
  }
  /* The key column's collation ignores trailing spaces ('k' = 'k ') while the code
   * compares keys exactly: two keys that differ only there would be one key to the
   * database and two to us. Edge spaces are also HTTP's optional whitespace. */
  if (s[0] == ' ' || s[len - 1] == ' ') {
    return wallet_err_set(e, WALLET_INVALID,
                          "Idempotency-Key must not start or end with a space");
  }
  return WALLET_OK;
}

wallet_rc validate_page_size(int32_t page_size, int def, int max, int *out, wallet_err *e) {
  if (page_size == 0) {
    *out = def;
    return WALLET_OK;
  }
  if (page_size < 1 || page_size > max) {
    return wallet_err_set(e, WALLET_INVALID, "page_size must be in 1..%d, got %d", max,
                          (int)page_size);
  }
  *out = page_size;
  return WALLET_OK;
}
