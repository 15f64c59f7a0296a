/* accounts: create (with its event), get and list accounts. */
#include "accounts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbtime.h"
#include "paging.h"
#include "timeutil.h"
#include "validate.h"

#define ACCOUNT_COLUMNS "id, client_id, balance, version, created_at"
#define DB_TX_ATTEMPTS 5

static void account_from_row(const db_rows *r, size_t i, account_row *out) {
  snprintf(out->id, sizeof out->id, "%s", db_rows_str(r, i, 0, NULL));
  snprintf(out->client_id, sizeof out->client_id, "%s", db_rows_str(r, i, 1, NULL));
  out->balance = db_rows_i64(r, i, 2);
  out->version = db_rows_i64(r, i, 3);
  if (dbtime_parse(db_rows_str(r, i, 4, NULL), &out->created_us) != 0) out->created_us = 0;
}

typedef struct create_ctx {
  const wallet_topics *topics;
  account_row *acc;
  wallet_err *e;
  int attempts;
  int reached_commit; /* the last attempt's body finished: COMMIT was next */
} create_ctx;

static int create_tx(db_conn *conn, void *arg, db_error *dbe) {
  create_ctx *c = arg;
  db_rows *r = NULL;
  c->reached_commit = 0;
  if (c->attempts++ > 0) {
    /* A retry (after a deadlock, or a connection lost before COMMIT): if an earlier
     * attempt did commit, our new id is there, and inserting again would fail. */
    const db_param id[] = {DB_P_STR(c->acc->id)};
    if (db_query(conn, "SELECT 1 FROM accounts WHERE id = ?", id, 1, &r, dbe) != 0) return -1;
    size_t done = db_rows_count(r);
    db_rows_free(r);
    r = NULL;
    if (done > 0) {
      c->e->rc = WALLET_OK;
      return 1;
    }
  }
  const db_param q[] = {DB_P_STR(c->acc->client_id)};
  /* A shared lock keeps the client from vanishing before our insert (the FK would catch
   * it too, with a less helpful message). */
  if (db_query(conn, "SELECT id FROM clients WHERE id = ? LOCK IN SHARE MODE", q, 1, &r,
               dbe) != 0) {
    return -1;
  }
  size_t found = db_rows_count(r);
  db_rows_free(r);
  if (found == 0) {
    wallet_err_set(c->e, WALLET_NOT_FOUND, "client %s not found", c->acc->client_id);
    return 1;
  }
  char when[DBTIME_LEN];
  dbtime_format(c->acc->created_us, when);
  const db_param p[] = {DB_P_STR(c->acc->id), DB_P_STR(c->acc->client_id), DB_P_I64(0),
                        DB_P_I64(1), DB_P_STR(when), DB_P_STR(when)};
  if (db_exec(conn,
              "INSERT INTO accounts (id, client_id, balance, version, created_at, updated_at) "
              "VALUES (?, ?, ?, ?, ?, ?)",
              p, 6, NULL, dbe) != 0) {
    return -1;
  }
  if (events_account_created(conn, c->topics, c->acc->id, c->acc->client_id, 0, 1,
                             c->acc->created_us, dbe) != 0) {
    return -1;
  }
  c->reached_commit = 1;
  return 0;
}

wallet_rc accounts_create(db_conn *conn, const wallet_topics *topics, const char *client_id,
                          account_row *out, wallet_err *e) {
  memset(out, 0, sizeof *out);
  if (validate_uuid("client_id", client_id, out->client_id, e) != WALLET_OK) return e->rc;
  uuid_v7(out->id);
  out->balance = 0;
  out->version = 1;
  out->created_us = time_now_us();
  create_ctx c = {topics, out, e, 0, 0};
  e->rc = WALLET_OK;
  db_error dbe = {0};
  int rc = db_transaction(conn, create_tx, &c, DB_TX_ATTEMPTS, &dbe);
  if (rc == 1) return e->rc;
  if (rc != 0 && c.reached_commit && db_error_is_connection(&dbe)) {
    /* Without an idempotency key the client cannot simply retry: it would open a second
     * account if this one did commit. Name the id so it can look. */
    return wallet_err_set(e, WALLET_OUTCOME_UNKNOWN,
                          "database connection lost during commit: account %s may or may "
                          "not exist; GET /accounts/%s tells before you retry",
                          out->id, out->id);
  }
  if (rc != 0) return wallet_err_from_db(e, &dbe, "creating an account");
  return WALLET_OK;
}

wallet_rc accounts_get(db_conn *conn, const char *id, account_row *out, wallet_err *e) {
  char nid[UUID_STR_LEN];
  if (validate_uuid("id", id, nid, e) != WALLET_OK) return e->rc;
  db_rows *r = NULL;
  db_error dbe;
  const db_param p[] = {DB_P_STR(nid)};
  if (db_query(conn, "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE id = ?", p, 1, &r,
               &dbe) != 0) {
    return wallet_err_from_db(e, &dbe, "reading an account");
  }
  wallet_rc rc = WALLET_OK;
  if (db_rows_count(r) == 0) {
    rc = wallet_err_set(e, WALLET_NOT_FOUND, "account %s not found", nid);
  } else {
    account_from_row(r, 0, out);
  }
  db_rows_free(r);
  return rc;
}

static void account_from_page_row(const db_rows *r, size_t i, void *dst) {
  account_from_row(r, i, dst);
}

wallet_rc accounts_list(db_conn *conn, const char *after, int limit, account_row **rows,
                        size_t *n, int *more, wallet_err *e) {
  void *page = NULL;
  wallet_rc rc =
      paging_query(conn,
                   "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE id > ? ORDER BY id LIMIT ?",
                   after, limit, sizeof **rows, account_from_page_row, &page, n, more,
                   "listing accounts", e);
  *rows = page;
  return rc;
}
