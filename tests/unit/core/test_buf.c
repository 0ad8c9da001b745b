/*
 * Unit tests for src/core/buf.h: growth by append and printf (short and
 * long formatted output), NUL termination, reset and free, the `max` bound
 * (TLY_ETOOBIG with the buffer left exactly as it was), and JSON escaping:
 * quotes, backslash, the short escapes, other control bytes as \u00XX, and
 * every other byte (UTF-8 included) copied as it is.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"

#include <cJSON.h>
#include <stdlib.h>
#include <string.h>

/* The buffer holds exactly `want` (n bytes), NUL-terminated. */
static void expect_content(const struct tly_buf *b, const char *want, size_t n)
{
    assert_int_equal(b->len, n);
    assert_non_null(b->data);
    assert_memory_equal(b->data, want, n);
    assert_int_equal(b->data[n], '\0');
    assert_true(b->cap >= n + 1);
}

/* A snapshot of a buffer, to check an operation left it untouched. */
struct snap {
    char *data;
    size_t len, cap;
};

static struct snap take(const struct tly_buf *b)
{
    struct snap s = {NULL, b->len, b->cap};
    s.data = malloc(b->len + 1);
    assert_non_null(s.data);
    if (b->len > 0)
        memcpy(s.data, b->data, b->len);
    return s;
}

static void expect_unchanged(const struct tly_buf *b, struct snap *s)
{
    assert_int_equal(b->len, s->len);
    assert_int_equal(b->cap, s->cap);
    if (s->len > 0)
        assert_memory_equal(b->data, s->data, s->len);
    if (b->data != NULL)
        assert_int_equal(b->data[b->len], '\0');
    free(s->data);
    s->data = NULL;
}

static void test_init_and_free(void **state)
{
    (void)state;
    struct tly_buf b;
    tly_buf_init(&b, 123);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    assert_int_equal(b.max, 123);
    tly_buf_free(&b); /* freeing an empty buffer is fine */
    assert_int_equal(tly_buf_append(&b, "abc", 3), 0);
    tly_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
    tly_buf_free(&b); /* and twice */
}

static void test_append_grows(void **state)
{
    (void)state;
    struct tly_buf b;
    tly_buf_init(&b, 0);
    assert_int_equal(tly_buf_append(&b, "", 0), 0);
    assert_int_equal(b.len, 0);

    /* 10,000 bytes in pieces of varying size; the content must be exact. */
    char *want = malloc(10000);
    assert_non_null(want);
    for (size_t i = 0; i < 10000; i++)
        want[i] = (char)('a' + i % 26);
    size_t at = 0, step = 1;
    while (at < 10000) {
        size_t n = step < 10000 - at ? step : 10000 - at;
        assert_int_equal(tly_buf_append(&b, want + at, n), 0);
        at += n;
        step = step * 3 % 1000 + 1;
        expect_content(&b, want, at);
    }
    free(want);

    assert_int_equal(tly_buf_puts(&b, "XYZ"), 0);
    assert_int_equal(b.len, 10003);
    assert_memory_equal(b.data + 10000, "XYZ", 4);
    tly_buf_free(&b);
}

static void test_reset_keeps_allocation(void **state)
{
    (void)state;
    struct tly_buf b;
    tly_buf_init(&b, 0);
    assert_int_equal(tly_buf_puts(&b, "hello"), 0);
    char *data = b.data;
    size_t cap = b.cap;
    tly_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    assert_int_equal(tly_buf_puts(&b, "bye"), 0);
    expect_content(&b, "bye", 3);
    tly_buf_free(&b);
}

static void test_reserve(void **state)
{
    (void)state;
    struct tly_buf b;
    tly_buf_init(&b, 0);
    assert_int_equal(tly_buf_reserve(&b, 5000), 0);
    assert_true(b.cap >= 5001);
    assert_int_equal(b.len, 0);
    char *data = b.data;
    /* Appends within the reservation do not move the data. */
    for (int i = 0; i < 5000; i++)
        assert_int_equal(tly_buf_append(&b, "q", 1), 0);
    assert_ptr_equal(b.data, data);
    assert_int_equal(tly_buf_reserve(&b, SIZE_MAX), TLY_ETOOBIG);
    assert_int_equal(b.len, 5000);
    tly_buf_free(&b);
}

