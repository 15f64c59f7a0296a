/* http_server: the JSON <-> protobuf HTTP gateway on libmicrohttpd: thread per connection,
 * or an epoll event loop with parked (deferred) calls and worker threads for blocking routes. */
#include "http_server.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_edge.h"
#include "http_route.h"
#include "log.h"
#include "metrics.h"
#include "pbjson.h"
#include "pbjson_internal.h"
#include "timeutil.h"

#define DEFAULT_MAX_BODY (64u * 1024u)
#define DEFAULT_MAX_CONNECTIONS 512u
#define DEFAULT_TIMEOUT_S 10u
#define DEFAULT_WORKERS 2u
#define DURATION_METRIC "http_request_duration_seconds"
#define REQUESTS_METRIC "http_requests_total"

typedef struct arena_block {
  struct arena_block *next;
  max_align_t data[]; /* keeps every allocation suitably aligned for any type */
} arena_block;

typedef struct resp_header {
  struct resp_header *next;
  char *name;
  char *value;
} resp_header;

struct http_server {
  struct MHD_Daemon *mhd;
  http_edge *edge;
  /* on_mhd_log's rate limit: lines written in the current second, and suppressed ones */
  pthread_mutex_t log_mu;
  int64_t log_window_us;
  unsigned log_lines;
  unsigned long log_suppressed;
  const http_route *routes;
  size_t nroutes;
  size_t max_body;
  unsigned timeout_s;
  void *app;
  void (*on_rejected)(http_call *call, unsigned status, rpc_code code);
  uint16_t port;
  metric **route_hist; /* per route, then one for unmatched requests */
  pthread_mutex_t mu;
  pthread_cond_t idle; /* signalled when inflight drops to 0 */
  unsigned inflight;   /* requests between headers received and response sent */
  int stopping;
  int event_loop;      /* io_threads > 0: parked calls are suspended connections */
  /* Deferred calls (guarded by mu): how many are not finished yet, and a condition
   * signalled on every finish (thread-per-connection threads and stop wait on it). */
  unsigned deferred_open;
  pthread_cond_t finished;
  /* Worker threads of `blocking` routes in the event-loop model (queue guarded by mu). */
  pthread_t *workers;
  unsigned nworkers;
  http_call *work_head, **work_tail;
  pthread_cond_t work;
  int workers_stop;
};

struct http_call {
  http_server *srv;
  struct MHD_Connection *conn;
  char *uri; /* raw request target as the client sent it (undecoded, with query) */
  const char *method;
  char method_label[8];
  const http_route *route;
  const char *route_label; /* the pattern, or "unmatched" */
  int hist_index;
  http_route_match match;
  int started; /* the access handler has seen the headers */
  int handled; /* the route's handler has been called (or queued for a worker) */
  int counted; /* counted in srv->inflight */
  /* An answer decided from the headers alone (404, 405, 415, ...), sent after the body
   * has been drained so the connection stays usable for the next request. */
  unsigned pending_status;
  rpc_code pending_code;
  char pending_msg[RPC_MESSAGE_MAX];
  int too_big;
  size_t drained;
  char *body;
  size_t body_len, body_cap;
  arena_block *arena;
  resp_header *headers, **headers_tail;
  unsigned status_override;
  unsigned status_sent;
  int64_t start_us;
  /* The protobuf exchange, kept on the call so a deferred answer can use it later. */
  ProtobufCMessage *req, *resp;
  int deferred;          /* the answer comes from http_call_finish */
  int suspended;         /* event loop: the connection is parked in MHD */
  int finished;          /* http_call_finish has run (result below is set) */
  rpc_code result_code;
  rpc_status result_st;
  http_call *next_work;
};

static int64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- per-call memory ---------------------------------------------------------------- */

