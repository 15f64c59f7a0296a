/* eventcat: a Kafka console consumer that prints our protobuf events as JSON (kcat-style).
 * Reading order: options (the command line), consume (the loop), decode (which type,
 * protobuf to JSON), envelope (the JSON line), format (the -f line language). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "consume.h"
#include "decode.h"
#include "format.h"
#include "log.h"
#include "options.h"
#include "pbjson.h"
#include "pbtypes.h"

#define EVENTCAT_VERSION "0.1.0"

static volatile sig_atomic_t eventcat_stop;

static void on_signal(int sig) {
  (void)sig;
  eventcat_stop = 1;
}

/* Reads all of f, up to max bytes. Returns a new buffer (caller frees; never NULL on
 * success, even for empty input) or NULL with err filled. */
static uint8_t *read_all(FILE *f, size_t max, size_t *len, char *err, size_t errlen) {
  size_t cap = 4096, n = 0;
  uint8_t *buf = malloc(cap);
  if (buf == NULL) goto oom;
  for (;;) {
    if (n == cap) {
      if (cap > max) break;
      uint8_t *nb = realloc(buf, cap * 2);
      if (nb == NULL) goto oom;
      buf = nb;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  if (ferror(f)) {
    snprintf(err, errlen, "reading stdin: %s", strerror(errno));
    free(buf);
    return NULL;
  }
  if (n > max) {
    snprintf(err, errlen, "input is over the %zu-byte limit", max);
    free(buf);
    return NULL;
  }
  *len = n;
  return buf;
oom:
  free(buf);
  snprintf(err, errlen, "out of memory");
  return NULL;
}

/* --decode: exactly what the HTTP gateway would print for the message (pbjson_print),
 * so the two can be compared byte for byte. */
static int run_decode(const eventcat_opts *o) {
  const ProtobufCMessageDescriptor *desc = pbtypes_find(o->decode_type);
  if (desc == NULL) {
    fprintf(stderr, "eventcat: unknown type %s (see --list-types)\n", o->decode_type);
    return 2;
  }
  char err[EVENTCAT_ERR_MAX];
  size_t len = 0;
  uint8_t *data = read_all(stdin, DECODE_MAX_VALUE, &len, err, sizeof err);
  if (data == NULL) {
    fprintf(stderr, "eventcat: %s\n", err);
    return 1;
  }
  int rc = 1;
  char *json = NULL;
  ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, len, data);
  if (msg == NULL) {
    fprintf(stderr, "eventcat: not a valid %s (%zu bytes): protobuf unpack failed\n",
            desc->name, len);
    goto out;
  }
  char perr[PBJSON_ERR_MAX] = "";
  json = pbjson_print(msg, o->emit_defaults ? PBJSON_EMIT_DEFAULTS : 0, perr, sizeof perr);
  if (json == NULL) {
    fprintf(stderr, "eventcat: %s: %s\n", desc->name, perr);
    goto out;
  }
  if (msg->n_unknown_fields > 0 && !o->quiet)
    fprintf(stderr, "eventcat: note: %u field(s) unknown to %s were skipped\n",
            msg->n_unknown_fields, desc->name);
  if (printf("%s\n", json) < 0 || fflush(stdout) != 0) {
    fprintf(stderr, "eventcat: writing output: %s\n", strerror(errno));
    goto out;
  }
  rc = 0;
out:
  free(json);
  if (msg != NULL) protobuf_c_message_free_unpacked(msg, NULL);
  free(data);
  return rc;
}

static int run_list_types(void) {
  size_t n = 0;
  const ProtobufCMessageDescriptor *const *all = pbtypes_all(&n);
  for (size_t i = 0; i < n; i++) printf("%s\n", all[i]->name);
  return fflush(stdout) == 0 ? 0 : 1;
}

static int run_consume(const eventcat_opts *o) {
  char err[EVENTCAT_ERR_MAX] = "";
  format_spec *fmt = NULL;
  if (o->format != NULL && (fmt = format_parse(o->format, err, sizeof err)) == NULL) {
    fprintf(stderr, "eventcat: %s\n", err);
    return 2;
  }
  if (o->force_type != NULL && pbtypes_find(o->force_type) == NULL) {
    fprintf(stderr, "eventcat: --type %s: unknown type (see --list-types)\n", o->force_type);
    format_free(fmt);
    return 2;
  }
  /* The handler only flips a flag; the loop polls every 200 ms and closes in order. */
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  /* A closed pipe ("| head") shows up as EPIPE on write, which ends the run cleanly. */
  signal(SIGPIPE, SIG_IGN);

  int rc = consume_run(o, fmt, stdout, &eventcat_stop, err, sizeof err) == 0 ? 0 : 1;
  if (rc != 0) log_error("%s", err);
  format_free(fmt);
  return rc;
}

int main(int argc, char **argv) {
  eventcat_opts o;
  char err[EVENTCAT_ERR_MAX] = "";
  if (eventcat_opts_parse(argc, argv, &o, err, sizeof err) != 0) {
    fprintf(stderr, "eventcat: %s\nTry 'eventcat --help' for more information.\n", err);
    return 2;
  }
  /* -q keeps stderr to errors, librdkafka's own log lines included. */
  if (o.quiet) setenv("LOG_LEVEL", "error", 1);
  log_init("eventcat");

  switch (o.mode) {
  case EVENTCAT_MODE_HELP:
    eventcat_usage(stdout);
    return 0;
  case EVENTCAT_MODE_VERSION:
    printf("eventcat %s (librdkafka %s)\n", EVENTCAT_VERSION, rd_kafka_version_str());
    return 0;
  case EVENTCAT_MODE_LIST_TYPES:
    return run_list_types();
  case EVENTCAT_MODE_DECODE:
    return run_decode(&o);
  case EVENTCAT_MODE_CONSUME:
    break;
  }
  return run_consume(&o);
}
