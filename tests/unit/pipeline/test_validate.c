/*
 * Unit tests for pipeline/validate.h (tly_validate_event), one test per
 * reason and each at its exact boundary:
 *   invalid_utf8         in event_id, event_name, user_id, a property
 *                        value, a property key, a string inside a nested
 *                        array, and in context (field and reason checked);
 *   too_large            nesting 8 deep passes and 9 fails ("nested"), 256
 *                        keys in all pass and 257 fail (counted across
 *                        nested objects and objects inside arrays), compact
 *                        JSON of exactly 32768 bytes passes and 32769 fails
 *                        (sizes measured with cJSON_PrintUnformatted, with
 *                        escaped characters that take 2 or 6 bytes, and
 *                        numbers with a fraction, which validate.c
 *                        over-counts: that test fails, see above it);
 *   timestamp_in_future  received_at + 1 day passes, 1 ms more fails;
 *   timestamp_too_old    received_at - horizon passes, 1 ms older fails,
 *                        with the default 30 days and custom horizons.
 * Events are built by hand (sources/adapter.h) over cJSON trees.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "pipeline/validate.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECEIVED_AT 1717243200000LL /* 2024-06-01T12:00:00Z */

/* ---- building events ---- */

struct fx {
    cJSON *props, *ctx; /* owned */
    struct tly_event ev;
    struct tly_tenant_settings s;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    f->props = cJSON_CreateObject();
    cJSON_AddStringToObject(f->props, "plan", "pro");
    cJSON_AddNumberToObject(f->props, "amount", 42);
    f->ev.kind = TLY_EVENT_TRACK;
    f->ev.tenant = 1;
    f->ev.source = TLY_SOURCE_SERVER;
    f->ev.event_id = "evt-1";
    f->ev.event_name = "purchase";
    f->ev.user_id = "user-1";
    f->ev.timestamp = RECEIVED_AT - 1000;
    f->ev.received_at = RECEIVED_AT;
    f->ev.properties = f->props;
    f->ev.context = NULL;
    tly_settings_default(&f->s);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    cJSON_Delete(f->props);
    cJSON_Delete(f->ctx);
    free(f);
    return 0;
}

/* Replaces the properties (takes ownership of `p`). */
static void set_props(struct fx *f, cJSON *p)
{
    cJSON_Delete(f->props);
    f->props = p;
    f->ev.properties = p;
}

static void set_ctx(struct fx *f, cJSON *c)
{
    cJSON_Delete(f->ctx);
    f->ctx = c;
    f->ev.context = c;
}

static void expect_ok(const struct fx *f)
{
    struct tly_failure fl;
    memset(&fl, 0, sizeof fl);
    int rc = tly_validate_event(&f->ev, &f->s, &fl);
    if (rc != 0)
        fail_msg("expected the event to pass; got %s (%s): %s", tly_fail_reason_name(fl.reason),
                 fl.field, fl.message);
}

/* Expects a failure with this reason and field; returns the message. */
static const char *expect_fail(const struct fx *f, int reason, const char *field)
{
    static struct tly_failure fl;
    memset(&fl, 0, sizeof fl);
    int rc = tly_validate_event(&f->ev, &f->s, &fl);
    if (rc != -1)
        fail_msg("expected %s on %s; the event passed (rc %d)", tly_fail_reason_name(reason), field,
                 rc);
    if (fl.reason != reason)
        fail_msg("expected %s on %s; got %s on %s: %s", tly_fail_reason_name(reason), field,
                 tly_fail_reason_name(fl.reason), fl.field, fl.message);
    assert_string_equal(fl.field, field);
    assert_true(fl.message[0] != '\0');
    return fl.message;
}

static size_t printed_size(const cJSON *v)
{
    char *p = cJSON_PrintUnformatted(v);
    assert_non_null(p);
    size_t n = strlen(p);
    cJSON_free(p);
    return n;
}

/* ---- the event passes as built ---- */

