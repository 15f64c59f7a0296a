/* balances_handlers: thin HTTP handlers over the read model (the in-memory view, else the
 * balance_reader). */
#include "balances_handlers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance_message.h"
#include "history_handlers.h"
#include "read_model.h"
#include "timeutil.h"
#include "uuid.h"
#include "wallet/v1/balances.pb-c.h"
#include "wallet/v1/health.pb-c.h"

rpc_code balances_get_balance(http_call *call, const ProtobufCMessage *request,
                              ProtobufCMessage *response, rpc_status *st) {
  balances_app *app = http_call_app(call);
  const Wallet__V1__GetBalanceRequest *req = (const Wallet__V1__GetBalanceRequest *)request;
  char id[UUID_STR_LEN];
  if (!uuid_normalize(req->account_id, id)) {
    return rpc_status_set(st, RPC_INVALID_ARGUMENT, "account_id: not a UUID: \"%.64s\"",
                          req->account_id);
  }
  if (req->min_version < 0) {
    return rpc_status_set(st, RPC_INVALID_ARGUMENT, "min_version: must be >= 0, got %" PRId64,
                          req->min_version);
  }
  if (req->as_of[0] != '\0') {
    int64_t at_us = 0;
    if (req->min_version != 0) {
      return rpc_status_set(st, RPC_INVALID_ARGUMENT,
                            "as_of and min_version cannot be combined");
    }
    if (as_of_parse(req->as_of, &at_us) != 0) {
      return rpc_status_set(st, RPC_INVALID_ARGUMENT,
                            "as_of: not an RFC 3339 time (e.g. 2026-01-02T10:00:00Z; write"
                            " a + offset as %%2B): \"%.64s\"",
                            req->as_of);
    }
    /* From the history, on the as_of worker (the event loop must not wait for SQL). */
    as_of_submit(app->as_of, app->pool, call, (Wallet__V1__Balance *)response, id, at_us);
    return RPC_OK;
  }
  /* A plain read: the in-memory view answers on the event loop (a hash lookup, no round
   * trip). A ?min_version read is read-your-writes for the whole read model: it waits
   * for the table, which history and as_of read too; the view may be ahead of it. */
  if (req->min_version == 0 && balance_view_live(app->view)) {
    rm_update row;
    if (!balance_view_get(app->view, id, &row)) {
      return rpc_status_set(st, RPC_NOT_FOUND, BALANCE_NOT_FOUND_FMT, id);
    }
    return balance_message_fill(call, (Wallet__V1__Balance *)response, &row, false)
               ? RPC_OK
               : rpc_status_set(st, RPC_RESOURCE_EXHAUSTED, "out of memory");
  }
  int64_t bound = app->min_version_wait_ms > 0 ? app->min_version_wait_ms : 2000;
  /* The reader answers, with one SELECT for every lookup queued meanwhile. */
  http_call_defer(call);
  balance_reader_submit(app->reader, call, (Wallet__V1__Balance *)response, id,
                        req->min_version, time_mono_ms() + bound);
  return RPC_OK;
}

rpc_code balances_health(http_call *call, const ProtobufCMessage *request,
                         ProtobufCMessage *response, rpc_status *st) {
  Wallet__V1__HealthResponse *out = (Wallet__V1__HealthResponse *)response;
  out->status = http_call_strdup(call, "ok");
  return out->status ? RPC_OK : rpc_status_set(st, RPC_RESOURCE_EXHAUSTED, "out of memory");
}

/* Appends one dependency to out (storage from the call). false on OOM. */
static bool add_dep(http_call *call, Wallet__V1__HealthResponse *out, const char *name,
                    bool ok, const char *detail) {
  Wallet__V1__DependencyStatus *d = (Wallet__V1__DependencyStatus *)http_call_new_message(
      call, &wallet__v1__dependency_status__descriptor);
  if (d == NULL) return false;
  d->name = http_call_strdup(call, name);
  d->ok = ok;
  d->detail = http_call_strdup(call, ok ? "" : detail);
  if (d->name == NULL || d->detail == NULL) return false;
  out->dependencies[out->n_dependencies++] = d;
  return true;
}

rpc_code balances_ready(http_call *call, const ProtobufCMessage *request,
                        ProtobufCMessage *response, rpc_status *st) {
  balances_app *app = http_call_app(call);
  Wallet__V1__HealthResponse *out = (Wallet__V1__HealthResponse *)response;
  out->dependencies = http_call_alloc(call, 4 * sizeof *out->dependencies);
  if (out->dependencies == NULL) goto oom;

  char detail[300] = "";
  db_error e = {0};
  bool db_ok = false;
  db_conn *conn = db_pool_acquire(app->pool, 1000, &e);
  if (conn != NULL) {
    db_ok = db_ping(conn, &e) == 0;
    db_pool_release(app->pool, conn);
  }
  if (!db_ok) snprintf(detail, sizeof detail, "%s", e.message);
  if (!add_dep(call, out, "database", db_ok, detail)) goto oom;

  bool consumer_ok = false, kafka_ok = false, projector_ok = false;
  /* main sets it once Kafka has the topics, while handlers may be running. */
  projector *proj = __atomic_load_n(&app->projector, __ATOMIC_ACQUIRE);
  if (proj == NULL) {
    snprintf(detail, sizeof detail, "projector not running");
  } else {
    projector_status ps;
    projector_get_status(proj, &ps);
    kafka_ok = projector_kafka_probe(proj, 1000, detail, sizeof detail) == 0;
    if (!add_dep(call, out, "kafka", kafka_ok, detail)) goto oom;
    consumer_ok = ps.assigned;
    snprintf(detail, sizeof detail, "%s",
             ps.ever_assigned ? "no partitions assigned (rebalancing?)"
                              : "waiting for partition assignment");
    if (!add_dep(call, out, "consumer", consumer_ok, detail)) goto oom;
    projector_ok = ps.db_ok && ps.dlq_ok;
    snprintf(detail, sizeof detail, "%s",
             !ps.db_ok ? "retrying a batch: database writes failing"
                       : "retrying a batch: dead-letter topic not accepting records");
  }
  if (!add_dep(call, out, "projector", projector_ok, detail)) goto oom;

  bool ready = db_ok && kafka_ok && consumer_ok && projector_ok;
  out->status = http_call_strdup(call, ready ? "ok" : "unavailable");
  if (out->status == NULL) goto oom;
  if (!ready) http_call_set_status(call, 503);
  return RPC_OK;
oom:
  return rpc_status_set(st, RPC_RESOURCE_EXHAUSTED, "out of memory");
}
