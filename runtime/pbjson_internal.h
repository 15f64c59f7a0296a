/* pbjson_internal: what the pbjson_*.c files share; not part of the runtime's contract. */
#ifndef WALLET_PBJSON_INTERNAL_H
#define WALLET_PBJSON_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "pbjson.h"

/* --- pbjson_json.c: strict RFC 8259 reader --- */

/* Parses s[0..len) into a cJSON tree (caller frees with cJSON_Delete), or NULL with err
 * filled. Unlike cJSON_Parse it is strict (no leading zeros, no "1."), rejects invalid
 * UTF-8, NUL characters and nesting deeper than max_depth, and keeps every number's
 * original text in its valuestring so 64-bit integers can be read exactly. */
cJSON *pbjson_json_read(const char *s, size_t len, int max_depth, char *err, size_t errlen);

/* --- pbjson_number.c: exact number text conversions --- */

/* Length of the JSON number (RFC 8259 grammar) at the start of s[0..len), or 0. */
size_t pbjson_number_span(const char *s, size_t len);

enum pbjson_num_status {
  PBJSON_NUM_OK = 0,
  PBJSON_NUM_SYNTAX = -1,   /* not a JSON number */
  PBJSON_NUM_FRACTION = -2, /* a number, but not an integer */
  PBJSON_NUM_RANGE = -3,    /* an integer whose magnitude exceeds UINT64_MAX */
};

/* Converts the JSON number s[0..len) (all of it) to sign and magnitude, exactly: "1e2",
 * "100.0" and "-0" are integers; "1.5" is not. Returns an enum pbjson_num_status. */
int pbjson_number_to_int(const char *s, size_t len, int *neg, uint64_t *mag);

/* Converts the NUL-terminated JSON number s (all of it) to a double. Returns 0, or -1
 * when it is not a JSON number or overflows to infinity. */
int pbjson_number_to_double(const char *s, double *out);

/* --- pbjson_timestamp.c: google.protobuf.Timestamp <-> RFC 3339 --- */

#define PBJSON_TS_MIN_SECONDS (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define PBJSON_TS_MAX_SECONDS 253402300799LL   /* 9999-12-31T23:59:59Z */

/* Parses "YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|+HH:MM|-HH:MM)". Returns 0 or -1. */
int pbjson_ts_parse(const char *s, int64_t *seconds, int32_t *nanos);

/* Formats as UTC with 0, 3, 6 or 9 fractional digits into out (>= 32 bytes). Returns 0,
 * or -1 when seconds or nanos are out of the Timestamp range. */
int pbjson_ts_format(int64_t seconds, int32_t nanos, char *out, size_t outlen);

/* --- pbjson_desc.c: descriptor helpers --- */

int pbjson_is_timestamp(const ProtobufCMessageDescriptor *d);
/* 1 when f is a map<K,V> field (a repeated, generated "XxxEntry" message with key/value). */
int pbjson_is_map(const ProtobufCFieldDescriptor *f);
/* 1 when key is f's proto name or its lowerCamelCase JSON name. */
int pbjson_name_matches(const ProtobufCFieldDescriptor *f, const char *key);
const ProtobufCFieldDescriptor *pbjson_field_by_name(const ProtobufCMessageDescriptor *d,
                                                     const char *key);
/* Bytes one value of type t occupies in a message (a repeated array's element size). */
size_t pbjson_value_size(ProtobufCType t);
const char *pbjson_type_name(ProtobufCType t);
const char *pbjson_cjson_kind(const cJSON *j);
/* A short, printable-ASCII rendering of s for error messages (out >= 48 bytes). */
void pbjson_snippet(const char *s, char *out, size_t outlen);

/* A field path under construction, "dependencies[1].name", and the error it prefixes. */
struct pbjson_path {
  char buf[192];
  size_t len;
};
size_t pbjson_path_push_field(struct pbjson_path *p, const char *name);
size_t pbjson_path_push_index(struct pbjson_path *p, size_t i);
size_t pbjson_path_push_key(struct pbjson_path *p, const char *key);
void pbjson_path_pop(struct pbjson_path *p, size_t saved_len);
/* Writes "path: message" (or just the message at the top) into err. */
void pbjson_errorf(const struct pbjson_path *p, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
