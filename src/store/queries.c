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

#define EVENT_COLUMNS                                                                              \
    "tenant_id, event_id, user_id, event_name, log_offset, item, ts, "                             \
    "received_at, duplicates, last_duplicate_at, prev_user"

/* One row of EVENT_COLUMNS; *prev_user is the row's link (0 for none). */
static void event_row(sqlite3_stmt *s, struct tly_event_status *e, int64_t *prev_user)
{
    e->offset = (uint64_t)sqlite3_column_int64(s, 4);
    e->item = sqlite3_column_int(s, 5);
    e->timestamp = sqlite3_column_int64(s, 6);
    e->received_at = sqlite3_column_int64(s, 7);
    e->duplicates = sqlite3_column_int64(s, 8);
    e->last_duplicate_at = sqlite3_column_int64(s, 9);
    *prev_user = sqlite3_column_int64(s, 10);
}

/* Steps `s` (bound to a row id at ?1) and checks the row is the tenant's
 * and has `text` in column `col`: 1 yes, 0 no (or no such row), TLY_EIO. */
static int row_matches(sqlite3_stmt *s, int64_t row, uint32_t tenant, int col, const char *text)
{
    sqlite3_reset(s);
    sqlite3_bind_int64(s, 1, row);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE)
        return 0;
    if (rc != SQLITE_ROW)
        return TLY_EIO;
    const char *t = (const char *)sqlite3_column_text(s, col);
    return (uint32_t)sqlite3_column_int64(s, 0) == tenant && t != NULL && strcmp(t, text) == 0;
}

int tly_query_event(sqlite3 *db, struct tly_event_index *idx, uint32_t tenant, const char *event_id,
                    struct tly_event_status *out)
{
    sqlite3_stmt *s;
    int64_t prev, rows[16];
    size_t n =
        idx != NULL
            ? tly_event_index_find(idx, tly_event_index_id_hash(idx, tenant, event_id), rows, 16)
            : TLY_EVENT_INDEX_NOT_READY;
    if (n == TLY_EVENT_INDEX_NOT_READY) {
        /* No index in this process, or not loaded yet: a scan. */
        if (prepare_keyed(db,
                          "SELECT " EVENT_COLUMNS " FROM events WHERE tenant_id = ? AND "
                          "event_id = ? ORDER BY id DESC LIMIT 1",
                          tenant, event_id, &s) != 0)
            return TLY_EIO;
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
            event_row(s, out, &prev);
        sqlite3_finalize(s);
        return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? TLY_ENOENT : TLY_EIO;
    }
    if (n == 0)
        return TLY_ENOENT;
    if (sqlite3_prepare_v2(db, "SELECT " EVENT_COLUMNS " FROM events WHERE id = ?", -1, &s, NULL) !=
        SQLITE_OK)
        return TLY_EIO;
    int result = TLY_ENOENT;
    for (size_t i = 0; i < n && i < 16 && result == TLY_ENOENT; i++) {
        int m = row_matches(s, rows[i], tenant, 1, event_id);
        if (m < 0)
            result = m;
        else if (m == 1) {
            event_row(s, out, &prev);
            result = 0;
        }
    }
    sqlite3_finalize(s);
    return result;
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

/* Hands the current row of `s` (EVENT_COLUMNS) to fn: 0 go on, 1 stop,
 * or TLY_EIO. */
static int emit_user_event(sqlite3_stmt *s,
                           int (*fn)(const struct tly_user_event_view *v, void *arg), void *arg)
{
    struct tly_user_event_view v = {
        .event_id = (const char *)sqlite3_column_text(s, 1),
        .event_name = (const char *)sqlite3_column_text(s, 3),
        .offset = (uint64_t)sqlite3_column_int64(s, 4),
        .item = sqlite3_column_int(s, 5),
        .timestamp = sqlite3_column_int64(s, 6),
        .received_at = sqlite3_column_int64(s, 7),
    };
    int r = fn(&v, arg);
    return r == 0 ? 0 : r > 0 ? 1 : TLY_EIO;
}

/* Rows read per listed event at most, so that a chain shared by users
 * whose hashes collide still ends quickly. */
#define USER_CHAIN_SLACK 64

int tly_query_user_events(sqlite3 *db, struct tly_event_index *idx, uint32_t tenant,
                          const char *user_id, int limit,
                          int (*fn)(const struct tly_user_event_view *v, void *arg), void *arg)
{
    sqlite3_stmt *s;
    int rc = 0;
    /* The index holds committed rows only; reading after it, in one read
     * transaction, sees them all and a consistent chain. */
    int64_t row =
        idx != NULL
            ? tly_event_index_user_last(idx, tly_event_index_user_hash(idx, tenant, user_id))
            : -1;
    if (row < 0) {
        /* No index in this process, or not loaded yet: a scan. */
        if (prepare_keyed(db,
                          "SELECT " EVENT_COLUMNS " FROM events WHERE tenant_id = ? AND "
                          "user_id = ? ORDER BY id DESC LIMIT ?",
                          tenant, user_id, &s) != 0)
            return TLY_EIO;
        sqlite3_bind_int(s, 3, limit);
        int step = SQLITE_DONE;
        while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW)
            rc = emit_user_event(s, fn, arg);
        if (rc == 0 && step != SQLITE_DONE)
            rc = TLY_EIO;
        sqlite3_finalize(s);
        return rc < 0 ? rc : 0;
    }
    if (row == 0)
        return 0;
    if (sqlite3_prepare_v2(db, "SELECT " EVENT_COLUMNS " FROM events WHERE id = ?", -1, &s, NULL) !=
        SQLITE_OK)
        return TLY_EIO;
    int in_txn = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
    /* Follow prev_user from the newest row; the chain ends at a pruned row. */
    int listed = 0;
    for (long steps = (long)limit * USER_CHAIN_SLACK;
         rc == 0 && row > 0 && listed < limit && steps > 0; steps--) {
        int m = row_matches(s, row, tenant, 2, user_id);
        if (m < 0 || sqlite3_data_count(s) == 0) {
            rc = m < 0 ? m : 0;
            break;
        }
        if (m == 1) {
            listed++;
            rc = emit_user_event(s, fn, arg);
        }
        row = sqlite3_column_int64(s, 10);
    }
    sqlite3_finalize(s);
    if (in_txn)
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    return rc < 0 ? rc : 0;
}

