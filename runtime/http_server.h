/* http_server: a JSON <-> protobuf HTTP gateway on our own HTTP/1.1 engine.
 *
 * A service is a table of routes; each names its request and response message types
 * and a handler that takes and returns messages. The server parses the JSON body (POST)
 * with pbjson, fills path parameters ("/balances/{account_id}") and query parameters
 * into the request message by field name, calls the handler, and prints the response
 * with proto field names and defaults emitted. Errors go out in grpc-gateway's shape:
 * {"code": 5, "message": "account ... not found", "details": []}.
 *
 * Threads (http_server_config.io_threads):
 * - N > 0: N epoll threads serve every connection, and a handler must not block: it
 *   answers from memory, or defers (below), or its route is marked `blocking` and the
 *   server runs it on one of `workers` handler threads while the connection is parked.
 *   Few threads and wake-ups per request: what a hot read path wants.
 * - 0: one epoll thread, and every protobuf handler runs on a worker (16 unless
 *   `workers` says): handlers may block on MariaDB without starving other clients.
 * Idle and slow clients are cut after connection_timeout_s (see http_edge.h).
 *
 * Deferred answers: a handler that waits for something another thread produces (a group
 * commit, a version of the read model) calls http_call_defer() and returns at once; the
 * connection is parked (it holds no thread);
 * later exactly one http_call_finish() from any thread sends the outcome. This lets one
 * thread answer many requests with one database round trip.
 *
 * Statuses the server itself answers, all in the same JSON shape: 404 unknown path, 405
 * known path with another method (with an Allow header), 413 body over max_body_bytes,
 * 415 POST with a content type that is not JSON, 400 malformed JSON or parameters (the
 * message names the field), and for malformed HTTP (http_parse.h, http_chunked.h): 400,
 * 414, 431, 501 (a transfer coding other than chunked), 417, 505.
 */
#ifndef WALLET_HTTP_SERVER_H
#define WALLET_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

#include "rpc_status.h"

typedef struct http_server http_server;

/* One request being served. Valid only during the handler call. */
typedef struct http_call http_call;

/* A protobuf handler. `request` is owned by the server. `response` is already
 * initialised with the route's response type; strings, bytes, arrays and sub-messages
 * put into it must come from http_call_alloc/http_call_strdup/http_call_new_message
 * (freed after the response is sent). Return RPC_OK, or an error code with st filled:
 * then the response is ignored and the error is sent. */
typedef rpc_code (*http_handler_fn)(http_call *call, const ProtobufCMessage *request,
                                    ProtobufCMessage *response, rpc_status *st);

/* A non-protobuf answer (e.g. Prometheus /metrics). body is malloc'd by the handler and
 * freed by the server. */
typedef struct http_raw_response {
  unsigned status;
  const char *content_type; /* static string */
  char *body;
  size_t len;
  /* Instead of body: bytes that live as long as the process (embedded files), sent as
   * they are, never copied or freed. */
  const void *static_body;
} http_raw_response;
typedef void (*http_raw_handler_fn)(http_call *call, http_raw_response *out);

typedef struct http_route {
  const char *method;  /* "GET", "POST", ... */
  const char *pattern; /* "/accounts/{id}": a {name} segment matches one non-empty
                          path segment (percent-decoded) and sets request field `name` */
  const ProtobufCMessageDescriptor *request_type;
  const ProtobufCMessageDescriptor *response_type;
  http_handler_fn handler;
  unsigned success_status;   /* 200 or 201; 0 means 200 */
  http_raw_handler_fn raw;   /* if set, used instead of handler (types may be NULL) */
  int blocking;              /* run handler on a worker thread (it may block on the
                                database) */
} http_route;

typedef struct http_server_config {
  const char *bind_address;      /* "127.0.0.1"; "0.0.0.0" inside a container */
  uint16_t port;                 /* 0 picks a free port: see http_server_port */
  size_t max_body_bytes;         /* 0 means 64 KiB */
  unsigned max_connections;      /* 0 means 512 */
  unsigned connection_timeout_s; /* 0 means 10: idle timeout, request-head and body deadlines */
  unsigned max_connections_per_ip; /* 0: no per-address limit */
  unsigned io_threads;           /* N: N epoll threads; 0: one, every handler on a worker */
  unsigned workers;              /* threads for `blocking` routes; 0 means 2 (16 with
                                    io_threads 0) */
  void *app;                     /* handed to handlers through http_call_app */
  /* Optional: told of every error the server itself answers for a matched protobuf route
   * before its handler runs (415, 413, undecodable body or parameters), so a service can
   * count those rejections with the ones its handlers make. Runs on the I/O thread. */
  void (*on_rejected)(http_call *call, unsigned status, rpc_code code);
} http_server_config;

/* Starts serving `routes` (the array must outlive the server). Returns NULL with err
 * filled when the port cannot be bound. */
http_server *http_server_start(const http_server_config *cfg, const http_route *routes,
                               size_t nroutes, char *err, size_t errlen);

/* The bound port (useful after asking for port 0). */
uint16_t http_server_port(const http_server *srv);

/* Stops accepting, lets in-flight requests finish, frees everything. NULL is a no-op. */
void http_server_stop(http_server *srv);

void *http_call_app(const http_call *call);
/* Request header by case-insensitive name, or NULL. Owned by the call. */
const char *http_call_header(const http_call *call, const char *name);
/* Raw request body (NULL and 0 when empty). Owned by the call. */
const char *http_call_body(const http_call *call, size_t *len);
const char *http_call_method(const http_call *call);
/* The route pattern that matched, e.g. "/accounts/{id}" (for metrics labels). */
const char *http_call_route(const http_call *call);

/* Memory that lives until the response has been sent. Zeroed. NULL on OOM. */
void *http_call_alloc(http_call *call, size_t n);
char *http_call_strdup(http_call *call, const char *s);
/* A new message of type desc, initialised, living as long as the call. */
ProtobufCMessage *http_call_new_message(http_call *call, const ProtobufCMessageDescriptor *desc);

/* Adds a response header (copied). */
void http_call_set_header(http_call *call, const char *name, const char *value);
/* Overrides the route's success status (e.g. 200 for an idempotent replay of a 201). */
void http_call_set_status(http_call *call, unsigned status);

/* Inside a protobuf handler: the answer comes later, through http_call_finish. The
 * handler returns right after (its return value is ignored). Until finished, the request
 * and response messages and the call stay valid and belong to whoever will finish it,
 * which may fill the response and use http_call_alloc/strdup/set_header/set_status from
 * its own thread. */
void http_call_defer(http_call *call);

/* Sends the deferred call's outcome: RPC_OK sends the response message, any other code
 * the error (st may be NULL: the code's name is the message). Exactly once per deferred
 * call, from any thread; the call must not be touched afterwards. http_server_stop waits
 * for every deferred call to be finished, so its owner must finish them all. */
void http_call_finish(http_call *call, rpc_code code, const rpc_status *st);

#endif
