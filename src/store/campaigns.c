/*
 * Campaign definitions and acceptances in state.db (see campaigns.h).
 */
#include "store/campaigns.h"
#include "core/err.h"

#include <openssl/rand.h>
#include <string.h>

/* Tables holding rows of one campaign, cleared when it is deleted: `sql`
 * runs only when `table` exists (?1 tenant, ?2 campaign id, ?3 uid). A
 * migration that adds such a table adds its line here. */
static const struct {
    const char *table;
    const char *sql;
} per_campaign_tables[] = {
    {"campaign_accepts", "DELETE FROM campaign_accepts WHERE tenant_id = ?1 AND campaign_id = ?2"},
    {"campaign_progress",
     "DELETE FROM campaign_progress WHERE tenant_id = ?1 AND campaign_id = ?2"},
};

#define N_PER_CAMPAIGN ((int)(sizeof per_campaign_tables / sizeof per_campaign_tables[0]))

static const char *const select_cols =
    "SELECT tenant_id, id, uid, definition, created_at, updated_at FROM campaigns ";

static int new_uid(int64_t *uid)
{
    uint64_t v = 0;
    while (v == 0) {
        if (RAND_bytes((unsigned char *)&v, sizeof v) != 1)
            return TLY_EIO;
        v &= INT64_MAX; /* SQLite integers are signed: keep it positive */
    }
    *uid = (int64_t)v;
    return 0;
}

int tly_campaign_create(sqlite3 *db, uint32_t tenant, const char *id, const char *definition,
                        int64_t now, int64_t *uid)
{
    int64_t u;
    if (new_uid(&u) != 0)
        return TLY_EIO;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO campaigns (tenant_id, id, uid, definition, created_at, "
                           "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                           -1, &st, NULL) != SQLITE_OK)
        return TLY_EIO;
    sqlite3_bind_int64(st, 1, tenant);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, u);
    sqlite3_bind_text(st, 4, definition, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, now);
    int step = sqlite3_step(st);
    int rc = step == SQLITE_DONE                                              ? 0
             : (sqlite3_extended_errcode(db) == SQLITE_CONSTRAINT_PRIMARYKEY) ? TLY_EEXIST
                                                                              : TLY_EIO;
    sqlite3_finalize(st);
    if (rc == 0 && uid != NULL)
        *uid = u;
    return rc;
}

/* Steps `st` (columns as select_cols) and calls fn for each row. */
static int walk(sqlite3_stmt *st, tly_campaign_row_fn fn, void *arg, int *rows)
{
    int rc = 0, step;
    while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
        struct tly_campaign_row row = {
            .tenant = (uint32_t)sqlite3_column_int64(st, 0),
            .id = (const char *)sqlite3_column_text(st, 1),
            .uid = sqlite3_column_int64(st, 2),
            .definition = (const char *)sqlite3_column_text(st, 3),
            .len = (size_t)sqlite3_column_bytes(st, 3),
            .created_at = sqlite3_column_int64(st, 4),
            .updated_at = sqlite3_column_int64(st, 5),
        };
        if (row.id == NULL || row.definition == NULL)
            return TLY_EIO;
        if (rows != NULL)
            (*rows)++;
        rc = fn(arg, &row);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = TLY_EIO;
    return rc;
}

static int prepare(sqlite3 *db, const char *where, sqlite3_stmt **st)
{
    char sql[256];
    size_t a = strlen(select_cols), b = strlen(where);
    if (a + b + 1 > sizeof sql)
        return TLY_EIO;
    memcpy(sql, select_cols, a);
    memcpy(sql + a, where, b + 1);
    return sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK ? 0 : TLY_EIO;
}

int tly_campaign_get(sqlite3 *db, uint32_t tenant, const char *id, tly_campaign_row_fn fn,
                     void *arg)
{
    sqlite3_stmt *st;
    if (prepare(db, "WHERE tenant_id = ?1 AND id = ?2", &st) != 0)
        return TLY_EIO;
    sqlite3_bind_int64(st, 1, tenant);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    int rows = 0;
    int rc = walk(st, fn, arg, &rows);
    sqlite3_finalize(st);
    return rc == 0 && rows == 0 ? TLY_ENOENT : rc;
}

int tly_campaigns_list(sqlite3 *db, uint32_t tenant, tly_campaign_row_fn fn, void *arg)
{
    sqlite3_stmt *st;
    if (prepare(db, "WHERE tenant_id = ?1 ORDER BY id", &st) != 0)
        return TLY_EIO;
    sqlite3_bind_int64(st, 1, tenant);
    int rc = walk(st, fn, arg, NULL);
    sqlite3_finalize(st);
    return rc;
}

struct each_arg {
    tly_campaign_each_fn fn;
    void *arg;
};

static int each_row(void *arg, const struct tly_campaign_row *row)
{
    struct each_arg *e = arg;
    return e->fn(e->arg, row->tenant, row->id, row->uid, row->definition, row->len);
}

int tly_campaigns_each(sqlite3 *db, uint32_t tenant, tly_campaign_each_fn fn, void *arg)
{
    sqlite3_stmt *st;
    if (prepare(db, "WHERE ?1 = 0 OR tenant_id = ?1 ORDER BY tenant_id, id", &st) != 0)
        return TLY_EIO;
    sqlite3_bind_int64(st, 1, tenant);
    struct each_arg e = {fn, arg};
    int rc = walk(st, each_row, &e, NULL);
    sqlite3_finalize(st);
    return rc;
}

