/*
 * Unit tests for request authentication (ingest/auth.h) and its cache of
 * verified keys: a key is accepted again from the cache with the same
 * tenant; a key of the other kind, a near miss of a cached key and a
 * prefix of it are refused and counted; a key removed from state.db stops
 * working once the reload timer has seen the change, even though it was
 * cached, while the keys that remain keep working; a tenant created while
 * running is accepted after the reload; keys never reach the log.
 *
 * Every test gets a fresh state.db under /tmp and its own libuv loop.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ingest/auth.h"
#include "store/db.h"
#include "store/tenants.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

struct fx {
    char dir[64];
    char path[128];
    struct tly_db *db; /* a second connection, as `tallyd tenant` would use */
    uv_loop_t loop;
    FILE *logf;
    struct tly_logger lg;
    struct tly_auth *auth;
    uint32_t tenant;
    char wk[TLY_KEY_TEXT_MAX], ak[TLY_KEY_TEXT_MAX];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/tally-test-auth-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/state.db", f->dir);
    struct tly_error err;
    struct tly_tenant t;
    if (tly_db_open(&f->db, f->path, &err) != 0 ||
        tly_tenant_create(f->db, "acme", &t, f->wk, f->ak, &err) != 0)
        return -1;
    f->tenant = t.id;
    f->logf = tmpfile();
    tly_logger_init(&f->lg, f->logf, TLY_LOG_DEBUG);
    if (f->logf == NULL || uv_loop_init(&f->loop) != 0 ||
        tly_auth_open(&f->auth, &f->loop, f->path, &f->lg) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tly_auth_close(f->auth);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_loop_close(&f->loop);
    tly_db_close(f->db);
    fclose(f->logf);
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static int key(struct fx *f, const char *k, size_t len, enum tly_key_kind kind, uint32_t *tenant)
{
    const char *why = NULL;
    int rc = tly_auth_key(f->auth, k, len, kind, tenant, &why);
    if (rc != 0)
        assert_non_null(why);
    return rc;
}

static void on_wait_timer(uv_timer_t *t)
{
    (void)t;
}

/* Runs the loop for `ms`, long enough for the reload timer (1 s) to look. */
static void run_for(struct fx *f, uint64_t ms)
{
    uv_timer_t t;
    uv_timer_init(&f->loop, &t);
    uv_timer_start(&t, on_wait_timer, ms, 0);
    uv_run(&f->loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

static void test_cached_key_keeps_its_tenant_and_kind(void **state)
{
    struct fx *f = *state;
    size_t n = strlen(f->wk);
    for (int i = 0; i < 3; i++) { /* first from the table, then from the cache */
        uint32_t tid = 0;
        assert_int_equal(key(f, f->wk, n, TLY_KEY_WRITE, &tid), 0);
        assert_int_equal(tid, f->tenant);
    }
    uint64_t before = tly_auth_failures(f->auth);
    uint32_t tid = 777;
    /* A cached write key is not an admin key, nor the reverse. */
    assert_int_equal(key(f, f->wk, n, TLY_KEY_ADMIN, &tid), TLY_ENOENT);
    assert_int_equal(key(f, f->ak, strlen(f->ak), TLY_KEY_ADMIN, &tid), 0);
    assert_int_equal(tid, f->tenant);
    tid = 777;
    assert_int_equal(key(f, f->ak, strlen(f->ak), TLY_KEY_WRITE, &tid), TLY_ENOENT);
    assert_int_equal(tid, 777);
    assert_int_equal(tly_auth_failures(f->auth), before + 2);
}

static void test_near_misses_of_a_cached_key(void **state)
{
    struct fx *f = *state;
    size_t n = strlen(f->wk);
    uint32_t tid;
    assert_int_equal(key(f, f->wk, n, TLY_KEY_WRITE, &tid), 0);
    uint64_t before = tly_auth_failures(f->auth);
    int misses = 0;
    for (size_t i = 0; i < n; i++) { /* every character changed in turn */
        char k[TLY_KEY_TEXT_MAX];
        memcpy(k, f->wk, n + 1);
        k[i] = k[i] == '0' ? '1' : '0';
        tid = 777;
        assert_int_equal(key(f, k, n, TLY_KEY_WRITE, &tid), TLY_ENOENT);
        assert_int_equal(tid, 777);
        misses++;
    }
    for (size_t i = 0; i < n; i++) { /* every proper prefix, the empty one too */
        assert_int_equal(key(f, f->wk, i, TLY_KEY_WRITE, &tid), TLY_ENOENT);
        misses++;
    }
    char longer[TLY_KEY_TEXT_MAX + 1];
    snprintf(longer, sizeof longer, "%s0", f->wk);
    assert_int_equal(key(f, longer, n + 1, TLY_KEY_WRITE, &tid), TLY_ENOENT);
    misses++;
    assert_int_equal(tly_auth_failures(f->auth), before + (uint64_t)misses);
    /* The real key, still cached, still works. */
    assert_int_equal(key(f, f->wk, n, TLY_KEY_WRITE, &tid), 0);
    assert_int_equal(tid, f->tenant);
}

static void test_removed_key_stops_working_after_reload(void **state)
{
    struct fx *f = *state;
    struct tly_tenant t2;
    char wk2[TLY_KEY_TEXT_MAX], ak2[TLY_KEY_TEXT_MAX];
    struct tly_error err;
    assert_int_equal(tly_tenant_create(f->db, "beta", &t2, wk2, ak2, &err), 0);
    run_for(f, 1300);
    uint32_t tid;
    /* Both tenants' keys are verified, so both are cached. */
    assert_int_equal(key(f, f->wk, strlen(f->wk), TLY_KEY_WRITE, &tid), 0);
    assert_int_equal(key(f, wk2, strlen(wk2), TLY_KEY_WRITE, &tid), 0);
    assert_int_equal(tid, t2.id);

    /* Remove acme's write key the way an operator would, with SQL. */
    char sql[128];
    snprintf(sql, sizeof sql, "DELETE FROM api_keys WHERE tenant_id = %u AND kind = 'write'",
             f->tenant);
    assert_int_equal(sqlite3_exec(tly_db_sqlite(f->db), sql, NULL, NULL, NULL), SQLITE_OK);
    /* Until the timer has looked, the table in memory still has it. */
    assert_int_equal(key(f, f->wk, strlen(f->wk), TLY_KEY_WRITE, &tid), 0);
    run_for(f, 1300);
    tid = 777;
    assert_int_equal(key(f, f->wk, strlen(f->wk), TLY_KEY_WRITE, &tid), TLY_ENOENT);
    assert_int_equal(tid, 777);
    /* The others are unaffected. */
    assert_int_equal(key(f, f->ak, strlen(f->ak), TLY_KEY_ADMIN, &tid), 0);
    assert_int_equal(tid, f->tenant);
    assert_int_equal(key(f, wk2, strlen(wk2), TLY_KEY_WRITE, &tid), 0);
    assert_int_equal(tid, t2.id);

    /* The newest key deleted and another inserted: the same number of
     * keys and the same largest row id, still noticed. */
    snprintf(sql, sizeof sql, "DELETE FROM api_keys WHERE tenant_id = %u AND kind = 'admin'",
             t2.id);
    assert_int_equal(sqlite3_exec(tly_db_sqlite(f->db), sql, NULL, NULL, NULL), SQLITE_OK);
    run_for(f, 1300); /* beta's write key is now the newest row */
    assert_int_equal(key(f, wk2, strlen(wk2), TLY_KEY_WRITE, &tid), 0);
    assert_int_equal(
        sqlite3_exec(tly_db_sqlite(f->db),
                     "DELETE FROM api_keys WHERE rowid = (SELECT max(rowid) FROM api_keys);"
                     "INSERT INTO api_keys (key_hash, tenant_id, kind, hint, created_at) "
                     "VALUES (randomblob(32), 1, 'write', 'x', 0);",
                     NULL, NULL, NULL),
        SQLITE_OK);
    run_for(f, 1300);
    assert_int_equal(key(f, wk2, strlen(wk2), TLY_KEY_WRITE, &tid), TLY_ENOENT);

    /* Keys never reach the log, though reloads are logged. */
    fflush(f->logf);
    rewind(f->logf);
    char logtext[8192];
    size_t got = fread(logtext, 1, sizeof logtext - 1, f->logf);
    logtext[got] = '\0';
    assert_non_null(strstr(logtext, "API keys loaded"));
    assert_null(strstr(logtext, f->wk + 7));
    assert_null(strstr(logtext, f->ak + 7));
    assert_null(strstr(logtext, wk2 + 7));
}

static void test_many_keys_share_the_cache(void **state)
{
    struct fx *f = *state;
    enum { N = 40 }; /* more keys than cache slots */
    char wk[N][TLY_KEY_TEXT_MAX], ak[TLY_KEY_TEXT_MAX];
    uint32_t ids[N];
    struct tly_error err;
    for (int i = 0; i < N; i++) {
        char name[16];
        snprintf(name, sizeof name, "t%d", i);
        struct tly_tenant t;
        assert_int_equal(tly_tenant_create(f->db, name, &t, wk[i], ak, &err), 0);
        ids[i] = t.id;
    }
    run_for(f, 1300);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            uint32_t tid = 0;
            assert_int_equal(key(f, wk[i], strlen(wk[i]), TLY_KEY_WRITE, &tid), 0);
            assert_int_equal(tid, ids[i]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cached_key_keeps_its_tenant_and_kind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_near_misses_of_a_cached_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed_key_stops_working_after_reload, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_many_keys_share_the_cache, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
