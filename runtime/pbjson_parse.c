/* pbjson_parse: JSON (text or cJSON tree) into protobuf-c messages, by descriptor. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "pbjson_internal.h"
#include "utf8.h"

struct pctx {
  int flags;
  char *err;
  size_t errlen;
  struct pbjson_path path;
  int depth;
};

#define PERR(c, ...) pbjson_errorf(&(c)->path, (c)->err, (c)->errlen, __VA_ARGS__)

/* A value of any field type, before it is stored into a message. */
union slot {
  int32_t i32;
  uint32_t u32;
  int64_t i64;
  uint64_t u64;
  float f;
  double d;
  protobuf_c_boolean b;
  int e;
  char *s;
  ProtobufCBinaryData bytes;
  ProtobufCMessage *msg;
};

static int parse_message(struct pctx *c, const cJSON *j, ProtobufCMessage *msg);

static int type_error(struct pctx *c, const char *want, const cJSON *j) {
  PERR(c, "expected %s, got %s", want, pbjson_cjson_kind(j));
  return -1;
}

/* --- integers --- */

/* Reads an integer of `type` from a JSON number or string, exactly, into [min, max]
 * (min <= 0; signed types report through *sv, unsigned through *uv). */
static int get_integer(struct pctx *c, const cJSON *j, ProtobufCType type, int is_signed,
                       int64_t min, uint64_t max, int64_t *sv, uint64_t *uv) {
  const char *tname = pbjson_type_name(type);
  const char *text;
  char dbuf[64];
  if (cJSON_IsNumber(j)) {
    text = j->valuestring;
    if (!text) {
      /* A tree from cJSON_Parse has only the double: accept it while it is exact. */
      double d = j->valuedouble;
      double mag = d < 0 ? -d : d; /* no libm: walletrt does not link it */
      if (!isfinite(d)) {
        PERR(c, "invalid %s value %g", tname, d);
        return -1;
      }
      if (mag > 9007199254740992.0) {
        PERR(c, "%s value %g is not exact in a double; send it as a string", tname, d);
        return -1;
      }
      if ((double)(int64_t)d != d) {
        PERR(c, "invalid %s value %g (not an integer)", tname, d);
        return -1;
      }
      snprintf(dbuf, sizeof dbuf, "%.0f", d);
      text = dbuf;
    }
  } else if (cJSON_IsString(j)) {
    text = j->valuestring;
  } else {
    return type_error(c, "number or string", j);
  }
  int neg;
  uint64_t mag;
  int st = pbjson_number_to_int(text, strlen(text), &neg, &mag);
  char snip[48];
  pbjson_snippet(text, snip, sizeof snip);
  if (st == PBJSON_NUM_SYNTAX) {
    PERR(c, "invalid %s value \"%s\"", tname, snip);
    return -1;
  }
  if (st == PBJSON_NUM_FRACTION) {
    PERR(c, "invalid %s value \"%s\" (not an integer)", tname, snip);
    return -1;
  }
  int in_range;
  if (st == PBJSON_NUM_RANGE)
    in_range = 0;
  else if (neg)
    in_range = mag == 0 || (min < 0 && mag - 1 <= (uint64_t)(-(min + 1)));
  else
    in_range = mag <= max;
  if (!in_range) {
    PERR(c, "value out of range for %s: \"%s\"", tname, snip);
    return -1;
  }
  if (is_signed)
    *sv = neg ? (int64_t)(0 - mag) : (int64_t)mag; /* two's complement, incl. INT64_MIN */
  else
    *uv = mag;
  return 0;
}

/* --- floating point --- */

