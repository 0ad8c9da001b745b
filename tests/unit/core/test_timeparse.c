/*
 * Unit tests for src/core/timeparse.h: every accepted timestamp form with
 * its exact UTC instant, every rejected form with TLY_EINVAL and a message
 * naming the field and (for the parser) the byte at fault, formatting and
 * its round trip, and days_from_civil on known dates.
 *
 * Expected instants were computed independently (Python's datetime) and are
 * hard-coded. Every input is parsed from an exact-size heap copy without a
 * terminating NUL, so the ASan variant catches any read past `n`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/timeparse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Known instants (ms since the epoch, UTC). */
#define T_0430Z   1704429000000LL   /* 2024-01-05T04:30:00Z */
#define T_0500Z   1704430800000LL   /* 2024-01-05T05:00:00Z */
#define T_1000Z   1704448800000LL   /* 2024-01-05T10:00:00Z */
#define T_1800Z   1704477600000LL   /* 2024-01-05T18:00:00Z */
#define T_LEAPDAY 1709210096000LL   /* 2024-02-29T12:34:56Z */
#define T_MAR1    1709251200000LL   /* 2024-03-01T00:00:00Z */
#define T_MAX     253402300799999LL /* 9999-12-31T23:59:59.999Z */

/* Parses `s` from an exact-size copy (no NUL after it). */
static int parse(const char *s, int64_t *out, struct tly_error *err)
{
    size_t n = strlen(s);
    char *copy = malloc(n > 0 ? n : 1);
    assert_non_null(copy);
    memcpy(copy, s, n);
    int rc = tly_time_parse(copy, n, out, "ts", err);
    free(copy);
    return rc;
}

static void expect_ms(const char *s, int64_t want)
{
    int64_t got = -12345;
    struct tly_error err = {{0}};
    int rc = parse(s, &got, &err);
    if (rc != 0)
        print_error("input \"%s\" rejected: %s\n", s, err.msg);
    assert_int_equal(rc, 0);
    if (got != want)
        print_error("input \"%s\": got %lld, want %lld\n", s, (long long)got, (long long)want);
    assert_int_equal(got, want);
}

/* Rejected with TLY_EINVAL, field "ts", a message that starts with "ts: ",
 * contains `what` and ends with " at byte <pos>". */
static void expect_reject(const char *s, const char *what, size_t pos)
{
    int64_t got = -12345;
    struct tly_error err = {{0}};
    int rc = parse(s, &got, &err);
    if (rc != TLY_EINVAL)
        print_error("input \"%s\" not rejected (rc %d, ms %lld)\n", s, rc, (long long)got);
    assert_int_equal(rc, TLY_EINVAL);
    assert_string_equal(err.field, "ts");
    assert_true(strncmp(err.msg, "ts: ", 4) == 0);
    if (strstr(err.msg, what) == NULL)
        print_error("input \"%s\": message \"%s\" lacks \"%s\"\n", s, err.msg, what);
    assert_non_null(strstr(err.msg, what));
    char tail[48];
    snprintf(tail, sizeof tail, " at byte %zu", pos);
    size_t ml = strlen(err.msg), tl = strlen(tail);
    if (ml < tl || strcmp(err.msg + ml - tl, tail) != 0)
        print_error("input \"%s\": message \"%s\" does not end with \"%s\"\n", s, err.msg, tail);
    assert_true(ml >= tl && strcmp(err.msg + ml - tl, tail) == 0);
}

/* ---- accepted ISO-8601 forms ---- */

