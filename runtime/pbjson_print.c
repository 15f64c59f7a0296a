/* pbjson_print: protobuf-c messages to JSON text, by descriptor, written straight into
 * one growing buffer. The text is byte for byte what cJSON prints (unformatted, or
 * cJSON_Print's layout with PBJSON_PRETTY): it used to be a cJSON tree printed by cJSON,
 * a malloc per value and per string, about twenty per answered transfer. */
#include <inttypes.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "pbjson_internal.h"
#include "utf8.h"

struct wctx {
  int flags;
  char *err;
  size_t errlen;
  struct pbjson_path path;
  int depth;  /* messages open (PBJSON_MAX_DEPTH) */
  int indent; /* containers open, as cJSON counts them for its tabs */
  char *buf;
  size_t len, cap;
  int failed; /* out of memory: everything after is dropped */
};

#define WERR(c, ...) pbjson_errorf(&(c)->path, (c)->err, (c)->errlen, __VA_ARGS__)

static int print_message(struct wctx *c, const ProtobufCMessage *m);

static int oom(struct wctx *c) {
  WERR(c, "out of memory");
  return -1;
}

/* ---- the output buffer ---- */

static int reserve(struct wctx *c, size_t n) {
  if (c->failed) return -1;
  if (c->cap - c->len > n) return 0; /* room for n bytes and the final NUL */
  size_t cap = c->cap ? c->cap : 256;
  while (cap - c->len <= n) {
    if (cap > SIZE_MAX / 2) {
      c->failed = 1;
      return -1;
    }
    cap *= 2;
  }
  char *g = realloc(c->buf, cap);
  if (!g) {
    c->failed = 1;
    return -1;
  }
  c->buf = g;
  c->cap = cap;
  return 0;
}

static void put(struct wctx *c, const char *s, size_t n) {
  if (reserve(c, n)) return;
  memcpy(c->buf + c->len, s, n);
  c->len += n;
}

static void put_str(struct wctx *c, const char *s) { put(c, s, strlen(s)); }

static void put_ch(struct wctx *c, char ch) { put(c, &ch, 1); }

static void put_tabs(struct wctx *c, int n) {
  for (int i = 0; i < n; i++) put_ch(c, '\t');
}

/* A JSON string as cJSON escapes it: quote, backslash and the control characters;
 * everything else (UTF-8 included) as is. */
static void put_quoted(struct wctx *c, const char *s) {
  static const char hex[] = "0123456789abcdef";
  size_t n = strlen(s), extra = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch == '"' || ch == '\\' || ch == '\b' || ch == '\f' || ch == '\n' || ch == '\r' ||
        ch == '\t')
      extra += 1;
    else if (ch < 32)
      extra += 5;
  }
  if (reserve(c, n + extra + 2)) return;
  char *o = c->buf + c->len;
  *o++ = '"';
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch >= 32 && ch != '"' && ch != '\\') {
      *o++ = (char)ch;
      continue;
    }
    *o++ = '\\';
    switch (ch) {
    case '"': *o++ = '"'; break;
    case '\\': *o++ = '\\'; break;
    case '\b': *o++ = 'b'; break;
    case '\f': *o++ = 'f'; break;
    case '\n': *o++ = 'n'; break;
    case '\r': *o++ = 'r'; break;
    case '\t': *o++ = 't'; break;
    default:
      *o++ = 'u';
      *o++ = '0';
      *o++ = '0';
      *o++ = hex[ch >> 4];
      *o++ = hex[ch & 15];
    }
  }
  *o++ = '"';
  c->len = (size_t)(o - c->buf);
}

