/*
 * Unit tests for src/core/tz.h: UTC offsets around DST changes (northern and
 * southern hemispheres, half- and three-quarter-hour zones, zones where
 * local midnight is skipped), day/week/month numbering and starts at their
 * boundaries, the footer rule far past the last transition, the consistency
 * of period_of and period_start over many instants, name validation,
 * unknown zones, corrupt files, and agreement with the C library's
 * localtime_r for many random instants in many zones.
 *
 * Expected instants and offsets were computed independently (Python's
 * zoneinfo) and are hard-coded. Zones are read from the system's tzdata;
 * the corrupt-file cases point TZDIR at a temporary directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/timeparse.h"
#include "core/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define HOUR_MS 3600000LL
#define DAY_MS  86400000LL

static struct tly_tz *load(const char *name)
{
    struct tly_tz *tz = NULL;
    struct tly_error err = {{0}};
    int rc = tly_tz_load(name, &tz, &err);
    if (rc != 0)
        print_error("loading %s: %d %s\n", name, rc, err.msg);
    assert_int_equal(rc, 0);
    assert_non_null(tz);
    assert_string_equal(tly_tz_name(tz), name);
    return tz;
}

/* The offset is `before` one second before `t` and `after` from `t` on. */
static void expect_change(const char *zone, int64_t t, int32_t before, int32_t after)
{
    struct tly_tz *tz = load(zone);
    if (tly_tz_offset(tz, t - 1) != before || tly_tz_offset(tz, t) != after)
        print_error("%s at %lld: %d / %d, want %d / %d\n", zone, (long long)t,
                    tly_tz_offset(tz, t - 1), tly_tz_offset(tz, t), before, after);
    assert_int_equal(tly_tz_offset(tz, t - 1000), before);
    assert_int_equal(tly_tz_offset(tz, t - 1), before);
    assert_int_equal(tly_tz_offset(tz, t), after);
    assert_int_equal(tly_tz_offset(tz, t + 1000), after);
    tly_tz_free(tz);
}

static void test_utc_needs_no_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/tly-tz-empty-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_int_equal(setenv("TZDIR", dir, 1), 0);
    const char *names[] = {"UTC", "Etc/UTC"};
    for (int i = 0; i < 2; i++) {
        struct tly_tz *tz = load(names[i]);
        assert_int_equal(tly_tz_offset(tz, 1711846800000LL), 0);
        assert_int_equal(tly_tz_offset(tz, -5000000000000LL), 0);
        assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_DAY, 0), 0);
        assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_DAY, -1), -1);
        assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_WEEK, 0), 0);
        assert_int_equal(tly_tz_period_start(tz, TLY_PERIOD_WEEK, 0), -3 * DAY_MS);
        assert_int_equal(tly_tz_period_start(tz, TLY_PERIOD_WEEK, 1), 4 * DAY_MS);
        assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_MONTH, 0), 0);
        assert_int_equal(tly_tz_period_start(tz, TLY_PERIOD_MONTH, 1), 31 * DAY_MS);
        assert_int_equal(tly_tz_period_start(tz, TLY_PERIOD_MONTH, -1), -31 * DAY_MS);
        tly_tz_free(tz);
    }
    /* A zone that needs a file is not found in the empty directory. */
    struct tly_tz *tz = NULL;
    struct tly_error err = {{0}};
    assert_int_equal(tly_tz_load("Europe/Berlin", &tz, &err), TLY_ENOENT);
    assert_null(tz);
    assert_int_equal(unsetenv("TZDIR"), 0);
    assert_int_equal(rmdir(dir), 0);
}