void *http_call_alloc(http_call *call, size_t n) {
  if (call == NULL || n > SIZE_MAX - sizeof(arena_block))
    return NULL;
  arena_block *b = calloc(1, sizeof *b + n);
  if (b == NULL)
    return NULL;
  b->next = call->arena;
  call->arena = b;
  return b->data;
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

static void call_free(http_call *call) {
  if (call == NULL)
    return;
  arena_block *b = call->arena;
  while (b != NULL) {
    arena_block *next = b->next;
    free(b);
    b = next;
  }
  http_route_match_clear(&call->match);
  if (call->req != NULL)
    protobuf_c_message_free_unpacked(call->req, NULL);
  free(call->body);
  free(call->uri);
  free(call);
}

/* ---- accessors ---------------------------------------------------------------------- */

void *http_call_app(const http_call *call) { return call != NULL ? call->srv->app : NULL; }

const char *http_call_header(const http_call *call, const char *name) {
  if (call == NULL || call->conn == NULL || name == NULL)
    return NULL;
  return MHD_lookup_connection_value(call->conn, MHD_HEADER_KIND, name);
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

/* Queues body (malloc'd, taken) with status. Returns MHD_NO when MHD refused: MHD then
 * closes the connection, which is the only answer left. */
static enum MHD_Result respond(http_call *call, unsigned status, const char *content_type,
                               char *body, size_t len) {
  struct MHD_Response *r =
      MHD_create_response_from_buffer_with_free_callback(len, body, &free);
  if (r == NULL) {
    free(body);
    return MHD_NO;
  }
  if (content_type != NULL)
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  for (resp_header *h = call->headers; h != NULL; h = h->next)
    MHD_add_response_header(r, h->name, h->value);
  pthread_mutex_lock(&call->srv->mu);
  int stopping = call->srv->stopping;
  pthread_mutex_unlock(&call->srv->mu);
  if (stopping) /* tell keep-alive clients to go elsewhere while we drain */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
  enum MHD_Result ret = MHD_queue_response(call->conn, status, r);
  MHD_destroy_response(r);
  if (ret == MHD_YES)
    call->status_sent = status;
  return ret;
}

/* grpc-gateway's error body: {"code":5,"message":"...","details":[]}. */
static enum MHD_Result respond_error(http_call *call, unsigned status, rpc_code code,
                                     const char *message) {
  cJSON *o = cJSON_CreateObject();
  char *text = NULL;
  if (o != NULL && cJSON_AddNumberToObject(o, "code", (double)code) != NULL &&
      cJSON_AddStringToObject(o, "message", message != NULL ? message : "") != NULL &&
      cJSON_AddArrayToObject(o, "details") != NULL)
    text = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  if (text == NULL)
    return MHD_NO;
  if (call->route != NULL && call->route->raw == NULL && !call->handled &&
      call->srv->on_rejected != NULL)
    call->srv->on_rejected(call, status, code);
  return respond(call, status, "application/json", text, strlen(text));
}

static void set_pending(http_call *call, unsigned status, rpc_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void set_pending(http_call *call, unsigned status, rpc_code code, const char *fmt, ...) {
  if (call->pending_status != 0)
    return; /* the first problem found is the one reported */
  call->pending_status = status;
  call->pending_code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(call->pending_msg, sizeof call->pending_msg, fmt, ap);
  va_end(ap);
}

/* ---- request pipeline --------------------------------------------------------------- */

static const char *method_label(const char *method) {
  static const char *const known[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strcmp(method, known[i]) == 0)
      return known[i];
  return "OTHER"; /* a client must not be able to mint label values */
}

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
    set_pending(call, 400, RPC_INVALID_ARGUMENT, "malformed percent-encoding in path");
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
      set_pending(call, 400, RPC_INVALID_ARGUMENT, "malformed path parameter");
      return;
    }
    if (rc == HTTP_ROUTE_OOM) {
      set_pending(call, 500, RPC_INTERNAL, "out of memory");
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
    http_call_set_header(call, MHD_HTTP_HEADER_ALLOW, allow);
    set_pending(call, 405, RPC_UNIMPLEMENTED, "method %s not allowed on %s", call->method,
                known_path->pattern);
  } else {
    set_pending(call, 404, RPC_NOT_FOUND, "Not Found");
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

typedef struct header_counts {
  unsigned content_length, transfer_encoding, host, content_type, idempotency_key;
} header_counts;

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value) {
  (void)kind;
  (void)value;
  header_counts *n = cls;
  if (key == NULL)
    return MHD_YES;
  if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
    n->content_length++;
  else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
    n->transfer_encoding++;
  else if (strcasecmp(key, MHD_HTTP_HEADER_HOST) == 0)
    n->host++;
  else if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_TYPE) == 0)
    n->content_type++;
  else if (strcasecmp(key, "Idempotency-Key") == 0)
    n->idempotency_key++;
  return MHD_YES;
}

/* Strict framing (RFC 9112 6.3): two Content-Length headers, or Transfer-Encoding with
 * Content-Length, is a 400 and the connection is closed, so that nothing after the head
 * is read as another request. A repeated header that must be single is a 400 too. */
