/*
 * Unit tests for the pipeline's state store (store/state.h) on a fresh
 * state.db: dedupe by (tenant, event_id) within a window of receive time
 * (first → new; 1 ms later and window − 1 ms later → duplicate; exactly
 * window later → new again, in a row of its own that lookups prefer, so
 * that the window restarts from the new send; window 0 → never a
 * duplicate, also for a send with an earlier receive time; another
 * tenant's id is not a duplicate), the duplicates counter and
 * last_duplicate_at as tly_query_event (store/queries.h) shows them, with
 * the event index and with the scan that serves processes without one,
 * pruning of old rows per tenant with a limit (index entries go with
 * them), a user's events newest first through the prev_user chain, the
 * index rebuilt after a rollback and a reopen, and consumer positions that
 * persist across a reopen only when committed.
 *
 * Every test gets a fresh directory from mkdtemp under /tmp, removed by the
 * teardown.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "store/queries.h"
#include "store/state.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0     1717243200000LL /* 2024-06-01T12:00:00Z, a first receive time */
#define WINDOW (7 * 24 * 3600 * 1000LL)

struct fx {
    char dir[64];
    char path[128];
    struct tly_state *st;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/tally-test-dedupe-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/state.db", f->dir);
    struct tly_error err = {{0}};
    if (tly_state_open(&f->st, f->path, &err) != 0 || tly_state_load_index(f->st) != 0) {
        fprintf(stderr, "tly_state_open: %s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tly_state_close(f->st);
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal", ".lock"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
        unlink(p);
    }
    int rc = rmdir(f->dir);
    free(f);
    return rc == 0 ? 0 : -1;
}

static void reopen(struct fx *f)
{
    tly_state_close(f->st);
    f->st = NULL;
    struct tly_error err = {{0}};
    if (tly_state_open(&f->st, f->path, &err) != 0)
        fail_msg("reopen: %s", err.msg);
    /* As the pipeline does when it starts. */
    assert_int_equal(tly_state_load_index(f->st), 0);
}

/* Records (tenant, id) received at `at` (offset = at - T0 so rows can be
 * told apart); returns dup. */
static int record_for(struct fx *f, uint32_t tenant, const char *user, const char *id, int64_t at,
                      int64_t window)
{
    struct tly_event_row row = {
        .tenant = tenant,
        .event_id = id,
        .offset = (uint64_t)(at - T0) + 100,
        .item = 3,
        .user_id = user,
        .event_name = "purchase",
        .timestamp = at - 5000,
        .received_at = at,
    };
    int dup = -1;
    int rc = tly_state_record_event(f->st, &row, window, &dup);
    if (rc != 0)
        fail_msg("record_event(%u, %s, %lld): %d", tenant, id, (long long)at, rc);
    assert_true(dup == 0 || dup == 1);
    return dup;
}

static int record(struct fx *f, uint32_t tenant, const char *id, int64_t at, int64_t window)
{
    return record_for(f, tenant, "user-1", id, at, window);
}

static struct tly_event_status status_of(struct fx *f, uint32_t tenant, const char *id)
{
    struct tly_event_status s;
    memset(&s, 0xee, sizeof s);
    int rc = tly_query_event(tly_state_sqlite(f->st), tly_state_event_index(f->st), tenant, id, &s);
    /* A process without the index scans, and must find the same row. */
    struct tly_event_status scanned;
    assert_int_equal(tly_query_event(tly_state_sqlite(f->st), NULL, tenant, id, &scanned), rc);
    if (rc == 0)
        assert_true(scanned.offset == s.offset && scanned.received_at == s.received_at &&
                    scanned.duplicates == s.duplicates);
    if (rc != 0)
        fail_msg("query_event(%u, %s): %d", tenant, id, rc);
    return s;
}

static long count_rows(struct fx *f, const char *sql)
{
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(tly_state_sqlite(f->st), sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    long n = (long)sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return n;
}

/* ---- dedupe ---- */

static void test_first_time_is_new(void **state)
{
    struct fx *f = *state;
    assert_int_equal(record(f, 1, "evt-1", T0, WINDOW), 0);
    struct tly_event_status s = status_of(f, 1, "evt-1");
    assert_true(s.offset == 100);
    assert_int_equal(s.item, 3);
    assert_true(s.timestamp == T0 - 5000);
    assert_true(s.received_at == T0);
    assert_true(s.duplicates == 0);
    assert_true(s.last_duplicate_at == 0);
    /* Another id is new too, and an unknown one is not there. */
    assert_int_equal(record(f, 1, "evt-2", T0, WINDOW), 0);
    struct tly_event_status none;
    assert_int_equal(
        tly_query_event(tly_state_sqlite(f->st), tly_state_event_index(f->st), 1, "evt-3", &none),
        TLY_ENOENT);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM events"), 2);
}

static void test_resend_within_window_is_duplicate(void **state)
{
    struct fx *f = *state;
    assert_int_equal(record(f, 1, "evt-1", T0, WINDOW), 0);
    assert_int_equal(record(f, 1, "evt-1", T0 + 1, WINDOW), 1);
    struct tly_event_status s = status_of(f, 1, "evt-1");
    assert_true(s.duplicates == 1);
    assert_true(s.last_duplicate_at == T0 + 1);
    /* The row still describes the first send. */
    assert_true(s.offset == 100);
    assert_true(s.received_at == T0);
    assert_true(s.timestamp == T0 - 5000);

    /* The last ms of the window: still a duplicate, counted on the first. */
    assert_int_equal(record(f, 1, "evt-1", T0 + WINDOW - 1, WINDOW), 1);
    s = status_of(f, 1, "evt-1");
    assert_true(s.duplicates == 2);
    assert_true(s.last_duplicate_at == T0 + WINDOW - 1);
    assert_true(s.received_at == T0);

    /* Same receive time as the first: a duplicate. */
    assert_int_equal(record(f, 1, "evt-1", T0, WINDOW), 1);
    s = status_of(f, 1, "evt-1");
    assert_true(s.duplicates == 3);
    assert_true(s.last_duplicate_at == T0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM events"), 1);
}

static void test_window_end_is_new_again_and_replaces(void **state)
{
    struct fx *f = *state;
    assert_int_equal(record(f, 1, "evt-1", T0, WINDOW), 0);
    assert_int_equal(record(f, 1, "evt-1", T0 + 10, WINDOW), 1);

    /* Exactly one window after the first send: not a duplicate. */
    int64_t t1 = T0 + WINDOW;
    assert_int_equal(record(f, 1, "evt-1", t1, WINDOW), 0);
    struct tly_event_status s = status_of(f, 1, "evt-1");
    assert_true(s.received_at == t1);
    assert_true(s.offset == (uint64_t)(t1 - T0) + 100);
    assert_true(s.timestamp == t1 - 5000);
    assert_true(s.duplicates == 0);
    assert_true(s.last_duplicate_at == 0);
    /* The old row stays until pruning; lookups take the new one. */
    assert_int_equal(count_rows(f, "SELECT count(*) FROM events"), 2);

    /* The window now runs from the new send: a send that would have been
     * past the old window is a duplicate of the new one ... */
    assert_int_equal(record(f, 1, "evt-1", t1 + 1, WINDOW), 1);
    assert_int_equal(record(f, 1, "evt-1", t1 + WINDOW - 1, WINDOW), 1);
    s = status_of(f, 1, "evt-1");
    assert_true(s.duplicates == 2);
    assert_true(s.last_duplicate_at == t1 + WINDOW - 1);
    assert_true(s.received_at == t1);
    /* ... until its own window is over. */
    assert_int_equal(record(f, 1, "evt-1", t1 + WINDOW, WINDOW), 0);
    s = status_of(f, 1, "evt-1");
    assert_true(s.received_at == t1 + WINDOW);
    assert_true(s.duplicates == 0);
}

static void test_short_window_boundary(void **state)
{
    struct fx *f = *state;
    /* A 1 ms window: only the same millisecond is a duplicate. */
    assert_int_equal(record(f, 1, "e", T0, 1), 0);
    assert_int_equal(record(f, 1, "e", T0, 1), 1);
    assert_int_equal(record(f, 1, "e", T0 + 1, 1), 0);
    assert_int_equal(record(f, 1, "e", T0 + 1, 1), 1);
    assert_true(status_of(f, 1, "e").duplicates == 1);
}

static void test_window_zero_never_duplicate(void **state)
{
    struct fx *f = *state;
    assert_int_equal(record(f, 1, "evt-1", T0, 0), 0);
    assert_int_equal(record(f, 1, "evt-1", T0, 0), 0); /* same millisecond */
    assert_int_equal(record(f, 1, "evt-1", T0 + 1, 0), 0);
    assert_int_equal(record(f, 1, "evt-1", T0 + 1000, 0), 0);
    struct tly_event_status s = status_of(f, 1, "evt-1");
    assert_true(s.duplicates == 0);
    assert_true(s.received_at == T0 + 1000);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM events"), 4); /* one per send */
    /* The index keeps one entry per id, the newest row. */
    struct tly_event_index_stats is;
    tly_event_index_stats(tly_state_event_index(f->st), &is);
    assert_int_equal(is.events, 1);
}

/* Dedupe off (window 0) must stay off when a send carries an earlier
 * receive time than the stored one: the wall clock stepped back between two
 * ingests, or a failed item is replayed with its original receive time
 * after a later send of the same id was processed. state.c compares
 * `received_at - first < window_ms`, and a negative difference is < 0. */
static void test_window_zero_earlier_receive_time_not_duplicate(void **state)
{
    struct fx *f = *state;
    assert_int_equal(record(f, 1, "evt-1", T0, 0), 0);
    assert_int_equal(record(f, 1, "evt-1", T0 - 1000, 0), 0);
    assert_true(status_of(f, 1, "evt-1").duplicates == 0);
}

static void test_tenant_isolation(void **state)
{
    struct fx *f = *state;
    assert_int_equal(record(f, 1, "shared-id", T0, WINDOW), 0);
    assert_int_equal(record(f, 2, "shared-id", T0 + 1, WINDOW), 0);
    assert_int_equal(record(f, 3, "shared-id", T0 + 2, WINDOW), 0);
    assert_int_equal(record(f, 2, "shared-id", T0 + 3, WINDOW), 1);
    struct tly_event_status s1 = status_of(f, 1, "shared-id");
    struct tly_event_status s2 = status_of(f, 2, "shared-id");
    struct tly_event_status s3 = status_of(f, 3, "shared-id");
    assert_true(s1.duplicates == 0 && s1.received_at == T0);
    assert_true(s2.duplicates == 1 && s2.received_at == T0 + 1);
    assert_true(s2.last_duplicate_at == T0 + 3);
    assert_true(s3.duplicates == 0 && s3.received_at == T0 + 2);
    struct tly_event_status none;
    assert_int_equal(tly_query_event(tly_state_sqlite(f->st), tly_state_event_index(f->st), 4,
                                     "shared-id", &none),
                     TLY_ENOENT);
    /* Ids are compared exactly: case and trailing bytes matter. */
    assert_int_equal(record(f, 1, "Shared-id", T0, WINDOW), 0);
    assert_int_equal(record(f, 1, "shared-id ", T0, WINDOW), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM events"), 5);
}

static void test_duplicates_counter_many(void **state)
{
    struct fx *f = *state;
    assert_int_equal(record(f, 7, "hot", T0, WINDOW), 0);
    for (int i = 1; i <= 250; i++)
        assert_int_equal(record(f, 7, "hot", T0 + i * 1000, WINDOW), 1);
    struct tly_event_status s = status_of(f, 7, "hot");
    assert_true(s.duplicates == 250);
    assert_true(s.last_duplicate_at == T0 + 250 * 1000);
    assert_true(s.received_at == T0);
}

static void test_dedupe_inside_transaction_and_rollback(void **state)
{
    struct fx *f = *state;
    assert_int_equal(tly_state_begin(f->st), 0);
    assert_int_equal(record(f, 1, "tx", T0, WINDOW), 0);
    assert_int_equal(record(f, 1, "tx", T0 + 1, WINDOW), 1); /* sees its own write */
    tly_state_rollback(f->st);
    struct tly_event_status s;
    assert_int_equal(
        tly_query_event(tly_state_sqlite(f->st), tly_state_event_index(f->st), 1, "tx", &s),
        TLY_ENOENT);
    /* After the rollback the id is new again. */
    assert_int_equal(tly_state_begin(f->st), 0);
    assert_int_equal(record(f, 1, "tx", T0 + 2, WINDOW), 0);
    assert_int_equal(tly_state_commit(f->st), 0);
    reopen(f);
    s = status_of(f, 1, "tx");
    assert_true(s.received_at == T0 + 2);
    assert_int_equal(record(f, 1, "tx", T0 + 3, WINDOW), 1);
}

/* ---- prune ---- */

static const char *user_events(struct fx *f, uint32_t tenant, const char *user, int limit);

/* Cutoffs per tenant for a pass: cut[t] (0 keeps everything). */
static int64_t cutoff_of(void *arg, uint32_t tenant)
{
    const int64_t *cut = arg;
    return tenant < 8 ? cut[tenant] : 0;
}

/* A whole pass, `limit` rows scanned per call; returns rows deleted and
 * counts the calls. */
static int prune_pass(struct fx *f, int64_t *cut, int limit, int *calls)
{
    int64_t stop_at = INT64_MIN;
    for (int t = 0; t < 8; t++)
        if (cut[t] > stop_at)
            stop_at = cut[t];
    struct tly_prune pr;
    tly_prune_init(&pr, cutoff_of, cut, stop_at);
    int total = 0;
    *calls = 0;
    while (!pr.done) {
        int deleted = -1;
        assert_int_equal(tly_state_prune_events(f->st, &pr, limit, &deleted), 0);
        assert_true(deleted >= 0 && deleted <= limit);
        total += deleted;
        assert_true(++*calls < 1000);
    }
    tly_prune_free(&pr);
    return total;
}

static int prune_tenant(struct fx *f, uint32_t tenant, int64_t before)
{
    int64_t cut[8] = {0};
    cut[tenant] = before;
    int calls;
    return prune_pass(f, cut, 1000, &calls);
}

static void test_prune_by_cutoff_tenant_and_limit(void **state)
{
    struct fx *f = *state;
    /* Tenant 1: 10 rows at T0 + 0..9 s; tenant 2: 10 rows at the same
     * times, interleaved. */
    for (int i = 0; i < 10; i++) {
        char id[16];
        snprintf(id, sizeof id, "e%d", i);
        assert_int_equal(record(f, 1, id, T0 + i * 1000, WINDOW), 0);
        assert_int_equal(record(f, 2, id, T0 + i * 1000, WINDOW), 0);
    }
    /* Tenant 1's cutoff T0 + 5 s: rows at 0..4 s are older (strictly
     * before); the pass ends at the first row at the cutoff, so it scans
     * 10 rows, 3 per call. */
    int64_t cut[8] = {0};
    cut[1] = T0 + 5000;
    int calls;
    assert_int_equal(prune_pass(f, cut, 3, &calls), 5);
    assert_int_equal(calls, 4);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM events WHERE tenant_id = 1"), 5);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM events WHERE tenant_id = 2"), 10);
    assert_int_equal(count_rows(f, "SELECT min(received_at) FROM events WHERE tenant_id = 1"),
                     (long)(T0 + 5000));
    /* The row exactly at the cutoff stays. */
    struct tly_event_status s = status_of(f, 1, "e5");
    assert_true(s.received_at == T0 + 5000);
    /* Again: nothing left to delete. */
    assert_int_equal(prune_pass(f, cut, 3, &calls), 0);

    /* A pruned id counts as new again. */
    assert_int_equal(record(f, 1, "e0", T0 + 6000, WINDOW), 0);

    /* Both tenants at once, different cutoffs, a big limit. */
    cut[1] = T0 + 7000;
    cut[2] = T0 + 3600000;
    /* Tenant 1 loses e5 and e6; its resent e0 (received at T0 + 6 s but
     * the last row) stays behind the kept e7, so that its deleted rows are
     * always its oldest; tenant 2 loses all 10. */
    assert_int_equal(prune_pass(f, cut, 1000, &calls), 12);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM events WHERE tenant_id = 2"), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM events WHERE tenant_id = 1"), 4);
    /* A tenant without rows: nothing. */
    assert_int_equal(prune_tenant(f, 5, T0 + 3600000), 0);
    /* An empty table ends the pass at once. */
    cut[1] = T0 + 3600000;
    assert_int_equal(prune_pass(f, cut, 2, &calls), 4);
    assert_int_equal(prune_pass(f, cut, 2, &calls), 0);
    assert_int_equal(calls, 1);
}

