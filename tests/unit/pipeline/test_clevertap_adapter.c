/*
 * Table-driven tests of the CleverTap webhook adapter (sources/clevertap.h),
 * reached as the pipeline reaches it: tly_adapter_for(TLY_SOURCE_CLEVERTAP).
 *
 * Every fixture tests/fixtures/clevertap/<name>.json has beside it
 * <name>.expected.json: the endpoint it is posted to and, item by item,
 * either the canonical event as GET /v1/events renders it
 * (tly_event_to_json) or {"failed":{"reason":…,"field":…}}, the failure
 * coming from the adapter or, after it, from validation with the default
 * settings. The record is built as ingest builds it (the check must
 * accept the body) with a fixed receive time. Plus the ingest check's
 * verdicts, the bodies that fail as a whole, the stable derived event id,
 * and the profile merge of profileData.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "fixture_file.h"

#include "core/buf.h"
#include "core/json.h"
#include "pipeline/lookup.h"
#include "pipeline/profile.h"
#include "pipeline/validate.h"
#include "sources/adapter.h"
#include "sources/clevertap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECEIVED_AT 1773481500000LL /* 2026-03-14T09:45:00.000Z */
#define TENANT      3u

static const char *const fixtures[] = {
    "webhook", "single-profile", "broadcast", "server-shape", "bad-items", "test-ping",
};

static char *read_file(const char *name, const char *suffix, size_t *len)
{
    return read_fixture("clevertap", name, suffix, len);
}

/* The record ingest appends for `endpoint`. */
static struct tly_record record_for(const char *endpoint, const char *body, size_t len)
{
    assert_string_equal(endpoint, "/clevertap/v4");
    struct tly_record r;
    memset(&r, 0, sizeof r);
    r.tenant = TENANT;
    r.received_at = RECEIVED_AT;
    r.body = body;
    r.body_len = len;
    r.source = TLY_SOURCE_CLEVERTAP;
    r.kind = TLY_KIND_BATCH;
    struct tly_error err;
    struct tly_clevertap_body b;
    if (tly_clevertap_check(body, len, &b, &err) != 0)
        fail_msg("check refused the body: %s", err.msg);
    r.flags = TLY_RECORD_BODY_CHECKED;
    return r;
}

/* Maps and validates one item: 0, or -1 with `f` filled. */
static int judge(const struct tly_adapter *a, const cJSON *item, const struct tly_record *rec,
                 struct tly_event *ev, struct tly_failure *f)
{
    if (a->map(item, rec, NULL, ev, f) != 0)
        return -1;
    struct tly_tenant_settings s;
    tly_settings_default(&s);
    return tly_validate_event(ev, &s, f);
}

static void check_item(const char *name, size_t i, const struct tly_adapter *a, const cJSON *item,
                       const struct tly_record *rec, const cJSON *want)
{
    struct tly_event ev;
    struct tly_failure f;
    memset(&f, 0, sizeof f);
    int rc = judge(a, item, rec, &ev, &f);
    const cJSON *failed = cJSON_GetObjectItemCaseSensitive(want, "failed");
    if (failed != NULL) {
        const char *reason = cJSON_GetObjectItemCaseSensitive(failed, "reason")->valuestring;
        const char *field = cJSON_GetObjectItemCaseSensitive(failed, "field")->valuestring;
        if (rc == 0)
            fail_msg("%s item %zu: mapped, expected failure %s", name, i, reason);
        if (strcmp(tly_fail_reason_name(f.reason), reason) != 0 || strcmp(f.field, field) != 0)
            fail_msg("%s item %zu: failed %s/%s (%s), expected %s/%s", name, i,
                     tly_fail_reason_name(f.reason), f.field, f.message, reason, field);
        assert_true(f.message[0] != '\0');
        return;
    }
    if (rc != 0)
        fail_msg("%s item %zu: failed %s/%s: %s", name, i, tly_fail_reason_name(f.reason), f.field,
                 f.message);
    struct tly_buf out;
    tly_buf_init(&out, 0);
    assert_int_equal(tly_event_to_json(&ev, &out), 0);
    assert_int_equal(tly_buf_puts(&out, ""), 0); /* NUL-terminates */
    cJSON *got = cJSON_Parse(out.data);
    assert_non_null(got);
    if (!cJSON_Compare(got, want, 1)) {
        char *w = cJSON_PrintUnformatted(want);
        fail_msg("%s item %zu:\n got  %s\n want %s", name, i, out.data, w);
    }
    const char *id = a->event_id_of(item);
    assert_non_null(id);
    assert_string_equal(id, ev.event_id);
    cJSON_Delete(got);
    tly_buf_free(&out);
}

