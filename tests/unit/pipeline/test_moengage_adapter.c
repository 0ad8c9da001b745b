/*
 * Table-driven tests of the MoEngage Streams adapter (sources/moengage.h),
 * reached as the pipeline reaches it: tly_adapter_for(TLY_SOURCE_MOENGAGE).
 *
 * Every fixture tests/fixtures/moengage/<name>.json has beside it
 * <name>.expected.json: the endpoint it is posted to and, item by item,
 * either the canonical event as GET /v1/events renders it
 * (tly_event_to_json) or {"failed":{"reason":…,"field":…}}, the failure
 * coming from the adapter or, after it, from validation with the default
 * settings (invalid UTF-8). The record is built as ingest builds it (the
 * scan must accept the body) with a fixed receive time. Plus the ingest
 * scan's verdicts, the bodies that fail as a whole, and the profile merge
 * of user_attributes.
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
#include "sources/moengage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECEIVED_AT 1773481500000LL /* 2026-03-14T09:45:00.000Z */
#define TENANT      3u

static const char *const fixtures[] = {
    "streams", "uid-fallback", "times", "bad-items", "invalid-utf8", "user-attributes",
};

static char *read_file(const char *name, const char *suffix, size_t *len)
{
    return read_fixture("moengage", name, suffix, len);
}

/* The record ingest appends for `endpoint`. */
static struct tly_record record_for(const char *endpoint, const char *body, size_t len)
{
    assert_true(strcmp(endpoint, "/v3/moengage") == 0 || strcmp(endpoint, "/moengage/v4") == 0);
    struct tly_record r;
    memset(&r, 0, sizeof r);
    r.tenant = TENANT;
    r.received_at = RECEIVED_AT;
    r.body = body;
    r.body_len = len;
    r.source = TLY_SOURCE_MOENGAGE;
    r.kind = TLY_KIND_BATCH;
    struct tly_error err;
    struct tly_moengage_body b;
    if (tly_moengage_scan(body, len, &b, &err) != 0)
        fail_msg("scan refused the body: %s", err.msg);
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

/* The ingest scan: what is refused with 400, and the field it names. */
static void test_scan(void **state)
{
    (void)state;
    static const struct {
        const char *body, *field; /* field NULL: accepted */
        size_t items;
    } cases[] = {
        {"{\"events\":[{}]}", NULL, 1},
        {"{\"app_name\":\"A\",\"events\":[1,{},[]],\"events\":{}}", NULL, 3}, /* first wins */
        {"{\"events\":[{}]", "", 0},                                          /* not JSON */
        {"{\"events\":[{}]} x", "", 0},
        {"[{\"events\":[{}]}]", "", 0},
        {"{}", "events", 0},
        {"{\"events\":{}}", "events", 0},
        {"{\"events\":null}", "events", 0},
        {"{\"events\":[]}", "events", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tly_moengage_body b;
        struct tly_error err;
        int rc = tly_moengage_scan(cases[i].body, strlen(cases[i].body), &b, &err);
        if (cases[i].field == NULL) {
            if (rc != 0)
                fail_msg("case %zu (%s): refused: %s", i, cases[i].body, err.msg);
            assert_int_equal(b.items, cases[i].items);
            continue;
        }
        if (rc == 0)
            fail_msg("case %zu (%s): accepted", i, cases[i].body);
        assert_string_equal(err.field, cases[i].field);
        assert_true(err.msg[0] != '\0');
    }
}

/* At most TLY_MOENGAGE_EVENTS_MAX events per request. */
static void test_scan_limit(void **state)
{
    (void)state;
    struct tly_buf b;
    tly_buf_init(&b, 0);
    assert_int_equal(tly_buf_puts(&b, "{\"events\":[{}"), 0);
    for (int i = 1; i < TLY_MOENGAGE_EVENTS_MAX; i++)
        assert_int_equal(tly_buf_puts(&b, ",{}"), 0);
    struct tly_moengage_body mb;
    struct tly_error err;
    size_t head = b.len;
    assert_int_equal(tly_buf_puts(&b, "]}"), 0);
    assert_int_equal(tly_moengage_scan(b.data, b.len, &mb, &err), 0);
    assert_int_equal(mb.items, TLY_MOENGAGE_EVENTS_MAX);
    b.len = head;
    assert_int_equal(tly_buf_puts(&b, ",{}]}"), 0);
    assert_int_equal(tly_moengage_scan(b.data, b.len, &mb, &err), TLY_EINVAL);
    assert_string_equal(err.field, "events");
    assert_non_null(strstr(err.msg, "at most 500"));
    tly_buf_free(&b);
}

/* Bodies that fail as a whole (the pipeline stores them with item -1). */
static void test_split_failures(void **state)
{
    (void)state;
    static const struct {
        const char *body, *reason, *field;
    } cases[] = {
        {"{\"events\":", "invalid_json", ""},
        {"[]", "invalid_type", ""},
        {"{}", "missing_field", "events"},
        {"{\"events\":{}}", "invalid_type", "events"},
        {"{\"events\":[]}", "missing_field", "events"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tly_record r;
        memset(&r, 0, sizeof r);
        r.source = TLY_SOURCE_MOENGAGE;
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

/* user_attributes of the user-attributes fixture merged in arrival order:
 * the older event does not undo the newer one's city. */
static void test_user_attributes_merge(void **state)
{
    (void)state;
    size_t len;
    char *body = read_file("user-attributes", ".json", &len);
    struct tly_record rec = record_for("/v3/moengage", body, len);
    const struct tly_adapter *a = tly_adapter_for(rec.source);
    struct tly_items items;
    tly_items_init(&items);
    struct tly_failure f;
    assert_int_equal(a->split(&rec, &items, &f), 0);
    cJSON *attrs = cJSON_CreateObject(), *times = cJSON_CreateObject();
    for (size_t i = 0; i < items.n; i++) {
        struct tly_event ev;
        int changed;
        assert_int_equal(a->map(items.item[i], &rec, NULL, &ev, &f), 0);
        assert_int_equal(ev.kind, TLY_EVENT_TRACK);
        assert_non_null(ev.traits);
        assert_int_equal(tly_profile_merge(attrs, times, ev.traits, NULL, ev.timestamp, &changed),
                         0);
    }
    char *got = cJSON_PrintUnformatted(attrs);
    cJSON *want = cJSON_Parse("{\"moengage_user_id\":\"65f0aa\",\"first_name\":\"Ravi\","
                              "\"city\":\"Pune\",\"email\":\"ravi@example.com\"}");
    if (!cJSON_Compare(attrs, want, 1))
        fail_msg("merged attributes %s", got);
    cJSON_free(got);
    cJSON_Delete(want);
    cJSON_Delete(attrs);
    cJSON_Delete(times);
    tly_items_free(&items);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_scan_limit),
        cmocka_unit_test(test_split_failures),
        cmocka_unit_test(test_user_attributes_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
