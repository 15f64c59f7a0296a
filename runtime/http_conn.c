/* http_conn: one HTTP/1.1 connection, run by its loop's thread: read bytes, find and parse
 * the request head (http_parse.c), read the body (Content-Length, or chunked through
 * http_chunked.c), hand the call to the request pipeline (http_request.c), write the
 * answer, then the next request (keep-alive, pipelined requests in order).
 *
 * Every malformed request is answered by our code, in the grpc-gateway JSON shape, and
 * the connection is closed after it: nothing after a broken head can be trusted to be
 * the start of the next request. One request at a time: while a call is served, the
 * bytes after it wait in the buffer (the socket is edge-triggered, so reading resumes
 * when the answer is written and more input is needed). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "http_server_internal.h"
#include "log.h"

#define IN_INITIAL 4096u
/* A head is at most HTTP_MAX_HEAD_BYTES; the body is copied out as it comes. */
#define IN_MAX (HTTP_MAX_HEAD_BYTES + 4096u)

/* ---- open / close ------------------------------------------------------------------- */

http_conn *hs_conn_open(http_loop *loop, int fd, const void *addr, unsigned addrlen) {
  http_server *srv = loop->srv;
  http_conn *c = calloc(1, sizeof *c);
  if (c == NULL) {
    close(fd);
    return NULL;
  }
  c->loop = loop;
  c->fd = fd;
  c->edge = http_edge_add(srv->edge, fd, addr, (socklen_t)addrlen);
  if (c->edge == NULL) { /* over the per-address limit: closed unanswered */
    close(fd);
    free(c);
    return NULL;
  }
  /* No EPOLLOUT until a write finds the socket full: edge-triggered, it would fire on
   * every ACK that frees send space, a wake-up and a wasted recv per answer. */
  struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET, .data.ptr = c};
  if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
    log_warn("http: epoll_ctl: %s", strerror(errno));
    http_edge_remove(srv->edge, c->edge);
    close(fd);
    free(c);
    return NULL;
  }
  c->next = loop->conns;
  if (loop->conns != NULL)
    loop->conns->prev = c;
  loop->conns = c;
  __atomic_add_fetch(&loop->nconns, 1, __ATOMIC_RELAXED);
  /* The first bytes may be here already; with edge-triggered epoll, look now. */
  hs_conn_drive(c);
  return c;
}

static void out_clear(http_conn *c) {
  free(c->out_head);
  if (c->out_release != NULL)
    c->out_release((void *)c->out_body);
  c->out_head = NULL;
  c->out_body = NULL;
  c->out_release = NULL;
  c->out_head_len = c->out_body_len = c->out_done = 0;
}

/* Closes the socket now; the memory goes after the loop's current batch of events,
 * which may still name this connection. */
static void conn_free(http_conn *c) {
  http_loop *loop = c->loop;
  if (c->closed)
    return;
  c->closed = 1;
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    loop->conns = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  __atomic_sub_fetch(&loop->nconns, 1, __ATOMIC_RELAXED);
  http_edge_remove(loop->srv->edge, c->edge);
  c->edge = NULL;
  close(c->fd); /* after the edge let go of it: it must never shut down a reused fd */
  out_clear(c);
  free(c->in);
  c->in = NULL;
  c->next = loop->dead;
  loop->dead = c;
}

void hs_conns_reap(http_loop *loop) {
  while (loop->dead != NULL) {
    http_conn *c = loop->dead;
    loop->dead = c->next;
    free(c);
  }
}

void hs_conn_close(http_conn *c) {
  if (c->call != NULL) {
    http_call *call = c->call;
    c->call = NULL;
    hs_request_end(call);
  }
  conn_free(c);
}

/* ---- writing ------------------------------------------------------------------------ */

static const char *reason_phrase(unsigned status) {
  switch (status) {
  case 100: return "Continue";
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 408: return "Request Timeout";
  case 409: return "Conflict";
  case 412: return "Precondition Failed";
  case 413: return "Content Too Large";
  case 414: return "URI Too Long";
  case 415: return "Unsupported Media Type";
  case 417: return "Expectation Failed";
  case 422: return "Unprocessable Content";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 499: return "Client Closed Request";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  default: return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
  }
}

