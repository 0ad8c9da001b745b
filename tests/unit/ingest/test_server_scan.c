/*
 * Unit tests for the zero-allocation server API scanner
 * (tly_server_scan_event, tly_server_scan_batch in sources/server.h).
 *
 * Each rule, with the answer pinned and compared with the cJSON reference
 * (tly_json_parse + tly_server_event_check / tly_server_batch_envelope),
 * which must say exactly the same: required fields, JSON types, lengths in
 * decoded bytes, timestamps (strings, escaped strings, numbers, long
 * forms), event_properties, the root's type, syntax errors and their byte,
 * nesting depth, a syntax error winning over a field error, duplicate and
 * escaped keys, and for batches the envelope, the 1..500 bounds and the
 * verdict of every item in order.
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

#define TS    "\"2024-01-02T03:04:05.678Z\""
#define TS_MS 1704164645678LL
#define PROPS "{\"plan\":\"pro\",\"n\":[1,2,{\"x\":null}]}"
#define ID    "\"e-1\""
#define NAME  "\"signup\""
#define USER  "\"u-1\""
#define EVENT5(id, name, user, ts, props)                                                          \
    "{\"event_id\":" id ",\"event_name\":" name ",\"user_id\":" user ",\"timestamp\":" ts          \
    ",\"event_properties\":" props "}"
#define VALID EVENT5(ID, NAME, USER, TS, PROPS)

/* The reference verdict on one event body. */
static int reference(const char *body, size_t len, int64_t *ts, struct tly_error *err)
{
    cJSON *root = tly_json_parse(body, len, err);
    if (root == NULL)
        return TLY_EINVAL;
    int rc = tly_server_event_check(root, ts, err);
    cJSON_Delete(root);
    return rc;
}

/* Scans `len` bytes of `text` (copied to a buffer of exactly that size),
 * checks that the reference agrees, and returns the scanner's verdict. */
static int scan_n(const char *text, size_t len, int64_t *ts, struct tly_error *err)
{
    char *body = malloc(len ? len : 1);
    assert_non_null(body);
    memcpy(body, text, len);
    struct tly_error ref_err = {{0}};
    int64_t ref_ts = -1;
    int ref_rc = reference(text, len, &ref_ts, &ref_err);
    memset(err, 0, sizeof *err);
    *ts = -1;
    int rc = tly_server_scan_event(body, len, ts, err);
    free(body);
    if (rc != ref_rc)
        fail_msg("%.*s: scan %d, reference %d (%s: %s)", (int)len, text, rc, ref_rc, ref_err.field,
                 ref_err.msg);
    if (rc != 0 && (strcmp(err->field, ref_err.field) != 0 || strcmp(err->msg, ref_err.msg) != 0))
        fail_msg("%.*s: scan says %s: %s; reference %s: %s", (int)len, text, err->field, err->msg,
                 ref_err.field, ref_err.msg);
    if (rc == 0 && *ts != ref_ts)
        fail_msg("%.*s: ts %lld, reference %lld", (int)len, text, (long long)*ts,
                 (long long)ref_ts);
    return rc;
}

static void accept(const char *body, int64_t want_ts)
{
    struct tly_error err;
    int64_t ts;
    if (scan_n(body, strlen(body), &ts, &err) != 0)
        fail_msg("%s: rejected: %s: %s", body, err.field, err.msg);
    assert_int_equal(ts, want_ts);
}

static void reject(const char *body, const char *field, const char *msg)
{
    struct tly_error err;
    int64_t ts;
    if (scan_n(body, strlen(body), &ts, &err) != TLY_EINVAL)
        fail_msg("%s: accepted, expected %s: %s", body, field, msg);
    if (strcmp(err.field, field) != 0 || strcmp(err.msg, msg) != 0)
        fail_msg("%s: got %s: %s; expected %s: %s", body, err.field, err.msg, field, msg);
}

static void test_valid_event(void **state)
{
    (void)state;
    accept(VALID, TS_MS);
    accept("\r\n " VALID " \t", TS_MS);
    accept(EVENT5(ID, NAME, USER, TS, "{}"), TS_MS);
    accept("{\"extra\":[1,{\"event_id\":5}],\"event_id\":\"a\",\"event_name\":\"b\","
           "\"user_id\":\"c\",\"timestamp\":0,\"event_properties\":{},\"more\":true}",
           0);
    /* ts_ms and err may be NULL. */
    assert_int_equal(tly_server_scan_event(VALID, strlen(VALID), NULL, NULL), 0);
}

