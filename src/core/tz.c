/*
 * Time zones (see tz.h): TZif files (RFC 8536, versions 1 to 4) read into an
 * immutable table of transitions, the footer's POSIX TZ rule for instants
 * after the last one, and the local calendar periods computed from them.
 *
 * A zone is one allocation: the struct, its transition instants, the offset
 * in force after each, and its name. Lookups binary-search the table; past
 * its end the footer rule gives the changes of the years around the instant.
 * Every offset is kept within RFC 8536's range (-25 h, +26 h), so a local
 * day boundary is always found within two days of its UTC counterpart.
 */
#include "core/tz.h"

#include "core/timeparse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TZ_MAX_NAME   64          /* longest zone name accepted (IANA's is 32) */
#define TZ_MAX_FILE   (256 << 10) /* largest TZif file read (real ones: < 4 KiB) */
#define TZ_MIN_OFFSET (-89999)    /* RFC 8536 3.2: utoff in [-89999, 93599] */
#define TZ_MAX_OFFSET 93599
#define TZ_MAX_RULE_H 167 /* RFC 8536 3.3.1: rule times within ±167 h */
#define DAY_S         86400
#define HEADER_LEN    44
/* Periods are computed for instants whose day number fits in ±1e11 (about
 * ±270 million years); further out they saturate. */
#define MAX_DAYS 100000000000LL

/* One transition date of a POSIX TZ rule: Jn, n or Mm.w.d, at `secs` past
 * local midnight (may be negative or over 24 h). */
struct rule_date {
    char kind; /* 'J', 'D' (zero-based day), 'M' */
    int day;   /* J: 1..365, D: 0..365 */
    int mon, week, wday;
    int32_t secs;
};

/* The footer: std offset, and optionally a DST offset with its two dates. */
struct posix_rule {
    int32_t std_off; /* seconds east of UTC, as tly_tz_offset answers */
    int32_t dst_off;
    int has_dst;
    struct rule_date start, end;
};

struct tly_tz {
    char *name;
    size_t n;       /* transitions */
    int64_t *times; /* n instants (s), strictly ascending */
    int32_t *offs;  /* offset in force from times[i] on */
    int32_t before; /* offset before times[0] (or always, when n == 0 and no rule) */
    int has_rule;
    struct posix_rule rule;
};

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Howard Hinnant's civil_from_days: the (year, month 1..12) of day `z`. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* ---- the footer rule ---------------------------------------------------- */

/* Local seconds since the epoch at which date `r` falls in year `y`. */
static int64_t rule_local(const struct rule_date *r, int64_t y)
{
    int64_t day;
    if (r->kind == 'J') {
        day = tly_days_from_civil(y, 1, 1) + r->day - 1 + (is_leap(y) && r->day >= 60);
    } else if (r->kind == 'D') {
        day = tly_days_from_civil(y, 1, 1) + r->day;
    } else {
        static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int64_t first = tly_days_from_civil(y, (unsigned)r->mon, 1);
        int len = dim[r->mon - 1] + (r->mon == 2 && is_leap(y));
        int wd_first = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
        int off = ((r->wday - wd_first) % 7 + 7) % 7 + (r->week - 1) * 7;
        while (off >= len)
            off -= 7;
        day = first + off;
    }
    return day * DAY_S + r->secs;
}

/* The DST changes of years y-2..y+1 in time order: at[i] (UTC seconds), and
 * whether DST is in force from then on. An end and a start at the same
 * instant sort end first (DST all year round stays DST). */
static int rule_changes(const struct posix_rule *r, int64_t y, int64_t at[8], int dst[8])
{
    int k = 0;
    for (int64_t yy = y - 2; yy <= y + 1; yy++) {
        at[k] = rule_local(&r->start, yy) - r->std_off;
        dst[k++] = 1;
        at[k] = rule_local(&r->end, yy) - r->dst_off;
        dst[k++] = 0;
    }
    for (int i = 1; i < k; i++) {
        for (int j = i; j > 0 && (at[j] < at[j - 1] || (at[j] == at[j - 1] && !dst[j])); j--) {
            int64_t ta = at[j];
            at[j] = at[j - 1];
            at[j - 1] = ta;
            int td = dst[j];
            dst[j] = dst[j - 1];
            dst[j - 1] = td;
        }
    }
    return k;
}

