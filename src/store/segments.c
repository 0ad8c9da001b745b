/*
 * Segment definitions and members in state.db (see segments.h).
 */
#include "store/segments.h"
#include "core/err.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

static int prep(sqlite3 *db, const char *sql, uint32_t tenant, const char *id, sqlite3_stmt **st)
{
    if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK)
        return TLY_EIO;
    sqlite3_bind_int64(*st, 1, tenant);
    if (id != NULL)
        sqlite3_bind_text(*st, 2, id, -1, SQLITE_STATIC);
    return 0;
}

/* Runs a statement without rows; SQLITE_DONE → 0. */
static int run(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : TLY_EIO;
    sqlite3_finalize(st);
    return rc;
}

static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : TLY_EIO;
}

int tly_segment_create(sqlite3 *db, uint32_t tenant, const char *id, const char *kind,
                       const char *definition, int64_t now)
{
    uint64_t v = 0;
    while (v == 0) {
        if (RAND_bytes((unsigned char *)&v, sizeof v) != 1)
            return TLY_EIO;
        v &= INT64_MAX;
    }
    sqlite3_stmt *st;
    if (prep(db,
             "INSERT INTO segments (tenant_id, id, uid, kind, definition, created_at, "
             "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
             tenant, id, &st) != 0)
        return TLY_EIO;
    sqlite3_bind_int64(st, 3, (int64_t)v);
    sqlite3_bind_text(st, 4, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, definition, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, now);
    int step = sqlite3_step(st);
    int rc = step == SQLITE_DONE                                              ? 0
             : (sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_PRIMARYKEY) ? TLY_EEXIST
                                                                              : TLY_EIO;
    sqlite3_finalize(st);
    return rc;
}

#define COLS "tenant_id, id, uid, kind, definition, created_at, updated_at, rules_gen"

static int walk(sqlite3_stmt *st, int counted, tly_segment_row_fn fn, void *arg, int *rows)
{
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        struct tly_segment_row row = {
            .tenant = (uint32_t)sqlite3_column_int64(st, 0),
            .id = (const char *)sqlite3_column_text(st, 1),
            .uid = sqlite3_column_int64(st, 2),
            .kind = (const char *)sqlite3_column_text(st, 3),
            .definition = (const char *)sqlite3_column_text(st, 4),
            .len = (size_t)sqlite3_column_bytes(st, 4),
            .created_at = sqlite3_column_int64(st, 5),
            .updated_at = sqlite3_column_int64(st, 6),
            .gen = (uint32_t)sqlite3_column_int64(st, 7),
            .members = counted ? sqlite3_column_int64(st, 8) : -1,
        };
        if (row.id == NULL || row.kind == NULL || row.definition == NULL)
            return TLY_EIO;
        (*rows)++;
        rc = fn(arg, &row);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = TLY_EIO;
    return rc;
}

#define COUNTED                                                                                    \
    ", (SELECT count(*) FROM segment_members m WHERE m.tenant_id = s.tenant_id AND "               \
    "m.segment_id = s.id)"

int tly_segment_get(sqlite3 *db, uint32_t tenant, const char *id, tly_segment_row_fn fn, void *arg)
{
    sqlite3_stmt *st;
    if (prep(db, "SELECT " COLS COUNTED " FROM segments s WHERE tenant_id = ?1 AND id = ?2", tenant,
             id, &st) != 0)
        return TLY_EIO;
    int rows = 0;
    int rc = walk(st, 1, fn, arg, &rows);
    sqlite3_finalize(st);
    return rc == 0 && rows == 0 ? TLY_ENOENT : rc;
}

int tly_segments_list(sqlite3 *db, uint32_t tenant, tly_segment_row_fn fn, void *arg)
{
    sqlite3_stmt *st;
    int rc =
        tenant == 0
            ? prep(db, "SELECT " COLS " FROM segments ORDER BY tenant_id, id", 0, NULL, &st)
            : prep(db, "SELECT " COLS COUNTED " FROM segments s WHERE tenant_id = ?1 ORDER BY id",
                   tenant, NULL, &st);
    if (rc != 0)
        return rc;
    int rows = 0;
    rc = walk(st, tenant != 0, fn, arg, &rows);
    sqlite3_finalize(st);
    return rc;
}

