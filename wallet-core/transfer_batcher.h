/* transfer_batcher: group commit for POST /transactions. Handlers enqueue a transfer and
 * wait for its result; a few batcher threads, each with a pooled connection, take up to
 * max_batch queued transfers and apply them with ONE transfers_apply (one DB transaction,
 * one fsync), then answer every waiter. A request is answered only after its group has
 * committed; a transfer failing its checks does not fail its neighbours; a request that
 * cannot be queued or waits too long gets 503 (UNAVAILABLE when it was never applied,
 * OUTCOME_UNKNOWN when its group was already running: retry with the Idempotency-Key). */
#ifndef WALLET_CORE_TRANSFER_BATCHER_H
#define WALLET_CORE_TRANSFER_BATCHER_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "events.h"
#include "outbox_relay.h"
#include "transfers.h"

typedef struct transfer_batcher transfer_batcher;

typedef struct transfer_batcher_config {
  db_pool *pool;              /* connections are taken per group, given back after */
  wallet_topics topics;       /* strings borrowed for the batcher's life */
  outbox_relay *relay;        /* woken once per committed group; NULL: none */
  int threads;                /* batcher threads; 0 means 2 */
  int max_batch;              /* transfers per DB transaction; 0 means 256 */
  int queue_max;              /* queued transfers before 503; 0 means 8192 */
  int wait_ms;                /* how long a request waits for its answer; 0 means 10000 */
  int acquire_timeout_ms;     /* waiting for a pooled connection; 0 means 5000 */
} transfer_batcher_config;

/* Starts the threads. NULL with err filled on bad configuration or OOM. */
transfer_batcher *transfer_batcher_start(const transfer_batcher_config *cfg, char *err,
                                         size_t errlen);

/* Queues *req (strings copied) and waits for its result in *out, like a transfers_apply
 * of one. Answers WALLET_UNAVAILABLE at once when the queue is full or the batcher is
 * stopping, and when wait_ms passes (WALLET_OUTCOME_UNKNOWN if its group had started). */
void transfer_batcher_submit(transfer_batcher *b, const transfer_request *req,
                             transfer_result *out);

/* Called once with the outcome of an async submit, from a batcher thread after the
 * group's COMMIT (or at once, from the caller's thread, when the transfer is refused
 * before queueing). r is valid during the call only. */
typedef void (*transfer_done_fn)(void *arg, const transfer_result *r);

/* Like transfer_batcher_submit without a waiting thread: done(arg, result) answers. A
 * transfer still queued after wait_ms is answered WALLET_UNAVAILABLE without being
 * applied; a transfer whose group has started is answered when the group ends (never
 * "unknown" for lack of patience: the database calls are bounded by their timeouts). */
void transfer_batcher_submit_async(transfer_batcher *b, const transfer_request *req,
                                   transfer_done_fn done, void *arg);

/* Stops taking new requests, applies and answers everything already queued, joins the
 * threads and frees. NULL is a no-op. */
void transfer_batcher_stop(transfer_batcher *b);

/* While paused, batcher threads take nothing from the queue (requests still queue up and
 * time out); resuming lets them take everything at once. Lets tests build a known group. */
void transfer_batcher_pause(transfer_batcher *b, int paused);

/* Transfers queued and not yet taken by a batcher thread (tests, metrics). */
size_t transfer_batcher_queued(transfer_batcher *b);

/* Counts outcomes of transfers into transfers_committed_total and
 * transfers_rejected_total{reason} (also used by the unbatched path). */
void transfer_batcher_count(const transfer_result *results, size_t n);

#endif