/* The footer's offset at `t` (s); *next = the next change after t. */
static int32_t rule_offset(const struct posix_rule *r, int64_t t, int64_t *next)
{
    *next = INT64_MAX;
    if (!r->has_dst)
        return r->std_off;
    int64_t y;
    unsigned m, d;
    civil_from_days(floor_div(t + r->std_off, DAY_S), &y, &m, &d);
    int64_t at[8];
    int dst[8];
    int k = rule_changes(r, y, at, dst);
    int32_t off = dst[k - 1] ? r->std_off : r->dst_off; /* state before the first */
    for (int i = 0; i < k; i++) {
        if (at[i] > t) {
            *next = at[i];
            break;
        }
        off = dst[i] ? r->dst_off : r->std_off;
    }
    return off;
}

/* Reads [+-]h[h[h]][:mm[:ss]] at s[*i], hours up to `max_h`, into *out
 * (seconds, negative after '-'). 0 or -1. */
static int read_hms(const char *s, size_t n, size_t *i, int max_h, int32_t *out)
{
    int neg = 0;
    if (*i < n && (s[*i] == '+' || s[*i] == '-')) {
        neg = s[*i] == '-';
        (*i)++;
    }
    int32_t v[3] = {0, 0, 0};
    for (int part = 0; part < 3; part++) {
        if (part > 0) {
            if (*i >= n || s[*i] != ':')
                break;
            (*i)++;
        }
        size_t j = *i;
        for (; *i < n && s[*i] >= '0' && s[*i] <= '9' && *i - j < 3; (*i)++)
            v[part] = v[part] * 10 + (s[*i] - '0');
        if (*i == j || (part > 0 && *i - j != 2))
            return -1;
    }
    if (v[0] > max_h || v[1] > 59 || v[2] > 59)
        return -1;
    int32_t secs = v[0] * 3600 + v[1] * 60 + v[2];
    *out = neg ? -secs : secs;
    return 0;
}

/* A zone abbreviation: three or more letters, or <[A-Za-z0-9+-]+>. */
static int read_abbr(const char *s, size_t n, size_t *i)
{
    size_t j = *i;
    if (j < n && s[j] == '<') {
        for (j++; j < n && s[j] != '>'; j++) {
            char c = s[j];
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '-'))
                return -1;
        }
        if (j >= n || j - *i < 4)
            return -1;
        *i = j + 1;
        return 0;
    }
    while (j < n && ((s[j] >= 'A' && s[j] <= 'Z') || (s[j] >= 'a' && s[j] <= 'z')))
        j++;
    if (j - *i < 3)
        return -1;
    *i = j;
    return 0;
}

static int read_uint(const char *s, size_t n, size_t *i, int max, int *out)
{
    size_t j = *i;
    int v = 0;
    for (; *i < n && s[*i] >= '0' && s[*i] <= '9'; (*i)++) {
        v = v * 10 + (s[*i] - '0');
        if (v > max)
            return -1;
    }
    if (*i == j)
        return -1;
    *out = v;
    return 0;
}

