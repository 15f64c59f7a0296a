/* history_handlers: GET /balances (listing), GET /balances/{id}/history and the as_of form
 * of GET /balances/{id}. The listing and history routes are `blocking` (they run on the
 * server's workers); ?as_of arrives on the event-loop route of GetBalance, so it is
 * deferred to the as_of worker here, a thread of its own with a queue. */
#ifndef BALANCES_HISTORY_HANDLERS_H
#define BALANCES_HISTORY_HANDLERS_H

#include <stdint.h>

#include "db.h"
#include "http_server.h"
#include "wallet/v1/balances.pb-c.h"

typedef struct as_of_worker as_of_worker;

/* Starts the worker (one thread, one pooled connection per lookup). NULL on failure. */
as_of_worker *as_of_worker_start(db_pool *pool, char *err, size_t errlen);

/* Answers what is queued, joins and frees. Stop the HTTP server first. NULL: no-op. */
void as_of_worker_stop(as_of_worker *w);

/* The as_of branch of GetBalance: account is canonical, at_us parsed. With w NULL
 * (tests without a worker) the lookup runs inline. The call is deferred and finished. */
void as_of_submit(as_of_worker *w, db_pool *pool, http_call *call, Wallet__V1__Balance *out,
                  const char *account, int64_t at_us);

/* Parses an RFC 3339 instant ("2026-01-02T10:00:00Z", offsets and fractions allowed).
 * 0, or -1. */
int as_of_parse(const char *s, int64_t *at_us);

/* balances_list_balances (GET /balances) and balances_get_history
 * (GET /balances/{account_id}/history) are declared in the generated balances_api.h. */

#endif
