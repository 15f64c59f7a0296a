/* handlers_health: GET /healthz (process up), GET /readyz (database and Kafka). */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "handlers.h"
#include "wallet/v1/health.pb-c.h"

#define READY_ACQUIRE_MS 1000
#define READY_KAFKA_MS 1000

rpc_code handlers_health(http_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp,
                         rpc_status *st) {
  ((Wallet__V1__HealthResponse *)resp)->status = (char *)"ok";
  return RPC_OK;
}

static Wallet__V1__DependencyStatus *dep(http_call *call, const char *name, int ok,
                                         const char *detail) {
  Wallet__V1__DependencyStatus *d = (Wallet__V1__DependencyStatus *)http_call_new_message(
      call, &wallet__v1__dependency_status__descriptor);
  if (d == NULL) return NULL;
  d->name = (char *)name;
  d->ok = ok;
  d->detail = handlers_str(call, detail);
  return d;
}

rpc_code handlers_ready(http_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp,
                        rpc_status *st) {
  wallet_app *app = http_call_app(call);
  Wallet__V1__HealthResponse *out = (Wallet__V1__HealthResponse *)resp;

  char db_detail[256] = "";
  db_error e;
  db_conn *conn = db_pool_acquire(app->pool, READY_ACQUIRE_MS, &e);
  int db_ok = conn != NULL && db_ping(conn, &e) == 0;
  if (!db_ok) snprintf(db_detail, sizeof db_detail, "%s", e.message);
  if (conn != NULL) db_pool_release(app->pool, conn);

  char kafka_detail[256] = "";
  int kafka_ok = outbox_relay_kafka_check(app->relay, READY_KAFKA_MS, kafka_detail,
                                          sizeof kafka_detail) == 0;

  out->dependencies = http_call_alloc(call, 2 * sizeof *out->dependencies);
  if (out->dependencies == NULL) return rpc_status_set(st, RPC_INTERNAL, "out of memory");
  out->dependencies[0] = dep(call, "database", db_ok, db_detail);
  out->dependencies[1] = dep(call, "kafka", kafka_ok, kafka_detail);
  if (out->dependencies[0] == NULL || out->dependencies[1] == NULL) {
    return rpc_status_set(st, RPC_INTERNAL, "out of memory");
  }
  out->n_dependencies = 2;
  if (db_ok && kafka_ok) {
    out->status = (char *)"ok";
    return RPC_OK;
  }
  /* The gateway sends the error shape on a non-OK code: the message names what is down. */
  return rpc_status_set(st, RPC_UNAVAILABLE, "not ready:%s%s%s%s",
                        db_ok ? "" : " database: ", db_ok ? "" : db_detail,
                        kafka_ok ? "" : " kafka: ", kafka_ok ? "" : kafka_detail);
}