static int get_double(struct pctx *c, const cJSON *j, int is_float, double *out) {
  const char *tname = is_float ? "float" : "double";
  double d;
  char snip[48];
  if (cJSON_IsNumber(j)) {
    if (j->valuestring) {
      if (pbjson_number_to_double(j->valuestring, &d)) {
        pbjson_snippet(j->valuestring, snip, sizeof snip);
        PERR(c, "value out of range for %s: \"%s\"", tname, snip);
        return -1;
      }
    } else {
      d = j->valuedouble;
    }
  } else if (cJSON_IsString(j)) {
    const char *s = j->valuestring;
    pbjson_snippet(s, snip, sizeof snip);
    if (strcmp(s, "NaN") == 0) {
      d = NAN;
    } else if (strcmp(s, "Infinity") == 0) {
      d = INFINITY;
    } else if (strcmp(s, "-Infinity") == 0) {
      d = -INFINITY;
    } else if (pbjson_number_span(s, strlen(s)) != strlen(s) || !*s) {
      PERR(c, "invalid %s value \"%s\"", tname, snip);
      return -1;
    } else if (pbjson_number_to_double(s, &d)) {
      PERR(c, "value out of range for %s: \"%s\"", tname, snip);
      return -1;
    }
  } else {
    return type_error(c, "number or string", j);
  }
  /* Doubles from here up round to infinity as a float (FLT_MAX + half an ulp, ties to
   * even); below it they round to a finite float, as protojson's ParseFloat(s, 32). */
  if (is_float && isfinite(d) && (d < 0 ? -d : d) >= 0x1.ffffffp127) {
    PERR(c, "value out of range for float: %g", d);
    return -1;
  }
  *out = d;
  return 0;
}

/* --- enums --- */

/* Returns 0, 1 when an unknown name is to be skipped (PBJSON_IGNORE_UNKNOWN), or -1. */
static int get_enum(struct pctx *c, const ProtobufCFieldDescriptor *f, const cJSON *j,
                    int *out) {
  const ProtobufCEnumDescriptor *ed = f->descriptor;
  if (cJSON_IsString(j)) {
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(ed, j->valuestring);
    if (v) {
      *out = v->value;
      return 0;
    }
    if (c->flags & PBJSON_IGNORE_UNKNOWN) return 1;
    char snip[48];
    pbjson_snippet(j->valuestring, snip, sizeof snip);
    PERR(c, "invalid value \"%s\" for enum %s", snip, ed->name);
    return -1;
  }
  if (cJSON_IsNumber(j)) {
    /* proto3 enums are open: any int32 is kept, and printed back as a number. */
    int64_t v;
    if (get_integer(c, j, PROTOBUF_C_TYPE_ENUM, 1, INT32_MIN, INT32_MAX, &v, NULL)) return -1;
    *out = (int)v;
    return 0;
  }
  return type_error(c, "enum name or number", j);
}

/* --- one value of any type --- */

/* Parses j as one value of field f's type into *out, which then owns any memory.
 * Returns 0, 1 when the value is to be skipped, or -1 (nothing allocated). */
