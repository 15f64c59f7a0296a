/* http_server_internal: what the files of the HTTP server share (not for services).
 *
 * The server is four files of one concern each:
 *   http_server.c   the libmicrohttpd glue: start/stop, MHD's callbacks, metrics, logs
 *   http_call.c     one call: its memory, the accessors handlers use, the responses sent
 *   http_request.c  the request pipeline: route, framing, body, decode, call the handler
 *   http_deferred.c deferred answers: parking a call, http_call_finish, worker threads
 * (http_edge.c, separate, enforces the connection limit and the head/body deadlines.) */
#ifndef WALLET_HTTP_SERVER_INTERNAL_H
#define WALLET_HTTP_SERVER_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "http_edge.h"
#include "http_route.h"
#include "http_server.h"
#include "metrics.h"

#define DEFAULT_MAX_BODY (64u * 1024u)
#define DEFAULT_MAX_CONNECTIONS 512u
#define DEFAULT_TIMEOUT_S 10u
#define DEFAULT_WORKERS 2u
/* Our limits on a request head, answered with our JSON errors (414, 431). They sit below
 * what libmicrohttpd buffers per connection (its default 32 KiB pool, set explicitly
 * here), so such heads reach our code; a head that does not fit the pool gets MHD's own
 * HTML 414/431. A 128 KiB pool would let larger heads reach us, but cost ~20% of
 * GET /healthz throughput (the pool is reset per request): measured, not taken. */
#define HTTP_MAX_URI_BYTES (8u * 1024u)
#define HTTP_MAX_HEADER_BYTES (16u * 1024u)
#define MHD_MEMORY_LIMIT (32u * 1024u)
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
  const char *version; /* "HTTP/1.1", "HTTP/1.0" (MHD refuses others itself) */
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

/* ---- http_call.c -------------------------------------------------------------------- */

/* Microseconds of CLOCK_MONOTONIC. */
int64_t hs_mono_us(void);
/* Frees the call and everything it owns (arena, match, request message, body). */
void hs_call_free(http_call *call);
/* Queues body (malloc'd, taken) with status and the call's headers. MHD_NO when MHD
 * refused (it then closes the connection). */
enum MHD_Result hs_respond(http_call *call, unsigned status, const char *content_type,
                           char *body, size_t len);
/* The same for bytes that outlive the response (static data): not copied, not freed. */
enum MHD_Result hs_respond_static(http_call *call, unsigned status, const char *content_type,
                                  const void *body, size_t len);
/* The grpc-gateway error body with status; tells on_rejected when a matched protobuf
 * route is refused before its handler ran. */
enum MHD_Result hs_respond_error(http_call *call, unsigned status, rpc_code code,
                                 const char *message);
/* Records an answer decided from the headers, sent once the body is drained; the first
 * one recorded wins. */
void hs_set_pending(http_call *call, unsigned status, rpc_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The handler's outcome (code, st) as the HTTP response. */
enum MHD_Result hs_send_result(http_call *call, rpc_code code, const rpc_status *st);

/* ---- http_request.c ----------------------------------------------------------------- */

/* The head is in: framing checks, routing, an announced oversized body refused. */
enum MHD_Result hs_on_headers(http_call *call);
/* A piece of the body (n bytes): kept up to max_body, else drained. */
enum MHD_Result hs_on_upload(http_call *call, const char *data, size_t n);
/* The whole request is in (or a parked call resumed): answer it. */
enum MHD_Result hs_on_request_done(http_call *call);

/* ---- http_deferred.c ---------------------------------------------------------------- */

/* After a handler deferred the call: parks it (event loop) or waits for its finish
 * (thread per connection), then answers when finished. */
enum MHD_Result hs_park(http_call *call);
/* Event loop: hands a `blocking` route's call to a worker thread (the call is deferred). */
void hs_queue_work(http_call *call);
/* A worker thread's body; arg is the http_server. */
void *hs_worker_main(void *arg);

#endif
