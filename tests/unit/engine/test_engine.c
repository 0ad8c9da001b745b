/*
 * Unit tests of the campaign engine (engine/engine.h) on a real SQLite
 * file: campaigns are stored with store/campaigns.h, events are applied
 * with tly_engine_event inside a transaction that is flushed and committed
 * as the pipeline does, and results are read back from the committed rows
 * (campaign_progress decoded with engine/progress.h, campaign_rewards,
 * outbox).
 *
 * Covered: count, sum (non-numeric adds nothing but is seen), distinct
 * ("1" and 1 differ, 1 and 1.0 do not, null adds nothing), streak (a gap
 * filled by a late event); `where` gating; day windows across a DST change
 * (Europe/Berlin), week boundaries (Monday 00:00 local, Asia/Kolkata),
 * month boundaries, a late event counted in its own past window; bounds (an
 * event before starts_at, exactly at starts_at, exactly at ends_at); repeat
 * rules (window "campaign" resets every activity on each completion, the
 * last one included; a calendar window completes once; max_completions
 * stops counting; 0 is unlimited); complete_when any and all; accept
 * gating by received_at; rewards with deterministic ids and their outbox
 * entries; a rolled-back transaction leaves nothing, in the store or in
 * the cache; definitions reloaded (a deleted campaign stops counting); a
 * tiny cache evicting entries without losing progress; an event touches
 * only the campaigns that name it.
 *
 * Each test gets its own directory under /tmp.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#define ENGINE_FIXTURE_NAME "engine"
#include "engine_fixture.h"
}

/* ---- measures ---- */

static void test_count_and_sum(void **state)
{
    struct fx *f = *state;
    int k = add_campaign(f, "{\"id\":\"orders\",\"max_completions\":1,\"activities\":["
                            "{\"id\":\"n\",\"event\":\"order\",\"where\":[{\"path\":\"amount\","
                            "\"op\":\"gte\",\"value\":100}],\"measure\":\"count\",\"target\":3},"
                            "{\"id\":\"spend\",\"event\":\"order\",\"measure\":\"sum\","
                            "\"property\":\"amount\",\"target\":1000}]}");
    int64_t t = T("2026-03-01T10:00:00Z");
    event(f, "u", "order", t, "{\"amount\":150}");
    event(f, "u", "order", t + 1, "{\"amount\":50.5}");    /* sum only */
    event(f, "u", "order", t + 2, "{\"amount\":\"300\"}"); /* a string adds nothing */
    assert_true(seen(f, k, "u"));
    assert_true(value(f, k, "u", t, 0) == 1);
    assert_true(value(f, k, "u", t, 1) == 200.5);
    event(f, "u", "order", t + 3, "{\"amount\":400}");
    event(f, "u", "order", t + 4, "{\"amount\":400}");
    /* all met: count 3, sum 1200.5 → completion 1, values reset */
    assert_int_equal(completions(f, k, "u"), 1);
    assert_true(value(f, k, "u", t, 0) == 0);
    assert_true(value(f, k, "u", t, 1) == 0);
    /* An event that matches no activity's `where` is not seen. */
    event(f, "w", "other", t, "{}");
    assert_false(seen(f, k, "w"));
}

static void test_distinct_compares_json_values(void **state)
{
    struct fx *f = *state;
    int k = add_campaign(f, "{\"id\":\"d\",\"activities\":[{\"id\":\"r\",\"event\":\"order\","
                            "\"measure\":\"distinct\",\"property\":\"shop.id\",\"target\":10}]}");
    int64_t t = T("2026-03-01T10:00:00Z");
    event(f, "u", "order", t, "{\"shop\":{\"id\":1}}");
    event(f, "u", "order", t, "{\"shop\":{\"id\":1.0}}");   /* equal to 1 */
    event(f, "u", "order", t, "{\"shop\":{\"id\":\"1\"}}"); /* differs from 1 */
    event(f, "u", "order", t, "{\"shop\":{\"id\":[1,2]}}");
    event(f, "u", "order", t, "{\"shop\":{\"id\":[1,2]}}");
    assert_true(value(f, k, "u", t, 0) == 3);
    event(f, "v", "order", t, "{\"shop\":{\"id\":null}}"); /* adds nothing, seen */
    event(f, "v", "order", t, "{}");
    assert_true(seen(f, k, "v"));
    assert_true(value(f, k, "v", t, 0) == 0);
}