static int read_rule_date(const char *s, size_t n, size_t *i, struct rule_date *r)
{
    memset(r, 0, sizeof *r);
    if (*i < n && s[*i] == 'J') {
        (*i)++;
        r->kind = 'J';
        if (read_uint(s, n, i, 365, &r->day) != 0 || r->day < 1)
            return -1;
    } else if (*i < n && s[*i] == 'M') {
        (*i)++;
        r->kind = 'M';
        if (read_uint(s, n, i, 12, &r->mon) != 0 || r->mon < 1 || *i >= n || s[(*i)++] != '.' ||
            read_uint(s, n, i, 5, &r->week) != 0 || r->week < 1 || *i >= n || s[(*i)++] != '.' ||
            read_uint(s, n, i, 6, &r->wday) != 0)
            return -1;
    } else {
        r->kind = 'D';
        if (read_uint(s, n, i, 365, &r->day) != 0)
            return -1;
    }
    r->secs = 7200;
    if (*i < n && s[*i] == '/') {
        (*i)++;
        if (read_hms(s, n, i, TZ_MAX_RULE_H, &r->secs) != 0)
            return -1;
    }
    return 0;
}

/* Parses a POSIX TZ string such as "CET-1CEST,M3.5.0,M10.5.0/3". 0, or the
 * byte offset + 1 of the first thing not understood. */
static size_t parse_posix(const char *s, size_t n, struct posix_rule *r)
{
    size_t i = 0;
    int32_t v;
    memset(r, 0, sizeof *r);
    if (read_abbr(s, n, &i) != 0)
        return i + 1;
    if (read_hms(s, n, &i, 24, &v) != 0)
        return i + 1;
    r->std_off = -v; /* POSIX offsets are west of UTC */
    if (i == n)
        return 0;
    if (read_abbr(s, n, &i) != 0)
        return i + 1;
    r->has_dst = 1;
    r->dst_off = r->std_off + 3600;
    if (i < n && s[i] != ',') {
        if (read_hms(s, n, &i, 24, &v) != 0)
            return i + 1;
        r->dst_off = -v;
    }
    if (i == n) {
        /* No dates: the US rules, as the reference implementation assumes. */
        r->start = (struct rule_date){'M', 0, 3, 2, 0, 7200};
        r->end = (struct rule_date){'M', 0, 11, 1, 0, 7200};
        return 0;
    }
    if (s[i++] != ',' || read_rule_date(s, n, &i, &r->start) != 0)
        return i + 1;
    if (i >= n || s[i++] != ',' || read_rule_date(s, n, &i, &r->end) != 0)
        return i + 1;
    return i == n ? 0 : i + 1;
}

/* ---- TZif --------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_counts {
    uint32_t isut, isstd, leap, time, type, chr;
};

static int bad_file(struct tly_error *err, const char *name, size_t pos, const char *what)
{
    return tly_error_set(err, TLY_EINVAL, "timezone", "time zone %s: %s at byte %zu", name, what,
                         pos);
}

/* Reads a header at p[0..44); its data block's length with `tsize`-byte
 * times into *len. 0 or -1 with *what set. */
static int read_header(const uint8_t *p, size_t tsize, struct tzif_counts *c, size_t *len,
                       const char **what)
{
    if (memcmp(p, "TZif", 4) != 0) {
        *what = "not a TZif file (no \"TZif\" magic)";
        return -1;
    }
    if (p[4] != 0 && p[4] != '2' && p[4] != '3' && p[4] != '4') {
        *what = "unknown TZif version";
        return -1;
    }
    c->isut = be32(p + 20);
    c->isstd = be32(p + 24);
    c->leap = be32(p + 28);
    c->time = be32(p + 32);
    c->type = be32(p + 36);
    c->chr = be32(p + 40);
    if (c->type == 0 || c->chr == 0) {
        *what = "no local time types";
        return -1;
    }
    if ((c->isut != 0 && c->isut != c->type) || (c->isstd != 0 && c->isstd != c->type)) {
        *what = "indicator count differs from type count";
        return -1;
    }
    /* Counts are 32-bit, so this sum fits in 64 bits. */
    uint64_t l = (uint64_t)c->time * (tsize + 1) + (uint64_t)c->type * 6 + c->chr +
                 (uint64_t)c->leap * (tsize + 4) + c->isstd + c->isut;
    if (l > TZ_MAX_FILE) {
        *what = "counts larger than the file";
        return -1;
    }
    *len = (size_t)l;
    return 0;
}

