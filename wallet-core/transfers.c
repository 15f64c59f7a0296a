/* transfers: applying a list of transfers in one DB transaction, and reading them back. */
#include "transfers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbtime.h"
#include "idempotency.h"
#include "log.h"
#include "sqlbatch.h"
#include "timeutil.h"
#include "validate.h"

#define DB_TX_ATTEMPTS 8
#define TX_COLUMNS                                                                          \
  "id, account_id_from, account_id_to, amount, balance_account_id_from, "                  \
  "balance_account_id_to, version_account_id_from, version_account_id_to, created_at"

typedef enum item_state {
  ITEM_INVALID,  /* failed validation before the DB; result already set */
  ITEM_PENDING,  /* to apply */
  ITEM_APPLIED,  /* applied in memory this attempt */
  ITEM_REJECTED, /* unknown account or insufficient funds this attempt */
  ITEM_DONE,     /* answered without moving money: replay or key mismatch */
  ITEM_DUP,      /* same key as an earlier item of this list: answered like it */
} item_state;

typedef struct item {
  char from[UUID_STR_LEN];
  char to[UUID_STR_LEN];
  char txid[UUID_STR_LEN]; /* chosen once, stable across retries */
  char fingerprint[IDEMPOTENCY_FINGERPRINT_MAX];
  item_state state;
  int claimed; /* our key row was inserted this attempt */
  size_t dup_of;
} item;

typedef struct acct {
  char id[UUID_STR_LEN];
  char client_id[UUID_STR_LEN];
  int64_t balance;
  int64_t version;
  int touched;
} acct;

typedef struct apply_ctx {
  const wallet_topics *topics;
  const transfer_request *reqs;
  transfer_result *results;
  item *items;
  size_t n;
  acct *accts; /* sorted by id; capacity 2n */
  size_t *keyidx; /* scratch item/account indexes; capacity 2n */
  size_t *uniq;   /* first item of each distinct key; capacity n */
  size_t naccts;
  int64_t now_us;
  int attempts;
  int reached_commit;    /* the last attempt's body finished: COMMIT was next */
  int already_committed; /* a retry found the previous attempt's rows */
  wallet_err fatal;
} apply_ctx;

static int acct_cmp(const void *a, const void *b) {
  return strcmp(((const acct *)a)->id, ((const acct *)b)->id);
}

static acct *acct_find(apply_ctx *c, const char *id) {
  acct key;
  memcpy(key.id, id, UUID_STR_LEN);
  return bsearch(&key, c->accts, c->naccts, sizeof *c->accts, acct_cmp);
}

static void tx_from_row(const db_rows *r, size_t i, transaction_row *out) {
  snprintf(out->id, sizeof out->id, "%s", db_rows_str(r, i, 0, NULL));
  snprintf(out->account_id_from, sizeof out->account_id_from, "%s", db_rows_str(r, i, 1, NULL));
  snprintf(out->account_id_to, sizeof out->account_id_to, "%s", db_rows_str(r, i, 2, NULL));
  out->amount = db_rows_i64(r, i, 3);
  out->balance_from = db_rows_i64(r, i, 4);
  out->balance_to = db_rows_i64(r, i, 5);
  out->version_from = db_rows_i64(r, i, 6);
  out->version_to = db_rows_i64(r, i, 7);
  if (dbtime_parse(db_rows_str(r, i, 8, NULL), &out->created_us) != 0) out->created_us = 0;
}

/* 1 found, 0 not found, -1 error. */
static int tx_load(db_conn *conn, const char *id, int locking, transaction_row *out,
                   db_error *e) {
  db_rows *r = NULL;
  const db_param p[] = {DB_P_STR(id)};
  const char *sql = locking ? "SELECT " TX_COLUMNS " FROM transactions WHERE id = ? "
                              "LOCK IN SHARE MODE"
                            : "SELECT " TX_COLUMNS " FROM transactions WHERE id = ?";
  if (db_query(conn, sql, p, 1, &r, e) != 0) return -1;
  int found = db_rows_count(r) > 0;
  if (found) tx_from_row(r, 0, out);
  db_rows_free(r);
  return found;
}

/* Locks every account the pending items touch, in id order, and loads them into c->accts.
 * Ids that do not exist are simply absent. The IN list is padded to a fixed set of sizes
 * (sqlbatch_in_slots) by repeating the last id, so few statement texts get prepared. */