static void test_plain_event_passes(void **state)
{
    struct fx *f = *state;
    expect_ok(f);
    /* Valid multi-byte UTF-8 everywhere is fine: 2, 3 and 4 byte forms,
     * and the largest code point. */
    f->ev.event_id = "\xc3\xa9v\xc3\xa9nement-\xe2\x82\xac";
    f->ev.event_name = "\xf0\x9f\x98\x80 smile";
    f->ev.user_id = "\xf4\x8f\xbf\xbf";
    cJSON_AddStringToObject(f->props, "\xe6\x97\xa5\xe6\x9c\xac", "\xed\x9f\xbf \xee\x80\x80");
    expect_ok(f);
    /* No properties and no context at all. */
    f->ev.properties = NULL;
    expect_ok(f);
}

/* ---- invalid_utf8 ---- */

static void test_utf8_event_id(void **state)
{
    struct fx *f = *state;
    f->ev.event_id = "evt-\xff";
    const char *msg = expect_fail(f, TLY_FAIL_INVALID_UTF8, "event_id");
    assert_non_null(strstr(msg, "event_id"));
    /* A lone continuation byte. */
    f->ev.event_id = "\x80";
    expect_fail(f, TLY_FAIL_INVALID_UTF8, "event_id");
    /* Invalid UTF-8 wins over a bad timestamp: checked first. */
    f->ev.timestamp = RECEIVED_AT + 2 * TLY_DAY_MS;
    expect_fail(f, TLY_FAIL_INVALID_UTF8, "event_id");
}

static void test_utf8_event_name(void **state)
{
    struct fx *f = *state;
    f->ev.event_name = "buy\xc0\xaf"; /* overlong '/' */
    expect_fail(f, TLY_FAIL_INVALID_UTF8, "event_name");
}

static void test_utf8_user_id(void **state)
{
    struct fx *f = *state;
    f->ev.user_id = "u\xed\xa0\x80"; /* a UTF-16 surrogate, U+D800 */
    expect_fail(f, TLY_FAIL_INVALID_UTF8, "user_id");
    f->ev.user_id = "u\xe2\x82"; /* truncated sequence at the end */
    expect_fail(f, TLY_FAIL_INVALID_UTF8, "user_id");
}

static void test_utf8_property_value(void **state)
{
    struct fx *f = *state;
    cJSON_AddStringToObject(f->props, "note", "caf\xe9"); /* Latin-1 é */
    expect_fail(f, TLY_FAIL_INVALID_UTF8, "properties");
}

static void test_utf8_property_key(void **state)
{
    struct fx *f = *state;
    cJSON_AddStringToObject(f->props, "k\xf4\x90\x80\x80", "v"); /* past U+10FFFF */
    const char *msg = expect_fail(f, TLY_FAIL_INVALID_UTF8, "properties");
    assert_non_null(strstr(msg, "key"));
}

static void test_utf8_nested_key(void **state)
{
    struct fx *f = *state;
    cJSON *inner = cJSON_AddObjectToObject(f->props, "outer");
    cJSON_AddNumberToObject(inner, "ok\xfe", 1);
    expect_fail(f, TLY_FAIL_INVALID_UTF8, "properties");
}

static void test_utf8_string_in_nested_array(void **state)
{
    struct fx *f = *state;
    cJSON *list = cJSON_AddArrayToObject(f->props, "tags");
    cJSON_AddItemToArray(list, cJSON_CreateString("fine"));
    cJSON *inner = cJSON_CreateArray();
    cJSON_AddItemToArray(inner, cJSON_CreateNumber(1));
    cJSON_AddItemToArray(inner, cJSON_CreateString("bad\x80"));
    cJSON_AddItemToArray(list, inner);
    const char *msg = expect_fail(f, TLY_FAIL_INVALID_UTF8, "properties");
    assert_non_null(strstr(msg, "array"));
}