/* A row that arrives after newer ones with an older receive time (a
 * replayed item) waits for a pass that reaches it, then goes too. */
static void test_prune_pass_stops_at_first_young_row(void **state)
{
    struct fx *f = *state;
    assert_int_equal(record(f, 1, "old", T0, WINDOW), 0);
    assert_int_equal(record(f, 1, "young", T0 + 10000, WINDOW), 0);
    assert_int_equal(record(f, 1, "replayed", T0 + 1000, WINDOW), 0);
    assert_int_equal(prune_tenant(f, 1, T0 + 5000), 1);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM events"), 2);
    assert_int_equal(prune_tenant(f, 1, T0 + 20000), 2);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM events"), 0);
}

/* Another tenant's later cutoff makes a pass go past a tenant's kept rows:
 * the tenant's replayed row behind them stays, so its user's chain stays
 * whole (the index lists what the table holds). */
static void test_prune_keeps_rows_behind_a_kept_row(void **state)
{
    struct fx *f = *state;
    record_for(f, 2, "v", "b-new", T0 + 10000, WINDOW);
    record_for(f, 2, "v", "b-replayed", T0 + 1000, WINDOW);
    record_for(f, 1, "w", "a-1", T0 + 15000, WINDOW);
    int64_t cut[8] = {0};
    cut[1] = T0 + 20000; /* a short window: the pass runs past everything */
    cut[2] = T0 + 5000;
    int calls;
    assert_int_equal(prune_pass(f, cut, 1000, &calls), 1); /* a-1 */
    assert_string_equal(user_events(f, 2, "v", 10), "b-replayed b-new");
    /* Once b-new is old enough, both go. */
    cut[2] = T0 + 20000;
    assert_int_equal(prune_pass(f, cut, 1000, &calls), 2);
    assert_string_equal(user_events(f, 2, "v", 10), "");
}

