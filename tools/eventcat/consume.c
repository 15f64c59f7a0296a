/* consume: assigns partitions (or joins a group), polls, prints, and knows when to stop. */
#include "consume.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decode.h"
#include "envelope.h"
#include "event_headers.h"
#include "kafka_conf.h"
#include "kafka_consumer.h"
#include "log.h"
#include "timeutil.h"

#define CONSUME_POLL_MS 200        /* how long a stop request can go unnoticed */
#define CONSUME_COMMIT_EVERY_MS 1000
#define CONSUME_GROUP_JOIN_MS 30000 /* -e -G: a group that never gets partitions is an error */

typedef struct part_state {
  char *topic;
  int32_t partition;
  bool eof; /* reached the end and nothing arrived since */
} part_state;

typedef struct consume_ctx {
  const eventcat_opts *o;
  const format_spec *fmt;
  FILE *out;
  volatile sig_atomic_t *stop;
  rd_kafka_t *rk;        /* assign mode: ours; group mode: borrowed from group */
  kafka_consumer *group; /* group mode only */
  part_state *parts;
  size_t nparts, capparts;
  int64_t printed;
  int64_t down_since_ms; /* monotonic ms all brokers went down, 0 while some is up */
  bool fatal;
  char fatal_reason[256];
} consume_ctx;

/* ---- partition end tracking (-e) ---- */

static part_state *part_get(consume_ctx *c, const char *topic, int32_t partition) {
  for (size_t i = 0; i < c->nparts; i++) {
    if (c->parts[i].partition == partition && strcmp(c->parts[i].topic, topic) == 0)
      return &c->parts[i];
  }
  if (c->nparts == c->capparts) {
    size_t cap = c->capparts ? 2 * c->capparts : 16;
    part_state *np = realloc(c->parts, cap * sizeof *np);
    if (np == NULL) return NULL;
    c->parts = np;
    c->capparts = cap;
  }
  char *t = strdup(topic);
  if (t == NULL) return NULL;
  c->parts[c->nparts] = (part_state){.topic = t, .partition = partition, .eof = false};
  return &c->parts[c->nparts++];
}

/* True when every partition assigned right now has reported its end. Asking librdkafka
 * for the assignment (rather than remembering it) covers group rebalances too. */
static bool all_at_end(consume_ctx *c) {
  rd_kafka_topic_partition_list_t *a = NULL;
  if (rd_kafka_assignment(c->rk, &a) != RD_KAFKA_RESP_ERR_NO_ERROR || a == NULL) return false;
  bool done = a->cnt > 0;
  for (int i = 0; done && i < a->cnt; i++) {
    part_state *p = part_get(c, a->elems[i].topic, a->elems[i].partition);
    done = p != NULL && p->eof;
  }
  rd_kafka_topic_partition_list_destroy(a);
  return done;
}

/* ---- output ---- */

/* 0 printed, 1 the reader went away (stop quietly), -1 write error or out of memory. */
static int emit(consume_ctx *c, const rd_kafka_message_t *m) {
  decode_result r;
  decode_record(m, c->o->force_type, c->o->emit_defaults, &r);
  int rc = 0;
  errno = 0;
  if (c->fmt != NULL) {
    rc = format_render(c->fmt, m, &r, c->out);
  } else {
    cJSON *env = envelope_build(m, &r);
    char *s = env ? cJSON_PrintUnformatted(env) : NULL;
    cJSON_Delete(env);
    if (s == NULL) {
      errno = ENOMEM;
      rc = -1;
    } else {
      size_t n = strlen(s);
      /* One write per line: the newline goes with the object. */
      rc = fwrite(s, 1, n, c->out) == n && fputc('\n', c->out) != EOF ? 0 : -1;
      free(s);
    }
  }
  decode_result_clear(&r);
  /* Flush per record so "eventcat | jq" shows records as they come. */
  if (rc == 0 && fflush(c->out) != 0) rc = -1;
  if (rc != 0 && errno == EPIPE) return 1;
  return rc;
}

/* ---- errors from librdkafka ---- */

static void consume_note_error(consume_ctx *c, rd_kafka_resp_err_t err, const char *reason) {
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    if (c->down_since_ms == 0) c->down_since_ms = time_mono_ms();
  } else if (err == RD_KAFKA_RESP_ERR__FATAL) {
    c->fatal = true;
    snprintf(c->fatal_reason, sizeof c->fatal_reason, "%s", reason);
  }
}

/* Served on our thread from rd_kafka_consumer_poll (assign mode only: the group
 * consumer routes its errors to log.h itself). */
static void consume_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
  consume_ctx *c = opaque;
  log_warn("kafka: %s: %s", rd_kafka_err2name(err), reason);
  consume_note_error(c, err, reason);
}