static int check_framing(http_call *call, enum MHD_Result *answer) {
  header_counts n = {0};
  MHD_get_connection_values(call->conn, MHD_HEADER_KIND, &count_header, &n);
  const char *why = NULL;
  if (n.content_length > 1)
    why = "more than one Content-Length header";
  else if (n.transfer_encoding > 0 && n.content_length > 0)
    why = "both Transfer-Encoding and Content-Length";
  else if (n.transfer_encoding > 1)
    why = "more than one Transfer-Encoding header";
  if (why != NULL) {
    http_call_set_header(call, MHD_HTTP_HEADER_CONNECTION, "close");
    *answer = respond_error(call, 400, RPC_INVALID_ARGUMENT, why);
    return 1;
  }
  if (n.host > 1)
    why = "more than one Host header";
  else if (n.content_type > 1)
    why = "more than one Content-Type header";
  else if (n.idempotency_key > 1)
    why = "more than one Idempotency-Key header";
  if (why != NULL) {
    http_call_set_header(call, MHD_HTTP_HEADER_CONNECTION, "close");
    *answer = respond_error(call, 400, RPC_INVALID_ARGUMENT, why);
    return 1;
  }
  return 0;
}

/* Headers are in: route, and refuse an announced oversized body before reading it. */
static enum MHD_Result on_headers(http_call *call) {
  http_server *srv = call->srv;
  call->route_label = "unmatched"; /* until route_request: a framing 400 is counted so */
  call->hist_index = (int)srv->nroutes;
  enum MHD_Result framing = MHD_NO;
  if (check_framing(call, &framing))
    return framing;
  route_request(call);
  const char *cl = MHD_lookup_connection_value(call->conn, MHD_HEADER_KIND,
                                               MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (cl != NULL) {
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(cl, &end, 10);
    if (errno == 0 && end != cl && n > srv->max_body) {
      /* Answering now makes MHD skip the body and close the connection afterwards. */
      char msg[96];
      snprintf(msg, sizeof msg, "request body exceeds %zu bytes", srv->max_body);
      return respond_error(call, 413, RPC_RESOURCE_EXHAUSTED, msg);
    }
    if (errno == 0 && end != cl && n > 0 && call->pending_status == 0) {
      call->body = malloc((size_t)n + 1);
      if (call->body != NULL)
        call->body_cap = (size_t)n;
    }
  }
  return MHD_YES;
}

static enum MHD_Result on_upload(http_call *call, const char *data, size_t n) {
  http_server *srv = call->srv;
  if (call->too_big || call->pending_status != 0) {
    /* Drain so the answer can go out, but cut off a client that keeps streaming far past
     * the cap: draining must not become an unbounded sink. */
    call->drained += n;
    return call->drained > 8 * srv->max_body + (1u << 20) ? MHD_NO : MHD_YES;
  }
  if (n > srv->max_body - call->body_len) {
    call->too_big = 1;
    free(call->body);
    call->body = NULL;
    call->body_len = call->body_cap = 0;
    call->drained = n;
    return MHD_YES;
  }
  if (call->body_len + n > call->body_cap) {
    size_t cap = call->body_cap > 0 ? call->body_cap * 2 : 1024;
    if (cap < call->body_len + n)
      cap = call->body_len + n;
    if (cap > srv->max_body)
      cap = srv->max_body;
    char *grown = realloc(call->body, cap + 1);
    if (grown == NULL)
      return MHD_NO;
    call->body = grown;
    call->body_cap = cap;
  }
  memcpy(call->body + call->body_len, data, n);
  call->body_len += n;
  call->body[call->body_len] = '\0';
  return MHD_YES;
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

static enum MHD_Result serve_raw(http_call *call) {
  http_raw_response out = {0};
  call->route->raw(call, &out);
  unsigned status = out.status != 0 ? out.status : 200;
  char *body = out.body;
  if (body == NULL) {
    body = strdup("");
    out.len = 0;
    if (body == NULL)
      return MHD_NO;
  }
  return respond(call, status, out.content_type != NULL ? out.content_type : "text/plain",
                 body, out.len);
}

/* The handler's outcome as an HTTP response: the response message printed, or the error. */
static enum MHD_Result send_result(http_call *call, rpc_code code, const rpc_status *st) {
  const http_route *r = call->route;
  char err[PBJSON_ERR_MAX + 128];
  if ((int)code < (int)RPC_OK || (int)code > (int)RPC_UNAUTHENTICATED) {
    log_error("http: handler for %s %s returned invalid code %d", r->method, r->pattern,
              (int)code);
    snprintf(err, sizeof err, "handler returned invalid status code %d", (int)code);
    return respond_error(call, 500, RPC_INTERNAL, err);
  }
  if (code != RPC_OK)
    return respond_error(call, rpc_code_to_http(code), code,
                         st != NULL && st->message[0] != '\0' ? st->message : rpc_code_name(code));
  char *text = pbjson_print(call->resp, PBJSON_EMIT_DEFAULTS, err, sizeof err);
  if (text == NULL) {
    log_error("http: cannot print response of %s %s: %s", r->method, r->pattern, err);
    return respond_error(call, 500, RPC_INTERNAL, err);
  }
  unsigned status = call->status_override != 0 ? call->status_override
                    : r->success_status != 0   ? r->success_status
                                               : 200;
  return respond(call, status, "application/json", text, strlen(text));
}

/* A deferred call right after its handler returned: answered already (finished from the
 * handler itself), or parked until http_call_finish. The check and the suspend happen
 * under mu, the same lock finish takes, so a finish cannot slip in between and be lost. */
static enum MHD_Result park(http_call *call) {
  http_server *srv = call->srv;
  pthread_mutex_lock(&srv->mu);
  if (!call->finished && srv->event_loop) {
    call->suspended = 1;
    MHD_suspend_connection(call->conn);
    pthread_mutex_unlock(&srv->mu);
    return MHD_YES; /* MHD calls on_access again after the resume */
  }
  while (!call->finished) /* thread per connection: this thread is the connection's */
    pthread_cond_wait(&srv->finished, &srv->mu);
  pthread_mutex_unlock(&srv->mu);
  return send_result(call, call->result_code, &call->result_st);
}

static void defer_locked(http_call *call) {
  if (!call->deferred) {
    call->deferred = 1;
    call->srv->deferred_open++;
  }
}

/* The call a worker thread is running a handler for, and whether that handler deferred
 * it. Thread-local, not on the call: once deferred, the call may be finished, answered
 * and freed by other threads before the handler even returns. */
static __thread const http_call *worker_call;
static __thread int worker_call_deferred;

void http_call_defer(http_call *call) {
  if (call == NULL)
    return;
  if (call == worker_call)
    worker_call_deferred = 1;
  pthread_mutex_lock(&call->srv->mu);
  defer_locked(call);
  pthread_mutex_unlock(&call->srv->mu);
}

void http_call_finish(http_call *call, rpc_code code, const rpc_status *st) {
  if (call == NULL)
    return;
  http_server *srv = call->srv;
  pthread_mutex_lock(&srv->mu);
  if (!call->deferred || call->finished) {
    pthread_mutex_unlock(&srv->mu);
    log_error("http: http_call_finish on a call that is %s", call->finished ? "finished" : "not deferred");
    return;
  }
  call->result_code = code;
  call->result_st.code = code;
  snprintf(call->result_st.message, sizeof call->result_st.message, "%s",
           st != NULL ? st->message : "");
  call->finished = 1;
  srv->deferred_open--;
  if (call->suspended)
    MHD_resume_connection(call->conn);
  pthread_cond_broadcast(&srv->finished);
  pthread_mutex_unlock(&srv->mu);
}

/* Worker threads of the event-loop model: run `blocking` handlers off the I/O threads. */
static void *worker_main(void *arg) {
  http_server *srv = arg;
  pthread_mutex_lock(&srv->mu);
  for (;;) {
    while (srv->work_head == NULL && !srv->workers_stop)
      pthread_cond_wait(&srv->work, &srv->mu);
    if (srv->work_head == NULL)
      break;
    http_call *call = srv->work_head;
    srv->work_head = call->next_work;
    if (srv->work_head == NULL)
      srv->work_tail = &srv->work_head;
    pthread_mutex_unlock(&srv->mu);
    rpc_status st = {.code = RPC_OK, .message = ""};
    worker_call = call;
    worker_call_deferred = 0;
    rpc_code code = call->route->handler(call, call->req, call->resp, &st);
    worker_call = NULL;
    if (!worker_call_deferred) /* it may have deferred in turn: then its owner finishes */
      http_call_finish(call, code, &st);
    pthread_mutex_lock(&srv->mu);
  }
  pthread_mutex_unlock(&srv->mu);
  return NULL;
}

static void queue_work(http_call *call) {
  http_server *srv = call->srv;
  pthread_mutex_lock(&srv->mu);
  defer_locked(call);
  call->next_work = NULL;
  *srv->work_tail = call;
  srv->work_tail = &call->next_work;
  pthread_cond_signal(&srv->work);
  pthread_mutex_unlock(&srv->mu);
}

static enum MHD_Result serve_proto(http_call *call) {
  const http_route *r = call->route;
  char err[PBJSON_ERR_MAX + 128];

