/* options: eventcat's command line (kcat's letters where kcat has one) and its --help. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum {
  OPT_TYPE = 0x100,
  OPT_DECODE,
  OPT_LIST_TYPES,
  OPT_FORMAT,
  OPT_NO_DEFAULTS,
};

static const struct option eventcat_long_opts[] = {
    {"type", required_argument, NULL, OPT_TYPE},
    {"decode", required_argument, NULL, OPT_DECODE},
    {"list-types", no_argument, NULL, OPT_LIST_TYPES},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"no-defaults", no_argument, NULL, OPT_NO_DEFAULTS},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* A whole-string decimal int64 in [min, max]; strtoll alone accepts "12x" and " 12". */
static int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out) {
  if (s == NULL || *s == '\0' || (*s != '-' && (*s < '0' || *s > '9'))) return -1;
  errno = 0;
  char *end = NULL;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max) return -1;
  *out = v;
  return 0;
}

static int parse_offset(const char *s, eventcat_opts *o) {
  int64_t v;
  if (strcmp(s, "beginning") == 0 || strcmp(s, "earliest") == 0) {
    o->offset_mode = EVENTCAT_OFFSET_BEGINNING;
  } else if (strcmp(s, "end") == 0 || strcmp(s, "latest") == 0) {
    o->offset_mode = EVENTCAT_OFFSET_END;
  } else if (parse_i64(s, INT64_MIN + 1, INT64_MAX, &v) == 0) {
    if (v < 0) {
      o->offset_mode = EVENTCAT_OFFSET_TAIL;
      o->offset = -v;
    } else {
      o->offset_mode = EVENTCAT_OFFSET_ABSOLUTE;
      o->offset = v;
    }
  } else {
    return -1;
  }
  return 0;
}

/* -p takes one partition or a comma list ("0,2"), and may repeat. */
static int parse_partitions(const char *s, eventcat_opts *o, char *err, size_t errlen) {
  char buf[256];
  if (strlen(s) >= sizeof buf) {
    snprintf(err, errlen, "-p %s: list too long", s);
    return -1;
  }
  strcpy(buf, s);
  char *save = NULL;
  for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    int64_t v;
    if (parse_i64(tok, 0, INT32_MAX, &v) != 0) {
      snprintf(err, errlen, "-p %s: not a partition number", tok);
      return -1;
    }
    if (o->npartitions == EVENTCAT_MAX_PARTITIONS) {
      snprintf(err, errlen, "-p: more than %d partitions", EVENTCAT_MAX_PARTITIONS);
      return -1;
    }
    o->partitions[o->npartitions++] = (int32_t)v;
  }
  if (o->npartitions == 0) {
    snprintf(err, errlen, "-p %s: no partition given", s);
    return -1;
  }
  return 0;
}

/* "-X key=value": the key and value stay in argv, split by overwriting the '='. */
static int parse_xconf(char *s, eventcat_opts *o, char *err, size_t errlen) {
  char *eq = strchr(s, '=');
  if (eq == NULL || eq == s) {
    snprintf(err, errlen, "-X %s: expected key=value", s);
    return -1;
  }
  if (o->nxconf == EVENTCAT_MAX_XCONF) {
    snprintf(err, errlen, "-X: more than %d settings", EVENTCAT_MAX_XCONF);
    return -1;
  }
  *eq = '\0';
  o->xconf[2 * o->nxconf] = s;
  o->xconf[2 * o->nxconf + 1] = eq + 1;
  o->nxconf++;
  o->xconf[2 * o->nxconf] = NULL;
  return 0;
}

static void opts_defaults(eventcat_opts *o) {
  memset(o, 0, sizeof *o);
  o->mode = EVENTCAT_MODE_CONSUME;
  const char *env = getenv("KAFKA_BROKERS");
  o->brokers = env && *env ? env : "127.0.0.1:9092";
  o->offset_mode = EVENTCAT_OFFSET_BEGINNING;
  o->max_count = -1;
  o->metadata_timeout_ms = 10000;
  o->emit_defaults = true;
}

/* Combinations that parse one by one but make no sense together. */
static int opts_check(eventcat_opts *o, char *err, size_t errlen) {
  if (o->mode == EVENTCAT_MODE_DECODE && o->ntopics > 0) {
    /* --decode TYPE -t TOPIC: consume, with TYPE checked against each record's ce_type */
    if (o->force_type != NULL && strcmp(o->force_type, o->decode_type) != 0) {
      snprintf(err, errlen, "--decode %s and --type %s contradict each other", o->decode_type,
               o->force_type);
      return -1;
    }
    o->mode = EVENTCAT_MODE_CONSUME;
    o->force_type = o->expect_type = o->decode_type;
  }
  if (o->mode != EVENTCAT_MODE_CONSUME) return 0;
  if (o->ntopics == 0) {
    snprintf(err, errlen, "no topic given: use -t TOPIC (or --decode TYPE, --list-types)");
    return -1;
  }
  if (o->group != NULL) {
    if (o->npartitions > 0) {
      snprintf(err, errlen, "-p cannot be used with -G: the group assigns partitions");
      return -1;
    }
    if (o->offset_mode == EVENTCAT_OFFSET_ABSOLUTE || o->offset_mode == EVENTCAT_OFFSET_TAIL) {
      snprintf(err, errlen,
               "-o with -G takes only beginning or end (where a new group starts); "
               "use assign mode (no -G) for an offset or -N");
      return -1;
    }
  }
  return 0;
}

