/*
 * Unit tests for the server API's structural checks (sources/server.h) and
 * the JSON entry point they sit behind (core/json.h, tly_json_parse).
 *
 * Events: a valid event passes and yields its timestamp; each required field
 * missing, of the wrong JSON type, empty or over its byte limit is rejected
 * with err.field naming it and a message saying what is wrong; the accepted
 * and rejected timestamp forms. tly_json_parse: error positions, trailing
 * data, surrounding whitespace, the empty body. The batch envelope: shape,
 * and the 1..500 item bounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/json.h"
#include "sources/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VALID_EVENT                                                                                \
    "{\"event_id\":\"e-1\",\"event_name\":\"signup\",\"user_id\":\"u-1\","                         \
    "\"timestamp\":\"2024-01-02T03:04:05.678Z\",\"event_properties\":{\"plan\":\"pro\"}}"
#define VALID_TS 1704164645678LL /* 2024-01-02T03:04:05.678Z */

static const char *const FIELDS[] = {"event_id", "event_name", "user_id", "timestamp",
                                     "event_properties"};

static cJSON *parse_ok(const char *text)
{
    struct tly_error err = {{0}};
    cJSON *v = tly_json_parse(text, strlen(text), &err);
    if (v == NULL)
        fail_msg("tly_json_parse(%s): %s", text, err.msg);
    return v;
}

static cJSON *valid_event(void)
{
    return parse_ok(VALID_EVENT);
}

/* Runs the check and expects TLY_EINVAL on `field`, with n1 and n2 (when not
 * NULL) in the message. */
static void expect_reject(const cJSON *ev, const char *field, const char *n1, const char *n2)
{
    struct tly_error err = {{0}};
    int64_t ts = -42;
    int rc = tly_server_event_check(ev, &ts, &err);
    char text[160] = "(null)";
    char *printed = ev ? cJSON_PrintUnformatted(ev) : NULL;
    if (printed != NULL)
        snprintf(text, sizeof text, "%s", printed);
    cJSON_free(printed);
    if (rc != TLY_EINVAL)
        fail_msg("%s: rc %d, expected TLY_EINVAL on %s", text, rc, field);
    if (strcmp(err.field, field) != 0)
        fail_msg("%s: field '%s', expected '%s' (msg: %s)", text, err.field, field, err.msg);
    if (n1 != NULL && strstr(err.msg, n1) == NULL)
        fail_msg("%s: message '%s' lacks '%s'", text, err.msg, n1);
    if (n2 != NULL && strstr(err.msg, n2) == NULL)
        fail_msg("%s: message '%s' lacks '%s'", text, err.msg, n2);
}

static void expect_accept(const cJSON *ev, int64_t want_ts)
{
    struct tly_error err = {{0}};
    int64_t ts = -42;
    int rc = tly_server_event_check(ev, &ts, &err);
    if (rc != 0) {
        char text[160] = "";
        char *printed = cJSON_PrintUnformatted(ev);
        if (printed != NULL)
            snprintf(text, sizeof text, "%s", printed);
        cJSON_free(printed);
        fail_msg("%s: rejected (%d) %s: %s", text, rc, err.field, err.msg);
    }
    if (ts != want_ts)
        fail_msg("ts_ms %lld, expected %lld", (long long)ts, (long long)want_ts);
}

/* A valid event with `field` replaced by the JSON value `json`. */
static cJSON *event_with(const char *field, const char *json)
{
    cJSON *ev = valid_event();
    cJSON *v = parse_ok(json);
    assert_true(cJSON_ReplaceItemInObjectCaseSensitive(ev, field, v));
    return ev;
}

static cJSON *event_with_string(const char *field, const char *s)
{
    cJSON *ev = valid_event();
    cJSON *v = cJSON_CreateString(s);
    assert_non_null(v);
    assert_true(cJSON_ReplaceItemInObjectCaseSensitive(ev, field, v));
    return ev;
}

