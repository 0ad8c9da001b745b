/*
 * Source credentials in state.db (see sources.h).
 */
#include "store/sources.h"
#include "core/err.h"

int tly_source_secret_set(sqlite3 *db, uint32_t tenant, const char *source, const char *secret,
                          int64_t now)
{
    const char *sql = secret != NULL
                          ? "INSERT INTO source_secrets (tenant_id, source, secret, updated_at) "
                            "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (tenant_id, source) DO UPDATE "
                            "SET secret = excluded.secret, updated_at = excluded.updated_at"
                          : "DELETE FROM source_secrets WHERE tenant_id = ?1 AND source = ?2";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return TLY_EIO;
    sqlite3_bind_int64(st, 1, tenant);
    sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
    if (secret != NULL) {
        sqlite3_bind_text(st, 3, secret, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now);
    }
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : TLY_EIO;
    sqlite3_finalize(st);
    return rc;
}

int tly_source_secret_state(sqlite3 *db, uint32_t tenant, const char *source, int *set,
                            int64_t *updated_at)
{
    sqlite3_stmt *st;
    *set = 0;
    *updated_at = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT updated_at FROM source_secrets WHERE tenant_id = ?1 AND "
                           "source = ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return TLY_EIO;
    sqlite3_bind_int64(st, 1, tenant);
    sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        *set = 1;
        *updated_at = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : TLY_EIO;
}

int tly_source_secrets_each(sqlite3 *db, const char *source, tly_source_secret_fn fn, void *arg)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT tenant_id, secret FROM source_secrets WHERE source = ?1", -1,
                           &st, NULL) != SQLITE_OK)
        return TLY_EIO;
    sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
        rc = fn(arg, (uint32_t)sqlite3_column_int64(st, 0),
                (const char *)sqlite3_column_text(st, 1), (size_t)sqlite3_column_bytes(st, 1));
    if (rc == 0 && step != SQLITE_DONE)
        rc = TLY_EIO;
    sqlite3_finalize(st);
    return rc;
}