int eventcat_opts_parse(int argc, char **argv, eventcat_opts *o, char *err, size_t errlen) {
  opts_defaults(o);
  optind = 0; /* glibc: 0 also resets getopt's internal state */
  opterr = 0; /* we word the errors ourselves, on one line */
  bool mode_set = false;
  int c;
  while ((c = getopt_long(argc, argv, ":b:t:o:ec:p:G:fX:m:qhV", eventcat_long_opts, NULL)) !=
         -1) {
    int64_t v;
    switch (c) {
    case 'b':
      o->brokers = optarg;
      break;
    case 't':
      if (o->ntopics == EVENTCAT_MAX_TOPICS) {
        snprintf(err, errlen, "-t: more than %d topics", EVENTCAT_MAX_TOPICS);
        return -1;
      }
      if (*optarg == '\0') {
        snprintf(err, errlen, "-t: empty topic name");
        return -1;
      }
      o->topics[o->ntopics++] = optarg;
      break;
    case 'o':
      if (parse_offset(optarg, o) != 0) {
        snprintf(err, errlen, "-o %s: expected beginning, end, an offset or -N", optarg);
        return -1;
      }
      break;
    case 'e':
      o->exit_at_end = true;
      break;
    case 'c':
      if (parse_i64(optarg, 1, INT64_MAX, &v) != 0) {
        snprintf(err, errlen, "-c %s: expected a count >= 1", optarg);
        return -1;
      }
      o->max_count = v;
      break;
    case 'p':
      if (parse_partitions(optarg, o, err, errlen) != 0) return -1;
      break;
    case 'G':
      if (*optarg == '\0') {
        snprintf(err, errlen, "-G: empty group id");
        return -1;
      }
      o->group = optarg;
      break;
    case 'f':
      o->format = EVENTCAT_COMPACT_FORMAT;
      break;
    case OPT_FORMAT:
      o->format = optarg;
      break;
    case 'X':
      if (parse_xconf(optarg, o, err, errlen) != 0) return -1;
      break;
    case 'm':
      if (parse_i64(optarg, 1, 3600, &v) != 0) {
        snprintf(err, errlen, "-m %s: expected seconds in 1..3600", optarg);
        return -1;
      }
      o->metadata_timeout_ms = (int)v * 1000;
      break;
    case 'q':
      o->quiet = true;
      break;
    case OPT_NO_DEFAULTS:
      o->emit_defaults = false;
      break;
    case OPT_TYPE:
      o->force_type = optarg;
      break;
    case OPT_DECODE:
    case OPT_LIST_TYPES:
    case 'h':
    case 'V': {
      eventcat_mode m = c == OPT_DECODE       ? EVENTCAT_MODE_DECODE
                        : c == OPT_LIST_TYPES ? EVENTCAT_MODE_LIST_TYPES
                        : c == 'h'            ? EVENTCAT_MODE_HELP
                                              : EVENTCAT_MODE_VERSION;
      /* --help wins over everything, so "eventcat --decode X --help" still helps. */
      if (mode_set && o->mode != m && m != EVENTCAT_MODE_HELP &&
          o->mode != EVENTCAT_MODE_HELP) {
        snprintf(err, errlen, "--decode, --list-types and --version exclude each other");
        return -1;
      }
      if (o->mode != EVENTCAT_MODE_HELP) o->mode = m;
      if (c == OPT_DECODE) o->decode_type = optarg;
      mode_set = true;
      break;
    }
    case ':':
      if (optopt >= 0x100 || optopt == 0)
        snprintf(err, errlen, "%s needs an argument", argv[optind - 1]);
      else
        snprintf(err, errlen, "-%c needs an argument", optopt);
      return -1;
    default:
      if (optopt != 0 && optopt < 0x100)
        snprintf(err, errlen, "unknown option -%c", optopt);
      else
        snprintf(err, errlen, "unknown option %s", argv[optind - 1]);
      return -1;
    }
  }
  if (optind < argc) {
    /* kcat users type "-f '%t %s'": ours is --format, say so instead of a bare error. */
    if (strchr(argv[optind], '%') != NULL)
      snprintf(err, errlen, "unexpected argument \"%s\" (a format string goes after --format)",
               argv[optind]);
    else
      snprintf(err, errlen, "unexpected argument \"%s\"", argv[optind]);
    return -1;
  }
  return opts_check(o, err, errlen);
}