/* Errors that no amount of waiting fixes: with -e they end the run. */
static bool err_is_permanent(rd_kafka_resp_err_t e) {
  return e == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || e == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
         e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
         e == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED ||
         e == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED ||
         e == RD_KAFKA_RESP_ERR__AUTHENTICATION || e == RD_KAFKA_RESP_ERR__FATAL;
}

/* ---- assign mode: metadata, watermarks, assign() ---- */

static bool partition_wanted(const eventcat_opts *o, int32_t p) {
  if (o->npartitions == 0) return true;
  for (size_t i = 0; i < o->npartitions; i++) {
    if (o->partitions[i] == p) return true;
  }
  return false;
}

/* Adds the wanted partitions of one topic to list with their start offsets. Returns 0,
 * -1 on a permanent error, -2 on one worth retrying (err filled either way). */
static int add_topic(consume_ctx *c, const char *topic, int timeout_ms,
                     rd_kafka_topic_partition_list_t *list, bool *seen, char *err,
                     size_t errlen) {
  const eventcat_opts *o = c->o;
  const struct rd_kafka_metadata *md = NULL;
  int rc = -2;
  rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->rk, topic, NULL);
  if (rkt == NULL) {
    snprintf(err, errlen, "topic %s: %s", topic, rd_kafka_err2str(rd_kafka_last_error()));
    return -1;
  }
  rd_kafka_resp_err_t e = rd_kafka_metadata(c->rk, 0, rkt, &md, timeout_ms);
  rd_kafka_topic_destroy(rkt);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    snprintf(err, errlen, "metadata for topic %s from %s: %s", topic, o->brokers,
             rd_kafka_err2str(e));
    goto out;
  }
  if (md->topic_cnt != 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    e = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    snprintf(err, errlen, "topic %s: %s", topic, rd_kafka_err2str(e));
    if (err_is_permanent(e)) rc = -1;
    goto out;
  }
  const rd_kafka_metadata_topic_t *mt = &md->topics[0];
  for (int i = 0; i < mt->partition_cnt; i++) {
    int32_t p = mt->partitions[i].id;
    if (!partition_wanted(o, p)) continue;
    for (size_t k = 0; k < o->npartitions; k++) {
      if (o->partitions[k] == p) seen[k] = true;
    }
    int64_t start = RD_KAFKA_OFFSET_BEGINNING;
    switch (o->offset_mode) {
    case EVENTCAT_OFFSET_BEGINNING:
      start = RD_KAFKA_OFFSET_BEGINNING;
      break;
    case EVENTCAT_OFFSET_END:
      start = RD_KAFKA_OFFSET_END;
      break;
    case EVENTCAT_OFFSET_ABSOLUTE:
      start = o->offset;
      break;
    case EVENTCAT_OFFSET_TAIL: {
      /* The last N: from high - N, but not before the oldest record still kept. */
      int64_t lo = 0, hi = 0;
      e = rd_kafka_query_watermark_offsets(c->rk, topic, p, &lo, &hi, timeout_ms);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "watermarks of %s [%" PRId32 "]: %s", topic, p,
                 rd_kafka_err2str(e));
        goto out;
      }
      start = hi - o->offset < lo ? lo : hi - o->offset;
      break;
    }
    }
    rd_kafka_topic_partition_list_add(list, topic, p)->offset = start;
  }
  rc = 0;
out:
  if (md != NULL) rd_kafka_metadata_destroy(md);
  return rc;
}

/* Builds the assignment, retrying transient failures (a broker still starting, a topic
 * the services have not created yet): with -e until the metadata timeout, without -e
 * until stopped, since a live watcher may well be started before the system. */