/* "Date: ..." of the current second, formatted once a second per thread. */
static const char *date_header(void) {
  static __thread time_t cached_at;
  static __thread char line[64];
  time_t now = time(NULL);
  if (now != cached_at || line[0] == '\0') {
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(line, sizeof line, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
    cached_at = now;
  }
  return line;
}

/* A growing string for the response head. */
typedef struct sbuf {
  char *p;
  size_t len, cap;
  int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
  if (b->oom)
    return;
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->len + n + 1)
      cap *= 2;
    char *g = realloc(b->p, cap);
    if (g == NULL) {
      b->oom = 1;
      return;
    }
    b->p = g;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

__attribute__((format(printf, 2, 3))) static void sb_fmt(sbuf *b, const char *fmt, ...) {
  char tmp[160];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0)
    sb_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A response header value must not end the line early: a CR or LF in it (a handler
 * echoing client input) would let a client write headers of its own. */
static int header_safe(const char *s) { return strpbrk(s, "\r\n") == NULL; }

int hs_conn_respond(http_call *call, unsigned status, const char *content_type,
                    const void *body, size_t len, void (*release)(void *)) {
  http_conn *c = call->conn;
  http_server *srv = call->srv;
  if (c == NULL || c->call != call || c->out_head != NULL) {
    if (release != NULL)
      release((void *)body);
    return HS_NO;
  }
  int stopping = __atomic_load_n(&srv->stopping, __ATOMIC_ACQUIRE);
  /* Close after this answer when the client or we asked for it, when the request's body
   * was not read (nothing after it could be found), or while stopping (keep-alive clients
   * go elsewhere while we drain). */
  int close_after = !c->keep_alive || stopping || c->state == CONN_HEAD ||
                    c->state == CONN_BODY;
  sbuf b = {0};
  sb_fmt(&b, "HTTP/1.1 %u %s\r\n", status, reason_phrase(status));
  sb_str(&b, date_header());
  if (content_type != NULL)
    sb_fmt(&b, "Content-Type: %s\r\n", content_type);
  if (status >= 200 && status != 204 && status != 304)
    sb_fmt(&b, "Content-Length: %zu\r\n", len);
  for (resp_header *h = call->headers; h != NULL; h = h->next) {
    if (strcasecmp(h->name, "Connection") == 0) {
      if (strcasecmp(h->value, "close") == 0)
        close_after = 1;
      continue; /* written once, below */
    }
    if (!header_safe(h->name) || !header_safe(h->value)) {
      log_warn("http: response header %s dropped: it contains a line break", h->name);
      continue;
    }
    sb_str(&b, h->name);
    sb_add(&b, ": ", 2);
    sb_str(&b, h->value);
    sb_add(&b, "\r\n", 2);
  }
  if (close_after)
    sb_str(&b, "Connection: close\r\n");
  else if (call->head.minor == 0)
    sb_str(&b, "Connection: keep-alive\r\n");
  sb_add(&b, "\r\n", 2);
  if (b.oom) {
    free(b.p);
    if (release != NULL)
      release((void *)body);
    return HS_NO;
  }
  c->out_head = b.p;
  c->out_head_len = b.len;
  int head_only = strcmp(call->method, "HEAD") == 0;
  c->out_body = body;
  c->out_body_len = head_only ? 0 : len;
  c->out_release = release;
  c->out_done = 0;
  c->close_after = close_after;
  c->state = CONN_WRITING;
  call->status_sent = status;
  return HS_YES;
}

static void queue_continue(http_conn *c) {
  static const char line[] = "HTTP/1.1 100 Continue\r\n\r\n";
  c->out_head = strdup(line);
  if (c->out_head == NULL)
    return; /* the client sends its body after a short wait anyway */
  c->out_head_len = sizeof line - 1;
  c->interim = 1;
  c->state = CONN_WRITING;
}

/* Asks for EPOLLOUT (a write blocked) or stops asking (the answer is out). */
static int want_out(http_conn *c, int on) {
  if (c->want_out == on)
    return 0;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | EPOLLET | (on ? EPOLLOUT : 0u),
                           .data.ptr = c};
  if (epoll_ctl(c->loop->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0)
    return -1;
  c->want_out = on;
  return 0;
}

/* 1: all written; 0: the socket is full (EPOLLOUT comes back); -1: the socket failed. */
static int flush_out(http_conn *c) {
  size_t total = c->out_head_len + c->out_body_len;
  while (c->out_done < total) {
    struct iovec iov[2];
    int n = 0;
    if (c->out_done < c->out_head_len) {
      iov[n].iov_base = c->out_head + c->out_done;
      iov[n++].iov_len = c->out_head_len - c->out_done;
      if (c->out_body_len > 0) {
        iov[n].iov_base = (void *)c->out_body;
        iov[n++].iov_len = c->out_body_len;
      }
    } else {
      iov[n].iov_base = (char *)c->out_body + (c->out_done - c->out_head_len);
      iov[n++].iov_len = total - c->out_done;
    }
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        http_edge_phase(c->loop->srv->edge, c->edge, HTTP_EDGE_WRITE_BLOCKED);
        /* Registered with the socket already full: epoll reports it once space frees. */
        return want_out(c, 1) == 0 ? 0 : -1;
      }
      return -1;
    }
    c->out_done += (size_t)w;
  }
  return want_out(c, 0) == 0 ? 1 : -1;
}

