/*
 * Unit tests for store/settings.h, the per-tenant processing settings:
 * the defaults; applying JSON with each field (and their limits exactly);
 * a partial update keeping the other fields; unknown fields, wrong types,
 * fractions, negative, zero-where-not-allowed and too large values refused
 * with TLY_EINVAL naming the field and leaving the settings untouched (also
 * when an earlier field of the same document was fine); the to_json form
 * and its round trip through apply; load and save on a fresh state.db
 * (defaults when nothing is stored, upsert, per-tenant isolation, other
 * connections see it, a tenant that does not exist is refused).
 *
 * Store tests get a fresh directory from mkdtemp under /tmp, removed by the
 * teardown.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/buf.h"
#include "store/db.h"
#include "store/settings.h"
#include "store/tenants.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DAY_S (24LL * 3600)

/* ---- helpers ---- */

static int apply(struct tly_tenant_settings *s, const char *json, struct tly_error *err)
{
    memset(err, 0, sizeof *err);
    return tly_settings_apply_json(s, json, strlen(json), err);
}

static void expect_same(const struct tly_tenant_settings *a, const struct tly_tenant_settings *b)
{
    assert_true(a->dedupe_window_ms == b->dedupe_window_ms);
    assert_true(a->horizon_ms == b->horizon_ms);
    assert_int_equal(a->require_registration, b->require_registration);
}

/* Applies `json` to non-default settings; expects TLY_EINVAL naming
 * `field` and the settings left exactly as they were. */
static void expect_refused(const char *json, const char *field)
{
    struct tly_tenant_settings s = {123000, 456000, 1}, before = s;
    struct tly_error err;
    int rc = apply(&s, json, &err);
    if (rc != TLY_EINVAL)
        fail_msg("%s: rc %d, expected TLY_EINVAL", json, rc);
    if (strcmp(err.field, field) != 0)
        fail_msg("%s: error names field '%s', expected '%s' (%s)", json, err.field, field, err.msg);
    assert_true(err.msg[0] != '\0');
    if (field[0] != '\0' && strstr(err.msg, field) == NULL)
        fail_msg("%s: message '%s' does not name %s", json, err.msg, field);
    expect_same(&s, &before);
}

/* ---- pure functions ---- */

static void test_defaults(void **state)
{
    (void)state;
    struct tly_tenant_settings s;
    memset(&s, 0xab, sizeof s);
    tly_settings_default(&s);
    assert_true(s.dedupe_window_ms == 7 * TLY_DAY_MS);
    assert_true(s.dedupe_window_ms == 604800000LL);
    assert_true(s.horizon_ms == 30 * TLY_DAY_MS);
    assert_true(s.horizon_ms == 2592000000LL);
    assert_int_equal(s.require_registration, 0);
}

static void test_apply_each_field(void **state)
{
    (void)state;
    struct tly_tenant_settings s, d;
    struct tly_error err;
    tly_settings_default(&d);

    s = d;
    assert_int_equal(apply(&s, "{\"dedupe_window_seconds\": 3600}", &err), 0);
    assert_true(s.dedupe_window_ms == 3600000LL);
    assert_true(s.horizon_ms == d.horizon_ms);
    assert_int_equal(s.require_registration, 0);

    s = d;
    assert_int_equal(apply(&s, "{\"timestamp_horizon_seconds\": 7776000}", &err), 0);
    assert_true(s.horizon_ms == 90 * TLY_DAY_MS);
    assert_true(s.dedupe_window_ms == d.dedupe_window_ms);
    assert_int_equal(s.require_registration, 0);

    s = d;
    assert_int_equal(apply(&s, "{\"require_registration\": true}", &err), 0);
    assert_int_equal(s.require_registration, 1);
    assert_true(s.dedupe_window_ms == d.dedupe_window_ms);
    assert_true(s.horizon_ms == d.horizon_ms);
    assert_int_equal(apply(&s, "{\"require_registration\": false}", &err), 0);
    assert_int_equal(s.require_registration, 0);

    /* All three at once, in any order, with whitespace around. */
    s = d;
    assert_int_equal(apply(&s,
                           " {\"require_registration\":true,\"timestamp_horizon_seconds\":86400,"
                           "\"dedupe_window_seconds\":60}\n",
                           &err),
                     0);
    assert_true(s.dedupe_window_ms == 60000);
    assert_true(s.horizon_ms == TLY_DAY_MS);
    assert_int_equal(s.require_registration, 1);

    /* An empty object changes nothing. */
    struct tly_tenant_settings before = s;
    assert_int_equal(apply(&s, "{}", &err), 0);
    expect_same(&s, &before);

    /* A whole number written with an exponent or a ".0" is whole. */
    s = d;
    assert_int_equal(apply(&s, "{\"dedupe_window_seconds\": 1.2e2}", &err), 0);
    assert_true(s.dedupe_window_ms == 120000);
    assert_int_equal(apply(&s, "{\"dedupe_window_seconds\": 30.0}", &err), 0);
    assert_true(s.dedupe_window_ms == 30000);
}

