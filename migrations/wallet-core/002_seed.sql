-- Fake seed data with fixed, documented ids (SERVICES.md); the balances service seeds the
-- same accounts with the same balances and versions, so no events are published for it.
-- Total money seeded: 350000 minor units.
-- Re-runnable: a crash after these inserts but before the runner records the file makes
-- the next start run it again, so an existing row is kept, never a duplicate-key error.

INSERT INTO clients (id, name, email, created_at, updated_at) VALUES
  ('c1000000-0000-4000-8000-000000000001', 'John Doe', 'john@example.com',
   '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000'),
  ('c1000000-0000-4000-8000-000000000002', 'Jane Doe', 'jane@example.com',
   '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')
ON DUPLICATE KEY UPDATE id = id;

INSERT INTO accounts (id, client_id, balance, version, created_at, updated_at) VALUES
  ('a1000000-0000-4000-8000-000000000001', 'c1000000-0000-4000-8000-000000000001', 100000, 1,
   '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000'),
  ('a1000000-0000-4000-8000-000000000002', 'c1000000-0000-4000-8000-000000000001', 50000, 1,
   '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000'),
  ('a1000000-0000-4000-8000-000000000003', 'c1000000-0000-4000-8000-000000000002', 200000, 1,
   '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000'),
  ('a1000000-0000-4000-8000-000000000004', 'c1000000-0000-4000-8000-000000000002', 0, 1,
   '2026-01-01 00:00:00.000000', '2026-01-01 00:00:00.000000')
ON DUPLICATE KEY UPDATE id = id;