static int parse_value(struct pctx *c, const ProtobufCFieldDescriptor *f, const cJSON *j,
                       union slot *out) {
  int64_t sv = 0;
  uint64_t uv = 0;
  double d = 0;
  if (cJSON_IsString(j) && !j->valuestring) return type_error(c, "a string value", j);
  switch (f->type) {
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_SINT32:
  case PROTOBUF_C_TYPE_SFIXED32:
    if (get_integer(c, j, f->type, 1, INT32_MIN, INT32_MAX, &sv, NULL)) return -1;
    out->i32 = (int32_t)sv;
    return 0;
  case PROTOBUF_C_TYPE_INT64:
  case PROTOBUF_C_TYPE_SINT64:
  case PROTOBUF_C_TYPE_SFIXED64:
    if (get_integer(c, j, f->type, 1, INT64_MIN, INT64_MAX, &sv, NULL)) return -1;
    out->i64 = sv;
    return 0;
  case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_FIXED32:
    if (get_integer(c, j, f->type, 0, 0, UINT32_MAX, NULL, &uv)) return -1;
    out->u32 = (uint32_t)uv;
    return 0;
  case PROTOBUF_C_TYPE_UINT64:
  case PROTOBUF_C_TYPE_FIXED64:
    if (get_integer(c, j, f->type, 0, 0, UINT64_MAX, NULL, &uv)) return -1;
    out->u64 = uv;
    return 0;
  case PROTOBUF_C_TYPE_FLOAT:
    if (get_double(c, j, 1, &d)) return -1;
    out->f = (float)d;
    return 0;
  case PROTOBUF_C_TYPE_DOUBLE:
    if (get_double(c, j, 0, &d)) return -1;
    out->d = d;
    return 0;
  case PROTOBUF_C_TYPE_BOOL:
    if (!cJSON_IsBool(j)) return type_error(c, "bool", j);
    out->b = cJSON_IsTrue(j) ? 1 : 0;
    return 0;
  case PROTOBUF_C_TYPE_ENUM:
    return get_enum(c, f, j, &out->e);
  case PROTOBUF_C_TYPE_STRING: {
    if (!cJSON_IsString(j)) return type_error(c, "string", j);
    size_t n = strlen(j->valuestring);
    if (!utf8_valid(j->valuestring, n)) {
      PERR(c, "string is not valid UTF-8");
      return -1;
    }
    out->s = malloc(n + 1);
    if (!out->s) {
      PERR(c, "out of memory");
      return -1;
    }
    memcpy(out->s, j->valuestring, n + 1);
    return 0;
  }
  case PROTOBUF_C_TYPE_BYTES: {
    if (!cJSON_IsString(j)) return type_error(c, "base64 string", j);
    uint8_t *data;
    size_t n;
    if (base64_decode(j->valuestring, strlen(j->valuestring), &data, &n)) {
      PERR(c, "invalid base64 data");
      return -1;
    }
    out->bytes.data = data;
    out->bytes.len = n;
    return 0;
  }
  case PROTOBUF_C_TYPE_MESSAGE: {
    const ProtobufCMessageDescriptor *md = f->descriptor;
    if (!pbjson_is_timestamp(md) && !cJSON_IsObject(j)) return type_error(c, "object", j);
    ProtobufCMessage *m = malloc(md->sizeof_message);
    if (!m) {
      PERR(c, "out of memory");
      return -1;
    }
    protobuf_c_message_init(md, m);
    if (parse_message(c, j, m)) {
      protobuf_c_message_free_unpacked(m, NULL);
      return -1;
    }
    out->msg = m;
    return 0;
  }
  }
  PERR(c, "unsupported field type %d", (int)f->type);
  return -1;
}

/* Frees what a singular field's member owns (never a descriptor default). */
static void clear_member(const ProtobufCFieldDescriptor *f, void *member) {
  if (f->type == PROTOBUF_C_TYPE_STRING) {
    char *s = *(char **)member;
    if (s && s != f->default_value) free(s);
    *(char **)member = NULL;
  } else if (f->type == PROTOBUF_C_TYPE_BYTES) {
    ProtobufCBinaryData *b = member;
    const ProtobufCBinaryData *def = f->default_value;
    if (b->data && (!def || def->data != b->data)) free(b->data);
    b->data = NULL;
    b->len = 0;
  } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
    ProtobufCMessage *m = *(ProtobufCMessage **)member;
    if (m && m != f->default_value) protobuf_c_message_free_unpacked(m, NULL);
    *(ProtobufCMessage **)member = NULL;
  }
}

/* Stores v into singular field f of msg (taking what v owns), replacing any previous
 * value, including another member of the same oneof. */
static void store_singular(ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                           union slot *v) {
  char *base = (char *)msg;
  if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
    uint32_t *cs = (uint32_t *)(base + f->quantifier_offset);
    if (*cs) {
      const ProtobufCFieldDescriptor *cur =
          protobuf_c_message_descriptor_get_field(msg->descriptor, *cs);
      if (cur) clear_member(cur, base + cur->offset);
    }
    *cs = f->id;
  } else {
    clear_member(f, base + f->offset);
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING &&
        f->type != PROTOBUF_C_TYPE_MESSAGE)
      *(protobuf_c_boolean *)(base + f->quantifier_offset) = 1;
  }
  memcpy(base + f->offset, v, pbjson_value_size(f->type));
}