static void test_offsets_around_dst(void **state)
{
    (void)state;
    expect_change("Europe/Berlin", 1711846800000LL, 3600, 7200);        /* 2024-03-31T01:00Z */
    expect_change("Europe/Berlin", 1729990800000LL, 7200, 3600);        /* 2024-10-27T01:00Z */
    expect_change("America/New_York", 1710054000000LL, -18000, -14400); /* 2024-03-10T07Z */
    expect_change("America/New_York", 1730613600000LL, -14400, -18000); /* 2024-11-03T06Z */
    /* Southern hemisphere: DST ends in April, starts in October. */
    expect_change("Australia/Sydney", 1712419200000LL, 39600, 36000);   /* 2024-04-06T16Z */
    expect_change("Australia/Sydney", 1728144000000LL, 36000, 39600);   /* 2024-10-05T16Z */
    expect_change("Pacific/Chatham", 1727532000000LL, 45900, 49500);    /* +12:45 → +13:45 */
    expect_change("America/Santiago", 1725768000000LL, -14400, -10800); /* 2024-09-08T04Z */
    expect_change("Asia/Beirut", 1711836000000LL, 7200, 10800);         /* 2024-03-30T22Z */

    struct tly_tz *tz = load("Asia/Kolkata");
    const int64_t at[] = {0, 1711846800000LL, 1729990800000LL, 4109878800000LL};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
        assert_int_equal(tly_tz_offset(tz, at[i]), 19800);
    tly_tz_free(tz);
}

/* Far past the last transition of the table, the footer rule decides. */
static void test_footer_rule_far_future(void **state)
{
    (void)state;
    expect_change("Europe/Berlin", 4109878800000LL, 3600, 7200);        /* 2100-03-28T01Z */
    expect_change("America/New_York", 4129250400000LL, -14400, -18000); /* 2100-11-07T06Z */
    expect_change("Australia/Sydney", 4126176000000LL, 36000, 39600);   /* 2100-10-02T16Z */
    /* Chile's rule: Saturday 24:00 (M9.1.6/24, M4.1.6/24). */
    expect_change("America/Santiago", 3808094400000LL, -14400, -10800); /* 2090-09-03T04Z */
    expect_change("America/Santiago", 3794785200000LL, -10800, -14400); /* 2090-04-02T03Z */
    expect_change("Asia/Beirut", 3794162400000LL, 7200, 10800);         /* 2090-03-25T22Z */
    expect_change("Asia/Beirut", 3812907600000LL, 10800, 7200);         /* 2090-10-28T21Z */
}

static void test_day_week_month_boundaries(void **state)
{
    (void)state;
    struct tly_tz *tz = load("Europe/Berlin");
    const int64_t jan1 = 1704063600000LL; /* 2024-01-01T00:00+01:00, a Monday */
    assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_DAY, jan1), 19723);
    assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_DAY, jan1 - 1), 19722);
    assert_int_equal(tly_tz_period_start(tz, TLY_PERIOD_DAY, 19723), jan1);
    /* Weeks: Monday 00:00 local. 2024-01-01 is in week (19723 + 3) / 7. */
    int64_t w = tly_tz_period_of(tz, TLY_PERIOD_WEEK, jan1);
    assert_int_equal(w, (19723 + 3) / 7);
    assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_WEEK, jan1 - 1), w - 1);
    assert_int_equal(tly_tz_period_start(tz, TLY_PERIOD_WEEK, w), jan1);
    assert_int_equal(tly_tz_period_start(tz, TLY_PERIOD_WEEK, w + 1), jan1 + 7 * DAY_MS);
    /* The week of the spring change is an hour short. */
    const int64_t mar25 = 1711321200000LL; /* Monday 2024-03-25T00:00+01:00 */
    const int64_t apr1 = 1711922400000LL;  /* Monday 2024-04-01T00:00+02:00 */
    int64_t wm = tly_tz_period_of(tz, TLY_PERIOD_WEEK, mar25);
    assert_int_equal(tly_tz_period_start(tz, TLY_PERIOD_WEEK, wm), mar25);
    assert_int_equal(tly_tz_period_start(tz, TLY_PERIOD_WEEK, wm + 1), apr1);
    assert_int_equal(apr1 - mar25, 7 * DAY_MS - HOUR_MS);
    assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_WEEK, apr1 - 1), wm);

    /* Months: February of a leap year, then Dec → Jan. */
    const int64_t feb29 = 1709161200000LL; /* 2024-02-29T00:00+01:00 */
    const int64_t mar1 = 1709247600000LL;  /* 2024-03-01T00:00+01:00 */
    const int64_t m_feb = 2024 * 12 + 1 - 1970 * 12;
    assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_MONTH, feb29), m_feb);
    assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_MONTH, mar1 - 1), m_feb);
    assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_MONTH, mar1), m_feb + 1);
    assert_int_equal(tly_tz_period_start(tz, TLY_PERIOD_MONTH, m_feb + 1), mar1);
    assert_int_equal(mar1 - tly_tz_period_start(tz, TLY_PERIOD_MONTH, m_feb), 29 * DAY_MS);
    const int64_t dec31 = 1735599600000LL; /* 2024-12-31T00:00+01:00 */
    const int64_t jan25 = 1735686000000LL; /* 2025-01-01T00:00+01:00 */
    const int64_t m_jan25 = 2025 * 12 - 1970 * 12;
    assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_MONTH, jan25 - 1), m_jan25 - 1);
    assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_MONTH, jan25), m_jan25);
    assert_int_equal(tly_tz_period_start(tz, TLY_PERIOD_MONTH, m_jan25), jan25);
    assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_DAY, dec31), 20088);
    assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_DAY, jan25 - 1), 20088);
    assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_DAY, jan25), 20089);
    /* In UTC the same instant is still 2024-12-31. */
    tly_tz_free(tz);
    tz = load("UTC");
    assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_MONTH, jan25), m_jan25 - 1);
    assert_int_equal(tly_tz_period_start(tz, TLY_PERIOD_MONTH, m_jan25), jan25 + HOUR_MS);
    tly_tz_free(tz);

    /* A non-leap February has 28 days (Sydney, 2023). */
    tz = load("Australia/Sydney");
    const int64_t m_feb23 = 2023 * 12 + 1 - 1970 * 12;
    assert_int_equal(tly_tz_period_start(tz, TLY_PERIOD_MONTH, m_feb23 + 1) -
                         tly_tz_period_start(tz, TLY_PERIOD_MONTH, m_feb23),
                     28 * DAY_MS);
    tly_tz_free(tz);
}