  const char *json = "{}";
  size_t json_len = 2;
  if (method_has_body(call->method) && call->body_len > 0) {
    if (!is_json_content_type(http_call_header(call, MHD_HTTP_HEADER_CONTENT_TYPE)))
      return respond_error(call, 415, RPC_INVALID_ARGUMENT,
                           "Content-Type must be application/json");
    json = call->body;
    json_len = call->body_len;
  }
  if (pbjson_parse(r->request_type, json, json_len, 0, &call->req, err, sizeof err) != 0)
    return respond_error(call, 400, RPC_INVALID_ARGUMENT, err);
  const char *q = strchr(call->uri, '?');
  if (q != NULL && method_has_body(call->method) && strcspn(q + 1, "#") > 0) {
    /* The body carries the whole request (grpc-gateway's body "*"): a query parameter
     * would silently override what the body says, e.g. POST /transactions?amount=999. */
    snprintf(err, sizeof err, "query parameters are not accepted on %s: send every field "
             "in the JSON body", call->method);
    return respond_error(call, 400, RPC_INVALID_ARGUMENT, err);
  }
  if (q != NULL) {
    q++;
    query_ctx ctx = {.msg = call->req};
    if (http_route_query_each(q, strcspn(q, "#"), set_query_field, &ctx, err, sizeof err) != 0)
      return respond_error(call, 400, RPC_INVALID_ARGUMENT, err);
  }
  /* Path parameters last: they name the resource the route matched, so a query parameter
   * of the same field (?account_id=...) must not replace them, as in grpc-gateway. */
  for (size_t i = 0; i < call->match.n; i++) {
    const http_route_param *p = &call->match.params[i];
    char perr[PBJSON_ERR_MAX];
    if (pbjson_set_field(call->req, p->name, p->value, perr, sizeof perr) != 0) {
      snprintf(err, sizeof err, "path parameter %s: %s", p->name, perr);
      return respond_error(call, 400, RPC_INVALID_ARGUMENT, err);
    }
  }