/* --- one event ------------------------------------------------------------ */

static void test_valid_event(void **state)
{
    (void)state;
    cJSON *ev = valid_event();
    expect_accept(ev, VALID_TS);
    /* ts_ms and err may be NULL. */
    assert_int_equal(tly_server_event_check(ev, NULL, NULL), 0);
    /* Empty properties are fine; extra fields are not the check's business. */
    cJSON_Delete(ev);
    ev = event_with("event_properties", "{}");
    expect_accept(ev, VALID_TS);
    cJSON_Delete(ev);
}

static void test_missing_fields(void **state)
{
    (void)state;
    for (size_t i = 0; i < 5; i++) {
        cJSON *ev = valid_event();
        cJSON_DeleteItemFromObjectCaseSensitive(ev, FIELDS[i]);
        expect_reject(ev, FIELDS[i], FIELDS[i], "missing");
        cJSON_Delete(ev);
    }
    /* Names are case-sensitive: EVENT_ID is not event_id. */
    cJSON *ev = valid_event();
    cJSON_DeleteItemFromObjectCaseSensitive(ev, "event_id");
    cJSON_AddStringToObject(ev, "EVENT_ID", "e-1");
    expect_reject(ev, "event_id", "missing", NULL);
    cJSON_Delete(ev);
    /* And the error path does not need err. */
    ev = parse_ok("{}");
    assert_int_equal(tly_server_event_check(ev, NULL, NULL), TLY_EINVAL);
    cJSON_Delete(ev);
}

