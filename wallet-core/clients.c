/* clients: create, get and list clients. */
#include "clients.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbtime.h"
#include "paging.h"
#include "timeutil.h"
#include "validate.h"

#define CLIENT_COLUMNS "id, name, email, created_at"

static void client_from_row(const db_rows *r, size_t i, client_row *out) {
  snprintf(out->id, sizeof out->id, "%s", db_rows_str(r, i, 0, NULL));
  snprintf(out->name, sizeof out->name, "%s", db_rows_str(r, i, 1, NULL));
  snprintf(out->email, sizeof out->email, "%s", db_rows_str(r, i, 2, NULL));
  if (dbtime_parse(db_rows_str(r, i, 3, NULL), &out->created_us) != 0) out->created_us = 0;
}

wallet_rc clients_create(db_conn *conn, const char *name, const char *email, client_row *out,
                         wallet_err *e) {
  if (validate_name(name, e) != WALLET_OK) return e->rc;
  if (validate_email(email, e) != WALLET_OK) return e->rc;
  memset(out, 0, sizeof *out);
  uuid_v7(out->id);
  snprintf(out->name, sizeof out->name, "%s", name);
  snprintf(out->email, sizeof out->email, "%s", email);
  out->created_us = time_now_us();
  char when[DBTIME_LEN];
  dbtime_format(out->created_us, when);
  const db_param p[] = {DB_P_STR(out->id), DB_P_STR(name), DB_P_STR(email), DB_P_STR(when),
                        DB_P_STR(when)};
  db_error dbe;
  if (db_exec(conn,
              "INSERT INTO clients (id, name, email, created_at, updated_at) "
              "VALUES (?, ?, ?, ?, ?)",
              p, 5, NULL, &dbe) != 0) {
    return wallet_err_from_db(e, &dbe, "creating a client");
  }
  return WALLET_OK;
}

wallet_rc clients_get(db_conn *conn, const char *id, client_row *out, wallet_err *e) {
  char nid[UUID_STR_LEN];
  if (validate_uuid("id", id, nid, e) != WALLET_OK) return e->rc;
  db_rows *r = NULL;
  db_error dbe;
  const db_param p[] = {DB_P_STR(nid)};
  if (db_query(conn, "SELECT " CLIENT_COLUMNS " FROM clients WHERE id = ?", p, 1, &r, &dbe) !=
      0) {
    return wallet_err_from_db(e, &dbe, "reading a client");
  }
  wallet_rc rc = WALLET_OK;
  if (db_rows_count(r) == 0) {
    rc = wallet_err_set(e, WALLET_NOT_FOUND, "client %s not found", nid);
  } else {
    client_from_row(r, 0, out);
  }
  db_rows_free(r);
  return rc;
}

static void client_from_page_row(const db_rows *r, size_t i, void *dst) {
  client_from_row(r, i, dst);
}

wallet_rc clients_list(db_conn *conn, const char *after, int limit, client_row **rows,
                       size_t *n, int *more, wallet_err *e) {
  void *page = NULL;
  wallet_rc rc =
      paging_query(conn, "SELECT " CLIENT_COLUMNS " FROM clients WHERE id > ? ORDER BY id LIMIT ?",
                   after, limit, sizeof **rows, client_from_page_row, &page, n, more,
                   "listing clients", e);
  *rows = page;
  return rc;
}
