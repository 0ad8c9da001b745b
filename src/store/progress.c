/*
 * The campaign engine's tables on SQLite (see progress.h).
 */
#include "store/progress.h"

#include <stdlib.h>
#include <string.h>

enum { P_LOAD, P_PUT, P_ANY, P_ACCEPTED, P_REWARD, P_OUTBOX, P_COUNT };

static const char *const sql[P_COUNT] = {
    [P_LOAD] = "SELECT state FROM campaign_progress WHERE tenant_id = ?1 AND campaign_id = ?2 "
               "AND user_id = ?3 AND campaign_uid = ?4",
    [P_PUT] = "INSERT OR REPLACE INTO campaign_progress (tenant_id, campaign_id, user_id, "
              "campaign_uid, seen, completions, completed, state, updated_at) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [P_ANY] = "SELECT 1 FROM campaign_progress WHERE tenant_id = ?1 AND campaign_id = ?2 "
              "AND campaign_uid = ?3 LIMIT 1",
    [P_ACCEPTED] = "SELECT accepted_at FROM campaign_accepts WHERE tenant_id = ?1 "
                   "AND campaign_id = ?2 AND user_id = ?3",
    [P_REWARD] = "INSERT OR IGNORE INTO campaign_rewards (reward_id, tenant_id, campaign_id, "
                 "campaign_uid, user_id, completion, event_id, issued_at, type, name, amount, "
                 "code) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    [P_OUTBOX] = "INSERT OR IGNORE INTO outbox (tenant_id, kind, dedupe_key, payload, created_at) "
                 "VALUES (?1, ?2, ?3, ?4, ?5)",
};

struct tly_progress_store {
    sqlite3 *db;
    sqlite3_stmt *st[P_COUNT];
};

int tly_progress_store_open(struct tly_progress_store **out, sqlite3 *db)
{
    struct tly_progress_store *ps = calloc(1, sizeof *ps);
    if (ps == NULL)
        return TLY_ENOMEM;
    ps->db = db;
    for (int i = 0; i < P_COUNT; i++) {
        if (sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &ps->st[i], NULL) !=
            SQLITE_OK) {
            tly_progress_store_close(ps);
            return TLY_EIO;
        }
    }
    *out = ps;
    return 0;
}

void tly_progress_store_close(struct tly_progress_store *ps)
{
    if (ps == NULL)
        return;
    for (int i = 0; i < P_COUNT; i++)
        sqlite3_finalize(ps->st[i]);
    free(ps);
}

