-- The seeded accounts' creation entries (version 1), taken from the seed rows of 002 so
-- the seed stays written once. Also gives every account still at version 1 when this
-- migration first runs on an existing database its entry; older movements of accounts
-- past version 1 only come back with `balances rebuild` (their history then starts
-- complete). Re-runnable (INSERT IGNORE); `balances rebuild` re-applies it after 002.
INSERT IGNORE INTO balance_history
  (account_id, version, transaction_id, counterparty_id, amount, balance_after, occurred_at)
SELECT account_id, 1, '', '', balance, balance, updated_at FROM balances WHERE version = 1;
