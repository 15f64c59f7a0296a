/* http_client: a blocking, one-shot HTTP/1.1 client over a loopback socket, for tests. */
#include "http_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int client_connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  /* Bounded: a hung server fails the test instead of hanging it. */
  struct timeval tv = {.tv_sec = 30};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int client_send(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int client_read(int fd, http_client_resp *r) {
  size_t cap = 8192, len = 0;
  char *buf = malloc(cap);
  if (buf == NULL) return -1;
  for (;;) {
    if (cap - len < 2048) {
      char *bigger = realloc(buf, cap * 2);
      if (bigger == NULL) break;
      buf = bigger;
      cap *= 2;
    }
    ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  r->raw = buf;
  if (sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1) return -1;
  char *sep = strstr(buf, "\r\n\r\n");
  if (sep == NULL) return -1;
  r->body = sep + 4;
  r->json = cJSON_Parse(r->body);
  return 0;
}

int http_client_request_n(uint16_t port, const char *method, const char *target,
                          const char *headers, const char *body, size_t len,
                          http_client_resp *r) {
  memset(r, 0, sizeof *r);
  int fd = client_connect(port);
  if (fd < 0) return -1;
  size_t hlen = strlen(method) + strlen(target) + (headers ? strlen(headers) : 0) + 256;
  char *req = malloc(hlen + len);
  int rc = -1;
  if (req == NULL) goto out;
  int n = snprintf(req, hlen,
                   "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s"
                   "Content-Length: %zu\r\n\r\n",
                   method, target, headers ? headers : "",
                   body ? "Content-Type: application/json\r\n" : "", len);
  if (body != NULL && len > 0) memcpy(req + n, body, len);
  if (client_send(fd, req, (size_t)n + len) != 0) goto out;
  rc = client_read(fd, r);
out:
  free(req);
  close(fd);
  return rc;
}

int http_client_request(uint16_t port, const char *method, const char *target,
                        const char *headers, const char *body, http_client_resp *r) {
  return http_client_request_n(port, method, target, headers, body, body ? strlen(body) : 0,
                               r);
}

const char *http_client_json_str(const http_client_resp *r, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->json, name);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

void http_client_resp_free(http_client_resp *r) {
  if (r == NULL) return;
  free(r->raw);
  cJSON_Delete(r->json);
  memset(r, 0, sizeof *r);
}
