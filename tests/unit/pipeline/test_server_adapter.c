/*
 * Unit tests for the server API source adapter, reached the way the
 * pipeline reaches it: tly_adapter_for(TLY_SOURCE_SERVER) (sources/
 * adapter.h).
 *
 * split: a single record (TLY_KIND_SINGLE) gives one item, the parsed body;
 * a batch (TLY_KIND_BATCH) gives its N items in order (1 and 500 are the
 * limits); a body that is not JSON fails with invalid_json; batch envelope
 * errors fail with their typed reason and field; the item list is reusable
 * after a reset. map: each bad item fails with its reason (missing_field,
 * invalid_type, invalid_timestamp, too_large) and field; a good item fills
 * every canonical field (tenant, source, kind, event_id, event_name,
 * user_id, timestamp in ms, received_at from the record, properties as a
 * pointer into the item, no context). event_id_of: the id when usable.
 * Also the reason names, which the API and metrics expose.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/json.h"
#include "sources/adapter.h"
#include "sources/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECEIVED_AT 1717243200123LL /* 2024-06-01T12:00:00.123Z */
#define TENANT      7u

#define GOOD_EVENT                                                                                 \
    "{\"event_id\":\"e-1\",\"event_name\":\"signup\",\"user_id\":\"u-1\","                         \
    "\"timestamp\":\"2024-05-31T10:20:30.456Z\",\"event_properties\":{\"plan\":\"pro\","           \
    "\"seats\":3}}"
#define GOOD_TS 1717150830456LL /* 2024-05-31T10:20:30.456Z */

static const struct tly_adapter *server(void)
{
    const struct tly_adapter *a = tly_adapter_for(TLY_SOURCE_SERVER);
    assert_non_null(a);
    return a;
}

static struct tly_record record_of(int kind, const char *body)
{
    static const char meta[] = "{\"q\":\"x\"}";
    struct tly_record r;
    memset(&r, 0, sizeof r);
    r.source = TLY_SOURCE_SERVER;
    r.kind = (uint8_t)kind;
    r.tenant = TENANT;
    r.received_at = RECEIVED_AT;
    r.meta = meta;
    r.meta_len = sizeof meta - 1;
    r.body = body;
    r.body_len = strlen(body);
    return r;
}

/* Splits `body`; expects success and returns the items (caller frees). */
static void split_ok(int kind, const char *body, struct tly_items *it)
{
    struct tly_record r = record_of(kind, body);
    struct tly_failure f;
    memset(&f, 0, sizeof f);
    tly_items_init(it);
    if (server()->split(&r, it, &f) != 0)
        fail_msg("split of %.80s failed: %s (%s) %s", body, tly_fail_reason_name(f.reason), f.field,
                 f.message);
}

static void expect_split_fail(int kind, const char *body, int reason, const char *field)
{
    struct tly_record r = record_of(kind, body);
    struct tly_failure f;
    memset(&f, 0, sizeof f);
    struct tly_items it;
    tly_items_init(&it);
    int rc = server()->split(&r, &it, &f);
    if (rc != -1)
        fail_msg("split of %.80s: rc %d, expected %s", body, rc, tly_fail_reason_name(reason));
    if (f.reason != reason || strcmp(f.field, field) != 0)
        fail_msg("split of %.80s: %s on '%s' (%s), expected %s on '%s'", body,
                 tly_fail_reason_name(f.reason), f.field, f.message, tly_fail_reason_name(reason),
                 field);
    assert_true(f.message[0] != '\0');
    tly_items_free(&it); /* frees whatever was parsed */
}

/* Maps the single-record body `body`; expects failure with reason and
 * field. Returns nothing; the message must be non-empty and name the field
 * when there is one. */
