/*
 * Fuzzes event log recovery: the input becomes the bytes of the segment
 * file 00000000000000000000.log in a fresh temporary directory (mkdtemp
 * under $TMPDIR, else /dev/shm; removed after every run that passes), and
 * tly_segment_open (src/log/segment.h) recovers it.
 *
 * Input: byte 0 picks the shape, the rest is raw file bytes. With bit 0
 * set, 1..4 valid records (bits 1-2) built from the input are written
 * before the raw bytes, so the fuzzer reaches torn and corrupt tails after
 * good data; with bits 4-7 also set, the first of them is about 1 MiB long,
 * so what follows straddles the log reader's 1 MiB read chunk. With bit 3
 * set, a quarantine file left by an earlier recovery already sits where
 * this one cuts (a second crash tearing the log at the same offset).
 *
 * Invariants checked (abort() if broken), beyond "no crash, no leak":
 *   - recovery succeeds and finds one segment;
 *   - it keeps exactly the longest run of whole valid frames from the
 *     start (computed here with tly_record_decode) and reports the rest:
 *     end_offset + truncated_bytes == the file size, tail_corrupt set iff
 *     the first bad frame is corrupt rather than torn, and the valid
 *     records written first are never lost;
 *   - afterwards the file is end_offset bytes of whole valid records: the
 *     tly_log_reader_* reader decodes tail_records records, never reports
 *     corruption, and its position reaches the end with nothing pending;
 *   - the bytes moved aside are in corrupt-<offset>.bin, unchanged, and
 *     there is no such file when nothing was moved; an earlier quarantine
 *     file is never overwritten ("never silently destroyed"): its bytes
 *     must still be in some file beside the segment;
 *   - an append after recovery lands at end_offset and reads back.
 */
#include "core/logger.h"
#include "log/reader.h"
#include "log/record.h"
#include "log/segment.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

#define BIG_RECORD (1u << 20)

static void write_file(const char *path, const uint8_t *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(fd >= 0);
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        CHECK(w > 0);
        p += w;
        n -= (size_t)w;
    }
    close(fd);
}

/* Reads a whole file; NULL if it does not exist. */
static uint8_t *read_file(const char *path, size_t *n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    *n = (size_t)st.st_size;
    uint8_t *p = malloc(*n + 1);
    CHECK(p != NULL);
    size_t got = 0;
    while (got < *n) {
        ssize_t r = read(fd, p + got, *n - got);
        CHECK(r > 0);
        got += (size_t)r;
    }
    close(fd);
    return p;
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    struct dirent *e;
    char path[4096];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        CHECK(unlink(path) == 0);
    }
    closedir(d);
    CHECK(rmdir(dir) == 0);
}

/* Checks the files beside the segment: exactly one per expected content
 * (the tail moved aside, an earlier quarantine file), whatever their names. */
static void check_aside(const char *dir, const uint8_t *moved, size_t moved_len,
                        const uint8_t *earlier, size_t earlier_len)
{
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    struct dirent *e;
    char path[4096];
    int files = 0, have_moved = 0, have_earlier = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
            strcmp(e->d_name, "00000000000000000000.log") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t n = 0;
        uint8_t *p = read_file(path, &n);
        CHECK(p != NULL);
        files++;
        if (moved != NULL && n == moved_len && memcmp(p, moved, n) == 0)
            have_moved = 1;
        if (earlier != NULL && n == earlier_len && memcmp(p, earlier, n) == 0)
            have_earlier = 1;
        free(p);
    }
    closedir(d);
    CHECK(files == (moved != NULL) + (earlier != NULL));
    CHECK(have_moved == (moved != NULL));
    CHECK(have_earlier == (earlier != NULL));
}

/* $TMPDIR (run.sh points it at a scratch dir), else /dev/shm, else /tmp. */
static const char *tmp_base(void)
{
    const char *t = getenv("TMPDIR");
    if (t != NULL && t[0] != '\0')
        return t;
    return access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
}

/* The valid records put in front of the raw bytes. Returns their total
 * size; `out` (if not NULL) receives them. */
static size_t make_prefix(const uint8_t *data, size_t size, int count, int big, uint8_t *out)
{
    size_t total = 0;
    for (int i = 0; i < count; i++) {
        struct tly_record r;
        memset(&r, 0, sizeof r);
        r.source = TLY_SOURCE_SERVER;
        r.kind = (uint8_t)(i % 2 ? TLY_KIND_BATCH : TLY_KIND_SINGLE);
        r.tenant = (uint32_t)i + 1;
        r.received_at = 1700000000000 + i;
        r.request_id[15] = (uint8_t)i;
        size_t avail = size;
        size_t body = (size_t)(7 * i + 3) < avail ? (size_t)(7 * i + 3) : avail;
        r.meta = i == 2 ? "{\"q\":1}" : NULL;
        r.meta_len = i == 2 ? 7 : 0;
        r.body = (const char *)data;
        r.body_len = body;
        if (big && i == 0) {
            /* Ends a few bytes before or after the reader's first chunk. */
            static char *filler; /* enough bytes of 'x', made once */
            if (filler == NULL) {
                filler = malloc(BIG_RECORD + 128);
                CHECK(filler != NULL);
                memset(filler, 'x', BIG_RECORD + 128);
            }
            /* A frame of BIG_RECORD - 64 .. BIG_RECORD + 63 bytes. */
            r.body_len = BIG_RECORD - TLY_RECORD_HEADER - 64 + (size > 0 ? data[0] % 128 : 0);
            r.body = filler;
        }
        size_t n = tly_record_size(r.meta_len, r.body_len);
        if (out != NULL)
            tly_record_encode(&r, out + total);
        total += n;
    }
    return total;
}

