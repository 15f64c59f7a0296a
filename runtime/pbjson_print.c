/* pbjson_print: protobuf-c messages to JSON (cJSON trees or text), by descriptor. */
#include <inttypes.h>
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
  int depth;
};

#define WERR(c, ...) pbjson_errorf(&(c)->path, (c)->err, (c)->errlen, __VA_ARGS__)

static cJSON *print_message(struct wctx *c, const ProtobufCMessage *m);

static cJSON *oom(struct wctx *c) {
  WERR(c, "out of memory");
  return NULL;
}

/* cJSON prints doubles with "%1.15g" and accepts that when it reads back only
 * approximately (1.7.15's compare_double), so 1.7976931348623157e308 would come out as
 * 1.79769313486232e+308. We print the shortest text that reads back exactly: as a cJSON
 * number when it has at most 15 significant digits (cJSON then prints those same digits),
 * else as raw JSON text. */
static cJSON *print_double(double d, int is_float) {
  if (isnan(d)) return cJSON_CreateString("NaN");
  if (isinf(d)) return cJSON_CreateString(d > 0 ? "Infinity" : "-Infinity");
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
  if (prec <= 15) return cJSON_CreateNumber(d);
  return cJSON_CreateRaw(buf);
}

static cJSON *print_string(struct wctx *c, const char *s) {
  if (!s) s = "";
  if (!utf8_valid(s, strlen(s))) {
    WERR(c, "string is not valid UTF-8");
    return NULL;
  }
  cJSON *j = cJSON_CreateString(s);
  return j ? j : oom(c);
}

/* One value of field f's type, stored at v. */
static cJSON *print_value(struct wctx *c, const ProtobufCFieldDescriptor *f, const void *v) {
  char buf[32];
  cJSON *j = NULL;
  switch (f->type) {
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_SINT32:
  case PROTOBUF_C_TYPE_SFIXED32:
    j = cJSON_CreateNumber(*(const int32_t *)v);
    break;
  case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_FIXED32:
    j = cJSON_CreateNumber(*(const uint32_t *)v);
    break;
  case PROTOBUF_C_TYPE_INT64:
  case PROTOBUF_C_TYPE_SINT64:
  case PROTOBUF_C_TYPE_SFIXED64:
    /* 64-bit integers are strings: JavaScript numbers are doubles. */
    snprintf(buf, sizeof buf, "%" PRId64, *(const int64_t *)v);
    j = cJSON_CreateString(buf);
    break;
  case PROTOBUF_C_TYPE_UINT64:
  case PROTOBUF_C_TYPE_FIXED64:
    snprintf(buf, sizeof buf, "%" PRIu64, *(const uint64_t *)v);
    j = cJSON_CreateString(buf);
    break;
  case PROTOBUF_C_TYPE_FLOAT:
    j = print_double(*(const float *)v, 1);
    break;
  case PROTOBUF_C_TYPE_DOUBLE:
    j = print_double(*(const double *)v, 0);
    break;
  case PROTOBUF_C_TYPE_BOOL:
    j = cJSON_CreateBool(*(const protobuf_c_boolean *)v != 0);
    break;
  case PROTOBUF_C_TYPE_ENUM: {
    int e = *(const int *)v;
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, e);
    /* An unknown number (a newer writer's value) is kept as a number. */
    j = ev ? cJSON_CreateString(ev->name) : cJSON_CreateNumber(e);
    break;
  }
  case PROTOBUF_C_TYPE_STRING:
    return print_string(c, *(char *const *)v);
  case PROTOBUF_C_TYPE_BYTES: {
    const ProtobufCBinaryData *b = v;
    if (b->len && !b->data) {
      WERR(c, "bytes field has a length but no data");
      return NULL;
    }
    char *s = base64_encode(b->data, b->len);
    if (!s) return oom(c);
    j = cJSON_CreateString(s);
    free(s);
    break;
  }
  case PROTOBUF_C_TYPE_MESSAGE: {
    const ProtobufCMessage *m = *(ProtobufCMessage *const *)v;
    if (!m) {
      j = cJSON_CreateNull();
      break;
    }
    return print_message(c, m);
  }
  }
  return j ? j : oom(c);
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

static cJSON *print_map(struct wctx *c, const ProtobufCFieldDescriptor *f,
                        ProtobufCMessage *const *entries, size_t n) {
  const ProtobufCMessageDescriptor *ed = f->descriptor;
  const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
  cJSON *obj = cJSON_CreateObject();
  if (!obj) return oom(c);
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
        goto bad;
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
      goto bad;
    }
    size_t saved = pbjson_path_push_key(&c->path, key);
    cJSON *val;
    if (vf->type == PROTOBUF_C_TYPE_MESSAGE && !*(ProtobufCMessage *const *)vv)
      val = cJSON_CreateObject(); /* an unset message value reads as an empty one */
    else
      val = print_value(c, vf, vv);
    pbjson_path_pop(&c->path, saved);
    if (!val) goto bad;
    if (!cJSON_AddItemToObject(obj, key, val)) {
      cJSON_Delete(val);
      oom(c);
      goto bad;
    }
  }
  return obj;