static void test_offsets(void **state)
{
    (void)state;
    expect_ms("2024-01-05T10:00:00Z", T_1000Z);
    expect_ms("2024-01-05T10:00:00z", T_1000Z);
    expect_ms("2024-01-05T10:00:00+05:30", T_0430Z);
    expect_ms("2024-01-05T10:00:00+0530", T_0430Z);
    expect_ms("2024-01-05T10:00:00+05", T_0500Z);
    expect_ms("2024-01-05T10:00:00-08:00", T_1800Z);
    expect_ms("2024-01-05T10:00:00-0800", T_1800Z);
    expect_ms("2024-01-05T10:00:00-08", T_1800Z);
    expect_ms("2024-01-05T10:00:00+00:00", T_1000Z);
    expect_ms("2024-01-05T10:00:00-00:00", T_1000Z);
    expect_ms("2024-01-05T10:00:00+23:59", T_1000Z - (23 * 60 + 59) * 60000LL);
    /* An offset that moves the instant across midnight and a month end. */
    expect_ms("2024-02-29T20:00:00-04:00", T_MAR1);
}

static void test_separators_and_no_seconds(void **state)
{
    (void)state;
    expect_ms("2024-01-05 10:00:00Z", T_1000Z);
    expect_ms("2024-01-05t10:00:00Z", T_1000Z);
    expect_ms("2024-01-05T10:00Z", T_1000Z);
    expect_ms("2024-01-05T10:00+05:30", T_0430Z);
    expect_ms("2024-01-05 10:00z", T_1000Z);
}

static void test_fractions_truncate_to_ms(void **state)
{
    (void)state;
    expect_ms("2024-01-05T10:00:00.1Z", T_1000Z + 100);
    expect_ms("2024-01-05T10:00:00.12Z", T_1000Z + 120);
    expect_ms("2024-01-05T10:00:00.123Z", T_1000Z + 123);
    expect_ms("2024-01-05T10:00:00.1234Z", T_1000Z + 123);
    expect_ms("2024-01-05T10:00:00.12345Z", T_1000Z + 123);
    expect_ms("2024-01-05T10:00:00.123456Z", T_1000Z + 123);
    expect_ms("2024-01-05T10:00:00.1234567Z", T_1000Z + 123);
    expect_ms("2024-01-05T10:00:00.12345678Z", T_1000Z + 123);
    expect_ms("2024-01-05T10:00:00.123456789Z", T_1000Z + 123);
    /* Truncated, never rounded up. */
    expect_ms("2024-01-05T10:00:00.999999999Z", T_1000Z + 999);
    expect_ms("2024-01-05T10:00:00.0009Z", T_1000Z);
    expect_ms("2024-01-05T10:00:00.987+05:30", T_0430Z + 987);
}

static void test_calendar_edges(void **state)
{
    (void)state;
    expect_ms("2024-02-29T12:34:56Z", T_LEAPDAY);
    expect_ms("2024-03-01T00:00:00Z", T_MAR1);
    expect_ms("2000-02-29T00:00:00Z", 951782400000LL); /* 2000 is a leap year */
    expect_ms("2023-12-31T23:59:59Z", 1704067199000LL);
    expect_ms("1970-01-01T00:00:00Z", 0);
    expect_ms("1970-01-01T05:30:00+05:30", 0);
    expect_ms("9999-12-31T23:59:59.999Z", T_MAX);
}

/* ---- accepted epoch forms ---- */

static void test_epoch_numbers(void **state)
{
    (void)state;
    int64_t ms = -1;
    struct tly_error err = {{0}};
    /* Seconds. */
    assert_int_equal(tly_time_from_number(1704429000.0, &ms, "ts", &err), 0);
    assert_int_equal(ms, T_0430Z);
    assert_int_equal(tly_time_from_number(0.0, &ms, "ts", &err), 0);
    assert_int_equal(ms, 0);
    /* The largest value still read as seconds, and the smallest read as ms. */
    assert_int_equal(tly_time_from_number(99999999999.0, &ms, "ts", &err), 0);
    assert_int_equal(ms, 99999999999000LL);
    assert_int_equal(tly_time_from_number(100000000000.0, &ms, "ts", &err), 0);
    assert_int_equal(ms, 100000000000LL);
    /* Milliseconds. */
    assert_int_equal(tly_time_from_number(1704429000123.0, &ms, "ts", &err), 0);
    assert_int_equal(ms, T_0430Z + 123);
    /* Seconds with a fraction, kept to the millisecond (truncated). */
    assert_int_equal(tly_time_from_number(1704429000.123, &ms, "ts", &err), 0);
    assert_int_equal(ms, T_0430Z + 123);
    assert_int_equal(tly_time_from_number(1704429000.5, &ms, "ts", &err), 0);
    assert_int_equal(ms, T_0430Z + 500);
    assert_int_equal(tly_time_from_number(1704429000.9999, &ms, "ts", &err), 0);
    assert_int_equal(ms, T_0430Z + 999);
    /* Milliseconds with a fraction: the fraction is dropped. */
    assert_int_equal(tly_time_from_number(1704429000123.75, &ms, "ts", &err), 0);
    assert_int_equal(ms, T_0430Z + 123);
    assert_int_equal(tly_time_from_number((double)T_MAX, &ms, "ts", &err), 0);
    assert_int_equal(ms, T_MAX);
}

