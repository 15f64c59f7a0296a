/* test_http_engine: our HTTP/1.1 engine on the wire (runtime/http_conn.c, http_loop.c):
 * keep-alive and pipelined requests, chunked bodies, 100-continue, HEAD, HTTP/1.0,
 * malformed requests answered in the JSON shape and closed, a refused body still
 * answered (lingering close), headers that would split the response dropped, an answer
 * larger than the socket's buffers written whole to a slow reader, and cut from a client
 * that stops reading (the write deadline). A raw
 * socket client, so every byte sent is the test's choice. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "http_server.h"
#include "wallet/v1/wallet_core.pb-c.h"

#define MAX_BODY 4096

static rpc_code create_transaction(http_call *call, const ProtobufCMessage *request,
                                   ProtobufCMessage *response, rpc_status *st) {
  const Wallet__V1__CreateTransactionRequest *req =
      (const Wallet__V1__CreateTransactionRequest *)request;
  Wallet__V1__Transaction *out = (Wallet__V1__Transaction *)response;
  out->account_id_from = http_call_strdup(call, req->account_id_from);
  out->amount = req->amount;
  const char *echo = http_call_header(call, "X-Echo");
  if (echo != NULL) /* a handler that puts client bytes into a response header */
    http_call_set_header(call, "X-Echoed", echo);
  if (echo != NULL && strcmp(echo, "inject") == 0) /* one that builds a bad value itself */
    http_call_set_header(call, "X-Bad", "a\r\nInjected: 1");
  return RPC_OK;
}

static void raw_hello(http_call *call, http_raw_response *out) {
  (void)call;
  out->status = 200;
  out->content_type = "text/plain";
  out->body = strdup("hello\n");
  out->len = 6;
}

#define BIG_BYTES (4u << 20) /* far more than loopback's socket buffers hold */

static void raw_big(http_call *call, http_raw_response *out) {
  (void)call;
  char *b = malloc(BIG_BYTES);
  for (size_t i = 0; b != NULL && i < BIG_BYTES; i++)
    b[i] = (char)('a' + i % 26);
  out->status = 200;
  out->content_type = "text/plain";
  out->body = b;
  out->len = b != NULL ? BIG_BYTES : 0;
}

static const http_route routes[] = {
    {"POST", "/transactions", &wallet__v1__create_transaction_request__descriptor,
     &wallet__v1__transaction__descriptor, create_transaction, 201, NULL, 0},
    {"GET", "/hello", NULL, NULL, NULL, 0, raw_hello, 0},
    {"GET", "/big", NULL, NULL, NULL, 0, raw_big, 0},
};

static int setup(void **state) {
  http_server_config cfg = {.bind_address = "127.0.0.1", .max_body_bytes = MAX_BODY,
                            .connection_timeout_s = 5, .io_threads = 2};
  char err[256] = "";
  http_server *srv = http_server_start(&cfg, routes, sizeof routes / sizeof routes[0], err,
                                        sizeof err);
  if (srv == NULL)
    fail_msg("http_server_start: %s", err);
  *state = srv;
  return 0;
}

static int teardown(void **state) {
  http_server_stop(*state);
  return 0;
}

static int dial(void **state) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct timeval tv = {.tv_sec = 5};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(http_server_port(*state))};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  return fd;
}

