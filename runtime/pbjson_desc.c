/* pbjson_desc: descriptor questions the JSON mapping asks (names, maps, sizes, paths). */
#include <stdio.h>
#include <string.h>

#include "pbjson_internal.h"

int pbjson_is_timestamp(const ProtobufCMessageDescriptor *d) {
  return d && d->name && strcmp(d->name, "google.protobuf.Timestamp") == 0;
}

/* protobuf-c 1.4.1 descriptors carry no map_entry option, so we recognise what protoc
 * generates for map<K,V> name: a nested message "<CamelName>Entry" with key = 1 and
 * value = 2. A hand-written message of that exact shape and name is treated as a map
 * too, which is also how protoc would lay it out on the wire. */
int pbjson_is_map(const ProtobufCFieldDescriptor *f) {
  if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE) return 0;
  const ProtobufCMessageDescriptor *m = f->descriptor;
  if (!m || m->n_fields != 2 || m->fields[0].id != 1 || m->fields[1].id != 2) return 0;
  if (strcmp(m->fields[0].name, "key") != 0 || strcmp(m->fields[1].name, "value") != 0)
    return 0;
  if (m->fields[0].label == PROTOBUF_C_LABEL_REPEATED ||
      m->fields[1].label == PROTOBUF_C_LABEL_REPEATED)
    return 0;
  const char *sn = m->short_name;
  size_t j = 0;
  int cap = 1;
  for (const char *c = f->name; *c; c++) {
    if (*c == '_') {
      cap = 1;
      continue;
    }
    char want = *c;
    if (cap && want >= 'a' && want <= 'z') want = (char)(want - 'a' + 'A');
    cap = 0;
    if (sn[j] != want) return 0;
    j++;
  }
  return strcmp(sn + j, "Entry") == 0;
}

int pbjson_name_matches(const ProtobufCFieldDescriptor *f, const char *key) {
  if (strcmp(f->name, key) == 0) return 1;
  /* protoc's ToJsonName: drop '_' and upper-case the character after it. */
  const char *k = key;
  int cap = 0;
  for (const char *c = f->name; *c; c++) {
    if (*c == '_') {
      cap = 1;
      continue;
    }
    char want = *c;
    if (cap && want >= 'a' && want <= 'z') want = (char)(want - 'a' + 'A');
    cap = 0;
    if (*k != want) return 0;
    k++;
  }
  return *k == '\0';
}

const ProtobufCFieldDescriptor *pbjson_field_by_name(const ProtobufCMessageDescriptor *d,
                                                     const char *key) {
  const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, key);
  if (f) return f;
  for (unsigned i = 0; i < d->n_fields; i++)
    if (pbjson_name_matches(&d->fields[i], key)) return &d->fields[i];
  return NULL;
}

size_t pbjson_value_size(ProtobufCType t) {
  switch (t) {
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_SINT32:
  case PROTOBUF_C_TYPE_SFIXED32:
  case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_FIXED32:
    return 4;
  case PROTOBUF_C_TYPE_INT64:
  case PROTOBUF_C_TYPE_SINT64:
  case PROTOBUF_C_TYPE_SFIXED64:
  case PROTOBUF_C_TYPE_UINT64:
  case PROTOBUF_C_TYPE_FIXED64:
    return 8;
  case PROTOBUF_C_TYPE_FLOAT:
    return sizeof(float);
  case PROTOBUF_C_TYPE_DOUBLE:
    return sizeof(double);
  case PROTOBUF_C_TYPE_BOOL:
    return sizeof(protobuf_c_boolean);
  case PROTOBUF_C_TYPE_ENUM:
    return sizeof(int); /* protobuf-c forces generated enums to int size */
  case PROTOBUF_C_TYPE_STRING:
    return sizeof(char *);
  case PROTOBUF_C_TYPE_BYTES:
    return sizeof(ProtobufCBinaryData);
  case PROTOBUF_C_TYPE_MESSAGE:
    return sizeof(ProtobufCMessage *);
  }
  return 0;
}

