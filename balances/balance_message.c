/* balance_message: row -> wallet.v1.Balance. */
#include "balance_message.h"

#include "timeutil.h"

bool balance_message_fill(http_call *call, Wallet__V1__Balance *out, const rm_update *row,
                          bool stale) {
  Google__Protobuf__Timestamp *ts = (Google__Protobuf__Timestamp *)http_call_new_message(
      call, &google__protobuf__timestamp__descriptor);
  out->account_id = http_call_strdup(call, row->account_id);
  if (ts == NULL || out->account_id == NULL) return false;
  time_to_timestamp(row->updated_at_us, ts);
  out->balance = row->balance;
  out->version = row->version;
  out->updated_at = ts;
  out->stale = stale;
  if (stale) http_call_set_header(call, "X-Read-Model-Stale", "true");
  return true;
}