int tly_campaign_replace(sqlite3 *db, uint32_t tenant, const char *id, const char *expected,
                         const char *definition, int64_t now)
{
    /* Changed nothing: either no campaign, or not the expected definition;
     * the second statement tells which. */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "UPDATE campaigns SET definition = ?3, updated_at = ?4 WHERE "
                           "tenant_id = ?1 AND id = ?2 AND (?5 IS NULL OR definition = ?5)",
                           -1, &st, NULL) != SQLITE_OK)
        return TLY_EIO;
    sqlite3_bind_int64(st, 1, tenant);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, definition, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    if (expected != NULL)
        sqlite3_bind_text(st, 5, expected, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : TLY_EIO;
    sqlite3_finalize(st);
    if (rc != 0 || sqlite3_changes(db) == 1)
        return rc;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM campaigns WHERE tenant_id = ?1 AND id = ?2", -1, &st,
                           NULL) != SQLITE_OK)
        return TLY_EIO;
    sqlite3_bind_int64(st, 1, tenant);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    return step == SQLITE_ROW ? TLY_ECONFLICT : step == SQLITE_DONE ? TLY_ENOENT : TLY_EIO;
}

static int exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : TLY_EIO;
}

static int table_exists(sqlite3 *db, const char *table, int *exists)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1", -1,
                           &st, NULL) != SQLITE_OK)
        return TLY_EIO;
    sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    *exists = step == SQLITE_ROW;
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : TLY_EIO;
}

/* Runs one statement with ?1 tenant, ?2 id, ?3 uid (those it uses). */
static int run_bound(sqlite3 *db, const char *sql, uint32_t tenant, const char *id, int64_t uid)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return TLY_EIO;
    int n = sqlite3_bind_parameter_count(st);
    sqlite3_bind_int64(st, 1, tenant);
    if (n >= 2)
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    if (n >= 3)
        sqlite3_bind_int64(st, 3, uid);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : TLY_EIO;
    sqlite3_finalize(st);
    return rc;
}

/* The deletes of tly_campaign_delete, inside its transaction. */
static int delete_rows(sqlite3 *db, uint32_t tenant, const char *id)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "DELETE FROM campaigns WHERE tenant_id = ?1 AND id = ?2 RETURNING uid",
                           -1, &st, NULL) != SQLITE_OK)
        return TLY_EIO;
    sqlite3_bind_int64(st, 1, tenant);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    int64_t uid = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    if (step == SQLITE_ROW)
        step = sqlite3_step(st); /* finishes the statement: SQLITE_DONE */
    sqlite3_finalize(st);
    if (step != SQLITE_DONE)
        return TLY_EIO;
    if (uid == 0)
        return TLY_ENOENT;
    for (int i = 0; i < N_PER_CAMPAIGN; i++) {
        int exists;
        int rc = table_exists(db, per_campaign_tables[i].table, &exists);
        if (rc == 0 && exists)
            rc = run_bound(db, per_campaign_tables[i].sql, tenant, id, uid);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int tly_campaign_delete(sqlite3 *db, uint32_t tenant, const char *id)
{
    if (exec(db, "BEGIN IMMEDIATE") != 0)
        return TLY_EIO;
    int rc = delete_rows(db, tenant, id);
    if (rc == 0)
        rc = exec(db, "COMMIT");
    if (rc != 0)
        exec(db, "ROLLBACK");
    return rc;
}

int tly_campaign_accepted_at(sqlite3 *db, uint32_t tenant, const char *id, const char *user_id,
                             int64_t *accepted_at)
{
    sqlite3_stmt *st;
    *accepted_at = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT accepted_at FROM campaign_accepts WHERE tenant_id = ?1 AND "
                           "campaign_id = ?2 AND user_id = ?3",
                           -1, &st, NULL) != SQLITE_OK)
        return TLY_EIO;
    sqlite3_bind_int64(st, 1, tenant);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, user_id, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        *accepted_at = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return step == SQLITE_ROW || step == SQLITE_DONE ? 0 : TLY_EIO;
}

int tly_campaign_accept(sqlite3 *db, uint32_t tenant, const char *id, const char *user_id,
                        int64_t now, int64_t *accepted_at)
{
    /* One statement: inserted only while the campaign exists, and never
     * over an earlier acceptance. */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO campaign_accepts (tenant_id, campaign_id, user_id, "
                           "accepted_at) SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM "
                           "campaigns WHERE tenant_id = ?1 AND id = ?2) "
                           "ON CONFLICT (tenant_id, campaign_id, user_id) DO NOTHING",
                           -1, &st, NULL) != SQLITE_OK)
        return TLY_EIO;
    sqlite3_bind_int64(st, 1, tenant);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : TLY_EIO;
    sqlite3_finalize(st);
    if (rc == 0)
        rc = tly_campaign_accepted_at(db, tenant, id, user_id, accepted_at);
    return rc == 0 && *accepted_at == 0 ? TLY_ENOENT : rc;
}