int tly_tz_parse(const void *data, size_t len, const char *name, struct tly_tz **out,
                 struct tly_error *err)
{
    const uint8_t *p = data;
    *out = NULL;
    if (name == NULL)
        name = "";
    if (len > TZ_MAX_FILE)
        return bad_file(err, name, 0, "file too large");
    if (len < HEADER_LEN)
        return bad_file(err, name, len, "truncated header");
    struct tzif_counts c;
    size_t dlen;
    const char *what;
    if (read_header(p, 4, &c, &dlen, &what) != 0)
        return bad_file(err, name, 0, what);
    size_t pos = HEADER_LEN, tsize = 4;
    if (dlen > len - pos)
        return bad_file(err, name, len, "truncated data block");
    if (p[4] != 0) {
        /* Version 2+: skip the 32-bit block, use the 64-bit one. */
        pos += dlen;
        if (len - pos < HEADER_LEN)
            return bad_file(err, name, len, "truncated second header");
        if (read_header(p + pos, 8, &c, &dlen, &what) != 0)
            return bad_file(err, name, pos, what);
        pos += HEADER_LEN;
        tsize = 8;
        if (dlen > len - pos)
            return bad_file(err, name, len, "truncated 64-bit data block");
    }
    if (c.leap != 0)
        return bad_file(err, name, pos, "leap-second zones (right/...) are not supported");

    const uint8_t *times = p + pos;
    const uint8_t *idx = times + (size_t)c.time * tsize;
    const uint8_t *types = idx + c.time;
    size_t end = pos + dlen;

    int32_t type_off[256];
    if (c.type > 256)
        return bad_file(err, name, (size_t)(types - p), "more than 256 local time types");
    for (uint32_t k = 0; k < c.type; k++) {
        const uint8_t *tp = types + (size_t)k * 6;
        int32_t off = (int32_t)be32(tp);
        if (off < TZ_MIN_OFFSET || off > TZ_MAX_OFFSET)
            return bad_file(err, name, (size_t)(tp - p), "UT offset out of range");
        if (tp[4] > 1)
            return bad_file(err, name, (size_t)(tp - p) + 4, "isdst is neither 0 nor 1");
        if (tp[5] >= c.chr)
            return bad_file(err, name, (size_t)(tp - p) + 5, "abbreviation index out of range");
        type_off[k] = off;
    }
    int has_rule = 0;
    struct posix_rule rule = {0};
    if (tsize == 8) {
        if (end >= len || p[end] != '\n')
            return bad_file(err, name, end, "missing footer");
        const uint8_t *nl = memchr(p + end + 1, '\n', len - end - 1);
        if (nl == NULL)
            return bad_file(err, name, len, "unterminated footer");
        size_t flen = (size_t)(nl - (p + end + 1));
        if (flen > 0) {
            size_t at = parse_posix((const char *)p + end + 1, flen, &rule);
            if (at != 0)
                return bad_file(err, name, end + at, "bad TZ string in footer");
            has_rule = 1;
        }
    }

