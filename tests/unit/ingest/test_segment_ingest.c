/*
 * Unit tests for the Segment ingest checks: the X-Signature check
 * (tly_segment_signature_ok, ingest/segment.h) with the documented test
 * vector, and the body scan (tly_segment_scan, sources/segment.h): shapes,
 * the bytes of the first event (what Segment signs), the write key in the
 * body, the per-event and per-batch limits, and strict JSON.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "ingest/segment.h"
#include "sources/segment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VECTOR_SIG "5099cab379b3be52908387457007040cc934ef86"

static int sig_ok(const char *secret, const char *body, const char *sig)
{
    return tly_segment_signature_ok(secret, strlen(secret), body, strlen(body), sig,
                                    sig ? strlen(sig) : 0);
}

static void test_signature_vector(void **state)
{
    (void)state;
    assert_true(sig_ok("abc123", "{\"cool\":true}", VECTOR_SIG));
    assert_false(sig_ok("abc124", "{\"cool\":true}", VECTOR_SIG));
    assert_false(sig_ok("abc123", "{\"cool\":false}", VECTOR_SIG));
    assert_false(sig_ok("abc123", "{\"cool\":true}", "5099CAB379B3BE52908387457007040CC934EF86"));
    assert_false(sig_ok("abc123", "{\"cool\":true}", "5099cab379b3be52908387457007040cc934ef8"));
    assert_false(sig_ok("abc123", "{\"cool\":true}", VECTOR_SIG "0"));
    assert_false(sig_ok("abc123", "{\"cool\":true}", ""));
    assert_false(sig_ok("abc123", "{\"cool\":true}", NULL));
}

static int scan(const char *body, enum tly_segment_shape shape, struct tly_segment_body *b,
                struct tly_error *err)
{
    return tly_segment_scan(body, strlen(body), shape, b, err);
}

static void test_scan_first_event_bytes(void **state)
{
    (void)state;
    struct tly_segment_body b;
    struct tly_error err;
    const char *obj = " {\"cool\":true} ";
    assert_int_equal(scan(obj, TLY_SEGMENT_WEBHOOK, &b, &err), 0);
    assert_false(b.is_array);
    assert_int_equal(b.items, 1);
    assert_int_equal(b.first_len, 13);
    assert_memory_equal(b.first, "{\"cool\":true}", 13);
    /* The array's first element, exactly as sent (spaces inside kept). */
    const char *arr = "[ {\"cool\" : true} ,{\"b\":2}]";
    assert_int_equal(scan(arr, TLY_SEGMENT_WEBHOOK, &b, &err), 0);
    assert_true(b.is_array);
    assert_int_equal(b.items, 2);
    assert_int_equal(b.first_len, 15);
    assert_memory_equal(b.first, "{\"cool\" : true}", 15);
    assert_int_equal(
        scan("{\"batch\":[{\"a\":1},{},3],\"writeKey\":\"k\\u0031\"}", TLY_SEGMENT_BATCH, &b, &err),
        0);
    assert_int_equal(b.items, 3);
    assert_memory_equal(b.first, "{\"a\":1}", 7);
    assert_int_equal(b.write_key_len, 7);
    assert_memory_equal(b.write_key, "k\\u0031", 7);
    assert_int_equal(scan("{\"writeKey\":5,\"writeKey\":\"x\"}", TLY_SEGMENT_CALL, &b, &err), 0);
    assert_null(b.write_key); /* the first member counts */
}

static void test_scan_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        enum tly_segment_shape shape;
        const char *field, *msg;
    } cases[] = {
        {"", TLY_SEGMENT_WEBHOOK, "", "empty"},
        {"{\"a\":1,}", TLY_SEGMENT_WEBHOOK, "", "invalid JSON"},
        {"{\"a\":1} x", TLY_SEGMENT_CALL, "", "invalid JSON"},
        {"[]", TLY_SEGMENT_WEBHOOK, "", "empty"},
        {"7", TLY_SEGMENT_WEBHOOK, "", "got number"},
        {"[{}]", TLY_SEGMENT_CALL, "", "got array"},
        {"[]", TLY_SEGMENT_BATCH, "", "got array"},
        {"{}", TLY_SEGMENT_BATCH, "batch", "missing"},
        {"{\"batch\":{}}", TLY_SEGMENT_BATCH, "batch", "expected array, got object"},
        {"{\"batch\":[]}", TLY_SEGMENT_BATCH, "batch", "must not be empty"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tly_segment_body b;
        struct tly_error err;
        if (scan(cases[i].body, cases[i].shape, &b, &err) == 0)
            fail_msg("case %zu (%s) accepted", i, cases[i].body);
        assert_string_equal(err.field, cases[i].field);
        if (strstr(err.msg, cases[i].msg) == NULL)
            fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err.msg, cases[i].msg);
    }
}

/* Appends `t` at s + *k. */
static void put(char *s, size_t *k, const char *t)
{
    memcpy(s + *k, t, strlen(t));
    *k += strlen(t);
}

/* Builds {"batch":[E,…]} of n events of `each` + 8 bytes: {"p":"xx…"}. */
static char *batch_of(size_t n, size_t each)
{
    char *s = malloc(16 + n * (each + 16));
    assert_non_null(s);
    size_t k = 0;
    put(s, &k, "{\"batch\":[");
    for (size_t i = 0; i < n; i++) {
        put(s, &k, i ? ",{\"p\":\"" : "{\"p\":\"");
        memset(s + k, 'x', each);
        k += each;
        put(s, &k, "\"}");
    }
    put(s, &k, "]}");
    s[k] = '\0';
    return s;
}

static void test_scan_limits(void **state)
{
    (void)state;
    struct tly_segment_body b;
    struct tly_error err;
    char *ok = batch_of(2, TLY_SEGMENT_EVENT_BYTES - 8); /* each exactly at the limit */
    assert_int_equal(scan(ok, TLY_SEGMENT_BATCH, &b, &err), 0);
    free(ok);
    char *big = batch_of(2, TLY_SEGMENT_EVENT_BYTES - 7);
    assert_int_equal(scan(big, TLY_SEGMENT_BATCH, &b, &err), TLY_EINVAL);
    assert_non_null(strstr(err.msg, "event 0: 32769 bytes, at most 32768 allowed per event"));
    free(big);
    char *many = batch_of(20, 30000);
    assert_int_equal(scan(many, TLY_SEGMENT_BATCH, &b, &err), TLY_EINVAL);
    assert_non_null(strstr(err.msg, "at most 512000 allowed per batch"));
    /* A webhook array is a batch too; a single event only has its own limit. */
    many[0] = ' ';
    memcpy(many + 1, "        ", 8); /* drop {"batch": */
    many[strlen(many) - 1] = ' ';
    assert_int_equal(scan(many, TLY_SEGMENT_WEBHOOK, &b, &err), TLY_EINVAL);
    assert_non_null(strstr(err.msg, "per batch"));
    free(many);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signature_vector),
        cmocka_unit_test(test_scan_first_event_bytes),
        cmocka_unit_test(test_scan_refusals),
        cmocka_unit_test(test_scan_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