static void test_printf(void **state)
{
    (void)state;
    struct tly_buf b;
    tly_buf_init(&b, 0);
    assert_int_equal(tly_buf_printf(&b, "%d-%s-%c", 42, "x", 'y'), 0);
    expect_content(&b, "42-x-y", 6);

    /* Output longer than the 256-byte fast path, appended after text. */
    char big[1001];
    memset(big, 'B', 1000);
    big[1000] = '\0';
    assert_int_equal(tly_buf_printf(&b, "[%s]%d", big, 7), 0);
    assert_int_equal(b.len, 6 + 1 + 1000 + 1 + 1);
    assert_memory_equal(b.data, "42-x-y[", 7);
    assert_memory_equal(b.data + 7, big, 1000);
    assert_memory_equal(b.data + 1007, "]7", 3); /* including the NUL */

    /* Exactly 255 and 256 characters: either side of the fast path. */
    tly_buf_reset(&b);
    assert_int_equal(tly_buf_printf(&b, "%.255s", big), 0);
    expect_content(&b, big, 255);
    tly_buf_reset(&b);
    assert_int_equal(tly_buf_printf(&b, "%.256s", big), 0);
    expect_content(&b, big, 256);
    tly_buf_free(&b);
}

static void test_max_bound(void **state)
{
    (void)state;
    struct tly_buf b;
    tly_buf_init(&b, 10);
    assert_int_equal(tly_buf_append(&b, "0123456", 7), 0);
    struct snap s = take(&b);
    assert_int_equal(tly_buf_append(&b, "abcd", 4), TLY_ETOOBIG); /* 11 > 10 */
    expect_unchanged(&b, &s);
    s = take(&b);
    assert_int_equal(tly_buf_puts(&b, "abcdefghijklmnopqrstuvwxyz"), TLY_ETOOBIG);
    expect_unchanged(&b, &s);
    s = take(&b);
    assert_int_equal(tly_buf_printf(&b, "%d", 1234), TLY_ETOOBIG);
    expect_unchanged(&b, &s);
    s = take(&b);
    char big[600];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(tly_buf_printf(&b, "%s", big), TLY_ETOOBIG); /* long path */
    expect_unchanged(&b, &s);
    s = take(&b);
    assert_int_equal(tly_buf_reserve(&b, 4), TLY_ETOOBIG);
    expect_unchanged(&b, &s);

    /* Filling exactly to max is allowed; one byte more is not. */
    assert_int_equal(tly_buf_append(&b, "789", 3), 0);
    expect_content(&b, "0123456789", 10);
    s = take(&b);
    assert_int_equal(tly_buf_append(&b, "!", 1), TLY_ETOOBIG);
    expect_unchanged(&b, &s);
    assert_int_equal(tly_buf_append(&b, "", 0), 0);

    /* After a reset the whole bound is available again. */
    tly_buf_reset(&b);
    assert_int_equal(tly_buf_printf(&b, "%s", "abcdefghij"), 0);
    expect_content(&b, "abcdefghij", 10);
    tly_buf_free(&b);

    /* A bound above the 256-byte first allocation. */
    tly_buf_init(&b, 1000);
    assert_int_equal(tly_buf_printf(&b, "%.999s", big), 0);
    assert_int_equal(b.len, 599);
    assert_int_equal(tly_buf_printf(&b, "%.401s", big), 0);
    assert_int_equal(b.len, 1000);
    s = take(&b);
    assert_int_equal(tly_buf_printf(&b, "x"), TLY_ETOOBIG);
    expect_unchanged(&b, &s);
    tly_buf_free(&b);
}

static void expect_escape(const char *in, size_t n, const char *want)
{
    struct tly_buf b;
    tly_buf_init(&b, 0);
    assert_int_equal(tly_buf_puts(&b, "<"), 0);
    assert_int_equal(tly_buf_json_escape(&b, in, n), 0);
    assert_int_equal(tly_buf_puts(&b, ">"), 0);
    size_t wl = strlen(want);
    assert_int_equal(b.len, wl + 2);
    assert_memory_equal(b.data + 1, want, wl);
    tly_buf_free(&b);
}

