/* http_request: the request pipeline: strict framing and single headers, routing
 * (404/405 with Allow), the body (413 past max_body), the JSON body, query and path
 * parameters into the request message, then the handler (inline, on a worker, or
 * deferred). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_server_internal.h"
#include "pbjson.h"
#include "pbjson_internal.h"

/* ---- request pipeline --------------------------------------------------------------- */

static int method_has_body(const char *method) {
  return strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
         strcmp(method, "PATCH") == 0;
}

/* Picks the route for method + path, or records why none fits. */
static void route_request(http_call *call) {
  http_server *srv = call->srv;
  size_t plen = strcspn(call->uri, "?#");
  call->route_label = "unmatched";
  call->hist_index = (int)srv->nroutes;
  if (!http_route_pct_valid(call->uri, plen)) {
    hs_set_pending(call, 400, RPC_INVALID_ARGUMENT, "malformed percent-encoding in path");
    return;
  }
  char allow[128] = "";
  size_t allow_len = 0;
  const http_route *known_path = NULL;
  for (size_t i = 0; i < srv->nroutes; i++) {
    const http_route *r = &srv->routes[i];
    http_route_match m;
    int rc = http_route_match_path(r->pattern, call->uri, plen, &m);
    int same_method = strcmp(r->method, call->method) == 0 ||
                      (strcmp(call->method, "HEAD") == 0 && strcmp(r->method, "GET") == 0);
    if (rc == HTTP_ROUTE_MATCH && same_method) {
      call->route = r;
      call->route_label = r->pattern;
      call->hist_index = (int)i;
      call->match = m;
      return;
    }
    http_route_match_clear(&m);
    if (rc == HTTP_ROUTE_BAD_PATH) {
      hs_set_pending(call, 400, RPC_INVALID_ARGUMENT, "malformed path parameter");
      return;
    }
    if (rc == HTTP_ROUTE_OOM) {
      hs_set_pending(call, 500, RPC_INTERNAL, "out of memory");
      return;
    }
    if (rc == HTTP_ROUTE_MATCH) {
      if (known_path == NULL) {
        known_path = r;
        call->route_label = r->pattern;
        call->hist_index = (int)i;
      }
      if (strstr(allow, r->method) == NULL) {
        int w = snprintf(allow + allow_len, sizeof allow - allow_len, "%s%s%s",
                         allow_len > 0 ? ", " : "", r->method,
                         strcmp(r->method, "GET") == 0 ? ", HEAD" : "");
        if (w > 0 && (size_t)w < sizeof allow - allow_len)
          allow_len += (size_t)w;
      }
    }
  }
  if (known_path != NULL) {
    http_call_set_header(call, "Allow", allow);
    hs_set_pending(call, 405, RPC_UNIMPLEMENTED, "method %s not allowed on %s", call->method,
                known_path->pattern);
  } else {
    hs_set_pending(call, 404, RPC_NOT_FOUND, "Not Found");
  }
}

static int media_type_is(const char *ct, const char *type) {
  size_t n = strlen(type);
  if (strncasecmp(ct, type, n) != 0)
    return 0;
  char c = ct[n];
  return c == '\0' || c == ';' || c == ' ' || c == '\t';
}

/* A body is read as JSON when it says so, says nothing, or carries curl's default
 * (application/x-www-form-urlencoded), as grpc-gateway's "*" marshaler does; anything
 * clearly else (application/xml, multipart/form-data, text/plain ...) is a 415. */
static int is_json_content_type(const char *ct) {
  if (ct == NULL)
    return 1;
  while (*ct == ' ' || *ct == '\t')
    ct++;
  return *ct == '\0' || media_type_is(ct, "application/json") ||
         media_type_is(ct, "application/x-www-form-urlencoded");
}

/* Strict framing (RFC 9112 6.3): two Content-Length headers, or Transfer-Encoding with
 * Content-Length, is a 400 and the connection is closed, so that nothing after the head
 * is read as another request. A repeated header that must be single is a 400 too, and so
 * is an HTTP/1.1 request without Host. Every one closes the connection. (A target or
 * header block over the limits never gets here: http_parse answers 414 or 431.) */
