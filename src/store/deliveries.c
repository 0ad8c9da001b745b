/*
 * Webhook settings and deliveries in state.db, for the management API and
 * /metrics (see deliveries.h).
 */
#include "store/deliveries.h"
#include "core/timeparse.h"

#include <stdio.h>
#include <string.h>

static int json_time(struct tly_buf *b, sqlite3_stmt *st, int col);

int tly_webhook_settings_load(sqlite3 *db, uint32_t tenant, struct tly_buf *out, int *found)
{
    sqlite3_stmt *st;
    *found = 0;
    if (sqlite3_prepare_v2(db, "SELECT settings FROM webhook_settings WHERE tenant_id = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return TLY_EIO;
    sqlite3_bind_int64(st, 1, tenant);
    int rc = sqlite3_step(st);
    int ret = 0;
    if (rc == SQLITE_ROW) {
        *found = 1;
        const char *s = (const char *)sqlite3_column_text(st, 0);
        ret = tly_buf_puts(out, s ? s : "") ? TLY_ENOMEM : 0;
    } else if (rc != SQLITE_DONE) {
        ret = TLY_EIO;
    }
    sqlite3_finalize(st);
    return ret;
}

int tly_webhook_settings_save(sqlite3 *db, uint32_t tenant, const char *json, int64_t now_ms)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO webhook_settings (tenant_id, settings, updated_at)"
                           " VALUES (?1, ?2, ?3) ON CONFLICT (tenant_id) DO UPDATE SET"
                           " settings = ?2, updated_at = ?3",
                           -1, &st, NULL) != SQLITE_OK)
        return TLY_EIO;
    sqlite3_bind_int64(st, 1, tenant);
    sqlite3_bind_text(st, 2, json, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now_ms);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : TLY_EIO;
    sqlite3_finalize(st);
    return rc;
}

#define COLUMNS                                                                                    \
    "id, uid, event, endpoint_id, url, status, attempts, last_status, last_error,"                 \
    " next_attempt_at, created_at, last_attempt_at, delivered_at, outbox_id,"                      \
    " json_extract(body, '$.rewardId')"

static int json_time(struct tly_buf *b, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return tly_buf_puts(b, "null");
    char t[25];
    tly_time_format(sqlite3_column_int64(st, col), t);
    return tly_buf_printf(b, "\"%s\"", t);
}

static int json_text(struct tly_buf *b, sqlite3_stmt *st, int col)
{
    const char *s = (const char *)sqlite3_column_text(st, col);
    return s ? tly_buf_json_str(b, s, strlen(s)) : tly_buf_puts(b, "null");
}

/* One row of COLUMNS as a JSON object. */
static int row_json(struct tly_buf *b, sqlite3_stmt *st)
{
    int rc = tly_buf_puts(b, "{\"id\":");
    rc |= json_text(b, st, 1);
    rc |= tly_buf_puts(b, ",\"event\":");
    rc |= json_text(b, st, 2);
    rc |= tly_buf_puts(b, ",\"endpoint_id\":");
    rc |= json_text(b, st, 3);
    rc |= tly_buf_puts(b, ",\"url\":");
    rc |= json_text(b, st, 4);
    rc |= tly_buf_puts(b, ",\"status\":");
    rc |= json_text(b, st, 5);
    rc |= tly_buf_printf(
        b, ",\"attempts\":%lld,\"last_status\":", (long long)sqlite3_column_int64(st, 6));
    if (sqlite3_column_type(st, 7) == SQLITE_NULL)
        rc |= tly_buf_puts(b, "null");
    else
        rc |= tly_buf_printf(b, "%d", sqlite3_column_int(st, 7));
    rc |= tly_buf_puts(b, ",\"last_error\":");
    rc |= json_text(b, st, 8);
    rc |= tly_buf_puts(b, ",\"next_attempt_at\":");
    if (strcmp((const char *)sqlite3_column_text(st, 5), "pending") == 0)
        rc |= json_time(b, st, 9);
    else
        rc |= tly_buf_puts(b, "null");
    rc |= tly_buf_puts(b, ",\"created_at\":");
    rc |= json_time(b, st, 10);
    rc |= tly_buf_puts(b, ",\"last_attempt_at\":");
    rc |= json_time(b, st, 11);
    rc |= tly_buf_puts(b, ",\"delivered_at\":");
    rc |= json_time(b, st, 12);
    rc |= tly_buf_printf(
        b, ",\"outbox_id\":%lld,\"reward_id\":", (long long)sqlite3_column_int64(st, 13));
    rc |= json_text(b, st, 14);
    rc |= tly_buf_puts(b, "}");
    return rc ? TLY_ENOMEM : 0;
}

