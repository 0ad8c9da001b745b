/*
 * Table-driven tests of the WebEngage webhook adapter (sources/webengage.h),
 * reached as the pipeline reaches it: tly_adapter_for(TLY_SOURCE_WEBENGAGE),
 * and of the secret check (MD5 of "licenseCode:secretKey", compared in
 * constant time, hex in any case).
 *
 * Every fixture tests/fixtures/webengage/<name>.json has beside it
 * <name>.expected.json: {"meta": the record metadata ingest writes, "want":
 * the canonical event as GET /v1/events renders it (tly_event_to_json) or
 * {"failed":{"reason":…,"field":…}}}, the failure coming from the adapter or,
 * after it, from validation with the default settings.
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
#include "pipeline/validate.h"
#include "sources/adapter.h"
#include "sources/webengage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECEIVED_AT 1773481500000LL /* 2026-03-14T09:45:00.000Z */
#define TENANT      5u

static const char *const fixtures[] = {
    "event", "user-fallback", "anonymous", "bad-event-data", "no-user", "bad-time", "invalid-utf8",
};

static char *read_file(const char *name, const char *suffix, size_t *len)
{
    return read_fixture("webengage", name, suffix, len);
}

static struct tly_record record_for(const char *meta, const char *body, size_t len)
{
    struct tly_record r;
    memset(&r, 0, sizeof r);
    r.tenant = TENANT;
    r.received_at = RECEIVED_AT;
    r.source = TLY_SOURCE_WEBENGAGE;
    r.kind = TLY_KIND_SINGLE;
    r.meta = meta;
    r.meta_len = meta != NULL ? strlen(meta) : 0;
    r.body = body;
    r.body_len = len;
    return r;
}

static void run_fixture(const char *name)
{
    size_t len, elen;
    char *body = read_file(name, ".json", &len);
    char *expected_text = read_file(name, ".expected.json", &elen);
    cJSON *expected = cJSON_Parse(expected_text);
    assert_non_null(expected);
    char *meta = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(expected, "meta"));
    const cJSON *want = cJSON_GetObjectItemCaseSensitive(expected, "want");
    struct tly_record rec = record_for(meta, body, len);
    const struct tly_adapter *a = tly_adapter_for(rec.source);
    assert_non_null(a);
    assert_int_equal(a->source, TLY_SOURCE_WEBENGAGE);

    struct tly_items items;
    tly_items_init(&items);
    struct tly_failure f;
    memset(&f, 0, sizeof f);
    if (a->split(&rec, &items, &f) != 0)
        fail_msg("%s: split failed: %s", name, f.message);
    assert_int_equal(items.n, 1);
    const cJSON *item = items.item[0];

    struct tly_event ev;
    int rc = a->map(item, &rec, NULL, &ev, &f);
    if (rc == 0) {
        struct tly_tenant_settings s;
        tly_settings_default(&s);
        rc = tly_validate_event(&ev, &s, &f);
    }
    const cJSON *failed = cJSON_GetObjectItemCaseSensitive(want, "failed");
    if (failed != NULL) {
        const char *reason = cJSON_GetObjectItemCaseSensitive(failed, "reason")->valuestring;
        const char *field = cJSON_GetObjectItemCaseSensitive(failed, "field")->valuestring;
        if (rc == 0)
            fail_msg("%s: mapped, expected failure %s", name, reason);
        if (strcmp(tly_fail_reason_name(f.reason), reason) != 0 || strcmp(f.field, field) != 0)
            fail_msg("%s: failed %s/%s (%s), expected %s/%s", name, tly_fail_reason_name(f.reason),
                     f.field, f.message, reason, field);
        assert_true(f.message[0] != '\0');
    } else {
        if (rc != 0)
            fail_msg("%s: failed %s/%s: %s", name, tly_fail_reason_name(f.reason), f.field,
                     f.message);
        struct tly_buf out;
        tly_buf_init(&out, 0);
        assert_int_equal(tly_event_to_json(&ev, &out), 0);
        assert_int_equal(tly_buf_puts(&out, ""), 0); /* NUL-terminates */
        cJSON *got = cJSON_Parse(out.data);
        assert_non_null(got);
        if (!cJSON_Compare(got, want, 1)) {
            char *w = cJSON_PrintUnformatted(want);
            fail_msg("%s:\n got  %s\n want %s", name, out.data, w);
        }
        cJSON_Delete(got);
        tly_buf_free(&out);
    }
    /* The failed item's text carries the metadata: mapping it again alone
     * (a replay) gives the same id. */
    const char *id = a->event_id_of(item);
    assert_non_null(id);
    assert_string_equal(id, cJSON_GetObjectItemCaseSensitive(
                                cJSON_GetObjectItemCaseSensitive(expected, "meta"), "request_id")
                                ->valuestring);
    char *text = cJSON_PrintUnformatted(item);
    cJSON *again = cJSON_Parse(text);
    assert_non_null(again);
    assert_string_equal(a->event_id_of(again), id);
    cJSON_Delete(again);
    free(text);

    tly_items_free(&items);
    free(meta);
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