/* Where DST starts at local midnight, the day starts when the gap ends. */
static void test_skipped_midnight(void **state)
{
    (void)state;
    struct tly_tz *tz = load("America/Santiago");
    /* 2024-09-07 24:00 -04 → 2024-09-08 01:00 -03, at 04:00Z. */
    const int64_t gap_end = 1725768000000LL;
    assert_int_equal(tly_tz_period_start(tz, TLY_PERIOD_DAY, 19974), gap_end);
    assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_DAY, gap_end), 19974);
    assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_DAY, gap_end - 1), 19973);
    /* 2024-09-08 was a Sunday: the week did not start there, the day after
     * did (Monday 00:00 -03). */
    int64_t w = tly_tz_period_of(tz, TLY_PERIOD_WEEK, gap_end);
    assert_int_equal(tly_tz_period_start(tz, TLY_PERIOD_WEEK, w + 1), gap_end + 23 * HOUR_MS);
    /* The footer's version of the same, 2090-09-03. */
    assert_int_equal(tly_tz_period_start(tz, TLY_PERIOD_DAY, 3808094400LL / 86400),
                     3808094400000LL);
    tly_tz_free(tz);

    tz = load("Asia/Beirut");
    /* 2024-03-31 00:00 +02 → 01:00 +03 at 2024-03-30T22:00Z. */
    assert_int_equal(tly_tz_period_start(tz, TLY_PERIOD_DAY, 19813), 1711836000000LL);
    assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_DAY, 1711836000000LL - 1), 19812);
    /* April 2024 started normally; March 2090's day 25 → 26 change too. */
    assert_int_equal(tly_tz_period_start(tz, TLY_PERIOD_DAY, 3794162400LL / 86400 + 1),
                     3794162400000LL);
    tly_tz_free(tz);
}

/* A small deterministic generator (xorshift64*), so failures reproduce. */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

/* period_start(period_of(t)) <= t < period_start(period_of(t) + 1), and a
 * period's start is its first instant: the instant before is in an earlier
 * period. Zones whose clocks go back across midnight (Santiago, Beirut)
 * revisit the previous day for an hour; there only the first half holds
 * for instants in that hour, so they are checked apart below. */
