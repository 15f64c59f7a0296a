/* http_call: one request being served: its memory (an arena freed with the call), the
 * accessors handlers use, and the responses it sends (the handler's message, the
 * grpc-gateway error shape). */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_server_internal.h"
#include "utf8.h"
#include "log.h"
#include "pbjson.h"

int64_t hs_mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- per-call memory ---------------------------------------------------------------- */

void *http_call_alloc(http_call *call, size_t n) {
  if (call == NULL)
    return NULL;
  void *p = arena_alloc(&call->arena, n);
  if (p != NULL)
    memset(p, 0, n);
  return p;
}

char *http_call_strdup(http_call *call, const char *s) {
  if (s == NULL)
    return NULL;
  size_t n = strlen(s) + 1;
  char *d = http_call_alloc(call, n);
  if (d != NULL)
    memcpy(d, s, n);
  return d;
}

ProtobufCMessage *http_call_new_message(http_call *call, const ProtobufCMessageDescriptor *desc) {
  if (desc == NULL)
    return NULL;
  ProtobufCMessage *m = http_call_alloc(call, desc->sizeof_message);
  if (m != NULL)
    protobuf_c_message_init(desc, m);
  return m;
}

void hs_call_free(http_call *call) {
  if (call == NULL)
    return;
  arena_free(&call->arena);
  http_route_match_clear(&call->match);
  if (call->req != NULL)
    protobuf_c_message_free_unpacked(call->req, NULL);
  free(call->body);
  free(call->head_buf);
  free(call);
}

/* ---- accessors ---------------------------------------------------------------------- */

void *http_call_app(const http_call *call) { return call != NULL ? call->srv->app : NULL; }

const char *http_call_header(const http_call *call, const char *name) {
  if (call == NULL || name == NULL)
    return NULL;
  return http_head_get(&call->head, name);
}

const char *http_call_body(const http_call *call, size_t *len) {
  if (call == NULL || call->body_len == 0) {
    if (len != NULL)
      *len = 0;
    return NULL;
  }
  if (len != NULL)
    *len = call->body_len;
  return call->body;
}

const char *http_call_method(const http_call *call) { return call != NULL ? call->method : NULL; }

const char *http_call_route(const http_call *call) {
  return call != NULL && call->route != NULL ? call->route->pattern : NULL;
}

void http_call_set_header(http_call *call, const char *name, const char *value) {
  if (call == NULL || name == NULL || value == NULL)
    return;
  resp_header *h = http_call_alloc(call, sizeof *h);
  if (h == NULL || (h->name = http_call_strdup(call, name)) == NULL ||
      (h->value = http_call_strdup(call, value)) == NULL)
    return; /* the arena frees whatever was allocated */
  *call->headers_tail = h;
  call->headers_tail = &h->next;
}

void http_call_set_status(http_call *call, unsigned status) {
  if (call != NULL && status >= 100 && status <= 599)
    call->status_override = status;
}

/* ---- responses ---------------------------------------------------------------------- */

int hs_respond(http_call *call, unsigned status, const char *content_type,
                           char *body, size_t len) {
  return hs_conn_respond(call, status, content_type, body, len, &free);
}

int hs_respond_static(http_call *call, unsigned status, const char *content_type,
                                  const void *body, size_t len) {
  return hs_conn_respond(call, status, content_type, body, len, NULL);
}

/* grpc-gateway's error body: {"code":5,"message":"...","details":[]}. */
int hs_respond_error(http_call *call, unsigned status, rpc_code code,
                                     const char *message) {
  /* Every layer's message, not only rpc_status_set's, may quote client bytes. */
  char *clean = strdup(message != NULL ? message : "");
  if (clean != NULL)
    utf8_scrub(clean);
  cJSON *o = cJSON_CreateObject();
  char *text = NULL;
  if (o != NULL && cJSON_AddNumberToObject(o, "code", (double)code) != NULL &&
      cJSON_AddStringToObject(o, "message", clean != NULL ? clean : "") != NULL &&
      cJSON_AddArrayToObject(o, "details") != NULL)
    text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  free(clean);
  if (text == NULL)
    return HS_NO;
  if (call->route != NULL && call->route->raw == NULL && !call->handled &&
      call->srv->on_rejected != NULL)
    call->srv->on_rejected(call, status, code);
  return hs_respond(call, status, "application/json", text, strlen(text));
}

void hs_set_pending(http_call *call, unsigned status, rpc_code code, const char *fmt, ...) {
  if (call->pending_status != 0)
    return; /* the first problem found is the one reported */
  call->pending_status = status;
  call->pending_code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(call->pending_msg, sizeof call->pending_msg, fmt, ap);
  va_end(ap);
}

/* The handler's outcome as an HTTP response: the response message printed, or the error. */
int hs_send_result(http_call *call, rpc_code code, const rpc_status *st) {
  const http_route *r = call->route;
  char err[PBJSON_ERR_MAX + 128];
  if ((int)code < (int)RPC_OK || (int)code > (int)RPC_UNAUTHENTICATED) {
    log_error("http: handler for %s %s returned invalid code %d", r->method, r->pattern,
              (int)code);
    snprintf(err, sizeof err, "handler returned invalid status code %d", (int)code);
    return hs_respond_error(call, 500, RPC_INTERNAL, err);
  }
  if (code != RPC_OK)
    return hs_respond_error(call, rpc_code_to_http(code), code,
                         st != NULL && st->message[0] != '\0' ? st->message : rpc_code_name(code));
  char *text = pbjson_print(call->resp, PBJSON_EMIT_DEFAULTS, err, sizeof err);
  if (text == NULL) {
    log_error("http: cannot print response of %s %s: %s", r->method, r->pattern, err);
    return hs_respond_error(call, 500, RPC_INTERNAL, err);
  }
  unsigned status = call->status_override != 0 ? call->status_override
                    : r->success_status != 0   ? r->success_status
                                               : 200;
  return hs_respond(call, status, "application/json", text, strlen(text));
}