static void test_missing_fields(void **state)
{
    (void)state;
    reject("{}", "event_id", "event_id: required field is missing");
    reject("{\"event_id\":\"a\"}", "event_name", "event_name: required field is missing");
    reject("{\"event_id\":\"a\",\"event_name\":\"b\"}", "user_id",
           "user_id: required field is missing");
    reject("{\"event_id\":\"a\",\"event_name\":\"b\",\"user_id\":\"c\"}", "timestamp",
           "timestamp: required field is missing");
    reject("{\"event_id\":\"a\",\"event_name\":\"b\",\"user_id\":\"c\",\"timestamp\":1}",
           "event_properties", "event_properties: required field is missing (send {} when none)");
    /* The order of the checks, not of the text, decides which is named. */
    reject("{\"event_properties\":{},\"user_id\":1}", "event_id",
           "event_id: required field is missing");
}

static void test_wrong_types(void **state)
{
    (void)state;
    reject(EVENT5("7", NAME, USER, TS, PROPS), "event_id", "event_id: expected string, got number");
    reject(EVENT5(ID, "null", USER, TS, PROPS), "event_name",
           "event_name: expected string, got null");
    reject(EVENT5(ID, NAME, "[\"u\"]", TS, PROPS), "user_id",
           "user_id: expected string, got array");
    reject(EVENT5(ID, NAME, "{}", TS, PROPS), "user_id", "user_id: expected string, got object");
    reject(EVENT5(ID, NAME, "false", TS, PROPS), "user_id",
           "user_id: expected string, got boolean");
    reject(EVENT5(ID, NAME, USER, "true", PROPS), "timestamp",
           "timestamp: expected ISO-8601 string or epoch number, got boolean");
    reject(EVENT5(ID, NAME, USER, "{}", PROPS), "timestamp",
           "timestamp: expected ISO-8601 string or epoch number, got object");
    reject(EVENT5(ID, NAME, USER, TS, "[]"), "event_properties",
           "event_properties: expected object, got array");
    reject(EVENT5(ID, NAME, USER, TS, "\"{}\""), "event_properties",
           "event_properties: expected object, got string");
    reject(EVENT5(ID, NAME, USER, TS, "null"), "event_properties",
           "event_properties: expected object, got null");
}

static void test_root_must_be_an_object(void **state)
{
    (void)state;
    reject("[" VALID "]", "", "expected a JSON object, got array");
    reject("\"x\"", "", "expected a JSON object, got string");
    reject("-1.5e3", "", "expected a JSON object, got number");
    reject(" null ", "", "expected a JSON object, got null");
    reject("true", "", "expected a JSON object, got boolean");
}

/* A string of `n` copies of `unit` as a JSON string literal. */
static char *repeat(const char *unit, int n)
{
    size_t u = strlen(unit);
    char *s = malloc(u * (size_t)n + 3);
    assert_non_null(s);
    s[0] = '"';
    for (int i = 0; i < n; i++)
        memcpy(s + 1 + u * (size_t)i, unit, u);
    memcpy(s + 1 + u * (size_t)n, "\"", 2);
    return s;
}

static void with_id(const char *id, const char *field, const char *msg)
{
    char body[2048];
    snprintf(body, sizeof body, EVENT5("%s", NAME, USER, TS, PROPS), id);
    if (field == NULL)
        accept(body, TS_MS);
    else
        reject(body, field, msg);
}

static void test_lengths_in_decoded_bytes(void **state)
{
    (void)state;
    with_id("\"\"", "event_id", "event_id: must not be empty");
    char *s = repeat("i", 128);
    with_id(s, NULL, NULL);
    free(s);
    s = repeat("i", 129);
    with_id(s, "event_id", "event_id: 129 bytes, at most 128 allowed");
    free(s);
    /* \u00e9 is 2 bytes once decoded, a surrogate pair 4, \n 1. */
    s = repeat("\\u00e9", 64);
    with_id(s, NULL, NULL);
    free(s);
    s = repeat("\\u00e9", 65);
    with_id(s, "event_id", "event_id: 130 bytes, at most 128 allowed");
    free(s);
    s = repeat("\\ud83d\\ude00", 33);
    with_id(s, "event_id", "event_id: 132 bytes, at most 128 allowed");
    free(s);
    s = repeat("\\n", 129);
    with_id(s, "event_id", "event_id: 129 bytes, at most 128 allowed");
    free(s);
    s = repeat("\\u4e2d", 43); /* 3 bytes each: 129 */
    with_id(s, "event_id", "event_id: 129 bytes, at most 128 allowed");
    free(s);
    /* Raw UTF-8 (or not UTF-8 at all) counts as sent. */
    s = repeat("\xc3\xa9", 65);
    with_id(s, "event_id", "event_id: 130 bytes, at most 128 allowed");
    free(s);
    with_id("\"\xff\xfe\"", NULL, NULL);

    char body[2048];
    s = repeat("n", 257);
    snprintf(body, sizeof body, EVENT5(ID, "%s", USER, TS, PROPS), s);
    reject(body, "event_name", "event_name: 257 bytes, at most 256 allowed");
    snprintf(body, sizeof body, EVENT5(ID, NAME, "%s", TS, PROPS), s);
    reject(body, "user_id", "user_id: 257 bytes, at most 256 allowed");
    free(s);
    s = repeat("n", 256);
    snprintf(body, sizeof body, EVENT5(ID, "%s", "%s", TS, PROPS), s, s);
    accept(body, TS_MS);
    free(s);
}