int tly_segment_kind(sqlite3 *db, uint32_t tenant, const char *id, char kind[8])
{
    sqlite3_stmt *st;
    if (prep(db, "SELECT kind FROM segments WHERE tenant_id = ?1 AND id = ?2", tenant, id, &st) !=
        0)
        return TLY_EIO;
    int step = sqlite3_step(st);
    int rc = step == SQLITE_ROW ? 0 : step == SQLITE_DONE ? TLY_ENOENT : TLY_EIO;
    if (rc == 0)
        snprintf(kind, 8, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return rc;
}

/* A segment's rules changed (its counts are forgotten: the evaluator sees
 * a new generation), or it is deleted (`members`: its members go; the
 * evaluator forgets the state of a uid it no longer has). */
static int clear(sqlite3 *db, uint32_t tenant, const char *id, int members)
{
    sqlite3_stmt *st;
    if (prep(db,
             members ? "DELETE FROM segment_members WHERE tenant_id = ?1 AND segment_id = ?2"
                     : "UPDATE segments SET rules_gen = rules_gen + 1 WHERE tenant_id = ?1 AND "
                       "id = ?2",
             tenant, id, &st) != 0)
        return TLY_EIO;
    return run(st);
}

int tly_segment_replace(sqlite3 *db, uint32_t tenant, const char *id, const char *kind,
                        const char *definition, int clear_history, int64_t now)
{
    if (exec(db, "BEGIN IMMEDIATE") != 0)
        return TLY_EIO;
    sqlite3_stmt *st;
    int rc = prep(db,
                  "UPDATE segments SET kind = ?3, definition = ?4, updated_at = ?5 "
                  "WHERE tenant_id = ?1 AND id = ?2",
                  tenant, id, &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, definition, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, now);
        rc = run(st);
    }
    if (rc == 0 && sqlite3_changes(db) == 0)
        rc = TLY_ENOENT;
    if (rc == 0 && clear_history)
        rc = clear(db, tenant, id, 0);
    if (rc == 0 && exec(db, "COMMIT") == 0)
        return 0;
    exec(db, "ROLLBACK");
    return rc ? rc : TLY_EIO;
}

int tly_segment_delete(sqlite3 *db, uint32_t tenant, const char *id)
{
    if (exec(db, "BEGIN IMMEDIATE") != 0)
        return TLY_EIO;
    sqlite3_stmt *st;
    int rc = prep(db, "DELETE FROM segments WHERE tenant_id = ?1 AND id = ?2", tenant, id, &st);
    rc = rc ? rc : run(st);
    if (rc == 0 && sqlite3_changes(db) == 0)
        rc = TLY_ENOENT;
    if (rc == 0)
        rc = clear(db, tenant, id, 1);
    if (rc == 0 && exec(db, "COMMIT") == 0)
        return 0;
    exec(db, "ROLLBACK");
    return rc ? rc : TLY_EIO;
}

static int members_change(sqlite3 *db, const char *sql, uint32_t tenant, const char *id,
                          const char *const *users, size_t n, int64_t now, int in_tx,
                          int64_t *changed)
{
    *changed = 0;
    if (!in_tx && exec(db, "BEGIN IMMEDIATE") != 0)
        return TLY_EIO;
    sqlite3_stmt *st;
    int rc = prep(db, sql, tenant, id, &st);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        sqlite3_bind_text(st, 3, users[i], -1, SQLITE_STATIC);
        if (sqlite3_bind_parameter_count(st) >= 4)
            sqlite3_bind_int64(st, 4, now);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = TLY_EIO;
        *changed += sqlite3_changes(db);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (in_tx)
        return rc;
    if (rc == 0 && exec(db, "COMMIT") == 0)
        return 0;
    exec(db, "ROLLBACK");
    return TLY_EIO;
}

