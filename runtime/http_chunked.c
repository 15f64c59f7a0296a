/* http_chunked: decodes the chunked transfer coding a piece at a time, in place. */
#include "http_chunked.h"
#include "hex.h"

#include <string.h>

enum {
  CH_SIZE = 0, /* in the chunk size's hex digits (zeroed state) */
  CH_SIZE_WS,  /* in whitespace after the digits (BWS before a ';') */
  CH_EXT,      /* in the chunk extensions, skipped */
  CH_SIZE_CR,  /* after the size line's CR */
  CH_DATA,     /* in a chunk's data */
  CH_DATA_END, /* after a chunk's data, before its CRLF */
  CH_DATA_CR,  /* after the CR that follows a chunk's data */
  CH_TRAILER_START, /* at the start of a trailer line, or of the final empty line */
  CH_TRAILER,  /* in a trailer line, dropped */
  CH_TRAILER_CR,
  CH_FINAL_CR, /* after the CR of the final empty line */
  CH_DONE,
};

/* Larger sizes are refused: no body of ours comes near, and the sum of chunk sizes
 * cannot overflow a uint64_t. */
#define CHUNK_SIZE_MAX (UINT64_C(1) << 62)

/* The messages are static strings; they name the limits. */
_Static_assert(HTTP_CHUNK_LINE_MAX == 1024, "the line-limit message says 1024");
_Static_assert(HTTP_CHUNK_TRAILERS_MAX == 8192, "the trailer-limit message says 8192");

/* The size line ended: the last chunk (size 0) is followed by the trailers. */
static void size_line_end(http_chunked *c) {
  c->state = c->remaining == 0 ? CH_TRAILER_START : CH_DATA;
  c->line_len = 0;
  c->digits = 0;
}

enum http_chunked_result http_chunked_feed(http_chunked *c, const char *in, size_t len,
                                           char *out, size_t *consumed, size_t *produced,
                                           const char **err) {
  size_t i = 0, o = 0;
  const char *e = NULL;
  while (i < len && c->state != CH_DONE) {
    if (c->state == CH_DATA) {
      /* copy what is here of the chunk at once; out may be in, and o <= i */
      size_t n = len - i;
      if ((uint64_t)n > c->remaining)
        n = (size_t)c->remaining;
      memmove(out + o, in + i, n);
      o += n;
      i += n;
      c->remaining -= n;
      if (c->remaining == 0)
        c->state = CH_DATA_END;
      continue;
    }
    unsigned char b = (unsigned char)in[i];
    switch (c->state) {
    case CH_SIZE:
    case CH_SIZE_WS:
    case CH_EXT:
      if (b == '\r' || b == '\n') {
        if (c->digits == 0) {
          e = "missing chunk size";
          goto fail;
        }
        if (b == '\n')
          size_line_end(c);
        else
          c->state = CH_SIZE_CR;
        break;
      }
      if (++c->line_len > HTTP_CHUNK_LINE_MAX) {
        e = "chunk size line longer than 1024 bytes";
        goto fail;
      }
      if (c->state == CH_EXT) {
        if ((b < 0x20 && b != '\t') || b == 0x7f) {
          e = "malformed chunk extension";
          goto fail;
        }
      } else if (b == ';' || b == ' ' || b == '\t') {
        if (c->digits == 0) {
          e = "missing chunk size";
          goto fail;
        }
        c->state = b == ';' ? CH_EXT : CH_SIZE_WS;
      } else if (c->state == CH_SIZE && hex_digit(b) >= 0) {
        uint64_t v = (uint64_t)hex_digit(b);
        if (c->remaining > (CHUNK_SIZE_MAX - v) / 16) {
          e = "chunk size too large";
          goto fail;
        }
        c->remaining = c->remaining * 16 + v;
        c->digits = 1; /* leading zeros are fine: the line limit bounds them */
      } else {
        e = "malformed chunk size";
        goto fail;
      }
      break;
    case CH_SIZE_CR:
      if (b != '\n') {
        e = "CR not followed by LF in a chunk size line";
        goto fail;
      }
      size_line_end(c);
      break;
    case CH_DATA_END:
    case CH_DATA_CR:
      if (b == '\r' && c->state == CH_DATA_END) {
        c->state = CH_DATA_CR;
      } else if (b == '\n') {
        c->state = CH_SIZE;
      } else {
        e = "missing CRLF after chunk data";
        goto fail;
      }
      break;
    case CH_TRAILER_START:
      if (b == '\n') {
        c->state = CH_DONE;
        break;
      }
      if (b == '\r') {
        c->state = CH_FINAL_CR;
        break;
      }
      c->state = CH_TRAILER;
      /* fall through */
    case CH_TRAILER:
    case CH_TRAILER_CR:
      if (c->state == CH_TRAILER_CR && b != '\n') {
        e = "CR not followed by LF in a trailer line";
        goto fail;
      }
      if (++c->trailer_len > HTTP_CHUNK_TRAILERS_MAX) {
        e = "trailer section larger than 8192 bytes";
        goto fail;
      }
      if (b == '\n')
        c->state = CH_TRAILER_START;
      else if (b == '\r')
        c->state = CH_TRAILER_CR;
      break;
    case CH_FINAL_CR:
      if (b != '\n') {
        e = "CR not followed by LF after the trailer section";
        goto fail;
      }
      c->state = CH_DONE;
      break;
    }
    i++;
  }
  *consumed = i;
  *produced = o;
  return c->state == CH_DONE ? HTTP_CHUNKED_DONE : HTTP_CHUNKED_MORE;
fail:
  *consumed = i;
  *produced = o;
  *err = e;
  return HTTP_CHUNKED_ERROR;
}