static void with_ts(const char *ts, int64_t want, const char *msg)
{
    size_t n = strlen(ts) + 256;
    char *body = malloc(n);
    assert_non_null(body);
    snprintf(body, n, EVENT5(ID, NAME, USER, "%s", PROPS), ts);
    if (msg == NULL)
        accept(body, want);
    else
        reject(body, "timestamp", msg);
    free(body);
}

static void test_timestamps(void **state)
{
    (void)state;
    with_ts("\"2026-03-14T14:56:53+05:30\"", 1773480413000LL, NULL);
    with_ts("\"1773480413589\"", 1773480413589LL, NULL);
    with_ts("1773480413", 1773480413000LL, NULL);
    with_ts("1773480413.589", 1773480413589LL, NULL);
    with_ts("1.773480413589E12", 1773480413589LL, NULL);
    with_ts("-0.0", 0, NULL);
    with_ts("0", 0, NULL);
    with_ts("\"2026-03-14T09:26:53\"", 0,
            "timestamp: missing UTC offset (expected 'Z' or \xc2\xb1HH:MM) at byte 19");
    with_ts("\"2026-02-30T00:00:00Z\"", 0, "timestamp: day out of range for the month at byte 8");
    with_ts("\"\"", 0, "timestamp: empty timestamp at byte 0");
    with_ts("-1", 0, "timestamp: epoch time must be a non-negative number");
    with_ts("1e300", 0, "timestamp: epoch time is after year 9999");
    /* Escapes are decoded before the timestamp is parsed. */
    with_ts("\"\\u0032026-03-14T09:26:53.589\\u005a\"", 1773480413589LL, NULL);
    with_ts("\"2026-03-14T09:26:53\\/589Z\"", 0,
            "timestamp: expected 'Z' or \xc2\xb1HH:MM offset at byte 19");
    with_ts("\"2026-03-14T09:26:53.589Z\\n\"", 0,
            "timestamp: unexpected characters after timestamp at byte 24");
}

static void test_long_timestamps(void **state)
{
    (void)state;
    /* Past the scanner's stack buffer: in place, decoded on the heap, or
     * copied for strtod; all as the reference reads them. */
    char ts[1024];
    int n = snprintf(ts, sizeof ts, "\"1773480413.");
    memset(ts + n, '5', 600);
    snprintf(ts + n + 600, sizeof ts - (size_t)n - 600, "\"");
    with_ts(ts, 1773480413555LL, NULL);
    n = snprintf(ts, sizeof ts, "\"\\u0031773480413.");
    memset(ts + n, '5', 600);
    snprintf(ts + n + 600, sizeof ts - (size_t)n - 600, "x\"");
    with_ts(ts, 0, "timestamp: unexpected character in epoch number at byte 611");
    n = snprintf(ts, sizeof ts, "1773480413.");
    memset(ts + n, '0', 600);
    snprintf(ts + n + 600, sizeof ts - (size_t)n - 600, "9e3");
    with_ts(ts, 1773480413000LL, NULL); /* over 1e11: milliseconds */
}

static void test_duplicate_and_escaped_keys(void **state)
{
    (void)state;
    /* The first member of a name counts, as cJSON finds it. */
    reject("{\"event_id\":7,\"event_id\":\"a\",\"event_name\":\"n\",\"user_id\":\"u\","
           "\"timestamp\":0,\"event_properties\":{}}",
           "event_id", "event_id: expected string, got number");
    accept("{\"event_id\":\"a\",\"event_id\":7,\"event_name\":\"n\",\"user_id\":\"u\","
           "\"timestamp\":0,\"event_properties\":{},\"timestamp\":\"bad\"}",
           0);
    /* Keys are compared decoded. */
    accept("{\"\\u0065vent_id\":\"a\",\"event_name\":\"n\",\"user\\u005fid\":\"u\","
           "\"timestamp\":5,\"event_properties\":{}}",
           5000);
    reject("{\"event_id\\u0000\":\"a\"}", "",
           "invalid JSON at byte 10: \\u0000 (NUL) is not allowed in strings");
    reject("{\"Event_id\":\"a\",\"event_name\":\"n\"}", "event_id",
           "event_id: required field is missing");
}