static void put_u64(struct wctx *c, uint64_t v, int neg) {
  char tmp[24];
  char *o = tmp + sizeof tmp;
  do {
    *--o = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  if (neg) *--o = '-';
  put(c, o, (size_t)(tmp + sizeof tmp - o));
}

static void put_i64(struct wctx *c, int64_t v) {
  put_u64(c, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0);
}

/* A number as cJSON 1.7.15 prints one it holds as a double: 15 significant digits, 17
 * if those do not read back (within its tolerance). Integers take put_i64: the same
 * digits for every 32-bit value. */
static void put_number(struct wctx *c, double d) {
  char buf[40];
  int n = snprintf(buf, sizeof buf, "%1.15g", d);
  double back = strtod(buf, NULL);
  double mag = fabs(back) > fabs(d) ? fabs(back) : fabs(d);
  if (!(fabs(back - d) <= mag * DBL_EPSILON)) n = snprintf(buf, sizeof buf, "%1.17g", d);
  put(c, buf, (size_t)n);
}

/* ---- containers, with cJSON_Print's layout when pretty ---- */

static int pretty(const struct wctx *c) { return (c->flags & PBJSON_PRETTY) != 0; }

static void open_obj(struct wctx *c) {
  put_str(c, pretty(c) ? "{\n" : "{");
  c->indent++;
}

/* Before member i: the comma and line break after the previous one, and the indent. */
static void obj_key(struct wctx *c, size_t i, const char *key) {
  if (i > 0) put_str(c, pretty(c) ? ",\n" : ",");
  if (pretty(c)) put_tabs(c, c->indent);
  put_quoted(c, key);
  put_str(c, pretty(c) ? ":\t" : ":");
}

static void close_obj(struct wctx *c, size_t members) {
  if (pretty(c)) {
    if (members > 0) put_ch(c, '\n');
    put_tabs(c, c->indent - 1);
  }
  put_ch(c, '}');
  c->indent--;
}

static void open_arr(struct wctx *c) {
  put_ch(c, '[');
  c->indent++;
}

static void arr_sep(struct wctx *c, size_t i) {
  if (i > 0) put_str(c, pretty(c) ? ", " : ",");
}

static void close_arr(struct wctx *c) {
  put_ch(c, ']');
  c->indent--;
}

/* ---- values ---- */

/* Doubles print as the shortest text that reads back exactly: with at most 15
 * significant digits as a number cJSON would print (the same digits), else as that
 * text itself (cJSON's own "%1.15g" would round 1.7976931348623157e308). */
static void print_double(struct wctx *c, double d, int is_float) {
  if (isnan(d)) {
    put_quoted(c, "NaN");
    return;
  }
  if (isinf(d)) {
    put_quoted(c, d > 0 ? "Infinity" : "-Infinity");
    return;
  }
  char buf[40];
  int prec;
  if (is_float) {
    float f = (float)d;
    for (prec = 1; prec < 9; prec++) {
      snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
      if (strtof(buf, NULL) == f) break;
    }
    snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
    d = strtod(buf, NULL);
  } else {
    for (prec = 1; prec < 17; prec++) {
      snprintf(buf, sizeof buf, "%.*g", prec, d);
      if (strtod(buf, NULL) == d) break;
    }
    snprintf(buf, sizeof buf, "%.*g", prec, d);
  }
  if (prec <= 15)
    put_number(c, d);
  else
    put_str(c, buf);
}

static int print_string(struct wctx *c, const char *s) {
  if (!s) s = "";
  if (!utf8_valid(s, strlen(s))) {
    WERR(c, "string is not valid UTF-8");
    return -1;
  }
  put_quoted(c, s);
  return 0;
}

/* One value of field f's type, stored at v. */
static int print_value(struct wctx *c, const ProtobufCFieldDescriptor *f, const void *v) {
  switch (f->type) {
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_SINT32:
  case PROTOBUF_C_TYPE_SFIXED32:
    put_i64(c, *(const int32_t *)v);
    return 0;
  case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_FIXED32:
    put_u64(c, *(const uint32_t *)v, 0);
    return 0;
  case PROTOBUF_C_TYPE_INT64:
  case PROTOBUF_C_TYPE_SINT64:
  case PROTOBUF_C_TYPE_SFIXED64:
    /* 64-bit integers are strings: JavaScript numbers are doubles. */
    put_ch(c, '"');
    put_i64(c, *(const int64_t *)v);
    put_ch(c, '"');
    return 0;
  case PROTOBUF_C_TYPE_UINT64:
  case PROTOBUF_C_TYPE_FIXED64:
    put_ch(c, '"');
    put_u64(c, *(const uint64_t *)v, 0);
    put_ch(c, '"');
    return 0;
  case PROTOBUF_C_TYPE_FLOAT:
    print_double(c, *(const float *)v, 1);
    return 0;
  case PROTOBUF_C_TYPE_DOUBLE:
    print_double(c, *(const double *)v, 0);
    return 0;
  case PROTOBUF_C_TYPE_BOOL:
    put_str(c, *(const protobuf_c_boolean *)v ? "true" : "false");
    return 0;
  case PROTOBUF_C_TYPE_ENUM: {
    int e = *(const int *)v;
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, e);
    /* An unknown number (a newer writer's value) is kept as a number. */
    if (ev)
      put_quoted(c, ev->name);
    else
      put_i64(c, e);
    return 0;
  }
  case PROTOBUF_C_TYPE_STRING:
    return print_string(c, *(char *const *)v);
  case PROTOBUF_C_TYPE_BYTES: {
    const ProtobufCBinaryData *b = v;
    if (b->len && !b->data) {
      WERR(c, "bytes field has a length but no data");
      return -1;
    }
    char *s = base64_encode(b->data, b->len);
    if (!s) return oom(c);
    put_quoted(c, s);
    free(s);
    return 0;
  }
  case PROTOBUF_C_TYPE_MESSAGE: {
    const ProtobufCMessage *m = *(ProtobufCMessage *const *)v;
    if (!m) {
      put_str(c, "null");
      return 0;
    }
    return print_message(c, m);
  }
  }
  WERR(c, "unsupported field type %s", pbjson_type_name(f->type));
  return -1;
}

