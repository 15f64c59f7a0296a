/* test_http_server: the JSON <-> protobuf gateway, served for real on a loopback port and
 * driven by a raw socket client (so malformed requests can be sent on purpose). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "http_server.h"
#include "metrics.h"
#include "wallet/v1/balances.pb-c.h"
#include "wallet/v1/wallet_core.pb-c.h"

#define MAX_BODY 1024

/* ---- a tiny HTTP/1.1 client --------------------------------------------------------- */

typedef struct resp {
  int status;
  char *raw;  /* whole response, NUL-terminated */
  char *body; /* points into raw */
  cJSON *json;
} resp;

static void resp_free(resp *r) {
  free(r->raw);
  cJSON_Delete(r->json);
  memset(r, 0, sizeof *r);
}

/* The client's send/receive timeout; the deferred-answer tests lower it so that a server
 * that never answers fails them in seconds instead of hanging. */
static int client_timeout_ms = 15000;

static int connect_to(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  struct timeval tv = {.tv_sec = client_timeout_ms / 1000,
                       .tv_usec = (client_timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int send_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Reads until the server closes (every request says Connection: close) and parses.
 * Returns 0, or -1 when nothing parseable arrived. */
static int read_response(int fd, resp *r) {
  memset(r, 0, sizeof *r);
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  if (buf == NULL)
    return -1;
  for (;;) {
    if (cap - len < 1024) {
      char *grown = realloc(buf, cap * 2);
      if (grown == NULL)
        break;
      buf = grown;
      cap *= 2;
    }
    ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  buf[len] = '\0';
  r->raw = buf;
  if (sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1)
    return -1;
  char *sep = strstr(buf, "\r\n\r\n");
  if (sep == NULL)
    return -1;
  r->body = sep + 4;
  r->json = cJSON_Parse(r->body);
  return 0;
}

/* Sends raw bytes on a new connection and reads the answer. */
static int http_raw(uint16_t port, const char *req, size_t len, resp *r) {
  int fd = connect_to(port);
  if (fd < 0)
    return -1;
  int rc = send_all(fd, req, len) == 0 ? read_response(fd, r) : -1;
  close(fd);
  return rc;
}

static int http_req(uint16_t port, const char *method, const char *target,
                    const char *content_type, const char *body, resp *r) {
  char head[1024];
  size_t blen = body != NULL ? strlen(body) : 0;
  char ct[160] = "";
  if (content_type != NULL)
    snprintf(ct, sizeof ct, "Content-Type: %s\r\n", content_type);
  int n = snprintf(head, sizeof head,
                   "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s"
                   "Content-Length: %zu\r\n\r\n",
                   method, target, ct, blen);
  char *all = malloc((size_t)n + blen + 1);
  if (all == NULL)
    return -1;
  memcpy(all, head, (size_t)n);
  if (blen > 0)
    memcpy(all + n, body, blen);
  int rc = http_raw(port, all, (size_t)n + blen, r);
  free(all);
  return rc;
}

/* Value of a response header, copied into out ("" when absent). */
static const char *resp_header(const resp *r, const char *name, char *out, size_t outlen) {
  out[0] = '\0';
  size_t nl = strlen(name);
  for (const char *line = strstr(r->raw, "\r\n"); line != NULL && line + 2 < r->body;
       line = strstr(line + 2, "\r\n")) {
    const char *h = line + 2;
    if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
      const char *v = h + nl + 1;
      while (*v == ' ')
        v++;
      size_t vl = strcspn(v, "\r\n");
      snprintf(out, outlen, "%.*s", (int)vl, v);
      return out;
    }
  }
  return out;
}

static const char *json_str(const resp *r, const char *field) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->json, field);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int json_int(const resp *r, const char *field) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->json, field);
  return cJSON_IsNumber(v) ? v->valueint : -12345;
}

/* Asserts grpc-gateway's error shape and returns the message. */
static const char *assert_error_shape(const resp *r, int code) {
  assert_non_null(r->json);
  assert_int_equal(json_int(r, "code"), code);
  const cJSON *details = cJSON_GetObjectItemCaseSensitive(r->json, "details");
  assert_true(cJSON_IsArray(details));
  assert_int_equal(cJSON_GetArraySize(details), 0);
  const char *msg = json_str(r, "message");
  assert_non_null(msg);
  return msg;
}

/* ---- a gate the slow handler waits at ------------------------------------------------ */

static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_entered, gate_open, gate_left;

static void gate_reset(void) {
  pthread_mutex_lock(&gate_mu);
  gate_entered = gate_open = gate_left = 0;
  pthread_mutex_unlock(&gate_mu);
}

static void gate_pass(void) {
  pthread_mutex_lock(&gate_mu);
  gate_entered++;
  pthread_cond_broadcast(&gate_cv);
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 20; /* never hang the suite if a test forgets to open */
  while (!gate_open)
    if (pthread_cond_timedwait(&gate_cv, &gate_mu, &dl) == ETIMEDOUT)
      break;
  gate_left++;
  pthread_mutex_unlock(&gate_mu);
}

static int gate_wait_entered(int n) {
  pthread_mutex_lock(&gate_mu);
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += 10;
  while (gate_entered < n)
    if (pthread_cond_timedwait(&gate_cv, &gate_mu, &dl) == ETIMEDOUT)
      break;
  int got = gate_entered;
  pthread_mutex_unlock(&gate_mu);
  return got;
}

static void gate_release(void) {
  pthread_mutex_lock(&gate_mu);
  gate_open = 1;
  pthread_cond_broadcast(&gate_cv);
  pthread_mutex_unlock(&gate_mu);
}

static int gate_left_count(void) {
  pthread_mutex_lock(&gate_mu);
  int n = gate_left;
  pthread_mutex_unlock(&gate_mu);
  return n;
}

/* ---- the service under test ---------------------------------------------------------- */

static int app_token = 42;

static rpc_code get_balance(http_call *call, const ProtobufCMessage *request,
                            ProtobufCMessage *response, rpc_status *st) {
  const Wallet__V1__GetBalanceRequest *req = (const Wallet__V1__GetBalanceRequest *)request;
  Wallet__V1__Balance *out = (Wallet__V1__Balance *)response;
  const char *id = req->account_id;
  if (http_call_app(call) != &app_token)
    return rpc_status_set(st, RPC_INTERNAL, "app pointer not handed through");
  if (strcmp(id, "missing") == 0)
    return rpc_status_set(st, RPC_NOT_FOUND, "account %s not found", id);
  if (strcmp(id, "conflict") == 0)
    return rpc_status_set(st, RPC_ALREADY_EXISTS, "already \"there\"");
  if (strcmp(id, "unavailable") == 0)
    return RPC_UNAVAILABLE; /* no message: the code name stands in */
  if (strcmp(id, "bad-code") == 0)
    return (rpc_code)99;
  if (strcmp(id, "slow") == 0)
    gate_pass();
  out->account_id = http_call_strdup(call, id);
  out->balance = req->min_version * 10;
  out->version = req->min_version;
  out->updated_at = (Google__Protobuf__Timestamp *)http_call_new_message(
      call, &google__protobuf__timestamp__descriptor);
  out->updated_at->seconds = 1700000000;
  http_call_set_header(call, "X-Echo-Route", http_call_route(call));
  http_call_set_header(call, "X-Echo-Method", http_call_method(call));
  return RPC_OK;
}

static rpc_code create_transaction(http_call *call, const ProtobufCMessage *request,
                                   ProtobufCMessage *response, rpc_status *st) {
  const Wallet__V1__CreateTransactionRequest *req =
      (const Wallet__V1__CreateTransactionRequest *)request;
  Wallet__V1__Transaction *out = (Wallet__V1__Transaction *)response;
  if (req->amount < 0)
    return rpc_status_set(st, RPC_INVALID_ARGUMENT, "amount must be positive");
  const char *key = http_call_header(call, "idempotency-key"); /* any case */
  size_t blen = 0;
  http_call_body(call, &blen);
  char *id = http_call_alloc(call, 64);
  snprintf(id, 64, "%s/%zu", key != NULL ? key : "-", blen);
  out->id = id;
  out->account_id_from = http_call_strdup(call, req->account_id_from);
  out->account_id_to = http_call_strdup(call, req->account_id_to);
  out->amount = req->amount;
  if (req->amount == 7) /* an idempotent replay answers 200, not 201 */
    http_call_set_status(call, 200);
  return RPC_OK;
}

static rpc_code get_transaction(http_call *call, const ProtobufCMessage *request,
                                ProtobufCMessage *response, rpc_status *st) {
  return rpc_status_set(st, RPC_UNIMPLEMENTED, "not here");
}

static void raw_hello(http_call *call, http_raw_response *out) {
  out->status = 202;
  out->content_type = "text/plain; version=0.0.4";
  out->body = strdup("hello\n");
  out->len = 6;
}