/* ---- a user's events ---- */

struct listing {
    char ids[64][16];
    int n;
};

static int on_user_event(const struct tly_user_event_view *v, void *arg)
{
    struct listing *l = arg;
    assert_true(l->n < 64);
    snprintf(l->ids[l->n++], sizeof l->ids[0], "%s", v->event_id);
    return 0;
}

/* The user's events as "id id id" (newest first), read as the API does:
 * on a connection of its own, with the index; the scan must give the same
 * list. */
static const char *user_events(struct fx *f, uint32_t tenant, const char *user, int limit)
{
    static char out[2][1024];
    struct listing l[2];
    sqlite3 *reader;
    assert_int_equal(sqlite3_open_v2(f->path, &reader, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    for (int k = 0; k < 2; k++) {
        memset(&l[k], 0, sizeof l[k]);
        struct tly_event_index *idx = k == 0 ? tly_state_event_index(f->st) : NULL;
        assert_int_equal(
            tly_query_user_events(reader, idx, tenant, user, limit, on_user_event, &l[k]), 0);
        out[k][0] = '\0';
        for (int i = 0; i < l[k].n; i++)
            snprintf(out[k] + strlen(out[k]), sizeof out[k] - strlen(out[k]), "%s%s", i ? " " : "",
                     l[k].ids[i]);
    }
    sqlite3_close(reader);
    assert_string_equal(out[0], out[1]);
    return out[0];
}

static void test_user_events_newest_first(void **state)
{
    struct fx *f = *state;
    char id[16];
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof id, "a%d", i);
        record_for(f, 1, "alice", id, T0 + i * 1000, WINDOW);
        if (i % 2 == 0) {
            snprintf(id, sizeof id, "b%d", i / 2);
            record_for(f, 1, "bob", id, T0 + i * 1000 + 1, WINDOW);
        }
    }
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof id, "x%d", i);
        record_for(f, 2, "alice", id, T0 + i * 1000, WINDOW);
    }
    /* A duplicate is not a new event of the user. */
    assert_int_equal(record_for(f, 1, "alice", "a3", T0 + 20000, WINDOW), 1);

    assert_string_equal(user_events(f, 1, "alice", 100), "a9 a8 a7 a6 a5 a4 a3 a2 a1 a0");
    assert_string_equal(user_events(f, 1, "alice", 3), "a9 a8 a7");
    assert_string_equal(user_events(f, 1, "bob", 100), "b4 b3 b2 b1 b0");
    assert_string_equal(user_events(f, 2, "alice", 100), "x2 x1 x0");
    assert_string_equal(user_events(f, 1, "carol", 100), "");
    assert_string_equal(user_events(f, 3, "alice", 100), "");

    /* Pruning ends the chain at the first pruned row. */
    assert_int_equal(prune_tenant(f, 1, T0 + 5000), 8); /* a0-a4, b0-b2 */
    assert_string_equal(user_events(f, 1, "alice", 100), "a9 a8 a7 a6 a5");
    assert_string_equal(user_events(f, 1, "bob", 100), "b4 b3");
    assert_string_equal(user_events(f, 2, "alice", 100), "x2 x1 x0");

    /* An event of an open transaction is not listed to readers (the index
     * holds committed rows only); rolled back, it never is, and the chain
     * goes on after it. */
    assert_int_equal(tly_state_begin(f->st), 0);
    record_for(f, 1, "alice", "gone", T0 + 30000, WINDOW);
    assert_string_equal(user_events(f, 1, "alice", 2), "a9 a8");
    tly_state_rollback(f->st);
    assert_string_equal(user_events(f, 1, "alice", 2), "a9 a8");
    record_for(f, 1, "alice", "a10", T0 + 31000, WINDOW);
    assert_string_equal(user_events(f, 1, "alice", 3), "a10 a9 a8");

    /* After a reopen the index is rebuilt from the table. */
    reopen(f);
    assert_string_equal(user_events(f, 1, "alice", 100), "a10 a9 a8 a7 a6 a5");
    assert_string_equal(user_events(f, 1, "bob", 100), "b4 b3");
    assert_int_equal(record_for(f, 1, "alice", "a7", T0 + 32000, WINDOW), 1);
    assert_int_equal(record_for(f, 1, "alice", "a2", T0 + 32000, WINDOW), 0); /* pruned */

    /* The whole user pruned: the index forgets the user. */
    assert_int_equal(prune_tenant(f, 2, T0 + 3600000), 3);
    assert_string_equal(user_events(f, 2, "alice", 100), "");
}