static int lock_accounts(db_conn *conn, apply_ctx *c, db_error *e) {
  c->naccts = 0;
  for (size_t i = 0; i < c->n; i++) {
    if (c->items[i].state != ITEM_PENDING) continue;
    memcpy(c->accts[c->naccts++].id, c->items[i].from, UUID_STR_LEN);
    memcpy(c->accts[c->naccts++].id, c->items[i].to, UUID_STR_LEN);
  }
  if (c->naccts == 0) return 0;
  qsort(c->accts, c->naccts, sizeof *c->accts, acct_cmp);
  size_t u = 0;
  for (size_t i = 0; i < c->naccts; i++) {
    if (u == 0 || strcmp(c->accts[u - 1].id, c->accts[i].id) != 0) c->accts[u++] = c->accts[i];
  }
  size_t slots = sqlbatch_in_slots(u);
  char *sql = sqlbatch_in_sql("SELECT id, client_id, balance, version FROM accounts WHERE id IN (",
                              slots, ") ORDER BY id FOR UPDATE");
  db_param *params = calloc(slots, sizeof *params);
  db_rows *r = NULL;
  int rc = -1;
  if (sql == NULL || params == NULL) {
    e->code = 2008;
    snprintf(e->message, sizeof e->message, "out of memory locking accounts");
    goto out;
  }
  for (size_t i = 0; i < slots; i++) {
    params[i] = DB_P_STR(c->accts[i < u ? i : u - 1].id);
  }
  if (db_query(conn, sql, params, slots, &r, e) != 0) goto out;
  /* Rows come back in id order, like c->accts: merge, keeping only the ones found. */
  size_t found = 0;
  for (size_t row = 0; row < db_rows_count(r); row++) {
    acct *a = &c->accts[found++];
    snprintf(a->id, sizeof a->id, "%s", db_rows_str(r, row, 0, NULL));
    snprintf(a->client_id, sizeof a->client_id, "%s", db_rows_str(r, row, 1, NULL));
    a->balance = db_rows_i64(r, row, 2);
    a->version = db_rows_i64(r, row, 3);
    a->touched = 0;
  }
  c->naccts = found;
  rc = 0;
out:
  db_rows_free(r);
  free(params);
  free(sql);
  return rc;
}

static void apply_in_memory(apply_ctx *c) {
  for (size_t i = 0; i < c->n; i++) {
    item *it = &c->items[i];
    if (it->state != ITEM_PENDING) continue;
    transfer_result *res = &c->results[i];
    acct *from = acct_find(c, it->from);
    acct *to = acct_find(c, it->to);
    int64_t amount = c->reqs[i].amount;
    if (from == NULL || to == NULL) {
      wallet_err_set(&res->err, WALLET_NOT_FOUND, "account %s not found",
                     from == NULL ? it->from : it->to);
      it->state = ITEM_REJECTED;
      continue;
    }
    if (from->balance < amount) {
      wallet_err_set(&res->err, WALLET_INSUFFICIENT_FUNDS,
                     "insufficient funds: account %s has balance %" PRId64
                     ", the transfer needs %" PRId64,
                     it->from, from->balance, amount);
      it->state = ITEM_REJECTED;
      continue;
    }
    if (to->balance > INT64_MAX - amount) {
      wallet_err_set(&res->err, WALLET_INVALID, "amount would overflow account %s's balance",
                     it->to);
      it->state = ITEM_REJECTED;
      continue;
    }
    from->balance -= amount;
    to->balance += amount;
    from->version++;
    to->version++;
    from->touched = to->touched = 1;
    it->state = ITEM_APPLIED;
    res->err.rc = WALLET_OK;
    res->err.msg[0] = '\0';
    transaction_row *t = &res->tx;
    memcpy(t->id, it->txid, UUID_STR_LEN);
    memcpy(t->account_id_from, it->from, UUID_STR_LEN);
    memcpy(t->account_id_to, it->to, UUID_STR_LEN);
    t->amount = amount;
    t->balance_from = from->balance;
    t->balance_to = to->balance;
    t->version_from = from->version;
    t->version_to = to->version;
    t->created_us = c->now_us;
  }
}

