/* http_client: a tiny blocking HTTP/1.1 client for tests (one request per connection). */
#ifndef WALLET_TEST_HTTP_CLIENT_H
#define WALLET_TEST_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

typedef struct http_client_resp {
  int status;       /* 0 when nothing parseable came back */
  char *raw;        /* whole answer, NUL-terminated (owned) */
  const char *body; /* points into raw */
  cJSON *json;      /* body parsed, or NULL when it is not JSON (owned) */
} http_client_resp;

/* Sends `method target` to 127.0.0.1:port with Connection: close, `headers` (NULL or
 * "Name: value\r\n" lines) and `body` (NULL: none; sent as application/json), and reads
 * the answer until the server closes. 0, or -1 when the connection failed. The caller
 * frees r with http_client_resp_free even on failure. */
int http_client_request(uint16_t port, const char *method, const char *target,
                        const char *headers, const char *body, http_client_resp *r);

/* Same with a body of len bytes (may hold anything). */
int http_client_request_n(uint16_t port, const char *method, const char *target,
                          const char *headers, const char *body, size_t len,
                          http_client_resp *r);

/* String member `name` of the JSON body, or NULL. */
const char *http_client_json_str(const http_client_resp *r, const char *name);

void http_client_resp_free(http_client_resp *r);

#endif