/* ---- positions ---- */

static void test_position_default_and_commit_persists(void **state)
{
    struct fx *f = *state;
    uint64_t pos = 77;
    assert_int_equal(tly_state_get_position(f->st, "pipeline", &pos), 0);
    assert_true(pos == 0);

    assert_int_equal(tly_state_begin(f->st), 0);
    assert_int_equal(tly_state_set_position(f->st, "pipeline", 4096), 0);
    assert_int_equal(tly_state_get_position(f->st, "pipeline", &pos), 0);
    assert_true(pos == 4096);
    assert_int_equal(tly_state_commit(f->st), 0);
    reopen(f);
    assert_int_equal(tly_state_get_position(f->st, "pipeline", &pos), 0);
    assert_true(pos == 4096);

    /* Consumers are independent; large values survive. */
    assert_int_equal(tly_state_begin(f->st), 0);
    assert_int_equal(tly_state_set_position(f->st, "other", (uint64_t)1 << 40), 0);
    assert_int_equal(tly_state_set_position(f->st, "pipeline", 8192), 0);
    assert_int_equal(tly_state_commit(f->st), 0);
    reopen(f);
    assert_int_equal(tly_state_get_position(f->st, "other", &pos), 0);
    assert_true(pos == (uint64_t)1 << 40);
    assert_int_equal(tly_state_get_position(f->st, "pipeline", &pos), 0);
    assert_true(pos == 8192);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM consumers"), 2);
}