static void expect_map_fail(const char *body, int reason, const char *field)
{
    struct tly_items it;
    split_ok(TLY_KIND_SINGLE, body, &it);
    assert_int_equal(it.n, 1);
    struct tly_record r = record_of(TLY_KIND_SINGLE, body);
    struct tly_event ev;
    struct tly_failure f;
    memset(&f, 0, sizeof f);
    int rc = server()->map(it.item[0], &r, NULL, &ev, &f);
    if (rc != -1)
        fail_msg("map of %.100s: rc %d, expected %s on %s", body, rc, tly_fail_reason_name(reason),
                 field);
    if (f.reason != reason || strcmp(f.field, field) != 0)
        fail_msg("map of %.100s: %s on '%s' (%s), expected %s on '%s'", body,
                 tly_fail_reason_name(f.reason), f.field, f.message, tly_fail_reason_name(reason),
                 field);
    assert_true(f.message[0] != '\0');
    if (field[0] != '\0' && strstr(f.message, field) == NULL)
        fail_msg("map of %.100s: message '%s' does not name %s", body, f.message, field);
    tly_items_free(&it);
}

/* GOOD_EVENT with `field` set to the JSON text `value` (NULL: removed). */
static char *event_with(const char *field, const char *value)
{
    static const char *const names[] = {"event_id", "event_name", "user_id", "timestamp",
                                        "event_properties"};
    static const char *const good[] = {"\"e-1\"", "\"signup\"", "\"u-1\"",
                                       "\"2024-05-31T10:20:30.456Z\"", "{\"plan\":\"pro\"}"};
    struct tly_buf b;
    tly_buf_init(&b, 0);
    int first = 1;
    for (int i = 0; i < 5; i++) {
        int this = strcmp(names[i], field) == 0;
        if (this && value == NULL)
            continue;
        assert_int_equal(
            tly_buf_printf(&b, "%s\"%s\":%s", first ? "{" : ",", names[i], this ? value : good[i]),
            0);
        first = 0;
    }
    assert_int_equal(tly_buf_puts(&b, "}"), 0);
    assert_int_equal(tly_buf_append(&b, "", 1), 0); /* NUL */
    return b.data;
}

static void map_fail_with(const char *field, const char *value, int reason, const char *at)
{
    char *body = event_with(field, value);
    expect_map_fail(body, reason, at);
    free(body);
}

