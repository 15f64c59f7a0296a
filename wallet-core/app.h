/* app: what wallet-core's handlers share (handed to them through http_call_app). */
#ifndef WALLET_CORE_APP_H
#define WALLET_CORE_APP_H

#include "db.h"
#include "events.h"
#include "outbox_relay.h"
#include "transfer_batcher.h"

typedef struct wallet_app {
  db_pool *pool;             /* request connections */
  outbox_relay *relay;       /* NULL: nothing to wake, and /readyz reports Kafka down */
  wallet_topics topics;      /* where events go */
  int acquire_timeout_ms;    /* waiting for a pooled connection; 0 means 5000 */
  transfer_batcher *batcher; /* group commit of POST /transactions; NULL: one DB
                                transaction per request (the handler applies it) */
} wallet_app;

#endif