static int check_framing(http_call *call, int *answer) {
  const http_head *h = &call->head;
  struct {
    size_t content_length, transfer_encoding, host, content_type, idempotency_key;
  } n = {http_head_count(h, "Content-Length"), http_head_count(h, "Transfer-Encoding"),
         http_head_count(h, "Host"), http_head_count(h, "Content-Type"),
         http_head_count(h, "Idempotency-Key")};
  const char *why = NULL;
  if (n.content_length > 1)
    why = "more than one Content-Length header";
  else if (n.transfer_encoding > 0 && n.content_length > 0)
    why = "both Transfer-Encoding and Content-Length";
  else if (n.transfer_encoding > 1)
    why = "more than one Transfer-Encoding header";
  if (why != NULL) {
    http_call_set_header(call, "Connection", "close");
    *answer = hs_respond_error(call, 400, RPC_INVALID_ARGUMENT, why);
    return 1;
  }
  if (n.host > 1)
    why = "more than one Host header";
  else if (n.host == 0 && call->version != NULL && strcmp(call->version, "HTTP/1.1") == 0)
    why = "an HTTP/1.1 request needs a Host header"; /* RFC 9112 3.2 */
  else if (n.content_type > 1)
    why = "more than one Content-Type header";
  else if (n.idempotency_key > 1)
    why = "more than one Idempotency-Key header";
  if (why != NULL) {
    http_call_set_header(call, "Connection", "close");
    *answer = hs_respond_error(call, 400, RPC_INVALID_ARGUMENT, why);
    return 1;
  }
  return 0;
}

/* Headers are in: route, and refuse an announced oversized body before reading it. */
int hs_on_headers(http_call *call) {
  http_server *srv = call->srv;
  call->route_label = "unmatched"; /* until route_request: a framing 400 is counted so */
  call->hist_index = (int)srv->nroutes;
  int framing = HS_NO;
  if (check_framing(call, &framing))
    return framing;
  route_request(call);
  const char *cl = http_call_header(call, "Content-Length");
  if (cl != NULL) {
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(cl, &end, 10);
    if (errno == 0 && end != cl && n > srv->max_body) {
      /* Answering now skips the body; the connection is closed after the answer. */
      char msg[96];
      snprintf(msg, sizeof msg, "request body exceeds %zu bytes", srv->max_body);
      return hs_respond_error(call, 413, RPC_RESOURCE_EXHAUSTED, msg);
    }
    if (errno == 0 && end != cl && n > 0 && call->pending_status == 0) {
      call->body = malloc((size_t)n + 1);
      if (call->body != NULL)
        call->body_cap = (size_t)n;
    }
  }
  return HS_YES;
}

int hs_on_upload(http_call *call, const char *data, size_t n) {
  http_server *srv = call->srv;
  if (call->too_big || call->pending_status != 0) {
    /* Drain so the answer can go out, but cut off a client that keeps streaming far past
     * the cap: draining must not become an unbounded sink. */
    call->drained += n;
    return call->drained > 8 * srv->max_body + (1u << 20) ? HS_NO : HS_YES;
  }
  if (n > srv->max_body - call->body_len) {
    call->too_big = 1;
    free(call->body);
    call->body = NULL;
    call->body_len = call->body_cap = 0;
    call->drained = n;
    return HS_YES;
  }
  if (call->body_len + n > call->body_cap) {
    size_t cap = call->body_cap > 0 ? call->body_cap * 2 : 1024;
    if (cap < call->body_len + n)
      cap = call->body_len + n;
    if (cap > srv->max_body)
      cap = srv->max_body;
    char *grown = realloc(call->body, cap + 1);
    if (grown == NULL)
      return HS_NO;
    call->body = grown;
    call->body_cap = cap;
  }
  memcpy(call->body + call->body_len, data, n);
  call->body_len += n;
  call->body[call->body_len] = '\0';
  return HS_YES;
}

typedef struct query_ctx {
  ProtobufCMessage *msg;
} query_ctx;

static int set_query_field(void *ctx, const char *key, const char *value, char *err,
                           size_t errlen) {
  query_ctx *q = ctx;
  /* Unknown query parameters are ignored, as grpc-gateway does: a cache-buster such as
   * ?_=123 must not turn a read into a 400. (Unknown body fields stay rejected.) */
  if (pbjson_field_by_name(q->msg->descriptor, key) == NULL)
    return 0;
  char perr[PBJSON_ERR_MAX];
  if (pbjson_set_field(q->msg, key, value, perr, sizeof perr) != 0) {
    /* pbjson already names the field ("min_version: ..."): say it once */
    const char *detail = perr;
    size_t klen = strlen(key);
    if (strncmp(detail, key, klen) == 0 && detail[klen] == ':' && detail[klen + 1] == ' ')
      detail += klen + 2;
    snprintf(err, errlen, "query parameter %.64s: %s", key, detail);
    return -1;
  }
  return 0;
}