static void test_wrong_types(void **state)
{
    (void)state;
    static const struct {
        const char *field, *json, *expected, *got;
    } cases[] = {
        {"event_id", "5", "expected string", "got number"},
        {"event_id", "null", "expected string", "got null"},
        {"event_id", "true", "expected string", "got boolean"},
        {"event_id", "[\"e\"]", "expected string", "got array"},
        {"event_id", "{}", "expected string", "got object"},
        {"event_name", "1.5", "expected string", "got number"},
        {"event_name", "false", "expected string", "got boolean"},
        {"user_id", "42", "expected string", "got number"},
        {"user_id", "{\"id\":1}", "expected string", "got object"},
        {"timestamp", "true", "expected ISO-8601 string or epoch number", "got boolean"},
        {"timestamp", "null", "expected ISO-8601 string or epoch number", "got null"},
        {"timestamp", "{}", "expected ISO-8601 string or epoch number", "got object"},
        {"timestamp", "[1704164645]", "expected ISO-8601 string or epoch number", "got array"},
        {"event_properties", "[]", "expected object", "got array"},
        {"event_properties", "\"x\"", "expected object", "got string"},
        {"event_properties", "null", "expected object", "got null"},
        {"event_properties", "7", "expected object", "got number"},
        {"event_properties", "true", "expected object", "got boolean"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *ev = event_with(cases[i].field, cases[i].json);
        expect_reject(ev, cases[i].field, cases[i].expected, cases[i].got);
        cJSON_Delete(ev);
    }
}

static void test_not_an_object(void **state)
{
    (void)state;
    static const char *const values[] = {"[]", "\"event\"", "1", "null", "[{}]"};
    static const char *const types[] = {"array", "string", "number", "null", "array"};
    for (size_t i = 0; i < 5; i++) {
        cJSON *v = parse_ok(values[i]);
        expect_reject(v, "", "expected a JSON object", types[i]);
        cJSON_Delete(v);
    }
    expect_reject(NULL, "", "expected a JSON object", NULL);
}

static void test_empty_strings(void **state)
{
    (void)state;
    for (size_t i = 0; i < 3; i++) {
        cJSON *ev = event_with_string(FIELDS[i], "");
        expect_reject(ev, FIELDS[i], FIELDS[i], "empty");
        cJSON_Delete(ev);
    }
    cJSON *ev = event_with_string("timestamp", "");
    expect_reject(ev, "timestamp", "empty", NULL);
    cJSON_Delete(ev);
}

static void check_length_limit(const char *field, size_t max)
{
    char *s = malloc(max + 2);
    assert_non_null(s);
    memset(s, 'x', max + 1);
    s[max] = '\0';
    cJSON *ev = event_with_string(field, s);
    expect_accept(ev, VALID_TS);
    cJSON_Delete(ev);

    s[max] = 'x';
    s[max + 1] = '\0';
    ev = event_with_string(field, s);
    char want[64];
    snprintf(want, sizeof want, "%zu bytes, at most %zu", max + 1, max);
    expect_reject(ev, field, field, want);
    cJSON_Delete(ev);
    free(s);

    /* The limit is in bytes: max/2 two-byte characters fit, one more does not. */
    size_t k = max / 2;
    s = malloc(2 * (k + 1) + 1);
    assert_non_null(s);
    for (size_t i = 0; i < k; i++)
        memcpy(s + 2 * i, "\xc3\xa9", 2);
    s[2 * k] = '\0';
    ev = event_with_string(field, s);
    expect_accept(ev, VALID_TS);
    cJSON_Delete(ev);
    memcpy(s + 2 * k, "\xc3\xa9", 3);
    ev = event_with_string(field, s);
    expect_reject(ev, field, "bytes", NULL);
    cJSON_Delete(ev);
    free(s);
}

static void test_length_limits(void **state)
{
    (void)state;
    check_length_limit("event_id", 128);
    check_length_limit("event_name", 256);
    check_length_limit("user_id", 256);
    assert_int_equal(TLY_EVENT_ID_MAX, 128);
    assert_int_equal(TLY_EVENT_NAME_MAX, 256);
    assert_int_equal(TLY_USER_ID_MAX, 256);
}

/* A JSON string may carry U+0000 ("\u0000"); cJSON decodes it to a NUL byte
 * and check_string measures the value with strlen, so everything after the
 * NUL escapes the byte limit (the raw body, which is what the log stores,
 * keeps it all). Two distinct ids "a\u0000x" and "a\u0000y" also look the
 * same to anything that reads valuestring as a C string. */
static void expect_parse_error(const char *text, size_t len, const char *want);

/* Regression: cJSON decodes \u0000 to a NUL byte and the length checks use
 * strlen, so "a\u0000" + 138 x passed as a 1-byte event_id. Such a string
 * is now refused by the JSON check, at the byte of the escape. */
static void test_nul_escape_cannot_bypass_length_limit(void **state)
{
    (void)state;
    static const char *const fields[] = {"event_id", "event_name", "user_id"};
    static const size_t max[] = {TLY_EVENT_ID_MAX, TLY_EVENT_NAME_MAX, TLY_USER_ID_MAX};
    for (size_t f = 0; f < 3; f++) {
        char body[600];
        int n = snprintf(body, sizeof body, "{\"%s\":\"a\\u0000", fields[f]);
        size_t escape_at = (size_t)n - 6;
        memset(body + n, 'x', max[f] + 10);
        snprintf(body + n + max[f] + 10, sizeof body - (size_t)n - max[f] - 10, "\"}");
        char want[120];
        snprintf(want, sizeof want,
                 "invalid JSON at byte %zu: \\u0000 (NUL) is not allowed in strings", escape_at);
        expect_parse_error(body, strlen(body), want);
    }
}

static void test_timestamps_accepted(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int64_t ms;
    } cases[] = {
        {"\"2024-01-02T03:04:05.678Z\"", VALID_TS},
        {"\"2024-01-02T03:04:05Z\"", 1704164645000LL},
        {"\"2024-01-02T05:04:05.678+02:00\"", VALID_TS},
        {"\"2024-01-01T22:04:05.678-0500\"", VALID_TS},
        {"\"2024-01-02 03:04:05.678z\"", VALID_TS},
        {"\"2024-01-02T03:04Z\"", 1704164640000LL},
        {"\"1970-01-01T00:00:00Z\"", 0},
        {"1704164645", 1704164645000LL},     /* epoch seconds */
        {"1704164645.678", VALID_TS},        /* seconds with a fraction */
        {"1704164645678", VALID_TS},         /* epoch milliseconds */
        {"\"1704164645\"", 1704164645000LL}, /* digits in a string */
        {"\"1704164645678\"", VALID_TS},
        {"0", 0},
        {"99999999999", 99999999999000LL}, /* last value read as seconds */
        {"100000000000", 100000000000LL},  /* first value read as ms */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *ev = event_with("timestamp", cases[i].json);
        expect_accept(ev, cases[i].ms);
        cJSON_Delete(ev);
    }
}