static void test_epoch_strings(void **state)
{
    (void)state;
    expect_ms("1704429000", T_0430Z);
    expect_ms("1704429000123", T_0430Z + 123);
    expect_ms("0", 0);
    expect_ms("99999999999", 99999999999000LL);
    expect_ms("100000000000", 100000000000LL);
    expect_ms("1704429000.5", T_0430Z + 500);
    expect_ms("1704429000.25", T_0430Z + 250);
    expect_ms("1704429000.123", T_0430Z + 123);
    expect_ms("1704429000123.9", T_0430Z + 123);
    expect_ms("253402300799999", T_MAX);
}

/* The digits of a decimal string are exact, so "S.mmm" must give exactly
 * S*1000 + mmm. The parser accumulates the fraction in a double (0.1, 0.01,
 * 0.001 steps) and floors the product, which loses a millisecond for about
 * one fraction in five at today's epoch values. */
static void test_epoch_string_fraction_exact_ms(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t ms;
    } cases[] = {
        {"1704429000.038", T_0430Z + 38},
        {"1704429000.061", T_0430Z + 61},
        {"1.001", 1001},
        {"1.005", 1005},
    };
    int wrong = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t ms = -1;
        if (parse(cases[i].s, &ms, NULL) != 0 || ms != cases[i].ms) {
            print_error("\"%s\": got %lld, want %lld\n", cases[i].s, (long long)ms,
                        (long long)cases[i].ms);
            wrong++;
        }
    }
    int wrong_all = 0;
    for (int f = 0; f < 1000; f++) {
        char s[32];
        snprintf(s, sizeof s, "1704429000.%03d", f);
        int64_t ms = -1;
        if (parse(s, &ms, NULL) != 0 || ms != T_0430Z + f)
            wrong_all++;
    }
    if (wrong_all != 0)
        print_error("%d of the 1000 strings 1704429000.000 .. .999 parse to the wrong ms\n",
                    wrong_all);
    assert_int_equal(wrong, 0);
    assert_int_equal(wrong_all, 0);
}

/* ---- rejected forms ---- */

static void test_reject_shape(void **state)
{
    (void)state;
    expect_reject("", "empty", 0);
    expect_reject("2024-01-05", "expected time after date", 10);
    expect_reject("2024-01-05T10:00:00", "missing UTC offset", 19);
    expect_reject("2024-01-05T10:00", "missing UTC offset", 16);
    expect_reject("2024-01-05X10:00:00Z", "expected 'T'", 10);
    expect_reject("2024-01-05T10:00:00Zjunk", "unexpected characters after timestamp", 20);
    expect_reject("2024-01-05T10:00:00+05:30 ", "unexpected characters after timestamp", 25);
    expect_reject("2024-01-05T10:00:00.Z", "expected digits after decimal point", 20);
    expect_reject("2024-01-05T10:00:00.1234567890Z", "more than 9 fraction digits", 29);
    expect_reject("2024-01-05T10:00:00+5:30", "expected 2-digit offset hours", 21);
    expect_reject("2024-01-05T10:00:00+05:3", "expected 2-digit offset minutes", 24);
    expect_reject("2024-01-05T10:00:00EST", "expected 'Z'", 19);
    expect_reject("2024-1-05T10:00:00Z", "expected 2-digit month", 6);
    expect_reject("2024-01-05T1:00:00Z", "expected 2-digit hour", 12);
}