static int assign_partitions(consume_ctx *c, char *err, size_t errlen) {
  const eventcat_opts *o = c->o;
  int64_t deadline = time_mono_ms() + o->metadata_timeout_ms;
  bool warned = false;
  for (;;) {
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(16);
    bool seen[EVENTCAT_MAX_PARTITIONS] = {0};
    int rc = 0;
    for (size_t t = 0; rc == 0 && t < o->ntopics; t++) {
      int64_t left = deadline - time_mono_ms();
      int tmo = o->exit_at_end ? (int)(left > 100 ? left : 100) : o->metadata_timeout_ms;
      rc = add_topic(c, o->topics[t], tmo, list, seen, err, errlen);
    }
    for (size_t k = 0; rc == 0 && k < o->npartitions; k++) {
      if (!seen[k]) {
        snprintf(err, errlen, "-p %" PRId32 ": no such partition in the given topics",
                 o->partitions[k]);
        rc = -1;
      }
    }
    if (rc == 0) {
      rd_kafka_resp_err_t e = rd_kafka_assign(c->rk, list);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, errlen, "assign: %s", rd_kafka_err2str(e));
        rc = -1;
      } else {
        log_info("assigned %d partition(s) of %zu topic(s)", list->cnt, o->ntopics);
      }
    }
    rd_kafka_topic_partition_list_destroy(list);
    if (rc == 0 || rc == -1) return rc;
    if (o->exit_at_end && time_mono_ms() >= deadline) return -1;
    if (!o->exit_at_end && !warned) {
      log_warn("%s; waiting for it (Ctrl-C to give up)", err);
      warned = true;
    }
    /* Waiting by polling serves librdkafka's error callbacks, so the reason shows now.
     * Nothing is assigned yet, so no record can come out of it. */
    for (int i = 0; i < 10 && !*c->stop; i++) {
      rd_kafka_message_t *m = rd_kafka_consumer_poll(c->rk, 100);
      if (m != NULL) rd_kafka_message_destroy(m);
    }
    if (*c->stop) return 0;
  }
}

static int open_assign_mode(consume_ctx *c, char *err, size_t errlen) {
  const eventcat_opts *o = c->o;
  /* librdkafka 2.0 refuses assign() without a group.id ("Unknown group"), though assign
   * never joins the group: a throwaway id with commits off, so nothing is ever stored
   * under it. Partition EOF events are how -e knows each partition is done. */
  char group_id[64];
  snprintf(group_id, sizeof group_id, "eventcat-assign-%ld", (long)getpid());
  const char *const defaults[] = {
      "client.id", "eventcat", "group.id", group_id, "enable.partition.eof", "true",
      "enable.auto.commit", "false", "enable.auto.offset.store", "false", NULL,
  };
  rd_kafka_conf_t *conf = kafka_conf_new(o->brokers, defaults, o->xconf, err, errlen);
  if (conf == NULL) return -1;
  rd_kafka_conf_set_error_cb(conf, consume_error_cb);
  rd_kafka_conf_set_opaque(conf, c);
  char why[512];
  c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why);
  if (c->rk == NULL) {
    rd_kafka_conf_destroy(conf);
    snprintf(err, errlen, "kafka consumer: %s", why);
    return -1;
  }
  conf = NULL; /* rd_kafka_new took it */
  rd_kafka_poll_set_consumer(c->rk);
  return assign_partitions(c, err, errlen);
}

static int open_group_mode(consume_ctx *c, char *err, size_t errlen) {
  const eventcat_opts *o = c->o;
  /* Ours first, then the user's -X, so -X still wins. */
  const char *extra[8 + 2 * EVENTCAT_MAX_XCONF + 1];
  size_t n = 0;
  extra[n++] = "client.id";
  extra[n++] = "eventcat";
  extra[n++] = "enable.partition.eof";
  extra[n++] = "true";
  extra[n++] = "auto.offset.reset";
  extra[n++] = o->offset_mode == EVENTCAT_OFFSET_END ? "latest" : "earliest";
  for (size_t i = 0; i < 2 * o->nxconf; i++) extra[n++] = o->xconf[i];
  extra[n] = NULL;
  c->group = kafka_consumer_new(o->brokers, o->group, o->topics, o->ntopics, extra, err,
                                errlen);
  if (c->group == NULL) return -1;
  c->rk = kafka_consumer_handle(c->group);
  log_info("joining group %s for %zu topic(s)", o->group, o->ntopics);
  return 0;
}

/* ---- the loop ---- */

static void commit_stored(consume_ctx *c) {
  char why[256];
  if (c->group != NULL && kafka_consumer_commit(c->group, why, sizeof why) != 0)
    log_warn("commit: %s", why);
}

/* --decode TYPE with -t: 1 (err filled) when m's ce_type header names another type. A
 * record without ce_type is taken as TYPE, as --type would. */
static int refuse_other_type(const char *want, const rd_kafka_message_t *m, char *err,
                             size_t errlen) {
  rd_kafka_headers_t *hdrs = NULL;
  if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return 0;
  char type[DECODE_TYPE_MAX];
  if (event_headers_get(hdrs, "ce_type", type, sizeof type) != 0 || type[0] == '\0' ||
      strcmp(type, want) == 0)
    return 0;
  snprintf(err, errlen,
           "%s [%" PRId32 "] offset %" PRId64 " is a %s (ce_type), not a %s: --decode "
           "does not read it as one (pick its offset with -o, or drop --decode)",
           rd_kafka_topic_name(m->rkt), m->partition, m->offset, type, want);
  return 1;
}

