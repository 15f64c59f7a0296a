-- GET /accounts/{id}/transactions reads an account's transfers newest first by the
-- account's own version: each side of a transfer is a range of one of these indexes
-- (keyset page = "version < token", LIMIT n). They replace the single-column keys that
-- served the foreign keys (the composite serves them too), so a transfer still maintains
-- two secondary index entries, each 8 bytes longer: the money path pays next to nothing.
ALTER TABLE transactions
  ADD KEY transactions_from_version (account_id_from, version_account_id_from),
  ADD KEY transactions_to_version (account_id_to, version_account_id_to),
  DROP KEY transactions_from,
  DROP KEY transactions_to;
