/* handlers_common: connection and memory helpers every wallet-core handler uses. */
#include "handlers.h"

#include "app.h"
#include "timeutil.h"

#define DEFAULT_ACQUIRE_TIMEOUT_MS 5000

db_conn *handlers_acquire(http_call *call, rpc_status *st) {
  wallet_app *app = http_call_app(call);
  db_error e;
  int timeout = app->acquire_timeout_ms > 0 ? app->acquire_timeout_ms
                                            : DEFAULT_ACQUIRE_TIMEOUT_MS;
  db_conn *conn = db_pool_acquire(app->pool, timeout, &e);
  if (conn == NULL) {
    rpc_status_set(st, RPC_UNAVAILABLE, "database unavailable: %s", e.message);
  }
  return conn;
}

void handlers_release(http_call *call, db_conn *conn) {
  wallet_app *app = http_call_app(call);
  db_pool_release(app->pool, conn);
}

Google__Protobuf__Timestamp *handlers_timestamp(http_call *call, int64_t epoch_us) {
  Google__Protobuf__Timestamp *ts = (Google__Protobuf__Timestamp *)http_call_new_message(
      call, &google__protobuf__timestamp__descriptor);
  if (ts != NULL) time_to_timestamp(epoch_us, ts);
  return ts;
}

char *handlers_str(http_call *call, const char *s) {
  char *d = http_call_strdup(call, s);
  return d != NULL ? d : (char *)"";
}