/* What recovery must keep: the longest run of whole valid frames. */
static size_t good_prefix(const uint8_t *p, size_t n, int *corrupt, uint64_t *records)
{
    size_t off = 0;
    *corrupt = 0;
    *records = 0;
    while (off < n) {
        struct tly_record r;
        long k = tly_record_decode(p + off, n - off, &r);
        if (k <= 0) {
            *corrupt = k < 0;
            break;
        }
        off += (size_t)k;
        (*records)++;
    }
    return off;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int mode = data[0];
    const uint8_t *raw = data + 1;
    size_t raw_len = size - 1;
    int count = mode & 1 ? ((mode >> 1) & 3) + 1 : 0;
    int big = count > 0 && (mode & 0xf0) == 0xf0;
    int earlier = (mode & 0x08) != 0;

    size_t plen = make_prefix(raw, raw_len, count, big, NULL);
    size_t flen = plen + raw_len;
    uint8_t *file = malloc(flen + 1);
    CHECK(file != NULL);
    make_prefix(raw, raw_len, count, big, file);
    if (raw_len > 0)
        memcpy(file + plen, raw, raw_len);

    int corrupt;
    uint64_t records;
    size_t keep = good_prefix(file, flen, &corrupt, &records);
    CHECK(keep >= plen);

    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tally-fuzz-XXXXXX", tmp_base());
    CHECK(mkdtemp(dir) != NULL);
    char seg[4096];
    tly_log_segment_path(dir, 0, seg, sizeof seg);
    write_file(seg, file, flen);
    char qpath[4096];
    snprintf(qpath, sizeof qpath, "%s/corrupt-%020" PRIu64 ".bin", dir, (uint64_t)keep);
    uint8_t old[64];
    size_t old_len = (size_t)snprintf((char *)old, sizeof old, "earlier quarantine %zu\n", keep);
    if (earlier)
        write_file(qpath, old, old_len);

    struct tly_logger lg;
    tly_logger_init(&lg, stderr, TLY_LOG_ERROR);
    struct tly_segment_writer *w = NULL;
    struct tly_log_recovery rec;
    memset(&rec, 0xff, sizeof rec);
    CHECK(tly_segment_open(&w, dir, UINT64_C(1) << 40, &lg, &rec) == 0);
    CHECK(rec.segments == 1);
    CHECK(rec.end_offset + rec.truncated_bytes == flen);
    CHECK(rec.end_offset == keep);
    CHECK(rec.tail_records == records);
    CHECK(rec.tail_corrupt == (rec.truncated_bytes > 0 && corrupt));
    CHECK(tly_segment_end(w) == rec.end_offset);

    /* The segment now holds exactly the kept bytes. */
    size_t n = 0;
    uint8_t *now = read_file(seg, &n);
    CHECK(now != NULL);
    CHECK(n == keep && memcmp(now, file, n) == 0);
    free(now);

    /* The rest was moved aside, unchanged, and nothing else was lost. */
    if (!earlier) {
        uint8_t *moved = read_file(qpath, &n);
        if (rec.truncated_bytes > 0) {
            CHECK(moved != NULL);
            CHECK(n == rec.truncated_bytes && memcmp(moved, file + keep, n) == 0);
        } else {
            CHECK(moved == NULL);
        }
        free(moved);
    }
    check_aside(dir, rec.truncated_bytes > 0 ? file + keep : NULL, rec.truncated_bytes,
                earlier ? old : NULL, old_len);

    /* The reader sees only whole valid records, up to the end. */
    struct tly_log_reader *r;
    CHECK(tly_log_reader_open(&r, dir, 0) == 0);
    struct tly_record one;
    uint64_t off, seen = 0, expect_off = 0;
    int rc;
    while ((rc = tly_log_reader_next(r, &one, &off)) == 1) {
        CHECK(off == expect_off);
        expect_off += tly_record_size(one.meta_len, one.body_len);
        seen++;
    }
    CHECK(rc == 0);
    CHECK(seen == rec.tail_records);
    CHECK(tly_log_reader_position(r) == rec.end_offset);
    CHECK(tly_log_reader_pending(r) == 0);

    /* Appends continue at end_offset. */
    static const char body[] = "{\"after\":\"recovery\"}";
    struct tly_record add = {.source = TLY_SOURCE_SERVER, .kind = TLY_KIND_SINGLE, .tenant = 7};
    add.body = body;
    add.body_len = sizeof body - 1;
    uint8_t enc[TLY_RECORD_HEADER + sizeof body];
    size_t enc_len = tly_record_size(0, add.body_len);
    tly_record_encode(&add, enc);
    const uint8_t *recs[1] = {enc};
    uint64_t at = 0;
    CHECK(tly_segment_write(w, recs, &enc_len, 1, &at) == 0);
    CHECK(at == rec.end_offset);
    CHECK(tly_log_reader_next(r, &one, &off) == 1);
    CHECK(off == rec.end_offset && one.body_len == add.body_len && one.tenant == 7);
    CHECK(memcmp(one.body, body, add.body_len) == 0);
    CHECK(tly_log_reader_next(r, &one, &off) == 0);
    tly_log_reader_close(r);

    tly_segment_close(w);
    remove_dir(dir);
    free(file);
    return 0;
}