static void test_streak_gap_filled_by_late_event(void **state)
{
    struct fx *f = *state;
    int k = add_campaign(f, "{\"id\":\"s\",\"timezone\":\"Asia/Kolkata\",\"activities\":["
                            "{\"id\":\"open\",\"event\":\"app_open\",\"measure\":\"streak\","
                            "\"period\":\"day\",\"target\":4}]}");
    /* Local days 1, 2, 4, 5 of March (IST = UTC+05:30). */
    event(f, "u", "app_open", T("2026-03-01T20:00:00+05:30"), "{}");
    event(f, "u", "app_open", T("2026-03-02T08:00:00+05:30"), "{}");
    event(f, "u", "app_open", T("2026-03-04T23:59:00+05:30"), "{}");
    event(f, "u", "app_open", T("2026-03-05T00:01:00+05:30"), "{}");
    event(f, "u", "app_open", T("2026-03-05T12:00:00+05:30"), "{}"); /* same day */
    int64_t now = T("2026-03-05T12:00:00Z");
    assert_true(value(f, k, "u", now, 0) == 2);
    assert_int_equal(completions(f, k, "u"), 0);
    /* 2026-03-02T19:00Z is 03-03 00:30 in Kolkata: the gap is filled,
     * the run is 5 days ≥ 4 → completion, and everything restarts. */
    event(f, "u", "app_open", T("2026-03-02T19:00:00Z"), "{}");
    assert_int_equal(completions(f, k, "u"), 1);
    assert_true(value(f, k, "u", now, 0) == 0);
}

/* ---- windows and time zones ---- */

static void test_day_window_across_dst(void **state)
{
    struct fx *f = *state;
    int k = add_campaign(f, "{\"id\":\"daily\",\"timezone\":\"Europe/Berlin\",\"window\":\"day\","
                            "\"max_completions\":0,\"activities\":[{\"id\":\"n\",\"event\":\"e\","
                            "\"measure\":\"count\",\"target\":100}]}");
    /* 2026-03-29: clocks go from 02:00 CET to 03:00 CEST; the day has 23 h. */
    int64_t s, e;
    tly_progress_window_at(f->camp[k].c, T("2026-03-29T12:00:00Z"), &s, &e);
    assert_true(s == T("2026-03-28T23:00:00Z"));
    assert_true(e == T("2026-03-29T22:00:00Z"));
    event(f, "u", "e", T("2026-03-28T22:59:59Z"), "{}"); /* 23:59:59 CET, the 28th */
    event(f, "u", "e", T("2026-03-28T23:00:00Z"), "{}"); /* 00:00 CET, the 29th */
    event(f, "u", "e", T("2026-03-29T21:59:59Z"), "{}"); /* 23:59:59 CEST, the 29th */
    event(f, "u", "e", T("2026-03-29T22:00:00Z"), "{}"); /* 00:00 CEST, the 30th */
    assert_true(value(f, k, "u", T("2026-03-28T12:00:00Z"), 0) == 1);
    assert_true(value(f, k, "u", T("2026-03-29T12:00:00Z"), 0) == 2);
    assert_true(value(f, k, "u", T("2026-03-30T12:00:00Z"), 0) == 1);
}

