/*
 * Timestamp parsing and formatting (see timeparse.h for the accepted forms).
 * The parser reads the string left to right once and reports the byte
 * position of the first thing it cannot accept.
 */
#include "core/timeparse.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

#define EPOCH_MS_THRESHOLD 100000000000.0    /* below: seconds, at or above: ms */
#define MAX_MS             253402300799999LL /* 9999-12-31T23:59:59.999Z */

int64_t tly_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    /* Howard Hinnant's days_from_civil. */
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : d[m - 1];
}

/* Reads exactly `k` digits at s[*i]; returns -1 if they are not all digits. */
static int digits(const char *s, size_t n, size_t *i, int k)
{
    int v = 0;
    for (int j = 0; j < k; j++) {
        if (*i >= n || s[*i] < '0' || s[*i] > '9')
            return -1;
        v = v * 10 + (s[*i] - '0');
        (*i)++;
    }
    return v;
}

static int bad(struct tly_error *err, const char *field, size_t pos, const char *what)
{
    return tly_error_set(err, TLY_EINVAL, field, "%s: %s at byte %zu", field, what, pos);
}

/* Digits with an optional fraction, read as integers so that "1.001" is
 * exactly 1001 ms (a double would make it 1000.999…). */
static int parse_epoch_digits(const char *s, size_t n, int64_t *out_ms, const char *field,
                              struct tly_error *err)
{
    int64_t whole = 0;
    size_t i = 0;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        if (i >= 16)
            return bad(err, field, i, "epoch number too long");
        whole = whole * 10 + (s[i] - '0');
    }
    int64_t frac_ms = 0; /* first three fraction digits, as milliseconds */
    if (i < n && s[i] == '.') {
        size_t j = ++i;
        int64_t scale = 100;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10)
            frac_ms += (s[i] - '0') * scale;
        if (i == j)
            return bad(err, field, i, "expected digits after '.'");
    }
    if (i != n)
        return bad(err, field, i, "unexpected character in epoch number");
    int64_t ms = (double)whole < EPOCH_MS_THRESHOLD ? whole * 1000 + frac_ms : whole;
    if (ms > MAX_MS)
        return tly_error_set(err, TLY_EINVAL, field, "%s: epoch time is after year 9999", field);
    *out_ms = ms;
    return 0;
}

int tly_time_from_number(double v, int64_t *out_ms, const char *field, struct tly_error *err)
{
    if (!isfinite(v) || v < 0)
        return tly_error_set(err, TLY_EINVAL, field, "%s: epoch time must be a non-negative number",
                             field);
    int seconds = v < EPOCH_MS_THRESHOLD;
    double ms = seconds ? v * 1000.0 : v;
    if (ms > (double)MAX_MS)
        return tly_error_set(err, TLY_EINVAL, field, "%s: epoch time is after year 9999", field);
    /* 1.001 s is 1000.9999… ms once multiplied: allow a microsecond of
     * error there. Milliseconds as sent are only truncated. */
    *out_ms = (int64_t)floor(seconds ? ms + 0.001 : ms);
    return 0;
}

int tly_time_parse(const char *s, size_t n, int64_t *out_ms, const char *field,
                   struct tly_error *err)
{
    if (n == 0)
        return bad(err, field, 0, "empty timestamp");
    /* All digits (with an optional fraction) and no '-' at byte 4: an epoch. */
    if (n < 5 || s[4] != '-')
        return parse_epoch_digits(s, n, out_ms, field, err);