/* 0 go on, 1 done, -1 error (err filled). Takes m. */
static int handle(consume_ctx *c, rd_kafka_message_t *m, char *err, size_t errlen) {
  const eventcat_opts *o = c->o;
  int rc = 0;
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    c->down_since_ms = 0; /* a fetch answered: some broker is up */
    part_state *p = part_get(c, rd_kafka_topic_name(m->rkt), m->partition);
    if (p != NULL) p->eof = true;
    /* A live watcher reaches the end after every record: only -e makes it news. */
    log_msg(o->exit_at_end ? LOG_INFO : LOG_DEBUG, "%s [%" PRId32 "] at end, offset %" PRId64,
            rd_kafka_topic_name(m->rkt), m->partition, m->offset);
    if (o->exit_at_end && all_at_end(c)) rc = 1;
  } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char *topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "-";
    char reason[256];
    snprintf(reason, sizeof reason, "%s", rd_kafka_message_errstr(m));
    consume_note_error(c, m->err, reason);
    if (o->exit_at_end && err_is_permanent(m->err)) {
      snprintf(err, errlen, "%s [%" PRId32 "]: %s", topic, m->partition, reason);
      rc = -1;
    } else {
      log_warn("%s [%" PRId32 "]: %s", topic, m->partition, reason);
    }
  } else {
    c->down_since_ms = 0;
    part_state *p = part_get(c, rd_kafka_topic_name(m->rkt), m->partition);
    if (p != NULL) p->eof = false;
    if (o->expect_type != NULL && refuse_other_type(o->expect_type, m, err, errlen)) {
      rd_kafka_message_destroy(m);
      return -1;
    }
    int w = emit(c, m);
    if (w < 0) {
      snprintf(err, errlen, "writing output: %s", strerror(errno));
      rc = -1;
    } else if (w > 0) {
      rc = 1;
    } else {
      c->printed++;
      if (c->group != NULL) kafka_consumer_store(c->group, m);
      if (o->max_count > 0 && c->printed >= o->max_count) rc = 1;
    }
  }
  rd_kafka_message_destroy(m);
  return rc;
}

static int loop(consume_ctx *c, char *err, size_t errlen) {
  const eventcat_opts *o = c->o;
  int64_t started = time_mono_ms();
  int64_t last_commit = started;
  while (!*c->stop) {
    rd_kafka_message_t *m = c->group ? kafka_consumer_poll(c->group, CONSUME_POLL_MS)
                                     : rd_kafka_consumer_poll(c->rk, CONSUME_POLL_MS);
    if (m != NULL) {
      int rc = handle(c, m, err, errlen);
      if (rc != 0) return rc < 0 ? -1 : 0;
    }
    int64_t now = time_mono_ms();
    if (c->fatal) {
      snprintf(err, errlen, "fatal consumer error: %s", c->fatal_reason);
      return -1;
    }
    /* Batch mode must end: a broker that stays down for the metadata timeout fails it. */
    if (o->exit_at_end && c->down_since_ms != 0 &&
        now - c->down_since_ms >= o->metadata_timeout_ms) {
      snprintf(err, errlen, "all brokers down for %d s (%s)", o->metadata_timeout_ms / 1000,
               o->brokers);
      return -1;
    }
    if (c->group != NULL) {
      if (o->exit_at_end && !kafka_consumer_assigned(c->group) && c->printed == 0 &&
          now - started >= CONSUME_GROUP_JOIN_MS + o->metadata_timeout_ms) {
        snprintf(err, errlen, "group %s got no partitions within %d s", o->group,
                 (CONSUME_GROUP_JOIN_MS + o->metadata_timeout_ms) / 1000);
        return -1;
      }
      if (now - last_commit >= CONSUME_COMMIT_EVERY_MS) {
        commit_stored(c);
        last_commit = now;
      }
    }
  }
  return 0;
}

int consume_run(const eventcat_opts *o, const format_spec *fmt, FILE *out,
                volatile sig_atomic_t *stop, char *err, size_t errlen) {
  consume_ctx c = {.o = o, .fmt = fmt, .out = out, .stop = stop};
  int rc = o->group ? open_group_mode(&c, err, errlen) : open_assign_mode(&c, err, errlen);
  if (rc == 0) rc = loop(&c, err, errlen);
  if (rc == 0)
    log_info("%" PRId64 " record(s) printed%s", c.printed, *stop ? " (interrupted)" : "");
  if (c.group != NULL) {
    commit_stored(&c);
    kafka_consumer_close(c.group); /* leaves the group and frees c.rk with it */
  } else if (c.rk != NULL) {
    rd_kafka_consumer_close(c.rk);
    rd_kafka_destroy(c.rk);
  }
  for (size_t i = 0; i < c.nparts; i++) free(c.parts[i].topic);
  free(c.parts);
  return rc;
}
