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

/* Fills one page of a list response: (*out)[k] = a new message of type d filled by fill from
 * rows[k]; *n_out counts the messages. Allocation is the call's (freed with it). */
typedef void (*paging_fill_fn)(http_call *call, const void *row, ProtobufCMessage *msg);
rpc_code paging_fill(http_call *call, const void *rows, size_t n, size_t row_size,
                     const ProtobufCMessageDescriptor *d, paging_fill_fn fill,
                     ProtobufCMessage ***out, size_t *n_out, rpc_status *st);

#endif