static void test_timestamps_rejected(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "\"2024-01-02\"",                /* a date alone */
        "\"2024-01-02T03:04:05\"",       /* no offset */
        "\"2024-01-02T03:04:05.678\"",   /* no offset */
        "\"2024-13-01T00:00:00Z\"",      /* month 13 */
        "\"2023-02-29T00:00:00Z\"",      /* not a leap year */
        "\"2024-01-02T24:00:00Z\"",      /* hour 24 */
        "\"2024-01-02T03:60:00Z\"",      /* minute 60 */
        "\"2024-01-02T03:04:60Z\"",      /* second 60 */
        "\"2024-01-02T03:04:05+24:00\"", /* offset out of range */
        "\"1969-12-31T23:59:59Z\"",      /* before 1970 */
        "\"yesterday\"",
        "\"2024/01/02T03:04:05Z\"",
        "\"2024-01-02T03:04:05Zjunk\"",
        "\"1704164645x\"",
        "\"-1\"",
        "\"1e9\"",
        "-1",
        "1e20", /* after year 9999 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *ev = event_with("timestamp", cases[i]);
        expect_reject(ev, "timestamp", "timestamp", NULL);
        cJSON_Delete(ev);
    }
}

/* --- tly_json_parse ------------------------------------------------------- */

static void expect_parse_error(const char *text, size_t len, const char *want)
{
    struct tly_error err = {{0}};
    cJSON *v = tly_json_parse(text, len, &err);
    if (v != NULL) {
        cJSON_Delete(v);
        fail_msg("'%.*s' parsed; expected \"%s\"", (int)len, text, want);
    }
    /* `want` is the message or its beginning ("invalid JSON at byte N"),
     * which a reason follows after ": ". */
    size_t wl = strlen(want);
    if (strncmp(err.msg, want, wl) != 0 || (err.msg[wl] != '\0' && strncmp(err.msg + wl, ": ", 2)))
        fail_msg("'%.*s': \"%s\", expected \"%s\"", (int)len, text, err.msg, want);
    assert_string_equal(err.field, "");
}

static void test_json_invalid_positions(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t pos;
    } cases[] = {
        {"{\"a\":}", 5},          /* value expected at '}' */
        {"{\"a\" 1}", 5},         /* ':' expected, '1' found */
        {"[1,2,]", 5},            /* trailing comma in an array */
        {"[1 2]", 3},             /* ',' expected */
        {"{\"a\":1 \"b\":2}", 7}, /* ',' expected */
        {"@", 0},
        {"  @", 2},
        {"\n\n{\"a\":}", 7},
        {"{\"a\":tru}", 5},  /* at the start of the bad literal */
        {"{\"a\":[1,2}", 9}, /* '}' closing an array */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char want[64];
        snprintf(want, sizeof want, "invalid JSON at byte %zu", cases[i].pos);
        expect_parse_error(cases[i].text, strlen(cases[i].text), want);
    }
}

/* An object member that does not start with '"' is reported one byte past
 * the offending byte: cJSON's parse_string has already stepped over it when
 * it fails, and tly_json_parse passes that position on. */