/* ---- reading a request -------------------------------------------------------------- */

/* The call of a request whose head could not be parsed: enough of one to answer it. */
static http_call *call_new(http_conn *c) {
  http_call *call = calloc(1, sizeof *call);
  if (call == NULL)
    return NULL;
  call->srv = c->loop->srv;
  call->conn = c;
  call->headers_tail = &call->headers;
  call->method = "GET";
  call->version = "HTTP/1.1";
  call->uri = "";
  call->head.minor = 1;
  call->route_label = "unmatched";
  call->hist_index = (int)call->srv->nroutes;
  call->start_us = hs_mono_us();
  snprintf(call->method_label, sizeof call->method_label, "OTHER");
  __atomic_add_fetch(&call->srv->inflight, 1, __ATOMIC_RELAXED);
  call->counted = 1;
  c->call = call;
  return call;
}

static int has_token(const char *list, const char *token) {
  size_t n = strlen(token);
  for (const char *p = list; p != NULL && *p != '\0';) {
    while (*p == ' ' || *p == '\t' || *p == ',')
      p++;
    size_t len = strcspn(p, ",");
    size_t t = len;
    while (t > 0 && (p[t - 1] == ' ' || p[t - 1] == '\t'))
      t--;
    if (t == n && strncasecmp(p, token, n) == 0)
      return 1;
    p += len;
  }
  return 0;
}

/* Answers a request that cannot be served as it stands, and closes after it. */
static int refuse(http_conn *c, unsigned status, const char *message) {
  http_call *call = c->call != NULL ? c->call : call_new(c);
  if (call == NULL)
    return HS_NO;
  c->keep_alive = 0;
  return hs_respond_error(call, status, status == 413 ? RPC_RESOURCE_EXHAUSTED
                                        : status >= 500 ? RPC_UNIMPLEMENTED
                                                        : RPC_INVALID_ARGUMENT,
                          message);
}