/* A batch body {"events":[item(0), item(1), ...]}. */
static char *batch_of(size_t n)
{
    struct tly_buf b;
    tly_buf_init(&b, 0);
    assert_int_equal(tly_buf_puts(&b, "{\"events\":["), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(tly_buf_printf(&b,
                                        "%s{\"event_id\":\"b-%zu\",\"event_name\":\"n\","
                                        "\"user_id\":\"u\",\"timestamp\":%lld,"
                                        "\"event_properties\":{\"i\":%zu}}",
                                        i ? "," : "", i, RECEIVED_AT - 1000 - (long long)i, i),
                         0);
    assert_int_equal(tly_buf_puts(&b, "]}"), 0);
    assert_int_equal(tly_buf_append(&b, "", 1), 0);
    return b.data;
}

/* ---- the registry ---- */

static void test_adapter_registry(void **state)
{
    (void)state;
    const struct tly_adapter *a = tly_adapter_for(TLY_SOURCE_SERVER);
    assert_non_null(a);
    assert_int_equal(a->source, TLY_SOURCE_SERVER);
    assert_non_null(a->split);
    assert_non_null(a->map);
    assert_non_null(a->event_id_of);
    assert_null(tly_adapter_for(TLY_SOURCE_INTERNAL));
    assert_null(tly_adapter_for(255));
    assert_null(tly_adapter_for(-1));
}

static void test_reason_names(void **state)
{
    (void)state;
    static const char *const names[] = {NULL,
                                        "invalid_json",
                                        "missing_field",
                                        "invalid_type",
                                        "invalid_timestamp",
                                        "too_large",
                                        "invalid_utf8",
                                        "unknown_type",
                                        "unknown_user",
                                        "timestamp_in_future",
                                        "timestamp_too_old",
                                        "unknown_source"};
    assert_int_equal(sizeof names / sizeof names[0], TLY_FAIL_REASON_COUNT);
    for (int r = 1; r < TLY_FAIL_REASON_COUNT; r++) {
        assert_string_equal(tly_fail_reason_name(r), names[r]);
        assert_int_equal(tly_fail_reason_parse(names[r], strlen(names[r])), r);
    }
    assert_string_equal(tly_fail_reason_name(0), "unknown");
    assert_string_equal(tly_fail_reason_name(TLY_FAIL_REASON_COUNT), "unknown");
    assert_string_equal(tly_fail_reason_name(-3), "unknown");
    assert_int_equal(tly_fail_reason_parse("too_larg", 8), 0);
    assert_int_equal(tly_fail_reason_parse("too_large_", 10), 0);
    assert_int_equal(tly_fail_reason_parse("", 0), 0);
}

/* ---- split ---- */

static void test_split_single(void **state)
{
    (void)state;
    struct tly_items it;
    split_ok(TLY_KIND_SINGLE, GOOD_EVENT, &it);
    assert_int_equal(it.n, 1);
    assert_non_null(it.root);
    assert_ptr_equal(it.item[0], it.root);
    assert_string_equal(server()->event_id_of(it.item[0]), "e-1");

    /* Whitespace around the value is fine. */
    tly_items_free(&it);
    split_ok(TLY_KIND_SINGLE, " \n\t" GOOD_EVENT "\r\n ", &it);
    assert_int_equal(it.n, 1);
    assert_string_equal(server()->event_id_of(it.item[0]), "e-1");
    tly_items_free(&it);

    /* A single record is one item whatever its shape: an object that
     * looks like a batch, or an array, is judged by map. */
    split_ok(TLY_KIND_SINGLE, "{\"events\":[" GOOD_EVENT "]}", &it);
    assert_int_equal(it.n, 1);
    assert_null(server()->event_id_of(it.item[0]));
    tly_items_free(&it);
    split_ok(TLY_KIND_SINGLE, "[1,2]", &it);
    assert_int_equal(it.n, 1);
    tly_items_free(&it);
}

static void test_split_batch_in_order(void **state)
{
    (void)state;
    const size_t sizes[] = {1, 2, 3, 17, TLY_BATCH_MAX};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        char *body = batch_of(sizes[k]);
        struct tly_items it;
        split_ok(TLY_KIND_BATCH, body, &it);
        assert_int_equal(it.n, sizes[k]);
        for (size_t i = 0; i < it.n; i++) {
            char want[32];
            snprintf(want, sizeof want, "b-%zu", i);
            const char *id = server()->event_id_of(it.item[i]);
            if (id == NULL || strcmp(id, want) != 0)
                fail_msg("batch of %zu: item %zu is %s, expected %s", sizes[k], i,
                         id ? id : "(null)", want);
            /* Each item maps, in order. */
            struct tly_record r = record_of(TLY_KIND_BATCH, body);
            struct tly_event ev;
            struct tly_failure f;
            assert_int_equal(server()->map(it.item[i], &r, NULL, &ev, &f), 0);
            assert_string_equal(ev.event_id, want);
            assert_true(ev.timestamp == RECEIVED_AT - 1000 - (int64_t)i);
        }
        tly_items_free(&it);
        free(body);
    }
}

static void test_split_items_reusable(void **state)
{
    (void)state;
    /* The pipeline keeps one item list and resets it per record. */
    struct tly_items it;
    tly_items_init(&it);
    char *big = batch_of(40);
    struct tly_failure f;
    for (int round = 0; round < 3; round++) {
        struct tly_record r = record_of(TLY_KIND_BATCH, big);
        tly_items_reset(&it);
        assert_int_equal(server()->split(&r, &it, &f), 0);
        assert_int_equal(it.n, 40);
        tly_items_reset(&it);
        r = record_of(TLY_KIND_SINGLE, GOOD_EVENT);
        assert_int_equal(server()->split(&r, &it, &f), 0);
        assert_int_equal(it.n, 1);
        assert_string_equal(server()->event_id_of(it.item[0]), "e-1");
        tly_items_reset(&it);
        r = record_of(TLY_KIND_BATCH, "{\"events\":[]}");
        assert_int_equal(server()->split(&r, &it, &f), -1);
    }
    tly_items_free(&it);
    tly_items_free(&it); /* twice is fine */
    free(big);
}