    size_t nlen = strnlen(name, TZ_MAX_NAME * 4);
    size_t n = c.time;
    struct tly_tz *tz = malloc(sizeof *tz + n * (sizeof(int64_t) + sizeof(int32_t)) + nlen + 1);
    if (tz == NULL)
        return TLY_ENOMEM;
    tz->n = n;
    tz->times = (int64_t *)(tz + 1);
    tz->offs = (int32_t *)(tz->times + n);
    tz->name = (char *)(tz->offs + n);
    memcpy(tz->name, name, nlen);
    tz->name[nlen] = '\0';
    tz->before = type_off[0];
    tz->has_rule = has_rule;
    if (has_rule)
        tz->rule = rule;
    for (size_t k = 0; k < n; k++) {
        int64_t t = tsize == 8 ? be64(times + k * 8) : (int32_t)be32(times + k * 4);
        if (k > 0 && t <= tz->times[k - 1]) {
            free(tz);
            return bad_file(err, name, (size_t)(times - p) + k * tsize,
                            "transition times not ascending");
        }
        /* Keep t + offset and the period arithmetic far from overflow. */
        if (t < -MAX_DAYS * DAY_S || t > MAX_DAYS * DAY_S) {
            free(tz);
            return bad_file(err, name, (size_t)(times - p) + k * tsize,
                            "transition time out of range");
        }
        if (idx[k] >= c.type) {
            free(tz);
            return bad_file(err, name, (size_t)(idx - p) + k, "type index out of range");
        }
        tz->times[k] = t;
        tz->offs[k] = type_off[idx[k]];
    }
    *out = tz;
    return 0;
}

/* ---- loading ------------------------------------------------------------ */

/* letters, digits, '/', '_', '-', '+'; no empty component (so no leading,
 * trailing or double '/'); dots are not allowed at all, so neither is "..". */
static int check_name(const char *name, struct tly_error *err)
{
    size_t n = strnlen(name, TZ_MAX_NAME + 1);
    if (n == 0)
        return tly_error_set(err, TLY_EINVAL, "timezone", "time zone name is empty");
    if (n > TZ_MAX_NAME)
        return tly_error_set(err, TLY_EINVAL, "timezone", "time zone name is longer than %d bytes",
                             TZ_MAX_NAME);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-' || c == '+' || c == '/';
        if (!ok)
            return tly_error_set(err, TLY_EINVAL, "timezone",
                                 "time zone name: character not allowed at byte %zu", i);
        if (c == '/' && (i == 0 || i == n - 1 || name[i + 1] == '/'))
            return tly_error_set(err, TLY_EINVAL, "timezone",
                                 "time zone name: empty component at byte %zu", i);
    }
    return 0;
}

static int load_utc(const char *name, struct tly_tz **out)
{
    size_t nlen = strlen(name);
    struct tly_tz *tz = calloc(1, sizeof *tz + nlen + 1);
    if (tz == NULL)
        return TLY_ENOMEM;
    tz->name = (char *)(tz + 1);
    memcpy(tz->name, name, nlen + 1);
    *out = tz;
    return 0;
}

int tly_tz_load(const char *name, struct tly_tz **out, struct tly_error *err)
{
    *out = NULL;
    if (name == NULL)
        name = "";
    int rc = check_name(name, err);
    if (rc != 0)
        return rc;
    if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0)
        return load_utc(name, out);

    const char *dir = getenv("TZDIR");
    if (dir == NULL || dir[0] == '\0')
        dir = "/usr/share/zoneinfo";
    char path[4096];
    int pl = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (pl < 0 || (size_t)pl >= sizeof path)
        return tly_error_set(err, TLY_EINVAL, "timezone", "time zone %s: path too long", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return tly_error_set(err, TLY_ENOENT, "timezone", "unknown time zone %s", name);
        return tly_error_set(err, TLY_EIO, "timezone", "time zone %s: cannot open: %s", name,
                             strerror(errno));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return tly_error_set(err, TLY_ENOENT, "timezone", "unknown time zone %s", name);
    }
    if (st.st_size > TZ_MAX_FILE) {
        close(fd);
        return tly_error_set(err, TLY_EINVAL, "timezone", "time zone %s: file too large", name);
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size + 1);
    if (buf == NULL) {
        close(fd);
        return TLY_ENOMEM;
    }
    size_t got = 0;
    while (got <= size) { /* read one byte more than stat said, to see growth */
        ssize_t r = read(fd, buf + got, size + 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return tly_error_set(err, TLY_EIO, "timezone", "time zone %s: read: %s", name,
                                 strerror(e));
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got > size) {
        free(buf);
        return tly_error_set(err, TLY_EINVAL, "timezone", "time zone %s: file changed while read",
                             name);
    }
    rc = tly_tz_parse(buf, got, name, out, err);
    free(buf);
    return rc;
}

