/* http_route: matching URL paths against "/accounts/{id}" patterns, and percent-decoding
 * of path segments and query strings. Pure functions: no server, no allocation except
 * the decoded values a match owns. */
#ifndef WALLET_HTTP_ROUTE_H
#define WALLET_HTTP_ROUTE_H

#include <stddef.h>
#include <sys/types.h>

#define HTTP_ROUTE_MAX_PARAMS 8
#define HTTP_ROUTE_NAME_MAX 64 /* longest {name} is 63 bytes */

typedef struct http_route_param {
  char name[HTTP_ROUTE_NAME_MAX]; /* from the pattern, without braces */
  const char *value;              /* percent-decoded, NUL-terminated; points into buf */
} http_route_param;

/* What a match captured. Zero it before first use; http_route_match_clear frees it. */
typedef struct http_route_match {
  size_t n;
  http_route_param params[HTTP_ROUTE_MAX_PARAMS];
  char *buf; /* owns every value */
} http_route_match;

enum {
  HTTP_ROUTE_NO_MATCH = 0,
  HTTP_ROUTE_MATCH = 1,
  HTTP_ROUTE_BAD_PATH = -1, /* a {param} segment holds a malformed escape or %00 */
  HTTP_ROUTE_OOM = -2,
};

/* Matches `path` (path_len bytes, raw from the request line, without the query) against
 * `pattern`. Literal segments compare byte for byte, undecoded; a {name} segment matches
 * one non-empty segment and captures it percent-decoded ("a%2Fb" -> "a/b"). Returns one
 * of the HTTP_ROUTE_* values; only on HTTP_ROUTE_MATCH does m hold anything (always
 * clear it afterwards: clearing is harmless when it holds nothing). A pattern with more
 * than HTTP_ROUTE_MAX_PARAMS params, or a name too long, never matches (see
 * http_route_pattern_names, which reports it). */
int http_route_match_path(const char *pattern, const char *path, size_t path_len,
                          http_route_match *m);

/* Frees what m owns and zeroes it. NULL is a no-op. */
void http_route_match_clear(http_route_match *m);

/* Fills m->params[].name and m->n from pattern's {name} segments (values stay NULL; nothing
 * is allocated). Returns 0, or -1 with err filled when the pattern is malformed: not
 * starting with '/', an unclosed or empty brace, a brace inside a literal segment, too
 * many params or a name too long. */
int http_route_pattern_names(const char *pattern, http_route_match *m, char *err,
                             size_t errlen);

/* Decodes in[0..len) into out, which must have room for len + 1 bytes, and NUL-terminates.
 * "%41" -> "A"; '+' becomes a space only when plus_is_space (query strings, not paths).
 * Returns the decoded length, or -1 for a malformed escape ("%4", "%zz") or an escaped
 * NUL ("%00"), which could silently truncate a value downstream. */
ssize_t http_route_pct_decode(const char *in, size_t len, int plus_is_space, char *out);

/* 1 when every '%' in s[0..len) starts a well-formed escape, else 0. */
int http_route_pct_valid(const char *s, size_t len);

/* Calls fn(ctx, key, value) for each "key=value" pair of a query string (without the '?'),
 * both decoded and NUL-terminated ("" when there is no '='), in order. Empty pairs
 * ("a=1&&b=2") are skipped. Returns 0; -1 with err filled for a malformed escape or an
 * empty key; or the first nonzero value fn returns (fn fills err itself then). */
typedef int (*http_route_query_fn)(void *ctx, const char *key, const char *value,
                                   char *err, size_t errlen);
int http_route_query_each(const char *query, size_t len, http_route_query_fn fn, void *ctx,
                          char *err, size_t errlen);

#endif