static void run_fixture(const char *name)
{
    size_t len, elen;
    char *body = read_file(name, ".json", &len);
    char *expected_text = read_file(name, ".expected.json", &elen);
    cJSON *expected = cJSON_Parse(expected_text);
    assert_non_null(expected);
    const char *endpoint = cJSON_GetObjectItemCaseSensitive(expected, "endpoint")->valuestring;
    const cJSON *events = cJSON_GetObjectItemCaseSensitive(expected, "events");
    struct tly_record rec = record_for(endpoint, body, len);
    const struct tly_adapter *a = tly_adapter_for(rec.source);
    assert_non_null(a);
    struct tly_items items;
    tly_items_init(&items);
    struct tly_failure f;
    if (a->split(&rec, &items, &f) != 0)
        fail_msg("%s: split failed: %s", name, f.message);
    if (items.n != (size_t)cJSON_GetArraySize(events))
        fail_msg("%s: %zu items, expected %d", name, items.n, cJSON_GetArraySize(events));
    for (size_t i = 0; i < items.n; i++)
        check_item(name, i, a, items.item[i], &rec, cJSON_GetArrayItem(events, (int)i));
    tly_items_free(&items);
    cJSON_Delete(expected);
    free(expected_text);
    free(body);
}

static void test_fixtures(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof fixtures / sizeof fixtures[0]; i++)
        run_fixture(fixtures[i]);
}