static void test_apply_limits_inclusive(void **state)
{
    (void)state;
    struct tly_tenant_settings s;
    struct tly_error err;
    char json[128];
    tly_settings_default(&s);

    /* dedupe window: 0 (off) .. 366 days. */
    assert_int_equal(apply(&s, "{\"dedupe_window_seconds\": 0}", &err), 0);
    assert_true(s.dedupe_window_ms == 0);
    snprintf(json, sizeof json, "{\"dedupe_window_seconds\": %lld}", 366 * DAY_S);
    assert_int_equal(apply(&s, json, &err), 0);
    assert_true(s.dedupe_window_ms == 366 * TLY_DAY_MS);

    /* horizon: 1 s .. 10 × 366 days. */
    assert_int_equal(apply(&s, "{\"timestamp_horizon_seconds\": 1}", &err), 0);
    assert_true(s.horizon_ms == 1000);
    snprintf(json, sizeof json, "{\"timestamp_horizon_seconds\": %lld}", 10 * 366 * DAY_S);
    assert_int_equal(apply(&s, json, &err), 0);
    assert_true(s.horizon_ms == 10 * 366 * TLY_DAY_MS);
}

static void test_partial_update_keeps_others(void **state)
{
    (void)state;
    struct tly_tenant_settings s;
    struct tly_error err;
    tly_settings_default(&s);
    assert_int_equal(apply(&s,
                           "{\"dedupe_window_seconds\":10,\"timestamp_horizon_seconds\":20,"
                           "\"require_registration\":true}",
                           &err),
                     0);
    assert_int_equal(apply(&s, "{\"timestamp_horizon_seconds\": 99}", &err), 0);
    assert_true(s.dedupe_window_ms == 10000);
    assert_true(s.horizon_ms == 99000);
    assert_int_equal(s.require_registration, 1);
    assert_int_equal(apply(&s, "{\"require_registration\": false}", &err), 0);
    assert_true(s.dedupe_window_ms == 10000);
    assert_true(s.horizon_ms == 99000);
    assert_int_equal(s.require_registration, 0);
    assert_int_equal(apply(&s, "{\"dedupe_window_seconds\": 5}", &err), 0);
    assert_true(s.dedupe_window_ms == 5000);
    assert_true(s.horizon_ms == 99000);
    assert_int_equal(s.require_registration, 0);
}

static void test_unknown_field_refused(void **state)
{
    (void)state;
    expect_refused("{\"dedupe_window\": 10}", "dedupe_window");
    expect_refused("{\"Require_Registration\": true}", "Require_Registration");
    expect_refused("{\"timestamp_horizon_seconds\": 10, \"extra\": 1}", "extra");
    expect_refused("{\"\": 1}", "");
}

static void test_wrong_types_refused(void **state)
{
    (void)state;
    expect_refused("{\"dedupe_window_seconds\": \"60\"}", "dedupe_window_seconds");
    expect_refused("{\"dedupe_window_seconds\": true}", "dedupe_window_seconds");
    expect_refused("{\"dedupe_window_seconds\": null}", "dedupe_window_seconds");
    expect_refused("{\"dedupe_window_seconds\": [60]}", "dedupe_window_seconds");
    expect_refused("{\"dedupe_window_seconds\": 1.5}", "dedupe_window_seconds");
    expect_refused("{\"timestamp_horizon_seconds\": {}}", "timestamp_horizon_seconds");
    expect_refused("{\"timestamp_horizon_seconds\": 86400.25}", "timestamp_horizon_seconds");
    expect_refused("{\"timestamp_horizon_seconds\": false}", "timestamp_horizon_seconds");
    expect_refused("{\"require_registration\": 1}", "require_registration");
    expect_refused("{\"require_registration\": \"true\"}", "require_registration");
    expect_refused("{\"require_registration\": null}", "require_registration");
}

static void test_out_of_range_refused(void **state)
{
    (void)state;
    char json[128];
    expect_refused("{\"dedupe_window_seconds\": -1}", "dedupe_window_seconds");
    snprintf(json, sizeof json, "{\"dedupe_window_seconds\": %lld}", 366 * DAY_S + 1);
    expect_refused(json, "dedupe_window_seconds");
    expect_refused("{\"dedupe_window_seconds\": 1e300}", "dedupe_window_seconds");
    expect_refused("{\"dedupe_window_seconds\": -1e300}", "dedupe_window_seconds");
    expect_refused("{\"dedupe_window_seconds\": 9223372036854775807}", "dedupe_window_seconds");

    expect_refused("{\"timestamp_horizon_seconds\": 0}", "timestamp_horizon_seconds");
    expect_refused("{\"timestamp_horizon_seconds\": -86400}", "timestamp_horizon_seconds");
    snprintf(json, sizeof json, "{\"timestamp_horizon_seconds\": %lld}", 10 * 366 * DAY_S + 1);
    expect_refused(json, "timestamp_horizon_seconds");
}