static void test_json_error_pos_bad_object_key(void **state)
{
    (void)state;
    expect_parse_error("{a:1}", 5, "invalid JSON at byte 1");
    expect_parse_error("{\"a\":1,2}", 9, "invalid JSON at byte 7");
    expect_parse_error("{\"a\":1, 'b':2}", 14, "invalid JSON at byte 8");
}

/* Input that simply stops is reported inside the text (cJSON clamps its
 * position to len - 1, or less) rather than at its end, byte len. */
static void test_json_error_pos_truncated(void **state)
{
    (void)state;
    expect_parse_error("[1,2", 4, "invalid JSON at byte 4");
    expect_parse_error("{", 1, "invalid JSON at byte 1");
    expect_parse_error("{\"a\":1", 6, "invalid JSON at byte 6");
}

static void test_json_trailing_data(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t pos;
    } cases[] = {
        {"{}x", 2},     {"{} x", 3},           {"{\"a\":1}}", 7}, {"12 34", 3},
        {"{}\n\n,", 4}, {"{\"a\":1}   x", 10}, {"[]{}", 2},       {"\"s\" \"t\"", 4},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char want[80];
        snprintf(want, sizeof want,
                 "invalid JSON at byte %zu: unexpected data after the JSON value", cases[i].pos);
        expect_parse_error(cases[i].text, strlen(cases[i].text), want);
    }
    /* A NUL inside len is data, not the end. */
    expect_parse_error("{}\0", 3, "invalid JSON at byte 2: unexpected data after the JSON value");
}

static void test_json_whitespace_ok(void **state)
{
    (void)state;
    static const char *const ok[] = {"  {}  \n", "\r\n\t{\"a\":1}\r\n\t ", "{}", " [ 1 , 2 ] "};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        struct tly_error err = {{0}};
        cJSON *v = tly_json_parse(ok[i], strlen(ok[i]), &err);
        if (v == NULL)
            fail_msg("'%s' rejected: %s", ok[i], err.msg);
        cJSON_Delete(v);
    }
    cJSON *v = parse_ok("\n {\"a\": 1}\n");
    assert_true(cJSON_IsObject(v));
    assert_int_equal(cJSON_GetObjectItemCaseSensitive(v, "a")->valueint, 1);
    cJSON_Delete(v);
}

static void test_json_parses_only_len_bytes(void **state)
{
    (void)state;
    /* The first 7 bytes are a whole value; the rest must not be read. */
    char buf[] = "{\"a\":1}\0garbage";
    struct tly_error err = {{0}};
    cJSON *v = tly_json_parse(buf, 7, &err);
    assert_non_null(v);
    cJSON_Delete(v);
    /* A prefix of a value is not a value. */
    char cut[] = "{\"a\":1}";
    cut[4] = '\0';
    v = tly_json_parse(cut, 4, &err);
    assert_null(v);
    assert_non_null(strstr(err.msg, "invalid JSON at byte"));
}

static void test_json_empty_body(void **state)
{
    (void)state;
    expect_parse_error("", 0, "empty body: expected a JSON object");
    /* err may be NULL. */
    assert_null(tly_json_parse("", 0, NULL));
    assert_null(tly_json_parse("{", 1, NULL));
}

/* --- batch envelope ------------------------------------------------------- */

static void expect_envelope_reject(const char *json, const char *field, const char *n1,
                                   const char *n2)
{
    cJSON *root = parse_ok(json);
    const cJSON *events = (const cJSON *)0x1;
    struct tly_error err = {{0}};
    int rc = tly_server_batch_envelope(root, &events, &err);
    if (rc != TLY_EINVAL)
        fail_msg("%.60s: rc %d, expected TLY_EINVAL", json, rc);
    assert_ptr_equal(events, (const cJSON *)0x1); /* untouched on error */
    if (strcmp(err.field, field) != 0)
        fail_msg("%.60s: field '%s', expected '%s'", json, err.field, field);
    if (n1 && !strstr(err.msg, n1))
        fail_msg("%.60s: '%s' lacks '%s'", json, err.msg, n1);
    if (n2 && !strstr(err.msg, n2))
        fail_msg("%.60s: '%s' lacks '%s'", json, err.msg, n2);
    cJSON_Delete(root);
}

