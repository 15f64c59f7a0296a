/* format: the -f / --format line language, parsed once into tokens, applied per record.
 *
 *   %t topic   %p partition   %o offset   %k key (text; "base64:..." when not UTF-8)
 *   %K key length (-1 for a null key)   %T timestamp in ms (-1 when not available)
 *   %h headers as name=value,name=value (binary values as base64:...)
 *   %y type name ("-" when none)   %v value as compact JSON; "null" for a tombstone;
 *   "!<error> base64:<bytes>" when it did not decode   %s the raw value bytes (as kcat;
 *   --format '%s' > value.bin feeds --decode)   %S value length (-1 when null)
 *   %e decode error ("" when none)   %% percent   \n \t \r \\ escapes.
 * Any other %x or a trailing % is an error, so a typo is caught before consuming. */
#ifndef EVENTCAT_FORMAT_H
#define EVENTCAT_FORMAT_H

#include <stddef.h>
#include <stdio.h>
#include <librdkafka/rdkafka.h>

#include "decode.h"

typedef struct format_spec format_spec;

/* Parses fmt. Returns a new spec (free with format_free), or NULL with err filled
 * ("--format: unknown token %x at 3"). */
format_spec *format_parse(const char *fmt, char *err, size_t errlen);

/* Writes one record through f to out, in one fwrite (so lines from one process never
 * interleave mid-record). Returns 0, or -1 on a write error or out of memory (errno). */
int format_render(const format_spec *f, const rd_kafka_message_t *m, const decode_result *r,
                  FILE *out);

/* NULL no-op. */
void format_free(format_spec *f);

#endif