static void test_utf8_in_context(void **state)
{
    struct fx *f = *state;
    cJSON *ctx = cJSON_CreateObject();
    cJSON_AddStringToObject(ctx, "ip", "10.0.0.1");
    set_ctx(f, ctx);
    expect_ok(f);
    cJSON_AddStringToObject(ctx, "agent", "x\xc1\xbf");
    expect_fail(f, TLY_FAIL_INVALID_UTF8, "context");
}

/* ---- too_large: nesting ---- */

/* An object nested `depth` levels deep, counting itself as level 1:
 * depth 3 is {"l2":{"l3":{"leaf":"x"}}}. When `arrays` is set every other
 * level is an array. */
static cJSON *nested(int depth, int arrays)
{
    cJSON *inner = NULL;
    for (int level = depth; level >= 1; level--) {
        int as_array = arrays && level % 2 == 0 && level != 1;
        cJSON *c = as_array ? cJSON_CreateArray() : cJSON_CreateObject();
        if (inner == NULL) {
            if (as_array)
                cJSON_AddItemToArray(c, cJSON_CreateString("x"));
            else
                cJSON_AddStringToObject(c, "leaf", "x");
        } else if (as_array) {
            cJSON_AddItemToArray(c, inner);
        } else {
            char key[16];
            snprintf(key, sizeof key, "l%d", level + 1);
            cJSON_AddItemToObject(c, key, inner);
        }
        inner = c;
    }
    return inner;
}

/* Levels of objects/arrays in a tree (the measure under test, computed
 * independently). */
static int depth_of(const cJSON *v)
{
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return 0;
    int max = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, v)
    {
        int d = depth_of(c);
        if (d > max)
            max = d;
    }
    return max + 1;
}

static void test_depth_8_passes_9_fails(void **state)
{
    struct fx *f = *state;
    set_props(f, nested(8, 0));
    assert_int_equal(depth_of(f->props), 8);
    expect_ok(f);

    set_props(f, nested(9, 0));
    assert_int_equal(depth_of(f->props), 9);
    const char *msg = expect_fail(f, TLY_FAIL_TOO_LARGE, "properties");
    assert_non_null(strstr(msg, "nested"));
}

static void test_depth_counts_arrays(void **state)
{
    struct fx *f = *state;
    set_props(f, nested(8, 1));
    assert_int_equal(depth_of(f->props), 8);
    expect_ok(f);
    set_props(f, nested(9, 1));
    assert_int_equal(depth_of(f->props), 9);
    const char *msg = expect_fail(f, TLY_FAIL_TOO_LARGE, "properties");
    assert_non_null(strstr(msg, "nested"));
}

static void test_depth_deep_branch_after_shallow_ones(void **state)
{
    struct fx *f = *state;
    /* Many shallow siblings, then one branch too deep: still caught. */
    cJSON *p = cJSON_CreateObject();
    for (int i = 0; i < 20; i++) {
        char k[16];
        snprintf(k, sizeof k, "s%d", i);
        cJSON_AddItemToObject(p, k, nested(3, i % 2));
    }
    cJSON_AddItemToObject(p, "deep", nested(8, 0)); /* levels 2..9 */
    set_props(f, p);
    assert_int_equal(depth_of(p), 9);
    expect_fail(f, TLY_FAIL_TOO_LARGE, "properties");

    /* The same in context. */
    set_props(f, cJSON_CreateObject());
    set_ctx(f, nested(8, 0));
    expect_ok(f);
    set_ctx(f, nested(9, 0));
    const char *msg = expect_fail(f, TLY_FAIL_TOO_LARGE, "context");
    assert_non_null(strstr(msg, "nested"));
}

/* ---- too_large: keys ---- */

/* Adds `n` keys named <prefix><i> with small values. */
static void add_keys(cJSON *obj, const char *prefix, int n)
{
    for (int i = 0; i < n; i++) {
        char k[32];
        snprintf(k, sizeof k, "%s%d", prefix, i);
        cJSON_AddNumberToObject(obj, k, i);
    }
}