static void test_refusal_is_all_or_nothing(void **state)
{
    (void)state;
    /* The first fields are fine, a later one is not: none is applied. */
    expect_refused("{\"dedupe_window_seconds\": 10, \"require_registration\": 0}",
                   "require_registration");
    expect_refused("{\"require_registration\": false, \"timestamp_horizon_seconds\": 10,"
                   " \"dedupe_window_seconds\": -5}",
                   "dedupe_window_seconds");
    expect_refused("{\"timestamp_horizon_seconds\": 10, \"nope\": true}", "nope");
}

static void test_not_an_object_or_not_json(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "[]", "null", "7", "\"x\"", "{", "{\"dedupe_window_seconds\":}", "{} {}", "{'a':1}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tly_tenant_settings s = {1000, 2000, 1}, before = s;
        struct tly_error err;
        int rc = apply(&s, bad[i], &err);
        if (rc != TLY_EINVAL)
            fail_msg("'%s': rc %d, expected TLY_EINVAL", bad[i], rc);
        assert_true(err.msg[0] != '\0');
        expect_same(&s, &before);
    }
}

static void test_to_json(void **state)
{
    (void)state;
    struct tly_tenant_settings s;
    tly_settings_default(&s);
    struct tly_buf b;
    tly_buf_init(&b, 0);
    assert_int_equal(tly_settings_to_json(&s, &b), 0);
    assert_true(b.len == strlen("{\"dedupe_window_seconds\":604800,"
                                "\"timestamp_horizon_seconds\":2592000,"
                                "\"require_registration\":false}"));
    assert_memory_equal(b.data,
                        "{\"dedupe_window_seconds\":604800,\"timestamp_horizon_seconds\":2592000,"
                        "\"require_registration\":false}",
                        b.len);
    tly_buf_free(&b);
}

static void test_round_trip(void **state)
{
    (void)state;
    const struct tly_tenant_settings cases[] = {
        {0, 1000, 0},
        {366 * TLY_DAY_MS, 10 * 366 * TLY_DAY_MS, 1},
        {60000, 45 * TLY_DAY_MS, 1},
        {7 * TLY_DAY_MS, 30 * TLY_DAY_MS, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tly_buf b;
        tly_buf_init(&b, 0);
        assert_int_equal(tly_settings_to_json(&cases[i], &b), 0);
        /* Into settings that differ in every field. */
        struct tly_tenant_settings s = {5000, 6000, !cases[i].require_registration};
        struct tly_error err = {{0}};
        int rc = tly_settings_apply_json(&s, b.data, b.len, &err);
        if (rc != 0)
            fail_msg("case %zu: %.*s refused: %s", i, (int)b.len, b.data, err.msg);
        expect_same(&s, &cases[i]);
        tly_buf_free(&b);
    }
}

/* ---- load and save on state.db ---- */

struct fx {
    char dir[64];
    char path[128];
    struct tly_db *db;
    uint32_t t1, t2;
};

static int setup_db(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/tally-test-settings-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/state.db", f->dir);
    struct tly_error err = {{0}};
    if (tly_db_open(&f->db, f->path, &err) != 0)
        return -1;
    struct tly_tenant t;
    char wk[TLY_KEY_TEXT_MAX], ak[TLY_KEY_TEXT_MAX];
    if (tly_tenant_create(f->db, "one", &t, wk, ak, &err) != 0)
        return -1;
    f->t1 = t.id;
    if (tly_tenant_create(f->db, "two", &t, wk, ak, &err) != 0)
        return -1;
    f->t2 = t.id;
    *state = f;
    return 0;
}

static int teardown_db(void **state)
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

static void test_load_defaults_when_none_stored(void **state)
{
    struct fx *f = *state;
    struct tly_tenant_settings s = {1, 2, 1}, d;
    tly_settings_default(&d);
    assert_int_equal(tly_settings_load(tly_db_sqlite(f->db), f->t1, &s), 0);
    expect_same(&s, &d);
    /* Also for an id no tenant has: nothing is stored for it. */
    s = (struct tly_tenant_settings){1, 2, 1};
    assert_int_equal(tly_settings_load(tly_db_sqlite(f->db), 9999, &s), 0);
    expect_same(&s, &d);
}

static void test_save_load(void **state)
{
    struct fx *f = *state;
    sqlite3 *h = tly_db_sqlite(f->db);
    struct tly_tenant_settings want = {3600000, 60 * TLY_DAY_MS, 1}, got;
    assert_int_equal(tly_settings_save(h, f->t1, &want), 0);
    assert_int_equal(tly_settings_load(h, f->t1, &got), 0);
    expect_same(&got, &want);

    /* Saving again replaces (one row per tenant). */
    struct tly_tenant_settings next = {0, 1000, 0};
    assert_int_equal(tly_settings_save(h, f->t1, &next), 0);
    assert_int_equal(tly_settings_load(h, f->t1, &got), 0);
    expect_same(&got, &next);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*), max(updated_at) FROM tenant_settings",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    assert_true(sqlite3_column_int64(st, 1) > 1600000000000LL); /* ms since the epoch */
    sqlite3_finalize(st);

    /* The other tenant still has the defaults. */
    struct tly_tenant_settings d;
    tly_settings_default(&d);
    assert_int_equal(tly_settings_load(h, f->t2, &got), 0);
    expect_same(&got, &d);

    /* Another connection (and a reopened file) reads the same. */
    struct tly_db *other;
    struct tly_error err = {{0}};
    assert_int_equal(tly_db_open(&other, f->path, &err), 0);
    assert_int_equal(tly_settings_load(tly_db_sqlite(other), f->t1, &got), 0);
    expect_same(&got, &next);
    tly_db_close(other);
    tly_db_close(f->db);
    f->db = NULL;
    assert_int_equal(tly_db_open(&f->db, f->path, &err), 0);
    assert_int_equal(tly_settings_load(tly_db_sqlite(f->db), f->t1, &got), 0);
    expect_same(&got, &next);
}

