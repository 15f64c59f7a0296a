/* migrate: applies a directory of NNN_name.sql files once each, recorded in
 * schema_migrations, under a named lock so concurrent starters do not race.
 *
 * A file is NOT atomic. MariaDB commits implicitly around every DDL statement, so when
 * statement 3 of a file fails, statements 1-2 stay applied. The runner therefore fails
 * loudly, naming the file and the statement, and does not record the file: an operator
 * fixes the database or the file and starts again. For the same reason a crash between
 * a file's last statement and its record makes the file run again on the next start:
 * write migrations that tolerate that (CREATE TABLE IF NOT EXISTS, INSERT IGNORE for
 * seeds) where it is cheap to do so.
 *
 * Files are trusted text from the repository, not input, so they are sent as they are
 * over a CLIENT_MULTI_STATEMENTS connection that no other code uses. */
#include "migrate.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <errmsg.h>
#include <inttypes.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Migrations are schema and seed data; anything bigger is a mistake (or not ours). */
#define MIG_MAX_FILE (16u * 1024u * 1024u)
/* GET_LOCK waits this long for another runner; the read timeout must outlast it, and a
 * long ALTER TABLE, hence the generous socket timeout. */
#define MIG_LOCK_WAIT_S 60
#define MIG_IO_TIMEOUT_S 600

typedef struct mig_file {
  long version;
  char *name; /* the file name, e.g. "001_create_accounts.sql" */
} mig_file;

typedef struct mig_run {
  MYSQL *m;
  char *err;
  size_t errlen;
  const char *dir;
} mig_run;

__attribute__((format(printf, 2, 3))) static int mig_fail(mig_run *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->err, r->errlen, fmt, ap);
  va_end(ap);
  return -1;
}

static int mig_fail_sql(mig_run *r, const char *what) {
  return mig_fail(r, "migrate %s: %s: (%u) %s", r->dir, what, mysql_errno(r->m),
                  mysql_error(r->m));
}

/* FNV-1a, 64 bits, as 16 hex digits. It detects edits to an applied file (accidents),
 * not deliberate collisions: the repository is trusted, so no cryptographic hash (and
 * no crypto library) is needed. The column is CHAR(64) so a stronger hash can come
 * later without a schema change. */
static void mig_checksum(const char *p, size_t n, char out[17]) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)p[i];
    h *= 0x100000001b3ull;
  }
  snprintf(out, 17, "%016" PRIx64, h);
}

/* ^[0-9]{3,}_[a-z0-9_]+\.sql$, with the version parsed into *version. */
static bool mig_name_matches(const char *name, long *version) {
  const char *p = name;
  size_t digits = 0;
  while (isdigit((unsigned char)*p)) p++, digits++;
  if (digits < 3 || digits > 9 || *p != '_') return false;
  const char *word = ++p;
  while ((*p >= 'a' && *p <= 'z') || isdigit((unsigned char)*p) || *p == '_') p++;
  if (p == word || strcmp(p, ".sql") != 0) return false;
  *version = strtol(name, NULL, 10);
  return true;
}

static int mig_cmp(const void *a, const void *b) {
  const mig_file *x = a, *y = b;
  return (x->version > y->version) - (x->version < y->version);
}

static void mig_files_free(mig_file *files, size_t n) {
  for (size_t i = 0; files != NULL && i < n; i++) free(files[i].name);
  free(files);
}

/* The matching files of dir sorted by version; other names are ignored (README, .swp).
 * Versions must run 1, 2, 3... with no duplicate and no gap: a gap usually means a
 * file lost in a merge, and applying past it would be silent damage. */
static int mig_list(mig_run *r, mig_file **out, size_t *nout) {
  int ret = -1;
  mig_file *files = NULL;
  size_t n = 0, cap = 0;
  DIR *d = opendir(r->dir);
  if (d == NULL) return mig_fail(r, "migrate: cannot open %s: %s", r->dir, strerror(errno));
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    long v;
    if (!mig_name_matches(de->d_name, &v)) continue;
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      mig_file *nf = realloc(files, ncap * sizeof *nf);
      if (nf == NULL) goto oom;
      files = nf;
      cap = ncap;
    }
    files[n].name = strdup(de->d_name);
    if (files[n].name == NULL) goto oom;
    files[n++].version = v;
  }
  if (n > 1) qsort(files, n, sizeof *files, mig_cmp);
  for (size_t i = 0; i < n; i++) {
    if (i > 0 && files[i].version == files[i - 1].version) {
      mig_fail(r, "migrate %s: duplicate version %ld: %s and %s", r->dir, files[i].version,
               files[i - 1].name, files[i].name);
      goto out;
    }
    if (files[i].version != (long)i + 1) {
      mig_fail(r, "migrate %s: version gap: expected %zu, found %s", r->dir, i + 1,
               files[i].name);
      goto out;
    }
  }
  *out = files;
  *nout = n;
  files = NULL;
  ret = 0;
  goto out;