static void test_keys_256_pass_257_fail(void **state)
{
    struct fx *f = *state;
    cJSON *p = cJSON_CreateObject();
    add_keys(p, "k", 256);
    set_props(f, p);
    expect_ok(f);
    add_keys(p, "extra", 1);
    const char *msg = expect_fail(f, TLY_FAIL_TOO_LARGE, "properties");
    assert_non_null(strstr(msg, "257"));
}

static void test_keys_counted_across_nested_objects(void **state)
{
    struct fx *f = *state;
    /* 100 at the top + "a" + 50 in a + "b" + 50 in b.c ("c" is one more)
     * + "list" + 26 in objects inside an array + 27 in the array's second
     * object = 100 + 1 + 50 + 1 + 1 + 50 + 1 + 26 + 26 = 256. */
    cJSON *p = cJSON_CreateObject();
    add_keys(p, "t", 100);
    cJSON *a = cJSON_AddObjectToObject(p, "a");
    add_keys(a, "a", 50);
    cJSON *b = cJSON_AddObjectToObject(p, "b");
    cJSON *c = cJSON_AddObjectToObject(b, "c");
    add_keys(c, "c", 50);
    cJSON *list = cJSON_AddArrayToObject(p, "list");
    cJSON *o1 = cJSON_CreateObject(), *o2 = cJSON_CreateObject();
    add_keys(o1, "x", 26);
    add_keys(o2, "y", 26);
    cJSON_AddItemToArray(list, o1);
    cJSON_AddItemToArray(list, o2);
    set_props(f, p);
    expect_ok(f);

    /* One more key, deep inside: 257. */
    add_keys(o2, "z", 1);
    const char *msg = expect_fail(f, TLY_FAIL_TOO_LARGE, "properties");
    assert_non_null(strstr(msg, "257"));

    /* Context has its own count. */
    cJSON *ctx = cJSON_CreateObject();
    add_keys(ctx, "c", 256);
    set_props(f, cJSON_CreateObject());
    set_ctx(f, ctx);
    expect_ok(f);
    add_keys(cJSON_AddObjectToObject(ctx, "more"), "m", 0); /* "more" is key 257 */
    expect_fail(f, TLY_FAIL_TOO_LARGE, "context");
}

/* ---- too_large: size as JSON ---- */

/* Raw bytes whose JSON string form is larger than themselves: " \ \n \t
 * \r \b \f take 2 bytes, other control characters 6 (\u0001). */
static const char escapes[] = "q\"uo\\te\nnl\ttab\r\b\f\x01\x1f/\xc3\xa9";

/* Properties of many kinds of values, plus a string `pad` of plain bytes
 * sized so that the compact JSON is exactly `total` bytes. */
static cJSON *props_of_size(size_t total)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "esc", escapes);
    cJSON_AddStringToObject(p, "k\"ey\n", "v");
    cJSON_AddNumberToObject(p, "int", 1234567);
    cJSON_AddNumberToObject(p, "neg", -98765);
    cJSON_AddNumberToObject(p, "zero", 0);
    cJSON_AddNumberToObject(p, "big", 999999999999999.0);
    cJSON_AddTrueToObject(p, "t");
    cJSON_AddFalseToObject(p, "f");
    cJSON_AddNullToObject(p, "n");
    cJSON *arr = cJSON_AddArrayToObject(p, "arr");
    cJSON_AddItemToArray(arr, cJSON_CreateNumber(-1));
    cJSON_AddItemToArray(arr, cJSON_CreateString(""));
    cJSON_AddItemToArray(arr, cJSON_CreateObject());
    cJSON_AddItemToArray(arr, cJSON_CreateArray());
    cJSON_AddItemToArray(arr, cJSON_CreateString("\"\"\n"));
    cJSON_AddObjectToObject(p, "empty");
    cJSON *pad = cJSON_AddStringToObject(p, "pad", "");
    size_t base = printed_size(p);
    assert_true(total > base);
    size_t n = total - base;
    char *text = malloc(n + 1);
    assert_non_null(text);
    memset(text, 'a', n);
    text[n] = '\0';
    assert_non_null(cJSON_SetValuestring(pad, text));
    free(text);
    assert_int_equal(printed_size(p), total);
    return p;
}