/* A body flagged as checked at ingest is parsed without the check again:
 * for every body that passes the check (the only ones ingest flags), the
 * same verdict, items, reason and message either way. A flagged body that
 * would not pass is read as cJSON reads it: it splits, or fails with a
 * reason, and never does harm. */
static void test_split_checked_body_same_verdicts(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        GOOD_EVENT,
        "{\"events\":[" GOOD_EVENT "," GOOD_EVENT "]}",
        "  " GOOD_EVENT "\r\n",
        "{\"a\":01}",
        GOOD_EVENT " x",
        "{\"a\":1,}",
        "{\"a\":\"\\u0000\"}",
        "",
        "{\"events\":[1,2]",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        for (int kind = TLY_KIND_SINGLE; kind <= TLY_KIND_BATCH; kind++) {
            struct tly_items it[2];
            struct tly_failure f[2];
            int rc[2];
            for (int k = 0; k < 2; k++) {
                struct tly_record r = record_of(kind, bodies[i]);
                r.flags = k ? TLY_RECORD_BODY_CHECKED : 0;
                memset(&f[k], 0, sizeof f[k]);
                tly_items_init(&it[k]);
                rc[k] = server()->split(&r, &it[k], &f[k]);
            }
            struct tly_error err;
            int valid = tly_json_check(bodies[i], strlen(bodies[i]), &err) == 0;
            if (!valid)
                assert_true(rc[1] == 0 || (rc[1] == -1 && f[1].reason != 0));
            else if (rc[0] != rc[1] || it[0].n != it[1].n || f[0].reason != f[1].reason ||
                     strcmp(f[0].message, f[1].message) != 0)
                fail_msg("%.60s (kind %d): %d %zu '%s' vs %d %zu '%s'", bodies[i], kind, rc[0],
                         it[0].n, f[0].message, rc[1], it[1].n, f[1].message);
            tly_items_free(&it[0]);
            tly_items_free(&it[1]);
        }
    }
}

static void test_split_invalid_json(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "",
        "   ",
        "{",
        "{\"event_id\":\"e\"",
        GOOD_EVENT " x",
        GOOD_EVENT GOOD_EVENT,
        "{\"a\":1,}",
        "{'a':1}",
        "{\"a\":01}",
        "{\"a\":\"\\u0000\"}",
        "{\"a\":\"tab\there\"}",
        "nul",
        "\xef\xbb\xbf{}", /* a byte order mark */
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        expect_split_fail(TLY_KIND_SINGLE, bodies[i], TLY_FAIL_INVALID_JSON, "");
        expect_split_fail(TLY_KIND_BATCH, bodies[i], TLY_FAIL_INVALID_JSON, "");
    }
    /* Nesting past the JSON depth limit. */
    char deep[2 * (TLY_JSON_MAX_DEPTH + 1) + 1];
    memset(deep, '[', TLY_JSON_MAX_DEPTH + 1);
    memset(deep + TLY_JSON_MAX_DEPTH + 1, ']', TLY_JSON_MAX_DEPTH + 1);
    deep[sizeof deep - 1] = '\0';
    expect_split_fail(TLY_KIND_SINGLE, deep, TLY_FAIL_INVALID_JSON, "");

    /* The message says where. */
    struct tly_record r = record_of(TLY_KIND_SINGLE, "{\"a\":1,}");
    struct tly_items it;
    tly_items_init(&it);
    struct tly_failure f;
    assert_int_equal(server()->split(&r, &it, &f), -1);
    assert_non_null(strstr(f.message, "byte"));
    tly_items_free(&it);
}