static void test_json_escape(void **state)
{
    (void)state;
    expect_escape("", 0, "");
    expect_escape("plain text", 10, "plain text");
    expect_escape("say \"hi\"", 8, "say \\\"hi\\\"");
    expect_escape("a\\b", 3, "a\\\\b");
    expect_escape("\n\r\t", 3, "\\n\\r\\t");
    expect_escape("\x01\x08\x0b\x0c\x1f", 5, "\\u0001\\u0008\\u000b\\u000c\\u001f");
    expect_escape("a\0b", 3, "a\\u0000b"); /* embedded NUL counts by n */
    expect_escape("\"", 1, "\\\"");
    expect_escape("\\\\", 2, "\\\\\\\\");
    /* Bytes 0x20 and up other than '"' and '\\' pass through, UTF-8 too. */
    expect_escape("/ ~\x7f", 4, "/ ~\x7f");
    expect_escape("caf\xc3\xa9", 5, "caf\xc3\xa9");                /* é */
    expect_escape("\xe2\x82\xac 5", 5, "\xe2\x82\xac 5");          /* € */
    expect_escape("\xf0\x9f\x98\x80\n", 5, "\xf0\x9f\x98\x80\\n"); /* 😀 */
    expect_escape("\xff\xfe\x80", 3, "\xff\xfe\x80");              /* not UTF-8: copied */
}

static void test_json_str(void **state)
{
    (void)state;
    struct tly_buf b;
    tly_buf_init(&b, 0);
    assert_int_equal(tly_buf_json_str(&b, "a\"b", 3), 0);
    expect_content(&b, "\"a\\\"b\"", 6);
    tly_buf_reset(&b);
    assert_int_equal(tly_buf_json_str(&b, "", 0), 0);
    expect_content(&b, "\"\"", 2);
    tly_buf_free(&b);
}

/* Every ASCII byte 0x01..0x7F plus a few UTF-8 characters, through
 * json_str, parses back (cJSON) to the input. */
static void test_json_str_round_trip(void **state)
{
    (void)state;
    char text[136];
    for (int i = 0; i < 127; i++)
        text[i] = (char)(i + 1);
    memcpy(text + 127, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9); /* é € 😀 */
    size_t n = sizeof text;

    struct tly_buf b;
    tly_buf_init(&b, 0);
    assert_int_equal(tly_buf_json_str(&b, text, n), 0);
    for (size_t i = 0; i < b.len; i++)
        assert_true((unsigned char)b.data[i] >= 0x20); /* no raw control bytes */
    cJSON *j = cJSON_ParseWithLength(b.data, b.len);
    assert_non_null(j);
    assert_true(cJSON_IsString(j));
    assert_int_equal(strlen(j->valuestring), n);
    assert_memory_equal(j->valuestring, text, n);
    cJSON_Delete(j);
    tly_buf_free(&b);
}

/* buf.h: "Appends that would pass `max` fail with TLY_ETOOBIG and leave the
 * buffer unchanged". The escaping appends go through in pieces, so one that
 * runs out of room part-way must not leave the pieces before it behind. */
static void test_json_escape_over_max_leaves_buffer_unchanged(void **state)
{
    (void)state;
    struct tly_buf b;
    tly_buf_init(&b, 8);
    assert_int_equal(tly_buf_puts(&b, "ab"), 0);
    /* "x\"yyyy" escapes to 7 bytes; 2 + 7 > 8. */
    int rc1 = tly_buf_json_escape(&b, "x\"yyyy", 6);
    size_t len1 = b.len;
    int same1 = b.len == 2 && memcmp(b.data, "ab", 3) == 0;
    tly_buf_reset(&b);
    assert_int_equal(tly_buf_puts(&b, "ab"), 0);
    /* A quoted string: "\"" + "abcdef" + "\"" = 8 bytes; 2 + 8 > 8. */
    int rc2 = tly_buf_json_str(&b, "abcdef", 6);
    size_t len2 = b.len;
    int same2 = b.len == 2 && memcmp(b.data, "ab", 3) == 0;
    tly_buf_free(&b);

    assert_int_equal(rc1, TLY_ETOOBIG);
    assert_int_equal(rc2, TLY_ETOOBIG);
    if (!same1 || !same2)
        print_error("len after failed json_escape %zu, after failed json_str %zu (want 2)\n", len1,
                    len2);
    assert_true(same1);
    assert_true(same2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_and_free),
        cmocka_unit_test(test_append_grows),
        cmocka_unit_test(test_reset_keeps_allocation),
        cmocka_unit_test(test_reserve),
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_max_bound),
        cmocka_unit_test(test_json_escape),
        cmocka_unit_test(test_json_str),
        cmocka_unit_test(test_json_str_round_trip),
        cmocka_unit_test(test_json_escape_over_max_leaves_buffer_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