  call->resp = http_call_new_message(call, r->response_type);
  if (call->resp == NULL)
    return respond_error(call, 500, RPC_INTERNAL, "out of memory");
  call->handled = 1;
  if (r->blocking && call->srv->event_loop) {
    queue_work(call);
    return park(call);
  }
  rpc_status st = {.code = RPC_OK, .message = ""};
  rpc_code code = r->handler(call, call->req, call->resp, &st);
  if (call->deferred)
    return park(call);
  return send_result(call, code, &st);
}

static enum MHD_Result on_request_done(http_call *call) {
  if (call->too_big) {
    char msg[96];
    snprintf(msg, sizeof msg, "request body exceeds %zu bytes", call->srv->max_body);
    return respond_error(call, 413, RPC_RESOURCE_EXHAUSTED, msg);
  }
  if (call->pending_status != 0)
    return respond_error(call, call->pending_status, call->pending_code, call->pending_msg);
  if (call->deferred) { /* resumed: the outcome is in (mu orders it after the finish) */
    pthread_mutex_lock(&call->srv->mu);
    int done = call->finished;
    call->suspended = 0;
    pthread_mutex_unlock(&call->srv->mu);
    return done ? send_result(call, call->result_code, &call->result_st) : MHD_YES;
  }
  if (call->route->raw != NULL)
    return serve_raw(call);
  return serve_proto(call);
}

/* ---- libmicrohttpd callbacks -------------------------------------------------------- */

/* Runs on the request line, before MHD decodes the path: we need the raw target so that
 * "a%2Fb" stays one segment. The state it returns becomes *req_cls. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn) {
  (void)conn;
  http_call *call = calloc(1, sizeof *call);
  if (call == NULL)
    return NULL;
  call->srv = cls;
  if (uri != NULL && (strncasecmp(uri, "http://", 7) == 0 || strncasecmp(uri, "https://", 8) == 0)) {
    /* absolute-form (RFC 9112 3.2.2): the path starts after the authority */
    const char *p = strchr(uri + (uri[4] == ':' ? 7 : 8), '/');
    uri = p != NULL ? p : "/";
  }
  call->uri = strdup(uri != NULL ? uri : "");
  call->headers_tail = &call->headers;
  if (call->uri == NULL) {
    free(call);
    return NULL;
  }
  return call;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **req_cls) {
  (void)url;
  (void)version;
  http_server *srv = cls;
  http_call *call = *req_cls;
  if (call == NULL)
    return MHD_NO; /* on_uri ran out of memory: dropping the connection is all we can do */
  if (!call->started) {
    call->started = 1;
    call->conn = conn;
    call->method = method;
    snprintf(call->method_label, sizeof call->method_label, "%s", method_label(method));
    call->start_us = mono_us();
    pthread_mutex_lock(&srv->mu);
    srv->inflight++;
    pthread_mutex_unlock(&srv->mu);
    call->counted = 1;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_TRANSFER_ENCODING);
    http_edge_phase(srv->edge, conn,
                    te != NULL || (cl != NULL && strcmp(cl, "0") != 0)
                        ? HTTP_EDGE_HEAD_DONE_BODY
                        : HTTP_EDGE_HEAD_DONE_NO_BODY);
    return on_headers(call);
  }
  if (*upload_data_size != 0) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    return on_upload(call, upload_data, n);
  }
  if (call->status_sent != 0)
    return MHD_YES; /* answered early (413 on Content-Length) */
  http_edge_phase(srv->edge, conn, HTTP_EDGE_REQUEST_DONE);
  return on_request_done(call);
}

