/*
 * Table-driven tests of the JSON Pointer resolver (core/json_pointer.h):
 * RFC 6901's own examples, escapes, array indexes, what never resolves,
 * and the syntax check the settings use.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/json_pointer.h"

#include <stdlib.h>
#include <string.h>

/* RFC 6901, section 5. */
static const char *const rfc_doc =
    "{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,\"c%d\":2,\"e^f\":3,\"g|h\":4,\"i\\\\j\":5,"
    "\"k\\\"l\":6,\" \":7,\"m~n\":8,\"deep\":{\"x\":{\"y\":[{\"z\":true}]}},\"01\":9}";

static void test_resolves(void **state)
{
    (void)state;
    static const struct {
        const char *ptr;
        const char *want; /* printed value; NULL: does not resolve */
    } cases[] = {
        {"/foo", "[\"bar\",\"baz\"]"},
        {"/foo/0", "\"bar\""},
        {"/foo/1", "\"baz\""},
        {"/", "0"},
        {"/a~1b", "1"},
        {"/c%d", "2"},
        {"/e^f", "3"},
        {"/g|h", "4"},
        {"/i\\j", "5"},
        {"/k\"l", "6"},
        {"/ ", "7"},
        {"/m~0n", "8"},
        {"/deep/x/y/0/z", "true"},
        {"/01", "9"},       /* a member name, not an index */
        {"/foo/2", NULL},   /* past the end */
        {"/foo/-", NULL},   /* the element after the last: nothing to read */
        {"/foo/01", NULL},  /* leading zero */
        {"/foo/-1", NULL},  /* not an index */
        {"/foo/0/x", NULL}, /* into a string */
        {"/a/b", NULL},     /* "a/b" needs ~1 */
        {"/m~n", NULL},     /* unescaped '~' never matches "m~n" */
        {"/FOO", NULL},     /* case-sensitive */
        {"/deep/x/y/0/z/w", NULL},
        {"/missing", NULL},
        {"foo", NULL}, /* not a pointer */
    };
    cJSON *doc = cJSON_Parse(rfc_doc);
    assert_non_null(doc);
    assert_ptr_equal(tly_json_pointer_get(doc, ""), doc);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const cJSON *v = tly_json_pointer_get(doc, cases[i].ptr);
        if (cases[i].want == NULL) {
            if (v != NULL)
                fail_msg("%s: resolved, expected nothing", cases[i].ptr);
            continue;
        }
        if (v == NULL)
            fail_msg("%s: did not resolve", cases[i].ptr);
        char *got = cJSON_PrintUnformatted(v);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("%s: got %s, want %s", cases[i].ptr, got, cases[i].want);
        cJSON_free(got);
    }
    cJSON_Delete(doc);
}

static void test_check(void **state)
{
    (void)state;
    static const struct {
        const char *ptr;
        int ok;
    } cases[] = {
        {"", 1},  {"/a", 1},  {"/a~0b~1c", 1}, {"/", 1},   {"//", 1},
        {"a", 0}, {"/a~", 0}, {"/a~2", 0},     {"/~x", 0}, {"/a/b~0/c~1", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct tly_error err;
        int rc =
            tly_json_pointer_check(cases[i].ptr, strlen(cases[i].ptr), "mapping.user_id", &err);
        if ((rc == 0) != cases[i].ok)
            fail_msg("%s: check gave %d", cases[i].ptr, rc);
        if (rc != 0)
            assert_string_equal(err.field, "mapping.user_id");
    }
    char long_ptr[TLY_JSON_POINTER_MAX + 2];
    memset(long_ptr, 'a', sizeof long_ptr);
    long_ptr[0] = '/';
    struct tly_error err;
    assert_int_equal(tly_json_pointer_check(long_ptr, sizeof long_ptr, "p", &err), TLY_EINVAL);
    assert_int_equal(tly_json_pointer_check(long_ptr, TLY_JSON_POINTER_MAX, "p", &err), 0);
    assert_int_equal(tly_json_pointer_check("/a\0b", 4, "p", &err), TLY_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resolves),
        cmocka_unit_test(test_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
