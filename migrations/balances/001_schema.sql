-- balances read model: the newest balance seen per account, with the event version it came from.
-- account_id is stored lowercase (the service normalises ids before they reach SQL).
CREATE TABLE balances (
  account_id CHAR(36) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  balance    BIGINT NOT NULL,
  version    BIGINT NOT NULL,
  updated_at DATETIME(6) NOT NULL,
  PRIMARY KEY (account_id),
  CONSTRAINT balances_balance_nonnegative CHECK (balance >= 0),
  CONSTRAINT balances_version_positive CHECK (version >= 1)
) ENGINE=InnoDB;
