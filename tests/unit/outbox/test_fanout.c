/*
 * Unit test for tly_outbox_fan_out on a real state.db: an outbox entry
 * becomes one delivery per endpoint and kind it wants (reward_issued gets
 * the body without eventType, campaign_completed the entry as it is, an
 * endpoint's template reshapes it), a campaign's own webhook block replaces
 * the tenant's endpoints, each entry is fanned out once, webhook ids are
 * stable, an entry of a campaign without a reward makes no reward_issued
 * delivery, and a tenant without endpoints gets none.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "outbox/outbox.h"
#include "store/db.h"

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

static void exec_ok(sqlite3 *h, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/tally-test-fanout-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/state.db", f->dir);
    struct tly_error err = {{0}};
    if (tly_db_open(&f->db, f->path, &err) != 0)
        return -1;
    f->h = tly_db_sqlite(f->db);
    exec_ok(f->h, "INSERT INTO tenants (id, name, created_at) VALUES (1, 'a', 0), (2, 'b', 0),"
                  " (3, 'c', 0)");
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

static int64_t one_int(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static char *one_text(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char *s = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return s;
}

#define PAYLOAD(camp, type)                                                                        \
    "{\"eventType\":\"campaign_completed\",\"campaignId\":\"" camp "\",\"type\":" type             \
    ",\"userId\":\"u1\",\"rewardId\":\"r1\",\"rewardName\":null,\"details\":{\"eventId\":\"e1\"}}"

static void test_fan_out(void **state)
{
    struct fx *f = *state;
    exec_ok(
        f->h,
        "INSERT INTO webhook_settings VALUES (1, '{\"endpoints\":["
        "{\"id\":\"both\",\"url\":\"https://a.example\",\"secret\":\"k\",\"events\":"
        "[\"reward_issued\",\"campaign_completed\"]},"
        "{\"id\":\"tpl\",\"url\":\"https://b.example\",\"events\":[\"reward_issued\"],"
        "\"template\":{\"who\":\"$userId\",\"e\":\"$details.eventId\"}},"
        "{\"id\":\"seg\",\"url\":\"https://c.example\",\"events\":[\"segment_entered\"]}]}', 0);"
        "INSERT INTO campaigns VALUES (1, 'own', 7, '{\"id\":\"own\",\"webhook\":{\"endpoints\":"
        "[{\"id\":\"mine\",\"url\":\"https://own.example\",\"events\":[\"reward_issued\"]}]}}',"
        " 0, 0);"
        "INSERT INTO outbox (tenant_id, kind, dedupe_key, payload, created_at) VALUES"
        " (1, 'campaign_completed', 'campaign_completed:r1', '" PAYLOAD(
            "plain",
            "\"points\"") "', 0),"
                          " (1, 'campaign_completed', 'campaign_completed:r2', '" PAYLOAD(
                              "plain",
                              "null") "', 0),"
                                      " (1, 'campaign_completed', 'campaign_completed:r3', "
                                      "'" PAYLOAD(
                                          "own", "\"points\"") "', 0),"
                                                               " (2, 'campaign_completed', "
                                                               "'campaign_completed:r4', '" PAYLOAD(
                                                                   "plain", "\"points\"") "', 0);");
    int done = 0;
    assert_int_equal(tly_outbox_fan_out(f->h, 1000, 2, &done), 0);
    assert_int_equal(done, 2);
    assert_int_equal(tly_outbox_fan_out(f->h, 1000, 100, &done), 0);
    assert_int_equal(done, 2);
    assert_int_equal(tly_outbox_fan_out(f->h, 1000, 100, &done), 0);
    assert_int_equal(done, 0);
    assert_int_equal(one_int(f->h, "SELECT count(*) FROM outbox WHERE fanned_out_at IS NULL"), 0);

    /* entry 1: both (reward + completion), tpl (reward) */
    assert_int_equal(one_int(f->h, "SELECT count(*) FROM deliveries WHERE outbox_id = 1"), 3);
    char *s = one_text(f->h, "SELECT body FROM deliveries WHERE outbox_id = 1 AND"
                             " endpoint_id = 'both' AND event = 'reward_issued'");
    assert_null(strstr(s, "eventType"));
    assert_non_null(strstr(s, "\"rewardId\":\"r1\""));
    free(s);
    s = one_text(f->h, "SELECT body FROM deliveries WHERE outbox_id = 1 AND"
                       " endpoint_id = 'both' AND event = 'campaign_completed'");
    assert_non_null(strstr(s, "\"eventType\":\"campaign_completed\""));
    free(s);
    s = one_text(f->h, "SELECT body FROM deliveries WHERE outbox_id = 1 AND endpoint_id = 'tpl'");
    assert_string_equal(s, "{\"who\":\"u1\",\"e\":\"e1\"}");
    free(s);
    s = one_text(f->h, "SELECT secret FROM deliveries WHERE outbox_id = 1 AND"
                       " endpoint_id = 'both' LIMIT 1");
    assert_string_equal(s, "k");
    free(s);
    /* entry 2: no reward → only the completion */
    assert_int_equal(one_int(f->h, "SELECT count(*) FROM deliveries WHERE outbox_id = 2"), 1);
    /* entry 3: the campaign's own endpoint only */
    assert_int_equal(one_int(f->h, "SELECT count(*) FROM deliveries WHERE outbox_id = 3"), 1);
    assert_int_equal(one_int(f->h, "SELECT count(*) FROM deliveries WHERE outbox_id = 3 AND"
                                   " endpoint_id = 'mine'"),
                     1);
    /* entry 4: tenant 2 has no endpoints */
    assert_int_equal(one_int(f->h, "SELECT count(*) FROM deliveries WHERE tenant_id = 2"), 0);
    /* all pending, due at creation; ids unique and shaped msg_<32 hex> */
    assert_int_equal(one_int(f->h, "SELECT count(*) FROM deliveries WHERE status = 'pending'"
                                   " AND next_attempt_at = 1000 AND uid GLOB 'msg_*'"
                                   " AND length(uid) = 36"),
                     5);
    assert_int_equal(one_int(f->h, "SELECT count(DISTINCT uid) FROM deliveries"), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fan_out, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
