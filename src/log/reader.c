/*
 * Sequential log reader (see reader.h).
 *
 * Keeps a buffer of bytes read from the current segment, from the position
 * onwards. When it holds no whole record it reads more; when the segment has
 * no more bytes and a later segment exists, it moves there (a segment is
 * only followed by another once it is complete, so leftover bytes at that
 * point are corruption).
 */
#include "log/reader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK (1u << 20)

struct tly_log_reader {
    char *dir;
    int fd;            /* current segment, -1 if none open */
    uint64_t base;     /* base offset of the current segment */
    uint64_t position; /* global offset of buf[start] */
    uint8_t *buf;
    size_t cap, start, end; /* valid bytes are buf[start..end) */
    uint64_t file_pos;      /* bytes of the segment consumed into buf */
    uint64_t limit;         /* records ending past it are not returned */
};

void tly_log_segment_path(const char *dir, uint64_t base, char *out, size_t outsz)
{
    snprintf(out, outsz, "%s/%020" PRIu64 ".log", dir, base);
}

static int parse_segment_name(const char *name, uint64_t *base)
{
    if (strlen(name) != 24 || strcmp(name + 20, ".log") != 0)
        return -1;
    uint64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    *base = v;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int tly_log_list_segments(const char *dir, uint64_t **bases, size_t *count)
{
    *bases = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 0 : TLY_EIO;
    size_t n = 0, cap = 0;
    uint64_t *v = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        uint64_t base;
        if (parse_segment_name(e->d_name, &base) != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *nv = realloc(v, cap * sizeof *v);
            if (nv == NULL) {
                free(v);
                closedir(d);
                return TLY_ENOMEM;
            }
            v = nv;
        }
        v[n++] = base;
    }
    closedir(d);
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_u64);
    *bases = v;
    *count = n;
    return 0;
}