int tly_segment_members_add(sqlite3 *db, uint32_t tenant, const char *id, const char *const *users,
                            size_t n, int64_t now, int in_tx, int64_t *changed)
{
    return members_change(db,
                          "INSERT INTO segment_members (tenant_id, segment_id, user_id, "
                          "entered_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                          tenant, id, users, n, now, in_tx, changed);
}

int tly_segment_members_remove(sqlite3 *db, uint32_t tenant, const char *id,
                               const char *const *users, size_t n, int64_t *changed)
{
    return members_change(db,
                          "DELETE FROM segment_members WHERE tenant_id = ?1 AND segment_id = ?2 "
                          "AND user_id = ?3",
                          tenant, id, users, n, 0, 0, changed);
}

int tly_segment_member(sqlite3 *db, uint32_t tenant, const char *id, const char *user,
                       int64_t *entered_at)
{
    sqlite3_stmt *st;
    if (prep(db,
             "SELECT entered_at FROM segment_members WHERE tenant_id = ?1 AND segment_id = ?2 "
             "AND user_id = ?3",
             tenant, id, &st) != 0)
        return TLY_EIO;
    sqlite3_bind_text(st, 3, user, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    int rc = step == SQLITE_ROW ? 0 : step == SQLITE_DONE ? TLY_ENOENT : TLY_EIO;
    if (rc == 0 && entered_at != NULL)
        *entered_at = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc;
}

/* Calls fn with each row's (text, integer) of `st`, then finalizes it. */
static int each_pair(sqlite3_stmt *st, int (*fn)(void *arg, const char *text, int64_t n), void *arg)
{
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW)
        rc = fn(arg, (const char *)sqlite3_column_text(st, 0), sqlite3_column_int64(st, 1));
    if (rc == 0 && step != SQLITE_DONE)
        rc = TLY_EIO;
    sqlite3_finalize(st);
    return rc;
}

int tly_segment_members_page(sqlite3 *db, uint32_t tenant, const char *id, const char *after,
                             int limit, int (*fn)(void *arg, const char *user, int64_t entered_at),
                             void *arg)
{
    sqlite3_stmt *st;
    if (prep(db,
             "SELECT user_id, entered_at FROM segment_members WHERE tenant_id = ?1 AND "
             "segment_id = ?2 AND user_id > ?3 ORDER BY user_id LIMIT ?4",
             tenant, id, &st) != 0)
        return TLY_EIO;
    sqlite3_bind_text(st, 3, after, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, limit);
    return each_pair(st, fn, arg);
}

int tly_segment_user_segments(sqlite3 *db, uint32_t tenant, const char *user,
                              int (*fn)(void *arg, const char *id, int64_t entered_at), void *arg)
{
    sqlite3_stmt *st;
    if (prep(db,
             /* Without statistics the planner would scan the tenant's part of
              * the primary key: every member of every segment. */
             "SELECT segment_id, entered_at FROM segment_members INDEXED BY "
             "segment_members_by_user WHERE tenant_id = ?1 AND user_id = ?2 ORDER BY segment_id",
             tenant, user, &st) != 0)
        return TLY_EIO;
    return each_pair(st, fn, arg);
}

int tly_segment_members_merge_static(sqlite3 *db, uint32_t tenant, const char *from, const char *to,
                                     int64_t now)
{
    sqlite3_stmt *st;
    if (prep(db,
             "INSERT INTO segment_members (tenant_id, segment_id, user_id, entered_at) "
             "SELECT m.tenant_id, m.segment_id, ?3, ?4 FROM segment_members m "
             "JOIN segments s ON s.tenant_id = m.tenant_id AND s.id = m.segment_id "
             "WHERE m.tenant_id = ?1 AND m.user_id = ?2 AND s.kind = 'static' "
             "ON CONFLICT DO NOTHING",
             tenant, from, &st) != 0)
        return TLY_EIO;
    sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    return run(st);
}
