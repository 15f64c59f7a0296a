/* http_server_internal: what the files of the HTTP server share (not for services).
 *
 * The server is our own HTTP/1.1 engine, in files of one concern each:
 *   http_server.c   start/stop, the request metrics
 *   http_loop.c     the epoll threads: the listening socket, accepts, wake-ups
 *   http_conn.c     one connection: read, parse the head (http_parse.c), the body
 *                   (Content-Length or http_chunked.c), write answers, keep-alive
 *   http_call.c     one call: its memory, the accessors handlers use, the responses sent
 *   http_request.c  the request pipeline: framing rules, routing, body, decode, handler
 *   http_deferred.c deferred answers: parking a call, http_call_finish, worker threads
 *   http_edge.c     the connection limit and the head/body/write deadlines */
#ifndef WALLET_HTTP_SERVER_INTERNAL_H
#define WALLET_HTTP_SERVER_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "arena.h"
#include "http_chunked.h"
#include "http_edge.h"
#include "http_parse.h"
#include "http_route.h"
#include "http_server.h"
#include "metrics.h"

#define DEFAULT_MAX_BODY (64u * 1024u)
#define DEFAULT_MAX_CONNECTIONS 512u
#define DEFAULT_TIMEOUT_S 10u
#define DEFAULT_WORKERS 2u
/* io_threads == 0: one I/O thread and every handler on a worker, so handlers may block. */
#define DEFAULT_BLOCKING_WORKERS 16u
#define DURATION_METRIC "http_request_duration_seconds"
#define REQUESTS_METRIC "http_requests_total"

/* What the pipeline's steps return: go on, or close the connection (nothing else can be
 * said to this client). */
#define HS_YES 1
#define HS_NO 0

typedef struct http_conn http_conn;
typedef struct http_loop http_loop;


typedef struct resp_header {
  struct resp_header *next;
  char *name;
  char *value;
} resp_header;