static int open_segment(struct tly_log_reader *r, uint64_t base, uint64_t skip)
{
    char path[4096];
    tly_log_segment_path(r->dir, base, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? TLY_ENOENT : TLY_EIO;
    if (r->fd >= 0)
        close(r->fd);
    r->fd = fd;
    r->base = base;
    r->file_pos = skip;
    r->position = base + skip;
    r->start = r->end = 0;
    return 0;
}

int tly_log_reader_open(struct tly_log_reader **out, const char *dir, uint64_t from)
{
    uint64_t *bases;
    size_t n;
    int rc = tly_log_list_segments(dir, &bases, &n);
    if (rc != 0)
        return rc;
    /* The segment holding `from` is the last one whose base is <= from. */
    size_t idx = n;
    for (size_t i = 0; i < n; i++)
        if (bases[i] <= from)
            idx = i;
    if (idx == n) {
        free(bases);
        return TLY_ENOENT;
    }
    uint64_t base = bases[idx];
    free(bases);

    struct tly_log_reader *r = calloc(1, sizeof *r);
    if (r == NULL)
        return TLY_ENOMEM;
    r->fd = -1;
    r->limit = UINT64_MAX;
    r->dir = strdup(dir);
    r->cap = READ_CHUNK;
    r->buf = malloc(r->cap);
    if (r->dir == NULL || r->buf == NULL) {
        tly_log_reader_close(r);
        return TLY_ENOMEM;
    }
    rc = open_segment(r, base, from - base);
    if (rc != 0) {
        tly_log_reader_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* Reads more bytes of the current segment into the buffer, growing it to
 * hold at least `want` bytes. Returns bytes read (0 at end of file). */
static long fill(struct tly_log_reader *r, size_t want)
{
    if (r->start > 0 && r->start == r->end) {
        r->start = r->end = 0;
    } else if (r->start > 0 && r->cap - r->end < READ_CHUNK / 4) {
        memmove(r->buf, r->buf + r->start, r->end - r->start);
        r->end -= r->start;
        r->start = 0;
    }
    if (want > r->cap - r->start) {
        size_t cap = r->cap;
        while (cap < want + r->start)
            cap *= 2;
        uint8_t *nb = realloc(r->buf, cap);
        if (nb == NULL)
            return TLY_ENOMEM;
        r->buf = nb;
        r->cap = cap;
    }
    if (r->end == r->cap)
        return 0;
    ssize_t got = pread(r->fd, r->buf + r->end, r->cap - r->end, (off_t)r->file_pos);
    if (got < 0)
        return TLY_EIO;
    r->end += (size_t)got;
    r->file_pos += (uint64_t)got;
    return got;
}

/* Moves to the segment after the current one if it exists. 1 = moved. */
static int next_segment(struct tly_log_reader *r)
{
    uint64_t next = r->base + r->file_pos;
    if (next == r->base)
        return 0; /* an empty segment is the last one */
    char path[4096];
    tly_log_segment_path(r->dir, next, path, sizeof path);
    if (access(path, F_OK) != 0)
        return 0;
    int rc = open_segment(r, next, 0);
    return rc == 0 ? 1 : rc;
}

int tly_log_reader_next(struct tly_log_reader *r, struct tly_record *rec, uint64_t *offset)
{
    for (;;) {
        size_t avail = r->end - r->start;
        long n = tly_record_decode(r->buf + r->start, avail, rec);
        if (n > 0) {
            if (r->position + (uint64_t)n > r->limit)
                return 0; /* whole, but not yet durable */
            *offset = r->position;
            r->start += (size_t)n;
            r->position += (uint64_t)n;
            return 1;
        }
        if (n < 0)
            return (int)n;
        /* Need more bytes: at least the whole frame if its length is known. */
        size_t want = READ_CHUNK;
        if (avail >= 4) {
            const uint8_t *p = r->buf + r->start;
            size_t frame = TLY_RECORD_PREFIX + ((size_t)p[0] | (size_t)p[1] << 8 |
                                                (size_t)p[2] << 16 | (size_t)p[3] << 24);
            if (frame > want && frame <= TLY_RECORD_PREFIX + (size_t)TLY_RECORD_MAX_LEN)
                want = frame;
        }
        long got = fill(r, want);
        if (got < 0)
            return (int)got;
        if (got > 0)
            continue;
        if (r->end > r->start) {
            /* A partial record at the end of the log may still be being
             * written; at the end of a segment that has a successor it is
             * corruption (a segment is only followed once it is complete),
             * unless its bytes reach past the limit: those were read before
             * they were durable, and the writer may have finished and rolled
             * since. They are judged again once the limit covers them. */
            if (r->position + (r->end - r->start) > r->limit)
                return 0;
            char path[4096];
            tly_log_segment_path(r->dir, r->base + r->file_pos, path, sizeof path);
            return access(path, F_OK) == 0 ? TLY_ECORRUPT : 0;
        }
        int moved = next_segment(r);
        if (moved < 0)
            return moved;
        if (moved == 0)
            return 0;
    }
}

void tly_log_reader_set_limit(struct tly_log_reader *r, uint64_t limit)
{
    r->limit = limit;
}

uint64_t tly_log_reader_position(const struct tly_log_reader *r)
{
    return r->position;
}

uint64_t tly_log_reader_pending(const struct tly_log_reader *r)
{
    return r->end - r->start;
}

void tly_log_reader_close(struct tly_log_reader *r)
{
    if (r == NULL)
        return;
    if (r->fd >= 0)
        close(r->fd);
    free(r->buf);
    free(r->dir);
    free(r);
}

int tly_log_end(const char *dir, uint64_t *end)
{
    uint64_t *bases;
    size_t n;
    *end = 0;
    int rc = tly_log_list_segments(dir, &bases, &n);
    if (rc != 0 || n == 0)
        return rc;
    struct tly_log_reader *r;
    rc = tly_log_reader_open(&r, dir, bases[n - 1]);
    free(bases);
    if (rc != 0)
        return rc;
    struct tly_record rec;
    uint64_t off;
    while ((rc = tly_log_reader_next(r, &rec, &off)) == 1)
        ;
    *end = tly_log_reader_position(r);
    tly_log_reader_close(r);
    return rc < 0 ? rc : 0;
}
