/* pbjson_number: JSON number text to exact integers and doubles (never int via double). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "pbjson_internal.h"

static int is_digit(char c) { return c >= '0' && c <= '9'; }

size_t pbjson_number_span(const char *s, size_t len) {
  size_t i = 0;
  if (i < len && s[i] == '-') i++;
  if (i >= len || !is_digit(s[i])) return 0;
  if (s[i] == '0') {
    i++;
  } else {
    while (i < len && is_digit(s[i])) i++;
  }
  if (i < len && s[i] == '.') {
    i++;
    if (i >= len || !is_digit(s[i])) return 0;
    while (i < len && is_digit(s[i])) i++;
  }
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-')) i++;
    if (i >= len || !is_digit(s[i])) return 0;
    while (i < len && is_digit(s[i])) i++;
  }
  return i;
}

int pbjson_number_to_int(const char *s, size_t len, int *neg, uint64_t *mag) {
  *neg = 0;
  *mag = 0;
  if (len == 0 || pbjson_number_span(s, len) != len) return PBJSON_NUM_SYNTAX;
  size_t i = 0;
  if (s[0] == '-') {
    *neg = 1;
    i++;
  }
  /* The digits before and after the point form one sequence d[0..nint+nfrac). */
  size_t int_at = i, nint = 0;
  while (i < len && is_digit(s[i])) i++, nint++;
  size_t frac_at = i, nfrac = 0;
  if (i < len && s[i] == '.') {
    frac_at = ++i;
    while (i < len && is_digit(s[i])) i++, nfrac++;
  }
  int64_t exp = 0;
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    int eneg = 0;
    if (s[i] == '+' || s[i] == '-') eneg = s[i++] == '-';
    for (; i < len; i++) {
      /* Clamp: beyond this the answer (range error or fraction) cannot change. */
      if (exp < 1000000000) exp = exp * 10 + (s[i] - '0');
    }
    if (eneg) exp = -exp;
  }
  size_t total = nint + nfrac;
#define DIGIT(k) ((k) < nint ? s[int_at + (k)] : s[frac_at + (k) - nint])
  size_t first = 0;
  while (first < total && DIGIT(first) == '0') first++;
  if (first == total) return PBJSON_NUM_OK; /* zero, in any spelling */
  size_t last = total - 1;
  while (DIGIT(last) == '0') last--;
  /* value = d[first..last] * 10^scale */
  int64_t scale = exp - (int64_t)nfrac + (int64_t)(total - 1 - last);
  if (scale < 0) return PBJSON_NUM_FRACTION;
  size_t count = last - first + 1;
  if ((int64_t)count + scale > 20) return PBJSON_NUM_RANGE;
  uint64_t v = 0;
  for (size_t k = first; k <= last; k++) {
    unsigned d = (unsigned)(DIGIT(k) - '0');
    if (v > (UINT64_MAX - d) / 10) return PBJSON_NUM_RANGE;
    v = v * 10 + d;
  }
#undef DIGIT
  for (int64_t k = 0; k < scale; k++) {
    if (v > UINT64_MAX / 10) return PBJSON_NUM_RANGE;
    v *= 10;
  }
  *mag = v;
  return PBJSON_NUM_OK;
}

int pbjson_number_to_double(const char *s, double *out) {
  size_t len = 0;
  while (s[len]) len++;
  if (len == 0 || pbjson_number_span(s, len) != len) return -1;
  errno = 0;
  char *end = NULL;
  double d = strtod(s, &end); /* JSON's grammar is a subset of strtod's in the C locale */
  if (end != s + len) return -1;
  if (isinf(d)) return -1;
  *out = d;
  return 0;
}