static void test_syntax_errors_win(void **state)
{
    (void)state;
    reject("", "", "empty body: expected a JSON object");
    reject(" \n", "", "invalid JSON at byte 2: unexpected end of input");
    reject("{\"event_id\": \"a\",", "", "invalid JSON at byte 17: unexpected end of input");
    char msg[96];
    snprintf(msg, sizeof msg, "invalid JSON at byte %zu: unexpected data after the JSON value",
             strlen(VALID));
    reject(VALID "x", "", msg);
    reject("{\"event_id\":7,\"x\":[1,2,}", "", "invalid JSON at byte 23: invalid number");
    reject("{\"event_id\":01}", "", "invalid JSON at byte 13: expected ',' or '}'");
    reject("{\"a\":\"\x01\"}", "",
           "invalid JSON at byte 6: control character in string (escape it)");
    reject("{\"a\":\"\\ud800\"}", "",
           "invalid JSON at byte 6: unpaired UTF-16 surrogate escape (high half without a low "
           "half)");
    char deep[300];
    int n = snprintf(deep, sizeof deep, "{\"event_properties\":");
    for (int i = 0; i < 64; i++)
        deep[n++] = '[';
    deep[n] = '\0';
    reject(deep, "", "invalid JSON at byte 83: nested too deeply");
    /* An embedded NUL byte is a syntax error at its byte. */
    struct tly_error err;
    int64_t ts;
    assert_int_equal(scan_n(VALID "\0", sizeof VALID, &ts, &err), TLY_EINVAL);
    assert_string_equal(err.msg, msg);
}

/* A byte that matters in a string is found wherever it is, and every byte
 * that needs no escape passes (guards any faster string loop). */
static void test_string_bytes_at_every_offset(void **state)
{
    (void)state;
    static const char special[] = {'\x01', '\x1f', '\n', '"', '\\'};
    for (int k = 0; k < 40; k++) {
        for (size_t j = 0; j < sizeof special; j++) {
            char body[128];
            int n = snprintf(body, sizeof body, "{\"a\":\"");
            memset(body + n, 'a', (size_t)k);
            body[n + k] = special[j];
            snprintf(body + n + k + 1, sizeof body - (size_t)(n + k + 1),
                     "cccccccccccccccccccc\"}");
            struct tly_error err;
            int64_t ts;
            assert_int_equal(scan_n(body, strlen(body), &ts, &err), TLY_EINVAL);
            char want[128];
            if (special[j] == '"')
                snprintf(want, sizeof want, "invalid JSON at byte %d: expected ',' or '}'",
                         n + k + 1);
            else if (special[j] == '\\')
                snprintf(want, sizeof want, "invalid JSON at byte %d: invalid escape in string",
                         n + k);
            else
                snprintf(want, sizeof want,
                         "invalid JSON at byte %d: control character in string (escape it)", n + k);
            assert_string_equal(err.msg, want);
        }
        for (int b = 0x20; b < 0x100; b++) { /* every byte that needs no escape */
            if (b == '"' || b == '\\')
                continue;
            char body[128];
            int n = snprintf(body, sizeof body, "{\"a\":\"");
            memset(body + n, 'a', (size_t)k);
            body[n + k] = (char)b;
            snprintf(body + n + k + 1, sizeof body - (size_t)(n + k + 1),
                     "cccccccccccccccccccc\"}");
            assert_int_equal(tly_json_check(body, strlen(body), NULL), 0);
        }
    }
}

/* --- batches ------------------------------------------------------------- */

struct items {
    int n, rejected;
    char text[4096]; /* "index:field:message|" per rejected item */
};

static void on_item(void *arg, int index, int64_t ts, const struct tly_error *err)
{
    struct items *it = arg;
    assert_int_equal(index, it->n);
    it->n++;
    if (err == NULL) {
        assert_true(ts >= 0);
        return;
    }
    size_t used = strlen(it->text);
    snprintf(it->text + used, sizeof it->text - used, "%d:%s:%s|", index, err->field, err->msg);
    it->rejected++;
}

