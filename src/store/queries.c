/*
 * The management API's queries on SQLite (see queries.h).
 */
#include "store/queries.h"

#include <stdio.h>
#include <string.h>

static const char *text_or_null(sqlite3_stmt *s, int col)
{
    return sqlite3_column_type(s, col) == SQLITE_NULL ? NULL
                                                      : (const char *)sqlite3_column_text(s, col);
}

/* Prepares `sql` with ?1 bound to the tenant and ?2 to `key` (borrowed
 * until the statement is finalized): every query here is keyed so. */
static int prepare_keyed(sqlite3 *db, const char *sql, uint32_t tenant, const char *key,
                         sqlite3_stmt **s)
{
    if (sqlite3_prepare_v2(db, sql, -1, s, NULL) != SQLITE_OK)
        return TLY_EIO;
    sqlite3_bind_int64(*s, 1, tenant);
    sqlite3_bind_text(*s, 2, key, -1, SQLITE_STATIC);
    return 0;
}

int tly_query_event(sqlite3 *db, uint32_t tenant, const char *event_id,
                    struct tly_event_status *out)
{
    sqlite3_stmt *s;
    if (prepare_keyed(db,
                      "SELECT log_offset, item, ts, received_at, duplicates, "
                      "last_duplicate_at FROM events WHERE tenant_id = ? AND event_id = ?",
                      tenant, event_id, &s) != 0)
        return TLY_EIO;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->offset = (uint64_t)sqlite3_column_int64(s, 0);
        out->item = sqlite3_column_int(s, 1);
        out->timestamp = sqlite3_column_int64(s, 2);
        out->received_at = sqlite3_column_int64(s, 3);
        out->duplicates = sqlite3_column_int64(s, 4);
        out->last_duplicate_at = sqlite3_column_int64(s, 5);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? TLY_ENOENT : TLY_EIO;
}

int tly_query_failed(sqlite3 *db, uint32_t tenant, const struct tly_failed_filter *f,
                     int (*fn)(const struct tly_failed_view *v, void *arg), void *arg)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "SELECT id, source, kind, log_offset, item, event_id, reason, field, message, "
             "status, raw, received_at, failed_at, replayed_at, attempts FROM failed_events "
             "WHERE tenant_id = ?1%s%s%s%s%s%s%s ORDER BY id DESC LIMIT ?8",
             f->source >= 0 ? " AND source = ?2" : "", f->reason ? " AND reason = ?3" : "",
             f->status ? " AND status = ?4" : "", f->since > 0 ? " AND failed_at >= ?5" : "",
             f->before_id > 0 ? " AND id < ?6" : "", f->event_id ? " AND event_id = ?7" : "",
             f->id > 0 ? " AND id = ?9" : "");
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        return TLY_EIO;
    sqlite3_bind_int64(s, 1, tenant);
    if (f->source >= 0)
        sqlite3_bind_int(s, 2, f->source);
    if (f->reason)
        sqlite3_bind_text(s, 3, f->reason, -1, SQLITE_STATIC);
    if (f->status)
        sqlite3_bind_text(s, 4, f->status, -1, SQLITE_STATIC);
    if (f->since > 0)
        sqlite3_bind_int64(s, 5, f->since);
    if (f->before_id > 0)
        sqlite3_bind_int64(s, 6, f->before_id);
    if (f->event_id)
        sqlite3_bind_text(s, 7, f->event_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 8, f->limit);
    if (f->id > 0)
        sqlite3_bind_int64(s, 9, f->id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct tly_failed_view v = {
            .id = sqlite3_column_int64(s, 0),
            .source = sqlite3_column_int(s, 1),
            .kind = sqlite3_column_int(s, 2),
            .offset = (uint64_t)sqlite3_column_int64(s, 3),
            .item = sqlite3_column_int(s, 4),
            .event_id = text_or_null(s, 5),
            .reason = (const char *)sqlite3_column_text(s, 6),
            .field = (const char *)sqlite3_column_text(s, 7),
            .message = (const char *)sqlite3_column_text(s, 8),
            .status = (const char *)sqlite3_column_text(s, 9),
            .raw = sqlite3_column_blob(s, 10),
            .raw_len = (size_t)sqlite3_column_bytes(s, 10),
            .received_at = sqlite3_column_int64(s, 11),
            .failed_at = sqlite3_column_int64(s, 12),
            .replayed_at = sqlite3_column_int64(s, 13),
            .attempts = sqlite3_column_int(s, 14),
        };
        if (v.raw == NULL)
            v.raw = "";
        int r = fn(&v, arg);
        if (r != 0) {
            rc = r > 0 ? SQLITE_DONE : SQLITE_ERROR; /* > 0 stops early, < 0 fails */
            break;
        }
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : TLY_EIO;
}