/* The head is complete at in[in_off + scan.start .. in_off + scan.end): start the call. */
static int start_request(http_conn *c) {
  http_server *srv = c->loop->srv;
  const char *head = c->in + c->in_off + c->scan.start;
  size_t head_len = c->scan.end - c->scan.start;
  c->in_off += c->scan.end;
  http_call *call = call_new(c);
  if (call == NULL)
    return HS_NO;
  call->head_buf = malloc(head_len + 1);
  if (call->head_buf == NULL)
    return HS_NO;
  memcpy(call->head_buf, head, head_len);
  call->head_buf[head_len] = '\0';
  http_parse_error perr;
  if (http_parse_head(call->head_buf, head_len, &call->head, &perr) != 0)
    return refuse(c, perr.status, perr.message);

  http_head *h = &call->head;
  call->method = h->method;
  call->version = h->minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
  snprintf(call->method_label, sizeof call->method_label, "%s", hs_method_label(h->method));
  call->uri = h->target;
  if (strncasecmp(call->uri, "http://", 7) == 0 || strncasecmp(call->uri, "https://", 8) == 0) {
    /* absolute-form (RFC 9112 3.2.2): the path starts after the authority */
    const char *p = strchr(call->uri + (call->uri[4] == ':' ? 7 : 8), '/');
    call->uri = p != NULL ? p : "/";
  }
  const char *conn_hdr = http_head_get(h, "Connection");
  c->keep_alive = h->minor == 1 ? !has_token(conn_hdr, "close") : has_token(conn_hdr, "keep-alive");

  /* Framing (RFC 9112 6): what says where this request ends. Duplicates and TE with CL
   * are refused by the pipeline's rules (hs_on_headers); here the values themselves. */
  const char *te = http_head_get(h, "Transfer-Encoding");
  const char *cl = http_head_get(h, "Content-Length");
  c->chunked = 0;
  c->body_left = 0;
  if (te != NULL && cl == NULL && http_head_count(h, "Transfer-Encoding") == 1) {
    if (strcasecmp(te, "chunked") != 0)
      return refuse(c, 501, "only the chunked transfer coding is supported");
    c->chunked = 1;
    memset(&c->chunks, 0, sizeof c->chunks);
  } else if (cl != NULL && te == NULL && http_head_count(h, "Content-Length") == 1) {
    uint64_t n = 0;
    const char *p = cl;
    if (*p == '\0')
      return refuse(c, 400, "malformed Content-Length");
    for (; *p != '\0'; p++) {
      if (*p < '0' || *p > '9' || n > (UINT64_MAX - 9) / 10)
        return refuse(c, 400, "malformed Content-Length");
      n = n * 10 + (uint64_t)(*p - '0');
    }
    c->body_left = n;
  }
  int has_body = c->chunked || c->body_left > 0;
  http_edge_phase(srv->edge, c->edge,
                  has_body ? HTTP_EDGE_HEAD_DONE_BODY : HTTP_EDGE_HEAD_DONE_NO_BODY);
  c->state = has_body ? CONN_BODY : CONN_SERVING;
  if (hs_on_headers(call) != HS_YES)
    return HS_NO;
  if (call->status_sent != 0)
    return HS_YES; /* answered from the head alone (a framing rule, 413): then closed */
  const char *expect = http_head_get(h, "Expect");
  if (expect != NULL) {
    if (strcasecmp(expect, "100-continue") != 0)
      return refuse(c, 417, "only the expectation 100-continue is supported");
    if (has_body && h->minor == 1 && c->in_off == c->in_len)
      queue_continue(c);
  }
  if (!has_body) {
    http_edge_phase(srv->edge, c->edge, HTTP_EDGE_REQUEST_DONE);
    return hs_on_request_done(call);
  }
  return HS_YES;
}

/* Body bytes from the buffer into the call. */
static int read_body(http_conn *c) {
  http_call *call = c->call;
  char *p = c->in + c->in_off;
  size_t avail = c->in_len - c->in_off;
  int done = 0;
  if (c->chunked) {
    size_t consumed = 0, produced = 0;
    const char *why = NULL;
    int r = http_chunked_feed(&c->chunks, p, avail, p, &consumed, &produced, &why);
    if (r == HTTP_CHUNKED_ERROR) {
      char msg[96];
      snprintf(msg, sizeof msg, "malformed chunked body: %s", why != NULL ? why : "framing");
      return refuse(c, 400, msg);
    }
    c->in_off += consumed;
    if (produced > 0 && hs_on_upload(call, p, produced) != HS_YES)
      return HS_NO;
    done = r == HTTP_CHUNKED_DONE;
  } else {
    size_t take = avail < c->body_left ? avail : (size_t)c->body_left;
    c->in_off += take;
    c->body_left -= take;
    if (take > 0 && hs_on_upload(call, p, take) != HS_YES)
      return HS_NO;
    done = c->body_left == 0;
  }
  if (!done || call->status_sent != 0)
    return HS_YES;
  c->state = CONN_SERVING;
  http_edge_phase(c->loop->srv->edge, c->edge, HTTP_EDGE_REQUEST_DONE);
  return hs_on_request_done(call);
}

