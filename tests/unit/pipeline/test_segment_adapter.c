/*
 * Table-driven tests of the Segment adapters (sources/segment.h), reached
 * as the pipeline reaches them: tly_adapter_for(TLY_SOURCE_SEGMENT) for
 * /segment/v4 and tly_adapter_for(TLY_SOURCE_TRACK) for the tracking API.
 *
 * Every fixture tests/fixtures/segment/<name>.json has beside it
 * <name>.expected.json: the endpoint it is posted to and, item by item,
 * either the canonical event as GET /v1/events renders it
 * (tly_event_to_json) or {"failed":{"reason":…,"field":…}}. The record is
 * built as ingest builds it for that endpoint (source, kind, metadata) with
 * a fixed receive time. Plus the bodies that fail as a whole, and
 * event_id_of.
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
#include "sources/adapter.h"
#include "sources/segment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECEIVED_AT 1773481500000LL /* 2026-03-14T09:45:00.000Z */
#define TENANT      3u

static const char *const fixtures[] = {
    "track", "page",  "page-unnamed", "screen",    "screen-unnamed", "identify",   "group",
    "alias", "array", "unknown-type", "bad-items", "batch",          "call-track", "call-identify",
};

static char *read_file(const char *name, const char *suffix, size_t *len)
{
    return read_fixture("segment", name, suffix, len);
}

/* The record ingest appends for `endpoint`; meta is static text. */
static struct tly_record record_for(const char *endpoint, const char *body, size_t len)
{
    struct tly_record r;
    memset(&r, 0, sizeof r);
    r.tenant = TENANT;
    r.received_at = RECEIVED_AT;
    r.body = body;
    r.body_len = len;
    struct tly_error err;
    r.flags = tly_json_check(body, len, &err) == 0 ? TLY_RECORD_BODY_CHECKED : 0;
    if (strcmp(endpoint, "/segment/v4") == 0) {
        struct tly_segment_body b;
        assert_int_equal(tly_segment_scan(body, len, TLY_SEGMENT_WEBHOOK, &b, &err), 0);
        r.source = TLY_SOURCE_SEGMENT;
        r.kind = b.is_array ? TLY_KIND_BATCH : TLY_KIND_SINGLE;
    } else if (strcmp(endpoint, "/v1/batch") == 0) {
        r.source = TLY_SOURCE_TRACK;
        r.kind = TLY_KIND_BATCH;
    } else {
        assert_int_equal(strncmp(endpoint, "/v1/", 4), 0);
        r.source = TLY_SOURCE_TRACK;
        r.kind = TLY_KIND_SINGLE;
        r.meta = tly_segment_meta(endpoint + 4);
        assert_non_null(r.meta);
        r.meta_len = strlen(r.meta);
    }
    return r;
}

static void check_item(const char *name, size_t i, const struct tly_adapter *a, const cJSON *item,
                       const struct tly_record *rec, const cJSON *want)
{
    struct tly_event ev;
    struct tly_failure f;
    memset(&f, 0, sizeof f);
    int rc = a->map(item, rec, NULL, &ev, &f);
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

/* Bodies that fail as a whole (the pipeline stores them with item -1). */
static void test_split_failures(void **state)
{
    (void)state;
    static const struct {
        int source, kind;
        const char *body, *reason, *field;
    } cases[] = {
        {TLY_SOURCE_SEGMENT, TLY_KIND_SINGLE, "{\"type\":", "invalid_json", ""},
        {TLY_SOURCE_SEGMENT, TLY_KIND_BATCH, "[]", "missing_field", ""},
        {TLY_SOURCE_SEGMENT, TLY_KIND_SINGLE, "\"track\"", "invalid_type", ""},
        {TLY_SOURCE_TRACK, TLY_KIND_BATCH, "[]", "invalid_type", ""},
        {TLY_SOURCE_TRACK, TLY_KIND_BATCH, "{}", "missing_field", "batch"},
        {TLY_SOURCE_TRACK, TLY_KIND_BATCH, "{\"batch\":{}}", "invalid_type", "batch"},
        {TLY_SOURCE_TRACK, TLY_KIND_BATCH, "{\"batch\":[]}", "missing_field", "batch"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tly_record r;
        memset(&r, 0, sizeof r);
        r.source = (uint8_t)cases[i].source;
        r.kind = (uint8_t)cases[i].kind;
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

/* A tracking-API call keeps the path's type even when the body says
 * another; a record without metadata uses the body's own. */
static void test_type_from_path(void **state)
{
    (void)state;
    static const char body[] =
        "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"messageId\":\"m\"}";
    struct tly_record r;
    memset(&r, 0, sizeof r);
    r.source = TLY_SOURCE_TRACK;
    r.kind = TLY_KIND_SINGLE;
    r.received_at = RECEIVED_AT;
    r.body = body;
    r.body_len = sizeof body - 1;
    const struct tly_adapter *a = tly_adapter_for(TLY_SOURCE_TRACK);
    struct tly_items items;
    tly_items_init(&items);
    struct tly_failure f;
    struct tly_event ev;
    assert_int_equal(a->split(&r, &items, &f), 0);
    assert_int_equal(a->map(items.item[0], &r, NULL, &ev, &f), 0);
    assert_string_equal(ev.event_name, "E");
    assert_int_equal(ev.timestamp, RECEIVED_AT); /* no time sent: the receive time */
    r.meta = tly_segment_meta("page");
    r.meta_len = strlen(r.meta);
    assert_int_equal(a->map(items.item[0], &r, NULL, &ev, &f), 0);
    assert_string_equal(ev.event_name, "Page Viewed"); /* the path's type */
    assert_null(tly_segment_meta("group"));
    tly_items_free(&items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_split_failures),
        cmocka_unit_test(test_type_from_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