static int serve_raw(http_call *call) {
  http_raw_response out = {0};
  call->route->raw(call, &out);
  unsigned status = out.status != 0 ? out.status : 200;
  if (out.static_body != NULL)
    return hs_respond_static(call, status,
                             out.content_type != NULL ? out.content_type : "text/plain",
                             out.static_body, out.len);
  char *body = out.body;
  if (body == NULL) {
    body = strdup("");
    out.len = 0;
    if (body == NULL)
      return HS_NO;
  }
  return hs_respond(call, status, out.content_type != NULL ? out.content_type : "text/plain",
                 body, out.len);
}

static int serve_proto(http_call *call) {
  const http_route *r = call->route;
  char err[PBJSON_ERR_MAX + 128];

  const char *json = "{}";
  size_t json_len = 2;
  if (method_has_body(call->method) && call->body_len > 0) {
    if (!is_json_content_type(http_call_header(call, "Content-Type")))
      return hs_respond_error(call, 415, RPC_INVALID_ARGUMENT,
                           "Content-Type must be application/json");
    json = call->body;
    json_len = call->body_len;
  }
  if (pbjson_parse(r->request_type, json, json_len, 0, &call->req, err, sizeof err) != 0)
    return hs_respond_error(call, 400, RPC_INVALID_ARGUMENT, err);
  const char *q = strchr(call->uri, '?');
  if (q != NULL && method_has_body(call->method) && strcspn(q + 1, "#") > 0) {
    /* The body carries the whole request (grpc-gateway's body "*"): a query parameter
     * would silently override what the body says, e.g. POST /transactions?amount=999. */
    snprintf(err, sizeof err, "query parameters are not accepted on %s: send every field "
             "in the JSON body", call->method);
    return hs_respond_error(call, 400, RPC_INVALID_ARGUMENT, err);
  }
  if (q != NULL) {
    q++;
    query_ctx ctx = {.msg = call->req};
    if (http_route_query_each(q, strcspn(q, "#"), set_query_field, &ctx, err, sizeof err) != 0)
      return hs_respond_error(call, 400, RPC_INVALID_ARGUMENT, err);
  }
  /* Path parameters last: they name the resource the route matched, so a query parameter
   * of the same field (?account_id=...) must not replace them, as in grpc-gateway. */
  for (size_t i = 0; i < call->match.n; i++) {
    const http_route_param *p = &call->match.params[i];
    char perr[PBJSON_ERR_MAX];
    if (pbjson_set_field(call->req, p->name, p->value, perr, sizeof perr) != 0) {
      snprintf(err, sizeof err, "path parameter %s: %s", p->name, perr);
      return hs_respond_error(call, 400, RPC_INVALID_ARGUMENT, err);
    }
  }

  call->resp = http_call_new_message(call, r->response_type);
  if (call->resp == NULL)
    return hs_respond_error(call, 500, RPC_INTERNAL, "out of memory");
  call->handled = 1;
  if (r->blocking || call->srv->all_blocking) {
    hs_queue_work(call);
    return hs_park(call);
  }
  rpc_status st = {.code = RPC_OK, .message = ""};
  rpc_code code = r->handler(call, call->req, call->resp, &st);
  if (call->deferred)
    return hs_park(call);
  return hs_send_result(call, code, &st);
}

int hs_on_request_done(http_call *call) {
  if (call->too_big) {
    char msg[96];
    snprintf(msg, sizeof msg, "request body exceeds %zu bytes", call->srv->max_body);
    return hs_respond_error(call, 413, RPC_RESOURCE_EXHAUSTED, msg);
  }
  if (call->pending_status != 0)
    return hs_respond_error(call, call->pending_status, call->pending_code, call->pending_msg);
  if (call->deferred) { /* resumed: the outcome is in (mu orders it after the finish) */
    pthread_mutex_lock(&call->srv->mu);
    int done = call->finished;
    call->suspended = 0;
    pthread_mutex_unlock(&call->srv->mu);
    return done ? hs_send_result(call, call->result_code, &call->result_st) : HS_YES;
  }
  if (call->route->raw != NULL)
    return serve_raw(call);
  return serve_proto(call);
}