/* The ingest check: what is refused with 400, and the field it names. */
static void test_check(void **state)
{
    (void)state;
    static const struct {
        const char *body, *field; /* field NULL: accepted */
        size_t items;
        int is_test;
    } cases[] = {
        {"{\"profiles\":[{}]}", NULL, 1, 0},
        {"{\"Profiles\":{\"identity\":\"u\"}}", NULL, 1, 0},
        {"{\"is_test\":true,\"profiles\":[]}", NULL, 0, 1},
        {"{\"event_name\":\"a\",\"event_id\":\"b\"}", NULL, 1, 0},
        {"{\"profiles\":[{}]", "", 0, 0}, /* not JSON */
        {"{\"name\":\"O\"Brien\"}", "", 0, 0},
        {"[{\"profiles\":[{}]}]", "", 0, 0},
        {"{}", "profiles", 0, 0},
        {"{\"profiles\":\"x\"}", "profiles", 0, 0},
        {"{\"profiles\":[]}", "profiles", 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tly_clevertap_body b;
        struct tly_error err;
        int rc = tly_clevertap_check(cases[i].body, strlen(cases[i].body), &b, &err);
        if (cases[i].field == NULL) {
            if (rc != 0)
                fail_msg("case %zu (%s): refused: %s", i, cases[i].body, err.msg);
            assert_int_equal(b.items, cases[i].items);
            assert_int_equal(b.is_test, cases[i].is_test);
            continue;
        }
        if (rc == 0)
            fail_msg("case %zu (%s): accepted", i, cases[i].body);
        assert_string_equal(err.field, cases[i].field);
        assert_true(err.msg[0] != '\0');
    }
}

/* Bodies that fail as a whole (the pipeline stores them with item -1). */
static void test_split_failures(void **state)
{
    (void)state;
    static const struct {
        const char *body, *reason, *field;
    } cases[] = {
        {"{\"profiles\":", "invalid_json", ""},
        {"[]", "invalid_type", ""},
        {"{}", "missing_field", "profiles"},
        {"{\"profiles\":7}", "invalid_type", "profiles"},
        {"{\"profiles\":[]}", "missing_field", "profiles"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tly_record r;
        memset(&r, 0, sizeof r);
        r.source = TLY_SOURCE_CLEVERTAP;
        r.kind = TLY_KIND_BATCH;
        r.body = cases[i].body;
        r.body_len = strlen(cases[i].body);
        const struct tly_adapter *a = tly_adapter_for(r.source);
        struct tly_items items;
        tly_items_init(&items);
        struct tly_failure f;
        memset(&f, 0, sizeof f);
        if (a->split(&r, &items, &f) == 0)
            fail_msg("case %zu (%s): split succeeded", i, cases[i].body);
        assert_string_equal(tly_fail_reason_name(f.reason), cases[i].reason);
        assert_string_equal(f.field, cases[i].field);
        assert_true(f.message[0] != '\0');
        tly_items_free(&items);
    }
}

/* The first event id of `body` (split + event_id_of); malloc'd. */
static char *first_id(const char *body)
{
    struct tly_record r;
    memset(&r, 0, sizeof r);
    r.source = TLY_SOURCE_CLEVERTAP;
    r.kind = TLY_KIND_BATCH;
    r.body = body;
    r.body_len = strlen(body);
    const struct tly_adapter *a = tly_adapter_for(r.source);
    struct tly_items items;
    tly_items_init(&items);
    struct tly_failure f;
    assert_int_equal(a->split(&r, &items, &f), 0);
    assert_true(items.n > 0);
    char *id = strdup(a->event_id_of(items.item[0]));
    tly_items_free(&items);
    return id;
}

/* The derived id is stable across resends and differs when the campaign,
 * the profile or the properties differ; a sent event_id wins. */
static void test_derived_id(void **state)
{
    (void)state;
    char *a = first_id(
        "{\"targetId\":1,\"profiles\":[{\"objectId\":\"o\",\"event_properties\":{\"x\":1}}]}");
    char *b = first_id(
        "{\"targetId\":1,\"profiles\":{\"objectId\":\"o\",\"event_properties\":{\"x\":1}}}");
    char *c = first_id(
        "{\"targetId\":2,\"profiles\":[{\"objectId\":\"o\",\"event_properties\":{\"x\":1}}]}");
    char *d = first_id(
        "{\"targetId\":1,\"profiles\":[{\"objectId\":\"o\",\"event_properties\":{\"x\":2}}]}");
    char *e = first_id("{\"targetId\":1,\"key_values\":{\"event_id\":\"kv-1\"},\"profiles\":[{}]}");
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, d);
    assert_int_equal(strlen(a), 19);
    assert_string_equal(e, "kv-1");
    free(a);
    free(b);
    free(c);
    free(d);
    free(e);
}

/* profileData of the broadcast fixture merged into the first user's
 * profile; $D_ dates arrive decoded. */
static void test_profile_merge(void **state)
{
    (void)state;
    size_t len;
    char *body = read_file("single-profile", ".json", &len);
    struct tly_record rec = record_for("/clevertap/v4", body, len);
    const struct tly_adapter *a = tly_adapter_for(rec.source);
    struct tly_items items;
    tly_items_init(&items);
    struct tly_failure f;
    assert_int_equal(a->split(&rec, &items, &f), 0);
    assert_int_equal(items.n, 1);
    cJSON *attrs = cJSON_CreateObject(), *times = cJSON_CreateObject();
    struct tly_event ev;
    int changed;
    assert_int_equal(a->map(items.item[0], &rec, NULL, &ev, &f), 0);
    assert_int_equal(ev.kind, TLY_EVENT_TRACK);
    assert_non_null(ev.traits);
    assert_int_equal(tly_profile_merge(attrs, times, ev.traits, NULL, ev.timestamp, &changed), 0);
    cJSON *want = cJSON_Parse("{\"City\":\"Pune\",\"last_order\":\"2026-03-14T09:26:53.000Z\"}");
    if (!cJSON_Compare(attrs, want, 1)) {
        char *got = cJSON_PrintUnformatted(attrs);
        fail_msg("merged attributes %s", got);
    }
    cJSON_Delete(want);
    cJSON_Delete(attrs);
    cJSON_Delete(times);
    tly_items_free(&items);
    free(body);
}

/* $D_ dates decoded at any depth; empty, non-digit or past-9999 ones stay. */
static void test_dates(void **state)
{
    (void)state;
    const char *body = "{\"profiles\":{\"identity\":\"u\",\"profileData\":{\"a\":\"$D_\","
                       "\"b\":\"$D_999999999999\",\"c\":\"$D_0\",\"d\":{\"e\":[\"$D_1664890781\"]},"
                       "\"f\":\"$D_12x\"}}}";
    struct tly_record r;
    memset(&r, 0, sizeof r);
    r.source = TLY_SOURCE_CLEVERTAP;
    r.kind = TLY_KIND_BATCH;
    r.body = body;
    r.body_len = strlen(body);
    const struct tly_adapter *a = tly_adapter_for(r.source);
    struct tly_items items;
    tly_items_init(&items);
    struct tly_failure f;
    struct tly_event ev;
    assert_int_equal(a->split(&r, &items, &f), 0);
    assert_int_equal(items.n, 1);
    assert_int_equal(a->map(items.item[0], &r, NULL, &ev, &f), 0);
    cJSON *want = cJSON_Parse("{\"a\":\"$D_\",\"b\":\"$D_999999999999\","
                              "\"c\":\"1970-01-01T00:00:00.000Z\","
                              "\"d\":{\"e\":[\"2022-10-04T13:39:41.000Z\"]},\"f\":\"$D_12x\"}");
    if (!cJSON_Compare(ev.traits, want, 1)) {
        char *got = cJSON_PrintUnformatted(ev.traits);
        fail_msg("decoded %s", got);
    }
    cJSON_Delete(want);
    tly_items_free(&items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),       cmocka_unit_test(test_check),
        cmocka_unit_test(test_split_failures), cmocka_unit_test(test_derived_id),
        cmocka_unit_test(test_profile_merge),  cmocka_unit_test(test_dates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