struct http_server {
  int listen_fd;
  http_loop *loops;
  unsigned nloops;
  http_edge *edge;
  const http_route *routes;
  size_t nroutes;
  size_t max_body;
  unsigned timeout_s;
  void *app;
  void (*on_rejected)(http_call *call, unsigned status, rpc_code code);
  uint16_t port;
  metric **route_hist; /* per route, then one for unmatched requests */
  metric **request_counters; /* [route][method label][common status], filled on first use */
  pthread_mutex_t mu;
  pthread_cond_t idle; /* signalled when inflight drops to 0 */
  unsigned inflight;   /* requests between headers received and response sent (atomic) */
  int stopping;        /* atomic */
  int all_blocking;    /* io_threads == 0: every protobuf handler runs on a worker */
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
  http_conn *conn;
  char *head_buf;  /* the request head, copied out of the connection's buffer */
  http_head head;  /* parsed from head_buf (its strings point into it) */
  const char *uri; /* raw request target as the client sent it (undecoded, with query);
                      the path of an absolute-form target */
  const char *method;
  const char *version; /* "HTTP/1.1" or "HTTP/1.0" (http_parse refuses others) */
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
  arena arena; /* the call's memory, freed with it */
  resp_header *headers, **headers_tail;
  unsigned status_override;
  unsigned status_sent;
  int64_t start_us;
  /* The protobuf exchange, kept on the call so a deferred answer can use it later. */
  ProtobufCMessage *req, *resp;
  int deferred;          /* the answer comes from http_call_finish */
  int suspended;         /* parked: the connection waits for http_call_finish */
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
/* Queues body (malloc'd, taken) with status and the call's headers. HS_NO when it cannot
 * be (out of memory): the connection is then closed. */
int hs_respond(http_call *call, unsigned status, const char *content_type,
                           char *body, size_t len);
/* The same for bytes that outlive the response (static data): not copied, not freed. */
int hs_respond_static(http_call *call, unsigned status, const char *content_type,
                                  const void *body, size_t len);
/* The grpc-gateway error body with status; tells on_rejected when a matched protobuf
 * route is refused before its handler ran. */
int hs_respond_error(http_call *call, unsigned status, rpc_code code,
                                 const char *message);
/* Records an answer decided from the headers, sent once the body is drained; the first
 * one recorded wins. */
void hs_set_pending(http_call *call, unsigned status, rpc_code code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The handler's outcome (code, st) as the HTTP response. */
int hs_send_result(http_call *call, rpc_code code, const rpc_status *st);

/* ---- http_request.c ----------------------------------------------------------------- */

/* The head is in: framing checks, routing, an announced oversized body refused. */
int hs_on_headers(http_call *call);
/* A piece of the body (n bytes): kept up to max_body, else drained. */
int hs_on_upload(http_call *call, const char *data, size_t n);
/* The whole request is in (or a parked call resumed): answer it. */
int hs_on_request_done(http_call *call);

/* ---- http_deferred.c ---------------------------------------------------------------- */

/* After a handler deferred the call: parks it (event loop) or waits for its finish
 * (thread per connection), then answers when finished. */
int hs_park(http_call *call);
/* Event loop: hands a `blocking` route's call to a worker thread (the call is deferred). */
void hs_queue_work(http_call *call);
/* A worker thread's body; arg is the http_server. */
void *hs_worker_main(void *arg);

/* ---- http_loop.c / http_conn.c ------------------------------------------------------ */

enum conn_state {
  CONN_HEAD,    /* reading a request head (or idle between requests) */
  CONN_BODY,    /* reading the body of the current request */
  CONN_SERVING, /* the call is with its handler, a worker or a finisher: nothing is read */
  CONN_WRITING, /* an answer (or a 100 Continue) is being written */
  CONN_LINGER,  /* answered and closing: our side is shut, what still comes is dropped, so
                   the client reads the answer instead of a reset (a lingering close) */
};

struct http_conn {
  http_loop *loop;
  int fd;
  http_edge_conn *edge;
  http_conn *prev, *next;  /* the loop's connections */
  http_conn *ready_next;   /* the loop's list of resumed calls */
  enum conn_state state;
  /* Bytes read and not consumed yet are in[in_off .. in_len). */
  char *in;
  size_t in_off, in_len, in_cap;
  http_head_scan scan;
  int eof;                 /* the peer closed its side, or the socket failed */
  /* The last recv emptied the socket and no EPOLLIN came since: the next read would only
   * say EAGAIN (with edge triggering every later arrival reports again). rx_hup: a
   * hang-up was reported, whose EOF a short read does not show; read until it comes. */
  int rx_empty, rx_hup;
  int closed;              /* closed: freed after the loop's current batch of events */
  size_t lingered;         /* bytes dropped while lingering */
  http_call *call;         /* the request being served, from head to answer written */
  int chunked;             /* the body is chunked (else body_left bytes are to come) */
  http_chunked chunks;
  uint64_t body_left;
  int keep_alive;          /* the request allows another one after it */
  int close_after;         /* close once the queued answer is written */
  int interim;             /* out holds a 100 Continue, not the answer */
  int want_out;            /* EPOLLOUT is asked for: a write found the socket full */
  /* The answer being written: out_head, then out_body (owned: freed after). */
  char *out_head;
  size_t out_head_len;
  const char *out_body;
  size_t out_body_len;
  void (*out_release)(void *);
  size_t out_done;
};

typedef struct http_handoff {
  struct http_handoff *next;
  int fd;
  socklen_t addrlen;
  struct sockaddr_storage addr;
} http_handoff;

struct http_loop {
  http_server *srv;
  pthread_t thread;
  int started;
  int epfd;
  int wakefd;          /* eventfd: a parked call was finished, a connection handed over, or stop */
  pthread_mutex_t mu;  /* guards ready, handoffs and stop */
  http_conn *ready;    /* connections whose parked call was finished */
  int ready_woken;     /* the eventfd was written for ready and run_ready has not taken it */
  http_handoff *handoffs; /* connections another loop accepted for this one */
  unsigned nconns;     /* open connections (atomic): new ones go to the loop with fewest */
  int stop;
  http_conn *conns;    /* every open connection of this loop (loop thread only) */
  http_conn *dead;     /* closed during this batch of events: freed after it */
};

/* Starts srv->nloops threads serving srv->listen_fd. -1 with err filled on failure (the
 * loops started are stopped again). */
int hs_loops_start(http_server *srv, char *err, size_t errlen);
/* Stops accepting: the listening socket leaves every loop (then the caller closes it). */
void hs_loops_quiesce(http_server *srv);
/* Stops and joins the loops; every connection is closed. */
void hs_loops_stop(http_server *srv);
/* From any thread: the parked call on c was finished; its loop answers it. Under srv->mu. */
void hs_loop_wake(http_conn *c);

/* http_conn.c: a new connection (accepted, non-blocking fd) of loop; NULL when refused
 * (fd closed then). */
http_conn *hs_conn_open(http_loop *loop, int fd, const void *addr, unsigned addrlen);
/* Socket events, or a resumed call: runs the connection as far as it can go. */
void hs_conn_drive(http_conn *c);
/* A parked call of c was finished: answer it, then go on. */
void hs_conn_resume(http_conn *c);
/* Closes c (an unanswered call is dropped). */
void hs_conn_close(http_conn *c);
/* Frees the connections closed during the loop's last batch of events. */
void hs_conns_reap(http_loop *loop);
/* Queues an answer on the call's connection; release frees body after (NULL: static). */
int hs_conn_respond(http_call *call, unsigned status, const char *content_type,
                    const void *body, size_t len, void (*release)(void *));
/* Ends a request: metrics, in-flight count, the call freed (http_server.c). */
void hs_request_end(http_call *call);
/* The method as a metrics label: one of the common ones, or "OTHER" (http_server.c),
 * and its index among the HS_METHOD_LABELS labels. */
#define HS_METHOD_LABELS 8u
const char *hs_method_label(const char *method);
unsigned hs_method_index(const char *method);

#endif