int tly_query_user_events(sqlite3 *db, uint32_t tenant, const char *user_id, int limit,
                          int (*fn)(const struct tly_user_event_view *v, void *arg), void *arg)
{
    sqlite3_stmt *s;
    if (prepare_keyed(db,
                      "SELECT event_id, event_name, log_offset, item, ts, received_at "
                      "FROM events WHERE tenant_id = ? AND user_id = ? "
                      "ORDER BY log_offset DESC, item DESC LIMIT ?",
                      tenant, user_id, &s) != 0)
        return TLY_EIO;
    sqlite3_bind_int(s, 3, limit);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct tly_user_event_view v = {
            .event_id = (const char *)sqlite3_column_text(s, 0),
            .event_name = (const char *)sqlite3_column_text(s, 1),
            .offset = (uint64_t)sqlite3_column_int64(s, 2),
            .item = sqlite3_column_int(s, 3),
            .timestamp = sqlite3_column_int64(s, 4),
            .received_at = sqlite3_column_int64(s, 5),
        };
        int r = fn(&v, arg);
        if (r != 0) {
            rc = r > 0 ? SQLITE_DONE : SQLITE_ERROR; /* > 0 stops early, < 0 fails */
            break;
        }
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : TLY_EIO;
}

int tly_query_user(sqlite3 *db, uint32_t tenant, const char *user_id,
                   int (*fn)(const struct tly_user_view *v, void *arg), void *arg)
{
    sqlite3_stmt *s;
    if (prepare_keyed(db,
                      "SELECT registered, created_at, attributes FROM users "
                      "WHERE tenant_id = ? AND user_id = ?",
                      tenant, user_id, &s) != 0)
        return TLY_EIO;
    int rc = sqlite3_step(s), result;
    if (rc == SQLITE_ROW) {
        struct tly_user_view v = {
            .registered = sqlite3_column_int(s, 0),
            .created_at = sqlite3_column_int64(s, 1),
            .attributes = (const char *)sqlite3_column_text(s, 2),
        };
        result = fn(&v, arg);
    } else {
        result = rc == SQLITE_DONE ? TLY_ENOENT : TLY_EIO;
    }
    sqlite3_finalize(s);
    return result;
}

int tly_store_user_register(sqlite3 *db, uint32_t tenant, const char *user_id,
                            const char *attributes, int64_t now, int *created)
{
    sqlite3_stmt *s;
    if (prepare_keyed(db,
                      "INSERT INTO users (tenant_id, user_id, registered, created_at, "
                      "attributes) VALUES (?1, ?2, 1, ?3, ?4) ON CONFLICT DO UPDATE SET "
                      "registered = 1, attributes = excluded.attributes "
                      "RETURNING created_at = ?3",
                      tenant, user_id, &s) != 0)
        return TLY_EIO;
    sqlite3_bind_int64(s, 3, now);
    sqlite3_bind_text(s, 4, attributes, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    *created = rc == SQLITE_ROW && sqlite3_column_int(s, 0);
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : TLY_EIO;
}