static void test_split_batch_envelope_errors(void **state)
{
    (void)state;
    expect_split_fail(TLY_KIND_BATCH, GOOD_EVENT, TLY_FAIL_MISSING_FIELD, "events");
    expect_split_fail(TLY_KIND_BATCH, "{}", TLY_FAIL_MISSING_FIELD, "events");
    expect_split_fail(TLY_KIND_BATCH, "{\"Events\":[" GOOD_EVENT "]}", TLY_FAIL_MISSING_FIELD,
                      "events");
    expect_split_fail(TLY_KIND_BATCH, "{\"events\":[]}", TLY_FAIL_MISSING_FIELD, "events");
    expect_split_fail(TLY_KIND_BATCH, "{\"events\":{}}", TLY_FAIL_INVALID_TYPE, "events");
    expect_split_fail(TLY_KIND_BATCH, "{\"events\":null}", TLY_FAIL_INVALID_TYPE, "events");
    expect_split_fail(TLY_KIND_BATCH, "{\"events\":\"[]\"}", TLY_FAIL_INVALID_TYPE, "events");
    expect_split_fail(TLY_KIND_BATCH, "[" GOOD_EVENT "]", TLY_FAIL_INVALID_TYPE, "");
    expect_split_fail(TLY_KIND_BATCH, "42", TLY_FAIL_INVALID_TYPE, "");
    expect_split_fail(TLY_KIND_BATCH, "null", TLY_FAIL_INVALID_TYPE, "");
    char *over = batch_of(TLY_BATCH_MAX + 1);
    expect_split_fail(TLY_KIND_BATCH, over, TLY_FAIL_TOO_LARGE, "events");
    free(over);
}

static void test_split_batch_keeps_bad_items(void **state)
{
    (void)state;
    /* Items are not judged by split: a batch of anything lists them all. */
    struct tly_items it;
    split_ok(TLY_KIND_BATCH, "{\"events\":[1,\"x\",null," GOOD_EVENT ",{},[]]}", &it);
    assert_int_equal(it.n, 6);
    assert_true(cJSON_IsNumber(it.item[0]));
    assert_true(cJSON_IsString(it.item[1]));
    assert_true(cJSON_IsNull(it.item[2]));
    assert_string_equal(server()->event_id_of(it.item[3]), "e-1");
    assert_true(cJSON_IsObject(it.item[4]));
    assert_true(cJSON_IsArray(it.item[5]));
    tly_items_free(&it);
}

/* ---- map ---- */

static void test_map_good_item(void **state)
{
    (void)state;
    struct tly_items it;
    split_ok(TLY_KIND_SINGLE, GOOD_EVENT, &it);
    struct tly_record r = record_of(TLY_KIND_SINGLE, GOOD_EVENT);
    struct tly_event ev;
    memset(&ev, 0xa5, sizeof ev);
    struct tly_failure f;
    assert_int_equal(server()->map(it.item[0], &r, NULL, &ev, &f), 0);
    assert_int_equal(ev.kind, TLY_EVENT_TRACK);
    assert_int_equal(ev.tenant, TENANT);
    assert_int_equal(ev.source, TLY_SOURCE_SERVER);
    assert_string_equal(ev.event_id, "e-1");
    assert_string_equal(ev.event_name, "signup");
    assert_string_equal(ev.user_id, "u-1");
    assert_true(ev.timestamp == GOOD_TS);
    assert_true(ev.received_at == RECEIVED_AT); /* from the record */
    assert_null(ev.context);
    /* Strings and properties borrow from the item's tree. */
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(it.item[0], "event_properties");
    assert_ptr_equal(ev.properties, props);
    assert_ptr_equal(ev.event_id,
                     cJSON_GetObjectItemCaseSensitive(it.item[0], "event_id")->valuestring);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(ev.properties, "plan")->valuestring,
                        "pro");
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(ev.properties, "seats")->valueint, 3);
    tly_items_free(&it);
}

static void test_map_record_fields_win(void **state)
{
    (void)state;
    /* Tenant, source and receive time come from the record, never from
     * the body, even if the body has fields of those names. */
    const char *body = "{\"event_id\":\"e\",\"event_name\":\"n\",\"user_id\":\"u\","
                       "\"timestamp\":1717243100,\"event_properties\":{},"
                       "\"tenant\":99,\"source\":\"segment\",\"received_at\":1}";
    struct tly_items it;
    split_ok(TLY_KIND_SINGLE, body, &it);
    struct tly_record r = record_of(TLY_KIND_SINGLE, body);
    r.tenant = 123456;
    r.received_at = 1717243200999LL;
    struct tly_event ev;
    struct tly_failure f;
    assert_int_equal(server()->map(it.item[0], &r, NULL, &ev, &f), 0);
    assert_int_equal(ev.tenant, 123456);
    assert_int_equal(ev.source, TLY_SOURCE_SERVER);
    assert_true(ev.received_at == 1717243200999LL);
    assert_true(ev.timestamp == 1717243100000LL); /* epoch seconds → ms */
    assert_non_null(ev.properties);
    assert_null(ev.properties->child); /* {} */
    tly_items_free(&it);
}

