/*
 * The segment evaluator (src/engine/segment_eval.h) on a real state.db, in
 * transactions flushed and committed as the pipeline runs them:
 *   - counts live in memory and reach segment_users only at the flush; a
 *     rolled-back transaction leaves neither rows nor cached counts;
 *   - a cache far too small for the users (every entry evicted after each
 *     commit) gives the same members and outbox entries as a large one;
 *   - a new evaluator on the same file carries on from the stored state
 *     (counts, rolling windows, change numbers);
 *   - rows of the former layout (segment_events, segment_state) are
 *     converted when the evaluator opens, and the old tables emptied;
 *   - a rules change (new generation) forgets what was counted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/json.h"
#include "engine/segment.h"
#include "engine/segment_eval.h"
#include "store/db.h"
#include "store/segments.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct tly_logger quiet = {NULL, TLY_LOG_DEBUG};

#define DAY   86400000LL
#define NOW   1795000000000LL
#define USERS 40

/* "buyers": 2 orders of 100+ within a day; "spenders": amount summed, all
 * time, >= 500. */
static const char *const defs[] = {
    "{\"id\":\"buyers\",\"type\":\"event\",\"conditions\":[{\"event\":\"order\",\"where\":[{"
    "\"path\":\"amount\",\"op\":\"gte\",\"value\":100}],\"op\":\"gte\",\"value\":2,"
    "\"within\":\"1d\"}]}",
    "{\"id\":\"spenders\",\"type\":\"event\",\"conditions\":[{\"event\":\"order\",\"measure\":"
    "\"sum\",\"property\":\"amount\",\"op\":\"gte\",\"value\":500}]}",
};

struct fx {
    char root[64], path[128];
    struct tly_db *db;
    sqlite3 *h;
    struct tly_segments *s;
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void exec_ok(sqlite3 *h, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
}

static int64_t count(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* Stores segment definition `def` (JSON) as tenant 1's segment `id`. */
static void create_segment(struct fx *f, const char *def)
{
    struct tly_segment *seg;
    struct tly_error err = {{0}};
    assert_int_equal(tly_segment_parse(def, strlen(def), &seg, &err), 0);
    struct tly_buf b;
    tly_buf_init(&b, 0);
    assert_int_equal(tly_segment_to_json(seg, &b), 0);
    assert_int_equal(tly_segment_create(f->h, 1, seg->id, "event", b.data, 0), 0);
    tly_buf_free(&b);
    tly_segment_free(seg);
}

static void define(struct fx *f)
{
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++)
        create_segment(f, defs[i]);
}

static struct fx *fx_new(const char *name)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->root, sizeof f->root, "/tmp/tally-%s-XXXXXX", name);
    assert_non_null(mkdtemp(f->root));
    snprintf(f->path, sizeof f->path, "%s/state.db", f->root);
    struct tly_error err = {{0}};
    assert_int_equal(tly_db_open(&f->db, f->path, &err), 0);
    f->h = tly_db_sqlite(f->db);
    exec_ok(f->h, "INSERT INTO tenants (id, name, created_at) VALUES (1, 'a', 0)");
    define(f);
    return f;
}

