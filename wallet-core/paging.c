/* paging: keyset pagination shared by the list endpoints (GET /clients, GET /accounts). */
#include "paging.h"

#include <stdlib.h>
#include <string.h>

#include "handlers.h"
#include "validate.h"

wallet_rc paging_parse(int32_t page_size, const char *page_token, paging_req *out,
                       wallet_err *e) {
  out->after[0] = '\0';
  if (validate_page_size(page_size, PAGING_DEFAULT, PAGING_MAX, &out->limit, e) != WALLET_OK) {
    return e->rc;
  }
  if (page_token != NULL && page_token[0] != '\0' &&
      validate_uuid("page_token", page_token, out->after, e) != WALLET_OK) {
    return e->rc;
  }
  return WALLET_OK;
}

wallet_rc paging_query(db_conn *conn, const char *sql, const char *after, int limit,
                       size_t row_size, paging_row_fn from_row, void **rows, size_t *n,
                       int *more, const char *what, wallet_err *e) {
  *rows = NULL;
  *n = 0;
  *more = 0;
  char nafter[UUID_STR_LEN] = "";
  if (after != NULL && *after != '\0' &&
      validate_uuid("page_token", after, nafter, e) != WALLET_OK) {
    return e->rc;
  }
  db_rows *r = NULL;
  db_error dbe;
  /* limit + 1 rows: the extra one only says whether there is a next page. */
  const db_param p[] = {DB_P_STR(nafter), DB_P_I64(limit + 1)};
  if (db_query(conn, sql, p, 2, &r, &dbe) != 0) return wallet_err_from_db(e, &dbe, what);
  size_t count = db_rows_count(r);
  if (count > (size_t)limit) {
    *more = 1;
    count = (size_t)limit;
  }
  wallet_rc rc = WALLET_OK;
  if (count > 0) {
    char *out = calloc(count, row_size);
    if (out == NULL) {
      rc = wallet_err_set(e, WALLET_INTERNAL, "out of memory %s", what);
      goto out;
    }
    for (size_t i = 0; i < count; i++) from_row(r, i, out + i * row_size);
    *rows = out;
    *n = count;
  }
out:
  db_rows_free(r);
  return rc;
}

/* (*out)[k] = a new message of type d filled from rows[k]. */
static rpc_code paging_fill(http_call *call, const void *rows, size_t n, size_t row_size,
                            const ProtobufCMessageDescriptor *d, paging_fill_fn fill,
                            ProtobufCMessage ***out, size_t *n_out, rpc_status *st) {
  *out = http_call_alloc(call, (n ? n : 1) * sizeof **out);
  if (*out == NULL) return rpc_status_set(st, RPC_INTERNAL, "out of memory");
  for (size_t i = 0; i < n; i++) {
    ProtobufCMessage *m = http_call_new_message(call, d);
    if (m == NULL) return rpc_status_set(st, RPC_INTERNAL, "out of memory");
    fill(call, (const char *)rows + i * row_size, m);
    (*out)[(*n_out)++] = m;
  }
  return RPC_OK;
}

rpc_code paging_handle(http_call *call, const paging_spec *spec, int32_t page_size,
                       const char *page_token, ProtobufCMessage ***items, size_t *n_items,
                       char **next_page_token, rpc_status *st) {
  wallet_err e = {0};
  paging_req page;
  if (paging_parse(page_size, page_token, &page, &e) != WALLET_OK) {
    return wallet_err_to_rpc(&e, st);
  }
  db_conn *conn = handlers_acquire(call, st);
  if (conn == NULL) return st->code;
  void *rows = NULL;
  size_t n = 0;
  int more = 0;
  wallet_rc rc = spec->list(conn, page.after, page.limit, &rows, &n, &more, &e);
  handlers_release(call, conn);
  if (rc != WALLET_OK) return wallet_err_to_rpc(&e, st);
  rpc_code code = paging_fill(call, rows, n, spec->row_size, spec->item, spec->fill, items,
                              n_items, st);
  if (code == RPC_OK && more && n > 0) {
    const char *last = (const char *)rows + (n - 1) * spec->row_size;
    *next_page_token = handlers_str(call, last + spec->id_offset);
  }
  free(rows);
  return code;
}