static void escape_label(const char *in, char *out, size_t outlen) {
  size_t o = 0;
  for (; *in != '\0' && o + 3 < outlen; in++) {
    if (*in == '"' || *in == '\\') {
      out[o++] = '\\';
      out[o++] = *in;
    } else if (*in == '\n') {
      out[o++] = '\\';
      out[o++] = 'n';
    } else {
      out[o++] = *in;
    }
  }
  out[o] = '\0';
}

static void record_metrics(http_call *call) {
  http_server *srv = call->srv;
  char route[192], labels[320];
  escape_label(call->route_label, route, sizeof route);
  snprintf(labels, sizeof labels, "route=\"%s\",method=\"%s\",code=\"%u\"", route,
           call->method_label, call->status_sent);
  metrics_add(metrics_counter(REQUESTS_METRIC, "HTTP requests answered, by route, method and status.",
                              labels),
              1);
  metrics_observe_us(srv->route_hist[call->hist_index], mono_us() - call->start_us);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)toe;
  http_server *srv = cls;
  http_call *call = *req_cls;
  *req_cls = NULL;
  http_edge_phase(srv->edge, conn, HTTP_EDGE_ANSWERED);
  if (call == NULL)
    return;
  if (call->started && call->status_sent != 0)
    record_metrics(call);
  if (call->counted) {
    pthread_mutex_lock(&srv->mu);
    if (--srv->inflight == 0)
      pthread_cond_broadcast(&srv->idle);
    pthread_mutex_unlock(&srv->mu);
  }
  call_free(call);
}

__attribute__((format(printf, 2, 0)))
static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
  /* A client decides how often libmicrohttpd complains (each aborted connection is a
   * line): at most 5 lines a second, the rest counted and reported with the next line. */
  http_server *srv = cls;
  unsigned long suppressed = 0;
  pthread_mutex_lock(&srv->log_mu);
  int64_t now = mono_us();
  if (now - srv->log_window_us >= 1000000) {
    srv->log_window_us = now;
    srv->log_lines = 0;
  }
  int write = srv->log_lines < 5;
  if (write) {
    srv->log_lines++;
    suppressed = srv->log_suppressed;
    srv->log_suppressed = 0;
  } else {
    srv->log_suppressed++;
  }
  pthread_mutex_unlock(&srv->log_mu);
  if (!write)
    return;
  if (suppressed > 0)
    log_warn("libmicrohttpd: %lu similar lines suppressed", suppressed);
  char buf[512];
  vsnprintf(buf, sizeof buf, fmt, ap);
  size_t n = strlen(buf);
  while (n > 0 && buf[n - 1] == '\n')
    buf[--n] = '\0';
  log_warn("libmicrohttpd: %s", buf);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static int check_routes(const http_route *routes, size_t nroutes, char *err, size_t errlen) {
  for (size_t i = 0; i < nroutes; i++) {
    const http_route *r = &routes[i];
    if (r->method == NULL || r->pattern == NULL || (r->raw == NULL && r->handler == NULL)) {
      snprintf(err, errlen, "route %zu: method, pattern and a handler are required", i);
      return -1;
    }
    http_route_match names;
    char perr[160];
    if (http_route_pattern_names(r->pattern, &names, perr, sizeof perr) != 0) {
      snprintf(err, errlen, "route %s %s: %s", r->method, r->pattern, perr);
      return -1;
    }
    if (r->raw != NULL)
      continue;
    if (r->request_type == NULL || r->response_type == NULL) {
      snprintf(err, errlen, "route %s %s: request and response types are required", r->method,
               r->pattern);
      return -1;
    }
    /* A path param naming no field would fail every request: refuse to start instead. */
    for (size_t k = 0; k < names.n; k++) {
      if (protobuf_c_message_descriptor_get_field_by_name(r->request_type,
                                                          names.params[k].name) == NULL) {
        snprintf(err, errlen, "route %s %s: %s has no field %s", r->method, r->pattern,
                 r->request_type->name, names.params[k].name);
        return -1;
      }
    }
  }
  return 0;
}