bad:
  cJSON_Delete(obj);
  return NULL;
}

static cJSON *print_repeated(struct wctx *c, const ProtobufCFieldDescriptor *f,
                             const char *arr, size_t n) {
  if (pbjson_is_map(f)) return print_map(c, f, (ProtobufCMessage *const *)arr, n);
  cJSON *a = cJSON_CreateArray();
  if (!a) return oom(c);
  size_t esize = pbjson_value_size(f->type);
  for (size_t i = 0; i < n; i++) {
    size_t saved = pbjson_path_push_index(&c->path, i);
    const void *v = arr + i * esize;
    cJSON *e;
    if (f->type == PROTOBUF_C_TYPE_MESSAGE && !*(ProtobufCMessage *const *)v) {
      WERR(c, "NULL element in a repeated message field");
      e = NULL;
    } else {
      e = print_value(c, f, v);
    }
    pbjson_path_pop(&c->path, saved);
    if (!e || !cJSON_AddItemToArray(a, e)) {
      if (e) {
        cJSON_Delete(e);
        oom(c);
      }
      cJSON_Delete(a);
      return NULL;
    }
  }
  return a;
}

static cJSON *print_timestamp(struct wctx *c, const ProtobufCMessage *m) {
  const Google__Protobuf__Timestamp *ts = (const Google__Protobuf__Timestamp *)m;
  char buf[40];
  if (pbjson_ts_format(ts->seconds, ts->nanos, buf, sizeof buf)) {
    WERR(c, "timestamp out of range (seconds %" PRId64 ", nanos %" PRId32 ")", ts->seconds,
         ts->nanos);
    return NULL;
  }
  cJSON *j = cJSON_CreateString(buf);
  return j ? j : oom(c);
}

static cJSON *print_message(struct wctx *c, const ProtobufCMessage *m) {
  const ProtobufCMessageDescriptor *d = m->descriptor;
  if (pbjson_is_timestamp(d)) return print_timestamp(c, m);
  if (c->depth >= PBJSON_MAX_DEPTH) {
    WERR(c, "nesting deeper than %d levels", PBJSON_MAX_DEPTH);
    return NULL;
  }
  c->depth++;
  const char *base = (const char *)m;
  cJSON *obj = cJSON_CreateObject();
  if (!obj) {
    oom(c);
    goto bad;
  }
  int emit = c->flags & PBJSON_EMIT_DEFAULTS;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    const void *v = base + f->offset;
    cJSON *j = NULL;
    size_t saved = pbjson_path_push_field(&c->path, f->name);
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
      /* A set oneof member is printed even when it holds its zero value. */
      if (*(const uint32_t *)(base + f->quantifier_offset) != f->id) goto next;
      if (f->type == PROTOBUF_C_TYPE_MESSAGE && !*(ProtobufCMessage *const *)v)
        j = cJSON_CreateNull();
      else
        j = print_value(c, f, v);
    } else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t n = *(const size_t *)(base + f->quantifier_offset);
      if (n == 0 && !emit) goto next;
      if (n == 0)
        j = pbjson_is_map(f) ? cJSON_CreateObject() : cJSON_CreateArray();
      else
        j = print_repeated(c, f, *(char *const *)v, n);
    } else {
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
      if (!present && !emit) goto next;
      if (f->type == PROTOBUF_C_TYPE_MESSAGE && !*(ProtobufCMessage *const *)v)
        j = cJSON_CreateNull(); /* EmitUnpopulated prints unset messages as null */
      else
        j = print_value(c, f, v);
    }
    if (!j) {
      if (!c->err || !c->err[0]) oom(c);
      pbjson_path_pop(&c->path, saved);
      goto bad;
    }
    if (!cJSON_AddItemToObject(obj, f->name, j)) {
      cJSON_Delete(j);
      oom(c);
      pbjson_path_pop(&c->path, saved);
      goto bad;
    }
  next:
    pbjson_path_pop(&c->path, saved);
  }
  c->depth--;
  return obj;
bad:
  c->depth--;
  cJSON_Delete(obj);
  return NULL;
}

cJSON *pbjson_to_cjson(const ProtobufCMessage *msg, int flags, char *err, size_t errlen) {
  struct wctx c = {.flags = flags, .err = err, .errlen = errlen};
  if (err && errlen) err[0] = '\0';
  if (!msg) {
    WERR(&c, "no message");
    return NULL;
  }
  return print_message(&c, msg);
}

char *pbjson_print(const ProtobufCMessage *msg, int flags, char *err, size_t errlen) {
  cJSON *j = pbjson_to_cjson(msg, flags, err, errlen);
  if (!j) return NULL;
  char *s = (flags & PBJSON_PRETTY) ? cJSON_Print(j) : cJSON_PrintUnformatted(j);
  cJSON_Delete(j);
  if (!s && err && errlen) snprintf(err, errlen, "out of memory");
  return s;
}