/* --- maps --- */

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Map keys are JSON strings; integer and bool keys are their decimal or true/false text. */
static int parse_map_key(struct pctx *c, const ProtobufCFieldDescriptor *kf, const char *key,
                         union slot *out) {
  if (kf->type == PROTOBUF_C_TYPE_BOOL) {
    if (strcmp(key, "true") == 0 || strcmp(key, "false") == 0) {
      out->b = key[0] == 't';
      return 0;
    }
    PERR(c, "invalid map key for bool");
    return -1;
  }
  if (kf->type != PROTOBUF_C_TYPE_STRING &&
      (strpbrk(key, ".eE") || strcmp(key, "-0") == 0)) {
    /* Only canonical decimal keys, so two spellings of one key cannot both get in. */
    char snip[48];
    pbjson_snippet(key, snip, sizeof snip);
    PERR(c, "invalid map key \"%s\" for %s", snip, pbjson_type_name(kf->type));
    return -1;
  }
  cJSON tmp = {.type = cJSON_String, .valuestring = (char *)key};
  return parse_value(c, kf, &tmp, out);
}

static int parse_map(struct pctx *c, ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f,
                     const cJSON *j) {
  if (!cJSON_IsObject(j)) return type_error(c, "object", j);
  const ProtobufCMessageDescriptor *ed = f->descriptor;
  const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
  size_t n = (size_t)cJSON_GetArraySize(j), k = 0;
  size_t *count = (size_t *)((char *)msg + f->quantifier_offset);
  ProtobufCMessage ***arr = (ProtobufCMessage ***)((char *)msg + f->offset);
  if (n == 0) return 0;
  /* Duplicate keys: sort the raw key texts (linear scans would be quadratic). */
  const char **keys = malloc(n * sizeof *keys);
  if (!keys) goto oom;
  for (const cJSON *e = j->child; e; e = e->next) {
    if (!e->string) { /* only a hand-built cJSON tree can lack a key */
      free(keys);
      PERR(c, "map entry without a key");
      return -1;
    }
    keys[k++] = e->string;
  }
  qsort(keys, n, sizeof *keys, cmp_str);
  for (k = 1; k < n; k++) {
    if (strcmp(keys[k - 1], keys[k]) == 0) {
      char snip[48];
      pbjson_snippet(keys[k], snip, sizeof snip);
      free(keys);
      PERR(c, "duplicate map key \"%s\"", snip);
      return -1;
    }
  }
  free(keys);
  *arr = calloc(n, sizeof **arr);
  if (!*arr) goto oom;
  for (const cJSON *e = j->child; e; e = e->next) {
    size_t saved = pbjson_path_push_key(&c->path, e->string);
    ProtobufCMessage *entry = malloc(ed->sizeof_message);
    if (!entry) {
      pbjson_path_pop(&c->path, saved);
      goto oom;
    }
    protobuf_c_message_init(ed, entry);
    (*arr)[(*count)++] = entry; /* owned by msg from here: freed with it on error */
    union slot kv, vv;
    int rc = parse_map_key(c, kf, e->string, &kv);
    if (rc == 0) {
      store_singular(entry, kf, &kv);
      if (cJSON_IsNull(e)) {
        PERR(c, "null is not a valid map value");
        rc = -1;
      } else {
        rc = parse_value(c, vf, e, &vv);
        if (rc == 0) store_singular(entry, vf, &vv);
        if (rc == 1) rc = 0; /* unknown enum name skipped: keep the default value */
      }
    }
    pbjson_path_pop(&c->path, saved);
    if (rc) return -1;
  }
  return 0;
oom:
  PERR(c, "out of memory");
  return -1;
}

/* --- repeated --- */