static void done(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

static int run(sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    done(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : TLY_EIO;
}

static void bind_opt_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v != NULL)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

int tly_progress_store_load(struct tly_progress_store *ps, uint32_t tenant, const char *campaign,
                            int64_t uid, const char *user, struct tly_buf *out)
{
    sqlite3_stmt *s = ps->st[P_LOAD];
    sqlite3_bind_int64(s, 1, tenant);
    sqlite3_bind_text(s, 2, campaign, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, user, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, uid);
    int rc = sqlite3_step(s);
    int result = 0;
    if (rc == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(s, 0);
        int n = sqlite3_column_bytes(s, 0);
        result = n > 0 && tly_buf_append(out, p, (size_t)n) != 0 ? TLY_ENOMEM : 1;
    } else if (rc != SQLITE_DONE) {
        result = TLY_EIO;
    }
    done(s);
    return result;
}

int tly_progress_store_put(struct tly_progress_store *ps, const struct tly_progress_row *r)
{
    sqlite3_stmt *s = ps->st[P_PUT];
    sqlite3_bind_int64(s, 1, r->tenant);
    sqlite3_bind_text(s, 2, r->campaign, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, r->user, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, r->uid);
    sqlite3_bind_int(s, 5, r->seen);
    sqlite3_bind_int64(s, 6, r->completions);
    sqlite3_bind_int(s, 7, r->completed);
    sqlite3_bind_blob(s, 8, r->state, (int)r->state_len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 9, r->updated_at);
    return run(s);
}

int tly_progress_store_any(struct tly_progress_store *ps, uint32_t tenant, const char *campaign,
                           int64_t uid)
{
    sqlite3_stmt *s = ps->st[P_ANY];
    sqlite3_bind_int64(s, 1, tenant);
    sqlite3_bind_text(s, 2, campaign, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, uid);
    int rc = sqlite3_step(s);
    done(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : TLY_EIO;
}

static int accepted(sqlite3_stmt *s, uint32_t tenant, const char *campaign, const char *user,
                    int64_t *at)
{
    sqlite3_bind_int64(s, 1, tenant);
    sqlite3_bind_text(s, 2, campaign, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, user, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *at = sqlite3_column_int64(s, 0);
    done(s);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? TLY_ENOENT : TLY_EIO;
}

int tly_progress_store_accepted(struct tly_progress_store *ps, uint32_t tenant,
                                const char *campaign, const char *user, int64_t *at)
{
    return accepted(ps->st[P_ACCEPTED], tenant, campaign, user, at);
}

int tly_progress_store_reward(struct tly_progress_store *ps, const struct tly_reward_row *r,
                              const char *kind, const char *dedupe_key, const char *payload,
                              int *inserted)
{
    sqlite3_stmt *s = ps->st[P_REWARD];
    sqlite3_bind_text(s, 1, r->reward_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, r->tenant);
    sqlite3_bind_text(s, 3, r->campaign, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, r->uid);
    sqlite3_bind_text(s, 5, r->user, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, r->completion);
    sqlite3_bind_text(s, 7, r->event_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 8, r->issued_at);
    bind_opt_text(s, 9, r->type);
    bind_opt_text(s, 10, r->name);
    if (r->has_amount)
        sqlite3_bind_double(s, 11, r->amount);
    bind_opt_text(s, 12, r->code);
    if (run(s) != 0)
        return TLY_EIO;
    *inserted = sqlite3_changes(ps->db) > 0;
    if (!*inserted)
        return 0;
    return tly_progress_store_outbox(ps, r->tenant, kind, dedupe_key, payload, r->issued_at);
}

int tly_progress_store_outbox(struct tly_progress_store *ps, uint32_t tenant, const char *kind,
                              const char *dedupe_key, const char *payload, int64_t created_at)
{
    sqlite3_stmt *s = ps->st[P_OUTBOX];
    sqlite3_bind_int64(s, 1, tenant);
    sqlite3_bind_text(s, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, dedupe_key, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, payload, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, created_at);
    return run(s);
}

/* ---- API reads ---- */

static int prepare(sqlite3 *db, const char *q, sqlite3_stmt **s)
{
    return sqlite3_prepare_v2(db, q, -1, s, NULL) == SQLITE_OK ? 0 : TLY_EIO;
}

static const char *opt_text(sqlite3_stmt *s, int col)
{
    return sqlite3_column_type(s, col) == SQLITE_NULL ? NULL
                                                      : (const char *)sqlite3_column_text(s, col);
}

static int each_progress(sqlite3_stmt *s, int (*cb)(const struct tly_progress_view *, void *),
                         void *arg, int *rows)
{
    int rc;
    *rows = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct tly_progress_view v = {
            .user = (const char *)sqlite3_column_text(s, 0),
            .seen = sqlite3_column_int(s, 1),
            .completions = sqlite3_column_int64(s, 2),
            .completed = sqlite3_column_int(s, 3),
            .state = sqlite3_column_blob(s, 4),
            .state_len = (size_t)sqlite3_column_bytes(s, 4),
        };
        (*rows)++;
        int r = cb(&v, arg);
        if (r != 0) {
            sqlite3_finalize(s);
            return r;
        }
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : TLY_EIO;
}

#define PROGRESS_COLUMNS                                                                           \
    "SELECT user_id, seen, completions, completed, state FROM campaign_progress "

int tly_progress_query_one(sqlite3 *db, uint32_t tenant, const char *campaign, int64_t uid,
                           const char *user, int (*cb)(const struct tly_progress_view *, void *),
                           void *arg)
{
    sqlite3_stmt *s;
    if (prepare(db,
                PROGRESS_COLUMNS "WHERE tenant_id = ?1 AND campaign_id = ?2 AND campaign_uid = ?3 "
                                 "AND user_id = ?4",
                &s) != 0)
        return TLY_EIO;
    sqlite3_bind_int64(s, 1, tenant);
    sqlite3_bind_text(s, 2, campaign, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, uid);
    sqlite3_bind_text(s, 4, user, -1, SQLITE_STATIC);
    int rows;
    int rc = each_progress(s, cb, arg, &rows);
    return rc != 0 ? rc : rows == 0 ? TLY_ENOENT : 0;
}

int tly_progress_query_each(sqlite3 *db, uint32_t tenant, const char *campaign, int64_t uid,
                            int (*cb)(const struct tly_progress_view *, void *), void *arg)
{
    sqlite3_stmt *s;
    if (prepare(db,
                PROGRESS_COLUMNS "WHERE tenant_id = ?1 AND campaign_id = ?2 AND campaign_uid = ?3",
                &s) != 0)
        return TLY_EIO;
    sqlite3_bind_int64(s, 1, tenant);
    sqlite3_bind_text(s, 2, campaign, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, uid);
    int rows;
    return each_progress(s, cb, arg, &rows);
}

int tly_progress_query_rewards(sqlite3 *db, uint32_t tenant, const char *campaign, int64_t uid,
                               const char *user, int (*cb)(const struct tly_reward_view *, void *),
                               void *arg)
{
    sqlite3_stmt *s;
    if (prepare(db,
                "SELECT reward_id, completion, issued_at, event_id, type, name, amount, code "
                "FROM campaign_rewards WHERE tenant_id = ?1 AND campaign_id = ?2 "
                "AND user_id = ?3 AND campaign_uid = ?4 ORDER BY completion",
                &s) != 0)
        return TLY_EIO;
    sqlite3_bind_int64(s, 1, tenant);
    sqlite3_bind_text(s, 2, campaign, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, user, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, uid);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct tly_reward_view v = {
            .reward_id = (const char *)sqlite3_column_text(s, 0),
            .completion = sqlite3_column_int64(s, 1),
            .issued_at = sqlite3_column_int64(s, 2),
            .event_id = (const char *)sqlite3_column_text(s, 3),
            .type = opt_text(s, 4),
            .name = opt_text(s, 5),
            .has_amount = sqlite3_column_type(s, 6) != SQLITE_NULL,
            .amount = sqlite3_column_double(s, 6),
            .code = opt_text(s, 7),
        };
        int r = cb(&v, arg);
        if (r != 0) {
            sqlite3_finalize(s);
            return r;
        }
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : TLY_EIO;
}

static int one_count(sqlite3 *db, const char *q, uint32_t tenant, const char *campaign, int64_t uid,
                     int64_t *out)
{
    sqlite3_stmt *s;
    if (prepare(db, q, &s) != 0)
        return TLY_EIO;
    sqlite3_bind_int64(s, 1, tenant);
    if (campaign != NULL) {
        sqlite3_bind_text(s, 2, campaign, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, uid);
    }
    int rc = sqlite3_step(s);
    *out = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? 0 : TLY_EIO;
}

int tly_progress_query_counts(sqlite3 *db, uint32_t tenant, const char *campaign, int64_t uid,
                              struct tly_campaign_counts *out)
{
    memset(out, 0, sizeof *out);
    int rc = one_count(db, "SELECT count(*) FROM users WHERE tenant_id = ?1", tenant, NULL, 0,
                       &out->users);
    if (rc == 0)
        rc = one_count(db,
                       "SELECT count(*) FROM campaign_progress WHERE tenant_id = ?1 "
                       "AND campaign_id = ?2 AND campaign_uid = ?3 AND seen",
                       tenant, campaign, uid, &out->seen);
    if (rc == 0)
        rc = one_count(db,
                       "SELECT count(*) FROM campaign_progress WHERE tenant_id = ?1 "
                       "AND campaign_id = ?2 AND campaign_uid = ?3 AND completed",
                       tenant, campaign, uid, &out->completed);
    if (rc == 0)
        rc = one_count(db,
                       "SELECT coalesce(sum(completions), 0) FROM campaign_progress "
                       "WHERE tenant_id = ?1 AND campaign_id = ?2 AND campaign_uid = ?3",
                       tenant, campaign, uid, &out->completions);
    if (rc == 0)
        rc = one_count(db,
                       "SELECT count(*) FROM campaign_rewards WHERE tenant_id = ?1 "
                       "AND campaign_id = ?2 AND campaign_uid = ?3",
                       tenant, campaign, uid, &out->rewards);
    return rc;
}

int tly_progress_query_accepted(sqlite3 *db, uint32_t tenant, const char *campaign,
                                const char *user, int64_t *at)
{
    sqlite3_stmt *s;
    if (prepare(db,
                "SELECT accepted_at FROM campaign_accepts WHERE tenant_id = ?1 "
                "AND campaign_id = ?2 AND user_id = ?3",
                &s) != 0)
        return TLY_EIO;
    int rc = accepted(s, tenant, campaign, user, at);
    sqlite3_finalize(s);
    return rc;
}
