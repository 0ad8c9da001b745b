/*
 * The retry schedule of outbound webhooks and the Retry-After header
 * (see webhook.h).
 */
#include "outbox/webhook.h"
#include "core/timeparse.h"

#include <string.h>

int64_t tly_retry_delay(const struct tly_retry_policy *p, int attempts, double rnd)
{
    int64_t d = p->first_ms > 0 ? p->first_ms : 1;
    for (int i = 1; i < attempts && d < p->max_ms; i++)
        d *= 2;
    if (d > p->max_ms)
        d = p->max_ms;
    if (rnd < 0 || rnd >= 1)
        rnd = 0;
    int64_t half = d / 2;
    return d - half + (int64_t)((double)half * rnd);
}

static int digits(const char *s, size_t n, int64_t *out)
{
    int64_t v = 0;
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

static int month_index(const char *s)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    for (int i = 0; i < 12; i++)
        if (memcmp(months + 3 * i, s, 3) == 0)
            return i + 1;
    return 0;
}

/* A fixed-width field of the date: `len` digits at s[at]. */
static int field(const char *s, size_t n, size_t at, size_t len, int64_t *out)
{
    return at + len <= n ? digits(s + at, len, out) : -1;
}

/* "HH:MM:SS" at s[at]. */
static int hms(const char *s, size_t n, size_t at, int64_t *secs)
{
    int64_t h, m, sec;
    if (at + 8 > n || s[at + 2] != ':' || s[at + 5] != ':' || field(s, n, at, 2, &h) ||
        field(s, n, at + 3, 2, &m) || field(s, n, at + 6, 2, &sec) || h > 23 || m > 59 || sec > 60)
        return -1;
    *secs = h * 3600 + m * 60 + sec;
    return 0;
}

/* ms since the epoch of an HTTP date, or -1. */
static int64_t http_date(const char *s, size_t n)
{
    int64_t y, d, secs;
    int mon;
    const char *comma = memchr(s, ',', n);
    if (comma != NULL && (size_t)(comma - s) == 3) {
        /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
        if (n != 29 || s[4] != ' ' || s[7] != ' ' || s[11] != ' ' || s[16] != ' ' ||
            memcmp(s + 25, " GMT", 4) != 0 || field(s, n, 5, 2, &d) ||
            (mon = month_index(s + 8)) == 0 || field(s, n, 12, 4, &y) || hms(s, n, 17, &secs))
            return -1;
    } else if (comma != NULL) {
        /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
        size_t a = (size_t)(comma - s) + 2;
        if (a + 22 != n || s[a - 1] != ' ' || s[a + 2] != '-' || s[a + 6] != '-' ||
            s[a + 9] != ' ' || memcmp(s + a + 18, " GMT", 4) != 0 || field(s, n, a, 2, &d) ||
            (mon = month_index(s + a + 3)) == 0 || field(s, n, a + 7, 2, &y) ||
            hms(s, n, a + 10, &secs))
            return -1;
        y += y < 70 ? 2000 : 1900;
    } else {
        /* asctime: "Sun Nov  6 08:49:37 1994" */
        if (n != 24 || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' || s[19] != ' ' ||
            (mon = month_index(s + 4)) == 0 || hms(s, n, 11, &secs) || field(s, n, 20, 4, &y))
            return -1;
        if (s[8] == ' ') {
            if (field(s, n, 9, 1, &d))
                return -1;
        } else if (field(s, n, 8, 2, &d)) {
            return -1;
        }
    }
    if (d < 1 || d > 31 || y < 1970 || y > 9999)
        return -1;
    int64_t days = tly_days_from_civil(y, (unsigned)mon, (unsigned)d);
    return (days * 86400 + secs) * 1000;
}

int tly_retry_after_parse(const char *s, size_t n, int64_t now_ms, int64_t *delay_ms)
{
    while (n > 0 && (s[0] == ' ' || s[0] == '\t'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    int64_t v;
    if (n > 0 && s[0] >= '0' && s[0] <= '9') {
        if (n > 12 || digits(s, n, &v) != 0)
            return TLY_EINVAL;
        *delay_ms = v * 1000;
        return 0;
    }
    int64_t at = http_date(s, n);
    if (at < 0)
        return TLY_EINVAL;
    *delay_ms = at > now_ms ? at - now_ms : 0;
    return 0;
}