/* Stops and joins the workers; the queue is empty by then (stop waited for every
 * deferred call, and queued work is deferred). */
static void workers_join(http_server *srv) {
  pthread_mutex_lock(&srv->mu);
  srv->workers_stop = 1;
  pthread_cond_broadcast(&srv->work);
  pthread_mutex_unlock(&srv->mu);
  for (unsigned i = 0; i < srv->nworkers; i++)
    pthread_join(srv->workers[i], NULL);
  srv->nworkers = 0;
}

static void server_free(http_server *srv) {
  if (srv == NULL)
    return;
  workers_join(srv);
  free(srv->workers);
  free(srv->route_hist);
  http_edge_stop(srv->edge);
  pthread_mutex_destroy(&srv->log_mu);
  pthread_cond_destroy(&srv->work);
  pthread_cond_destroy(&srv->finished);
  pthread_cond_destroy(&srv->idle);
  pthread_mutex_destroy(&srv->mu);
  free(srv);
}

http_server *http_server_start(const http_server_config *cfg, const http_route *routes,
                               size_t nroutes, char *err, size_t errlen) {
  http_server *srv = NULL;
  if (cfg == NULL || (routes == NULL && nroutes > 0)) {
    snprintf(err, errlen, "http_server_start: config and routes are required");
    return NULL;
  }
  if (check_routes(routes, nroutes, err, errlen) != 0)
    return NULL;

  const char *addr = cfg->bind_address != NULL ? cfg->bind_address : "127.0.0.1";
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  unsigned flags = cfg->io_threads > 0
                      ? MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME
                      : MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD;
  flags |= MHD_USE_ERROR_LOG | MHD_USE_ITC;
  struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons(cfg->port);
  } else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(cfg->port);
    flags |= MHD_USE_IPv6;
  } else {
    snprintf(err, errlen, "bind address %s is not an IPv4 or IPv6 address", addr);
    return NULL;
  }

  srv = calloc(1, sizeof *srv);
  if (srv == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  pthread_mutex_init(&srv->mu, NULL);
  pthread_mutex_init(&srv->log_mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the drain deadline must not jump */
  pthread_cond_init(&srv->idle, &ca);
  pthread_condattr_destroy(&ca);
  pthread_cond_init(&srv->finished, NULL);
  pthread_cond_init(&srv->work, NULL);
  srv->work_tail = &srv->work_head;
  srv->event_loop = cfg->io_threads > 0;
  srv->routes = routes;
  srv->nroutes = nroutes;
  srv->max_body = cfg->max_body_bytes != 0 ? cfg->max_body_bytes : DEFAULT_MAX_BODY;
  srv->timeout_s = cfg->connection_timeout_s != 0 ? cfg->connection_timeout_s : DEFAULT_TIMEOUT_S;
  srv->app = cfg->app;
  srv->on_rejected = cfg->on_rejected;
  unsigned max_conn = cfg->max_connections != 0 ? cfg->max_connections : DEFAULT_MAX_CONNECTIONS;

  srv->route_hist = calloc(nroutes + 1, sizeof *srv->route_hist);
  if (srv->route_hist == NULL) {
    snprintf(err, errlen, "out of memory");
    goto fail;
  }
  for (size_t i = 0; i <= nroutes; i++) {
    char route[192], labels[256];
    escape_label(i < nroutes ? routes[i].pattern : "unmatched", route, sizeof route);
    snprintf(labels, sizeof labels, "route=\"%s\"", route);
    srv->route_hist[i] = metrics_histogram(DURATION_METRIC, "HTTP request latency by route.", labels);
  }

  if (srv->event_loop) {
    unsigned want = cfg->workers != 0 ? cfg->workers : DEFAULT_WORKERS;
    srv->workers = calloc(want, sizeof *srv->workers);
    if (srv->workers == NULL) {
      snprintf(err, errlen, "out of memory");
      goto fail;
    }
    for (; srv->nworkers < want; srv->nworkers++) {
      if (pthread_create(&srv->workers[srv->nworkers], NULL, worker_main, srv) != 0) {
        snprintf(err, errlen, "cannot start HTTP worker threads");
        goto fail;
      }
    }
  }

  {
    http_edge_config ec = {.max_connections = max_conn,
                           .head_timeout_s = srv->timeout_s,
                           .body_timeout_s = srv->timeout_s};
    srv->edge = http_edge_start(&ec);
    if (srv->edge == NULL) {
      snprintf(err, errlen, "cannot start the HTTP edge thread");
      goto fail;
    }
  }
  /* MHD's own limit sits above ours: http_edge decides what happens at max_conn (the
   * oldest waiting connection goes), instead of new clients waiting in the accept queue. */
  unsigned mhd_limit = max_conn * 2 + 64;
  errno = 0;
  srv->mhd = MHD_start_daemon(
      flags, cfg->port, NULL, NULL, &on_access, srv,
      /* first, or MHD logs the other options' complaints to stderr its own way */
      MHD_OPTION_EXTERNAL_LOGGER, &on_mhd_log, srv,
      MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&ss,
      MHD_OPTION_CONNECTION_LIMIT, mhd_limit,
      MHD_OPTION_NOTIFY_CONNECTION, &http_edge_on_connection, srv->edge,
      MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->max_connections_per_ip,
      MHD_OPTION_CONNECTION_TIMEOUT, srv->timeout_s,
      MHD_OPTION_NOTIFY_COMPLETED, &on_completed, srv,
      MHD_OPTION_URI_LOG_CALLBACK, &on_uri, srv,
      /* last: with one thread (or thread per connection) the list ends here */
      cfg->io_threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END, cfg->io_threads,
      MHD_OPTION_END);
  if (srv->mhd == NULL) {
    int e = errno;
    snprintf(err, errlen, "cannot listen on %s:%u%s%s", addr, (unsigned)cfg->port,
             e != 0 ? ": " : "", e != 0 ? strerror(e) : "");
    goto fail;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
  srv->port = info != NULL ? info->port : cfg->port;
  return srv;
fail:
  server_free(srv);
  return NULL;
}

uint16_t http_server_port(const http_server *srv) { return srv != NULL ? srv->port : 0; }

void http_server_stop(http_server *srv) {
  if (srv == NULL)
    return;
  /* Closing the listening socket first makes new clients fail fast (and go to another
   * instance) while requests already being served run to completion. */
  MHD_socket ls = MHD_quiesce_daemon(srv->mhd);
  if (ls != MHD_INVALID_SOCKET)
    close(ls);
  /* Wait for in-flight responses to be delivered, not only computed: MHD_stop_daemon
   * would shut their sockets down under them. Bounded, so a client that never finishes
   * sending its body cannot hold shutdown forever. */
  pthread_mutex_lock(&srv->mu);
  srv->stopping = 1;
  struct timespec deadline;
  time_deadline_ts(CLOCK_MONOTONIC, (int64_t)srv->timeout_s * 1000, &deadline);
  while (srv->inflight > 0) {
    if (pthread_cond_timedwait(&srv->idle, &srv->mu, &deadline) == ETIMEDOUT)
      break;
  }
  /* Past the deadline, deferred calls still get their answer: their owners promise one
   * (bounded waits), and MHD cannot stop with a connection parked. */
  while (srv->deferred_open > 0) {
    log_warn("http: stopping: waiting for %u deferred answers", srv->deferred_open);
    struct timespec again;
    time_deadline_ts(CLOCK_REALTIME, 1000, &again);
    pthread_cond_timedwait(&srv->finished, &srv->mu, &again);
  }
  pthread_mutex_unlock(&srv->mu);
  /* Cuts idle keep-alive connections and joins every connection thread. */
  MHD_stop_daemon(srv->mhd);
  server_free(srv);
}