static int parse_repeated(struct pctx *c, ProtobufCMessage *msg,
                          const ProtobufCFieldDescriptor *f, const cJSON *j) {
  if (pbjson_is_map(f)) return parse_map(c, msg, f, j);
  if (!cJSON_IsArray(j)) return type_error(c, "array", j);
  size_t n = (size_t)cJSON_GetArraySize(j), i = 0;
  size_t esize = pbjson_value_size(f->type);
  size_t *count = (size_t *)((char *)msg + f->quantifier_offset);
  char **arr = (char **)((char *)msg + f->offset);
  if (n == 0) return 0;
  *arr = calloc(n, esize);
  if (!*arr) {
    PERR(c, "out of memory");
    return -1;
  }
  for (const cJSON *e = j->child; e; e = e->next, i++) {
    size_t saved = pbjson_path_push_index(&c->path, i);
    int rc;
    union slot v;
    if (cJSON_IsNull(e)) {
      PERR(c, "null is not a valid element of a repeated field");
      rc = -1;
    } else {
      rc = parse_value(c, f, e, &v);
    }
    pbjson_path_pop(&c->path, saved);
    if (rc < 0) return -1;
    if (rc == 1) continue;
    memcpy(*arr + *count * esize, &v, esize);
    (*count)++; /* msg owns the element from here */
  }
  return 0;
}

/* --- messages --- */

static int parse_timestamp(struct pctx *c, const cJSON *j, ProtobufCMessage *msg) {
  if (!cJSON_IsString(j)) return type_error(c, "RFC 3339 timestamp string", j);
  Google__Protobuf__Timestamp *ts = (Google__Protobuf__Timestamp *)msg;
  int64_t s;
  int32_t ns;
  if (pbjson_ts_parse(j->valuestring, &s, &ns)) {
    char snip[48];
    pbjson_snippet(j->valuestring, snip, sizeof snip);
    PERR(c, "invalid timestamp \"%s\" (want RFC 3339, e.g. 2026-11-29T15:04:05Z)", snip);
    return -1;
  }
  ts->seconds = s;
  ts->nanos = ns;
  return 0;
}

enum { SEEN_NULL = 1, SEEN_VALUE = 2 };

static int parse_message(struct pctx *c, const cJSON *j, ProtobufCMessage *msg) {
  const ProtobufCMessageDescriptor *d = msg->descriptor;
  if (pbjson_is_timestamp(d)) return parse_timestamp(c, j, msg);
  if (!cJSON_IsObject(j)) return type_error(c, "object", j);
  if (c->depth >= PBJSON_MAX_DEPTH) {
    PERR(c, "nesting deeper than %d levels", PBJSON_MAX_DEPTH);
    return -1;
  }
  c->depth++;
  int rc = -1;
  unsigned char *seen = calloc(d->n_fields + 1, 1);
  if (!seen) {
    PERR(c, "out of memory");
    goto out;
  }
  for (const cJSON *e = j->child; e; e = e->next) {
    const char *key = e->string ? e->string : "";
    const ProtobufCFieldDescriptor *f = pbjson_field_by_name(d, key);
    char snip[48];
    if (!f) {
      if (c->flags & PBJSON_IGNORE_UNKNOWN) continue;
      pbjson_snippet(key, snip, sizeof snip);
      PERR(c, "unknown field \"%s\"", snip);
      goto out;
    }
    size_t idx = (size_t)(f - d->fields);
    if (seen[idx]) {
      /* Also catches one field given under both its proto and its JSON name. */
      pbjson_snippet(key, snip, sizeof snip);
      PERR(c, "duplicate field \"%s\"", snip);
      goto out;
    }
    seen[idx] = SEEN_NULL;
    if (cJSON_IsNull(e)) continue; /* null means the default */
    size_t saved = pbjson_path_push_field(&c->path, f->name);
    int frc;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
      uint32_t cs = *(uint32_t *)((char *)msg + f->quantifier_offset);
      if (cs && cs != f->id) {
        const ProtobufCFieldDescriptor *other = protobuf_c_message_descriptor_get_field(d, cs);
        PERR(c, "another field of the same oneof is already set (\"%s\")",
             other ? other->name : "?");
        pbjson_path_pop(&c->path, saved);
        goto out;
      }
    }
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      frc = parse_repeated(c, msg, f, e);
    } else {
      union slot v;
      frc = parse_value(c, f, e, &v);
      if (frc == 0) store_singular(msg, f, &v);
    }
    pbjson_path_pop(&c->path, saved);
    if (frc < 0) goto out;
    if (frc == 0) seen[idx] = SEEN_VALUE;
  }
  for (unsigned i = 0; i < d->n_fields; i++) {
    if (d->fields[i].label == PROTOBUF_C_LABEL_REQUIRED && seen[i] != SEEN_VALUE) {
      PERR(c, "missing required field \"%s\"", d->fields[i].name);
      goto out;
    }
  }
  rc = 0;
