/*
 * Unit tests for campaign definitions and acceptances in state.db
 * (store/campaigns.h), on a real SQLite file: create and the duplicate id,
 * get and list in id order, replace keeping uid and created_at (and the
 * compare-and-swap on the expected definition), delete clearing
 * acceptances and a per-campaign table that exists, the loader walk over
 * one tenant or all, idempotent acceptance, and that no call of one tenant
 * sees or changes another tenant's campaigns.
 *
 * Definitions here are opaque text to the store; they need not be valid
 * campaigns. Every test gets a fresh directory under /tmp.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/err.h"
#include "store/campaigns.h"
#include "store/db.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fx {
    char dir[64];
    char path[128];
    struct tly_db *db;
    sqlite3 *h;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/tally-test-campaigns-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/state.db", f->dir);
    struct tly_error err = {{0}};
    if (tly_db_open(&f->db, f->path, &err) != 0) {
        rmdir(f->dir);
        free(f);
        return -1;
    }
    f->h = tly_db_sqlite(f->db);
    /* Tenants 1 and 2 (campaigns reference tenants). */
    if (sqlite3_exec(f->h,
                     "INSERT INTO tenants (id, name, created_at) VALUES (1, 'a', 0), (2, 'b', 0)",
                     NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tly_db_close(f->db);
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
        unlink(p);
    }
    int rc = rmdir(f->dir);
    free(f);
    return rc == 0 ? 0 : -1;
}

/* A copy of the one row a get or list callback saw. */
struct seen {
    int n;
    uint32_t tenant;
    char id[80];
    char definition[256];
    size_t len;
    int64_t uid, created_at, updated_at;
    char order[256]; /* ids seen, comma-separated */
};

static int on_row(void *arg, const struct tly_campaign_row *row)
{
    struct seen *s = arg;
    s->n++;
    s->tenant = row->tenant;
    snprintf(s->id, sizeof s->id, "%s", row->id);
    snprintf(s->definition, sizeof s->definition, "%s", row->definition);
    s->len = row->len;
    s->uid = row->uid;
    s->created_at = row->created_at;
    s->updated_at = row->updated_at;
    size_t o = strlen(s->order);
    snprintf(s->order + o, sizeof s->order - o, "%s%u/%s", o ? "," : "", row->tenant, row->id);
    return 0;
}

static struct seen get(sqlite3 *h, uint32_t tenant, const char *id, int want_rc)
{
    struct seen s = {0};
    assert_int_equal(tly_campaign_get(h, tenant, id, on_row, &s), want_rc);
    return s;
}

static void test_create_get_and_duplicate(void **state)
{
    struct fx *f = *state;
    int64_t uid = 0;
    assert_int_equal(tly_campaign_create(f->h, 1, "c1", "{\"id\":\"c1\"}", 1000, &uid), 0);
    assert_true(uid > 0);
    struct seen s = get(f->h, 1, "c1", 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.tenant, 1);
    assert_string_equal(s.id, "c1");
    assert_string_equal(s.definition, "{\"id\":\"c1\"}");
    assert_int_equal(s.len, strlen("{\"id\":\"c1\"}"));
    assert_int_equal(s.uid, uid);
    assert_int_equal(s.created_at, 1000);
    assert_int_equal(s.updated_at, 1000);

    /* The same id again: refused, and the first one is unchanged. */
    assert_int_equal(tly_campaign_create(f->h, 1, "c1", "{\"other\":1}", 2000, NULL), TLY_EEXIST);
    s = get(f->h, 1, "c1", 0);
    assert_string_equal(s.definition, "{\"id\":\"c1\"}");
    assert_int_equal(s.uid, uid);

    get(f->h, 1, "nope", TLY_ENOENT);
}

static void test_uid_differs_when_created_again(void **state)
{
    struct fx *f = *state;
    int64_t a, b;
    assert_int_equal(tly_campaign_create(f->h, 1, "c", "{}", 1, &a), 0);
    assert_int_equal(tly_campaign_delete(f->h, 1, "c"), 0);
    assert_int_equal(tly_campaign_create(f->h, 1, "c", "{}", 2, &b), 0);
    assert_true(a > 0 && b > 0);
    assert_true(a != b);
}

