/* paging: keyset pagination shared by the list endpoints (GET /clients, GET /accounts).
 * Owned by wallet-core; a page is "rows with id > page_token, ordered by id". */
#ifndef WALLET_CORE_PAGING_H
#define WALLET_CORE_PAGING_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "http_server.h"
#include "uuid.h"
#include "wallet_err.h"

#define PAGING_DEFAULT 100
#define PAGING_MAX 1000

/* One validated page request: limit in [1, PAGING_MAX]; after is "" for the first page. */
typedef struct {
  int limit;
  char after[UUID_STR_LEN];
} paging_req;

/* Validates a request's page_size and page_token (a UUID or empty). */
wallet_rc paging_parse(int32_t page_size, const char *page_token, paging_req *out,
                       wallet_err *e);

/* Decodes row i of a result into dst (an element of the caller's row array). */
typedef void (*paging_row_fn)(const db_rows *r, size_t i, void *dst);

/* Runs `sql` (SELECT ... WHERE id > ? ORDER BY id LIMIT ?) for the page after `after` and
 * decodes up to `limit` rows of row_size bytes into a calloc'd *rows (NULL when empty; the
 * caller frees it); *more says whether a next page exists. `what` names the query in errors
 * ("listing accounts"). */
wallet_rc paging_query(db_conn *conn, const char *sql, const char *after, int limit,
                       size_t row_size, paging_row_fn from_row, void **rows, size_t *n,
                       int *more, const char *what, wallet_err *e);

/* One kind of listed row: how to list a page of it, and how to show it. */
typedef wallet_rc (*paging_list_fn)(db_conn *conn, const char *after, int limit, void **rows,
                                    size_t *n, int *more, wallet_err *e);
typedef void (*paging_fill_fn)(http_call *call, const void *row, ProtobufCMessage *msg);
typedef struct paging_spec {
  paging_list_fn list;
  size_t row_size;
  size_t id_offset; /* offsetof(row, id): the last row's id is the next page token */
  const ProtobufCMessageDescriptor *item;
  paging_fill_fn fill;
} paging_spec;

/* A whole list handler: validates page_size/page_token, lists one page on a pooled
 * connection, and fills *items (n_items messages of type spec->item, the call's memory) and,
 * when more rows follow, *next_page_token. Returns the rpc code (st filled when not OK). */
rpc_code paging_handle(http_call *call, const paging_spec *spec, int32_t page_size,
                       const char *page_token, ProtobufCMessage ***items, size_t *n_items,
                       char **next_page_token, rpc_status *st);

#endif