static const char *item_key(const apply_ctx *c, size_t i) { return c->reqs[i].idempotency_key; }

/* Orders item indexes by key, then by position (the first of equal keys claims it). */
static int key_order(const void *a, const void *b, void *arg) {
  const apply_ctx *c = arg;
  size_t i = *(const size_t *)a, j = *(const size_t *)b;
  int d = strcmp(item_key(c, i), item_key(c, j));
  if (d != 0) return d;
  return i < j ? -1 : i > j;
}

typedef struct key_rows {
  const apply_ctx *c;
  const size_t *idx; /* item index per row */
  const char *when;
} key_rows;

static void fill_key(const void *ctx, size_t row, db_param *p) {
  const key_rows *k = ctx;
  size_t i = k->idx[row];
  p[0] = DB_P_STR(item_key(k->c, i));
  p[1] = DB_P_STR(k->c->items[i].fingerprint);
  p[2] = DB_P_STR(k->c->items[i].txid);
  p[3] = DB_P_STR(k->when);
}

/* The row of key in r (ordered by idem_key, ascii_bin = byte order), or -1. */
static long key_row(const db_rows *r, const char *key) {
  size_t lo = 0, hi = db_rows_count(r);
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int d = strcmp(db_rows_str(r, mid, 0, NULL), key);
    if (d == 0) return (long)mid;
    if (d < 0) lo = mid + 1;
    else hi = mid;
  }
  return -1;
}

/* What an item learns about its key: claimed, or someone's (maybe an earlier item's). */
static int settle_key(db_conn *conn, apply_ctx *c, size_t i, const char *existing, int same,
                      db_error *e) {
  item *it = &c->items[i];
  transfer_result *res = &c->results[i];
  if (strcmp(existing, it->txid) == 0) {
    it->claimed = 1;
    return 0;
  }
  if (!same) {
    wallet_err_set(&res->err, WALLET_IDEMPOTENCY_MISMATCH,
                   "Idempotency-Key reused with a different request");
    it->state = ITEM_DONE;
    return 0;
  }
  /* Same key and body earlier in this very list: answer as that item is answered. */
  size_t j = 0;
  while (j < i && strcmp(c->items[j].txid, existing) != 0) j++;
  if (j < i) {
    it->state = ITEM_DUP;
    it->dup_of = j;
    return 0;
  }
  int found = tx_load(conn, existing, 1, &res->tx, e);
  if (found < 0) return -1;
  if (!found) {
    wallet_err_set(&res->err, WALLET_INTERNAL,
                   "Idempotency-Key points at transaction %s, which does not exist", existing);
  } else {
    res->err.rc = WALLET_OK;
    res->replayed = 1;
  }
  it->state = ITEM_DONE;
  return 0;
}

/* Claims the pending items' Idempotency-Keys with one multi-row INSERT IGNORE (in key
 * order, so concurrent batches take key locks in one order), then reads every key back
 * with one locking SELECT: a row holding our transaction id is our claim; any other row
 * was committed before (a duplicate waits for its owner to commit or roll back), so its
 * item is a replay, a mismatch or a copy of an earlier item of this list. */
