/* events: building AccountCreated, TransactionCreated and BalanceUpdated into the outbox. */
#include "events.h"

#include "outbox.h"
#include "timeutil.h"
#include "uuid.h"
#include "wallet/v1/events.pb-c.h"

const wallet_topics events_default_topics = {"transactions", "balances"};

int events_account_created(db_conn *conn, const wallet_topics *topics, const char *account_id,
                           const char *client_id, int64_t balance, int64_t version,
                           int64_t occurred_us, db_error *e) {
  char event_id[UUID_STR_LEN];
  uuid_v7(event_id);
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  time_to_timestamp(occurred_us, &ts);
  Wallet__V1__AccountCreated ev = WALLET__V1__ACCOUNT_CREATED__INIT;
  ev.event_id = event_id;
  ev.occurred_at = &ts;
  ev.account_id = (char *)account_id;
  ev.client_id = (char *)client_id;
  ev.balance = balance;
  ev.version = version;
  return outbox_insert(conn, topics->balances, account_id, &ev.base, event_id, occurred_us, e);
}

int events_transfer_done(db_conn *conn, const wallet_topics *topics, const events_transfer *t,
                         db_error *e) {
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  time_to_timestamp(t->occurred_us, &ts);

  char tc_id[UUID_STR_LEN];
  uuid_v7(tc_id);
  Wallet__V1__TransactionCreated tc = WALLET__V1__TRANSACTION_CREATED__INIT;
  tc.event_id = tc_id;
  tc.occurred_at = &ts;
  tc.transaction_id = (char *)t->transaction_id;
  tc.account_id_from = (char *)t->account_id_from;
  tc.account_id_to = (char *)t->account_id_to;
  tc.amount = t->amount;
  if (outbox_insert(conn, topics->transactions, t->account_id_from, &tc.base, tc_id,
                    t->occurred_us, e) != 0) {
    return -1;
  }

  char bu_id[UUID_STR_LEN];
  uuid_v7(bu_id);
  Wallet__V1__BalanceUpdated bu = WALLET__V1__BALANCE_UPDATED__INIT;
  bu.event_id = bu_id;
  bu.occurred_at = &ts;
  bu.transaction_id = (char *)t->transaction_id;
  bu.account_id_from = (char *)t->account_id_from;
  bu.account_id_to = (char *)t->account_id_to;
  bu.balance_account_id_from = t->balance_from;
  bu.balance_account_id_to = t->balance_to;
  bu.version_account_id_from = t->version_from;
  bu.version_account_id_to = t->version_to;
  return outbox_insert(conn, topics->balances, t->account_id_from, &bu.base, bu_id,
                       t->occurred_us, e);
}

int events_transfer_rows(const wallet_topics *topics, const events_transfer *t,
                         outbox_row out[2], db_error *e) {
  Google__Protobuf__Timestamp ts = GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  time_to_timestamp(t->occurred_us, &ts);

  char tc_id[UUID_STR_LEN];
  uuid_v7(tc_id);
  Wallet__V1__TransactionCreated tc = WALLET__V1__TRANSACTION_CREATED__INIT;
  tc.event_id = tc_id;
  tc.occurred_at = &ts;
  tc.transaction_id = (char *)t->transaction_id;
  tc.account_id_from = (char *)t->account_id_from;
  tc.account_id_to = (char *)t->account_id_to;
  tc.amount = t->amount;
  if (outbox_row_pack(&out[0], topics->transactions, t->account_id_from, &tc.base, tc_id,
                      t->occurred_us, e) != 0) {
    return -1;
  }

  char bu_id[UUID_STR_LEN];
  uuid_v7(bu_id);
  Wallet__V1__BalanceUpdated bu = WALLET__V1__BALANCE_UPDATED__INIT;
  bu.event_id = bu_id;
  bu.occurred_at = &ts;
  bu.transaction_id = (char *)t->transaction_id;
  bu.account_id_from = (char *)t->account_id_from;
  bu.account_id_to = (char *)t->account_id_to;
  bu.balance_account_id_from = t->balance_from;
  bu.balance_account_id_to = t->balance_to;
  bu.version_account_id_from = t->version_from;
  bu.version_account_id_to = t->version_to;
  if (outbox_row_pack(&out[1], topics->balances, t->account_id_from, &bu.base, bu_id,
                      t->occurred_us, e) != 0) {
    outbox_row_free(&out[0]);
    return -1;
  }
  return 0;
}
