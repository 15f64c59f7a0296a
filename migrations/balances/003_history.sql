-- balances history: one row per account per event, written by the projector in the same
-- transaction as the balances upsert. (account_id, version) is the key, so a redelivered
-- or replayed event inserts nothing (INSERT IGNORE) and arrival order does not matter.
-- version 1 is the account's creation (AccountCreated or the seed): no transaction, no
-- counterparty, amount = the opening balance.
-- (account_id, occurred_at) serves GET /balances/{id}?as_of=T: the newest row at or
-- before T is one index dive. At scale the table is partitioned by month of occurred_at
-- (README: "History at scale"); this schema stays unpartitioned for the tests' sake.
CREATE TABLE balance_history (
  account_id             CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  version                BIGINT NOT NULL,
  transaction_id         CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  counterparty_id        CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  amount                 BIGINT NOT NULL,
  balance_after          BIGINT NOT NULL,
  occurred_at            DATETIME(6) NOT NULL,
  PRIMARY KEY (account_id, version),
  KEY balance_history_as_of (account_id, occurred_at),
  CONSTRAINT balance_history_version_positive CHECK (version >= 1),
  CONSTRAINT balance_history_balance_nonnegative CHECK (balance_after >= 0)
) ENGINE=InnoDB;