static void test_week_boundary_and_late_event(void **state)
{
    struct fx *f = *state;
    int k = add_campaign(f, "{\"id\":\"weekly\",\"timezone\":\"Asia/Kolkata\",\"window\":\"week\","
                            "\"max_completions\":0,\"activities\":[{\"id\":\"n\",\"event\":\"e\","
                            "\"measure\":\"count\",\"target\":3}]}");
    /* Monday 2026-03-02 00:00 IST = 2026-03-01T18:30Z starts a week. */
    int64_t s, e;
    tly_progress_window_at(f->camp[k].c, T("2026-03-04T00:00:00Z"), &s, &e);
    assert_true(s == T("2026-03-01T18:30:00Z"));
    assert_true(e == T("2026-03-08T18:30:00Z"));
    event(f, "u", "e", T("2026-03-01T18:29:59Z"), "{}"); /* Sunday 23:59:59 IST */
    event(f, "u", "e", T("2026-03-01T18:30:00Z"), "{}"); /* Monday 00:00 IST */
    event(f, "u", "e", T("2026-03-03T10:00:00Z"), "{}");
    event(f, "u", "e", T("2026-03-10T10:00:00Z"), "{}"); /* the next week */
    assert_true(value(f, k, "u", T("2026-02-28T00:00:00Z"), 0) == 1);
    assert_true(value(f, k, "u", T("2026-03-04T00:00:00Z"), 0) == 2);
    assert_true(value(f, k, "u", T("2026-03-10T00:00:00Z"), 0) == 1);
    assert_int_equal(completions(f, k, "u"), 0);
    /* A late event for the first full week counts there and completes it,
     * though newer weeks have events already. */
    event(f, "u", "e", T("2026-03-05T10:00:00Z"), "{}");
    assert_true(value(f, k, "u", T("2026-03-04T00:00:00Z"), 0) == 3);
    assert_true(value(f, k, "u", T("2026-03-10T00:00:00Z"), 0) == 1);
    assert_int_equal(completions(f, k, "u"), 1);
}

static void test_month_boundary(void **state)
{
    struct fx *f = *state;
    int k = add_campaign(f, "{\"id\":\"monthly\",\"timezone\":\"America/New_York\","
                            "\"window\":\"month\",\"activities\":[{\"id\":\"spend\",\"event\":"
                            "\"order\",\"measure\":\"sum\",\"property\":\"amount\","
                            "\"target\":1000}]}");
    /* 2026-02-01 00:00 EST = 05:00Z. */
    event(f, "u", "order", T("2026-02-01T04:59:59Z"), "{\"amount\":10}"); /* January */
    event(f, "u", "order", T("2026-02-01T05:00:00Z"), "{\"amount\":20}"); /* February */
    event(f, "u", "order", T("2026-02-28T23:00:00Z"), "{\"amount\":30}");
    event(f, "u", "order", T("2026-03-01T04:59:00Z"), "{\"amount\":40}"); /* still Feb 28 local */
    assert_true(value(f, k, "u", T("2026-01-15T00:00:00Z"), 0) == 10);
    assert_true(value(f, k, "u", T("2026-02-15T00:00:00Z"), 0) == 90);
    assert_true(value(f, k, "u", T("2026-03-15T00:00:00Z"), 0) == 0);
}

static void test_bounds(void **state)
{
    struct fx *f = *state;
    int k = add_campaign(f, "{\"id\":\"b\",\"starts_at\":\"2026-03-01T00:00:00Z\","
                            "\"ends_at\":\"2026-04-01T00:00:00Z\",\"activities\":[{\"id\":\"n\","
                            "\"event\":\"e\",\"measure\":\"count\",\"target\":10}]}");
    int64_t at = T("2026-03-15T00:00:00Z");
    event(f, "u", "e", T("2026-02-28T23:59:59.999Z"), "{}"); /* before starts_at */
    assert_false(seen(f, k, "u"));
    event(f, "u", "e", T("2026-04-01T00:00:00Z"), "{}"); /* exactly at ends_at */
    assert_false(seen(f, k, "u"));
    event(f, "u", "e", T("2026-03-01T00:00:00Z"), "{}"); /* exactly at starts_at */
    event(f, "u", "e", T("2026-03-31T23:59:59.999Z"), "{}");
    assert_true(value(f, k, "u", at, 0) == 2);
}

/* ---- repeat rules ---- */

