/* idempotency: Idempotency-Key claims for POST /transactions, taken inside the transfer's
 * own DB transaction so a key and the money it moved commit (or vanish) together. */
#ifndef WALLET_CORE_IDEMPOTENCY_H
#define WALLET_CORE_IDEMPOTENCY_H

#include <stdint.h>

#include "db.h"
#include "uuid.h"

#define IDEMPOTENCY_FINGERPRINT_MAX 128

enum { IDEMPOTENCY_CLAIMED = 0, IDEMPOTENCY_EXISTS = 1 };

/* Inserts (key, fingerprint, transaction_id). The primary key makes a concurrent request
 * with the same key wait on our row lock until we commit or roll back, so two requests
 * can never both move money. Returns IDEMPOTENCY_CLAIMED; IDEMPOTENCY_EXISTS when a
 * committed (or our own earlier) claim holds the key: existing_txid gets its transaction
 * id and *same_request whether its fingerprint equals ours; or -1 with e filled. */
int idempotency_claim(db_conn *conn, const char *key, const char *fingerprint,
                      const char *transaction_id, int64_t now_us,
                      char existing_txid[UUID_STR_LEN], int *same_request, db_error *e);

/* Deletes our claim again (the transfer was rejected: a rejection does not keep the key,
 * so the client may retry after fixing the cause). 0, or -1 with e filled. */
int idempotency_release(db_conn *conn, const char *key, db_error *e);

#endif
