/* idempotency: claiming and releasing Idempotency-Keys inside a transfer transaction. */
#include "idempotency.h"

#include <stdio.h>
#include <string.h>

#include "dbtime.h"

#define ER_DUP_ENTRY 1062

int idempotency_claim(db_conn *conn, const char *key, const char *fingerprint,
                      const char *transaction_id, int64_t now_us,
                      char existing_txid[UUID_STR_LEN], int *same_request, db_error *e) {
  char when[DBTIME_LEN];
  dbtime_format(now_us, when);
  const db_param ins[] = {DB_P_STR(key), DB_P_STR(fingerprint), DB_P_STR(transaction_id),
                          DB_P_STR(when)};
  /* Twice at most: a duplicate whose row has vanished by the time we look means its
   * owner deleted it (a rejection) and committed; our second insert then wins. */
  for (int attempt = 0; attempt < 2; attempt++) {
    if (db_exec(conn,
                "INSERT INTO idempotency_keys (idem_key, request_fingerprint, transaction_id, "
                "created_at) VALUES (?, ?, ?, ?)",
                ins, 4, NULL, e) == 0) {
      return IDEMPOTENCY_CLAIMED;
    }
    if (e->code != ER_DUP_ENTRY) return -1;
    db_rows *r = NULL;
    const db_param q[] = {DB_P_STR(key)};
    /* A locking read sees the latest committed row whatever our snapshot is. */
    if (db_query(conn,
                 "SELECT request_fingerprint, transaction_id FROM idempotency_keys "
                 "WHERE idem_key = ? LOCK IN SHARE MODE",
                 q, 1, &r, e) != 0) {
      return -1;
    }
    if (db_rows_count(r) > 0) {
      *same_request = strcmp(db_rows_str(r, 0, 0, NULL), fingerprint) == 0;
      snprintf(existing_txid, UUID_STR_LEN, "%s", db_rows_str(r, 0, 1, NULL));
      db_rows_free(r);
      return IDEMPOTENCY_EXISTS;
    }
    db_rows_free(r);
  }
  e->code = ER_DUP_ENTRY;
  snprintf(e->message, sizeof e->message, "Idempotency-Key claim kept failing");
  return -1;
}

int idempotency_release(db_conn *conn, const char *key, db_error *e) {
  const db_param p[] = {DB_P_STR(key)};
  return db_exec(conn, "DELETE FROM idempotency_keys WHERE idem_key = ?", p, 1, NULL, e);
}