static void test_reject_field_ranges(void **state)
{
    (void)state;
    expect_reject("2024-13-05T10:00:00Z", "month out of range", 5);
    expect_reject("2024-00-05T10:00:00Z", "month out of range", 5);
    expect_reject("2024-02-30T10:00:00Z", "day out of range", 8);
    expect_reject("2023-02-29T10:00:00Z", "day out of range", 8);
    expect_reject("2100-02-29T10:00:00Z", "day out of range", 8);
    expect_reject("2024-04-31T10:00:00Z", "day out of range", 8);
    expect_reject("2024-01-00T10:00:00Z", "day out of range", 8);
    expect_reject("2024-01-05T24:00:00Z", "hour out of range", 11);
    expect_reject("2024-01-05T10:60:00Z", "minute out of range", 14);
    expect_reject("2024-01-05T10:00:60Z", "second out of range", 17);
    expect_reject("2024-01-05T10:00:00+24:00", "offset out of range", 20);
    expect_reject("2024-01-05T10:00:00-24:00", "offset out of range", 20);
    expect_reject("2024-01-05T10:00:00+05:60", "offset out of range", 20);
    expect_reject("1969-12-31T23:59:59Z", "year out of range", 0);
    /* A valid local time whose instant falls before 1970. */
    expect_reject("1970-01-01T00:30:00+01:00", "instant out of range", 0);
    expect_reject("9999-12-31T23:59:59-00:01", "instant out of range", 0);
}

static void test_reject_epoch_and_letters(void **state)
{
    (void)state;
    expect_reject("-1704429000", "unexpected character in epoch number", 0);
    expect_reject("-1", "unexpected character in epoch number", 0);
    expect_reject("yesterday", "unexpected character in epoch number", 0);
    expect_reject("now", "unexpected character in epoch number", 0);
    expect_reject("abcd-01-05T10:00:00Z", "expected 4-digit year", 0);
    expect_reject("1704429000x", "unexpected character in epoch number", 10);
    expect_reject("1704429000.", "expected digits after '.'", 11);
    expect_reject("1704429000.5.5", "unexpected character in epoch number", 12);
    expect_reject("17044290001234567", "epoch number too long", 16);

    /* After 9999 as a digit string: rejected, no byte position. */
    int64_t ms = -1;
    struct tly_error err = {{0}};
    assert_int_equal(parse("253402300800000", &ms, &err), TLY_EINVAL);
    assert_string_equal(err.field, "ts");
    assert_non_null(strstr(err.msg, "ts: "));
    assert_non_null(strstr(err.msg, "9999"));
}

static void test_reject_non_finite_and_negative_numbers(void **state)
{
    (void)state;
    const double bad[] = {NAN, INFINITY, -INFINITY, -1.0, -0.001, -1704429000.0, 253402300800000.0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = -12345;
        struct tly_error err = {{0}};
        assert_int_equal(tly_time_from_number(bad[i], &ms, "event_time", &err), TLY_EINVAL);
        assert_string_equal(err.field, "event_time");
        assert_true(strncmp(err.msg, "event_time: ", 12) == 0);
        assert_int_equal(ms, -12345); /* untouched on error */
    }
}

static void test_null_error_is_allowed(void **state)
{
    (void)state;
    int64_t ms = -1;
    assert_int_equal(tly_time_parse("2024-13-05T10:00:00Z", 20, &ms, "ts", NULL), TLY_EINVAL);
    assert_int_equal(tly_time_from_number(NAN, &ms, "ts", NULL), TLY_EINVAL);
    assert_int_equal(tly_time_parse("2024-01-05T10:00:00Z", 20, &ms, "ts", NULL), 0);
    assert_int_equal(ms, T_1000Z);
}