void tly_tz_free(struct tly_tz *tz)
{
    free(tz);
}

const char *tly_tz_name(const struct tly_tz *tz)
{
    return tz->name;
}

/* ---- offsets and periods ------------------------------------------------ */

/* The offset at `t` (s) and the next instant after t at which it may
 * change (INT64_MAX if never). */
static int32_t offset_at(const struct tly_tz *tz, int64_t t, int64_t *next)
{
    *next = INT64_MAX;
    if (tz->n == 0)
        return tz->has_rule ? rule_offset(&tz->rule, t, next) : tz->before;
    if (t < tz->times[0]) {
        *next = tz->times[0];
        return tz->before;
    }
    size_t lo = 0, hi = tz->n; /* times[lo] <= t < times[hi] (hi == n: past the end) */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->times[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    if (hi < tz->n) {
        *next = tz->times[hi];
        return tz->offs[lo];
    }
    return tz->has_rule ? rule_offset(&tz->rule, t, next) : tz->offs[lo];
}

int32_t tly_tz_offset(const struct tly_tz *tz, int64_t t_ms)
{
    int64_t next;
    return offset_at(tz, floor_div(t_ms, 1000), &next);
}

static int64_t clamp_days(int64_t d)
{
    return d < -MAX_DAYS ? -MAX_DAYS : d > MAX_DAYS ? MAX_DAYS : d;
}

int64_t tly_tz_period_of(const struct tly_tz *tz, enum tly_period p, int64_t t_ms)
{
    int64_t t = floor_div(t_ms, 1000);
    int64_t next;
    int64_t day = floor_div(t + offset_at(tz, t, &next), DAY_S);
    switch (p) {
    case TLY_PERIOD_WEEK:
        return floor_div(day + 3, 7); /* day -3 was Monday 1969-12-29 */
    case TLY_PERIOD_MONTH: {
        int64_t y;
        unsigned m, d;
        civil_from_days(day, &y, &m, &d);
        return y * 12 + (int64_t)m - 1 - 1970 * 12;
    }
    case TLY_PERIOD_DAY:
        break;
    }
    return day;
}

/* The first day (local) of period n. */
static int64_t period_first_day(enum tly_period p, int64_t n)
{
    switch (p) {
    case TLY_PERIOD_WEEK:
        n = n < -MAX_DAYS / 7 ? -MAX_DAYS / 7 : n > MAX_DAYS / 7 ? MAX_DAYS / 7 : n;
        return n * 7 - 3;
    case TLY_PERIOD_MONTH: {
        int64_t lim = MAX_DAYS / 366 * 12;
        n = n < -lim ? -lim : n > lim ? lim : n;
        int64_t m0 = n + 1970 * 12; /* months since year 0 */
        int64_t y = floor_div(m0, 12);
        return tly_days_from_civil(y, (unsigned)(m0 - y * 12 + 1), 1);
    }
    case TLY_PERIOD_DAY:
        break;
    }
    return clamp_days(n);
}

int64_t tly_tz_period_start(const struct tly_tz *tz, enum tly_period p, int64_t n)
{
    int64_t local = period_first_day(p, n) * DAY_S;
    /* The first t with t + offset(t) >= local. Offsets lie within
     * [-89999, 93599] s, so it lies in (local - 26 h, local + 25 h]: walk the
     * stretches of constant offset from two days before. The stretch that
     * holds local + 25 h always answers, so the walk ends there at the
     * latest, however many transitions a file packs into the window. */
    int64_t t = local - 2 * DAY_S;
    for (;;) {
        int64_t next;
        int32_t off = offset_at(tz, t, &next);
        int64_t cand = local - off > t ? local - off : t;
        if (cand < next)
            return cand * 1000;
        t = next;
    }
}