static int is_zero(const ProtobufCFieldDescriptor *f, const void *v) {
  switch (f->type) {
  case PROTOBUF_C_TYPE_STRING: {
    const char *s = *(char *const *)v;
    return !s || !*s;
  }
  case PROTOBUF_C_TYPE_BYTES:
    return ((const ProtobufCBinaryData *)v)->len == 0;
  case PROTOBUF_C_TYPE_MESSAGE:
    return *(ProtobufCMessage *const *)v == NULL;
  case PROTOBUF_C_TYPE_FLOAT: {
    float x = *(const float *)v;
    return x == 0 && !signbit(x);
  }
  case PROTOBUF_C_TYPE_DOUBLE: {
    double x = *(const double *)v;
    return x == 0 && !signbit(x);
  }
  default: {
    static const char zeros[8];
    return memcmp(v, zeros, pbjson_value_size(f->type)) == 0;
  }
  }
}

static void empty_obj(struct wctx *c) {
  open_obj(c);
  close_obj(c, 0);
}

static int print_map(struct wctx *c, const ProtobufCFieldDescriptor *f,
                     ProtobufCMessage *const *entries, size_t n) {
  const ProtobufCMessageDescriptor *ed = f->descriptor;
  const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
  open_obj(c);
  size_t members = 0;
  for (size_t i = 0; i < n; i++) {
    const char *e = (const char *)entries[i];
    if (!e) continue;
    const void *kv = e + kf->offset, *vv = e + vf->offset;
    char kbuf[32];
    const char *key = kbuf;
    switch (kf->type) {
    case PROTOBUF_C_TYPE_STRING:
      key = *(char *const *)kv ? *(char *const *)kv : "";
      if (!utf8_valid(key, strlen(key))) {
        WERR(c, "map key is not valid UTF-8");
        return -1;
      }
      break;
    case PROTOBUF_C_TYPE_BOOL:
      key = *(const protobuf_c_boolean *)kv ? "true" : "false";
      break;
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
      snprintf(kbuf, sizeof kbuf, "%" PRId32, *(const int32_t *)kv);
      break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
      snprintf(kbuf, sizeof kbuf, "%" PRIu32, *(const uint32_t *)kv);
      break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
      snprintf(kbuf, sizeof kbuf, "%" PRId64, *(const int64_t *)kv);
      break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
      snprintf(kbuf, sizeof kbuf, "%" PRIu64, *(const uint64_t *)kv);
      break;
    default:
      WERR(c, "unsupported map key type %s", pbjson_type_name(kf->type));
      return -1;
    }
    size_t saved = pbjson_path_push_key(&c->path, key);
    obj_key(c, members++, key);
    int rc = 0;
    if (vf->type == PROTOBUF_C_TYPE_MESSAGE && !*(ProtobufCMessage *const *)vv)
      empty_obj(c); /* an unset message value reads as an empty one */
    else
      rc = print_value(c, vf, vv);
    pbjson_path_pop(&c->path, saved);
    if (rc) return -1;
  }
  close_obj(c, members);
  return 0;
}

static int print_repeated(struct wctx *c, const ProtobufCFieldDescriptor *f, const char *arr,
                          size_t n) {
  if (pbjson_is_map(f)) return print_map(c, f, (ProtobufCMessage *const *)arr, n);
  open_arr(c);
  size_t esize = pbjson_value_size(f->type);
  for (size_t i = 0; i < n; i++) {
    size_t saved = pbjson_path_push_index(&c->path, i);
    const void *v = arr + i * esize;
    int rc;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE && !*(ProtobufCMessage *const *)v) {
      WERR(c, "NULL element in a repeated message field");
      rc = -1;
    } else {
      arr_sep(c, i);
      rc = print_value(c, f, v);
    }
    pbjson_path_pop(&c->path, saved);
    if (rc) return -1;
  }
  close_arr(c);
  return 0;
}

