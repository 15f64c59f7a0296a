/* http_chunked: the chunked transfer coding (RFC 9112 7.1), decoded incrementally.
 *
 * Pure, like http_parse: the server feeds every byte read after the head, in pieces of
 * any size; the decoder copies the payload out and says where the body ends, so the
 * bytes after it are the next request. Malformed framing is an error, never a guess:
 * a chunk size that is not hex (or overflows), a missing CRLF after a chunk's data, a
 * chunk-size line or trailer section over the limits. Chunk extensions (";name=value")
 * are skipped; trailer fields are read and dropped. */
#ifndef WALLET_HTTP_CHUNKED_H
#define WALLET_HTTP_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_CHUNK_LINE_MAX 1024u        /* chunk-size line with its extensions */
#define HTTP_CHUNK_TRAILERS_MAX (8u * 1024u) /* all trailer lines together */

enum http_chunked_result {
  HTTP_CHUNKED_MORE = 0,  /* every byte given was consumed; the body is not over */
  HTTP_CHUNKED_DONE = 1,  /* the last chunk and the trailers ended: see *consumed */
  HTTP_CHUNKED_ERROR = -1,
};

/* Decoder state; zero it (= {0}) before each body. */
typedef struct http_chunked {
  unsigned state;      /* private to http_chunked.c */
  uint64_t remaining;  /* data bytes left in the current chunk */
  size_t line_len;     /* bytes of the current size/trailer line so far */
  size_t trailer_len;  /* bytes of trailers so far */
  int digits;          /* private */
} http_chunked;

/* Feeds in[0 .. len). Payload bytes are written to out, which has room for len bytes and
 * may be `in` itself (output never runs ahead of input). *consumed: bytes of in that
 * belong to the body (== len unless DONE); *produced: payload bytes written. Line ends
 * inside the framing must be CRLF; a bare LF is accepted as well. On ERROR, *err is a
 * static message ("malformed chunk size", ...) and the state is unusable. */
enum http_chunked_result http_chunked_feed(http_chunked *c, const char *in, size_t len,
                                           char *out, size_t *consumed, size_t *produced,
                                           const char **err);

#endif