static void test_period_consistency(void **state)
{
    (void)state;
    const char *zones[] = {
        "UTC",           "Europe/Berlin",   "America/New_York", "Australia/Sydney",
        "Asia/Kolkata",  "Pacific/Chatham", "America/Havana",   "Australia/Lord_Howe",
        "Europe/Dublin", "America/Nuuk",    "Antarctica/Troll", "Pacific/Apia"};
    const enum tly_period ps[] = {TLY_PERIOD_DAY, TLY_PERIOD_WEEK, TLY_PERIOD_MONTH};
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    const int64_t lo = -2208988800000LL, span = 2 * 4102444800000LL; /* 1900..2230 */
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        struct tly_tz *tz = load(zones[z]);
        for (int i = 0; i < 4000; i++) {
            int64_t t = lo + (int64_t)(next_rand(&seed) % (uint64_t)span);
            for (int k = 0; k < 3; k++) {
                int64_t n = tly_tz_period_of(tz, ps[k], t);
                int64_t s0 = tly_tz_period_start(tz, ps[k], n);
                int64_t s1 = tly_tz_period_start(tz, ps[k], n + 1);
                if (!(s0 <= t && t < s1))
                    print_error("%s period %d at %lld: n %lld, [%lld, %lld)\n", zones[z],
                                (int)ps[k], (long long)t, (long long)n, (long long)s0,
                                (long long)s1);
                assert_true(s0 <= t && t < s1);
                assert_int_equal(tly_tz_period_of(tz, ps[k], s0), n);
                assert_true(tly_tz_period_of(tz, ps[k], s0 - 1) < n);
            }
        }
        tly_tz_free(tz);
    }

    const char *back_at_midnight[] = {"America/Santiago", "Asia/Beirut"};
    for (size_t z = 0; z < 2; z++) {
        struct tly_tz *tz = load(back_at_midnight[z]);
        int revisits = 0;
        for (int i = 0; i < 4000; i++) {
            int64_t t = lo + (int64_t)(next_rand(&seed) % (uint64_t)span);
            int64_t n = tly_tz_period_of(tz, TLY_PERIOD_DAY, t);
            int64_t s0 = tly_tz_period_start(tz, TLY_PERIOD_DAY, n);
            assert_true(s0 <= t);
            assert_true(tly_tz_period_of(tz, TLY_PERIOD_DAY, s0 - 1) < n);
            if (t >= tly_tz_period_start(tz, TLY_PERIOD_DAY, n + 1)) {
                /* Only in the hour the clocks went back over midnight. */
                assert_true(t < tly_tz_period_start(tz, TLY_PERIOD_DAY, n + 1) + HOUR_MS);
                revisits++;
            }
        }
        assert_true(revisits < 40);
        tly_tz_free(tz);
    }
}

/* The C library (glibc reading the same files) agrees on the offset and the
 * local date of many random instants. */
static void test_matches_libc(void **state)
{
    (void)state;
    const char *zones[] = {
        "Europe/Berlin",    "America/New_York",  "Australia/Sydney",   "Asia/Kolkata",
        "America/Santiago", "Asia/Beirut",       "Pacific/Chatham",    "Australia/Lord_Howe",
        "America/Havana",   "Africa/Casablanca", "Europe/Dublin",      "America/Nuuk",
        "Antarctica/Troll", "Pacific/Apia",      "Asia/Tehran",        "America/St_Johns",
        "Europe/London",    "America/Sao_Paulo", "Pacific/Kiritimati", "America/Los_Angeles"};
    char *saved = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    assert_int_equal(unsetenv("TZDIR"), 0);
    uint64_t seed = 42;
    const int64_t lo = -2208988800LL, span = 4102444800LL + 2208988800LL + 3155760000LL;
    for (size_t z = 0; z < sizeof zones / sizeof zones[0]; z++) {
        struct tly_tz *tz = load(zones[z]);
        assert_int_equal(setenv("TZ", zones[z], 1), 0);
        tzset();
        for (int i = 0; i < 3000; i++) {
            /* 1900..2230, half of them within a day of a sample instant
             * near a likely change (whole hours). */
            int64_t s = lo + (int64_t)(next_rand(&seed) % (uint64_t)span);
            if (i % 2)
                s -= s % 3600 + (int64_t)(next_rand(&seed) % 3) - 1;
            time_t tt = (time_t)s;
            struct tm tm;
            assert_non_null(localtime_r(&tt, &tm));
            int32_t off = tly_tz_offset(tz, s * 1000);
            if (off != tm.tm_gmtoff)
                print_error("%s at %lld s: %d, libc %ld\n", zones[z], (long long)s, off,
                            tm.tm_gmtoff);
            assert_int_equal(off, tm.tm_gmtoff);
            int64_t day = tly_days_from_civil(tm.tm_year + 1900LL, (unsigned)tm.tm_mon + 1,
                                              (unsigned)tm.tm_mday);
            assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_DAY, s * 1000), day);
            assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_MONTH, s * 1000),
                             (tm.tm_year + 1900LL) * 12 + tm.tm_mon - 1970 * 12);
        }
        tly_tz_free(tz);
    }
    if (saved != NULL) {
        setenv("TZ", saved, 1);
        free(saved);
    } else {
        unsetenv("TZ");
    }
    tzset();
}