static int claim_keys(db_conn *conn, apply_ctx *c, db_error *e) {
  size_t nk = 0;
  for (size_t i = 0; i < c->n; i++) {
    if (c->items[i].state == ITEM_PENDING && item_key(c, i) != NULL) c->keyidx[nk++] = i;
  }
  if (nk == 0) return 0;
  qsort_r(c->keyidx, nk, sizeof *c->keyidx, key_order, c);
  size_t nu = 0; /* first item of each distinct key, in key order */
  for (size_t k = 0; k < nk; k++) {
    if (nu == 0 || strcmp(item_key(c, c->uniq[nu - 1]), item_key(c, c->keyidx[k])) != 0) {
      c->uniq[nu++] = c->keyidx[k];
    }
  }
  char when[DBTIME_LEN];
  dbtime_format(c->now_us, when);
  key_rows kr = {c, c->uniq, when};
  if (sqlbatch_insert(conn,
                      "INSERT IGNORE INTO idempotency_keys (idem_key, request_fingerprint, "
                      "transaction_id, created_at) VALUES ",
                      "(?,?,?,?)", 4, "", nu, fill_key, &kr, e) != 0) {
    return -1;
  }
  size_t slots = sqlbatch_in_slots(nu);
  char *sql = sqlbatch_in_sql("SELECT idem_key, request_fingerprint, transaction_id FROM "
                              "idempotency_keys WHERE idem_key IN (",
                              slots, ") ORDER BY idem_key LOCK IN SHARE MODE");
  db_param *params = calloc(slots, sizeof *params);
  db_rows *r = NULL;
  int rc = -1;
  if (sql == NULL || params == NULL) {
    e->code = 2008;
    snprintf(e->message, sizeof e->message, "out of memory claiming keys");
    goto out;
  }
  for (size_t k = 0; k < slots; k++) params[k] = DB_P_STR(item_key(c, c->uniq[k < nu ? k : nu - 1]));
  if (db_query(conn, sql, params, slots, &r, e) != 0) goto out;
  /* In list order, so an item's earlier twin is settled before it. */
  for (size_t i = 0; i < c->n; i++) {
    item *it = &c->items[i];
    if (it->state != ITEM_PENDING || item_key(c, i) == NULL) continue;
    long row = key_row(r, item_key(c, i));
    char existing[UUID_STR_LEN];
    int same = 0;
    if (row < 0) {
      /* Not there although INSERT IGNORE ran: claim it the slow, careful way. */
      int claim = idempotency_claim(conn, item_key(c, i), it->fingerprint, it->txid, c->now_us,
                                    existing, &same, e);
      if (claim < 0) goto out;
      if (claim == IDEMPOTENCY_CLAIMED) snprintf(existing, sizeof existing, "%s", it->txid);
    } else {
      same = strcmp(db_rows_str(r, (size_t)row, 1, NULL), it->fingerprint) == 0;
      snprintf(existing, sizeof existing, "%s", db_rows_str(r, (size_t)row, 2, NULL));
    }
    if (settle_key(conn, c, i, existing, same, e) != 0) goto out;
  }
  rc = 0;
out:
  db_rows_free(r);
  free(params);
  free(sql);
  return rc;
}

typedef struct write_rows {
  const apply_ctx *c;
  const size_t *idx;
  const char *when;
} write_rows;

static void fill_account(const void *ctx, size_t row, db_param *p) {
  const write_rows *w = ctx;
  const acct *a = &w->c->accts[w->idx[row]];
  p[0] = DB_P_STR(a->id);
  p[1] = DB_P_STR(a->client_id);
  p[2] = DB_P_I64(a->balance);
  p[3] = DB_P_I64(a->version);
  p[4] = DB_P_STR(w->when); /* created_at: never used, the row exists and is locked */
  p[5] = DB_P_STR(w->when);
}

static void fill_tx(const void *ctx, size_t row, db_param *p) {
  const write_rows *w = ctx;
  const transaction_row *t = &w->c->results[w->idx[row]].tx;
  p[0] = DB_P_STR(t->id);
  p[1] = DB_P_STR(t->account_id_from);
  p[2] = DB_P_STR(t->account_id_to);
  p[3] = DB_P_I64(t->amount);
  p[4] = DB_P_I64(t->balance_from);
  p[5] = DB_P_I64(t->balance_to);
  p[6] = DB_P_I64(t->version_from);
  p[7] = DB_P_I64(t->version_to);
  p[8] = DB_P_STR(w->when);
}

/* Keys of rejected items go away again (a rejection does not keep its key). */
static int release_keys(db_conn *conn, apply_ctx *c, db_error *e) {
  size_t nr = 0;
  for (size_t i = 0; i < c->n; i++) {
    if (c->items[i].state == ITEM_REJECTED && c->items[i].claimed) c->keyidx[nr++] = i;
  }
  if (nr == 0) return 0;
  size_t slots = sqlbatch_in_slots(nr);
  char *sql = sqlbatch_in_sql("DELETE FROM idempotency_keys WHERE idem_key IN (", slots, ")");
  db_param *params = calloc(slots, sizeof *params);
  int rc = -1;
  if (sql == NULL || params == NULL) {
    e->code = 2008;
    snprintf(e->message, sizeof e->message, "out of memory releasing keys");
    goto out;
  }
  for (size_t k = 0; k < slots; k++) params[k] = DB_P_STR(item_key(c, c->keyidx[k < nr ? k : nr - 1]));
  rc = db_exec(conn, sql, params, slots, NULL, e);
out:
  free(params);
  free(sql);
  return rc;
}