    size_t i = 0;
    int y = digits(s, n, &i, 4);
    if (y < 0)
        return bad(err, field, i, "expected 4-digit year");
    if (i >= n || s[i++] != '-')
        return bad(err, field, i - 1, "expected '-'");
    int mo = digits(s, n, &i, 2);
    if (mo < 0)
        return bad(err, field, i, "expected 2-digit month");
    if (i >= n || s[i++] != '-')
        return bad(err, field, i - 1, "expected '-'");
    int d = digits(s, n, &i, 2);
    if (d < 0)
        return bad(err, field, i, "expected 2-digit day");
    if (y < 1970 || y > 9999)
        return bad(err, field, 0, "year out of range 1970..9999");
    if (mo < 1 || mo > 12)
        return bad(err, field, 5, "month out of range");
    if (d < 1 || d > days_in_month(y, mo))
        return bad(err, field, 8, "day out of range for the month");
    if (i >= n)
        return bad(err, field, i, "expected time after date (a date alone has no instant)");
    if (s[i] != 'T' && s[i] != 't' && s[i] != ' ')
        return bad(err, field, i, "expected 'T' between date and time");
    i++;
    size_t hpos = i;
    int h = digits(s, n, &i, 2);
    if (h < 0)
        return bad(err, field, i, "expected 2-digit hour");
    if (i >= n || s[i++] != ':')
        return bad(err, field, i - 1, "expected ':'");
    int mi = digits(s, n, &i, 2);
    if (mi < 0)
        return bad(err, field, i, "expected 2-digit minute");
    int sec = 0, ms = 0;
    if (i < n && s[i] == ':') {
        i++;
        sec = digits(s, n, &i, 2);
        if (sec < 0)
            return bad(err, field, i, "expected 2-digit second");
        if (i < n && (s[i] == '.' || s[i] == ',')) {
            i++;
            size_t start = i;
            int scale = 100;
            for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
                if (i - start >= 9)
                    return bad(err, field, i, "more than 9 fraction digits");
                ms += (s[i] - '0') * scale;
                scale /= 10;
            }
            if (i == start)
                return bad(err, field, i, "expected digits after decimal point");
        }
    }
    if (h > 23)
        return bad(err, field, hpos, "hour out of range");
    if (mi > 59)
        return bad(err, field, hpos + 3, "minute out of range");
    if (sec > 59)
        return bad(err, field, hpos + 6, "second out of range");

    if (i >= n)
        return bad(err, field, i, "missing UTC offset (expected 'Z' or ±HH:MM)");
    int off_min = 0;
    if (s[i] == 'Z' || s[i] == 'z') {
        i++;
    } else if (s[i] == '+' || s[i] == '-') {
        int sign = s[i] == '-' ? -1 : 1;
        i++;
        size_t opos = i;
        int oh = digits(s, n, &i, 2);
        if (oh < 0)
            return bad(err, field, i, "expected 2-digit offset hours");
        int om = 0;
        if (i < n) {
            if (s[i] == ':')
                i++;
            om = digits(s, n, &i, 2);
            if (om < 0)
                return bad(err, field, i, "expected 2-digit offset minutes");
        }
        if (oh > 23 || om > 59)
            return bad(err, field, opos, "offset out of range");
        off_min = sign * (oh * 60 + om);
    } else {
        return bad(err, field, i, "expected 'Z' or ±HH:MM offset");
    }
    if (i != n)
        return bad(err, field, i, "unexpected characters after timestamp");

    int64_t days = tly_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t t = ((days * 24 + h) * 60 + mi - off_min) * 60 + sec;
    int64_t total = t * 1000 + ms;
    if (total < 0 || total > MAX_MS)
        return bad(err, field, 0, "instant out of range 1970..9999");
    *out_ms = total;
    return 0;
}

void tly_time_format(int64_t ms, char out[25])
{
    if (ms < 0)
        ms = 0;
    if (ms > MAX_MS)
        ms = MAX_MS;
    int64_t secs = ms / 1000;
    unsigned millis = (unsigned)(ms % 1000);
    time_t tt = (time_t)secs;
    struct tm tm;
    gmtime_r(&tt, &tm);
    /* Clamped above, so every field has the width the format gives it. */
    unsigned y = (unsigned)(tm.tm_year + 1900) % 10000u, mo = (unsigned)tm.tm_mon % 12u + 1,
             d = (unsigned)tm.tm_mday % 32u, h = (unsigned)tm.tm_hour % 24u,
             mi = (unsigned)tm.tm_min % 60u, sec = (unsigned)tm.tm_sec % 61u;
    snprintf(out, 25, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ", y, mo, d, h, mi, sec, millis);
}

int64_t tly_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