/* Only the first n bytes are the timestamp. */
static void test_length_is_respected(void **state)
{
    (void)state;
    const char *s = "2024-01-05T10:00:00Zjunk";
    int64_t ms = -1;
    assert_int_equal(tly_time_parse(s, 20, &ms, "ts", NULL), 0);
    assert_int_equal(ms, T_1000Z);
    assert_int_equal(tly_time_parse(s, 19, &ms, "ts", NULL), TLY_EINVAL);
    assert_int_equal(tly_time_parse("1704429000123", 10, &ms, "ts", NULL), 0);
    assert_int_equal(ms, T_0430Z);
}

/* ---- formatting and calendar ---- */

static void expect_format(int64_t ms, const char *want)
{
    char out[25];
    memset(out, 'x', sizeof out);
    tly_time_format(ms, out);
    assert_string_equal(out, want);
}

static void test_format(void **state)
{
    (void)state;
    expect_format(0, "1970-01-01T00:00:00.000Z");
    expect_format(T_1000Z + 123, "2024-01-05T10:00:00.123Z");
    expect_format(T_LEAPDAY + 7, "2024-02-29T12:34:56.007Z");
    expect_format(T_MAX, "9999-12-31T23:59:59.999Z");
    /* Out of range values are clamped. */
    expect_format(-5, "1970-01-01T00:00:00.000Z");
    expect_format(T_MAX + 1000, "9999-12-31T23:59:59.999Z");
}

static void test_format_round_trip(void **state)
{
    (void)state;
    const int64_t v[] = {0,         1,         999,           T_0430Z,         T_1000Z + 123,
                         T_1800Z,   T_LEAPDAY, T_MAR1 - 1,    951782400000LL,  4102444800000LL,
                         T_MAX - 1, T_MAX,     1234567890123, 99999999999000LL};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char out[25];
        tly_time_format(v[i], out);
        assert_int_equal(strlen(out), 24);
        int64_t back = -1;
        assert_int_equal(tly_time_parse(out, strlen(out), &back, "ts", NULL), 0);
        assert_int_equal(back, v[i]);
    }
}

static void test_days_from_civil(void **state)
{
    (void)state;
    assert_int_equal(tly_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(tly_days_from_civil(1970, 1, 2), 1);
    assert_int_equal(tly_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(tly_days_from_civil(2000, 1, 1), 10957);
    assert_int_equal(tly_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(tly_days_from_civil(2024, 2, 29), 19782);
    assert_int_equal(tly_days_from_civil(2100, 3, 1), 47541);
    assert_int_equal(tly_days_from_civil(9999, 12, 31), 2932896);
    assert_int_equal(tly_days_from_civil(1600, 1, 1), -135140);
    /* "Any month/day": Feb 30 is March 1 (in a leap year), March 2 otherwise. */
    assert_int_equal(tly_days_from_civil(2024, 2, 30), tly_days_from_civil(2024, 3, 1));
    assert_int_equal(tly_days_from_civil(2023, 2, 30), tly_days_from_civil(2023, 3, 2));
}

static void test_now_is_plausible(void **state)
{
    (void)state;
    int64_t a = tly_now_ms();
    int64_t b = tly_now_ms();
    assert_true(a > 1704067200000LL); /* after 2024-01-01 */
    assert_true(b >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_separators_and_no_seconds),
        cmocka_unit_test(test_fractions_truncate_to_ms),
        cmocka_unit_test(test_calendar_edges),
        cmocka_unit_test(test_epoch_numbers),
        cmocka_unit_test(test_epoch_strings),
        cmocka_unit_test(test_epoch_string_fraction_exact_ms),
        cmocka_unit_test(test_reject_shape),
        cmocka_unit_test(test_reject_field_ranges),
        cmocka_unit_test(test_reject_epoch_and_letters),
        cmocka_unit_test(test_reject_non_finite_and_negative_numbers),
        cmocka_unit_test(test_null_error_is_allowed),
        cmocka_unit_test(test_length_is_respected),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_round_trip),
        cmocka_unit_test(test_days_from_civil),
        cmocka_unit_test(test_now_is_plausible),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