/* Reads what the socket has. 1: bytes came; 0: none now (EAGAIN); -1: closed or failed. */
static int read_more(http_conn *c) {
  if (c->in_off > 0 && c->in_off == c->in_len)
    c->in_off = c->in_len = 0;
  if (c->in_len == c->in_cap) {
    if (c->in_off > 0) { /* consumed bytes at the front: make room there */
      memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
      c->in_len -= c->in_off;
      c->in_off = 0;
    } else {
      size_t cap = c->in_cap == 0 ? IN_INITIAL : c->in_cap * 2;
      if (cap > IN_MAX)
        cap = IN_MAX;
      if (cap == c->in_cap)
        return -1; /* cannot happen: the scanner refuses heads long before */
      char *g = realloc(c->in, cap);
      if (g == NULL)
        return -1;
      c->in = g;
      c->in_cap = cap;
    }
  }
  if (c->rx_empty)
    return 0; /* saves a recv per answered request: the client waits for the answer */
  for (;;) {
    size_t room = c->in_cap - c->in_len;
    ssize_t n = recv(c->fd, c->in + c->in_len, room, 0);
    if (n > 0) {
      c->in_len += (size_t)n;
      /* A short read took all the socket had (TCP copies until its queue is empty). */
      c->rx_empty = (size_t)n < room && !c->rx_hup;
      return 1;
    }
    if (n == 0)
      return -1;
    if (errno == EINTR)
      continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      c->rx_empty = !c->rx_hup;
      return 0;
    }
    return -1;
  }
}

/* ---- the connection's state machine ------------------------------------------------- */

/* The answer is written: end the request, then the next one or close. 0: closed. */
static int answered(http_conn *c) {
  if (c->interim) {
    c->interim = 0;
    out_clear(c);
    c->state = CONN_BODY;
    return 1;
  }
  out_clear(c);
  http_call *call = c->call;
  c->call = NULL;
  if (call != NULL)
    hs_request_end(call);
  if (c->close_after) {
    /* Our side is done; reading on until the client closes keeps unread bytes of its
     * (a refused body, a pipelined request) from turning our close into a reset that
     * would destroy the answer before the client reads it. */
    shutdown(c->fd, SHUT_WR);
    c->state = CONN_LINGER;
    http_edge_phase(c->loop->srv->edge, c->edge, HTTP_EDGE_ANSWERED);
    return 1;
  }
  c->state = CONN_HEAD;
  memset(&c->scan, 0, sizeof c->scan);
  http_edge_phase(c->loop->srv->edge, c->edge, HTTP_EDGE_ANSWERED);
  return 1;
}

#define LINGER_MAX (256u * 1024u) /* dropped bytes before a lingering close gives up */

void hs_conn_drive(http_conn *c) {
  if (c->closed)
    return;
  for (;;) {
    switch (c->state) {
    case CONN_LINGER: {
      c->in_off = c->in_len = 0;
      int r = c->lingered < LINGER_MAX ? read_more(c) : -1;
      if (r == 0)
        return;
      if (r < 0) {
        conn_free(c);
        return;
      }
      c->lingered += c->in_len;
      continue;
    }
    case CONN_WRITING: {
      int r = flush_out(c);
      if (r == 0)
        return;
      if (r < 0) {
        hs_conn_close(c);
        return;
      }
      if (!answered(c))
        return;
      continue;
    }
    case CONN_SERVING:
      return; /* the call's finisher resumes us */
    case CONN_HEAD: {
      if (c->in_off < c->in_len) {
        http_parse_error perr;
        int r = http_head_scan_feed(&c->scan, c->in + c->in_off, c->in_len - c->in_off, &perr);
        if (r == HTTP_SCAN_ERROR) {
          if (refuse(c, perr.status, perr.message) != HS_YES) {
            hs_conn_close(c);
            return;
          }
          continue;
        }
        if (r == HTTP_SCAN_DONE) {
          if (start_request(c) != HS_YES) {
            hs_conn_close(c);
            return;
          }
          continue;
        }
      }
      break; /* need more bytes */
    }
    case CONN_BODY:
      if (c->in_off < c->in_len) {
        if (read_body(c) != HS_YES) {
          hs_conn_close(c);
          return;
        }
        if (c->state != CONN_BODY || c->in_off < c->in_len)
          continue;
      }
      break;
    }
    /* HEAD or BODY with every buffered byte used: read. */
    int r = c->eof ? -1 : read_more(c);
    if (r == 0)
      return; /* EPOLLIN comes back with the next bytes */
    if (r < 0) {
      c->eof = 1;
      hs_conn_close(c); /* mid-request or idle: there is no one left to answer */
      return;
    }
  }
}

void hs_conn_resume(http_conn *c) {
  http_call *call = c->call;
  if (c->closed || c->state != CONN_SERVING || call == NULL)
    return;
  if (hs_on_request_done(call) != HS_YES) {
    hs_conn_close(c);
    return;
  }
  hs_conn_drive(c);
}