out:
  free(seen);
  c->depth--;
  return rc;
}

int pbjson_from_cjson(const ProtobufCMessageDescriptor *desc, const cJSON *json, int flags,
                      ProtobufCMessage **out, char *err, size_t errlen) {
  struct pctx c = {.flags = flags, .err = err, .errlen = errlen};
  *out = NULL;
  if (err && errlen) err[0] = '\0';
  ProtobufCMessage *m = malloc(desc->sizeof_message);
  if (!m) {
    PERR(&c, "out of memory");
    return -1;
  }
  protobuf_c_message_init(desc, m);
  if (!json) {
    PERR(&c, "no JSON value");
    protobuf_c_message_free_unpacked(m, NULL);
    return -1;
  }
  if (parse_message(&c, json, m)) {
    protobuf_c_message_free_unpacked(m, NULL);
    return -1;
  }
  *out = m;
  return 0;
}

int pbjson_parse(const ProtobufCMessageDescriptor *desc, const char *json, size_t len,
                 int flags, ProtobufCMessage **out, char *err, size_t errlen) {
  *out = NULL;
  cJSON *tree = pbjson_json_read(json, len, PBJSON_MAX_DEPTH, err, errlen);
  if (!tree) return -1;
  int rc = pbjson_from_cjson(desc, tree, flags, out, err, errlen);
  cJSON_Delete(tree);
  return rc;
}

int pbjson_set_field(ProtobufCMessage *msg, const char *name, const char *value, char *err,
                     size_t errlen) {
  struct pctx c = {.flags = 0, .err = err, .errlen = errlen};
  if (err && errlen) err[0] = '\0';
  const ProtobufCFieldDescriptor *f = pbjson_field_by_name(msg->descriptor, name ? name : "");
  if (!f) {
    char snip[48];
    pbjson_snippet(name, snip, sizeof snip);
    PERR(&c, "unknown field \"%s\"", snip);
    return -1;
  }
  pbjson_path_push_field(&c.path, f->name);
  if (f->label == PROTOBUF_C_LABEL_REPEATED ||
      (f->type == PROTOBUF_C_TYPE_MESSAGE && !pbjson_is_timestamp(f->descriptor))) {
    PERR(&c, "cannot be set from a single text value");
    return -1;
  }
  if (!value) value = "";
  union slot v;
  cJSON text = {.type = cJSON_String, .valuestring = (char *)value};
  int rc;
  if (f->type == PROTOBUF_C_TYPE_BOOL) {
    if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
      char snip[48];
      pbjson_snippet(value, snip, sizeof snip);
      PERR(&c, "invalid bool value \"%s\" (want true or false)", snip);
      return -1;
    }
    v.b = value[0] == 't';
    rc = 0;
  } else if (f->type == PROTOBUF_C_TYPE_ENUM &&
             !protobuf_c_enum_descriptor_get_value_by_name(f->descriptor, value) &&
             pbjson_number_span(value, strlen(value)) == strlen(value) && *value) {
    /* URL parameters may carry enum numbers as text (grpc-gateway accepts both). */
    cJSON num = {.type = cJSON_Number, .valuestring = (char *)value};
    rc = parse_value(&c, f, &num, &v);
  } else {
    rc = parse_value(&c, f, &text, &v);
  }
  if (rc == 1) rc = -1; /* cannot happen without PBJSON_IGNORE_UNKNOWN */
  if (rc) return -1;
  store_singular(msg, f, &v);
  return 0;
}