static void send_str(int fd, const char *s, size_t n) {
  assert_int_equal(send(fd, s, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Reads until the server closes, or until `want` answers arrived (counted by status
 * lines), or 5 s. Returns the bytes (malloc'd, NUL-terminated); *closed says whether the
 * server closed. */
static char *read_until(int fd, int want, int *closed) {
  size_t cap = 1 << 16, len = 0;
  char *buf = malloc(cap);
  assert_non_null(buf);
  *closed = 0;
  for (;;) {
    buf[len] = '\0';
    int seen = 0;
    for (const char *p = buf; (p = strstr(p, "HTTP/1.1 ")) != NULL; p++)
      seen++;
    if (want > 0 && seen >= want) {
      /* the last answer's body may still be on its way: wait for its length */
      const char *last = buf;
      for (const char *p = buf; (p = strstr(p, "HTTP/1.1 ")) != NULL; p++)
        last = p;
      const char *sep = strstr(last, "\r\n\r\n");
      const char *cl = strstr(last, "Content-Length: ");
      if (sep != NULL && strncmp(last, "HTTP/1.1 100", 12) != 0 &&
          (cl == NULL || cl > sep || strlen(sep + 4) >= strtoul(cl + 16, NULL, 10)))
        return buf;
    }
    if (len + 1 >= cap)
      return buf;
    ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      *closed = n == 0 || errno == ECONNRESET;
      return buf;
    }
    len += (size_t)n;
  }
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
    n++;
  return n;
}

static void test_pipelined_requests_answered_in_order(void **state) {
  int fd = dial(state);
  const char req[] =
      "POST /transactions HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\n{\"amount\":11}"
      "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /transactions HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n\r\n{\"amount\":22}";
  send_str(fd, req, sizeof req - 1);
  int closed;
  char *got = read_until(fd, 3, &closed);
  assert_false(closed); /* keep-alive */
  const char *a = strstr(got, "\"amount\":\"11\"");
  const char *b = strstr(got, "hello\n");
  const char *c = strstr(got, "\"amount\":\"22\"");
  assert_non_null(a);
  assert_non_null(b);
  assert_non_null(c);
  assert_true(a < b && b < c);
  assert_int_equal(count(got, "HTTP/1.1 201 Created"), 2);
  free(got);
  close(fd);
}

/* A client that sends its request and at once shuts its side (its FIN comes with the
 * request, in one wake-up): answered, then closed right away, long before the idle
 * timeout (5 s here), although the server no longer reads the socket empty after each
 * answer. */
static void test_half_closed_client_answered_then_closed(void **state) {
  for (int round = 0; round < 20; round++) {
    int fd = dial(state);
    const char *req = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    send_str(fd, req, strlen(req));
    shutdown(fd, SHUT_WR);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int closed = 0;
    char *got = read_until(fd, 0, &closed);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    assert_int_equal(count(got, "HTTP/1.1 200"), 1);
    assert_non_null(strstr(got, "hello\n"));
    assert_true(closed);
    assert_true(t1.tv_sec - t0.tv_sec < 3);
    free(got);
    close(fd);
  }
}

static void test_chunked_body(void **state) {
  int fd = dial(state);
  /* split mid-chunk across two writes, with an extension and a trailer */
  const char p1[] = "POST /transactions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5;ext=1\r\n{\"amo\r\n8\r\nunt\":33}\r\n";
  const char p2[] = "0\r\nX-Trailer: t\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
  send_str(fd, p1, sizeof p1 - 1);
  usleep(50 * 1000);
  send_str(fd, p2, sizeof p2 - 1);
  int closed;
  char *got = read_until(fd, 2, &closed);
  assert_non_null(strstr(got, "HTTP/1.1 201"));
  assert_non_null(strstr(got, "\"amount\":\"33\""));
  assert_non_null(strstr(got, "hello\n"));
  free(got);
  close(fd);
}

static void test_malformed_chunk_is_json_400_and_closed(void **state) {
  int fd = dial(state);
  const char req[] = "POST /transactions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "zz\r\n{}\r\n0\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
  send_str(fd, req, sizeof req - 1);
  int closed;
  char *got = read_until(fd, 0, &closed);
  assert_true(closed);
  assert_int_equal(count(got, "HTTP/1.1 "), 1); /* nothing after it is read as a request */
  assert_non_null(strstr(got, "HTTP/1.1 400"));
  assert_non_null(strstr(got, "Content-Type: application/json"));
  assert_non_null(strstr(got, "\"message\":\"malformed chunked body"));
  free(got);
  close(fd);
}

static void test_expect_100_continue(void **state) {
  int fd = dial(state);
  const char head[] = "POST /transactions HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                      "Content-Length: 13\r\n\r\n";
  send_str(fd, head, sizeof head - 1);
  char buf[256];
  ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
  assert_true(n > 0);
  buf[n] = '\0';
  assert_string_equal(buf, "HTTP/1.1 100 Continue\r\n\r\n");
  send_str(fd, "{\"amount\":44}", 13);
  int closed;
  char *got = read_until(fd, 1, &closed);
  assert_non_null(strstr(got, "HTTP/1.1 201"));
  assert_non_null(strstr(got, "\"amount\":\"44\""));
  free(got);
  close(fd);
}

static void test_head_has_length_but_no_body(void **state) {
  int fd = dial(state);
  const char req[] = "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
  send_str(fd, req, sizeof req - 1);
  int closed;
  char *got = read_until(fd, 2, &closed);
  /* the HEAD answer announces 6 bytes and sends none: the next status line follows it */
  const char *second = strstr(got + 1, "HTTP/1.1 200");
  assert_non_null(second);
  assert_memory_equal(second - 4, "\r\n\r\n", 4);
  assert_int_equal(count(got, "Content-Length: 6"), 2);
  assert_int_equal(count(got, "hello\n"), 1);
  free(got);
  close(fd);
}

static void test_http10_closes_unless_keep_alive(void **state) {
  int fd = dial(state);
  send_str(fd, "GET /hello HTTP/1.0\r\n\r\n", 23);
  int closed;
  char *got = read_until(fd, 0, &closed);
  assert_true(closed);
  assert_non_null(strstr(got, "Connection: close"));
  free(got);
  close(fd);

  fd = dial(state);
  const char ka[] = "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
  send_str(fd, ka, sizeof ka - 1);
  got = read_until(fd, 1, &closed);
  assert_false(closed);
  assert_non_null(strstr(got, "Connection: keep-alive"));
  free(got);
  send_str(fd, ka, sizeof ka - 1); /* and the connection serves another one */
  got = read_until(fd, 1, &closed);
  assert_non_null(strstr(got, "hello\n"));
  free(got);
  close(fd);
}

static void test_malformed_heads_get_json_and_close(void **state) {
  static const struct {
    const char *req;
    int status;
  } cases[] = {
      {"GARBAGE\r\n\r\n", 400},
      {"\x16\x03\x01\x00\xa5\x01", 400}, /* a TLS hello: refused at its first byte */
      {"GET /hello HTTP/1.1\r\nHost: x\r\nNo colon\r\n\r\n", 400},
      {"GET /hello HTTP/2.0\r\nHost: x\r\n\r\n", 505},
      {"GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400},
      {"POST /transactions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
      {"POST /transactions HTTP/1.1\r\nHost: x\r\nExpect: nothing\r\nContent-Length: 2\r\n\r\n{}",
       417},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int fd = dial(state);
    send_str(fd, cases[i].req, strlen(cases[i].req));
    int closed;
    char *got = read_until(fd, 0, &closed);
    char want[32];
    snprintf(want, sizeof want, "HTTP/1.1 %d ", cases[i].status);
    if (strncmp(got, want, strlen(want)) != 0)
      fail_msg("case %zu: want %d, got: %.80s", i, cases[i].status, got);
    assert_true(closed);
    assert_non_null(strstr(got, "Content-Type: application/json"));
    assert_non_null(strstr(got, "\"details\":[]"));
    free(got);
    close(fd);
  }
}

static void test_refused_body_answer_survives_close(void **state) {
  /* 64 KiB of body sent after a head announcing more than max_body: the 413 is sent at
   * once and must reach the client, not be destroyed by a reset over the unread bytes. */
  int fd = dial(state);
  const char head[] = "POST /transactions HTTP/1.1\r\nHost: x\r\nContent-Length: 65536\r\n\r\n";
  send_str(fd, head, sizeof head - 1);
  static char body[65536];
  memset(body, 'a', sizeof body);
  usleep(100 * 1000); /* the answer is out before the body arrives */
  send(fd, body, sizeof body, MSG_NOSIGNAL);
  int closed;
  char *got = read_until(fd, 1, &closed);
  assert_non_null(strstr(got, "HTTP/1.1 413"));
  assert_non_null(strstr(got, "request body exceeds 4096 bytes"));
  free(got);
  close(fd);
}

static void test_line_breaks_in_response_headers_dropped(void **state) {
  int fd = dial(state);
  /* obs-text is legal in a value and goes out as it came */
  const char req[] = "POST /transactions HTTP/1.1\r\nHost: x\r\nX-Echo: caf\xc3\xa9\r\n"
                     "Content-Length: 2\r\n\r\n{}";
  send_str(fd, req, sizeof req - 1);
  int closed;
  char *got = read_until(fd, 1, &closed);
  assert_non_null(strstr(got, "X-Echoed: caf\xc3\xa9\r\n"));
  free(got);
  /* a value with a line break would let its bytes become headers: dropped */
  const char bad[] = "POST /transactions HTTP/1.1\r\nHost: x\r\nX-Echo: inject\r\n"
                     "Connection: close\r\nContent-Length: 2\r\n\r\n{}";
  send_str(fd, bad, sizeof bad - 1);
  got = read_until(fd, 0, &closed);
  assert_non_null(strstr(got, "HTTP/1.1 201"));
  assert_null(strstr(got, "Injected"));
  assert_null(strstr(got, "X-Bad"));
  assert_true(closed);
  free(got);
  close(fd);
}

/* Reads the answer to GET /big; *closed_early: the server closed before its end. */
static size_t read_big(int fd, int pause_ms, int *bad_byte, int *closed_early) {
  static char buf[1 << 16];
  size_t body = 0, got = 0, head_end = 0;
  char head[512];
  *bad_byte = 0;
  *closed_early = 0;
  for (;;) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      *closed_early = 1;
      return body;
    }
    for (ssize_t i = 0; i < n; i++, got++) {
      if (head_end == 0) {
        if (got < sizeof head)
          head[got] = buf[i];
        if (got >= 3 && memcmp(head + got - 3, "\r\n\r", 3) == 0 && buf[i] == '\n')
          head_end = got + 1;
        continue;
      }
      if (buf[i] != (char)('a' + body % 26))
        *bad_byte = 1;
      body++;
    }
    if (body >= BIG_BYTES)
      return body;
    if (pause_ms > 0)
      poll(NULL, 0, pause_ms);
  }
}

static void test_large_answer_to_a_slow_reader(void **state) {
  int fd = dial(state);
  int small = 16384; /* the server's writes fill the socket and wait for room again */
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  const char req[] = "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
  send_str(fd, req, sizeof req - 1);
  int bad, closed_early;
  size_t body = read_big(fd, 1, &bad, &closed_early);
  assert_int_equal(body, BIG_BYTES);
  assert_false(bad);
  assert_false(closed_early);
  /* and the connection goes on: the next answer on it is whole too */
  const char hello[] = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
  send_str(fd, hello, sizeof hello - 1);
  int closed;
  char *got = read_until(fd, 1, &closed);
  assert_non_null(strstr(got, "\r\n\r\nhello\n"));
  free(got);
  close(fd);
}

static void test_client_that_stops_reading_is_cut(void **state) {
  int fd = dial(state);
  int small = 16384;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  const char req[] = "GET /big HTTP/1.1\r\nHost: x\r\n\r\n";
  send_str(fd, req, sizeof req - 1);
  /* Reads nothing for longer than the deadline (5 s here, cut within the reaper's tick). */
  poll(NULL, 0, 6500);
  int bad, closed_early;
  size_t body = read_big(fd, 0, &bad, &closed_early);
  assert_true(closed_early);
  assert_true(body < BIG_BYTES);
  assert_false(bad);
  close(fd);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pipelined_requests_answered_in_order),
      cmocka_unit_test(test_half_closed_client_answered_then_closed),
      cmocka_unit_test(test_chunked_body),
      cmocka_unit_test(test_malformed_chunk_is_json_400_and_closed),
      cmocka_unit_test(test_expect_100_continue),
      cmocka_unit_test(test_head_has_length_but_no_body),
      cmocka_unit_test(test_http10_closes_unless_keep_alive),
      cmocka_unit_test(test_malformed_heads_get_json_and_close),
      cmocka_unit_test(test_refused_body_answer_survives_close),
      cmocka_unit_test(test_line_breaks_in_response_headers_dropped),
      cmocka_unit_test(test_large_answer_to_a_slow_reader),
      cmocka_unit_test(test_client_that_stops_reading_is_cut),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
