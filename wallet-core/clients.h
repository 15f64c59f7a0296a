/* clients: the people who own accounts (create, get, list by id pages). */
#ifndef WALLET_CORE_CLIENTS_H
#define WALLET_CORE_CLIENTS_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "uuid.h"
#include "wallet_err.h"

typedef struct client_row {
  char id[UUID_STR_LEN];
  char name[4 * 255 + 1]; /* 255 UTF-8 characters */
  char email[255];
  int64_t created_us;
} client_row;

/* Validates name and email, inserts a client with a new UUIDv7 id, fills out. */
wallet_rc clients_create(db_conn *conn, const char *name, const char *email, client_row *out,
                         wallet_err *e);

/* By id (any case). WALLET_NOT_FOUND when there is none. */
wallet_rc clients_get(db_conn *conn, const char *id, client_row *out, wallet_err *e);

/* Up to `limit` clients with id > after (NULL or "" for the first page), in id order.
 * *rows is malloc'd (caller frees; NULL when *n is 0). *more is set when another page
 * exists. */
wallet_rc clients_list(db_conn *conn, const char *after, int limit, client_row **rows,
                       size_t *n, int *more, wallet_err *e);

#endif