static void test_split_failures(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        int reason;
    } cases[] = {
        {"", TLY_FAIL_INVALID_JSON},
        {"{\"a\":", TLY_FAIL_INVALID_JSON},
        {"[{\"user_id\":\"u\"}]", TLY_FAIL_INVALID_TYPE},
        {"\"text\"", TLY_FAIL_INVALID_TYPE},
    };
    const struct tly_adapter *a = tly_adapter_for(TLY_SOURCE_WEBENGAGE);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tly_record rec =
            record_for("{\"request_id\":\"x\"}", cases[i].body, strlen(cases[i].body));
        struct tly_items items;
        tly_items_init(&items);
        struct tly_failure f;
        memset(&f, 0, sizeof f);
        assert_int_equal(a->split(&rec, &items, &f), -1);
        assert_int_equal(f.reason, cases[i].reason);
        tly_items_free(&items);
    }
}

/* No request id in the metadata, no event type anywhere. */
static void test_missing_meta(void **state)
{
    (void)state;
    static const struct {
        const char *meta;
        const char *field;
    } cases[] = {
        {NULL, "x-request-id"},
        {"{\"event_type\":\"E\"}", "x-request-id"},
        {"{\"request_id\":\"\"}", "x-request-id"},
        {"not json", "x-request-id"},
        {"{\"request_id\":\"r\"}", "eventType"},
        {"{\"request_id\":\"r\",\"event_type\":7}", "eventType"},
    };
    const struct tly_adapter *a = tly_adapter_for(TLY_SOURCE_WEBENGAGE);
    const char *body = "{\"user_id\":\"u\"}";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tly_record rec = record_for(cases[i].meta, body, strlen(body));
        struct tly_items items;
        tly_items_init(&items);
        struct tly_failure f;
        memset(&f, 0, sizeof f);
        assert_int_equal(a->split(&rec, &items, &f), 0);
        struct tly_event ev;
        assert_int_equal(a->map(items.item[0], &rec, NULL, &ev, &f), -1);
        assert_string_equal(f.field, cases[i].field);
        tly_items_free(&items);
    }
}

static void test_secret(void **state)
{
    (void)state;
    char hex[TLY_WEBENGAGE_SECRET_HEX + 1];
    /* md5("license:secret") */
    assert_int_equal(tly_webengage_secret_hash("license", 7, "secret", 6, hex), 0);
    assert_string_equal(hex, "5c24ac6cef4ed54667de48576dd3ab5b");
    /* md5("~2024c5a1:k3y") differs from md5("~2024c5a1:k3z") */
    char other[TLY_WEBENGAGE_SECRET_HEX + 1];
    assert_int_equal(tly_webengage_secret_hash("~2024c5a1", 9, "k3y", 3, hex), 0);
    assert_int_equal(tly_webengage_secret_hash("~2024c5a1", 9, "k3z", 3, other), 0);
    assert_string_not_equal(hex, other);

    const char *stored = "5c24ac6cef4ed54667de48576dd3ab5b";
    assert_true(tly_webengage_secret_ok(stored, stored, 32));
    assert_true(tly_webengage_secret_ok(stored, "5C24AC6CEF4ED54667DE48576DD3AB5B", 32));
    assert_false(tly_webengage_secret_ok(stored, "5c24ac6cef4ed54667de48576dd3ab5a", 32));
    assert_false(tly_webengage_secret_ok(stored, stored, 31));
    assert_false(tly_webengage_secret_ok(stored, "5c24ac6cef4ed54667de48576dd3ab5ba", 33));
    assert_false(tly_webengage_secret_ok(stored, "", 0));
    assert_false(tly_webengage_secret_ok("", "", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_split_failures),
        cmocka_unit_test(test_missing_meta),
        cmocka_unit_test(test_secret),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