static void test_list_in_id_order(void **state)
{
    struct fx *f = *state;
    const char *ids[] = {"m", "a", "z-1", "b_2"};
    for (int i = 0; i < 4; i++)
        assert_int_equal(tly_campaign_create(f->h, 1, ids[i], "{}", i, NULL), 0);
    assert_int_equal(tly_campaign_create(f->h, 2, "0", "{}", 0, NULL), 0);
    struct seen s = {0};
    assert_int_equal(tly_campaigns_list(f->h, 1, on_row, &s), 0);
    assert_string_equal(s.order, "1/a,1/b_2,1/m,1/z-1");
    struct seen none = {0};
    assert_int_equal(tly_campaigns_list(f->h, 3, on_row, &none), 0);
    assert_int_equal(none.n, 0);
}

static void test_replace_keeps_uid_and_created_at(void **state)
{
    struct fx *f = *state;
    int64_t uid;
    assert_int_equal(tly_campaign_create(f->h, 1, "c", "{\"v\":1}", 100, &uid), 0);
    assert_int_equal(tly_campaign_replace(f->h, 1, "c", NULL, "{\"v\":2}", 200), 0);
    struct seen s = get(f->h, 1, "c", 0);
    assert_string_equal(s.definition, "{\"v\":2}");
    assert_int_equal(s.uid, uid);
    assert_int_equal(s.created_at, 100);
    assert_int_equal(s.updated_at, 200);

    /* Compare-and-swap: the stored text must still be what was read. */
    assert_int_equal(tly_campaign_replace(f->h, 1, "c", "{\"v\":1}", "{\"v\":3}", 300),
                     TLY_ECONFLICT);
    assert_string_equal(get(f->h, 1, "c", 0).definition, "{\"v\":2}");
    assert_int_equal(tly_campaign_replace(f->h, 1, "c", "{\"v\":2}", "{\"v\":3}", 300), 0);
    assert_string_equal(get(f->h, 1, "c", 0).definition, "{\"v\":3}");

    assert_int_equal(tly_campaign_replace(f->h, 1, "nope", NULL, "{}", 1), TLY_ENOENT);
    assert_int_equal(tly_campaign_replace(f->h, 1, "nope", "{}", "{}", 1), TLY_ENOENT);
}

