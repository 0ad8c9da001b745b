/*
 * Unit tests of the identity merge of the campaign engine (tly_engine_merge,
 * engine/engine.h; the rules: README, "Users") on a real SQLite file, with
 * the fixture of engine_fixture.h: events and alias events applied inside
 * transactions flushed and committed as the pipeline does, results read
 * back from the committed rows.
 *
 * Covered: count and sum add, distinct and streak sets unite, the previous
 * user's windows are cleared but its completions stay; a completion the
 * merge makes is issued once (with the alias as its event) and none of the
 * previous user's rewards is issued again; a calendar window the previous
 * user completed is not merged; max_completions reached stops the check;
 * an accept campaign checks the known user's enrollment; a rolled-back
 * merge leaves both users as they were; a self alias and another tenant's
 * campaigns change nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#define ENGINE_FIXTURE_NAME "merge"
#include "engine_fixture.h"
}

/* The alias previous → known, in a transaction of its own. */
static void alias(struct fx *f, uint32_t tenant, const char *previous, const char *known,
                  int64_t ts, int commit_it)
{
    char id[32];
    snprintf(id, sizeof id, "al-%d", ++f->seq);
    struct tly_event ev = {
        .kind = TLY_EVENT_ALIAS,
        .tenant = tenant,
        .event_id = id,
        .event_name = "alias",
        .user_id = known,
        .previous_id = previous,
        .timestamp = ts,
        .received_at = ts,
    };
    begin(f);
    assert_int_equal(tly_engine_merge(f->e, &ev), 0);
    if (commit_it)
        commit(f);
    else
        rollback(f);
}

static int rewards(struct fx *f, const char *user)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM campaign_rewards WHERE user_id = '%s'", user);
    return count_rows(f, sql);
}

static void test_measures_combine(void **state)
{
    struct fx *f = *state;
    int k =
        add_campaign(f, "{\"id\":\"m\",\"activities\":["
                        "{\"id\":\"n\",\"event\":\"e\",\"measure\":\"count\",\"target\":100},"
                        "{\"id\":\"s\",\"event\":\"e\",\"measure\":\"sum\",\"property\":\"x\","
                        "\"target\":1000},"
                        "{\"id\":\"d\",\"event\":\"e\",\"measure\":\"distinct\",\"property\":"
                        "\"shop\",\"target\":100},"
                        "{\"id\":\"k\",\"event\":\"e\",\"measure\":\"streak\",\"period\":\"day\","
                        "\"target\":100}]}");
    int64_t d1 = T("2026-03-01T10:00:00Z"), day = 86400000;
    event(f, "anon", "e", d1, "{\"x\":1.5,\"shop\":\"a\"}");
    event(f, "anon", "e", d1 + 2 * day, "{\"x\":2,\"shop\":\"b\"}");
    event(f, "known", "e", d1 + day, "{\"x\":10,\"shop\":\"b\"}");
    alias(f, 1, "anon", "known", d1 + 3 * day, 1);
    assert_true(value(f, k, "known", d1, 0) == 3);
    assert_true(value(f, k, "known", d1, 1) == 13.5);
    assert_true(value(f, k, "known", d1, 2) == 2); /* {a, b} */
    assert_true(value(f, k, "known", d1, 3) == 3); /* days 1, 2, 3 */
    /* The previous user is cleared, still seen. */
    assert_true(value(f, k, "anon", d1, 0) == 0);
    assert_true(value(f, k, "anon", d1, 2) == 0);
    assert_true(seen(f, k, "anon"));
    /* A second alias finds nothing left to add. */
    alias(f, 1, "anon", "known", d1 + 4 * day, 1);
    assert_true(value(f, k, "known", d1, 0) == 3);
}

static void test_completion_once_no_reward_doubled(void **state)
{
    struct fx *f = *state;
    int k = add_campaign(f, "{\"id\":\"c\",\"max_completions\":0,\"activities\":[{\"id\":\"n\","
                            "\"event\":\"e\",\"measure\":\"count\",\"target\":3}]}");
    int64_t t = T("2026-03-01T10:00:00Z");
    for (int i = 0; i < 4; i++) /* completion 1 at the third, then 1 more */
        event(f, "anon", "e", t + i, "{}");
    event(f, "known", "e", t, "{}");
    event(f, "known", "e", t, "{}");
    assert_int_equal(rewards(f, "anon"), 1);
    alias(f, 1, "anon", "known", t + 10, 1); /* 2 + 1 = 3: the merge completes */
    assert_int_equal(completions(f, k, "known"), 1);
    assert_true(value(f, k, "known", t, 0) == 0);
    assert_int_equal(rewards(f, "known"), 1);
    assert_int_equal(rewards(f, "anon"), 1);
    assert_int_equal(completions(f, k, "anon"), 1);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM campaign_rewards WHERE user_id = 'known' "
                                   "AND event_id LIKE 'al-%'"),
                     1);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM outbox WHERE kind = "
                                   "'campaign_completed'"),
                     2);
    /* anon's activity was met by its own third event; a merge writes none. */
    assert_int_equal(count_rows(f, "SELECT count(*) FROM outbox WHERE kind = "
                                   "'activity_completed'"),
                     1);
    /* Aliased again: nothing more is issued. */
    alias(f, 1, "anon", "known", t + 20, 1);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM campaign_rewards"), 2);
    /* The previous user's next completion keeps its own numbering. */
    for (int i = 0; i < 3; i++)
        event(f, "anon", "e", t + 30 + i, "{}");
    assert_int_equal(completions(f, k, "anon"), 2);
    assert_int_equal(count_rows(f, "SELECT count(DISTINCT reward_id) FROM campaign_rewards"), 3);
}

