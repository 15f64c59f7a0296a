-- wallet-core schema: clients, accounts (money), transactions, the outbox and idempotency keys.
-- Money is BIGINT minor units. Ids are UUID text in ascii_bin (exact, 36 bytes per key).
-- Times are UTC DATETIME(6) written by the service (never NOW(), so tests do not depend
-- on the server's time zone), except outbox.published_at which only the relay reads.

CREATE TABLE clients (
  id         CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  name       VARCHAR(255) NOT NULL,
  email      VARCHAR(254) NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE accounts (
  id         CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  client_id  CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  balance    BIGINT NOT NULL,
  version    BIGINT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  KEY accounts_client (client_id),
  CONSTRAINT accounts_client_fk FOREIGN KEY (client_id) REFERENCES clients (id),
  -- The last line of defence: a bug in the funds check cannot make money negative.
  CONSTRAINT accounts_balance_nonnegative CHECK (balance >= 0),
  CONSTRAINT accounts_version_positive CHECK (version >= 1)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- One committed transfer, with both accounts' balances and versions right after it, so a
-- read (GET /transactions/{id}) and an idempotent replay answer the same body.
CREATE TABLE transactions (
  id                      CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  account_id_from         CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  account_id_to           CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  amount                  BIGINT NOT NULL,
  balance_account_id_from BIGINT NOT NULL,
  balance_account_id_to   BIGINT NOT NULL,
  version_account_id_from BIGINT NOT NULL,
  version_account_id_to   BIGINT NOT NULL,
  created_at              DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  KEY transactions_from (account_id_from),
  KEY transactions_to (account_id_to),
  CONSTRAINT transactions_from_fk FOREIGN KEY (account_id_from) REFERENCES accounts (id),
  CONSTRAINT transactions_to_fk FOREIGN KEY (account_id_to) REFERENCES accounts (id),
  CONSTRAINT transactions_amount_positive CHECK (amount > 0),
  CONSTRAINT transactions_distinct_accounts CHECK (account_id_from <> account_id_to)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Transactional outbox: rows are inserted in the same DB transaction as the change they
-- describe; the relay publishes them in id order and sets published_at after Kafka's
-- delivery report. (published_at, id) serves "the oldest pending rows" as an index range.
CREATE TABLE outbox (
  id           BIGINT NOT NULL AUTO_INCREMENT,
  event_id     CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  topic        VARCHAR(249) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  msg_key      VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  event_type   VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  payload      BLOB NOT NULL,
  occurred_at  DATETIME(6) NOT NULL,
  published_at DATETIME(6) NULL,
  PRIMARY KEY (id),
  UNIQUE KEY outbox_event_id (event_id),
  KEY outbox_pending (published_at, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Idempotency-Key of POST /transactions. request_fingerprint is the canonical request
-- ("<from>:<to>:<amount>", ids normalised): compared exactly, so two different requests
-- can never look alike the way two hashes could. Keys are case-sensitive (ascii_bin).
CREATE TABLE idempotency_keys (
  idem_key            VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  request_fingerprint VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  transaction_id      CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  created_at          DATETIME(6) NOT NULL,
  PRIMARY KEY (idem_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