/* Set-based writes: one multi-row upsert of the touched accounts, multi-row INSERTs of
 * the transaction rows and of their outbox rows (statement sizes from sqlbatch). */
static int write_changes(db_conn *conn, apply_ctx *c, db_error *e) {
  char when[DBTIME_LEN];
  dbtime_format(c->now_us, when);
  if (release_keys(conn, c, e) != 0) return -1;
  size_t na = 0;
  for (size_t i = 0; i < c->naccts; i++) {
    if (c->accts[i].touched) c->keyidx[na++] = i;
  }
  if (na == 0) return 0;
  write_rows w = {c, c->keyidx, when};
  if (sqlbatch_insert(conn,
                      "INSERT INTO accounts (id, client_id, balance, version, created_at, "
                      "updated_at) VALUES ",
                      "(?,?,?,?,?,?)", 6,
                      " ON DUPLICATE KEY UPDATE balance = VALUES(balance), "
                      "version = VALUES(version), updated_at = VALUES(updated_at)",
                      na, fill_account, &w, e) != 0) {
    return -1;
  }
  size_t nt = 0;
  for (size_t i = 0; i < c->n; i++) {
    if (c->items[i].state == ITEM_APPLIED) c->keyidx[nt++] = i;
  }
  if (sqlbatch_insert(conn, "INSERT INTO transactions (" TX_COLUMNS ") VALUES ",
                      "(?,?,?,?,?,?,?,?,?)", 9, "", nt, fill_tx, &w, e) != 0) {
    return -1;
  }
  outbox_row *rows = calloc(2 * nt, sizeof *rows);
  if (rows == NULL) {
    e->code = 2008;
    snprintf(e->message, sizeof e->message, "out of memory building %zu events", 2 * nt);
    return -1;
  }
  size_t nrows = 0;
  int rc = -1;
  for (size_t k = 0; k < nt; k++) {
    const transaction_row *t = &c->results[c->keyidx[k]].tx;
    const events_transfer ev = {
        .transaction_id = t->id,
        .account_id_from = t->account_id_from,
        .account_id_to = t->account_id_to,
        .amount = t->amount,
        .balance_from = t->balance_from,
        .balance_to = t->balance_to,
        .version_from = t->version_from,
        .version_to = t->version_to,
        .occurred_us = c->now_us,
    };
    if (events_transfer_rows(c->topics, &ev, &rows[nrows], e) != 0) goto out;
    nrows += 2;
  }
  rc = outbox_insert_rows(conn, rows, nrows, e);
out:
  for (size_t k = 0; k < nrows; k++) outbox_row_free(&rows[k]);
  free(rows);
  return rc;
}

/* A retry after the body reached COMMIT: if the previous attempt's first transaction row
 * exists, that COMMIT landed and running again would move the money twice. */
static int previous_attempt_committed(db_conn *conn, apply_ctx *c, db_error *e) {
  for (size_t i = 0; i < c->n; i++) {
    if (c->items[i].state != ITEM_APPLIED) continue;
    transaction_row t;
    return tx_load(conn, c->items[i].txid, 0, &t, e);
  }
  return 0;
}

static int apply_tx(db_conn *conn, void *arg, db_error *e) {
  apply_ctx *c = arg;
  if (c->attempts++ > 0 && c->reached_commit) {
    int done = previous_attempt_committed(conn, c, e);
    if (done < 0) return -1;
    if (done) {
      c->already_committed = 1;
      return 1;
    }
  }
  c->reached_commit = 0;
  for (size_t i = 0; i < c->n; i++) {
    item *it = &c->items[i];
    it->claimed = 0;
    if (it->state == ITEM_INVALID) continue;
    it->state = ITEM_PENDING;
    memset(&c->results[i], 0, sizeof c->results[i]);
  }
  if (claim_keys(conn, c, e) != 0) return -1;
  if (lock_accounts(conn, c, e) != 0) return -1;
  apply_in_memory(c);
  if (write_changes(conn, c, e) != 0) return -1;
  c->reached_commit = 1;
  return 0;
}