int tly_deliveries_list(sqlite3 *db, uint32_t tenant, const struct tly_delivery_filter *f,
                        struct tly_buf *out)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT " COLUMNS " FROM deliveries WHERE tenant_id = ?1"
                           " AND (?2 IS NULL OR status = ?2) AND id < ?3"
                           " ORDER BY id DESC LIMIT ?4",
                           -1, &st, NULL) != SQLITE_OK)
        return TLY_EIO;
    sqlite3_bind_int64(st, 1, tenant);
    if (f->status != NULL)
        sqlite3_bind_text(st, 2, f->status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, f->cursor > 0 ? f->cursor : INT64_MAX);
    sqlite3_bind_int(st, 4, f->limit);
    int rc = tly_buf_puts(out, "{\"deliveries\":[") ? TLY_ENOMEM : 0;
    int n = 0, step;
    int64_t last = 0;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if (n++ > 0)
            rc = tly_buf_puts(out, ",") ? TLY_ENOMEM : 0;
        rc = rc ? rc : row_json(out, st);
        last = sqlite3_column_int64(st, 0);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = TLY_EIO;
    sqlite3_finalize(st);
    if (rc == 0) {
        if (n == f->limit)
            rc = tly_buf_printf(out, "],\"next_cursor\":\"%lld\"}", (long long)last);
        else
            rc = tly_buf_puts(out, "],\"next_cursor\":null}");
        rc = rc ? TLY_ENOMEM : 0;
    }
    return rc;
}

int tly_delivery_retry(sqlite3 *db, uint32_t tenant, const char *uid, int64_t now_ms,
                       struct tly_buf *out)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "UPDATE deliveries SET status = 'pending', next_attempt_at = ?3,"
                           " window_start = ?3, updated_at = ?3"
                           " WHERE tenant_id = ?1 AND uid = ?2 AND status != 'delivered'",
                           -1, &st, NULL) != SQLITE_OK)
        return TLY_EIO;
    sqlite3_bind_int64(st, 1, tenant);
    sqlite3_bind_text(st, 2, uid, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now_ms);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : TLY_EIO;
    int changed = sqlite3_changes(db);
    sqlite3_finalize(st);
    if (rc != 0)
        return rc;
    if (sqlite3_prepare_v2(db,
                           "SELECT " COLUMNS " FROM deliveries WHERE tenant_id = ?1 AND uid = ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return TLY_EIO;
    sqlite3_bind_int64(st, 1, tenant);
    sqlite3_bind_text(st, 2, uid, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        rc = changed ? row_json(out, st) : TLY_ECONFLICT;
    else
        rc = step == SQLITE_DONE ? TLY_ENOENT : TLY_EIO;
    sqlite3_finalize(st);
    return rc;
}

int tly_deliveries_count(sqlite3 *db, struct tly_delivery_counts *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "SELECT (SELECT count(*) FROM deliveries WHERE status = 'pending'),"
                           " (SELECT count(*) FROM deliveries WHERE status = 'delivered'),"
                           " (SELECT count(*) FROM deliveries WHERE status = 'failed'),"
                           " (SELECT count(*) FROM outbox WHERE fanned_out_at IS NULL),"
                           " (SELECT min(created_at) FROM deliveries WHERE status = 'pending')",
                           -1, &st, NULL) != SQLITE_OK)
        return TLY_EIO;
    int rc = TLY_EIO;
    if (sqlite3_step(st) == SQLITE_ROW) {
        out->pending = sqlite3_column_int64(st, 0);
        out->delivered = sqlite3_column_int64(st, 1);
        out->failed = sqlite3_column_int64(st, 2);
        out->unfanned = sqlite3_column_int64(st, 3);
        out->oldest_pending = sqlite3_column_int64(st, 4);
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}
