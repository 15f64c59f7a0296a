/* http_edge: the server's defence against slow and hostile clients.
 *
 * - Request-head deadline: a connection must deliver a whole request head within
 *   head_timeout_s of its accept (or of the end of the previous answer on keep-alive);
 *   a trickling client is cut at that deadline whatever its byte rate.
 * - Body deadline: once the head is in, the body must be complete within body_timeout_s
 *   (with the 64 KiB cap that is a minimum average rate of 6.5 KiB/s over 10 s).
 * - Connection limit: past max_connections the oldest connection still waiting for a
 *   request (head or body incomplete, or idle keep-alive) is closed, so a new client is
 *   served; when none is waiting, the new connection is closed at once (fast refusal).
 * - Write deadline: an answer the client does not read must be taken within
 *   head_timeout_s of when it blocked.
 * - Per-address limit (optional): a connection past max_per_address from one address is
 *   closed at once.
 * A cut is shutdown(2) of the socket under the registry lock: the connection's loop sees
 * the end of the stream and closes the connection itself, on its own thread.
 */
#ifndef WALLET_HTTP_EDGE_H
#define WALLET_HTTP_EDGE_H

#include <sys/socket.h>

typedef struct http_edge http_edge;
typedef struct http_edge_conn http_edge_conn;

typedef struct http_edge_config {
  unsigned max_connections;
  unsigned head_timeout_s;
  unsigned body_timeout_s;
  unsigned max_per_address; /* 0: no per-address limit */
} http_edge_config;

http_edge *http_edge_start(const http_edge_config *cfg);
void http_edge_stop(http_edge *edge);

/* A new connection (its head deadline starts). NULL when refused: over the per-address
 * limit, or out of memory; the caller closes fd unanswered. Past the connection limit the
 * new one may be registered and cut at once (a fast refusal). */
http_edge_conn *http_edge_add(http_edge *edge, int fd, const struct sockaddr *addr,
                              socklen_t addrlen);
/* Before fd is closed: the connection leaves the registry. NULL is a no-op. */
void http_edge_remove(http_edge *edge, http_edge_conn *c);

enum http_edge_phase {
  HTTP_EDGE_HEAD_DONE_NO_BODY, /* head in, nothing more to read: no deadline while served */
  HTTP_EDGE_HEAD_DONE_BODY,    /* head in, body to read: the body deadline starts */
  HTTP_EDGE_REQUEST_DONE,      /* whole request read: no deadline while served */
  HTTP_EDGE_ANSWERED,          /* answer done: the next head's deadline starts */
  HTTP_EDGE_WRITE_BLOCKED,     /* the client does not take the answer: the write deadline */
};
void http_edge_phase(http_edge *edge, http_edge_conn *c, enum http_edge_phase phase);

#endif
