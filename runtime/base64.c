/* base64: RFC 4648 codec for the JSON mapping of protobuf bytes fields. */
#include "base64.h"

#include <stdlib.h>

static const char b64_std[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const uint8_t *data, size_t len) {
  size_t outlen = (len + 2) / 3 * 4;
  char *out = malloc(outlen + 1);
  if (!out) return NULL;
  size_t o = 0, i = 0;
  for (; i + 2 < len; i += 3) {
    uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
    out[o++] = b64_std[v >> 18];
    out[o++] = b64_std[(v >> 12) & 63];
    out[o++] = b64_std[(v >> 6) & 63];
    out[o++] = b64_std[v & 63];
  }
  if (len - i == 1) {
    uint32_t v = (uint32_t)data[i] << 16;
    out[o++] = b64_std[v >> 18];
    out[o++] = b64_std[(v >> 12) & 63];
    out[o++] = '=';
    out[o++] = '=';
  } else if (len - i == 2) {
    uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8;
    out[o++] = b64_std[v >> 18];
    out[o++] = b64_std[(v >> 12) & 63];
    out[o++] = b64_std[(v >> 6) & 63];
    out[o++] = '=';
  }
  out[o] = '\0';
  return out;
}

/* The 6-bit value of c, or -1; *alpha records which alphabet ('+/' = 1, '-_' = 2). */
static int b64_value(unsigned char c, int *alpha) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  int which = 0, v = -1;
  if (c == '+') which = 1, v = 62;
  if (c == '/') which = 1, v = 63;
  if (c == '-') which = 2, v = 62;
  if (c == '_') which = 2, v = 63;
  if (v < 0) return -1;
  if (*alpha && *alpha != which) return -1; /* mixing alphabets is a sign of corruption */
  *alpha = which;
  return v;
}

int base64_decode(const char *s, size_t len, uint8_t **out, size_t *outlen) {
  *out = NULL;
  *outlen = 0;
  size_t pad = 0;
  if (len > 0 && s[len - 1] == '=') pad++;
  if (len > 1 && s[len - 2] == '=') pad++;
  if (pad && len % 4 != 0) return -1;
  size_t n = len - pad; /* significant characters */
  if (n % 4 == 1) return -1;
  size_t bytes = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
  if (bytes == 0) return 0;
  uint8_t *buf = malloc(bytes);
  if (!buf) return -1;
  int alpha = 0;
  uint32_t acc = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64_value((unsigned char)s[i], &alpha);
    if (v < 0) {
      free(buf);
      return -1;
    }
    acc = acc << 6 | (uint32_t)v;
    if (i % 4 == 3) {
      buf[o++] = (uint8_t)(acc >> 16);
      buf[o++] = (uint8_t)(acc >> 8);
      buf[o++] = (uint8_t)acc;
      acc = 0;
    }
  }
  if (n % 4 == 2) {
    buf[o++] = (uint8_t)(acc >> 4);
  } else if (n % 4 == 3) {
    buf[o++] = (uint8_t)(acc >> 10);
    buf[o++] = (uint8_t)(acc >> 2);
  }
  *out = buf;
  *outlen = o;
  return 0;
}