void eventcat_usage(FILE *out) {
  fputs(
      "Usage: eventcat [options] -t TOPIC [-t TOPIC ...]\n"
      "       eventcat --decode TYPE < value.bin\n"
      "       eventcat --decode TYPE [options] -t TOPIC\n"
      "       eventcat --list-types\n"
      "\n"
      "Consumes Kafka topics and prints each record as one JSON object per line, its\n"
      "protobuf value decoded with the proto3 JSON mapping (the services' gateway code).\n"
      "The value's type comes from --type, else the record's ce_type header, else the\n"
      "topic's default (transactions: wallet.v1.TransactionCreated, balances:\n"
      "wallet.v1.BalanceUpdated). A record that does not decode still prints, with\n"
      "\"value\": null, \"error\" and \"value_b64\"; the stream goes on.\n"
      "\n"
      "Options:\n"
      "  -b BROKERS      bootstrap brokers (default $KAFKA_BROKERS, else 127.0.0.1:9092)\n"
      "  -t TOPIC        topic to consume; repeat for several\n"
      "  -o OFFSET       where to start: beginning (default, as kcat) | end | N (an\n"
      "                  absolute offset) | -N (the last N records of each partition)\n"
      "  -e              exit once every partition has reached its end\n"
      "  -c N            exit after N records\n"
      "  -p PARTITIONS   only these partitions (\"0\", \"0,2\"; may repeat)\n"
      "  -G GROUP        consume in consumer group GROUP and commit offsets as records\n"
      "                  print (-o then only says where a new group starts); without -G\n"
      "                  eventcat assigns partitions itself and commits nothing\n"
      "  -f              compact human format instead of JSON: " EVENTCAT_COMPACT_FORMAT "\n"
      "  --format FMT    custom line format (implies -f); tokens:\n"
      "                    %t topic  %p partition  %o offset  %k key  %K key length\n"
      "                    %T timestamp (ms)  %h headers (name=value,...)  %y type\n"
      "                    %v value as JSON (\"!error base64:<raw value>\" when it does\n"
      "                       not decode; %e says why)\n"
      "                    %s raw value bytes  %S value length  %e decode error\n"
      "                    %% a percent sign\n"
      "                    escapes: \\n \\t \\r \\\\\n"
      "  --type TYPE     decode every value as TYPE (a full name, see --list-types)\n"
      "  --no-defaults   omit fields that hold their zero value (default: print all)\n"
      "  -X KEY=VALUE    librdkafka setting (e.g. -X security.protocol=ssl); may repeat\n"
      "  -m SECONDS      metadata and watermark timeout (default 10)\n"
      "  -q              quiet: only errors on stderr\n"
      "  --decode TYPE   read raw protobuf bytes of TYPE from stdin, print its JSON, exit;\n"
      "                  with -t: consume, decoding every record as TYPE, and stop (exit\n"
      "                  1) at a record whose ce_type header names another type\n"
      "  --list-types    print the message types eventcat knows, one per line\n"
      "  -V, --version   print the version\n"
      "  -h, --help      this text\n"
      "\n"
      "Output: records on stdout, one per line, flushed as they come; diagnostics on\n"
      "stderr. JSON envelope: topic, partition, offset, timestamp, timestamp_type, key (or\n"
      "key_b64), headers (and headers_b64 for values that are not UTF-8), type, value,\n"
      "then error and value_b64 when the value did not decode.\n"
      "\n"
      "Exit status: 0 done (end reached, count reached, or interrupted), 1 runtime error\n"
      "(broker unreachable, unknown topic, undecodable --decode input, a record of another\n"
      "type with --decode and -t), 2 usage error.\n"
      "\n"
      "Environment: KAFKA_BROKERS (default for -b), LOG_LEVEL (diagnostics threshold).\n"
      "\n"
      "Examples:\n"
      "  # everything on both topics so far, then exit\n"
      "  eventcat -b localhost:9092 -t transactions -t balances -o beginning -e\n"
      "  # watch both topics live in a compact form while using api/client.http\n"
      "  eventcat -b localhost:9092 -t transactions -t balances -o end -f\n"
      "  # the last record of each partition, amounts only\n"
      "  eventcat -t balances -o -1 -e | jq '.value.balance_account_id_from'\n"
      "  # one line per transfer, in your own format\n"
      "  eventcat -t transactions --format '%o %k %v\\n'\n"
      "  # save one raw value, decode it offline\n"
      "  # (--decode with -t refuses a record of another type, e.g. an AccountCreated)\n"
      "  eventcat -t transactions -c 1 --decode wallet.v1.TransactionCreated --format '%s' \\\n"
      "    > value.bin\n"
      "  eventcat --decode wallet.v1.TransactionCreated < value.bin\n",
      out);
}