static const http_route routes[] = {
    {"GET", "/balances/{account_id}", &wallet__v1__get_balance_request__descriptor,
     &wallet__v1__balance__descriptor, get_balance, 0, NULL, 0},
    {"POST", "/transactions", &wallet__v1__create_transaction_request__descriptor,
     &wallet__v1__transaction__descriptor, create_transaction, 201, NULL, 0},
    {"GET", "/transactions/{id}", &wallet__v1__get_transaction_request__descriptor,
     &wallet__v1__transaction__descriptor, get_transaction, 0, NULL, 0},
    {"GET", "/hello", NULL, NULL, NULL, 0, raw_hello, 0},
};
#define NROUTES (sizeof routes / sizeof routes[0])

static http_server *start_server(unsigned max_connections) {
  http_server_config cfg = {.bind_address = "127.0.0.1",
                            .port = 0,
                            .max_body_bytes = MAX_BODY,
                            .max_connections = max_connections,
                            .connection_timeout_s = 5,
                            .app = &app_token};
  char err[256] = "";
  http_server *srv = http_server_start(&cfg, routes, NROUTES, err, sizeof err);
  if (srv == NULL)
    fail_msg("http_server_start: %s", err);
  assert_int_not_equal(http_server_port(srv), 0);
  return srv;
}

static int setup(void **state) {
  *state = start_server(0);
  return 0;
}

static int teardown(void **state) {
  http_server_stop(*state);
  return 0;
}

static uint16_t port_of(void **state) { return http_server_port(*state); }

/* ---- tests --------------------------------------------------------------------------- */

static void test_get_with_path_param(void **state) {
  resp r;
  char h[128];
  assert_int_equal(http_req(port_of(state), "GET", "/balances/acc-1", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 200);
  assert_string_equal(resp_header(&r, "Content-Type", h, sizeof h), "application/json");
  assert_string_equal(resp_header(&r, "X-Echo-Route", h, sizeof h), "/balances/{account_id}");
  assert_string_equal(resp_header(&r, "X-Echo-Method", h, sizeof h), "GET");
  assert_non_null(r.json);
  assert_string_equal(json_str(&r, "account_id"), "acc-1");
  /* defaults are emitted, int64 as strings */
  assert_string_equal(json_str(&r, "balance"), "0");
  assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(r.json, "stale")));
  assert_non_null(json_str(&r, "updated_at"));
  resp_free(&r);
}