static void test_campaign_window_resets_and_max(void **state)
{
    struct fx *f = *state;
    int k = add_campaign(f, "{\"id\":\"r\",\"max_completions\":2,\"activities\":["
                            "{\"id\":\"n\",\"event\":\"e\",\"measure\":\"count\",\"target\":2},"
                            "{\"id\":\"m\",\"event\":\"e\",\"where\":[{\"path\":\"x\",\"op\":"
                            "\"exists\",\"value\":true}],\"measure\":\"count\",\"target\":1}]}");
    int64_t t = T("2026-03-01T00:00:00Z");
    event(f, "u", "e", t, "{\"x\":1}");
    event(f, "u", "e", t, "{}"); /* n=2, m=1: completion 1, both reset */
    assert_int_equal(completions(f, k, "u"), 1);
    assert_true(value(f, k, "u", t, 0) == 0);
    assert_true(value(f, k, "u", t, 1) == 0);
    event(f, "u", "e", t, "{}");
    event(f, "u", "e", t, "{}"); /* n=2 but m=0 */
    assert_int_equal(completions(f, k, "u"), 1);
    assert_true(value(f, k, "u", t, 0) == 2);
    event(f, "u", "e", t, "{\"x\":1}"); /* completion 2 = max: reset, stop */
    assert_int_equal(completions(f, k, "u"), 2);
    struct got g = progress(f, k, "u");
    assert_true(g.completed);
    tly_progress_free(&g.p);
    assert_true(value(f, k, "u", t, 0) == 0);
    event(f, "u", "e", t, "{\"x\":1}"); /* counting has stopped */
    assert_true(value(f, k, "u", t, 0) == 0);
    assert_int_equal(completions(f, k, "u"), 2);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM campaign_rewards"), 2);
}

static void test_unlimited_completions(void **state)
{
    struct fx *f = *state;
    int k = add_campaign(f, "{\"id\":\"u\",\"max_completions\":0,\"activities\":["
                            "{\"id\":\"n\",\"event\":\"e\",\"measure\":\"count\",\"target\":1}]}");
    for (int i = 0; i < 7; i++)
        event(f, "u", "e", T("2026-03-01T00:00:00Z") + i, "{}");
    assert_int_equal(completions(f, k, "u"), 7);
    struct got g = progress(f, k, "u");
    assert_false(g.completed);
    tly_progress_free(&g.p);
}

static void test_calendar_window_completes_once(void **state)
{
    struct fx *f = *state;
    int k = add_campaign(f, "{\"id\":\"c\",\"window\":\"day\",\"max_completions\":0,"
                            "\"activities\":[{\"id\":\"n\",\"event\":\"e\",\"measure\":\"count\","
                            "\"target\":2}]}");
    int64_t d1 = T("2026-03-01T10:00:00Z"), d2 = T("2026-03-02T10:00:00Z");
    for (int i = 0; i < 5; i++)
        event(f, "u", "e", d1 + i, "{}");
    assert_int_equal(completions(f, k, "u"), 1);
    assert_true(value(f, k, "u", d1, 0) == 5); /* values keep counting */
    event(f, "u", "e", d2, "{}");
    event(f, "u", "e", d2, "{}");
    assert_int_equal(completions(f, k, "u"), 2);
    event(f, "u", "e", d1, "{}"); /* a late one for the completed day */
    assert_int_equal(completions(f, k, "u"), 2);
}

static void test_complete_when_any(void **state)
{
    struct fx *f = *state;
    int any =
        add_campaign(f, "{\"id\":\"any\",\"complete_when\":\"any\",\"activities\":["
                        "{\"id\":\"a\",\"event\":\"a\",\"measure\":\"count\",\"target\":2},"
                        "{\"id\":\"b\",\"event\":\"b\",\"measure\":\"count\",\"target\":1}]}");
    int all =
        add_campaign(f, "{\"id\":\"all\",\"activities\":["
                        "{\"id\":\"a\",\"event\":\"a\",\"measure\":\"count\",\"target\":2},"
                        "{\"id\":\"b\",\"event\":\"b\",\"measure\":\"count\",\"target\":1}]}");
    int64_t t = T("2026-03-01T10:00:00Z");
    event(f, "u", "b", t, "{}");
    assert_int_equal(completions(f, any, "u"), 1);
    assert_int_equal(completions(f, all, "u"), 0);
    event(f, "u", "a", t, "{}");
    event(f, "u", "a", t, "{}");
    assert_int_equal(completions(f, all, "u"), 1);
}