static int count(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

static void test_delete_clears_acceptances_and_progress(void **state)
{
    struct fx *f = *state;
    int64_t at;
    assert_int_equal(tly_campaign_create(f->h, 1, "c", "{}", 1, NULL), 0);
    assert_int_equal(tly_campaign_create(f->h, 1, "keep", "{}", 1, NULL), 0);
    assert_int_equal(tly_campaign_accept(f->h, 1, "c", "u1", 5, &at), 0);
    assert_int_equal(tly_campaign_accept(f->h, 1, "keep", "u1", 5, &at), 0);

    /* The engine's progress table (migration 8). */
    assert_int_equal(sqlite3_exec(f->h,
                                  "INSERT INTO campaign_progress (tenant_id, campaign_id, user_id, "
                                  "campaign_uid, seen, completions, completed, state, updated_at) "
                                  "VALUES (1, 'c', 'u1', 1, 1, 0, 0, x'', 0), "
                                  "(1, 'keep', 'u1', 1, 1, 0, 0, x'', 0), "
                                  "(2, 'c', 'u1', 1, 1, 0, 0, x'', 0);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(tly_campaign_delete(f->h, 1, "c"), 0);
    get(f->h, 1, "c", TLY_ENOENT);
    get(f->h, 1, "keep", 0);
    assert_int_equal(count(f->h, "SELECT count(*) FROM campaign_accepts WHERE campaign_id = 'c'"),
                     0);
    assert_int_equal(count(f->h, "SELECT count(*) FROM campaign_accepts"), 1);
    assert_int_equal(count(f->h, "SELECT count(*) FROM campaign_progress WHERE tenant_id = 1 AND "
                                 "campaign_id = 'c'"),
                     0);
    assert_int_equal(count(f->h, "SELECT count(*) FROM campaign_progress"), 2);

    assert_int_equal(tly_campaign_delete(f->h, 1, "c"), TLY_ENOENT);
    /* Not inside a transaction any more. */
    assert_int_equal(sqlite3_get_autocommit(f->h), 1);
}

struct each_seen {
    char order[256];
    int stop_after;
    int n;
};

static int on_each(void *arg, uint32_t tenant, const char *id, int64_t uid, const char *definition,
                   size_t len)
{
    struct each_seen *e = arg;
    assert_true(uid > 0);
    assert_int_equal(strlen(definition), len);
    size_t o = strlen(e->order);
    snprintf(e->order + o, sizeof e->order - o, "%s%u/%s", o ? "," : "", tenant, id);
    return ++e->n == e->stop_after ? 7 : 0;
}

static void test_each_one_tenant_or_all(void **state)
{
    struct fx *f = *state;
    assert_int_equal(tly_campaign_create(f->h, 2, "b", "{}", 1, NULL), 0);
    assert_int_equal(tly_campaign_create(f->h, 1, "z", "{}", 1, NULL), 0);
    assert_int_equal(tly_campaign_create(f->h, 1, "a", "{}", 1, NULL), 0);
    struct each_seen all = {{0}};
    assert_int_equal(tly_campaigns_each(f->h, 0, on_each, &all), 0);
    assert_string_equal(all.order, "1/a,1/z,2/b");
    struct each_seen two = {{0}};
    assert_int_equal(tly_campaigns_each(f->h, 2, on_each, &two), 0);
    assert_string_equal(two.order, "2/b");
    struct each_seen stop = {.stop_after = 1};
    assert_int_equal(tly_campaigns_each(f->h, 0, on_each, &stop), 7);
    assert_string_equal(stop.order, "1/a");
}

static void test_accept_is_idempotent(void **state)
{
    struct fx *f = *state;
    int64_t at = -1;
    assert_int_equal(tly_campaign_accepted_at(f->h, 1, "c", "u", &at), 0);
    assert_int_equal(at, 0);
    assert_int_equal(tly_campaign_accept(f->h, 1, "c", "u", 10, &at), TLY_ENOENT);
    assert_int_equal(count(f->h, "SELECT count(*) FROM campaign_accepts"), 0);

    assert_int_equal(tly_campaign_create(f->h, 1, "c", "{}", 1, NULL), 0);
    assert_int_equal(tly_campaign_accept(f->h, 1, "c", "u", 10, &at), 0);
    assert_int_equal(at, 10);
    assert_int_equal(tly_campaign_accept(f->h, 1, "c", "u", 20, &at), 0);
    assert_int_equal(at, 10);
    assert_int_equal(tly_campaign_accepted_at(f->h, 1, "c", "u", &at), 0);
    assert_int_equal(at, 10);
    assert_int_equal(tly_campaign_accept(f->h, 1, "c", "v", 30, &at), 0);
    assert_int_equal(at, 30);
}

static void test_tenants_are_isolated(void **state)
{
    struct fx *f = *state;
    int64_t at;
    assert_int_equal(tly_campaign_create(f->h, 1, "c", "{\"t\":1}", 1, NULL), 0);
    /* Tenant 2 may use the same id: its own campaign. */
    assert_int_equal(tly_campaign_create(f->h, 2, "c", "{\"t\":2}", 2, NULL), 0);
    assert_string_equal(get(f->h, 2, "c", 0).definition, "{\"t\":2}");
    assert_int_equal(tly_campaign_replace(f->h, 2, "c", NULL, "{\"t\":22}", 3), 0);
    assert_int_equal(tly_campaign_accept(f->h, 2, "c", "u", 4, &at), 0);
    assert_int_equal(tly_campaign_delete(f->h, 2, "c"), 0);
    /* Tenant 1's campaign is untouched by all of it. */
    struct seen s = get(f->h, 1, "c", 0);
    assert_string_equal(s.definition, "{\"t\":1}");
    assert_int_equal(s.updated_at, 1);
    assert_int_equal(tly_campaign_accepted_at(f->h, 1, "c", "u", &at), 0);
    assert_int_equal(at, 0);
    /* Tenant 2 cannot reach it. */
    get(f->h, 2, "c", TLY_ENOENT);
    assert_int_equal(tly_campaign_replace(f->h, 2, "c", NULL, "{}", 5), TLY_ENOENT);
    assert_int_equal(tly_campaign_delete(f->h, 2, "c"), TLY_ENOENT);
    assert_int_equal(tly_campaign_accept(f->h, 2, "c", "u", 6, &at), TLY_ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_get_and_duplicate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uid_differs_when_created_again, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_in_id_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replace_keeps_uid_and_created_at, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_clears_acceptances_and_progress, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_each_one_tenant_or_all, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accept_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenants_are_isolated, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