static int print_timestamp(struct wctx *c, const ProtobufCMessage *m) {
  const Google__Protobuf__Timestamp *ts = (const Google__Protobuf__Timestamp *)m;
  char buf[40];
  if (pbjson_ts_format(ts->seconds, ts->nanos, buf, sizeof buf)) {
    WERR(c, "timestamp out of range (seconds %" PRId64 ", nanos %" PRId32 ")", ts->seconds,
         ts->nanos);
    return -1;
  }
  put_quoted(c, buf);
  return 0;
}

/* Whether field f of the message at base is printed, and how: 1 its value, 2 an empty
 * container, 3 null, 0 not at all. */
static int field_shown(const struct wctx *c, const ProtobufCFieldDescriptor *f,
                       const char *base) {
  const void *v = base + f->offset;
  int emit = c->flags & PBJSON_EMIT_DEFAULTS;
  if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
    /* A set oneof member is printed even when it holds its zero value. */
    if (*(const uint32_t *)(base + f->quantifier_offset) != f->id) return 0;
    return f->type == PROTOBUF_C_TYPE_MESSAGE && !*(ProtobufCMessage *const *)v ? 3 : 1;
  }
  if (f->label == PROTOBUF_C_LABEL_REPEATED) {
    size_t n = *(const size_t *)(base + f->quantifier_offset);
    if (n > 0) return 1;
    return emit ? 2 : 0;
  }
  int present;
  if (f->label == PROTOBUF_C_LABEL_OPTIONAL) {
    /* proto2 presence, as protobuf-c's packer decides it. */
    if (f->type == PROTOBUF_C_TYPE_STRING || f->type == PROTOBUF_C_TYPE_MESSAGE) {
      const void *p = *(const void *const *)v;
      present = p && p != f->default_value;
    } else {
      present = *(const protobuf_c_boolean *)(base + f->quantifier_offset) != 0;
    }
  } else if (f->label == PROTOBUF_C_LABEL_REQUIRED) {
    present = 1;
  } else {
    present = !is_zero(f, v);
  }
  if (!present && !emit) return 0;
  /* EmitUnpopulated prints unset messages as null */
  return f->type == PROTOBUF_C_TYPE_MESSAGE && !*(ProtobufCMessage *const *)v ? 3 : 1;
}

static int print_message(struct wctx *c, const ProtobufCMessage *m) {
  const ProtobufCMessageDescriptor *d = m->descriptor;
  if (pbjson_is_timestamp(d)) return print_timestamp(c, m);
  if (c->depth >= PBJSON_MAX_DEPTH) {
    WERR(c, "nesting deeper than %d levels", PBJSON_MAX_DEPTH);
    return -1;
  }
  c->depth++;
  const char *base = (const char *)m;
  open_obj(c);
  size_t members = 0;
  int rc = 0;
  for (unsigned i = 0; i < d->n_fields && rc == 0; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    int how = field_shown(c, f, base);
    if (how == 0) continue;
    size_t saved = pbjson_path_push_field(&c->path, f->name);
    obj_key(c, members++, f->name);
    const void *v = base + f->offset;
    if (how == 3) {
      put_str(c, "null");
    } else if (how == 2) {
      if (pbjson_is_map(f)) {
        empty_obj(c);
      } else {
        open_arr(c);
        close_arr(c);
      }
    } else if (f->label == PROTOBUF_C_LABEL_REPEATED &&
               !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)) {
      rc = print_repeated(c, f, *(char *const *)v, *(const size_t *)(base + f->quantifier_offset));
    } else {
      rc = print_value(c, f, v);
    }
    pbjson_path_pop(&c->path, saved);
  }
  c->depth--;
  if (rc) return -1;
  close_obj(c, members);
  return 0;
}

char *pbjson_print(const ProtobufCMessage *msg, int flags, char *err, size_t errlen) {
  struct wctx c = {.flags = flags, .err = err, .errlen = errlen};
  if (err && errlen) err[0] = '\0';
  if (!msg) {
    WERR(&c, "no message");
    return NULL;
  }
  int rc = print_message(&c, msg);
  if (rc == 0 && c.failed) rc = oom(&c);
  if (rc == 0 && reserve(&c, 0) != 0) rc = oom(&c);
  if (rc != 0) {
    if (err && errlen && !err[0]) WERR(&c, "out of memory");
    free(c.buf);
    return NULL;
  }
  c.buf[c.len] = '\0';
  return c.buf;
}

cJSON *pbjson_to_cjson(const ProtobufCMessage *msg, int flags, char *err, size_t errlen) {
  char *s = pbjson_print(msg, flags & ~PBJSON_PRETTY, err, errlen);
  if (!s) return NULL;
  cJSON *j = pbjson_json_read(s, strlen(s), 2 * PBJSON_MAX_DEPTH + 2, err, errlen);
  free(s);
  return j;
}
