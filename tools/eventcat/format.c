/* format: kcat-style format strings (-f, --format) for one human line per record. */
#include "format.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "utf8.h"

typedef enum format_tok_kind { TOK_LITERAL, TOK_FIELD } format_tok_kind;

typedef struct format_tok {
  format_tok_kind kind;
  char field;   /* TOK_FIELD: the letter after % */
  size_t start; /* TOK_LITERAL: a span of spec->lit */
  size_t len;
} format_tok;

struct format_spec {
  format_tok *toks;
  size_t ntoks;
  char *lit; /* literal text with escapes already resolved */
};

static const char format_fields[] = "tpokKThyvsSe";

format_spec *format_parse(const char *fmt, char *err, size_t errlen) {
  size_t n = strlen(fmt);
  format_spec *f = calloc(1, sizeof *f);
  if (f == NULL) goto oom;
  /* At most one token per input byte, and literals never grow. */
  f->toks = calloc(n + 1, sizeof *f->toks);
  f->lit = malloc(n + 1);
  if (f->toks == NULL || f->lit == NULL) goto oom;
  size_t litlen = 0;
  for (size_t i = 0; i < n; i++) {
    char c = fmt[i];
    if (c == '%') {
      char k = fmt[i + 1];
      if (k == '\0') {
        snprintf(err, errlen, "--format: lone %% at the end (write %%%% for a percent sign)");
        goto fail;
      }
      i++;
      if (k != '%') {
        if (strchr(format_fields, k) == NULL) {
          snprintf(err, errlen, "--format: unknown token %%%c at %zu (known: %%t %%p %%o %%k "
                                "%%K %%T %%h %%y %%v %%s %%S %%e %%%%)",
                   k, i);
          goto fail;
        }
        f->toks[f->ntoks++] = (format_tok){.kind = TOK_FIELD, .field = k};
        continue;
      }
      c = '%';
    } else if (c == '\\' && fmt[i + 1] != '\0') {
      char e = fmt[++i];
      c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == '\\' ? '\\' : 0;
      if (c == 0) { /* not an escape we know: keep both characters */
        c = e;
        if (f->ntoks == 0 || f->toks[f->ntoks - 1].kind != TOK_LITERAL)
          f->toks[f->ntoks++] = (format_tok){.kind = TOK_LITERAL, .start = litlen};
        f->lit[litlen++] = '\\';
        f->toks[f->ntoks - 1].len++;
      }
    }
    if (f->ntoks == 0 || f->toks[f->ntoks - 1].kind != TOK_LITERAL)
      f->toks[f->ntoks++] = (format_tok){.kind = TOK_LITERAL, .start = litlen};
    f->lit[litlen++] = c;
    f->toks[f->ntoks - 1].len++;
  }
  return f;
oom:
  snprintf(err, errlen, "--format: out of memory");
fail:
  format_free(f);
  return NULL;
}

static int is_text(const void *p, size_t len) {
  return memchr(p, '\0', len) == NULL && utf8_valid(p, len);
}

static void put_bytes(FILE *o, const void *p, size_t len) {
  if (p == NULL) return;
  if (is_text(p, len)) {
    fwrite(p, 1, len, o);
    return;
  }
  char *b = base64_encode(p, len);
  fprintf(o, "base64:%s", b ? b : "?");
  free(b);
}

static void put_headers(FILE *o, const rd_kafka_message_t *m) {
  rd_kafka_headers_t *hdrs = NULL;
  if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  const char *name;
  const void *val;
  size_t len;
  for (size_t i = 0;
       rd_kafka_header_get_all(hdrs, i, &name, &val, &len) == RD_KAFKA_RESP_ERR_NO_ERROR; i++) {
    fprintf(o, "%s%s=", i ? "," : "", name);
    put_bytes(o, val, len);
  }
}

static void put_value(FILE *o, const rd_kafka_message_t *m, const decode_result *r) {
  if (r->value != NULL) {
    char *s = cJSON_PrintUnformatted(r->value);
    fputs(s ? s : "?", o);
    free(s);
  } else if (r->error[0] != '\0') {
    char *b = base64_encode(m->payload, m->len);
    fprintf(o, "!error base64:%s", b ? b : "?"); /* the reason is %e */
    free(b);
  } else {
    fputs("null", o);
  }
}

static void put_field(FILE *o, char field, const rd_kafka_message_t *m,
                      const decode_result *r) {
  rd_kafka_timestamp_type_t tstype;
  int64_t ts;
  switch (field) {
  case 't':
    fputs(rd_kafka_topic_name(m->rkt), o);
    break;
  case 'p':
    fprintf(o, "%" PRId32, m->partition);
    break;
  case 'o':
    fprintf(o, "%" PRId64, m->offset);
    break;
  case 'k':
    put_bytes(o, m->key, m->key_len);
    break;
  case 'K':
    fprintf(o, "%zd", m->key ? (ssize_t)m->key_len : (ssize_t)-1);
    break;
  case 'T':
    ts = rd_kafka_message_timestamp(m, &tstype);
    fprintf(o, "%" PRId64, tstype == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? (int64_t)-1 : ts);
    break;
  case 'h':
    put_headers(o, m);
    break;
  case 'y':
    fputs(r->type[0] ? r->type : "-", o);
    break;
  case 'v':
    put_value(o, m, r);
    break;
  case 's':
    if (m->payload != NULL) fwrite(m->payload, 1, m->len, o);
    break;
  case 'S':
    fprintf(o, "%zd", m->payload ? (ssize_t)m->len : (ssize_t)-1);
    break;
  case 'e':
    fputs(r->error, o);
    break;
  }
}

int format_render(const format_spec *f, const rd_kafka_message_t *m, const decode_result *r,
                  FILE *out) {
  char *buf = NULL;
  size_t len = 0;
  FILE *o = open_memstream(&buf, &len);
  if (o == NULL) return -1;
  for (size_t i = 0; i < f->ntoks; i++) {
    const format_tok *t = &f->toks[i];
    if (t->kind == TOK_LITERAL)
      fwrite(f->lit + t->start, 1, t->len, o);
    else
      put_field(o, t->field, m, r);
  }
  int bad = ferror(o);
  if (fclose(o) != 0 || bad) {
    free(buf);
    errno = ENOMEM;
    return -1;
  }
  int rc = fwrite(buf, 1, len, out) == len ? 0 : -1;
  free(buf);
  return rc;
}

void format_free(format_spec *f) {
  if (f == NULL) return;
  free(f->toks);
  free(f->lit);
  free(f);
}
