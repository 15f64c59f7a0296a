/* options: eventcat's command line, parsed once into one configuration struct. */
#ifndef EVENTCAT_OPTIONS_H
#define EVENTCAT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define EVENTCAT_MAX_TOPICS 64
#define EVENTCAT_MAX_PARTITIONS 256
#define EVENTCAT_MAX_XCONF 64 /* -X pairs */
#define EVENTCAT_ERR_MAX 512

typedef enum eventcat_offset_mode {
  EVENTCAT_OFFSET_BEGINNING, /* -o beginning (the default, as in kcat) */
  EVENTCAT_OFFSET_END,       /* -o end: only records produced from now on */
  EVENTCAT_OFFSET_ABSOLUTE,  /* -o 42 */
  EVENTCAT_OFFSET_TAIL,      /* -o -N: the last N records of each partition */
} eventcat_offset_mode;

typedef enum eventcat_mode {
  EVENTCAT_MODE_CONSUME,    /* the default */
  EVENTCAT_MODE_DECODE,     /* --decode TYPE: stdin bytes -> JSON */
  EVENTCAT_MODE_LIST_TYPES, /* --list-types */
  EVENTCAT_MODE_HELP,       /* --help / -h */
  EVENTCAT_MODE_VERSION,    /* -V / --version */
} eventcat_mode;

typedef struct eventcat_opts {
  eventcat_mode mode;
  const char *brokers; /* -b, else $KAFKA_BROKERS, else 127.0.0.1:9092 */
  const char *topics[EVENTCAT_MAX_TOPICS];
  size_t ntopics;
  eventcat_offset_mode offset_mode;
  int64_t offset; /* ABSOLUTE: the offset; TAIL: N (> 0) */
  bool exit_at_end;  /* -e */
  int64_t max_count; /* -c N; -1 = unlimited */
  int32_t partitions[EVENTCAT_MAX_PARTITIONS]; /* -p filter; empty = all */
  size_t npartitions;
  const char *group;  /* -G; NULL = assign mode, no group, no commits */
  const char *format; /* -f / --format: a format string; NULL = one JSON envelope per line */
  const char *xconf[2 * EVENTCAT_MAX_XCONF + 1]; /* -X key, value pairs, NULL-terminated */
  size_t nxconf; /* pairs */
  const char *force_type;  /* --type */
  const char *decode_type; /* --decode */
  /* --decode TYPE with -t: every record is decoded as TYPE, and one whose ce_type header
   * names another type stops the run (exit 1) instead of landing in the wrong fields. */
  const char *expect_type;
  int metadata_timeout_ms; /* -m SECONDS */
  bool quiet;              /* -q */
  bool emit_defaults;      /* false with --no-defaults */
} eventcat_opts;

/* The compact format -f selects (see format.h for the tokens). */
#define EVENTCAT_COMPACT_FORMAT "%t/%p@%o %y %v\\n"

/* Parses argv into *o. Strings in *o point into argv or the environment (no copies).
 * Returns 0, or -1 with err filled with a one-line reason (a usage error: exit 2).
 * Uses getopt_long, so it resets optind first and may be called more than once. */
int eventcat_opts_parse(int argc, char **argv, eventcat_opts *o, char *err, size_t errlen);

/* Writes the --help text, with examples. */
void eventcat_usage(FILE *out);

#endif