int tly_query_user(sqlite3 *db, uint32_t tenant, const char *user_id,
                   int (*fn)(const struct tly_user_view *v, void *arg), void *arg)
{
    sqlite3_stmt *s;
    if (prepare_keyed(db,
                      "SELECT registered, created_at, attributes, registration FROM users "
                      "WHERE tenant_id = ? AND user_id = ?",
                      tenant, user_id, &s) != 0)
        return TLY_EIO;
    int rc = sqlite3_step(s), result;
    if (rc == SQLITE_ROW) {
        struct tly_user_view v = {
            .registered = sqlite3_column_int(s, 0),
            .created_at = sqlite3_column_int64(s, 1),
            .attributes = (const char *)sqlite3_column_text(s, 2),
            .registration = (const char *)sqlite3_column_text(s, 3),
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
    return tly_store_user_register2(db, tenant, user_id, attributes, "{}", now, created);
}

int tly_store_user_register2(sqlite3 *db, uint32_t tenant, const char *user_id,
                             const char *attributes, const char *registration, int64_t now,
                             int *created)
{
    sqlite3_stmt *s;
    if (prepare_keyed(db,
                      "INSERT INTO users (tenant_id, user_id, registered, created_at, "
                      "attributes, registration) VALUES (?1, ?2, 1, ?3, ?4, ?5) ON CONFLICT DO "
                      "UPDATE SET registered = 1, attributes = excluded.attributes, "
                      "registration = excluded.registration RETURNING created_at = ?3",
                      tenant, user_id, &s) != 0)
        return TLY_EIO;
    sqlite3_bind_int64(s, 3, now);
    sqlite3_bind_text(s, 4, attributes, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, registration, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    *created = rc == SQLITE_ROW && sqlite3_column_int(s, 0);
    if (rc == SQLITE_ROW)
        rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : TLY_EIO;
}