static void test_stored_form_is_the_json(void **state)
{
    struct fx *f = *state;
    sqlite3 *h = tly_db_sqlite(f->db);
    struct tly_tenant_settings s = {120000, 86400000, 1};
    assert_int_equal(tly_settings_save(h, f->t2, &s), 0);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT settings FROM tenant_settings WHERE tenant_id = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, f->t2);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0),
                        "{\"dedupe_window_seconds\":120,\"timestamp_horizon_seconds\":86400,"
                        "\"require_registration\":true}");
    sqlite3_finalize(st);

    /* A partial document stored by hand loads over the defaults. */
    assert_int_equal(sqlite3_exec(h,
                                  "UPDATE tenant_settings SET settings = "
                                  "'{\"require_registration\":true}'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    struct tly_tenant_settings got;
    assert_int_equal(tly_settings_load(h, f->t2, &got), 0);
    assert_true(got.dedupe_window_ms == 7 * TLY_DAY_MS);
    assert_true(got.horizon_ms == 30 * TLY_DAY_MS);
    assert_int_equal(got.require_registration, 1);

    /* A stored document that is refused: an error, and the defaults. */
    assert_int_equal(sqlite3_exec(h,
                                  "UPDATE tenant_settings SET settings = "
                                  "'{\"dedupe_window_seconds\":-3}'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    got = (struct tly_tenant_settings){1, 2, 1};
    assert_int_equal(tly_settings_load(h, f->t2, &got), TLY_EINVAL);
    struct tly_tenant_settings d;
    tly_settings_default(&d);
    expect_same(&got, &d);
}

static void test_save_unknown_tenant_refused(void **state)
{
    struct fx *f = *state;
    sqlite3 *h = tly_db_sqlite(f->db);
    struct tly_tenant_settings s = {0, 1000, 1};
    /* tenant_settings references tenants (foreign keys are on). */
    assert_int_equal(tly_settings_save(h, 424242, &s), TLY_EIO);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM tenant_settings", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
}

int main(void)
{
#define DB(fn) cmocka_unit_test_setup_teardown(fn, setup_db, teardown_db)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_apply_each_field),
        cmocka_unit_test(test_apply_limits_inclusive),
        cmocka_unit_test(test_partial_update_keeps_others),
        cmocka_unit_test(test_unknown_field_refused),
        cmocka_unit_test(test_wrong_types_refused),
        cmocka_unit_test(test_out_of_range_refused),
        cmocka_unit_test(test_refusal_is_all_or_nothing),
        cmocka_unit_test(test_not_an_object_or_not_json),
        cmocka_unit_test(test_to_json),
        cmocka_unit_test(test_round_trip),
        DB(test_load_defaults_when_none_stored),
        DB(test_save_load),
        DB(test_stored_form_is_the_json),
        DB(test_save_unknown_tenant_refused),
    };
#undef DB
    return cmocka_run_group_tests(tests, NULL, NULL);
}
