-- Seed: the same four accounts as wallet-core's seed, at version 1 (their creation).
-- Every event wallet-core publishes for them carries version >= 2, so seed + replay of the
-- balances topic always equals the live table (balances rebuild relies on it).
-- Re-runnable: if a crash left this file applied but unrecorded, running it again keeps
-- the existing rows instead of failing every later start on a duplicate key.
INSERT INTO balances (account_id, balance, version, updated_at) VALUES
  ('a1000000-0000-4000-8000-000000000001', 100000, 1, '2026-01-01 00:00:00.000000'),
  ('a1000000-0000-4000-8000-000000000002',  50000, 1, '2026-01-01 00:00:00.000000'),
  ('a1000000-0000-4000-8000-000000000003', 200000, 1, '2026-01-01 00:00:00.000000'),
  ('a1000000-0000-4000-8000-000000000004',      0, 1, '2026-01-01 00:00:00.000000')
ON DUPLICATE KEY UPDATE account_id = account_id;