/* A single string property of exactly `total` bytes as JSON where almost
 * every byte comes from escapes: "\n" and '"' (2 bytes each), \x01 (6). */
static cJSON *escaped_props_of_size(size_t total)
{
    /* {"s":"..."} is 8 bytes around the string's inside. */
    size_t inside = total - 8;
    char *text = malloc(inside + 1);
    assert_non_null(text);
    size_t i = 0, used = 0;
    while (used + 6 <= inside && used < inside / 3) {
        text[i++] = '\x01';
        used += 6;
    }
    while (used + 2 <= inside) {
        text[i] = (i % 2) ? '"' : '\n';
        i++;
        used += 2;
    }
    while (used < inside) {
        text[i++] = 'x';
        used++;
    }
    text[i] = '\0';
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "s", text);
    free(text);
    assert_int_equal(printed_size(p), total);
    return p;
}

static void test_size_exact_boundary(void **state)
{
    struct fx *f = *state;
    set_props(f, props_of_size(TLY_PROPS_MAX_BYTES));
    assert_int_equal(TLY_PROPS_MAX_BYTES, 32768);
    expect_ok(f);
    set_props(f, props_of_size(TLY_PROPS_MAX_BYTES + 1));
    const char *msg = expect_fail(f, TLY_FAIL_TOO_LARGE, "properties");
    assert_non_null(strstr(msg, "32769"));
}

static void test_size_counts_escapes(void **state)
{
    struct fx *f = *state;
    set_props(f, escaped_props_of_size(32768));
    /* Far fewer raw bytes than JSON bytes: escapes are what count. */
    assert_true(strlen(cJSON_GetObjectItem(f->props, "s")->valuestring) < 20000);
    expect_ok(f);
    set_props(f, escaped_props_of_size(32769));
    expect_fail(f, TLY_FAIL_TOO_LARGE, "properties");

    /* And an odd split: the last byte that tips it over is an escape. */
    cJSON *p = escaped_props_of_size(32767);
    set_props(f, p);
    expect_ok(f);
    cJSON *s = cJSON_GetObjectItem(p, "s");
    size_t n = strlen(s->valuestring);
    char *t = malloc(n + 2);
    assert_non_null(t);
    memcpy(t, s->valuestring, n);
    t[n] = '\n'; /* +2 bytes: 32769 */
    t[n + 1] = '\0';
    cJSON_SetValuestring(s, t);
    free(t);
    assert_int_equal(printed_size(p), 32769);
    expect_fail(f, TLY_FAIL_TOO_LARGE, "properties");
}

static void test_size_in_context(void **state)
{
    struct fx *f = *state;
    set_ctx(f, props_of_size(32768));
    expect_ok(f);
    set_ctx(f, props_of_size(32769));
    const char *msg = expect_fail(f, TLY_FAIL_TOO_LARGE, "context");
    assert_non_null(strstr(msg, "context"));
    /* Properties and context are judged apart: each may be 32768. */
    set_props(f, props_of_size(32768));
    set_ctx(f, props_of_size(32768));
    expect_ok(f);
}

/* Numbers that are not integers count as what cJSON prints for them too:
 * "0.5" is 3 bytes. validate.c's number_size() charges 24 bytes for any
 * non-integer (an "upper bound"), so a small event full of fractions is
 * refused as too_large with a byte count it does not have. */
static void test_size_counts_fractional_numbers_exactly(void **state)
{
    struct fx *f = *state;
    /* At the exact boundary, with a price like the fixture's 349.5. */
    cJSON *q = props_of_size(TLY_PROPS_MAX_BYTES - 14); /* + ,"price":349.5 */
    cJSON_AddNumberToObject(q, "price", 349.5);
    set_props(f, q);
    assert_int_equal(printed_size(q), TLY_PROPS_MAX_BYTES);
    expect_ok(f);

    /* 1400 readings like 3.5: under 6 KB as JSON. */
    cJSON *p = cJSON_CreateObject();
    cJSON *list = cJSON_AddArrayToObject(p, "readings");
    for (int i = 0; i < 1400; i++)
        cJSON_AddItemToArray(list, cJSON_CreateNumber(i % 10 + 0.5));
    set_props(f, p);
    assert_true(printed_size(p) < 6000);
    expect_ok(f);
}

