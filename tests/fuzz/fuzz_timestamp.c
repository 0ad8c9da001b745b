/*
 * Fuzzes timestamp parsing: tly_time_parse (src/core/timeparse.h) on the
 * input bytes as the string (exactly `size` bytes, no NUL after them, so
 * ASan sees any read past the end).
 *
 * Invariants checked (abort() if broken), beyond "no crash, no leak":
 *   - a failure is TLY_EINVAL naming the field, with a non-empty,
 *     NUL-terminated message that starts with "<field>: ";
 *   - a success is within [0, 253402300799999] (1970..9999);
 *   - tly_time_format of it is 24 characters `YYYY-MM-DDTHH:MM:SS.mmmZ`
 *     and parses back to the same value, also with `+00:00` for `Z`;
 *   - the epoch form has an exact answer, computed here in integers: a
 *     string of digits I[.F] (I of at most 16 digits) is I seconds plus the
 *     first three digits of F as milliseconds when I < 100,000,000,000, and
 *     I milliseconds otherwise; it must be accepted iff that is at most
 *     253402300799999, and give exactly that value.
 */
#include "core/timeparse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MS 253402300799999LL

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static const char field[] = "ts";

static int parse(const char *s, size_t n, int64_t *ms)
{
    struct tly_error err;
    memset(&err, 'X', sizeof err);
    int rc = tly_time_parse(s, n, ms, field, &err);
    if (rc != 0) {
        CHECK(rc == TLY_EINVAL);
        CHECK(memchr(err.field, '\0', sizeof err.field) != NULL);
        CHECK(strcmp(err.field, field) == 0);
        CHECK(memchr(err.msg, '\0', sizeof err.msg) != NULL);
        CHECK(strncmp(err.msg, "ts: ", 4) == 0 && err.msg[4] != '\0');
    }
    return rc;
}

/* The exact value of an epoch string "I[.F]"; 0 if `s` is not one (or has
 * more than 16 integer digits, which the parser refuses by design). */
static int epoch_oracle(const char *s, size_t n, int64_t *want)
{
    if (n >= 5 && s[4] == '-')
        return 0; /* the date-time form */
    size_t i = 0;
    int64_t ip = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        if (i >= 16)
            return 0;
        ip = ip * 10 + (s[i] - '0');
    }
    int64_t frac = 0;
    if (i < n && s[i] == '.') {
        size_t j = ++i;
        int64_t scale = 100;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10)
            frac += (s[i] - '0') * scale;
        if (i == j)
            return 0;
    }
    if (i != n || n == 0)
        return 0;
    *want = ip < 100000000000LL ? ip * 1000 + frac : ip;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    int64_t ms = -1;
    int rc = parse(s, size, &ms);

    int64_t want;
    if (epoch_oracle(s, size, &want)) {
        if (want <= MAX_MS) {
            CHECK(rc == 0);
            CHECK(ms == want);
        } else {
            CHECK(rc == TLY_EINVAL);
        }
    }
    if (rc != 0)
        return 0;

    CHECK(ms >= 0 && ms <= MAX_MS);
    char out[25];
    memset(out, 'X', sizeof out);
    tly_time_format(ms, out);
    CHECK(strlen(out) == 24);
    CHECK(out[4] == '-' && out[7] == '-' && out[10] == 'T' && out[13] == ':' && out[16] == ':' &&
          out[19] == '.' && out[23] == 'Z');

    int64_t again = -1;
    CHECK(parse(out, 24, &again) == 0);
    CHECK(again == ms);

    char plus[30];
    memcpy(plus, out, 23);
    memcpy(plus + 23, "+00:00", 6);
    again = -1;
    CHECK(parse(plus, 29, &again) == 0);
    CHECK(again == ms);
    return 0;
}
