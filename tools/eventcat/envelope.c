/* envelope: turns one record and its decoded value into eventcat's JSON line object. */
#include "envelope.h"

#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "utf8.h"

const char *envelope_tstype_name(rd_kafka_timestamp_type_t t) {
  switch (t) {
  case RD_KAFKA_TIMESTAMP_CREATE_TIME:
    return "create_time";
  case RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME:
    return "log_append_time";
  default:
    return "not_available";
  }
}

/* cJSON strings are NUL-terminated: copy the bytes out first. */
static cJSON *string_of(const void *p, size_t len) {
  char *s = malloc(len + 1);
  if (s == NULL) return NULL;
  if (len) memcpy(s, p, len);
  s[len] = '\0';
  cJSON *j = cJSON_CreateString(s);
  free(s);
  return j;
}

static cJSON *b64_of(const void *p, size_t len) {
  char *s = base64_encode(p, len);
  if (s == NULL) return NULL;
  cJSON *j = cJSON_CreateString(s);
  free(s);
  return j;
}

/* Text is only text when it is valid UTF-8 with no NUL inside (cJSON would cut it). */
static int is_text(const void *p, size_t len) {
  return memchr(p, '\0', len) == NULL && utf8_valid(p, len);
}

/* Adds name: item, replacing an earlier item of the same name (last wins). Takes item. */
static int put(cJSON *obj, const char *name, cJSON *item) {
  if (item == NULL) return -1;
  cJSON_bool ok = cJSON_GetObjectItemCaseSensitive(obj, name) != NULL
                      ? cJSON_ReplaceItemInObjectCaseSensitive(obj, name, item)
                      : cJSON_AddItemToObject(obj, name, item);
  if (!ok) cJSON_Delete(item);
  return ok ? 0 : -1;
}

static int add_key(cJSON *env, const rd_kafka_message_t *m) {
  if (m->key == NULL) return put(env, "key", cJSON_CreateNull());
  if (is_text(m->key, m->key_len)) return put(env, "key", string_of(m->key, m->key_len));
  if (put(env, "key", cJSON_CreateNull()) != 0) return -1;
  return put(env, "key_b64", b64_of(m->key, m->key_len));
}

static int add_headers(cJSON *env, const rd_kafka_message_t *m) {
  cJSON *text = cJSON_AddObjectToObject(env, "headers");
  if (text == NULL) return -1;
  rd_kafka_headers_t *hdrs = NULL;
  if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return 0;
  cJSON *bin = NULL;
  const char *name;
  const void *val;
  size_t len;
  for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &len) ==
                     RD_KAFKA_RESP_ERR_NO_ERROR;
       i++) {
    if (val == NULL || is_text(val, len)) {
      if (put(text, name, val ? string_of(val, len) : cJSON_CreateNull()) != 0) goto fail;
      if (bin != NULL) cJSON_DeleteItemFromObjectCaseSensitive(bin, name);
    } else {
      /* Keep "headers" a plain name->string map for jq; binary goes beside it. */
      if (bin == NULL && (bin = cJSON_CreateObject()) == NULL) return -1;
      if (put(bin, name, b64_of(val, len)) != 0) goto fail;
      cJSON_DeleteItemFromObjectCaseSensitive(text, name);
    }
  }
  if (bin != NULL && bin->child == NULL) {
    cJSON_Delete(bin); /* every binary value was later replaced by text */
    bin = NULL;
  }
  if (bin != NULL && !cJSON_AddItemToObject(env, "headers_b64", bin)) goto fail;
  return 0;
fail:
  cJSON_Delete(bin);
  return -1;
}

cJSON *envelope_build(const rd_kafka_message_t *m, decode_result *r) {
  cJSON *env = cJSON_CreateObject();
  if (env == NULL) return NULL;
  rd_kafka_timestamp_type_t tstype;
  int64_t ts = rd_kafka_message_timestamp(m, &tstype);

  /* Numbers go through a double: offsets and ms timestamps stay far below 2^53. */
  if (!cJSON_AddStringToObject(env, "topic", rd_kafka_topic_name(m->rkt)) ||
      !cJSON_AddNumberToObject(env, "partition", m->partition) ||
      !cJSON_AddNumberToObject(env, "offset", (double)m->offset))
    goto fail;
  if (tstype == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? !cJSON_AddNullToObject(env, "timestamp")
                                                 : !cJSON_AddNumberToObject(env, "timestamp",
                                                                            (double)ts))
    goto fail;
  if (!cJSON_AddStringToObject(env, "timestamp_type", envelope_tstype_name(tstype))) goto fail;
  if (add_key(env, m) != 0 || add_headers(env, m) != 0) goto fail;
  if (r->type[0] ? !cJSON_AddStringToObject(env, "type", r->type)
                 : !cJSON_AddNullToObject(env, "type"))
    goto fail;
  if (r->value != NULL) {
    if (!cJSON_AddItemToObject(env, "value", r->value)) goto fail;
    r->value = NULL; /* env owns it now */
  } else if (!cJSON_AddNullToObject(env, "value")) {
    goto fail;
  }
  if (r->unknown_fields > 0 &&
      !cJSON_AddNumberToObject(env, "unknown_fields", (double)r->unknown_fields))
    goto fail;
  if (r->error[0] != '\0') {
    if (!cJSON_AddStringToObject(env, "error", r->error)) goto fail;
    if (put(env, "value_b64", b64_of(m->payload, m->len)) != 0) goto fail;
  }
  return env;
fail:
  cJSON_Delete(env);
  return NULL;
}