/* ---- enrollment ---- */

static void test_accept_gating(void **state)
{
    struct fx *f = *state;
    int k = add_campaign(f, "{\"id\":\"acc\",\"enrollment\":\"accept\",\"activities\":["
                            "{\"id\":\"n\",\"event\":\"e\",\"measure\":\"count\",\"target\":10}]}");
    int64_t t = T("2026-03-01T10:00:00Z");
    event(f, "u", "e", t, "{}");
    assert_false(seen(f, k, "u"));
    int64_t at;
    assert_int_equal(tly_campaign_accept(f->h, 1, "acc", "u", t + 1000, &at), 0);
    assert_int_equal(tly_engine_reload(f->e), 0); /* the pipeline does at a change elsewhere */
    begin(f);
    event_in(f, "u", "e", t + 5000, t + 999, "{}");  /* received before the accept */
    event_in(f, "u", "e", t - 5000, t + 1000, "{}"); /* received at it: counts (event time
                                                        decides windows only) */
    event_in(f, "u", "e", t, t + 2000, "{}");
    commit(f);
    assert_true(value(f, k, "u", t, 0) == 2);
    event(f, "other", "e", t + 3000, "{}"); /* never accepted */
    assert_false(seen(f, k, "other"));
}

/* ---- rewards, transactions, reloads ---- */

static void test_reward_rows_and_outbox(void **state)
{
    struct fx *f = *state;
    add_campaign(f, "{\"id\":\"rw\",\"max_completions\":0,\"activities\":[{\"id\":\"n\","
                    "\"event\":\"e\",\"measure\":\"count\",\"target\":1}],"
                    "\"reward\":{\"type\":\"points\",\"name\":\"100 coins\",\"amount\":100}}");
    int64_t t = T("2026-03-01T10:00:00Z");
    event(f, "u", "e", t, "{}");
    event(f, "u", "e", t, "{}");
    assert_int_equal(count_rows(f, "SELECT count(DISTINCT reward_id) FROM campaign_rewards "
                                   "WHERE user_id = 'u' AND length(reward_id) = 32"),
                     2);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM outbox o JOIN campaign_rewards r ON "
                                   "o.dedupe_key = 'campaign_completed:' || r.reward_id "
                                   "WHERE o.kind = 'campaign_completed'"),
                     2);
    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2(f->h,
                           "SELECT payload FROM outbox WHERE kind = 'campaign_completed' "
                           "ORDER BY id LIMIT 1",
                           -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    cJSON *p = cJSON_Parse((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    assert_non_null(p);
    assert_string_equal(cJSON_GetObjectItem(p, "eventType")->valuestring, "campaign_completed");
    assert_string_equal(cJSON_GetObjectItem(p, "campaignId")->valuestring, "rw");
    assert_string_equal(cJSON_GetObjectItem(p, "userId")->valuestring, "u");
    assert_string_equal(cJSON_GetObjectItem(p, "type")->valuestring, "points");
    assert_string_equal(cJSON_GetObjectItem(p, "rewardName")->valuestring, "100 coins");
    assert_true(cJSON_GetObjectItem(p, "rewardAmount")->valuedouble == 100);
    assert_int_equal(strlen(cJSON_GetObjectItem(p, "rewardId")->valuestring), 32);
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(p, "details")));
    cJSON_Delete(p);
    /* Each round met the activity once, before completing: one
     * activity_completed entry per round, each with its own key. */
    assert_int_equal(count_rows(f, "SELECT count(DISTINCT dedupe_key) FROM outbox WHERE kind = "
                                   "'activity_completed' AND json_extract(payload, "
                                   "'$.activityId') = 'n'"),
                     2);
}

