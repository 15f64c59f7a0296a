/* http_edge: the server's defence against slow and hostile clients, on top of
 * libmicrohttpd's own idle timeout (which restarts on every byte).
 *
 * - Request-head deadline: a connection must deliver a whole request head within
 *   head_timeout_s of its accept (or of the end of the previous answer on keep-alive);
 *   a trickling client is cut at that deadline whatever its byte rate.
 * - Body deadline: once the head is in, the body must be complete within body_timeout_s
 *   (with the 64 KiB cap that is a minimum average rate of 6.5 KiB/s over 10 s).
 * - Connection limit: past max_connections the oldest connection still waiting for a
 *   request (head or body incomplete, or idle keep-alive) is closed, so a new client is
 *   served; when none is waiting, the new connection is closed at once (fast refusal).
 * A cut is shutdown(2) of the socket under the registry lock: libmicrohttpd sees the end
 * of the stream and frees the connection itself.
 */
#ifndef WALLET_HTTP_EDGE_H
#define WALLET_HTTP_EDGE_H

#include <microhttpd.h>

typedef struct http_edge http_edge;

typedef struct http_edge_config {
  unsigned max_connections;
  unsigned head_timeout_s;
  unsigned body_timeout_s;
} http_edge_config;

http_edge *http_edge_start(const http_edge_config *cfg);
void http_edge_stop(http_edge *edge);

/* MHD_OPTION_NOTIFY_CONNECTION callback; cls is the http_edge. */
void http_edge_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                             enum MHD_ConnectionNotificationCode code);

enum http_edge_phase {
  HTTP_EDGE_HEAD_DONE_NO_BODY, /* head in, nothing more to read: no deadline while served */
  HTTP_EDGE_HEAD_DONE_BODY,    /* head in, body to read: the body deadline starts */
  HTTP_EDGE_REQUEST_DONE,      /* whole request read: no deadline while served */
  HTTP_EDGE_ANSWERED,          /* answer done: the next head's deadline starts */
};
void http_edge_phase(http_edge *edge, struct MHD_Connection *conn, enum http_edge_phase phase);

#endif