static void test_map_timestamp_forms(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int64_t ms;
    } cases[] = {
        {"1717243200", 1717243200000LL},               /* epoch seconds */
        {"1717243200.5", 1717243200500LL},             /* with a fraction */
        {"1717243200123", 1717243200123LL},            /* epoch ms */
        {"\"1717243200\"", 1717243200000LL},           /* digits in a string */
        {"\"2024-06-01T12:00:00Z\"", 1717243200000LL}, /* ISO, UTC */
        {"\"2024-06-01T17:30:00.250+05:30\"", 1717243200250LL},
        {"\"2024-06-01T08:00:00-0400\"", 1717243200000LL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *body = event_with("timestamp", cases[i].json);
        struct tly_items it;
        split_ok(TLY_KIND_SINGLE, body, &it);
        struct tly_record r = record_of(TLY_KIND_SINGLE, body);
        struct tly_event ev;
        struct tly_failure f;
        if (server()->map(it.item[0], &r, NULL, &ev, &f) != 0)
            fail_msg("timestamp %s refused: %s", cases[i].json, f.message);
        if (ev.timestamp != cases[i].ms)
            fail_msg("timestamp %s: %lld ms, expected %lld", cases[i].json, (long long)ev.timestamp,
                     (long long)cases[i].ms);
        tly_items_free(&it);
        free(body);
    }
}

static void test_map_missing_field(void **state)
{
    (void)state;
    static const char *const fields[] = {"event_id", "event_name", "user_id", "timestamp",
                                         "event_properties"};
    for (size_t i = 0; i < 5; i++)
        map_fail_with(fields[i], NULL, TLY_FAIL_MISSING_FIELD, fields[i]);
    /* Empty strings count as missing. */
    map_fail_with("event_id", "\"\"", TLY_FAIL_MISSING_FIELD, "event_id");
    map_fail_with("event_name", "\"\"", TLY_FAIL_MISSING_FIELD, "event_name");
    map_fail_with("user_id", "\"\"", TLY_FAIL_MISSING_FIELD, "user_id");
    /* Names are case-sensitive. */
    expect_map_fail("{\"Event_id\":\"e\",\"event_name\":\"n\",\"user_id\":\"u\","
                    "\"timestamp\":1717243200,\"event_properties\":{}}",
                    TLY_FAIL_MISSING_FIELD, "event_id");
}

static void test_map_invalid_type(void **state)
{
    (void)state;
    static const char *const strings[] = {"event_id", "event_name", "user_id"};
    static const char *const not_strings[] = {"42", "true", "null", "{}", "[\"a\"]"};
    for (size_t i = 0; i < 3; i++)
        for (size_t k = 0; k < sizeof not_strings / sizeof not_strings[0]; k++)
            map_fail_with(strings[i], not_strings[k], TLY_FAIL_INVALID_TYPE, strings[i]);
    map_fail_with("timestamp", "true", TLY_FAIL_INVALID_TYPE, "timestamp");
    map_fail_with("timestamp", "null", TLY_FAIL_INVALID_TYPE, "timestamp");
    map_fail_with("timestamp", "{}", TLY_FAIL_INVALID_TYPE, "timestamp");
    map_fail_with("timestamp", "[1717243200]", TLY_FAIL_INVALID_TYPE, "timestamp");
    map_fail_with("event_properties", "[]", TLY_FAIL_INVALID_TYPE, "event_properties");
    map_fail_with("event_properties", "null", TLY_FAIL_INVALID_TYPE, "event_properties");
    map_fail_with("event_properties", "\"{}\"", TLY_FAIL_INVALID_TYPE, "event_properties");
    map_fail_with("event_properties", "7", TLY_FAIL_INVALID_TYPE, "event_properties");
    /* An item that is not an object at all. */
    expect_map_fail("[1]", TLY_FAIL_INVALID_TYPE, "");
    expect_map_fail("\"event\"", TLY_FAIL_INVALID_TYPE, "");
    expect_map_fail("null", TLY_FAIL_INVALID_TYPE, "");
}