static void test_percent_encoded_path_param(void **state) {
  resp r;
  assert_int_equal(http_req(port_of(state), "GET", "/balances/a%2Fb%20c+d", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 200);
  assert_string_equal(json_str(&r, "account_id"), "a/b c+d");
  resp_free(&r);

  assert_int_equal(http_req(port_of(state), "GET", "/balances/a%zz", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 400);
  assert_error_shape(&r, RPC_INVALID_ARGUMENT);
  resp_free(&r);

  assert_int_equal(http_req(port_of(state), "GET", "/balances/x%00y", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 400);
  resp_free(&r);

  /* malformed escapes are refused even on paths no route knows */
  assert_int_equal(http_req(port_of(state), "GET", "/nowhere/%G1", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 400);
  resp_free(&r);
}

static void test_query_params(void **state) {
  resp r;
  assert_int_equal(
      http_req(port_of(state), "GET", "/balances/q1?min_version=5", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 200);
  assert_string_equal(json_str(&r, "version"), "5");
  assert_string_equal(json_str(&r, "balance"), "50");
  resp_free(&r);

  /* lowerCamelCase names work too, and values are decoded */
  assert_int_equal(http_req(port_of(state), "GET", "/balances/q1?minVersion=%37", NULL, NULL, &r),
                   0);
  assert_int_equal(r.status, 200);
  assert_string_equal(json_str(&r, "version"), "7");
  resp_free(&r);

  /* an unknown parameter is ignored, as grpc-gateway does (a cache-buster ?_=1 is fine) */
  assert_int_equal(
      http_req(port_of(state), "GET", "/balances/q1?min_version=1&colour=red&_=123", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 200);
  resp_free(&r);

  /* a value of the wrong type names the field */
  assert_int_equal(
      http_req(port_of(state), "GET", "/balances/q1?min_version=abc", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 400);
  assert_non_null(strstr(assert_error_shape(&r, RPC_INVALID_ARGUMENT), "min_version"));
  resp_free(&r);

  assert_int_equal(
      http_req(port_of(state), "GET", "/balances/q1?min_version=%zz", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 400);
  resp_free(&r);
}

/* A path parameter names the resource: a query parameter of the same field must not
 * replace it (grpc-gateway leaves path fields out of the query), or
 * GET /balances/a?account_id=b would answer for b under a's route. */
static void test_query_cannot_override_path_param(void **state) {
  resp r;
  assert_int_equal(http_req(port_of(state), "GET", "/balances/p1?account_id=other&min_version=2",
                            NULL, NULL, &r),
                   0);
  assert_int_equal(r.status, 200);
  assert_string_equal(json_str(&r, "account_id"), "p1");
  assert_string_equal(json_str(&r, "version"), "2");
  resp_free(&r);

  assert_int_equal(
      http_req(port_of(state), "GET", "/balances/p1?accountId=other", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 200);
  assert_string_equal(json_str(&r, "account_id"), "p1");
  resp_free(&r);
}

static void test_query_refused_on_body_methods(void **state) {
  resp r;
  const char *body = "{\"account_id_from\":\"a\",\"account_id_to\":\"b\",\"amount\":1}";
  assert_int_equal(http_req(port_of(state), "POST", "/transactions?amount=999",
                            "application/json", body, &r),
                   0);
  assert_int_equal(r.status, 400);
  assert_non_null(strstr(json_str(&r, "message"), "query parameters are not accepted on POST"));
  resp_free(&r);
  /* A bare '?' carries no parameter: accepted. */
  assert_int_equal(
      http_req(port_of(state), "POST", "/transactions?", "application/json", body, &r), 0);
  assert_int_equal(r.status, 201);
  assert_string_equal(json_str(&r, "amount"), "1");
  resp_free(&r);
}

static void test_post_created_and_status_override(void **state) {
  resp r;
  char h[64];
  const char *body = "{\"account_id_from\":\"a\",\"accountIdTo\":\"b\",\"amount\":\"100\"}";
  assert_int_equal(
      http_req(port_of(state), "POST", "/transactions", "application/json", body, &r), 0);
  assert_int_equal(r.status, 201);
  assert_string_equal(resp_header(&r, "Content-Type", h, sizeof h), "application/json");
  assert_string_equal(json_str(&r, "account_id_from"), "a");
  assert_string_equal(json_str(&r, "account_id_to"), "b");
  assert_string_equal(json_str(&r, "amount"), "100");
  char want_id[32];
  snprintf(want_id, sizeof want_id, "-/%zu", strlen(body));
  assert_string_equal(json_str(&r, "id"), want_id); /* the raw body was visible */
  resp_free(&r);

  assert_int_equal(http_req(port_of(state), "POST", "/transactions", "application/json",
                            "{\"amount\":7}", &r),
                   0);
  assert_int_equal(r.status, 200);
  assert_string_equal(json_str(&r, "amount"), "7");
  resp_free(&r);

  /* request headers reach the handler, looked up in any case */
  const char *req = "POST /transactions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                    "Content-Type: application/json\r\nIdempotency-Key: k-9\r\n"
                    "Content-Length: 2\r\n\r\n{}";
  assert_int_equal(http_raw(port_of(state), req, strlen(req), &r), 0);
  assert_int_equal(r.status, 201);
  assert_string_equal(json_str(&r, "id"), "k-9/2");
  resp_free(&r);
}

static void test_empty_body_is_empty_message(void **state) {
  resp r;
  assert_int_equal(http_req(port_of(state), "POST", "/transactions", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 201);
  assert_string_equal(json_str(&r, "amount"), "0");
  assert_string_equal(json_str(&r, "account_id_from"), "");
  resp_free(&r);
}

static void test_content_type(void **state) {
  resp r;
  assert_int_equal(
      http_req(port_of(state), "POST", "/transactions", "text/plain", "{\"amount\":1}", &r), 0);
  assert_int_equal(r.status, 415);
  assert_error_shape(&r, RPC_INVALID_ARGUMENT);
  resp_free(&r);

  /* no Content-Type, or curl's default form type: read as JSON (issue 13) */
  assert_int_equal(http_req(port_of(state), "POST", "/transactions", NULL, "{\"amount\":1}", &r),
                   0);
  assert_int_equal(r.status, 201);
  resp_free(&r);
  assert_int_equal(http_req(port_of(state), "POST", "/transactions",
                            "application/x-www-form-urlencoded", "{\"amount\":1}", &r),
                   0);
  assert_int_equal(r.status, 201);
  resp_free(&r);
  assert_int_equal(http_req(port_of(state), "POST", "/transactions", "multipart/form-data; boundary=x",
                            "{\"amount\":1}", &r),
                   0);
  assert_int_equal(r.status, 415);
  resp_free(&r);

  assert_int_equal(http_req(port_of(state), "POST", "/transactions", "application/jsonx",
                            "{\"amount\":1}", &r),
                   0);
  assert_int_equal(r.status, 415);
  resp_free(&r);

  assert_int_equal(http_req(port_of(state), "POST", "/transactions",
                            "Application/JSON; charset=utf-8", "{\"amount\":1}", &r),
                   0);
  assert_int_equal(r.status, 201);
  resp_free(&r);
}

static void test_malformed_json(void **state) {
  resp r;
  assert_int_equal(http_req(port_of(state), "POST", "/transactions", "application/json",
                            "{\"amount\":\"12x\"}", &r),
                   0);
  assert_int_equal(r.status, 400);
  assert_non_null(strstr(assert_error_shape(&r, RPC_INVALID_ARGUMENT), "amount"));
  resp_free(&r);

  assert_int_equal(
      http_req(port_of(state), "POST", "/transactions", "application/json", "{\"amount\":", &r),
      0);
  assert_int_equal(r.status, 400);
  assert_error_shape(&r, RPC_INVALID_ARGUMENT);
  resp_free(&r);

  assert_int_equal(http_req(port_of(state), "POST", "/transactions", "application/json",
                            "{\"account_id_from\":5}", &r),
                   0);
  assert_int_equal(r.status, 400);
  assert_non_null(strstr(assert_error_shape(&r, RPC_INVALID_ARGUMENT), "account_id_from"));
  resp_free(&r);

  /* the handler's own validation, through the same error path */
  assert_int_equal(http_req(port_of(state), "POST", "/transactions", "application/json",
                            "{\"amount\":-1}", &r),
                   0);
  assert_int_equal(r.status, 400);
  assert_string_equal(assert_error_shape(&r, RPC_INVALID_ARGUMENT), "amount must be positive");
  resp_free(&r);
}

static void test_handler_errors(void **state) {
  resp r;
  assert_int_equal(http_req(port_of(state), "GET", "/balances/missing", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 404);
  assert_string_equal(assert_error_shape(&r, RPC_NOT_FOUND), "account missing not found");
  char h[64];
  assert_string_equal(resp_header(&r, "Content-Type", h, sizeof h), "application/json");
  resp_free(&r);

  assert_int_equal(http_req(port_of(state), "GET", "/balances/conflict", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 409);
  assert_string_equal(assert_error_shape(&r, RPC_ALREADY_EXISTS), "already \"there\"");
  resp_free(&r);

  assert_int_equal(http_req(port_of(state), "GET", "/balances/unavailable", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 503);
  assert_string_equal(assert_error_shape(&r, RPC_UNAVAILABLE), "UNAVAILABLE");
  resp_free(&r);

  assert_int_equal(http_req(port_of(state), "GET", "/balances/bad-code", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 500);
  assert_error_shape(&r, RPC_INTERNAL);
  resp_free(&r);

  assert_int_equal(http_req(port_of(state), "GET", "/transactions/t1", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 501);
  assert_error_shape(&r, RPC_UNIMPLEMENTED);
  resp_free(&r);
}

static void test_not_found_and_method_not_allowed(void **state) {
  resp r;
  char h[64];
  assert_int_equal(http_req(port_of(state), "GET", "/nope", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 404);
  assert_error_shape(&r, RPC_NOT_FOUND);
  resp_free(&r);

  assert_int_equal(http_req(port_of(state), "GET", "/balances/", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 404);
  resp_free(&r);

  assert_int_equal(http_req(port_of(state), "GET", "/balances/a/b", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 404);
  resp_free(&r);

  assert_int_equal(
      http_req(port_of(state), "POST", "/balances/abc", "application/json", "{}", &r), 0);
  assert_int_equal(r.status, 405);
  assert_string_equal(resp_header(&r, "Allow", h, sizeof h), "GET, HEAD");
  assert_error_shape(&r, RPC_UNIMPLEMENTED);
  resp_free(&r);

  assert_int_equal(http_req(port_of(state), "DELETE", "/transactions", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 405);
  assert_string_equal(resp_header(&r, "Allow", h, sizeof h), "POST");
  resp_free(&r);
}

static void test_raw_route(void **state) {
  resp r;
  char h[64];
  assert_int_equal(http_req(port_of(state), "GET", "/hello", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 202);
  assert_string_equal(resp_header(&r, "Content-Type", h, sizeof h), "text/plain; version=0.0.4");
  assert_string_equal(r.body, "hello\n");
  resp_free(&r);
}

static void test_body_limit(void **state) {
  resp r;
  /* exactly at the limit: accepted */
  char body[MAX_BODY + 2];
  const char *json = "{\"amount\":3}";
  memset(body, ' ', MAX_BODY);
  memcpy(body, json, strlen(json));
  body[MAX_BODY] = '\0';
  assert_int_equal(
      http_req(port_of(state), "POST", "/transactions", "application/json", body, &r), 0);
  assert_int_equal(r.status, 201);
  resp_free(&r);

  /* one byte over, announced by Content-Length */
  body[MAX_BODY] = ' ';
  body[MAX_BODY + 1] = '\0';
  assert_int_equal(
      http_req(port_of(state), "POST", "/transactions", "application/json", body, &r), 0);
  assert_int_equal(r.status, 413);
  assert_error_shape(&r, RPC_RESOURCE_EXHAUSTED);
  resp_free(&r);

  /* a huge Content-Length is refused before any byte of body is sent */
  const char *big = "POST /transactions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                    "Content-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n";
  assert_int_equal(http_raw(port_of(state), big, strlen(big), &r), 0);
  assert_int_equal(r.status, 413);
  resp_free(&r);

  /* chunked: no length up front, so the cap is enforced while reading */
  char req[4096];
  int n = snprintf(req, sizeof req,
                   "POST /transactions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                   "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 3; i++) {
    n += snprintf(req + n, sizeof req - (size_t)n, "258\r\n"); /* 600 bytes */
    memset(req + n, ' ', 600);
    n += 600;
    n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
  }
  n += snprintf(req + n, sizeof req - (size_t)n, "0\r\n\r\n");
  assert_int_equal(http_raw(port_of(state), req, (size_t)n, &r), 0);
  assert_int_equal(r.status, 413);
  assert_error_shape(&r, RPC_RESOURCE_EXHAUSTED);
  resp_free(&r);

  /* chunked and small: accepted */
  const char *small = "POST /transactions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "6\r\n{\"amou\r\n6\r\nnt\":9}\r\n0\r\n\r\n";
  assert_int_equal(http_raw(port_of(state), small, strlen(small), &r), 0);
  assert_int_equal(r.status, 201);
  assert_string_equal(json_str(&r, "amount"), "9");
  resp_free(&r);
}

static void test_keep_alive_after_error(void **state) {
  /* an error decided from the headers (404) still drains the body, so the next request on
   * the same connection is understood */
  int fd = connect_to(port_of(state));
  assert_true(fd >= 0);
  const char *two = "POST /nope HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    "Content-Length: 2\r\n\r\n{}"
                    "GET /balances/ka HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  assert_int_equal(send_all(fd, two, strlen(two)), 0);
  resp r;
  assert_int_equal(read_response(fd, &r), 0);
  close(fd);
  assert_int_equal(r.status, 404);
  const char *second = strstr(r.body, "HTTP/1.1 200");
  assert_non_null(second);
  assert_non_null(strstr(second, "\"account_id\":\"ka\""));
  resp_free(&r);
}

typedef struct bg_req {
  uint16_t port;
  const char *target;
  resp r;
  int rc;
  int done;
  pthread_t th;
} bg_req;

static void *bg_run(void *arg) {
  bg_req *b = arg;
  b->rc = http_req(b->port, "GET", b->target, NULL, NULL, &b->r);
  __atomic_store_n(&b->done, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

static void bg_start(bg_req *b, uint16_t port, const char *target) {
  memset(b, 0, sizeof *b);
  b->port = port;
  b->target = target;
  b->rc = -1;
  assert_int_equal(pthread_create(&b->th, NULL, bg_run, b), 0);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_slow_handler_does_not_stall_others(void **state) {
  gate_reset();
  bg_req slow;
  bg_start(&slow, port_of(state), "/balances/slow");
  assert_int_equal(gate_wait_entered(1), 1);

  int64_t t0 = now_ms();
  resp r;
  assert_int_equal(http_req(port_of(state), "GET", "/balances/fast", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 200);
  assert_true(now_ms() - t0 < 2000);
  assert_int_equal(gate_left_count(), 0); /* the slow one is still blocked */
  resp_free(&r);

  gate_release();
  pthread_join(slow.th, NULL);
  assert_int_equal(slow.rc, 0);
  assert_int_equal(slow.r.status, 200);
  assert_string_equal(json_str(&slow.r, "account_id"), "slow");
  resp_free(&slow.r);
}

static void test_connection_limit(void **state) {
  (void)state;
  http_server *srv = start_server(2);
  uint16_t port = http_server_port(srv);
  gate_reset();
  bg_req a, b, c;
  bg_start(&a, port, "/balances/slow");
  bg_start(&b, port, "/balances/slow");
  assert_int_equal(gate_wait_entered(2), 2);

  /* Both slots are taken by requests being served (none is waiting for bytes): a third
   * client is refused at once (closed without an answer), not left in the accept queue. */
  bg_start(&c, port, "/balances/third");
  int64_t t0 = now_ms();
  while (!__atomic_load_n(&c.done, __ATOMIC_SEQ_CST) && now_ms() - t0 < 3000)
    usleep(10000);
  assert_int_equal(__atomic_load_n(&c.done, __ATOMIC_SEQ_CST), 1);
  pthread_join(c.th, NULL);
  assert_int_not_equal(c.rc, 0);
  assert_int_equal(gate_wait_entered(2), 2);

  gate_release();
  pthread_join(a.th, NULL);
  pthread_join(b.th, NULL);
  assert_int_equal(a.r.status, 200);
  assert_int_equal(b.r.status, 200);
  resp_free(&a.r);
  resp_free(&b.r);
  resp_free(&c.r);
  http_server_stop(srv);
}

typedef struct bg_stop {
  http_server *srv;
  volatile int done;
  pthread_t th;
} bg_stop;

static void *bg_stop_run(void *arg) {
  bg_stop *s = arg;
  http_server_stop(s->srv);
  __atomic_store_n(&s->done, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

static void test_stop_while_in_flight(void **state) {
  (void)state;
  http_server *srv = start_server(0);
  uint16_t port = http_server_port(srv);
  gate_reset();
  bg_req slow;
  bg_start(&slow, port, "/balances/slow");
  assert_int_equal(gate_wait_entered(1), 1);

  bg_stop stop = {.srv = srv};
  assert_int_equal(pthread_create(&stop.th, NULL, bg_stop_run, &stop), 0);
  usleep(200000);
  /* stop waits for the request in flight ... */
  assert_int_equal(__atomic_load_n(&stop.done, __ATOMIC_SEQ_CST), 0);
  /* ... while new clients are already turned away: the listening socket is closed */
  int fd = connect_to(port);
  int connect_errno = errno;
  if (fd >= 0)
    close(fd);
  assert_true(fd < 0);
  assert_int_equal(connect_errno, ECONNREFUSED);

  gate_release();
  pthread_join(slow.th, NULL);
  pthread_join(stop.th, NULL);
  assert_int_equal(stop.done, 1);
  /* the in-flight request got its full answer */
  assert_int_equal(slow.rc, 0);
  assert_int_equal(slow.r.status, 200);
  assert_string_equal(json_str(&slow.r, "account_id"), "slow");
  resp_free(&slow.r);
}

static void test_metrics_recorded(void **state) {
  resp r;
  assert_int_equal(http_req(port_of(state), "GET", "/balances/m1", NULL, NULL, &r), 0);
  resp_free(&r);
  assert_int_equal(http_req(port_of(state), "GET", "/definitely/unknown", NULL, NULL, &r), 0);
  resp_free(&r);
  metric *ok = metrics_counter(
      "http_requests_total", NULL,
      "route=\"/balances/{account_id}\",method=\"GET\",code=\"200\"");
  metric *nf = metrics_counter("http_requests_total", NULL,
                               "route=\"unmatched\",method=\"GET\",code=\"404\"");
  assert_true(metrics_value(ok) >= 1);
  assert_true(metrics_value(nf) >= 1);
  size_t len = 0;
  char *text = metrics_render(&len);
  assert_non_null(text);
  assert_non_null(strstr(text, "http_request_duration_seconds"));
  free(text);
}

static void test_start_failures(void **state) {
  char err[256];
  http_server_config cfg = {.bind_address = "127.0.0.1", .port = port_of(state)};
  /* the port is taken by the suite's server */
  assert_null(http_server_start(&cfg, routes, NROUTES, err, sizeof err));
  assert_non_null(strstr(err, "cannot listen"));

  cfg.port = 0;
  cfg.bind_address = "not-an-address";
  err[0] = '\0';
  assert_null(http_server_start(&cfg, routes, NROUTES, err, sizeof err));
  assert_true(err[0] != '\0');

  /* a path parameter that names no field of the request type */
  cfg.bind_address = "127.0.0.1";
  const http_route bad[] = {{"GET", "/balances/{acct}", &wallet__v1__get_balance_request__descriptor,
                             &wallet__v1__balance__descriptor, get_balance, 0, NULL, 0}};
  assert_null(http_server_start(&cfg, bad, 1, err, sizeof err));
  assert_non_null(strstr(err, "acct"));

  const http_route malformed[] = {{"GET", "/balances/{id", &wallet__v1__get_balance_request__descriptor,
                                   &wallet__v1__balance__descriptor, get_balance, 0, NULL, 0}};
  assert_null(http_server_start(&cfg, malformed, 1, err, sizeof err));

  http_server_stop(NULL); /* a no-op */
}

/* ---- deferred answers, blocking routes and the event-loop model ---------------------- */

/* Reads exactly one response from a connection that stays open (needs Content-Length). */
static int read_one_response(int fd, resp *r) {
  memset(r, 0, sizeof *r);
  size_t cap = 65536, len = 0, want = 0;
  char *buf = malloc(cap);
  if (buf == NULL)
    return -1;
  buf[0] = '\0';
  for (;;) {
    if (want == 0) {
      char *sep = strstr(buf, "\r\n\r\n");
      if (sep != NULL) {
        resp tmp = {.raw = buf, .body = sep + 4};
        char cl[32];
        if (resp_header(&tmp, "Content-Length", cl, sizeof cl)[0] == '\0')
          break; /* chunked or close-delimited: not what these tests expect */
        want = (size_t)(sep + 4 - buf) + strtoul(cl, NULL, 10);
        if (want >= cap)
          break;
      }
    }
    if (want != 0 && len >= want)
      break;
    ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += (size_t)n;
    buf[len] = '\0';
  }
  r->raw = buf;
  if (want == 0 || len < want)
    return -1;
  buf[want] = '\0';
  if (sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1)
    return -1;
  r->body = strstr(buf, "\r\n\r\n") + 4;
  r->json = cJSON_Parse(r->body);
  return 0;
}

static int gate_wait_entered_within(int n, int ms) {
  pthread_mutex_lock(&gate_mu);
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += ms / 1000;
  dl.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (dl.tv_nsec >= 1000000000L) {
    dl.tv_sec++;
    dl.tv_nsec -= 1000000000L;
  }
  while (gate_entered < n)
    if (pthread_cond_timedwait(&gate_cv, &gate_mu, &dl) == ETIMEDOUT)
      break;
  int got = gate_entered;
  pthread_mutex_unlock(&gate_mu);
  return got;
}

static int gate_entered_count(void) {
  pthread_mutex_lock(&gate_mu);
  int n = gate_entered;
  pthread_mutex_unlock(&gate_mu);
  return n;
}

/* What the deferring handlers did, and the calls parked for the test thread to finish. */
typedef struct held_call {
  http_call *call;
  const Wallet__V1__GetBalanceRequest *req;
  Wallet__V1__Balance *out;
} held_call;

#define MAX_HELD 16
static pthread_mutex_t d_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t d_cv = PTHREAD_COND_INITIALIZER;
static int d_entered;   /* handlers that deferred */
static int d_finishing; /* http_call_finish calls about to be made (counted just before) */
static held_call d_held[MAX_HELD];
static int d_nheld;
static int d_held_total; /* calls ever parked by "hold" */

/* Helper threads that finish calls; joined at the end of each test. */
#define MAX_HELPERS 128
static pthread_t d_helpers[MAX_HELPERS];
static int d_nhelpers;

static void dstate_reset(void) {
  pthread_mutex_lock(&d_mu);
  d_entered = d_finishing = d_nheld = d_held_total = 0;
  pthread_mutex_unlock(&d_mu);
}

static void note_entered(void) {
  pthread_mutex_lock(&d_mu);
  d_entered++;
  pthread_cond_broadcast(&d_cv);
  pthread_mutex_unlock(&d_mu);
}

static void note_finishing(void) {
  pthread_mutex_lock(&d_mu);
  d_finishing++;
  pthread_mutex_unlock(&d_mu);
}

static int finishing_count(void) {
  pthread_mutex_lock(&d_mu);
  int n = d_finishing;
  pthread_mutex_unlock(&d_mu);
  return n;
}

static int wait_entered(int n, int ms) {
  pthread_mutex_lock(&d_mu);
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  dl.tv_sec += ms / 1000;
  dl.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (dl.tv_nsec >= 1000000000L) {
    dl.tv_sec++;
    dl.tv_nsec -= 1000000000L;
  }
  while (d_entered < n)
    if (pthread_cond_timedwait(&d_cv, &d_mu, &dl) == ETIMEDOUT)
      break;
  int got = d_entered;
  pthread_mutex_unlock(&d_mu);
  return got;
}

static void helpers_join(void) {
  for (;;) {
    pthread_mutex_lock(&d_mu);
    if (d_nhelpers == 0) {
      pthread_mutex_unlock(&d_mu);
      return;
    }
    pthread_t t = d_helpers[--d_nhelpers];
    pthread_mutex_unlock(&d_mu);
    pthread_join(t, NULL);
  }
}

/* Fills a Balance with memory from the call (possibly from a thread other than the
 * handler's). */
static void fill_balance(http_call *call, Wallet__V1__Balance *out, const char *id,
                         int64_t version) {
  out->account_id = http_call_strdup(call, id);
  out->balance = version * 10;
  out->version = version;
  out->updated_at = (Google__Protobuf__Timestamp *)http_call_new_message(
      call, &google__protobuf__timestamp__descriptor);
  out->updated_at->seconds = 1700000000 + version;
}

typedef enum fin_how { FIN_OK, FIN_ERR, FIN_ERR_NULL, FIN_HDR, FIN_TX } fin_how;

typedef struct finisher {
  http_call *call;
  const ProtobufCMessage *req;
  ProtobufCMessage *out;
  unsigned delay_ms;
  fin_how how;
} finisher;

/* A helper thread: sleeps, then fills the response from the request (which must still be
 * valid after the handler returned) and finishes the call. */
static void *finisher_run(void *arg) {
  finisher f = *(finisher *)arg;
  free(arg);
  if (f.delay_ms > 0)
    usleep(f.delay_ms * 1000);
  rpc_status st;
  memset(&st, 0, sizeof st);
  rpc_code code = RPC_OK;
  const rpc_status *stp = NULL;
  if (f.how == FIN_TX) {
    const Wallet__V1__CreateTransactionRequest *req =
        (const Wallet__V1__CreateTransactionRequest *)f.req;
    Wallet__V1__Transaction *out = (Wallet__V1__Transaction *)f.out;
    out->id = http_call_strdup(f.call, "tx-deferred");
    out->account_id_from = http_call_strdup(f.call, req->account_id_from);
    out->account_id_to = http_call_strdup(f.call, req->account_id_to);
    out->amount = req->amount;
  } else {
    const Wallet__V1__GetBalanceRequest *req = (const Wallet__V1__GetBalanceRequest *)f.req;
    Wallet__V1__Balance *out = (Wallet__V1__Balance *)f.out;
    switch (f.how) {
    case FIN_ERR:
      code = rpc_status_set(&st, RPC_NOT_FOUND, "account %s gone", req->account_id);
      stp = &st;
      break;
    case FIN_ERR_NULL:
      code = RPC_UNAVAILABLE;
      break;
    case FIN_HDR:
      fill_balance(f.call, out, req->account_id, req->min_version);
      http_call_set_header(f.call, "X-Finisher", "helper-thread");
      http_call_set_status(f.call, 202);
      break;
    default:
      fill_balance(f.call, out, req->account_id, req->min_version);
      break;
    }
  }
  note_finishing();
  http_call_finish(f.call, code, stp);
  return NULL;
}

/* Defers the call and hands it to a new helper thread. */
static void defer_to_helper(http_call *call, const ProtobufCMessage *request,
                            ProtobufCMessage *response, unsigned delay_ms, fin_how how) {
  http_call_defer(call);
  finisher *f = malloc(sizeof *f); /* no cmocka assertion here: not the test's thread */
  if (f != NULL)
    *f = (finisher){call, request, response, delay_ms, how};
  pthread_mutex_lock(&d_mu);
  int ok = f != NULL && d_nhelpers < MAX_HELPERS &&
           pthread_create(&d_helpers[d_nhelpers], NULL, finisher_run, f) == 0;
  if (ok)
    d_nhelpers++;
  pthread_mutex_unlock(&d_mu);
  if (!ok) {
    free(f);
    note_finishing();
    http_call_finish(call, RPC_INTERNAL, NULL);
  }
  note_entered();
}

/* GET /deferred/{account_id}?min_version=N: the id picks the behaviour; min_version is both
 * the helper's delay in ms and the version it answers. */
static rpc_code deferred_balance(http_call *call, const ProtobufCMessage *request,
                                 ProtobufCMessage *response, rpc_status *st) {
  const Wallet__V1__GetBalanceRequest *req = (const Wallet__V1__GetBalanceRequest *)request;
  Wallet__V1__Balance *out = (Wallet__V1__Balance *)response;
  const char *id = req->account_id;
  unsigned delay = (unsigned)req->min_version;
  if (strcmp(id, "now") == 0) { /* finished before the handler even returns */
    http_call_defer(call);
    fill_balance(call, out, id, req->min_version);
    note_finishing();
    http_call_finish(call, RPC_OK, NULL);
    note_entered();
    return RPC_OK;
  }
  if (strcmp(id, "now-err") == 0) {
    http_call_defer(call);
    rpc_status mine;
    rpc_status_set(&mine, RPC_NOT_FOUND, "account %s gone at once", id);
    note_finishing();
    http_call_finish(call, RPC_NOT_FOUND, &mine);
    note_entered();
    return RPC_OK;
  }
  if (strncmp(id, "hold", 4) == 0) { /* parked until the test thread finishes it */
    http_call_defer(call);
    pthread_mutex_lock(&d_mu);
    if (d_nheld < MAX_HELD)
      d_held[d_nheld++] = (held_call){call, req, out};
    d_held_total++;
    d_entered++;
    pthread_cond_broadcast(&d_cv);
    pthread_mutex_unlock(&d_mu);
    return RPC_OK;
  }
  if (strcmp(id, "handoff-then-work") == 0) { /* the helper finishes before we return */
    defer_to_helper(call, request, response, 0, FIN_OK);
    usleep(50000);
    return RPC_OK;
  }
  if (strcmp(id, "err") == 0) {
    defer_to_helper(call, request, response, delay, FIN_ERR);
    return RPC_OK;
  }
  if (strcmp(id, "err-null") == 0) {
    defer_to_helper(call, request, response, delay, FIN_ERR_NULL);
    return RPC_OK;
  }
  if (strcmp(id, "hdr") == 0) {
    defer_to_helper(call, request, response, delay, FIN_HDR);
    return RPC_OK;
  }
  if (strcmp(id, "ret-ignored") == 0) { /* a deferring handler's return value is ignored */
    defer_to_helper(call, request, response, delay, FIN_OK);
    return rpc_status_set(st, RPC_INTERNAL, "this return value must be ignored");
  }
  defer_to_helper(call, request, response, delay, FIN_OK);
  return RPC_OK;
}

/* POST /deferred-tx: a deferred answer keeps the route's success status (201). */
static rpc_code deferred_create(http_call *call, const ProtobufCMessage *request,
                                ProtobufCMessage *response, rpc_status *st) {
  defer_to_helper(call, request, response, 30, FIN_TX);
  return RPC_OK;
}

/* GET /blocking/{account_id} (blocking = 1): "slow" waits at the gate, "defer" defers from
 * the worker, anything else answers at once. */
static rpc_code blocking_balance(http_call *call, const ProtobufCMessage *request,
                                 ProtobufCMessage *response, rpc_status *st) {
  const Wallet__V1__GetBalanceRequest *req = (const Wallet__V1__GetBalanceRequest *)request;
  Wallet__V1__Balance *out = (Wallet__V1__Balance *)response;
  if (strcmp(req->account_id, "slow") == 0)
    gate_pass();
  if (strcmp(req->account_id, "defer") == 0) {
    defer_to_helper(call, request, response, (unsigned)req->min_version, FIN_OK);
    return RPC_OK;
  }
  if (strcmp(req->account_id, "now-then-work") == 0) {
    /* finishes, then goes on with its own work (say, handing back a database connection)
     * without touching the call: the server must not touch it either after the finish */
    http_call_defer(call);
    fill_balance(call, out, req->account_id, req->min_version);
    note_finishing();
    http_call_finish(call, RPC_OK, NULL);
    usleep(50000);
    return RPC_OK;
  }
  if (strcmp(req->account_id, "handoff-then-work") == 0) {
    defer_to_helper(call, request, response, 0, FIN_OK);
    usleep(50000); /* the helper has finished (and the answer gone out) by now */
    return RPC_OK;
  }
  fill_balance(call, out, req->account_id, req->min_version);
  return RPC_OK;
}

static const http_route droutes[] = {
    {"GET", "/deferred/{account_id}", &wallet__v1__get_balance_request__descriptor,
     &wallet__v1__balance__descriptor, deferred_balance, 0, NULL, 0},
    {"POST", "/deferred-tx", &wallet__v1__create_transaction_request__descriptor,
     &wallet__v1__transaction__descriptor, deferred_create, 201, NULL, 0},
    {"GET", "/blocking/{account_id}", &wallet__v1__get_balance_request__descriptor,
     &wallet__v1__balance__descriptor, blocking_balance, 0, NULL, 1},
    {"GET", "/plain/{account_id}", &wallet__v1__get_balance_request__descriptor,
     &wallet__v1__balance__descriptor, get_balance, 0, NULL, 0},
};
#define NDROUTES (sizeof droutes / sizeof droutes[0])

static http_server *start_model(const http_route *rs, size_t n, unsigned io_threads,
                                unsigned workers, unsigned timeout_s) {
  http_server_config cfg = {.bind_address = "127.0.0.1",
                            .port = 0,
                            .max_body_bytes = MAX_BODY,
                            .connection_timeout_s = timeout_s,
                            .io_threads = io_threads,
                            .workers = workers,
                            .app = &app_token};
  char err[256] = "";
  http_server *srv = http_server_start(&cfg, rs, n, err, sizeof err);
  if (srv == NULL)
    fail_msg("http_server_start (io_threads=%u): %s", io_threads, err);
  assert_int_not_equal(http_server_port(srv), 0);
  return srv;
}

static http_server *start_deferred(unsigned io_threads, unsigned workers) {
  dstate_reset();
  client_timeout_ms = 4000; /* nothing here should take more than a fraction of that */
  return start_model(droutes, NDROUTES, io_threads, workers, 5);
}

static void stop_deferred(http_server *srv) {
  http_server_stop(srv);
  helpers_join();
  client_timeout_ms = 15000;
}

static void assert_balance(const resp *r, const char *id, const char *version) {
  assert_non_null(r->json);
  assert_string_equal(json_str(r, "account_id"), id);
  assert_string_equal(json_str(r, "version"), version);
  assert_non_null(json_str(r, "updated_at"));
}

/* Deferred answers, success and errors, with a helper thread finishing later. */
static void check_deferred_answers(uint16_t port) {
  resp r;
  char h[64];
  int64_t t0 = now_ms();
  assert_int_equal(http_req(port, "GET", "/deferred/ok-a?min_version=50", NULL, NULL, &r), 0);
  int64_t took = now_ms() - t0;
  assert_int_equal(r.status, 200);
  assert_string_equal(resp_header(&r, "Content-Type", h, sizeof h), "application/json");
  assert_balance(&r, "ok-a", "50");
  assert_string_equal(json_str(&r, "balance"), "500");
  assert_true(took >= 45); /* the answer waited for the helper */
  resp_free(&r);

  assert_int_equal(http_req(port, "GET", "/deferred/err?min_version=20", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 404);
  assert_string_equal(assert_error_shape(&r, RPC_NOT_FOUND), "account err gone");
  assert_string_equal(resp_header(&r, "Content-Type", h, sizeof h), "application/json");
  resp_free(&r);

  /* no status given: the code's name is the message */
  assert_int_equal(http_req(port, "GET", "/deferred/err-null?min_version=10", NULL, NULL, &r),
                   0);
  assert_int_equal(r.status, 503);
  assert_string_equal(assert_error_shape(&r, RPC_UNAVAILABLE), "UNAVAILABLE");
  resp_free(&r);

  /* the handler returned an error after deferring: ignored, the finish decides */
  assert_int_equal(
      http_req(port, "GET", "/deferred/ret-ignored?min_version=20", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 200);
  assert_balance(&r, "ret-ignored", "20");
  resp_free(&r);

  /* a deferred POST keeps the route's 201 and saw its body */
  assert_int_equal(http_req(port, "POST", "/deferred-tx", "application/json",
                            "{\"account_id_from\":\"x\",\"account_id_to\":\"y\",\"amount\":5}",
                            &r),
                   0);
  assert_int_equal(r.status, 201);
  assert_string_equal(json_str(&r, "id"), "tx-deferred");
  assert_string_equal(json_str(&r, "account_id_from"), "x");
  assert_string_equal(json_str(&r, "account_id_to"), "y");
  assert_string_equal(json_str(&r, "amount"), "5");
  resp_free(&r);
}

static void test_deferred_thread_per_connection(void **state) {
  (void)state;
  http_server *srv = start_deferred(0, 0);
  uint16_t port = http_server_port(srv);
  check_deferred_answers(port);

  /* `blocking` is ignored in this model: the route still answers, even deferring */
  resp r;
  assert_int_equal(http_req(port, "GET", "/blocking/b1?min_version=3", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 200);
  assert_balance(&r, "b1", "3");
  resp_free(&r);
  assert_int_equal(http_req(port, "GET", "/blocking/defer?min_version=30", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 200);
  assert_balance(&r, "defer", "30");
  resp_free(&r);
  stop_deferred(srv);
}

static void test_deferred_event_loop(void **state) {
  (void)state;
  http_server *srv = start_deferred(2, 0);
  check_deferred_answers(http_server_port(srv));
  stop_deferred(srv);
}

/* The finish comes before the handler returns, i.e. before the server parks the
 * connection; repeated to give the race a chance. */
static void test_deferred_finished_inside_handler(void **state) {
  (void)state;
  static const unsigned models[] = {0, 1, 2};
  for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
    http_server *srv = start_deferred(models[m], 0);
    uint16_t port = http_server_port(srv);
    for (int i = 0; i < 20; i++) {
      resp r;
      assert_int_equal(http_req(port, "GET", "/deferred/now?min_version=4", NULL, NULL, &r), 0);
      assert_int_equal(r.status, 200);
      assert_balance(&r, "now", "4");
      resp_free(&r);
      assert_int_equal(http_req(port, "GET", "/deferred/now-err", NULL, NULL, &r), 0);
      assert_int_equal(r.status, 404);
      assert_string_equal(assert_error_shape(&r, RPC_NOT_FOUND), "account now-err gone at once");
      resp_free(&r);
    }
    /* and concurrently, so several I/O threads race it */
    bg_req b[6];
    for (int i = 0; i < 6; i++)
      bg_start(&b[i], port, "/deferred/now?min_version=9");
    for (int i = 0; i < 6; i++) {
      pthread_join(b[i].th, NULL);
      assert_int_equal(b[i].rc, 0);
      assert_int_equal(b[i].r.status, 200);
      assert_balance(&b[i].r, "now", "9");
      resp_free(&b[i].r);
    }
    stop_deferred(srv);
  }
}

/* Finishes every held call from the calling thread, last parked first. */
static int finish_held(void) {
  pthread_mutex_lock(&d_mu);
  held_call held[MAX_HELD];
  int n = d_nheld;
  memcpy(held, d_held, sizeof held);
  d_nheld = 0;
  pthread_mutex_unlock(&d_mu);
  for (int i = n - 1; i >= 0; i--) {
    fill_balance(held[i].call, held[i].out, held[i].req->account_id, 100 + i);
    note_finishing();
    http_call_finish(held[i].call, RPC_OK, NULL);
  }
  return n;
}

/* Cleanup before stopping a server: finishes every held call, including ones parked late
 * (a server that wrongly serialises them parks the next only after the previous is
 * finished), until `expected` were parked or `ms` passed, so that a wrong server fails
 * the test instead of hanging it in http_server_stop. */
static void drain_held(int expected, int ms) {
  int64_t deadline = now_ms() + ms;
  for (;;) {
    finish_held();
    pthread_mutex_lock(&d_mu);
    int total = d_held_total;
    pthread_mutex_unlock(&d_mu);
    if (total >= expected || now_ms() >= deadline)
      break;
    usleep(20000);
  }
  finish_held();
}

/* One I/O thread, three parked calls: other requests are still served at once, so a
 * parked call holds no thread. */
static void test_event_loop_parked_calls_hold_no_thread(void **state) {
  (void)state;
  http_server *srv = start_deferred(1, 0);
  uint16_t port = http_server_port(srv);
  bg_req held[3];
  char targets[3][32];
  for (int i = 0; i < 3; i++) {
    snprintf(targets[i], sizeof targets[i], "/deferred/hold-%d", i);
    bg_start(&held[i], port, targets[i]);
  }
  int entered = wait_entered(3, 3000);

  /* results first, assertions after cleanup, so a failure does not leave calls parked */
  resp plain, deferred;
  int64_t t0 = now_ms();
  int plain_rc = http_req(port, "GET", "/plain/p1", NULL, NULL, &plain);
  int64_t plain_ms = now_ms() - t0;
  int deferred_rc = http_req(port, "GET", "/deferred/d1?min_version=5", NULL, NULL, &deferred);
  int still_waiting = 0;
  for (int i = 0; i < 3; i++)
    still_waiting += __atomic_load_n(&held[i].done, __ATOMIC_SEQ_CST) == 0;

  int finished = finish_held();
  for (int i = 0; i < 3; i++)
    pthread_join(held[i].th, NULL);
  drain_held(3, 5000);
  stop_deferred(srv);

  assert_int_equal(entered, 3);
  assert_int_equal(finished, 3);
  assert_int_equal(plain_rc, 0);
  assert_int_equal(plain.status, 200);
  assert_string_equal(json_str(&plain, "account_id"), "p1");
  assert_true(plain_ms < 500);
  assert_int_equal(deferred_rc, 0);
  assert_int_equal(deferred.status, 200);
  assert_balance(&deferred, "d1", "5");
  assert_int_equal(still_waiting, 3);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(held[i].rc, 0);
    assert_int_equal(held[i].r.status, 200);
    assert_string_equal(json_str(&held[i].r, "account_id"), targets[i] + strlen("/deferred/"));
    resp_free(&held[i].r);
  }
  resp_free(&plain);
  resp_free(&deferred);
}

/* One I/O thread, two workers: blocking handlers stuck at the gate run two at a time on
 * the workers, a third waits its turn, and inline routes are still answered at once. */
static void test_event_loop_blocking_routes_run_on_workers(void **state) {
  (void)state;
  gate_reset();
  http_server *srv = start_deferred(1, 2);
  uint16_t port = http_server_port(srv);
  bg_req slow[3];
  for (int i = 0; i < 3; i++)
    bg_start(&slow[i], port, "/blocking/slow");
  int entered = gate_wait_entered_within(2, 3000);
  usleep(300000);
  int entered_later = gate_entered_count(); /* the third has no worker yet */

  resp plain, deferred;
  int64_t t0 = now_ms();
  int plain_rc = http_req(port, "GET", "/plain/p2", NULL, NULL, &plain);
  int64_t plain_ms = now_ms() - t0;
  int deferred_rc = http_req(port, "GET", "/deferred/d2?min_version=5", NULL, NULL, &deferred);
  int answered_early = 0;
  for (int i = 0; i < 3; i++)
    answered_early += __atomic_load_n(&slow[i].done, __ATOMIC_SEQ_CST);

  gate_release();
  for (int i = 0; i < 3; i++)
    pthread_join(slow[i].th, NULL);
  int entered_end = gate_entered_count();

  /* a blocking handler may defer in turn */
  resp bdef;
  int bdef_rc = http_req(port, "GET", "/blocking/defer?min_version=20", NULL, NULL, &bdef);
  stop_deferred(srv);

  assert_int_equal(entered, 2);
  assert_int_equal(entered_later, 2);
  assert_int_equal(plain_rc, 0);
  assert_int_equal(plain.status, 200);
  assert_string_equal(json_str(&plain, "account_id"), "p2");
  assert_true(plain_ms < 500);
  assert_int_equal(deferred_rc, 0);
  assert_int_equal(deferred.status, 200);
  assert_balance(&deferred, "d2", "5");
  assert_int_equal(answered_early, 0);
  assert_int_equal(entered_end, 3);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(slow[i].rc, 0);
    assert_int_equal(slow[i].r.status, 200);
    assert_balance(&slow[i].r, "slow", "0");
    resp_free(&slow[i].r);
  }
  assert_int_equal(bdef_rc, 0);
  assert_int_equal(bdef.status, 200);
  assert_balance(&bdef, "defer", "20");
  resp_free(&plain);
  resp_free(&deferred);
  resp_free(&bdef);
}

/* Two deferred requests one after the other on one kept-alive connection, then two
 * pipelined ones: each answered, in order, and the connection reads again after a
 * parked answer. */
static void test_deferred_keep_alive(void **state) {
  (void)state;
  static const unsigned models[] = {0, 2};
  for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
    http_server *srv = start_deferred(models[m], 0);
    uint16_t port = http_server_port(srv);
    int fd = connect_to(port);
    assert_true(fd >= 0);
    const char *first = "GET /deferred/ka1?min_version=40 HTTP/1.1\r\nHost: x\r\n\r\n";
    const char *second = "GET /deferred/ka2?min_version=10 HTTP/1.1\r\nHost: x\r\n\r\n";
    resp r1, r2;
    assert_int_equal(send_all(fd, first, strlen(first)), 0);
    int rc1 = read_one_response(fd, &r1);
    int rc2 = -1;
    if (rc1 == 0 && send_all(fd, second, strlen(second)) == 0)
      rc2 = read_one_response(fd, &r2);
    else
      memset(&r2, 0, sizeof r2);
    close(fd);
    assert_int_equal(rc1, 0);
    assert_int_equal(r1.status, 200);
    assert_balance(&r1, "ka1", "40");
    assert_int_equal(rc2, 0);
    assert_int_equal(r2.status, 200);
    assert_balance(&r2, "ka2", "10");
    resp_free(&r1);
    resp_free(&r2);

    /* pipelined: the slower first answer still comes first; a parked error too */
    fd = connect_to(port);
    assert_true(fd >= 0);
    const char *three = "GET /deferred/pa?min_version=60 HTTP/1.1\r\nHost: x\r\n\r\n"
                        "GET /deferred/err?min_version=5 HTTP/1.1\r\nHost: x\r\n\r\n"
                        "GET /deferred/pb?min_version=1 HTTP/1.1\r\nHost: x\r\n"
                        "Connection: close\r\n\r\n";
    assert_int_equal(send_all(fd, three, strlen(three)), 0);
    resp r;
    int rc = read_response(fd, &r);
    close(fd);
    assert_int_equal(rc, 0);
    assert_int_equal(r.status, 200);
    const char *a = strstr(r.raw, "\"account_id\":\"pa\"");
    const char *e = strstr(r.raw, "HTTP/1.1 404");
    const char *gone = strstr(r.raw, "account err gone");
    const char *b = strstr(r.raw, "\"account_id\":\"pb\"");
    assert_non_null(a);
    assert_non_null(e);
    assert_non_null(gone);
    assert_non_null(b);
    assert_true(a < e && e < gone && gone < b);
    resp_free(&r);
    stop_deferred(srv);
  }
}

/* http_server_stop waits for a parked call: it returns only after the helper finished it,
 * and the client got the whole answer. */
static void test_stop_waits_for_deferred(void **state) {
  (void)state;
  static const unsigned models[] = {0, 2};
  for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
    http_server *srv = start_deferred(models[m], 0);
    uint16_t port = http_server_port(srv);
    bg_req late;
    bg_start(&late, port, "/deferred/late?min_version=200");
    int entered = wait_entered(1, 3000);
    int64_t t0 = now_ms();
    http_server_stop(srv);
    int64_t took = now_ms() - t0;
    int finishing = finishing_count();
    pthread_join(late.th, NULL);
    helpers_join();
    client_timeout_ms = 15000;

    assert_int_equal(entered, 1);
    assert_int_equal(finishing, 1); /* the finish had begun before stop returned */
    assert_true(took >= 100);       /* 200 ms less the time to get here */
    assert_int_equal(late.rc, 0);
    assert_int_equal(late.r.status, 200);
    assert_balance(&late.r, "late", "200");
    resp_free(&late.r);
  }
}

/* Headers and status set from the finishing thread reach the response. */
static void test_deferred_headers_and_status_from_finisher(void **state) {
  (void)state;
  static const unsigned models[] = {0, 2};
  for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
    http_server *srv = start_deferred(models[m], 0);
    resp r;
    char h[64];
    assert_int_equal(
        http_req(http_server_port(srv), "GET", "/deferred/hdr?min_version=30", NULL, NULL, &r),
        0);
    assert_int_equal(r.status, 202);
    assert_string_equal(resp_header(&r, "X-Finisher", h, sizeof h), "helper-thread");
    assert_string_equal(resp_header(&r, "Content-Type", h, sizeof h), "application/json");
    assert_balance(&r, "hdr", "30");
    resp_free(&r);
    stop_deferred(srv);
  }
}

/* What deferring is for: one thread answers many parked requests (in its own order), and
 * every client gets its own answer. */
static void test_one_thread_finishes_many(void **state) {
  (void)state;
  static const unsigned models[] = {0, 1};
  enum { N = 8 };
  for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
    http_server *srv = start_deferred(models[m], 0);
    uint16_t port = http_server_port(srv);
    bg_req b[N];
    char targets[N][32];
    for (int i = 0; i < N; i++) {
      snprintf(targets[i], sizeof targets[i], "/deferred/hold-%d", i);
      bg_start(&b[i], port, targets[i]);
    }
    int entered = wait_entered(N, 3000);
    int finished = finish_held();
    for (int i = 0; i < N; i++)
      pthread_join(b[i].th, NULL);
    drain_held(N, 5000);
    stop_deferred(srv);

    assert_int_equal(entered, N);
    assert_int_equal(finished, N);
    for (int i = 0; i < N; i++) {
      assert_int_equal(b[i].rc, 0);
      assert_int_equal(b[i].r.status, 200);
      assert_string_equal(json_str(&b[i].r, "account_id"), targets[i] + strlen("/deferred/"));
      resp_free(&b[i].r);
    }
  }
}

/* A handler (blocking or not) that finishes its call, or hands it to a thread that
 * finishes it at once, and only then returns: the server must not touch the call after
 * the finish (the answer may be sent and the call freed while the handler still runs). */
static void test_handler_returns_after_its_call_finished(void **state) {
  (void)state;
  static const unsigned models[] = {0, 1};
  static const char *const targets[] = {
      "/deferred/handoff-then-work?min_version=6",
      "/blocking/now-then-work?min_version=6",
      "/blocking/handoff-then-work?min_version=6",
  };
  for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
    http_server *srv = start_deferred(models[m], 2);
    uint16_t port = http_server_port(srv);
    for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
      for (int i = 0; i < 3; i++) {
        resp r;
        int rc = http_req(port, "GET", targets[t], NULL, NULL, &r);
        if (rc != 0 || r.status != 200)
          print_error("io_threads=%u %s: rc %d status %d\n", models[m], targets[t], rc,
                      r.status);
        assert_int_equal(rc, 0);
        assert_int_equal(r.status, 200);
        assert_string_equal(json_str(&r, "version"), "6");
        resp_free(&r);
      }
    }
    usleep(100000); /* let the last handler return before the server goes */
    stop_deferred(srv);
  }
}

/* The client hangs up while its call is parked: finishing it later is still safe, and the
 * server goes on serving and stops cleanly. */
static void test_client_gone_before_finish(void **state) {
  (void)state;
  static const unsigned models[] = {0, 1};
  for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
    http_server *srv = start_deferred(models[m], 0);
    uint16_t port = http_server_port(srv);
    int fds[2];
    for (int i = 0; i < 2; i++) {
      fds[i] = connect_to(port);
      assert_true(fds[i] >= 0);
      char req[128];
      int n = snprintf(req, sizeof req,
                       "GET /deferred/hold-gone-%d HTTP/1.1\r\nHost: x\r\n\r\n", i);
      assert_int_equal(send_all(fds[i], req, (size_t)n), 0);
    }
    int entered = wait_entered(2, 3000);
    close(fds[0]);
    /* and one that resets the connection outright */
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fds[1], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fds[1]);
    usleep(100000);
    int finished = finish_held();
    usleep(100000);
    resp r;
    int rc = http_req(port, "GET", "/deferred/after?min_version=2", NULL, NULL, &r);
    drain_held(2, 5000);
    int64_t t0 = now_ms();
    stop_deferred(srv);
    int64_t stop_ms = now_ms() - t0;
    assert_int_equal(entered, 2);
    assert_int_equal(finished, 2);
    assert_int_equal(rc, 0);
    assert_int_equal(r.status, 200);
    assert_balance(&r, "after", "2");
    assert_true(stop_ms < 3000);
    resp_free(&r);
  }
}

/* The whole basic suite above, against an event-loop server. */
static void test_event_loop_basics(void **state) {
  (void)state;
  http_server *srv = start_model(routes, NROUTES, 2, 0, 5);
  void *st = srv;
  test_get_with_path_param(&st);
  test_percent_encoded_path_param(&st);
  test_query_params(&st);
  test_query_cannot_override_path_param(&st);
  test_query_refused_on_body_methods(&st);
  test_post_created_and_status_override(&st);
  test_empty_body_is_empty_message(&st);
  test_content_type(&st);
  test_malformed_json(&st);
  test_handler_errors(&st);
  test_not_found_and_method_not_allowed(&st);
  test_raw_route(&st);
  test_body_limit(&st);
  test_keep_alive_after_error(&st);
  test_metrics_recorded(&st);
  test_start_failures(&st);
  http_server_stop(srv);
}

/* Idle clients are cut after connection_timeout_s in both models. */
static void test_idle_timeout_both_models(void **state) {
  (void)state;
  static const unsigned models[] = {0, 1};
  for (size_t m = 0; m < sizeof models / sizeof models[0]; m++) {
    http_server *srv = start_model(droutes, NDROUTES, models[m], 0, 1);
    client_timeout_ms = 4000;
    int fd = connect_to(http_server_port(srv));
    assert_true(fd >= 0);
    int64_t t0 = now_ms();
    char c;
    ssize_t n;
    do
      n = recv(fd, &c, 1, 0);
    while (n < 0 && errno == EINTR);
    int64_t took = now_ms() - t0;
    close(fd);
    /* the server still serves new clients afterwards */
    resp r;
    int rc = http_req(http_server_port(srv), "GET", "/plain/after", NULL, NULL, &r);
    client_timeout_ms = 15000;
    http_server_stop(srv);
    assert_int_equal(n, 0); /* closed by the server, not our receive timeout */
    assert_true(took >= 500 && took < 3500);
    assert_int_equal(rc, 0);
    assert_int_equal(r.status, 200);
    resp_free(&r);
  }
}

/* ---- on_rejected: errors the server answers before a protobuf handler runs ------------ */

static pthread_mutex_t rejected_mu = PTHREAD_MUTEX_INITIALIZER;
static int rejected_n;
static unsigned rejected_status;
static char rejected_route[64];

static void count_rejected(http_call *call, unsigned status, rpc_code code) {
  (void)code;
  pthread_mutex_lock(&rejected_mu);
  rejected_n++;
  rejected_status = status;
  snprintf(rejected_route, sizeof rejected_route, "%s %s", http_call_method(call),
           http_call_route(call));
  pthread_mutex_unlock(&rejected_mu);
}

static int rejected_count(void) {
  pthread_mutex_lock(&rejected_mu);
  int n = rejected_n;
  pthread_mutex_unlock(&rejected_mu);
  return n;
}

/* Undecodable bodies, 415 and 413 on a matched route are told; the handler's own errors,
 * successes, 404/405 and raw routes are not (the handler or nobody counts those). */
static void test_on_rejected_hook(void **state) {
  (void)state;
  http_server_config cfg = {.bind_address = "127.0.0.1",
                            .max_body_bytes = MAX_BODY,
                            .connection_timeout_s = 5,
                            .app = &app_token,
                            .on_rejected = count_rejected};
  char err[256] = "";
  http_server *srv = http_server_start(&cfg, routes, NROUTES, err, sizeof err);
  if (srv == NULL)
    fail_msg("http_server_start: %s", err);
  uint16_t port = http_server_port(srv);
  const char *ok = "{\"account_id_from\":\"a\",\"account_id_to\":\"b\",\"amount\":5}";
  resp r;
  int before = rejected_count();
  assert_int_equal(http_req(port, "POST", "/transactions", "application/json", "{", &r), 0);
  assert_int_equal(r.status, 400);
  resp_free(&r);
  assert_int_equal(rejected_count(), before + 1);
  pthread_mutex_lock(&rejected_mu);
  assert_int_equal(rejected_status, 400);
  assert_string_equal(rejected_route, "POST /transactions");
  pthread_mutex_unlock(&rejected_mu);
  assert_int_equal(http_req(port, "POST", "/transactions", "application/xml", ok, &r), 0);
  assert_int_equal(r.status, 415);
  resp_free(&r);
  assert_int_equal(rejected_count(), before + 2);
  char big[MAX_BODY + 64];
  memset(big, ' ', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  assert_int_equal(http_req(port, "POST", "/transactions", "application/json", big, &r), 0);
  assert_int_equal(r.status, 413);
  resp_free(&r);
  assert_int_equal(rejected_count(), before + 3);
  /* not told: success, the handler's own error, 404, 405, a raw route */
  assert_int_equal(http_req(port, "POST", "/transactions", "application/json", ok, &r), 0);
  assert_int_equal(r.status, 201);
  resp_free(&r);
  assert_int_equal(http_req(port, "POST", "/transactions", "application/json",
                            "{\"amount\":-1}", &r), 0);
  assert_int_equal(r.status, 400);
  resp_free(&r);
  assert_int_equal(http_req(port, "GET", "/nope", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 404);
  resp_free(&r);
  assert_int_equal(http_req(port, "DELETE", "/transactions", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 405);
  resp_free(&r);
  assert_int_equal(http_req(port, "GET", "/hello", NULL, NULL, &r), 0);
  assert_int_equal(r.status, 202);
  resp_free(&r);
  assert_int_equal(rejected_count(), before + 3);
  http_server_stop(srv);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_get_with_path_param),
      cmocka_unit_test(test_on_rejected_hook),
      cmocka_unit_test(test_percent_encoded_path_param),
      cmocka_unit_test(test_query_params),
      cmocka_unit_test(test_query_cannot_override_path_param),
      cmocka_unit_test(test_query_refused_on_body_methods),
      cmocka_unit_test(test_post_created_and_status_override),
      cmocka_unit_test(test_empty_body_is_empty_message),
      cmocka_unit_test(test_content_type),
      cmocka_unit_test(test_malformed_json),
      cmocka_unit_test(test_handler_errors),
      cmocka_unit_test(test_not_found_and_method_not_allowed),
      cmocka_unit_test(test_raw_route),
      cmocka_unit_test(test_body_limit),
      cmocka_unit_test(test_keep_alive_after_error),
      cmocka_unit_test(test_slow_handler_does_not_stall_others),
      cmocka_unit_test(test_connection_limit),
      cmocka_unit_test(test_stop_while_in_flight),
      cmocka_unit_test(test_metrics_recorded),
      cmocka_unit_test(test_start_failures),
      cmocka_unit_test(test_deferred_thread_per_connection),
      cmocka_unit_test(test_deferred_event_loop),
      cmocka_unit_test(test_deferred_finished_inside_handler),
      cmocka_unit_test(test_event_loop_parked_calls_hold_no_thread),
      cmocka_unit_test(test_event_loop_blocking_routes_run_on_workers),
      cmocka_unit_test(test_deferred_keep_alive),
      cmocka_unit_test(test_stop_waits_for_deferred),
      cmocka_unit_test(test_deferred_headers_and_status_from_finisher),
      cmocka_unit_test(test_one_thread_finishes_many),
      cmocka_unit_test(test_handler_returns_after_its_call_finished),
      cmocka_unit_test(test_client_gone_before_finish),
      cmocka_unit_test(test_event_loop_basics),
      cmocka_unit_test(test_idle_timeout_both_models),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