static void expect_bad_name(const char *name)
{
    struct tly_tz *tz = NULL;
    struct tly_error err = {{0}};
    int rc = tly_tz_load(name, &tz, &err);
    if (rc != TLY_EINVAL)
        print_error("name \"%s\": rc %d\n", name, rc);
    assert_int_equal(rc, TLY_EINVAL);
    assert_null(tz);
    assert_string_equal(err.field, "timezone");
    assert_true(strstr(err.msg, "time zone name") != NULL);
}

static void test_bad_names(void **state)
{
    (void)state;
    expect_bad_name("../etc/passwd");
    expect_bad_name("Europe/../../etc/passwd");
    expect_bad_name("..");
    expect_bad_name("/etc");
    expect_bad_name("/usr/share/zoneinfo/UTC");
    expect_bad_name("");
    expect_bad_name("Europe//Berlin");
    expect_bad_name("Europe/Berlin/");
    expect_bad_name("Europe/Berlin ");
    expect_bad_name("Europe\\Berlin");
    expect_bad_name("Europe/Berlin\n");
    expect_bad_name("Europe/Berlin.tab");
    char long_name[100];
    memset(long_name, 'A', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    expect_bad_name(long_name);
    long_name[65] = '\0';
    expect_bad_name(long_name);
    /* The longest IANA name and the allowed punctuation are fine. */
    struct tly_tz *tz = load("America/Argentina/ComodRivadavia");
    tly_tz_free(tz);
    tz = load("Etc/GMT+5");
    assert_int_equal(tly_tz_offset(tz, 0), -5 * 3600);
    tly_tz_free(tz);
    tz = load("America/Port-au-Prince");
    tly_tz_free(tz);
}

static void test_unknown_zone(void **state)
{
    (void)state;
    const char *names[] = {"Mars/Olympus_Mons", "Europe", "Europe/Berlin/x", "utc"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct tly_tz *tz = NULL;
        struct tly_error err = {{0}};
        int rc = tly_tz_load(names[i], &tz, &err);
        if (rc != TLY_ENOENT)
            print_error("\"%s\": rc %d %s\n", names[i], rc, err.msg);
        assert_int_equal(rc, TLY_ENOENT);
        assert_null(tz);
        assert_non_null(strstr(err.msg, "unknown time zone"));
    }
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static void expect_bad_file(const char *name, const char *what)
{
    struct tly_tz *tz = NULL;
    struct tly_error err = {{0}};
    int rc = tly_tz_load(name, &tz, &err);
    if (rc != TLY_EINVAL || strstr(err.msg, what) == NULL)
        print_error("%s: rc %d \"%s\", want \"%s\"\n", name, rc, err.msg, what);
    assert_int_equal(rc, TLY_EINVAL);
    assert_null(tz);
    assert_non_null(strstr(err.msg, name));
    assert_non_null(strstr(err.msg, what));
}

/* Corrupt files in a TZDIR of our own: each is refused with what is wrong;
 * an intact copy beside them loads (so TZDIR is what was read). */
static void test_corrupt_files(void **state)
{
    (void)state;
    size_t len;
    unsigned char *berlin = read_all("/usr/share/zoneinfo/Europe/Berlin", &len);
    assert_true(len > 200);
    char dir[] = "/tmp/tly-tz-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256], sub[256];
    snprintf(sub, sizeof sub, "%s/Bad", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    const char *files[] = {"Copy",      "Bad/Truncated", "Bad/Header", "Bad/Magic", "Bad/Footer",
                           "Bad/Empty", "Bad/Order",     "Bad/Big",    "Bad/Counts"};
    unsigned char *big = calloc(1, 300 << 10);
    assert_non_null(big);
    memcpy(big, berlin, len);

    snprintf(path, sizeof path, "%s/Copy", dir);
    write_file(path, berlin, len);
    snprintf(path, sizeof path, "%s/Bad/Truncated", dir);
    write_file(path, berlin, len / 2);
    snprintf(path, sizeof path, "%s/Bad/Header", dir);
    write_file(path, berlin, 20);
    snprintf(path, sizeof path, "%s/Bad/Magic", dir);
    write_file(path, "TZiX", 4);
    snprintf(path, sizeof path, "%s/Bad/Footer", dir);
    unsigned char *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, berlin, len);
    memcpy(copy + len - 10, "M13.5.0/3\n", 10); /* month 13 */
    write_file(path, copy, len);
    snprintf(path, sizeof path, "%s/Bad/Empty", dir);
    write_file(path, "", 0);
    snprintf(path, sizeof path, "%s/Bad/Big", dir);
    write_file(path, big, 300 << 10);
    /* Swap two transition times of the 64-bit block. */
    memcpy(copy, berlin, len);
    uint32_t timecnt = (uint32_t)berlin[32] << 24 | berlin[33] << 16 | berlin[34] << 8 | berlin[35];
    uint32_t typecnt = (uint32_t)berlin[36] << 24 | berlin[37] << 16 | berlin[38] << 8 | berlin[39];
    uint32_t charcnt = (uint32_t)berlin[40] << 24 | berlin[41] << 16 | berlin[42] << 8 | berlin[43];
    uint32_t isstd = (uint32_t)berlin[24] << 24 | berlin[25] << 16 | berlin[26] << 8 | berlin[27];
    uint32_t isut = (uint32_t)berlin[20] << 24 | berlin[21] << 16 | berlin[22] << 8 | berlin[23];
    size_t v2 = 44 + timecnt * 5 + typecnt * 6 + charcnt + isstd + isut; /* no leap seconds */
    assert_memory_equal(berlin + v2, "TZif", 4);
    size_t t0 = v2 + 44;
    unsigned char tmp[8];
    memcpy(tmp, copy + t0, 8);
    memcpy(copy + t0, copy + t0 + 8, 8);
    memcpy(copy + t0 + 8, tmp, 8);
    snprintf(path, sizeof path, "%s/Bad/Order", dir);
    write_file(path, copy, len);
    /* A type count far larger than the file. */
    memcpy(copy, berlin, len);
    copy[v2 + 32] = 0x7f; /* timecnt */
    snprintf(path, sizeof path, "%s/Bad/Counts", dir);
    write_file(path, copy, len);

    assert_int_equal(setenv("TZDIR", dir, 1), 0);
    struct tly_tz *tz = load("Copy");
    assert_int_equal(tly_tz_offset(tz, 1711846800000LL), 7200);
    tly_tz_free(tz);
    expect_bad_file("Bad/Truncated", "truncated");
    expect_bad_file("Bad/Header", "truncated header");
    expect_bad_file("Bad/Magic", "truncated header");
    expect_bad_file("Bad/Footer", "bad TZ string in footer");
    expect_bad_file("Bad/Empty", "truncated header");
    expect_bad_file("Bad/Big", "too large");
    expect_bad_file("Bad/Order", "not ascending");
    expect_bad_file("Bad/Counts", "counts larger than the file");
    assert_int_equal(unsetenv("TZDIR"), 0);

    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        assert_int_equal(unlink(path), 0);
    }
    assert_int_equal(rmdir(sub), 0);
    assert_int_equal(rmdir(dir), 0);
    free(copy);
    free(big);
    free(berlin);
}

/* A version-3 TZif file with no transitions: one type and the footer. */
static size_t make_tzif(unsigned char *buf, char version, const char *footer, int32_t utoff)
{
    static const unsigned char counts[24] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                             0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 4};
    size_t n = 0;
    for (int block = 0; block < 2; block++) {
        memcpy(buf + n, "TZif", 4);
        buf[n + 4] = (unsigned char)version;
        memset(buf + n + 5, 0, 15);
        memcpy(buf + n + 20, counts, 24);
        n += 44;
        uint32_t u = (uint32_t)utoff;
        unsigned char type[6] = {u >> 24, u >> 16, u >> 8, u, 0, 0};
        memcpy(buf + n, type, 6);
        memcpy(buf + n + 6, "XXX", 4);
        n += 10;
        if (version == 0)
            return n;
    }
    buf[n++] = '\n';
    memcpy(buf + n, footer, strlen(footer));
    n += strlen(footer);
    buf[n++] = '\n';
    return n;
}