static void test_map_invalid_timestamp(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\"\"",
        "\"yesterday\"",
        "\"2024-06-01T12:00:00\"",  /* no offset */
        "\"2024-13-01T12:00:00Z\"", /* month 13 */
        "\"2024-02-30T12:00:00Z\"", /* Feb 30 */
        "\"2024-06-01T24:00:00Z\"", /* hour 24 */
        "\"2024-06-01T12:00:60Z\"", /* second 60 */
        "\"1969-12-31T23:59:59Z\"", /* before 1970 */
        "\"2024-06-01T12:00:00+24:00\"",
        "-1",
        "-1717243200",
        "1e300",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        map_fail_with("timestamp", bad[i], TLY_FAIL_INVALID_TIMESTAMP, "timestamp");
}

static void test_map_too_large(void **state)
{
    (void)state;
    static const struct {
        const char *field;
        size_t max;
    } limits[] = {
        {"event_id", TLY_EVENT_ID_MAX},
        {"event_name", TLY_EVENT_NAME_MAX},
        {"user_id", TLY_USER_ID_MAX},
    };
    assert_int_equal(TLY_EVENT_ID_MAX, 128);
    assert_int_equal(TLY_EVENT_NAME_MAX, 256);
    assert_int_equal(TLY_USER_ID_MAX, 256);
    for (size_t i = 0; i < 3; i++) {
        for (size_t n = limits[i].max; n <= limits[i].max + 1; n++) {
            char *v = malloc(n + 3);
            assert_non_null(v);
            v[0] = '"';
            memset(v + 1, 'x', n);
            v[n + 1] = '"';
            v[n + 2] = '\0';
            char *body = event_with(limits[i].field, v);
            if (n == limits[i].max) {
                /* At the limit: fine, and the value comes through whole. */
                struct tly_items it;
                split_ok(TLY_KIND_SINGLE, body, &it);
                struct tly_record r = record_of(TLY_KIND_SINGLE, body);
                struct tly_event ev;
                struct tly_failure f;
                if (server()->map(it.item[0], &r, NULL, &ev, &f) != 0)
                    fail_msg("%s of %zu bytes refused: %s", limits[i].field, n, f.message);
                tly_items_free(&it);
            } else {
                expect_map_fail(body, TLY_FAIL_TOO_LARGE, limits[i].field);
            }
            free(body);
            free(v);
        }
    }
    /* The limit is in bytes, not characters: 64 × "é" is 128 bytes, 65 is
     * 130. */
    struct tly_buf b;
    tly_buf_init(&b, 0);
    assert_int_equal(tly_buf_puts(&b, "\""), 0);
    for (int k = 0; k < 65; k++)
        assert_int_equal(tly_buf_puts(&b, "\xc3\xa9"), 0);
    assert_int_equal(tly_buf_puts(&b, "\""), 0);
    assert_int_equal(tly_buf_append(&b, "", 1), 0);
    map_fail_with("event_id", b.data, TLY_FAIL_TOO_LARGE, "event_id");
    tly_buf_free(&b);
}