const char *pbjson_type_name(ProtobufCType t) {
  switch (t) {
  case PROTOBUF_C_TYPE_INT32: return "int32";
  case PROTOBUF_C_TYPE_SINT32: return "sint32";
  case PROTOBUF_C_TYPE_SFIXED32: return "sfixed32";
  case PROTOBUF_C_TYPE_INT64: return "int64";
  case PROTOBUF_C_TYPE_SINT64: return "sint64";
  case PROTOBUF_C_TYPE_SFIXED64: return "sfixed64";
  case PROTOBUF_C_TYPE_UINT32: return "uint32";
  case PROTOBUF_C_TYPE_FIXED32: return "fixed32";
  case PROTOBUF_C_TYPE_UINT64: return "uint64";
  case PROTOBUF_C_TYPE_FIXED64: return "fixed64";
  case PROTOBUF_C_TYPE_FLOAT: return "float";
  case PROTOBUF_C_TYPE_DOUBLE: return "double";
  case PROTOBUF_C_TYPE_BOOL: return "bool";
  case PROTOBUF_C_TYPE_ENUM: return "enum";
  case PROTOBUF_C_TYPE_STRING: return "string";
  case PROTOBUF_C_TYPE_BYTES: return "bytes";
  case PROTOBUF_C_TYPE_MESSAGE: return "message";
  }
  return "?";
}

const char *pbjson_cjson_kind(const cJSON *j) {
  if (!j) return "nothing";
  switch (j->type & 0xFF) {
  case cJSON_False:
  case cJSON_True: return "bool";
  case cJSON_NULL: return "null";
  case cJSON_Number: return "number";
  case cJSON_String: return "string";
  case cJSON_Array: return "array";
  case cJSON_Object: return "object";
  case cJSON_Raw: return "raw JSON";
  }
  return "invalid";
}

void pbjson_snippet(const char *s, char *out, size_t outlen) {
  size_t o = 0, max = outlen > 8 ? outlen - 4 : 0;
  if (!s) s = "";
  for (; *s && o < max && o < 32; s++) {
    unsigned char c = (unsigned char)*s;
    /* Errors end up in JSON responses and logs: quote-free, no control bytes; a whole
     * well-formed UTF-8 sequence (2-4 bytes, no surrogates/overlongs) is kept as it is
     * so "1\u00e9" reads as such, not "1??"; any other byte becomes '?'. */
    if (c >= 0xC2 && c <= 0xF4) {
      size_t n = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4, k = 1;
      const unsigned char *u = (const unsigned char *)s;
      for (; k < n && (u[k] & 0xC0) == 0x80; k++) {}
      int ok = k == n && !(c == 0xE0 && u[1] < 0xA0) && !(c == 0xED && u[1] >= 0xA0) &&
               !(c == 0xF0 && u[1] < 0x90) && !(c == 0xF4 && u[1] >= 0x90);
      if (ok && o + n <= max) {
        memcpy(out + o, s, n);
        o += n;
        s += n - 1;
        continue;
      }
    }
    out[o++] = (c >= 0x20 && c < 0x7F && c != '"' && c != '\\') ? (char)c : '?';
  }
  if (*s && o + 3 < outlen) {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  if (outlen) out[o < outlen ? o : outlen - 1] = '\0';
}

static size_t path_append(struct pbjson_path *p, const char *piece) {
  size_t saved = p->len, n = strlen(piece);
  if (n > sizeof p->buf - 1 - p->len) n = sizeof p->buf - 1 - p->len; /* truncate */
  memcpy(p->buf + p->len, piece, n);
  p->len += n;
  p->buf[p->len] = '\0';
  return saved;
}

size_t pbjson_path_push_field(struct pbjson_path *p, const char *name) {
  size_t saved = p->len;
  if (p->len) path_append(p, ".");
  path_append(p, name);
  return saved;
}

size_t pbjson_path_push_index(struct pbjson_path *p, size_t i) {
  char piece[32];
  snprintf(piece, sizeof piece, "[%zu]", i);
  return path_append(p, piece);
}

size_t pbjson_path_push_key(struct pbjson_path *p, const char *key) {
  char snip[48], piece[56];
  pbjson_snippet(key, snip, sizeof snip);
  snprintf(piece, sizeof piece, "[\"%s\"]", snip);
  return path_append(p, piece);
}

void pbjson_path_pop(struct pbjson_path *p, size_t saved_len) {
  p->len = saved_len;
  p->buf[saved_len] = '\0';
}

void pbjson_errorf(const struct pbjson_path *p, char *err, size_t errlen, const char *fmt, ...) {
  if (!err || errlen == 0) return;
  size_t off = 0;
  if (p && p->len) {
    int n = snprintf(err, errlen, "%s: ", p->buf);
    off = n > 0 ? (size_t)n : 0;
    if (off >= errlen) return;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err + off, errlen - off, fmt, ap);
  va_end(ap);
}
