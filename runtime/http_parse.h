/* http_parse: the HTTP/1.1 request head, as RFC 9112 defines it, parsed strictly.
 *
 * Pure functions over bytes: no I/O, no allocation, so they can be fuzzed alone. The
 * server runs them in two steps:
 *   1. http_head_scan_feed, on every read, finds where the head ends. It resumes where
 *      it stopped (a client that trickles one byte at a time costs O(n), not O(n^2)) and
 *      refuses early what can never become a valid head: a method byte that is not a
 *      token character (a TLS hello on a plain port), a request line or head over the
 *      limits below.
 *   2. http_parse_head, once, on the complete head: the request line and every header
 *      line, each checked; the head is cut into NUL-terminated strings in place.
 * Every refusal carries the status to answer (400, 414, 431, 505) and a message naming
 * what is wrong, for the grpc-gateway JSON error body. */
#ifndef WALLET_HTTP_PARSE_H
#define WALLET_HTTP_PARSE_H

#include <stddef.h>

/* Limits a request head must fit (the README's Limits table states them). */
#define HTTP_MAX_URI_BYTES (8u * 1024u)     /* request target: longer is a 414 */
#define HTTP_MAX_HEADER_BYTES (16u * 1024u) /* header lines together: more is a 431 */
#define HTTP_MAX_HEADERS 100u               /* header lines: more is a 431 */
#define HTTP_MAX_METHOD_BYTES 32u           /* a longer method is a 400 */
/* A request line longer than this without its line end is a 414 before it is complete. */
#define HTTP_MAX_REQUEST_LINE (HTTP_MAX_URI_BYTES + HTTP_MAX_METHOD_BYTES + 16u)
/* A head not complete within this many bytes is a 431 (414 while still in the line). */
#define HTTP_MAX_HEAD_BYTES (HTTP_MAX_REQUEST_LINE + HTTP_MAX_HEADER_BYTES + 2u)
/* Empty lines accepted before a request line (RFC 9112 2.2: ignore at least one). */
#define HTTP_MAX_LEADING_EMPTY_LINES 8u

typedef struct http_parse_error {
  unsigned status;  /* 400, 414, 431 or 505 */
  char message[96]; /* e.g. "header line 3 has no colon"; never quotes client bytes */
} http_parse_error;

enum http_scan_result {
  HTTP_SCAN_MORE = 0, /* no end of head yet: read more */
  HTTP_SCAN_DONE = 1, /* the head is complete: see start and end */
  HTTP_SCAN_ERROR = -1,
};

/* Scanner state; zero it (= {0}) before the first byte of each request head. */
typedef struct http_head_scan {
  size_t pos;        /* bytes of buf examined so far */
  size_t start;      /* where the request line starts (after leading empty lines) */
  size_t line_end;   /* offset just past the request line's LF; 0 until it is seen */
  size_t end;        /* when DONE: offset just past the head's final empty line */
  unsigned state;    /* private to http_parse.c */
  unsigned leading;  /* private: leading empty lines seen */
} http_head_scan;

/* Examines buf[s->pos .. len) (buf[0 .. s->pos) must be unchanged since the last call;
 * len never shrinks). Line ends are CRLF or a bare LF; a CR not followed by LF is a 400.
 * DONE: the head is buf[s->start .. s->end) and bytes after s->end belong to the body
 * or the next request. ERROR: err is set; nothing more should be read. */
enum http_scan_result http_head_scan_feed(http_head_scan *s, const char *buf, size_t len,
                                          http_parse_error *err);

typedef struct http_header {
  char *name; /* as sent (compare case-insensitively), NUL-terminated */
  char *value; /* leading and trailing spaces/tabs removed, NUL-terminated, may be "" */
} http_header;

typedef struct http_head {
  char *method;       /* a token, e.g. "GET"; case-sensitive (RFC 9110 9.1) */
  char *target;       /* the request target exactly as sent, e.g. "/a%2Fb?x=1" */
  size_t target_len;
  unsigned minor;     /* HTTP/1.<minor>: 0 or 1 */
  http_header headers[HTTP_MAX_HEADERS];
  size_t nheaders;
} http_head;

/* Parses the complete head buf[0 .. len) (from http_head_scan: buf + start, end - start)
 * in place: CR/LF/SP/colon bytes become NUL so the strings in *out point into buf.
 * Returns 0, or -1 with err set. Refused with 400: a method that is not a token or is
 * longer than HTTP_MAX_METHOD_BYTES; anything but exactly one SP between the three parts;
 * a target with a byte outside 0x21-0x7E; a version that is not "HTTP/" DIGIT "." DIGIT;
 * a header line without a colon, with an empty name, a non-token name, whitespace before
 * the colon, or a line that starts with SP/HTAB (obs-fold); a value with a control byte
 * other than HTAB (bytes 0x80-0xFF are accepted, RFC 9110 5.5 obs-text). 414: a target
 * over HTTP_MAX_URI_BYTES. 431: header lines over HTTP_MAX_HEADER_BYTES in total (each
 * counted with its line end) or more than HTTP_MAX_HEADERS of them. 505: a well-formed
 * version other than HTTP/1.0 and HTTP/1.1. */
int http_parse_head(char *buf, size_t len, http_head *out, http_parse_error *err);

/* The first header named `name` (case-insensitive), or NULL. */
const char *http_head_get(const http_head *h, const char *name);
/* How many headers are named `name` (case-insensitive). */
size_t http_head_count(const http_head *h, const char *name);

#endif
