/*
 * Fuzzes the TZif reader: tly_tz_parse (src/core/tz.h) on the input bytes as
 * the contents of a zone file, then the zone's offsets and periods.
 *
 * Invariants checked (abort() if broken), beyond "no crash, no leak":
 *   - a failure is TLY_EINVAL (or TLY_ENOMEM) with no zone, field
 *     "timezone" and a NUL-terminated message naming the zone;
 *   - a success has the name it was given; every offset is within RFC
 *     8536's [-89999, 93599] seconds;
 *   - for instants from 1900 to 2200, the instants in the file itself and
 *     the extremes: the start of the day, week and month containing an
 *     instant is at or before it, and the instant just before that start
 *     lies in an earlier period (a period starts at its first instant);
 *   - far-out instants and period numbers compute without overflow (UBSan).
 */
#include "core/tz.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static const char zone[] = "Fuzz/Zone";

static void check_instant(const struct tly_tz *tz, int64_t t)
{
    int32_t off = tly_tz_offset(tz, t);
    CHECK(off >= -89999 && off <= 93599);
    /* Starts are only exact within the range periods are computed for
     * (about ±270 million years); beyond it they saturate. */
    int exact = t > -8000000000000000000LL && t < 8000000000000000000LL;
    for (int p = TLY_PERIOD_DAY; p <= TLY_PERIOD_MONTH; p++) {
        int64_t n = tly_tz_period_of(tz, (enum tly_period)p, t);
        int64_t s = tly_tz_period_start(tz, (enum tly_period)p, n);
        (void)tly_tz_period_start(tz, (enum tly_period)p, n + 1);
        if (!exact)
            continue;
        CHECK(s <= t);
        CHECK(tly_tz_period_of(tz, (enum tly_period)p, s - 1) < n);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tly_tz *tz = (struct tly_tz *)&tz; /* must be reset on failure */
    struct tly_error err;
    memset(&err, 'X', sizeof err);
    int rc = tly_tz_parse(data, size, zone, &tz, &err);
    if (rc != 0) {
        CHECK(rc == TLY_EINVAL || rc == TLY_ENOMEM);
        CHECK(tz == NULL);
        if (rc == TLY_EINVAL) {
            CHECK(memchr(err.field, '\0', sizeof err.field) != NULL);
            CHECK(strcmp(err.field, "timezone") == 0);
            CHECK(memchr(err.msg, '\0', sizeof err.msg) != NULL);
            CHECK(strstr(err.msg, zone) != NULL);
        }
        return 0;
    }
    CHECK(tz != NULL);
    CHECK(strcmp(tly_tz_name(tz), zone) == 0);

    /* 1900..2200 in uneven steps, so DST changes and period edges are hit
     * from either side. */
    for (int64_t t = -2208988800000LL; t < 7258118400000LL; t += 86400000LL * 397 + 3599999)
        check_instant(tz, t);
    /* The instants the input names (as 64-bit big-endian seconds anywhere
     * in it), and around them. */
    for (size_t i = 0; i + 8 <= size && i < 1024; i += 8) {
        uint64_t v = 0;
        for (int k = 0; k < 8; k++)
            v = v << 8 | data[i + k];
        int64_t s = (int64_t)v;
        if (s > -9000000000000000LL && s < 9000000000000000LL) {
            check_instant(tz, s * 1000 - 1);
            check_instant(tz, s * 1000);
        }
    }
    const int64_t far[] = {INT64_MIN, INT64_MIN + 1,         -8640000000000000000LL, -1,
                           0,         8640000000000000000LL, INT64_MAX - 1,          INT64_MAX};
    for (size_t i = 0; i < sizeof far / sizeof far[0]; i++)
        check_instant(tz, far[i]);
    const int64_t nums[] = {INT64_MIN, -1000000000000LL, 0, 1000000000000LL, INT64_MAX};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++)
        for (int p = TLY_PERIOD_DAY; p <= TLY_PERIOD_MONTH; p++)
            (void)tly_tz_period_start(tz, (enum tly_period)p, nums[i]);
    tly_tz_free(tz);
    return 0;
}