static void test_map_items_of_a_batch(void **state)
{
    (void)state;
    /* Each item of a batch is judged on its own; neighbours don't matter. */
    const char *body = "{\"events\":["
                       "{\"event_id\":\"ok-0\",\"event_name\":\"n\",\"user_id\":\"u\","
                       "\"timestamp\":1717243100,\"event_properties\":{}},"
                       "{\"event_id\":\"bad-1\",\"event_name\":\"n\","
                       "\"timestamp\":1717243100,\"event_properties\":{}},"
                       "{\"event_id\":\"bad-2\",\"event_name\":\"n\",\"user_id\":\"u\","
                       "\"timestamp\":\"soon\",\"event_properties\":{}},"
                       "{\"event_id\":\"ok-3\",\"event_name\":\"n\",\"user_id\":\"u\","
                       "\"timestamp\":1717243100,\"event_properties\":{\"a\":[1]}},"
                       "7]}";
    struct tly_items it;
    split_ok(TLY_KIND_BATCH, body, &it);
    assert_int_equal(it.n, 5);
    struct tly_record r = record_of(TLY_KIND_BATCH, body);
    static const struct {
        int reason;
        const char *field, *id;
    } want[] = {
        {0, "", "ok-0"},
        {TLY_FAIL_MISSING_FIELD, "user_id", "bad-1"},
        {TLY_FAIL_INVALID_TIMESTAMP, "timestamp", "bad-2"},
        {0, "", "ok-3"},
        {TLY_FAIL_INVALID_TYPE, "", NULL},
    };
    for (size_t i = 0; i < 5; i++) {
        struct tly_event ev;
        struct tly_failure f;
        memset(&f, 0, sizeof f);
        int rc = server()->map(it.item[i], &r, NULL, &ev, &f);
        if (want[i].reason == 0) {
            assert_int_equal(rc, 0);
            assert_string_equal(ev.event_id, want[i].id);
        } else {
            assert_int_equal(rc, -1);
            assert_int_equal(f.reason, want[i].reason);
            assert_string_equal(f.field, want[i].field);
        }
        const char *id = server()->event_id_of(it.item[i]);
        if (want[i].id == NULL)
            assert_null(id);
        else
            assert_string_equal(id, want[i].id);
    }
    tly_items_free(&it);
}

/* ---- event_id_of ---- */

static void test_event_id_of(void **state)
{
    (void)state;
    static const struct {
        const char *json, *id;
    } cases[] = {
        {"{\"event_id\":\"abc\"}", "abc"},
        {"{\"event_id\":\"x\",\"user_id\":5}", "x"}, /* the rest of the item may be bad */
        {"{\"event_id\":\"\"}", NULL},
        {"{\"event_id\":12}", NULL},
        {"{\"event_id\":null}", NULL},
        {"{\"event_id\":[\"abc\"]}", NULL},
        {"{\"id\":\"abc\"}", NULL},
        {"{\"EVENT_ID\":\"abc\"}", NULL},
        {"{}", NULL},
        {"[\"event_id\"]", NULL},
        {"\"event_id\"", NULL},
        {"42", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tly_items it;
        split_ok(TLY_KIND_SINGLE, cases[i].json, &it);
        const char *id = server()->event_id_of(it.item[0]);
        if (cases[i].id == NULL && id != NULL)
            fail_msg("%s: event_id_of gave '%s', expected NULL", cases[i].json, id);
        if (cases[i].id != NULL && (id == NULL || strcmp(id, cases[i].id) != 0))
            fail_msg("%s: event_id_of gave %s, expected '%s'", cases[i].json, id ? id : "NULL",
                     cases[i].id);
        tly_items_free(&it);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adapter_registry),
        cmocka_unit_test(test_reason_names),
        cmocka_unit_test(test_split_single),
        cmocka_unit_test(test_split_batch_in_order),
        cmocka_unit_test(test_split_items_reusable),
        cmocka_unit_test(test_split_invalid_json),
        cmocka_unit_test(test_split_checked_body_same_verdicts),
        cmocka_unit_test(test_split_batch_envelope_errors),
        cmocka_unit_test(test_split_batch_keeps_bad_items),
        cmocka_unit_test(test_map_good_item),
        cmocka_unit_test(test_map_record_fields_win),
        cmocka_unit_test(test_map_timestamp_forms),
        cmocka_unit_test(test_map_missing_field),
        cmocka_unit_test(test_map_invalid_type),
        cmocka_unit_test(test_map_invalid_timestamp),
        cmocka_unit_test(test_map_too_large),
        cmocka_unit_test(test_map_items_of_a_batch),
        cmocka_unit_test(test_event_id_of),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