static void fx_free(struct fx *f)
{
    tly_segments_close(f->s);
    tly_db_close(f->db);
    nftw(f->root, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
}

/* One order of `amount` by user `u` at `ts`, processed at NOW. */
static int order(struct fx *f, int u, double amount, int64_t ts)
{
    char user[16];
    snprintf(user, sizeof user, "u%02d", u);
    cJSON *props = cJSON_CreateObject();
    cJSON_AddNumberToObject(props, "amount", amount);
    struct tly_event ev = {.kind = TLY_EVENT_TRACK,
                           .tenant = 1,
                           .event_name = "order",
                           .user_id = user,
                           .timestamp = ts,
                           .received_at = NOW,
                           .properties = props};
    int rc = tly_segments_event(f->s, &ev, NOW);
    cJSON_Delete(props);
    return rc;
}

static void begin(struct fx *f)
{
    exec_ok(f->h, "BEGIN");
}

static void commit(struct fx *f)
{
    assert_int_equal(tly_segments_flush(f->s), 0);
    exec_ok(f->h, "COMMIT");
    tly_segments_committed(f->s);
}

/* The stream every test sends: user u orders (u % 4) + 1 times, amounts
 * 60 to 360, some of them a day and more ago. */
static void stream(struct fx *f, int from, int to)
{
    for (int u = from; u < to; u++) {
        begin(f);
        for (int k = 0; k <= u % 4; k++)
            assert_int_equal(order(f, u, 60 + 100 * k, NOW - (k == 2 ? DAY + 5 : 1000 * k)), 0);
        commit(f);
    }
}

static char *members(sqlite3 *h)
{
    static char out[8192];
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT group_concat(segment_id || '/' || user_id, ' ') "
                                        "FROM (SELECT * FROM segment_members ORDER BY 2, 3)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    snprintf(out, sizeof out, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return strdup(out);
}

static void test_write_behind_and_rollback(void **state)
{
    (void)state;
    struct fx *f = fx_new("segeval-wb");
    assert_int_equal(tly_segments_open(&f->s, f->h, &quiet, 0), 0);
    begin(f);
    assert_int_equal(order(f, 1, 150, NOW), 0);
    assert_int_equal(order(f, 1, 150, NOW - 10), 0);
    /* In memory only until the flush. */
    assert_int_equal(count(f->h, "SELECT count(*) FROM segment_users"), 0);
    assert_int_equal(tly_segments_member(f->s, 1, "buyers", "u01", NULL), 1);
    exec_ok(f->h, "ROLLBACK");
    tly_segments_drop(f->s);
    /* Nothing happened: no member, nothing cached. */
    assert_int_equal(tly_segments_member(f->s, 1, "buyers", "u01", NULL), 0);
    assert_int_equal(count(f->h, "SELECT count(*) FROM segment_members"), 0);
    begin(f);
    assert_int_equal(order(f, 1, 150, NOW), 0);
    commit(f);
    assert_int_equal(count(f->h, "SELECT count(*) FROM segment_users"), 1);
    assert_int_equal(tly_segments_member(f->s, 1, "buyers", "u01", NULL), 0); /* one order */
    begin(f);
    assert_int_equal(order(f, 1, 150, NOW), 0);
    commit(f);
    int64_t at = 0;
    assert_int_equal(tly_segments_member(f->s, 1, "buyers", "u01", &at), 1);
    assert_int_equal(at, NOW);
    /* recheck_at: when the older of the two leaves the day. */
    assert_int_equal(count(f->h, "SELECT recheck_at FROM segment_users"), NOW + DAY);
    fx_free(f);
}

static void test_tiny_cache_same_result(void **state)
{
    (void)state;
    struct fx *a = fx_new("segeval-big"), *b = fx_new("segeval-tiny");
    assert_int_equal(tly_segments_open(&a->s, a->h, &quiet, 0), 0);
    assert_int_equal(tly_segments_open(&b->s, b->h, &quiet, 1), 0); /* 1 byte */
    stream(a, 0, USERS);
    stream(b, 0, USERS);
    stream(a, 0, USERS); /* again: the tiny cache must read everything back */
    stream(b, 0, USERS);
    struct tly_segments_stats st;
    tly_segments_stats(b->s, &st);
    assert_int_equal(st.cache_entries, 0); /* evicted after each commit */
    char *ma = members(a->h), *mb = members(b->h);
    assert_string_equal(ma, mb);
    assert_true(strlen(ma) > 0);
    /* The same entries and exits (dedupe keys name each file's random
     * segment uids, so they are compared by number and kind). */
    const char *q = "SELECT count(*) * 1000 + sum(kind = 'segment_exited') FROM outbox";
    assert_int_equal(count(a->h, q), count(b->h, q));
    assert_true(count(a->h, q) >= 1000);
    free(ma);
    free(mb);
    fx_free(a);
    fx_free(b);
}

/* Between transactions a cached user costs about their stored row: what
 * was decoded for a batch is freed at COMMIT, and the packed copy is used
 * from there: the same results as an evaluator that reads every user back
 * from the store (a 1-byte cache). */
static void test_clean_entries_packed(void **state)
{
    (void)state;
    struct fx *f = fx_new("segeval-packed"), *g = fx_new("segeval-unpacked");
    assert_int_equal(tly_segments_open(&f->s, f->h, &quiet, 0), 0);
    assert_int_equal(tly_segments_open(&g->s, g->h, &quiet, 1), 0);
    stream(f, 0, USERS);
    stream(g, 0, USERS);
    struct tly_segments_stats st;
    tly_segments_stats(f->s, &st);
    assert_int_equal(st.cache_entries, USERS);
    int64_t stored = count(f->h, "SELECT sum(length(state)) FROM segment_users");
    /* The entry itself, its key and the row's bytes: 256 a user at most
     * (a decoded state holds 4 segment states of 112 bytes at least). */
    assert_true(st.cache_bytes <= (uint64_t)stored + USERS * 256);
    assert_true(st.decoded_bytes > 0); /* the last batch decoded one user */
    stream(f, 0, USERS);               /* from the packed copies */
    stream(g, 0, USERS);               /* from the store */
    tly_segments_stats(f->s, &st);
    assert_int_equal(st.cache_entries, USERS);
    char *mf = members(f->h), *mg = members(g->h);
    assert_string_equal(mf, mg);
    assert_true(strlen(mf) > 0);
    const char *q = "SELECT count(*) * 1000 + sum(kind = 'segment_exited') FROM outbox";
    assert_int_equal(count(f->h, q), count(g->h, q));
    /* The states name each file's random segment uids: compared by what
     * they lead to, the members above and when each user is judged again. */
    assert_int_equal(count(f->h, "SELECT sum(recheck_at) FROM segment_users"),
                     count(g->h, "SELECT sum(recheck_at) FROM segment_users"));
    free(mf);
    free(mg);
    fx_free(f);
    fx_free(g);
}

static void test_reopen_carries_on(void **state)
{
    (void)state;
    struct fx *f = fx_new("segeval-reopen");
    assert_int_equal(tly_segments_open(&f->s, f->h, &quiet, 0), 0);
    begin(f);
    assert_int_equal(order(f, 7, 300, NOW), 0);
    commit(f);
    tly_segments_close(f->s);
    assert_int_equal(tly_segments_open(&f->s, f->h, &quiet, 0), 0);
    begin(f);
    assert_int_equal(order(f, 7, 250, NOW), 0); /* sum 550; 2 orders today */
    commit(f);
    assert_int_equal(tly_segments_member(f->s, 1, "spenders", "u07", NULL), 1);
    assert_int_equal(tly_segments_member(f->s, 1, "buyers", "u07", NULL), 1);
    /* The day passes: the sweep makes u07 leave buyers, once. */
    tly_segments_close(f->s);
    assert_int_equal(tly_segments_open(&f->s, f->h, &quiet, 0), 0);
    begin(f);
    assert_int_equal(tly_segments_sweep(f->s, NOW + DAY, 100), 1);
    exec_ok(f->h, "COMMIT");
    tly_segments_committed(f->s);
    assert_int_equal(tly_segments_member(f->s, 1, "buyers", "u07", NULL), 0);
    assert_int_equal(tly_segments_member(f->s, 1, "spenders", "u07", NULL), 1);
    assert_int_equal(count(f->h, "SELECT count(*) FROM segment_users WHERE recheck_at IS NULL"), 1);
    assert_int_equal(count(f->h, "SELECT count(*) FROM outbox WHERE dedupe_key LIKE "
                                 "'segment_exited:1:%:u07:2'"),
                     1);
    fx_free(f);
}

static void test_legacy_rows_converted(void **state)
{
    (void)state;
    struct fx *f = fx_new("segeval-legacy");
    /* What the former evaluator left: u03 counted one order for buyers
     * (within the day) and 400 for spenders, is a member of spenders
     * after one change; a row for a deleted segment. */
    exec_ok(f->h,
            "INSERT INTO segment_events (tenant_id, segment_id, cond, user_id, ts, value) VALUES "
            "(1, 'buyers', 0, 'u03', 1794999999000, 0),"
            "(1, 'spenders', 0, 'u03', 1700000000000, 150),"
            "(1, 'spenders', 0, 'u03', 1700000000001, 250),"
            "(1, 'gone', 0, 'u03', 1700000000001, 250);"
            "INSERT INTO segment_state (tenant_id, segment_id, user_id, changes) VALUES "
            "(1, 'spenders', 'u03', 1);"
            "INSERT INTO segment_members (tenant_id, segment_id, user_id, entered_at) VALUES "
            "(1, 'spenders', 'u03', 5);");
    assert_int_equal(tly_segments_open(&f->s, f->h, &quiet, 0), 0);
    assert_int_equal(count(f->h, "SELECT count(*) FROM segment_events"), 0);
    assert_int_equal(count(f->h, "SELECT count(*) FROM segment_state"), 0);
    assert_int_equal(count(f->h, "SELECT count(*) FROM segment_users"), 1);
    assert_int_equal(count(f->h, "SELECT recheck_at FROM segment_users"), 1794999999000 + DAY);
    int64_t at;
    assert_int_equal(tly_segments_member(f->s, 1, "spenders", "u03", &at), 1);
    assert_int_equal(at, 5);
    /* One more order of 150 makes two within the day: u03 enters buyers. */
    begin(f);
    assert_int_equal(order(f, 3, 150, NOW), 0);
    commit(f);
    assert_int_equal(tly_segments_member(f->s, 1, "buyers", "u03", NULL), 1);
    /* The change numbers carried on: spenders' next change would be 2. */
    tly_segments_close(f->s);
    f->s = NULL;
    exec_ok(f->h, "UPDATE segments SET rules_gen = rules_gen + 1 WHERE id = 'spenders'");
    assert_int_equal(tly_segments_open(&f->s, f->h, &quiet, 0), 0);
    /* A new generation forgets the 550 summed: 100 more is not 500. */
    begin(f);
    assert_int_equal(order(f, 3, 100, NOW), 0);
    commit(f);
    assert_int_equal(tly_segments_member(f->s, 1, "spenders", "u03", NULL), 0);
    assert_int_equal(count(f->h, "SELECT count(*) FROM outbox WHERE dedupe_key LIKE "
                                 "'segment_exited:1:%:u03:2'"),
                     1);
    fx_free(f);
}

/* A membership change of a user with nothing counted (an attribute-only
 * segment judged on a profile update) that fails half-way is undone by
 * the rollback, in the cache too. */
static void test_rollback_undoes_an_entry(void **state)
{
    (void)state;
    struct fx *f = fx_new("segeval-attr");
    static const char def[] = "{\"id\":\"pro\",\"type\":\"event\",\"conditions\":[{\"path\":"
                              "\"plan\",\"op\":\"eq\",\"value\":\"pro\"}]}";
    create_segment(f, def);
    exec_ok(f->h, "INSERT INTO users (tenant_id, user_id, created_at, attributes) VALUES "
                  "(1, 'u05', 0, '{\"plan\":\"pro\"}')");
    assert_int_equal(tly_segments_open(&f->s, f->h, &quiet, 0), 0);
    cJSON *traits = cJSON_Parse("{\"plan\":\"pro\"}");
    struct tly_event ev = {.kind = TLY_EVENT_PROFILE,
                           .tenant = 1,
                           .event_name = "identify",
                           .user_id = "u05",
                           .timestamp = NOW,
                           .received_at = NOW,
                           .traits = traits};
    /* Known to the cache, not a member, nothing counted: a clean entry. */
    assert_int_equal(tly_segments_member(f->s, 1, "pro", "u05", NULL), 0);
    /* The outbox insert fails (the member row waits for the flush). */
    exec_ok(f->h, "CREATE TRIGGER no_outbox BEFORE INSERT ON outbox BEGIN "
                  "SELECT RAISE(ABORT, 'refused'); END");
    begin(f);
    assert_int_not_equal(tly_segments_event(f->s, &ev, NOW), 0);
    exec_ok(f->h, "ROLLBACK");
    tly_segments_drop(f->s);
    assert_int_equal(tly_segments_member(f->s, 1, "pro", "u05", NULL), 0);
    exec_ok(f->h, "DROP TRIGGER no_outbox");
    /* Applied again, it enters once, as change 1. */
    begin(f);
    assert_int_equal(tly_segments_event(f->s, &ev, NOW), 0);
    commit(f);
    assert_int_equal(tly_segments_member(f->s, 1, "pro", "u05", NULL), 1);
    assert_int_equal(count(f->h, "SELECT count(*) FROM outbox WHERE dedupe_key LIKE "
                                 "'segment_entered:1:%:u05:1'"),
                     1);
    assert_int_equal(count(f->h, "SELECT count(*) FROM segment_members"), 1);
    cJSON_Delete(traits);
    fx_free(f);
}

/* recheck_at follows the oldest event in a rolling window, whether the
 * user's row was written by this evaluator or read back by a new one. */
static void test_recheck_follows_oldest(void **state)
{
    (void)state;
    struct fx *f = fx_new("segeval-recheck");
    const char *q = "SELECT recheck_at FROM segment_users WHERE user_id = 'u01'";
    assert_int_equal(tly_segments_open(&f->s, f->h, &quiet, 0), 0);
    begin(f);
    assert_int_equal(order(f, 1, 150, NOW - 1000), 0);
    commit(f);
    assert_int_equal(count(f->h, q), NOW - 1000 + DAY);
    begin(f);
    assert_int_equal(order(f, 1, 150, NOW), 0); /* a newer one: the oldest stays */
    commit(f);
    assert_int_equal(count(f->h, q), NOW - 1000 + DAY);
    tly_segments_close(f->s); /* a new evaluator reads the row back */
    assert_int_equal(tly_segments_open(&f->s, f->h, &quiet, 0), 0);
    begin(f);
    assert_int_equal(order(f, 1, 150, NOW - 500), 0);
    commit(f);
    assert_int_equal(count(f->h, q), NOW - 1000 + DAY);
    /* The oldest leaves the day: the sweep judges the user, the next one
     * is due when NOW - 500 leaves. */
    begin(f);
    assert_int_equal(tly_segments_sweep(f->s, NOW - 1000 + DAY, 10), 1);
    commit(f);
    assert_int_equal(count(f->h, q), NOW - 500 + DAY);
    assert_int_equal(tly_segments_member(f->s, 1, "buyers", "u01", NULL), 1); /* 2 left */
    fx_free(f);
}

/* Membership rows are written at the flush, sorted: a user who enters and
 * leaves in one transaction leaves no row, the others' rows are all
 * there, and the outbox keeps each change in its place in time. */
static void test_changes_written_at_flush(void **state)
{
    (void)state;
    struct fx *f = fx_new("segeval-flush");
    static const char def[] = "{\"id\":\"first\",\"type\":\"event\",\"conditions\":[{"
                              "\"event\":\"order\",\"op\":\"lt\",\"value\":2}]}";
    create_segment(f, def);
    assert_int_equal(tly_segments_open(&f->s, f->h, &quiet, 0), 0);
    begin(f);
    /* Users in falling order; the even ones order twice (in, then out). */
    for (int u = USERS - 1; u >= 0; u--)
        for (int k = 0; k <= (u % 2 == 0); k++)
            assert_int_equal(order(f, u, 10, NOW - 1000 + k), 0);
    assert_int_equal(count(f->h, "SELECT count(*) FROM segment_members"), 0);
    assert_int_equal(count(f->h, "SELECT count(*) FROM outbox"), USERS + USERS / 2);
    commit(f);
    assert_int_equal(count(f->h, "SELECT count(*) FROM segment_members WHERE segment_id = "
                                 "'first' AND CAST(substr(user_id, 2) AS INTEGER) % 2 = 1"),
                     USERS / 2);
    assert_int_equal(count(f->h, "SELECT count(*) FROM segment_members"), USERS / 2);
    /* Each even user's exit comes after their entry, right after it. */
    assert_int_equal(count(f->h, "SELECT count(*) FROM outbox x JOIN outbox e ON e.id = x.id - 1 "
                                 "WHERE x.kind = 'segment_exited' AND e.kind = "
                                 "'segment_entered' AND json_extract(x.payload, '$.userId') = "
                                 "json_extract(e.payload, '$.userId')"),
                     USERS / 2);
    for (int u = 0; u < USERS; u++) {
        char user[16];
        snprintf(user, sizeof user, "u%02d", u);
        assert_int_equal(tly_segments_member(f->s, 1, "first", user, NULL), u % 2);
    }
    fx_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_behind_and_rollback),
        cmocka_unit_test(test_tiny_cache_same_result),
        cmocka_unit_test(test_clean_entries_packed),
        cmocka_unit_test(test_reopen_carries_on),
        cmocka_unit_test(test_legacy_rows_converted),
        cmocka_unit_test(test_rollback_undoes_an_entry),
        cmocka_unit_test(test_changes_written_at_flush),
        cmocka_unit_test(test_recheck_follows_oldest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