oom:
  mig_fail(r, "migrate: out of memory listing %s", r->dir);
out:
  closedir(d);
  mig_files_free(files, n);
  return ret;
}

static char *mig_read(mig_run *r, const char *name, size_t *len) {
  char path[4096];
  char *buf = NULL;
  snprintf(path, sizeof path, "%s/%s", r->dir, name);
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    mig_fail(r, "migrate: cannot open %s: %s", path, strerror(errno));
    return NULL;
  }
  buf = malloc(MIG_MAX_FILE + 1);
  if (buf == NULL) {
    mig_fail(r, "migrate: out of memory reading %s", path);
    goto out;
  }
  size_t n = fread(buf, 1, MIG_MAX_FILE + 1, f);
  if (ferror(f) || n > MIG_MAX_FILE) {
    mig_fail(r, "migrate: %s: %s", path, ferror(f) ? strerror(errno) : "file too large");
    free(buf);
    buf = NULL;
    goto out;
  }
  buf[n] = '\0';
  *len = n;
out:
  fclose(f);
  return buf;
}

/* Runs a statement whose result (if any) is discarded. */
static int mig_exec(mig_run *r, const char *sql) {
  if (mysql_real_query(r->m, sql, strlen(sql)) != 0) return mig_fail_sql(r, sql);
  MYSQL_RES *res = mysql_store_result(r->m);
  mysql_free_result(res);
  return 0;
}

/* Runs a one-value query; *out gets the value or -1 for NULL. */
static int mig_query_int(mig_run *r, const char *sql, long *out) {
  if (mysql_real_query(r->m, sql, strlen(sql)) != 0) return mig_fail_sql(r, sql);
  MYSQL_RES *res = mysql_store_result(r->m);
  if (res == NULL) return mig_fail_sql(r, sql);
  MYSQL_ROW row = mysql_fetch_row(res);
  *out = (row != NULL && row[0] != NULL) ? strtol(row[0], NULL, 10) : -1;
  mysql_free_result(res);
  return 0;
}

static bool only_blank(const char *s) {
  while (*s && isspace((unsigned char)*s)) s++;
  return *s == '\0';
}

/* Sends the whole file and walks every statement's result: with multi-statements the
 * server stops at the first failing statement and reports it in the result chain, so
 * each step must be checked, not just the first call. */
static int mig_apply_text(mig_run *r, const char *name, const char *sql, size_t len) {
  if (only_blank(sql)) return 0;
  unsigned stmt_no = 1;
  if (mysql_real_query(r->m, sql, len) != 0) goto fail;
  for (;;) {
    MYSQL_RES *res = mysql_store_result(r->m);
    if (res != NULL) {
      mysql_free_result(res);
    } else if (mysql_field_count(r->m) != 0) {
      goto fail; /* a result was due but could not be read */
    }
    int more = mysql_next_result(r->m);
    if (more == -1) break;
    stmt_no++;
    if (more > 0) goto fail;
  }
  return 0;
fail:
  return mig_fail(r, "migrate %s/%s: statement %u failed: (%u) %s", r->dir, name, stmt_no,
                  mysql_errno(r->m), mysql_error(r->m));
}

static int mig_record(mig_run *r, const mig_file *f, const char *sum) {
  int ret = -1;
  static const char sql[] =
      "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
      "VALUES (?, ?, ?, NOW(6))";
  MYSQL_STMT *st = mysql_stmt_init(r->m);
  if (st == NULL) return mig_fail_sql(r, "mysql_stmt_init");
  long long version = f->version;
  unsigned long name_len = strlen(f->name), sum_len = strlen(sum);
  MYSQL_BIND b[3];
  memset(b, 0, sizeof b);
  b[0].buffer_type = MYSQL_TYPE_LONGLONG;
  b[0].buffer = &version;
  b[1].buffer_type = MYSQL_TYPE_STRING;
  b[1].buffer = f->name;
  b[1].buffer_length = name_len;
  b[1].length = &name_len;
  b[2].buffer_type = MYSQL_TYPE_STRING;
  b[2].buffer = (void *)sum;
  b[2].buffer_length = sum_len;
  b[2].length = &sum_len;
  if (mysql_stmt_prepare(st, sql, sizeof sql - 1) != 0 || mysql_stmt_bind_param(st, b) != 0 ||
      mysql_stmt_execute(st) != 0) {
    mig_fail(r, "migrate %s/%s: recording it failed: (%u) %s", r->dir, f->name,
             mysql_stmt_errno(st), mysql_stmt_error(st));
    goto out;
  }
  ret = 0;
out:
  mysql_stmt_close(st);
  return ret;
}

