/* balances_handlers: the balances HTTP API (GetBalance, Health, Ready) as protobuf handlers. */
#ifndef BALANCES_BALANCES_HANDLERS_H
#define BALANCES_BALANCES_HANDLERS_H

#include <stdint.h>

#include "apply_notify.h"
#include "balances_api.h" /* the handlers, one per rpc (generated) */
#include "balance_reader.h"
#include "balance_view.h"
#include "db.h"
#include "http_server.h"
#include "projector.h"

typedef struct as_of_worker as_of_worker; /* history_handlers.h */

/* What the handlers need; handed to the server as http_server_config.app. All borrowed. */
typedef struct balances_app {
  db_pool *pool;
  balance_reader *reader;      /* answers GET /balances/{id} */
  balance_view *view;          /* may be NULL; when live, answers GET /balances/{id} inline */
  projector *projector;        /* may be NULL (tests without Kafka): /readyz says so */
  int64_t min_version_wait_ms; /* bound of a ?min_version wait; 0 means 2000 */
  as_of_worker *as_of;         /* answers ?as_of lookups; NULL: inline (tests) */
} balances_app;

#endif