/* ---- timestamps ---- */

static void test_future_boundary(void **state)
{
    struct fx *f = *state;
    f->ev.timestamp = RECEIVED_AT + TLY_DAY_MS;
    expect_ok(f);
    f->ev.timestamp = RECEIVED_AT + TLY_DAY_MS + 1;
    expect_fail(f, TLY_FAIL_TIMESTAMP_IN_FUTURE, "timestamp");
    f->ev.timestamp = RECEIVED_AT + 365 * TLY_DAY_MS;
    expect_fail(f, TLY_FAIL_TIMESTAMP_IN_FUTURE, "timestamp");
    /* The same timestamp is fine for a record received a little later:
     * judged against received_at, not the clock. */
    f->ev.timestamp = RECEIVED_AT + TLY_DAY_MS + 1;
    f->ev.received_at = RECEIVED_AT + 1;
    expect_ok(f);
}

static void test_too_old_boundary_default(void **state)
{
    struct fx *f = *state;
    assert_true(f->s.horizon_ms == 30 * TLY_DAY_MS);
    f->ev.timestamp = RECEIVED_AT - 30 * TLY_DAY_MS;
    expect_ok(f);
    f->ev.timestamp = RECEIVED_AT - 30 * TLY_DAY_MS - 1;
    const char *msg = expect_fail(f, TLY_FAIL_TIMESTAMP_TOO_OLD, "timestamp");
    assert_non_null(strstr(msg, "30"));
    f->ev.timestamp = 0; /* 1970 */
    expect_fail(f, TLY_FAIL_TIMESTAMP_TOO_OLD, "timestamp");
}

static void test_too_old_boundary_custom_horizon(void **state)
{
    struct fx *f = *state;
    f->s.horizon_ms = 90 * TLY_DAY_MS;
    f->ev.timestamp = RECEIVED_AT - 90 * TLY_DAY_MS;
    expect_ok(f);
    f->ev.timestamp = RECEIVED_AT - 90 * TLY_DAY_MS - 1;
    expect_fail(f, TLY_FAIL_TIMESTAMP_TOO_OLD, "timestamp");
    /* 31 days: too old by default, fine with 90. */
    f->ev.timestamp = RECEIVED_AT - 31 * TLY_DAY_MS;
    expect_ok(f);

    /* A horizon of one second. */
    f->s.horizon_ms = 1000;
    f->ev.timestamp = RECEIVED_AT - 1000;
    expect_ok(f);
    f->ev.timestamp = RECEIVED_AT - 1001;
    expect_fail(f, TLY_FAIL_TIMESTAMP_TOO_OLD, "timestamp");
    /* Not the future check's business: 1 day ahead is still fine. */
    f->ev.timestamp = RECEIVED_AT + TLY_DAY_MS;
    expect_ok(f);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_plain_event_passes),
        T(test_utf8_event_id),
        T(test_utf8_event_name),
        T(test_utf8_user_id),
        T(test_utf8_property_value),
        T(test_utf8_property_key),
        T(test_utf8_nested_key),
        T(test_utf8_string_in_nested_array),
        T(test_utf8_in_context),
        T(test_depth_8_passes_9_fails),
        T(test_depth_counts_arrays),
        T(test_depth_deep_branch_after_shallow_ones),
        T(test_keys_256_pass_257_fail),
        T(test_keys_counted_across_nested_objects),
        T(test_size_exact_boundary),
        T(test_size_counts_escapes),
        T(test_size_in_context),
        T(test_size_counts_fractional_numbers_exactly),
        T(test_future_boundary),
        T(test_too_old_boundary_default),
        T(test_too_old_boundary_custom_horizon),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
