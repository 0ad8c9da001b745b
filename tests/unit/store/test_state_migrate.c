/*
 * Unit test of schema migration 3 (store/db.c) on a state.db as tallyd
 * wrote it at schema version 2 (tests/fixtures/state/state-v2.sql): every
 * event row is kept with its offset, item, times and duplicate counts, in
 * log order; each user's rows are chained newest to oldest (prev_user);
 * the event index built from the migrated table finds them; dedupe goes
 * on against the migrated rows, and new events join their user's chain.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "store/db.h"
#include "store/queries.h"
#include "store/state.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0     1717243200000LL
#define WINDOW (7 * 24 * 3600 * 1000LL)

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

static long one_int(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    long v = (long)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

struct listing {
    char text[256];
};

static int on_event(const struct tly_user_event_view *v, void *arg)
{
    struct listing *l = arg;
    size_t n = strlen(l->text);
    snprintf(l->text + n, sizeof l->text - n, "%s%s", n ? " " : "", v->event_id);
    return 0;
}

static void assert_user_events(struct tly_state *st, uint32_t tenant, const char *user,
                               const char *want)
{
    for (int k = 0; k < 2; k++) {
        struct listing l = {{0}};
        struct tly_event_index *idx = k == 0 ? tly_state_event_index(st) : NULL;
        assert_int_equal(
            tly_query_user_events(tly_state_sqlite(st), idx, tenant, user, 50, on_event, &l), 0);
        assert_string_equal(l.text, want);
    }
}

static void test_v2_to_latest(void **state)
{
    (void)state;
    char dir[] = "/tmp/tally-test-migrate-XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/state.db", dir);
    const char *sql = read_file(TALLY_FIXTURES "/state/state-v2.sql");
    assert_non_null(sql);
    sqlite3 *h;
    assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(one_int(h, "PRAGMA user_version"), 2);
    sqlite3_close(h);

    struct tly_state *st;
    struct tly_error err = {{0}};
    assert_int_equal(tly_state_open(&st, path, &err), 0);
    assert_int_equal(tly_state_load_index(st), 0);
    h = tly_state_sqlite(st);
    assert_int_equal(one_int(h, "PRAGMA user_version"), tly_db_latest_version());
    assert_int_equal(one_int(h, "SELECT count(*) FROM events"), 5);
    /* Log order: row ids follow (log_offset, item). */
    assert_int_equal(one_int(h, "SELECT count(*) FROM events a JOIN events b ON a.id < b.id "
                                "WHERE (a.log_offset, a.item) > (b.log_offset, b.item)"),
                     0);
    /* Chains: alice of tenant 1 is o-4 → o-3 → o-1; bob and tenant 2's
     * alice have one row each. */
    assert_int_equal(one_int(h, "SELECT count(*) FROM events e JOIN events p "
                                "ON p.id = e.prev_user WHERE e.event_id = 'o-4' "
                                "AND p.event_id = 'o-3' AND e.tenant_id = 1"),
                     1);
    assert_int_equal(one_int(h, "SELECT count(*) FROM events WHERE prev_user IS NULL"), 3);
    /* No B-tree index on events: the in-memory index finds rows. */
    assert_int_equal(one_int(h, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
                                "tbl_name = 'events'"),
                     0);

    struct tly_event_status s;
    assert_int_equal(tly_query_event(h, tly_state_event_index(st), 1, "o-2", &s), 0);
    assert_true(s.offset == 100 && s.item == 1 && s.duplicates == 2);
    assert_true(s.last_duplicate_at == 1717243300000LL && s.received_at == T0);
    assert_int_equal(tly_query_event(h, tly_state_event_index(st), 2, "o-1", &s), 0);
    assert_true(s.offset == 200 && s.item == 1);
    assert_int_equal(tly_query_event(h, tly_state_event_index(st), 1, "o-1", &s), 0);
    assert_true(s.offset == 100 && s.item == 0);
    assert_user_events(st, 1, "alice", "o-4 o-3 o-1");
    assert_user_events(st, 1, "bob", "o-2");
    assert_user_events(st, 2, "alice", "o-1");

    /* Dedupe against the migrated rows; a new event joins the chain. */
    struct tly_event_row row = {.tenant = 1,
                                .event_id = "o-3",
                                .offset = 500,
                                .item = 0,
                                .user_id = "alice",
                                .event_name = "order_placed",
                                .timestamp = T0,
                                .received_at = T0 + 5000};
    int dup = -1;
    assert_int_equal(tly_state_record_event(st, &row, WINDOW, &dup), 0);
    assert_int_equal(dup, 1);
    row.event_id = "o-5";
    assert_int_equal(tly_state_record_event(st, &row, WINDOW, &dup), 0);
    assert_int_equal(dup, 0);
    assert_user_events(st, 1, "alice", "o-5 o-4 o-3 o-1");
    /* alice is a known user: no second users row. */
    assert_int_equal(one_int(h, "SELECT count(*) FROM users"), 3);

    tly_state_close(st);
    static const char *const suffixes[] = {"", "-wal", "-shm", ".lock"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s%s", path, suffixes[i]);
        unlink(p);
    }
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v2_to_latest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
