/*
 * Source settings documents in state.db (see sources.h).
 */
#include "store/sources.h"
#include "core/err.h"
#include "log/record.h"
#include "sources/settings.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

int tly_source_settings_save(sqlite3 *db, uint32_t tenant, const char *source, const char *json,
                             int64_t now)
{
    const char *sql = json != NULL
                          ? "INSERT INTO source_settings (tenant_id, source, settings, updated_at) "
                            "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (tenant_id, source) DO UPDATE "
                            "SET settings = excluded.settings, updated_at = excluded.updated_at"
                          : "DELETE FROM source_settings WHERE tenant_id = ?1 AND source = ?2";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return TLY_EIO;
    sqlite3_bind_int64(st, 1, tenant);
    sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
    if (json != NULL) {
        sqlite3_bind_text(st, 3, json, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now);
    }
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : TLY_EIO;
    sqlite3_finalize(st);
    return rc;
}

int tly_source_settings_load(sqlite3 *db, uint32_t tenant, const char *source, char **json,
                             int64_t *updated_at)
{
    sqlite3_stmt *st;
    *json = NULL;
    *updated_at = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT settings, updated_at FROM source_settings WHERE tenant_id = ?1 "
                           "AND source = ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return TLY_EIO;
    sqlite3_bind_int64(st, 1, tenant);
    sqlite3_bind_text(st, 2, source, -1, SQLITE_STATIC);
    int step = sqlite3_step(st), rc = 0;
    if (step == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        const char *text = (const char *)sqlite3_column_text(st, 0);
        *json = malloc(n + 1);
        if (*json == NULL) {
            rc = TLY_ENOMEM;
        } else {
            memcpy(*json, text ? text : "", n);
            (*json)[n] = '\0';
            *updated_at = sqlite3_column_int64(st, 1);
        }
    } else if (step != SQLITE_DONE) {
        rc = TLY_EIO;
    }
    sqlite3_finalize(st);
    return rc;
}

int tly_source_settings_each(sqlite3 *db, const char *source, tly_source_settings_fn fn, void *arg)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT tenant_id, source, settings FROM source_settings WHERE ?1 IS "
                           "NULL OR source = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return TLY_EIO;
    if (source != NULL)
        sqlite3_bind_text(st, 1, source, -1, SQLITE_STATIC);
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
        rc =
            fn(arg, (uint32_t)sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
               (const char *)sqlite3_column_text(st, 2), (size_t)sqlite3_column_bytes(st, 2));
    if (rc == 0 && step != SQLITE_DONE)
        rc = TLY_EIO;
    sqlite3_finalize(st);
    return rc;
}

int tly_source_config_load(sqlite3 *db, uint32_t tenant, int source, struct tly_source_config *cfg)
{
    char *text;
    int64_t at;
    tly_source_config_init(cfg, NULL);
    int rc = tly_source_settings_load(db, tenant, tly_source_name(source), &text, &at);
    if (rc != 0 || text == NULL)
        return rc;
    cJSON *doc = cJSON_Parse(text);
    OPENSSL_cleanse(text, strlen(text));
    free(text);
    tly_source_config_init(cfg, doc);
    return 0;
}
