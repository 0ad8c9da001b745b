/*
 * Tenant settings: JSON form and storage (see settings.h).
 */
#include "store/settings.h"
#include "core/json.h"
#include "core/timeparse.h"

#include <string.h>

#define MAX_WINDOW_S  (366LL * 24 * 3600)
#define MAX_HORIZON_S (10LL * 366 * 24 * 3600)

void tly_settings_default(struct tly_tenant_settings *s)
{
    s->dedupe_window_ms = 7 * TLY_DAY_MS;
    s->horizon_ms = 30 * TLY_DAY_MS;
    s->require_registration = 0;
}

static int seconds_field(const cJSON *v, const char *name, int64_t min_s, int64_t max_s,
                         int64_t *out_ms, struct tly_error *err)
{
    if (!cJSON_IsNumber(v))
        return tly_error_set(err, TLY_EINVAL, name, "%s: expected a whole number of seconds", name);
    double d = v->valuedouble; /* range first: casting a huge double is undefined */
    if (!(d >= (double)min_s && d <= (double)max_s))
        return tly_error_set(err, TLY_EINVAL, name, "%s: must be between %lld and %lld", name,
                             (long long)min_s, (long long)max_s);
    int64_t s = (int64_t)d;
    if ((double)s != d)
        return tly_error_set(err, TLY_EINVAL, name, "%s: expected a whole number of seconds", name);
    *out_ms = s * 1000;
    return 0;
}

int tly_settings_apply_json(struct tly_tenant_settings *s, const char *json, size_t len,
                            struct tly_error *err)
{
    cJSON *root = tly_json_parse(json, len, err);
    if (root == NULL)
        return TLY_EINVAL;
    struct tly_tenant_settings next = *s;
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return tly_error_set(err, TLY_EINVAL, "", "expected a JSON object");
    }
    int rc = 0;
    const cJSON *f;
    cJSON_ArrayForEach(f, root)
    {
        if (strcmp(f->string, "dedupe_window_seconds") == 0)
            rc = seconds_field(f, f->string, 0, MAX_WINDOW_S, &next.dedupe_window_ms, err);
        else if (strcmp(f->string, "timestamp_horizon_seconds") == 0)
            rc = seconds_field(f, f->string, 1, MAX_HORIZON_S, &next.horizon_ms, err);
        else if (strcmp(f->string, "require_registration") == 0) {
            if (!cJSON_IsBool(f))
                rc = tly_error_set(err, TLY_EINVAL, f->string, "%s: expected true or false",
                                   f->string);
            else
                next.require_registration = cJSON_IsTrue(f);
        } else {
            rc = tly_error_set(err, TLY_EINVAL, f->string, "%s: unknown setting", f->string);
        }
        if (rc != 0)
            break;
    }
    cJSON_Delete(root);
    if (rc == 0)
        *s = next;
    return rc;
}

int tly_settings_to_json(const struct tly_tenant_settings *s, struct tly_buf *out)
{
    return tly_buf_printf(out,
                          "{\"dedupe_window_seconds\":%lld,\"timestamp_horizon_seconds\":%lld,"
                          "\"require_registration\":%s}",
                          (long long)(s->dedupe_window_ms / 1000),
                          (long long)(s->horizon_ms / 1000),
                          s->require_registration ? "true" : "false");
}

int tly_settings_load(sqlite3 *db, uint32_t tenant, struct tly_tenant_settings *s)
{
    tly_settings_default(s);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT settings FROM tenant_settings WHERE tenant_id = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return TLY_EIO;
    sqlite3_bind_int64(st, 1, tenant);
    int rc = 0, step = sqlite3_step(st);
    if (step == SQLITE_ROW) {
        struct tly_error err;
        const char *text = (const char *)sqlite3_column_text(st, 0);
        rc = tly_settings_apply_json(s, text, (size_t)sqlite3_column_bytes(st, 0), &err);
    } else if (step != SQLITE_DONE) {
        rc = TLY_EIO;
    }
    sqlite3_finalize(st);
    return rc;
}

int tly_settings_save(sqlite3 *db, uint32_t tenant, const struct tly_tenant_settings *s)
{
    struct tly_buf b;
    tly_buf_init(&b, 0);
    if (tly_settings_to_json(s, &b) != 0)
        return TLY_ENOMEM;
    sqlite3_stmt *st;
    int rc = TLY_EIO;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO tenant_settings (tenant_id, settings, updated_at) "
                           "VALUES (?, ?, ?) ON CONFLICT (tenant_id) DO UPDATE SET "
                           "settings = excluded.settings, updated_at = excluded.updated_at",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, tenant);
        sqlite3_bind_text(st, 2, b.data, (int)b.len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, tly_now_ms());
        rc = sqlite3_step(st) == SQLITE_DONE ? 0 : TLY_EIO;
        sqlite3_finalize(st);
    }
    tly_buf_free(&b);
    return rc;
}