/* Checks applied rows against the files; marks applied[i] for file i. */
static int mig_check_applied(mig_run *r, const mig_file *files, size_t n, bool *applied) {
  static const char sql[] = "SELECT version, name, checksum FROM schema_migrations";
  int ret = -1;
  if (mysql_real_query(r->m, sql, sizeof sql - 1) != 0) return mig_fail_sql(r, sql);
  MYSQL_RES *res = mysql_store_result(r->m);
  if (res == NULL) return mig_fail_sql(r, sql);
  MYSQL_ROW row;
  while ((row = mysql_fetch_row(res)) != NULL) {
    long v = strtol(row[0], NULL, 10);
    if (v < 1 || (size_t)v > n) {
      /* The database is ahead of this directory: wrong dir, or a file was deleted. */
      mig_fail(r, "migrate %s: database has version %ld (%s) applied but no such file", r->dir,
               v, row[1] ? row[1] : "?");
      goto out;
    }
    const mig_file *f = &files[v - 1];
    if (row[1] == NULL || strcmp(row[1], f->name) != 0) {
      mig_fail(r, "migrate %s: version %ld was applied as %s but the file is now %s", r->dir, v,
               row[1] ? row[1] : "?", f->name);
      goto out;
    }
    size_t len = 0;
    char *text = mig_read(r, f->name, &len);
    if (text == NULL) goto out;
    char sum[17];
    mig_checksum(text, len, sum);
    free(text);
    if (row[2] == NULL || strcmp(row[2], sum) != 0) {
      mig_fail(r,
               "migrate %s/%s: changed after it was applied (checksum %s, recorded %s); "
               "migrations are append-only: add a new file instead",
               r->dir, f->name, sum, row[2] ? row[2] : "NULL");
      goto out;
    }
    applied[v - 1] = true;
  }
  ret = 0;
out:
  mysql_free_result(res);
  return ret;
}

static int mig_apply_pending(mig_run *r, const mig_file *files, size_t n, const bool *applied,
                             const char *database, int *count) {
  for (size_t i = 0; i < n; i++) {
    if (applied[i]) continue;
    size_t len = 0;
    char *text = mig_read(r, files[i].name, &len);
    if (text == NULL) return -1;
    char sum[17];
    mig_checksum(text, len, sum);
    int rc = mig_apply_text(r, files[i].name, text, len);
    free(text);
    if (rc != 0) return -1;
    unsigned status = 0;
    mariadb_get_infov(r->m, MARIADB_CONNECTION_SERVER_STATUS, &status);
    if (status & SERVER_STATUS_IN_TRANS) {
      /* An unfinished START TRANSACTION: recording now would commit it on the file's
       * behalf, which is a guess about the author's intent. */
      mysql_rollback(r->m);
      return mig_fail(r, "migrate %s/%s: leaves a transaction open (missing COMMIT)", r->dir,
                      files[i].name);
    }
    /* A file may have switched databases with USE; the record belongs in ours. */
    if (database != NULL && mysql_select_db(r->m, database) != 0)
      return mig_fail_sql(r, "USE after migration");
    if (mig_record(r, &files[i], sum) != 0) return -1;
    (*count)++;
  }
  return 0;
}

/* Only identifier characters, so the name can be backquoted into CREATE DATABASE. */
static bool db_name_safe(const char *s) {
  if (s == NULL || *s == '\0' || strlen(s) > 64) return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '_' && *s != '$') return false;
  return true;
}