static void test_position_rollback_keeps_old(void **state)
{
    struct fx *f = *state;
    uint64_t pos;
    assert_int_equal(tly_state_begin(f->st), 0);
    assert_int_equal(tly_state_set_position(f->st, "pipeline", 1000), 0);
    assert_int_equal(tly_state_commit(f->st), 0);

    /* begin + set + rollback: the old value, now and after a reopen. */
    assert_int_equal(tly_state_begin(f->st), 0);
    assert_int_equal(tly_state_set_position(f->st, "pipeline", 2000), 0);
    assert_int_equal(record(f, 1, "with-position", T0, WINDOW), 0);
    tly_state_rollback(f->st);
    assert_int_equal(tly_state_get_position(f->st, "pipeline", &pos), 0);
    assert_true(pos == 1000);
    reopen(f);
    assert_int_equal(tly_state_get_position(f->st, "pipeline", &pos), 0);
    assert_true(pos == 1000);
    struct tly_event_status s;
    assert_int_equal(tly_query_event(tly_state_sqlite(f->st), tly_state_event_index(f->st), 1,
                                     "with-position", &s),
                     TLY_ENOENT);

    /* An uncommitted transaction is lost when the store is closed. */
    assert_int_equal(tly_state_begin(f->st), 0);
    assert_int_equal(tly_state_set_position(f->st, "pipeline", 3000), 0);
    reopen(f);
    assert_int_equal(tly_state_get_position(f->st, "pipeline", &pos), 0);
    assert_true(pos == 1000);

    /* A rollback with no transaction open is harmless. */
    tly_state_rollback(f->st);
    assert_int_equal(tly_state_get_position(f->st, "pipeline", &pos), 0);
    assert_true(pos == 1000);
}

