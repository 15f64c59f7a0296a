/* pbjson: the proto3 JSON mapping for protobuf-c messages, driven by their descriptors.
 *
 * Output: proto field names (snake_case); int64/uint64/fixed64 as decimal strings;
 * enums by name; bytes as standard base64; google.protobuf.Timestamp as RFC 3339 UTC
 * ("2026-11-29T15:04:05.123Z"); repeated as arrays; oneofs by their case field.
 * Input: proto or lowerCamelCase names; 64-bit integers as strings or JSON numbers,
 * parsed exactly (never through a double); enums by name or number; bytes as standard
 * or URL-safe base64; null means default. Strings must be valid UTF-8.
 */
#ifndef WALLET_PBJSON_H
#define WALLET_PBJSON_H

#include <stddef.h>
#include <cjson/cJSON.h>
#include <protobuf-c/protobuf-c.h>

#define PBJSON_ERR_MAX 256
#define PBJSON_MAX_DEPTH 32 /* deeper nesting is rejected, not recursed into */

enum pbjson_print_flags {
  PBJSON_EMIT_DEFAULTS = 1 << 0, /* print zero/empty scalar fields too (protojson EmitUnpopulated) */
  PBJSON_PRETTY = 1 << 1,        /* indented output */
};

enum pbjson_parse_flags {
  PBJSON_IGNORE_UNKNOWN = 1 << 0, /* skip unknown field names instead of failing */
};

/* Parses `json` (len bytes, need not be NUL-terminated) into a new message of type
 * `desc`. On success returns 0 and sets *out; the caller frees it with
 * protobuf_c_message_free_unpacked(*out, NULL). On failure returns -1, sets *out to NULL
 * and writes into err a message naming the field path and the problem, e.g.
 * "amount: invalid int64 value \"12x\"" or "account_id_from: expected string, got number". */
int pbjson_parse(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
                 int flags, ProtobufCMessage **out, char *err, size_t errlen);

/* Same, from an already parsed cJSON object (not taken). */
int pbjson_from_cjson(const ProtobufCMessageDescriptor *desc, const cJSON *json, int flags,
                      ProtobufCMessage **out, char *err, size_t errlen);

/* Sets one field of `msg`, named by its proto or JSON name, from a text value as found in
 * a URL path or query string (a string field takes it as is; numbers, bools and enums
 * are parsed as in JSON). Only singular scalar, string, enum and bytes fields.
 * Returns 0, or -1 with err filled ("min_version: invalid int64 value \"x\"",
 * "unknown field \"foo\""). A previous string value owned by msg is freed. */
int pbjson_set_field(ProtobufCMessage *msg, const char *name, const char *value,
                     char *err, size_t errlen);

/* Prints `msg` as a new NUL-terminated JSON string (caller frees with free()).
 * Returns NULL on allocation failure or a message that cannot be represented (invalid
 * UTF-8 in a string field), with err filled. */
char *pbjson_print(const ProtobufCMessage *msg, int flags, char *err, size_t errlen);

/* Same, as a cJSON tree (caller frees with cJSON_Delete). */
cJSON *pbjson_to_cjson(const ProtobufCMessage *msg, int flags, char *err, size_t errlen);

#endif
