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

/* The two events a committed transfer publishes. The messages point into this struct (ids,
 * timestamp): build it in place and do not copy it. */
typedef struct transfer_events {
  Google__Protobuf__Timestamp ts;
  char tc_id[UUID_STR_LEN], bu_id[UUID_STR_LEN];
  Wallet__V1__TransactionCreated tc;
  Wallet__V1__BalanceUpdated bu;
} transfer_events;

static void transfer_events_build(const events_transfer *t, transfer_events *ev) {
  ev->ts = (Google__Protobuf__Timestamp)GOOGLE__PROTOBUF__TIMESTAMP__INIT;
  time_to_timestamp(t->occurred_us, &ev->ts);

  uuid_v7(ev->tc_id);
  ev->tc = (Wallet__V1__TransactionCreated)WALLET__V1__TRANSACTION_CREATED__INIT;
  ev->tc.event_id = ev->tc_id;
  ev->tc.occurred_at = &ev->ts;
  ev->tc.transaction_id = (char *)t->transaction_id;
  ev->tc.account_id_from = (char *)t->account_id_from;
  ev->tc.account_id_to = (char *)t->account_id_to;
  ev->tc.amount = t->amount;

  uuid_v7(ev->bu_id);
  ev->bu = (Wallet__V1__BalanceUpdated)WALLET__V1__BALANCE_UPDATED__INIT;
  ev->bu.event_id = ev->bu_id;
  ev->bu.occurred_at = &ev->ts;
  ev->bu.transaction_id = (char *)t->transaction_id;
  ev->bu.account_id_from = (char *)t->account_id_from;
  ev->bu.account_id_to = (char *)t->account_id_to;
  ev->bu.balance_account_id_from = t->balance_from;
  ev->bu.balance_account_id_to = t->balance_to;
  ev->bu.version_account_id_from = t->version_from;
  ev->bu.version_account_id_to = t->version_to;
  ev->bu.amount = t->amount; /* so the read side records each side's signed movement */
}

int events_transfer_done(db_conn *conn, const wallet_topics *topics, const events_transfer *t,
                         db_error *e) {
  transfer_events ev;
  transfer_events_build(t, &ev);
  if (outbox_insert(conn, topics->transactions, t->account_id_from, &ev.tc.base, ev.tc_id,
                    t->occurred_us, e) != 0) {
    return -1;
  }
  return outbox_insert(conn, topics->balances, t->account_id_from, &ev.bu.base, ev.bu_id,
                       t->occurred_us, e);
}

int events_transfer_rows(const wallet_topics *topics, const events_transfer *t,
                         outbox_row out[2], db_error *e) {
  transfer_events ev;
  transfer_events_build(t, &ev);
  if (outbox_row_pack(&out[0], topics->transactions, t->account_id_from, &ev.tc.base,
                      ev.tc_id, t->occurred_us, e) != 0) {
    return -1;
  }
  if (outbox_row_pack(&out[1], topics->balances, t->account_id_from, &ev.bu.base, ev.bu_id,
                      t->occurred_us, e) != 0) {
    outbox_row_free(&out[0]);
    return -1;
  }
  return 0;
}