static MYSQL *mig_connect(const db_config *cfg, char *err, size_t errlen) {
  MYSQL *m = mysql_init(NULL);
  if (m == NULL) {
    snprintf(err, errlen, "migrate: mysql_init: out of memory");
    return NULL;
  }
  unsigned ct = cfg->connect_timeout_s ? cfg->connect_timeout_s : 3;
  unsigned io = MIG_IO_TIMEOUT_S;
  my_bool off = 0;
  mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
  mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &io);
  mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &io);
  mysql_optionsv(m, MYSQL_OPT_RECONNECT, &off);
  mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  /* Same session rules as the pool (db.c), so seeds behave as the services' writes do. */
  mysql_optionsv(m, MYSQL_INIT_COMMAND,
                 "SET SESSION time_zone='+00:00', "
                 "sql_mode='STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,"
                 "NO_ZERO_IN_DATE,NO_ENGINE_SUBSTITUTION'");
  if (mysql_real_connect(m, cfg->host, cfg->user, cfg->password ? cfg->password : "", NULL,
                         cfg->port ? cfg->port : 3306, NULL, CLIENT_MULTI_STATEMENTS) == NULL) {
    snprintf(err, errlen, "migrate: cannot connect to %s:%u: (%u) %s", cfg->host,
             cfg->port ? cfg->port : 3306, mysql_errno(m), mysql_error(m));
    mysql_close(m);
    return NULL;
  }
  return m;
}

int migrate_run(const db_config *cfg, const char *dir, int *applied_out, char *err,
                size_t errlen) {
  int ret = -1, count = 0;
  char sql[256];
  mig_file *files = NULL;
  size_t n = 0;
  bool *applied = NULL;
  bool locked = false;
  mig_run r = {.err = err, .errlen = errlen, .dir = dir};
  if (applied_out != NULL) *applied_out = 0;
  if (cfg == NULL || cfg->host == NULL || cfg->user == NULL || dir == NULL) {
    snprintf(err, errlen, "migrate: host, user and dir are required");
    return -1;
  }
  if (!db_name_safe(cfg->database)) {
    snprintf(err, errlen, "migrate: database name %s%s%s is empty or not a plain identifier",
             cfg->database ? "'" : "", cfg->database ? cfg->database : "(null)",
             cfg->database ? "'" : "");
    return -1;
  }
  /* Connector/C 3 runs its library init under pthread_once, so this is safe even when
   * two threads migrate at once and no pool exists yet. */
  if (mysql_library_init(0, NULL, NULL) != 0) {
    snprintf(err, errlen, "migrate: mysql_library_init failed");
    return -1;
  }
  if (mig_list(&r, &files, &n) != 0) return -1;
  applied = calloc(n ? n : 1, sizeof *applied);
  if (applied == NULL) {
    snprintf(err, errlen, "migrate: out of memory");
    goto out;
  }
  r.m = mig_connect(cfg, err, errlen);
  if (r.m == NULL) goto out;

  /* A native start finds no database yet; compose creates it. Both end up the same. */
  snprintf(sql, sizeof sql, "CREATE DATABASE IF NOT EXISTS `%s` CHARACTER SET utf8mb4",
           cfg->database);
  if (mig_exec(&r, sql) != 0) goto out;
  if (mysql_select_db(r.m, cfg->database) != 0) {
    mig_fail_sql(&r, "USE");
    goto out;
  }
  /* The lock is server-wide, so it is named after the database: services sharing one
   * server do not wait for each other, two starters of the same service do. */
  long got = -1;
  snprintf(sql, sizeof sql, "SELECT GET_LOCK('schema_migrations.%s', %d)", cfg->database,
           MIG_LOCK_WAIT_S);
  if (mig_query_int(&r, sql, &got) != 0) goto out;
  if (got != 1) {
    mig_fail(&r, "migrate %s: another runner held the migration lock for %d s", dir,
             MIG_LOCK_WAIT_S);
    goto out;
  }
  locked = true;
  if (mig_exec(&r, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                   " version INT NOT NULL PRIMARY KEY,"
                   " name VARCHAR(255) NOT NULL,"
                   " checksum CHAR(64) NOT NULL,"
                   " applied_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
                   ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4") != 0)
    goto out;
  /* Read under the lock: whatever a runner before us applied is visible now. */
  if (mig_check_applied(&r, files, n, applied) != 0) goto out;
  if (mig_apply_pending(&r, files, n, applied, cfg->database, &count) != 0) goto out;
  ret = 0;

out:
  if (locked) {
    /* Closing the session would release it too; releasing first frees the next runner
     * without waiting for our disconnect to be noticed. */
    snprintf(sql, sizeof sql, "DO RELEASE_LOCK('schema_migrations.%s')", cfg->database);
    (void)mysql_real_query(r.m, sql, strlen(sql));
  }
  if (r.m != NULL) mysql_close(r.m);
  mig_files_free(files, n);
  free(applied);
  if (applied_out != NULL) *applied_out = count;
  return ret;
}