/* Scans `body` as a batch; the reference must agree item by item. */
static int batch(const char *body, struct items *it, struct tly_error *err)
{
    memset(it, 0, sizeof *it);
    memset(err, 0, sizeof *err);
    int rc = tly_server_scan_batch(body, strlen(body), on_item, it, err);

    struct tly_error ref_err = {{0}};
    const cJSON *events;
    cJSON *root = tly_json_parse(body, strlen(body), &ref_err);
    int ref_rc = root == NULL ? TLY_EINVAL : tly_server_batch_envelope(root, &events, &ref_err);
    assert_int_equal(rc, ref_rc);
    if (rc != 0) {
        assert_string_equal(err->field, ref_err.field);
        assert_string_equal(err->msg, ref_err.msg);
    } else {
        struct items ref = {0};
        const cJSON *ev;
        cJSON_ArrayForEach(ev, events)
        {
            struct tly_error e;
            int64_t ts;
            on_item(&ref, ref.n, 0, tly_server_event_check(ev, &ts, &e) == 0 ? NULL : &e);
        }
        assert_int_equal(it->n, ref.n);
        assert_string_equal(it->text, ref.text);
    }
    cJSON_Delete(root);
    return rc;
}

static void test_batch_items_in_order(void **state)
{
    (void)state;
    struct items it;
    struct tly_error err;
    assert_int_equal(batch("{\"events\":[" VALID "," VALID "]}", &it, &err), 0);
    assert_int_equal(it.n, 2);
    assert_int_equal(it.rejected, 0);
    assert_int_equal(
        batch("{\"events\":[" VALID ",{\"event_id\":1},\"x\",null,[]," VALID "]}", &it, &err), 0);
    assert_int_equal(it.n, 6);
    assert_string_equal(it.text, "1:event_id:event_id: expected string, got number|"
                                 "2::expected a JSON object, got string|"
                                 "3::expected a JSON object, got null|"
                                 "4::expected a JSON object, got array|");
    /* Escaped and duplicate "events": the first one counts. */
    assert_int_equal(batch("{\"\\u0065vents\":[" VALID "],\"events\":5}", &it, &err), 0);
    assert_int_equal(it.n, 1);
    assert_int_equal(batch("{\"a\":{\"events\":[1]},\"events\":[" VALID "]}", &it, &err), 0);
    assert_int_equal(it.n, 1);
    assert_int_equal(it.rejected, 0);
}

static void test_batch_envelope(void **state)
{
    (void)state;
    struct items it;
    struct tly_error err;
    struct {
        const char *body, *field, *msg;
    } cases[] = {
        {"[]", "", "expected a JSON object {\"events\":[...]}, got array"},
        {"{}", "events", "events: required field is missing"},
        {"{\"events\":{}}", "events", "events: expected array, got object"},
        {"{\"events\":[]}", "events", "events: must not be empty"},
        {"{\"events\":[" VALID "],\"x\":tru}", "",
         "invalid JSON at byte 167: unexpected character"},
        {"", "", "empty body: expected a JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(batch(cases[i].body, &it, &err), TLY_EINVAL);
        assert_string_equal(err.field, cases[i].field);
        assert_string_equal(err.msg, cases[i].msg);
    }
}

static void test_batch_bounds(void **state)
{
    (void)state;
    static char body[600 * 4 + 64];
    struct items it;
    struct tly_error err;
    for (int n = 499; n <= 502; n++) {
        size_t len = (size_t)snprintf(body, sizeof body, "{\"events\":[");
        for (int i = 0; i < n; i++)
            len += (size_t)snprintf(body + len, sizeof body - len, "%s{}", i ? "," : "");
        snprintf(body + len, sizeof body - len, "]}");
        int rc = batch(body, &it, &err);
        if (n <= 500) {
            assert_int_equal(rc, 0);
            assert_int_equal(it.n, n);
            assert_int_equal(it.rejected, n);
        } else {
            assert_int_equal(rc, TLY_EINVAL);
            assert_string_equal(err.field, "events");
            char want[64];
            snprintf(want, sizeof want, "events: %d items, at most 500 allowed", n);
            assert_string_equal(err.msg, want);
            assert_true(it.n <= 500); /* nothing past the limit is judged */
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_event),
        cmocka_unit_test(test_missing_fields),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_root_must_be_an_object),
        cmocka_unit_test(test_lengths_in_decoded_bytes),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_long_timestamps),
        cmocka_unit_test(test_duplicate_and_escaped_keys),
        cmocka_unit_test(test_syntax_errors_win),
        cmocka_unit_test(test_string_bytes_at_every_offset),
        cmocka_unit_test(test_batch_items_in_order),
        cmocka_unit_test(test_batch_envelope),
        cmocka_unit_test(test_batch_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