static struct tly_tz *parse_footer(const char *footer)
{
    unsigned char buf[256];
    size_t n = make_tzif(buf, '3', footer, 0);
    struct tly_tz *tz = NULL;
    struct tly_error err = {{0}};
    int rc = tly_tz_parse(buf, n, "Test/Zone", &tz, &err);
    if (rc != 0)
        print_error("footer \"%s\": %s\n", footer, err.msg);
    assert_int_equal(rc, 0);
    assert_string_equal(tly_tz_name(tz), "Test/Zone");
    return tz;
}

/* Footer rules of every form: Mm.w.d, Jn, n, negative and over-24-hour
 * times (version 3), DST all year, and strings that are refused. */
static void test_footer_forms(void **state)
{
    (void)state;
    /* Nuuk's: DST from last Sunday of March at -1:00 local. In 2030 that is
     * Saturday 2030-03-30 23:00 -02 = 2030-03-31T01:00Z. */
    struct tly_tz *tz = parse_footer("<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
    assert_int_equal(tly_tz_offset(tz, 1901149200000LL - 1), -7200);
    assert_int_equal(tly_tz_offset(tz, 1901149200000LL), -3600);
    tly_tz_free(tz);
    /* Over 24 hours: M3.1.0/50 is the first Sunday of March plus 50 h. In
     * 2030 that is Sunday 03-03, so Tuesday 2030-03-05T02:00 local (UTC+0). */
    tz = parse_footer("AAA0BBB,M3.1.0/50,M10.5.0/3");
    assert_int_equal(tly_tz_offset(tz, 1898906400000LL - 1), 0);
    assert_int_equal(tly_tz_offset(tz, 1898906400000LL), 3600);
    tly_tz_free(tz);
    /* Jn never counts February 29: J60 is March 1 in 2028 (leap) too. */
    tz = parse_footer("AAA0BBB,J60/0,J300/0");
    assert_int_equal(tly_tz_offset(tz, 1835481600000LL - 1), 0); /* 2028-03-01T00:00Z */
    assert_int_equal(tly_tz_offset(tz, 1835481600000LL), 3600);
    tly_tz_free(tz);
    /* n is zero-based and counts February 29: 59 is 2028-02-29. */
    tz = parse_footer("AAA0BBB,59/0,299/0");
    assert_int_equal(tly_tz_offset(tz, 1835395200000LL - 1), 0); /* 2028-02-29T00:00Z */
    assert_int_equal(tly_tz_offset(tz, 1835395200000LL), 3600);
    tly_tz_free(tz);
    /* DST all year: starts Jan 1 00:00 standard, ends Dec 31 25:00 DST. */
    tz = parse_footer("EST5EDT,0/0,J365/25");
    for (int64_t t = 1704067200000LL; t < 1704067200000LL + 400 * DAY_MS; t += 7 * HOUR_MS)
        assert_int_equal(tly_tz_offset(tz, t), -4 * 3600);
    tly_tz_free(tz);
    /* No rule: a fixed offset. With minutes and seconds. */
    tz = parse_footer("<+0545>-5:45");
    assert_int_equal(tly_tz_offset(tz, 4102444800000LL), 20700);
    tly_tz_free(tz);

    const char *bad[] = {"CET-1CEST,M3.5.0",
                         "CET-1CEST,M3.5.8,M10.5.0",
                         "CET-1CEST,M3.6.0,M1.1.0",
                         "CE-1",
                         "CET",
                         "CET-25",
                         "CET-1CEST,J0,J100",
                         "CET-1CEST,366,1",
                         "CET-1CEST,M3.5.0/168,M1.1.0",
                         "<>0",
                         "<AB C>0",
                         "CET-1CEST,M3.5.0,M10.5.0x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned char buf[256];
        size_t n = make_tzif(buf, '2', bad[i], 0);
        struct tly_tz *out = NULL;
        struct tly_error err = {{0}};
        int rc = tly_tz_parse(buf, n, "Test/Zone", &out, &err);
        if (rc != TLY_EINVAL)
            print_error("footer \"%s\" accepted\n", bad[i]);
        assert_int_equal(rc, TLY_EINVAL);
        assert_null(out);
        assert_non_null(strstr(err.msg, "footer"));
    }

    /* Version 1: 32-bit data, no footer; the one type applies always. */
    unsigned char buf[256];
    size_t n = make_tzif(buf, 0, "", 19800);
    struct tly_error err = {{0}};
    assert_int_equal(tly_tz_parse(buf, n, "V1", &tz, &err), 0);
    assert_int_equal(tly_tz_offset(tz, 4102444800000LL), 19800);
    assert_int_equal(tly_tz_period_start(tz, TLY_PERIOD_DAY, 1), DAY_MS - 19800000);
    tly_tz_free(tz);
    /* An offset outside RFC 8536's range is refused. */
    n = make_tzif(buf, '2', "", 100000);
    assert_int_equal(tly_tz_parse(buf, n, "Off", &tz, &err), TLY_EINVAL);
    assert_non_null(strstr(err.msg, "UT offset out of range"));
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* A day start is found however many transitions lie around it: a version-2
 * file with a transition every 10 s for 52 hours around local midnight,
 * alternating between -24:59:59 and -24:59:50. The day starts at the first
 * instant whose local time reaches midnight: 89990 s after it in UTC. */
static void test_dense_transitions(void **state)
{
    (void)state;
    const int64_t day = 20000, local = day * 86400;
    const uint32_t n = 52 * 360;
    /* header, v1 block (one type, one char), header, transitions and
     * their types, two types, "ABC\0", footer "\n\n" */
    const size_t len = 44 + 7 + 44 + n * 9 + 2 * 6 + 4 + 2;
    unsigned char *buf = calloc(1, len);
    assert_non_null(buf);
    memcpy(buf, "TZif2", 5); /* empty version-1 block: one type, one char */
    put32(buf + 36, 1);
    put32(buf + 40, 1);
    unsigned char *h = buf + 44 + 7;
    memcpy(h, "TZif2", 5);
    put32(h + 32, n);
    put32(h + 36, 2);
    put32(h + 40, 4);
    unsigned char *p = h + 44;
    for (uint32_t k = 0; k < n; k++) {
        int64_t t = local - 26 * 3600 + 10 * (int64_t)k;
        put32(p + k * 8, (uint32_t)((uint64_t)t >> 32));
        put32(p + k * 8 + 4, (uint32_t)t);
        p[n * 8 + k] = (unsigned char)(k % 2);
    }
    p += n * 9;
    put32(p, (uint32_t)-89999);
    put32(p + 6, (uint32_t)-89990);
    p[10] = 0; /* isdst 0, abbreviation 0 for both */
    memcpy(p + 12, "ABC", 4);
    memcpy(p + 16, "\n\n", 2);
    struct tly_tz *tz = NULL;
    struct tly_error err = {{0}};
    int rc = tly_tz_parse(buf, len, "Dense", &tz, &err);
    if (rc != 0)
        print_error("%s\n", err.msg);
    assert_int_equal(rc, 0);
    int64_t start = tly_tz_period_start(tz, TLY_PERIOD_DAY, day);
    assert_int_equal(start, (local + 89990) * 1000);
    assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_DAY, start), day);
    assert_int_equal(tly_tz_period_of(tz, TLY_PERIOD_DAY, start - 1), day - 1);
    tly_tz_free(tz);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utc_needs_no_file),
        cmocka_unit_test(test_offsets_around_dst),
        cmocka_unit_test(test_footer_rule_far_future),
        cmocka_unit_test(test_day_week_month_boundaries),
        cmocka_unit_test(test_skipped_midnight),
        cmocka_unit_test(test_period_consistency),
        cmocka_unit_test(test_matches_libc),
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_unknown_zone),
        cmocka_unit_test(test_corrupt_files),
        cmocka_unit_test(test_footer_forms),
        cmocka_unit_test(test_dense_transitions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