static char *batch_of(int n)
{
    size_t cap = 32 + (size_t)n * (sizeof VALID_EVENT + 1);
    char *s = malloc(cap);
    assert_non_null(s);
    size_t len = (size_t)snprintf(s, cap, "{\"events\":[");
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(s + len, cap - len, "%s%s", i ? "," : "", VALID_EVENT);
    snprintf(s + len, cap - len, "]}");
    return s;
}

static void test_batch_envelope_shape(void **state)
{
    (void)state;
    expect_envelope_reject("[]", "", "expected a JSON object", "got array");
    expect_envelope_reject("\"events\"", "", "expected a JSON object", "got string");
    expect_envelope_reject("{}", "events", "events", "missing");
    expect_envelope_reject("{\"Events\":[{}]}", "events", "missing", NULL);
    expect_envelope_reject("{\"events\":{}}", "events", "expected array", "got object");
    expect_envelope_reject("{\"events\":\"x\"}", "events", "expected array", "got string");
    expect_envelope_reject("{\"events\":null}", "events", "expected array", "got null");
    expect_envelope_reject("{\"events\":[]}", "events", "must not be empty", NULL);

    /* Items are not checked by the envelope. */
    cJSON *root = parse_ok("{\"events\":[1]}");
    const cJSON *events = NULL;
    assert_int_equal(tly_server_batch_envelope(root, &events, NULL), 0);
    assert_ptr_equal(events, cJSON_GetObjectItemCaseSensitive(root, "events"));
    cJSON_Delete(root);
}

static void test_batch_envelope_bounds(void **state)
{
    (void)state;
    assert_int_equal(TLY_BATCH_MAX, 500);
    char *s = batch_of(500);
    cJSON *root = parse_ok(s);
    const cJSON *events = NULL;
    struct tly_error err = {{0}};
    assert_int_equal(tly_server_batch_envelope(root, &events, &err), 0);
    assert_non_null(events);
    assert_int_equal(cJSON_GetArraySize(events), 500);
    /* And every item of it is a valid event. */
    const cJSON *it;
    cJSON_ArrayForEach(it, events) expect_accept(it, VALID_TS);
    cJSON_Delete(root);
    free(s);

    s = batch_of(1);
    root = parse_ok(s);
    assert_int_equal(tly_server_batch_envelope(root, &events, &err), 0);
    assert_int_equal(cJSON_GetArraySize(events), 1);
    cJSON_Delete(root);
    free(s);

    s = batch_of(501);
    expect_envelope_reject(s, "events", "501 items", "at most 500");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_event),
        cmocka_unit_test(test_missing_fields),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_not_an_object),
        cmocka_unit_test(test_empty_strings),
        cmocka_unit_test(test_length_limits),
        cmocka_unit_test(test_nul_escape_cannot_bypass_length_limit),
        cmocka_unit_test(test_timestamps_accepted),
        cmocka_unit_test(test_timestamps_rejected),
        cmocka_unit_test(test_json_invalid_positions),
        cmocka_unit_test(test_json_error_pos_bad_object_key),
        cmocka_unit_test(test_json_error_pos_truncated),
        cmocka_unit_test(test_json_trailing_data),
        cmocka_unit_test(test_json_whitespace_ok),
        cmocka_unit_test(test_json_parses_only_len_bytes),
        cmocka_unit_test(test_json_empty_body),
        cmocka_unit_test(test_batch_envelope_shape),
        cmocka_unit_test(test_batch_envelope_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