static void test_rollback_leaves_nothing(void **state)
{
    struct fx *f = *state;
    int k = add_campaign(f, "{\"id\":\"rb\",\"max_completions\":0,\"activities\":[{\"id\":\"n\","
                            "\"event\":\"e\",\"measure\":\"count\",\"target\":2}]}");
    int64_t t = T("2026-03-01T10:00:00Z");
    event(f, "u", "e", t, "{}"); /* committed: 1 */
    begin(f);
    event_in(f, "u", "e", t, t, "{}"); /* completes in the cache */
    event_in(f, "u", "e", t, t, "{}");
    event_in(f, "v", "e", t, t, "{}");
    assert_int_equal(tly_engine_flush(f->e), 0);
    rollback(f);
    assert_int_equal(completions(f, k, "u"), 0);
    assert_true(value(f, k, "u", t, 0) == 1);
    assert_false(seen(f, k, "v"));
    assert_int_equal(count_rows(f, "SELECT count(*) FROM campaign_rewards"), 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM outbox"), 0);
    /* The cache forgot it too: the batch again gives the same result as
     * once. */
    begin(f);
    event_in(f, "u", "e", t, t, "{}");
    event_in(f, "u", "e", t, t, "{}");
    commit(f);
    assert_int_equal(completions(f, k, "u"), 1);
    assert_true(value(f, k, "u", t, 0) == 1);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM campaign_rewards"), 1);
    struct tly_engine_stats s;
    tly_engine_stats(f->e, &s);
    assert_int_equal(s.completions, 1); /* the rolled-back one is not counted */
}

static void test_reload_and_index(void **state)
{
    struct fx *f = *state;
    int a = add_campaign(f, "{\"id\":\"a\",\"activities\":[{\"id\":\"n\",\"event\":\"e\","
                            "\"measure\":\"count\",\"target\":10}]}");
    int b = add_campaign(f, "{\"id\":\"b\",\"status\":\"paused\",\"activities\":[{\"id\":\"n\","
                            "\"event\":\"e\",\"measure\":\"count\",\"target\":10}]}");
    int64_t t = T("2026-03-01T10:00:00Z");
    event(f, "u", "e", t, "{}");
    event(f, "u", "unnamed", t, "{}");
    assert_true(value(f, a, "u", t, 0) == 1);
    assert_false(seen(f, b, "u")); /* paused: counts nothing */
    struct tly_engine_stats s;
    tly_engine_stats(f->e, &s);
    assert_int_equal(s.evaluated, 2);
    assert_int_equal(s.matches, 1);
    assert_int_equal(s.campaigns, 1);
    /* Deleted: stops counting, its cached progress is gone. */
    assert_int_equal(tly_campaign_delete(f->h, 1, "a"), 0);
    assert_int_equal(tly_engine_reload(f->e), 0);
    event(f, "u", "e", t, "{}");
    tly_engine_stats(f->e, &s);
    assert_int_equal(s.matches, 1);
    assert_int_equal(s.campaigns, 0);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM campaign_progress"), 0);
}

static void test_small_cache_keeps_progress(void **state)
{
    struct fx *f = *state;
    f->cache_bytes = 4096; /* a few entries */
    int k = add_campaign(f, "{\"id\":\"small\",\"activities\":[{\"id\":\"n\",\"event\":\"e\","
                            "\"measure\":\"count\",\"target\":1000}]}");
    int64_t t = T("2026-03-01T10:00:00Z");
    char user[16];
    for (int round = 0; round < 3; round++) {
        begin(f);
        for (int u = 0; u < 200; u++) {
            snprintf(user, sizeof user, "user-%d", u);
            event_in(f, user, "e", t, t, "{}");
        }
        commit(f);
        struct tly_engine_stats s;
        tly_engine_stats(f->e, &s);
        assert_true(s.cache_bytes <= 4096);
    }
    for (int u = 0; u < 200; u += 37) {
        snprintf(user, sizeof user, "user-%d", u);
        assert_true(value(f, k, user, t, 0) == 3);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_count_and_sum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_distinct_compares_json_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streak_gap_filled_by_late_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_day_window_across_dst, setup, teardown),
        cmocka_unit_test_setup_teardown(test_week_boundary_and_late_event, setup, teardown),
        cmocka_unit_test_setup_teardown(test_month_boundary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_campaign_window_resets_and_max, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unlimited_completions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_calendar_window_completes_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_complete_when_any, setup, teardown),
        cmocka_unit_test_setup_teardown(test_accept_gating, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reward_rows_and_outbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload_and_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_cache_keeps_progress, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
