/* balance_reader: answers GET /balances/{id} in groups, the read side of group commit.
 * Handlers queue a lookup and defer their call; one thread takes what is queued and
 * reads all of it with ONE SELECT ... WHERE account_id IN (...), then finishes each
 * call. Under load a database round trip serves dozens of requests instead of one.
 *
 * A lookup with min_version that the row has not reached waits without holding a
 * thread: it is read again with the next group after the projector commits
 * (apply_notify) or after a slice (another balances instance may be the one applying),
 * and at its deadline it is answered with what the read model has, marked stale.
 *
 * While the in-memory view (balance_view.h) is live, the handler answers plain lookups
 * from it and only ?min_version ones come here: read-your-writes means the table (which
 * history and as_of read too) has the version, and the view may be ahead of the table. */
#ifndef BALANCES_BALANCE_READER_H
#define BALANCES_BALANCE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "apply_notify.h"
#include "db.h"
#include "http_server.h"
#include "wallet/v1/balances.pb-c.h"

typedef struct balance_reader balance_reader;

typedef struct balance_reader_config {
  db_pool *pool;          /* one connection per group, given back after */
  apply_notify *notify;   /* may be NULL: waiters re-read every slice only */
  int max_batch;          /* lookups per SELECT; 0 means 256 */
  int wait_slice_ms;      /* re-read of waiting lookups without a commit; 0 means 25 */
  int acquire_timeout_ms; /* waiting for a pooled connection; 0 means 2000 */
} balance_reader_config;

/* Starts the thread. NULL with err filled on OOM or thread failure. */
balance_reader *balance_reader_start(const balance_reader_config *cfg, char *err,
                                     size_t errlen);

/* Takes over a deferred call (http_call_defer done by the caller): fills *out and
 * finishes the call later. account_id is canonical (copied); min_version 0 means no
 * wait; deadline_ms is on time_mono_ms's clock. After stop: finished at once, 503. */
void balance_reader_submit(balance_reader *r, http_call *call, Wallet__V1__Balance *out,
                           const char *account_id, int64_t min_version, int64_t deadline_ms);

/* Answers everything queued (waiting lookups at once, as if at their deadline), joins
 * the thread and frees. Stop the HTTP server first: it waits for these answers. NULL is
 * a no-op. */
void balance_reader_stop(balance_reader *r);

#endif