static void test_completed_window_not_merged(void **state)
{
    struct fx *f = *state;
    int k = add_campaign(f, "{\"id\":\"w\",\"window\":\"day\",\"max_completions\":0,"
                            "\"activities\":[{\"id\":\"n\",\"event\":\"e\",\"measure\":\"count\","
                            "\"target\":2}]}");
    int64_t d1 = T("2026-03-01T10:00:00Z"), d2 = T("2026-03-02T10:00:00Z");
    event(f, "anon", "e", d1, "{}");
    event(f, "anon", "e", d1, "{}"); /* anon completes day 1 */
    event(f, "anon", "e", d2, "{}");
    event(f, "known", "e", d1, "{}");
    event(f, "known", "e", d2, "{}");
    alias(f, 1, "anon", "known", d2 + 1000, 1);
    assert_true(value(f, k, "known", d1, 0) == 1); /* day 1 of anon not merged */
    assert_true(value(f, k, "known", d2, 0) == 2); /* day 2 merged: completes */
    assert_int_equal(completions(f, k, "known"), 1);
    assert_int_equal(rewards(f, "known"), 1);
    assert_int_equal(rewards(f, "anon"), 1);
}

static void test_max_completions_stops_check(void **state)
{
    struct fx *f = *state;
    int k = add_campaign(f, "{\"id\":\"mx\",\"max_completions\":1,\"activities\":[{\"id\":\"n\","
                            "\"event\":\"e\",\"measure\":\"count\",\"target\":2}]}");
    int64_t t = T("2026-03-01T10:00:00Z");
    event(f, "known", "e", t, "{}");
    event(f, "known", "e", t + 1, "{}"); /* known completes: max reached */
    event(f, "anon", "e", t, "{}");
    event(f, "anon", "e", t + 1, "{}"); /* anon completes too */
    event(f, "anon", "e", t + 2, "{}"); /* counting stopped for anon */
    alias(f, 1, "anon", "known", t + 10, 1);
    assert_int_equal(completions(f, k, "known"), 1);
    assert_int_equal(count_rows(f, "SELECT count(*) FROM campaign_rewards"), 2);
    struct got g = progress(f, k, "known");
    assert_true(g.completed);
    tly_progress_free(&g.p);
}

static void test_check_follows_enrollment(void **state)
{
    struct fx *f = *state;
    int a = add_campaign(f, "{\"id\":\"acc\",\"enrollment\":\"accept\",\"max_completions\":0,"
                            "\"activities\":["
                            "{\"id\":\"n\",\"event\":\"e\",\"measure\":\"count\",\"target\":2}]}");
    int64_t t = T("2026-03-01T10:00:00Z");
    int64_t at;
    assert_int_equal(tly_campaign_accept(f->h, 1, "acc", "anon", t - 1000, &at), 0);
    assert_int_equal(tly_engine_reload(f->e), 0);
    event(f, "anon", "e", t, "{}");
    event(f, "anon", "e", t + 1, "{}"); /* anon completes: 1 reward */
    event(f, "anon", "e", t + 2, "{}"); /* 1 left */
    alias(f, 1, "anon", "known", t + 10, 1);
    assert_true(value(f, a, "known", t, 0) == 1); /* merged, but known never accepted */
    assert_int_equal(completions(f, a, "known"), 0);
    assert_int_equal(tly_campaign_accept(f->h, 1, "acc", "known", t + 20, &at), 0);
    assert_int_equal(tly_engine_reload(f->e), 0);
    begin(f);
    event_in(f, "known", "e", t + 30, t + 30, "{}");
    commit(f);
    assert_int_equal(completions(f, a, "known"), 1);
    assert_int_equal(rewards(f, "known"), 1);
    assert_int_equal(rewards(f, "anon"), 1);
}

static void test_rollback_self_and_tenant(void **state)
{
    struct fx *f = *state;
    int k = add_campaign(f, "{\"id\":\"rb\",\"activities\":[{\"id\":\"n\",\"event\":\"e\","
                            "\"measure\":\"count\",\"target\":10}]}");
    int64_t t = T("2026-03-01T10:00:00Z");
    event(f, "anon", "e", t, "{}");
    event(f, "known", "e", t, "{}");
    alias(f, 1, "anon", "known", t + 1, 0); /* rolled back */
    assert_true(value(f, k, "anon", t, 0) == 1);
    assert_true(value(f, k, "known", t, 0) == 1);
    event(f, "anon", "e", t + 2, "{}"); /* the cache forgot the merge too */
    assert_true(value(f, k, "anon", t, 0) == 2);
    assert_true(value(f, k, "known", t, 0) == 1);
    alias(f, 1, "anon", "anon", t + 3, 1); /* self: nothing */
    assert_true(value(f, k, "anon", t, 0) == 2);
    alias(f, 2, "anon", "known", t + 4, 1); /* tenant 2 has no campaign */
    assert_true(value(f, k, "anon", t, 0) == 2);
    alias(f, 1, "anon", "known", t + 5, 1);
    assert_true(value(f, k, "known", t, 0) == 3);
    assert_true(value(f, k, "anon", t, 0) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_measures_combine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_completion_once_no_reward_doubled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_completed_window_not_merged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_completions_stops_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_follows_enrollment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_self_and_tenant, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