static void validate_items(apply_ctx *c) {
  for (size_t i = 0; i < c->n; i++) {
    const transfer_request *rq = &c->reqs[i];
    item *it = &c->items[i];
    wallet_err *e = &c->results[i].err;
    it->state = ITEM_INVALID;
    uuid_v7(it->txid);
    if (validate_uuid("account_id_from", rq->account_id_from, it->from, e) != WALLET_OK) continue;
    if (validate_uuid("account_id_to", rq->account_id_to, it->to, e) != WALLET_OK) continue;
    if (validate_amount(rq->amount, e) != WALLET_OK) continue;
    if (strcmp(it->from, it->to) == 0) {
      wallet_err_set(e, WALLET_INVALID, "account_id_from and account_id_to must differ");
      continue;
    }
    if (rq->idempotency_key != NULL && validate_idempotency_key(rq->idempotency_key, e) != WALLET_OK) {
      continue;
    }
    snprintf(it->fingerprint, sizeof it->fingerprint, "%s:%s:%" PRId64, it->from, it->to,
             rq->amount);
    it->state = ITEM_PENDING;
  }
}

int transfers_apply(db_conn *conn, const wallet_topics *topics, const transfer_request *reqs,
                    transfer_result *results, size_t n, wallet_err *fatal) {
  fatal->rc = WALLET_OK;
  fatal->msg[0] = '\0';
  memset(results, 0, n * sizeof *results);
  if (n == 0) return 0;
  apply_ctx c = {.topics = topics, .reqs = reqs, .results = results, .n = n};
  c.items = calloc(n, sizeof *c.items);
  c.accts = calloc(2 * n, sizeof *c.accts);
  c.keyidx = calloc(2 * n, sizeof *c.keyidx);
  c.uniq = calloc(n, sizeof *c.uniq);
  int applied = -1;
  if (c.items == NULL || c.accts == NULL || c.keyidx == NULL || c.uniq == NULL) {
    wallet_err_set(fatal, WALLET_INTERNAL, "out of memory applying %zu transfers", n);
    goto fail;
  }
  validate_items(&c);
  size_t valid = 0;
  for (size_t i = 0; i < n; i++) valid += c.items[i].state == ITEM_PENDING;
  if (valid == 0) {
    applied = 0;
    goto out;
  }
  c.now_us = time_now_us();
  db_error dbe = {0};
  int rc = db_transaction(conn, apply_tx, &c, DB_TX_ATTEMPTS, &dbe);
  if (rc < 0) {
    if (c.reached_commit && db_error_is_connection(&dbe)) {
      wallet_err_set(fatal, WALLET_OUTCOME_UNKNOWN,
                     "database connection lost during commit: outcome unknown; retry with "
                     "the same Idempotency-Key");
    } else {
      wallet_err_from_db(fatal, &dbe, "applying a transfer");
    }
    log_warn("transfers: %s", fatal->msg);
    goto fail;
  }
  applied = 0;
  for (size_t i = 0; i < n; i++) {
    item *it = &c.items[i];
    if (it->state == ITEM_APPLIED) applied++;
    if (it->state == ITEM_DUP) {
      results[i] = results[it->dup_of];
      if (results[i].err.rc == WALLET_OK) results[i].replayed = 1;
    }
  }
  if (c.already_committed) {
    log_info("transfers: a retry found the previous COMMIT had landed; not applying twice");
  }
  goto out;
fail:
  for (size_t i = 0; i < n; i++) {
    if (c.items == NULL || c.items[i].state != ITEM_INVALID) results[i].err = *fatal;
  }
  applied = -1;
out:
  free(c.items);
  free(c.accts);
  free(c.keyidx);
  free(c.uniq);
  return applied;
}

wallet_rc transfers_get(db_conn *conn, const char *id, transaction_row *out, wallet_err *e) {
  char nid[UUID_STR_LEN];
  if (validate_uuid("id", id, nid, e) != WALLET_OK) return e->rc;
  db_error dbe;
  int found = tx_load(conn, nid, 0, out, &dbe);
  if (found < 0) return wallet_err_from_db(e, &dbe, "reading a transaction");
  if (!found) return wallet_err_set(e, WALLET_NOT_FOUND, "transaction %s not found", nid);
  return WALLET_OK;
}
