/* pbtypes: the compiled-in registry of every protobuf message type, by full name. */
#include "pbtypes.h"

#include <string.h>

#include "google/protobuf/timestamp.pb-c.h"
#include "wallet/v1/balances.pb-c.h"
#include "wallet/v1/events.pb-c.h"
#include "wallet/v1/health.pb-c.h"
#include "wallet/v1/outbox.pb-c.h"
#include "wallet/v1/wallet_core.pb-c.h"

/* Kept sorted by full name (strcmp order) for the binary search; test_pbtypes checks the
 * order and that no generated message is missing. A new message in proto/ goes here. */
static const ProtobufCMessageDescriptor *const pbtypes_table[] = {
    &google__protobuf__timestamp__descriptor,
    &wallet__v1__account__descriptor,
    &wallet__v1__account_created__descriptor,
    &wallet__v1__balance__descriptor,
    &wallet__v1__balance_updated__descriptor,
    &wallet__v1__client__descriptor,
    &wallet__v1__create_account_request__descriptor,
    &wallet__v1__create_client_request__descriptor,
    &wallet__v1__create_transaction_request__descriptor,
    &wallet__v1__dependency_status__descriptor,
    &wallet__v1__get_account_request__descriptor,
    &wallet__v1__get_balance_request__descriptor,
    &wallet__v1__get_client_request__descriptor,
    &wallet__v1__get_history_request__descriptor,
    &wallet__v1__get_history_response__descriptor,
    &wallet__v1__get_transaction_request__descriptor,
    &wallet__v1__health_request__descriptor,
    &wallet__v1__health_response__descriptor,
    &wallet__v1__history_entry__descriptor,
    &wallet__v1__list_account_transactions_request__descriptor,
    &wallet__v1__list_account_transactions_response__descriptor,
    &wallet__v1__list_accounts_request__descriptor,
    &wallet__v1__list_accounts_response__descriptor,
    &wallet__v1__list_balances_request__descriptor,
    &wallet__v1__list_balances_response__descriptor,
    &wallet__v1__list_clients_request__descriptor,
    &wallet__v1__list_clients_response__descriptor,
    &wallet__v1__outbox_batch__descriptor,
    &wallet__v1__outbox_record__descriptor,
    &wallet__v1__statement_entry__descriptor,
    &wallet__v1__transaction__descriptor,
    &wallet__v1__transaction_created__descriptor,
};

#define PBTYPES_COUNT (sizeof pbtypes_table / sizeof pbtypes_table[0])

const ProtobufCMessageDescriptor *pbtypes_find(const char *full_name) {
  if (!full_name) return NULL;
  size_t lo = 0, hi = PBTYPES_COUNT;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(full_name, pbtypes_table[mid]->name);
    if (c == 0) return pbtypes_table[mid];
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return NULL;
}

const ProtobufCMessageDescriptor *const *pbtypes_all(size_t *n) {
  if (n) *n = PBTYPES_COUNT;
  return pbtypes_table;
}