static void test_changed_elsewhere(void **state)
{
    struct fx *f = *state;
    assert_false(tly_state_changed_elsewhere(f->st));
    /* Its own commits do not count. */
    assert_int_equal(tly_state_begin(f->st), 0);
    assert_int_equal(tly_state_set_position(f->st, "pipeline", 1), 0);
    assert_int_equal(tly_state_commit(f->st), 0);
    assert_false(tly_state_changed_elsewhere(f->st));
    /* Another connection's commit does, once. */
    sqlite3 *h;
    assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "UPDATE consumers SET position = 5", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(h);
    assert_true(tly_state_changed_elsewhere(f->st));
    assert_false(tly_state_changed_elsewhere(f->st));
    uint64_t pos;
    assert_int_equal(tly_state_get_position(f->st, "pipeline", &pos), 0);
    assert_true(pos == 5);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_first_time_is_new),
        T(test_resend_within_window_is_duplicate),
        T(test_window_end_is_new_again_and_replaces),
        T(test_short_window_boundary),
        T(test_window_zero_never_duplicate),
        T(test_window_zero_earlier_receive_time_not_duplicate),
        T(test_tenant_isolation),
        T(test_duplicates_counter_many),
        T(test_dedupe_inside_transaction_and_rollback),
        T(test_user_events_newest_first),
        T(test_prune_by_cutoff_tenant_and_limit),
        T(test_prune_pass_stops_at_first_young_row),
        T(test_prune_keeps_rows_behind_a_kept_row),
        T(test_position_default_and_commit_persists),
        T(test_position_rollback_keeps_old),
        T(test_changed_elsewhere),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
