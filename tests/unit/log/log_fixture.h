/*
 * Fixtures and helpers of the event log's unit tests (test_log.c): a fresh
 * directory per test with a watchdog, records generated from an id and a
 * body length, a model of what the log should hold, and file helpers. Kept
 * apart so the test file stays readable in one sitting. The functions are
 * static inline: each test executable includes this once.
 */
#ifndef TLY_TEST_LOG_FIXTURE_H
#define TLY_TEST_LOG_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/crc32c.h"
#include "core/logger.h"
#include "log/reader.h"
#include "log/record.h"
#include "log/segment.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct tly_logger quiet = {NULL, TLY_LOG_DEBUG};

/* ---- fixture: a fresh directory per test ---- */

struct fx {
    char root[64]; /* mkdtemp'd, removed in teardown */
    char dir[96];  /* root/log: the log directory (created by open) */
};

static char running_root[64]; /* the current test's directory, for the watchdog */

static inline int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* A test that hangs (a reader spinning at the end of the log, say) ends the
 * run with a message, and its directory removed, instead of waiting for
 * ctest's timeout. */
static inline void watchdog(int sig)
{
    (void)sig;
    static const char msg[] = "\ntest_log: a test ran for 60 s (hung); giving up\n";
    ssize_t n = write(2, msg, sizeof msg - 1);
    (void)n;
    if (running_root[0] != '\0')
        nftw(running_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    _exit(124);
}

static inline int setup(void **state)
{
    alarm(60);
    struct fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->root, sizeof f->root, "/tmp/tly-test-log-XXXXXX");
    if (mkdtemp(f->root) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->dir, sizeof f->dir, "%s/log", f->root);
    memcpy(running_root, f->root, sizeof running_root);
    *state = f;
    return 0;
}

static inline int teardown(void **state)
{
    struct fx *f = *state;
    alarm(0);
    running_root[0] = '\0';
    int rc = nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return rc;
}

/* ---- records generated from (id, body length) ---- */

struct spec {
    struct tly_record r;
    char meta[48];
    char *body;
};

static inline size_t default_body(unsigned id)
{
    return 10 + (id * 37u) % 190; /* frames of about 60..260 bytes */
}

static inline void spec_init(struct spec *s, unsigned id, size_t body_len)
{
    memset(s, 0, sizeof *s);
    s->r.source = (uint8_t)(1 + id % 6);
    s->r.kind = (uint8_t)(1 + id % 2);
    s->r.tenant = 0xA0000000u + id;
    s->r.received_at = 1704448800000LL + (int64_t)id * 1000 + 7;
    for (int k = 0; k < 16; k++)
        s->r.request_id[k] = (uint8_t)((id * 16u + (unsigned)k) ^ 0x5au);
    if (id % 3 != 0)
        snprintf(s->meta, sizeof s->meta, "{\"id\":%u,\"q\":\"x\"}", id);
    s->r.meta = s->meta;
    s->r.meta_len = strlen(s->meta);
    s->body = malloc(body_len > 0 ? body_len : 1);
    assert_non_null(s->body);
    for (size_t k = 0; k < body_len; k++)
        s->body[k] = (char)(id * 31u + k * 7u);
    s->r.body = s->body;
    s->r.body_len = body_len;
}

static inline void spec_free(struct spec *s)
{
    free(s->body);
    s->body = NULL;
}

static inline uint8_t *encode(const struct tly_record *r, size_t *len)
{
    *len = tly_record_size(r->meta_len, r->body_len);
    uint8_t *p = malloc(*len);
    assert_non_null(p);
    tly_record_encode(r, p);
    return p;
}

static inline uint8_t *encode_id(unsigned id, size_t body_len, size_t *len)
{
    struct spec s;
    spec_init(&s, id, body_len);
    uint8_t *p = encode(&s.r, len);
    spec_free(&s);
    return p;
}

static inline size_t meta_len_of(unsigned id)
{
    struct spec s;
    spec_init(&s, id, 0);
    size_t n = s.r.meta_len;
    spec_free(&s);
    return n;
}

static inline void expect_record(const struct tly_record *got, const struct tly_record *want)
{
    assert_int_equal(got->source, want->source);
    assert_int_equal(got->kind, want->kind);
    assert_int_equal(got->flags, want->flags);
    assert_int_equal(got->tenant, want->tenant);
    assert_int_equal(got->received_at, want->received_at);
    assert_memory_equal(got->request_id, want->request_id, 16);
    assert_int_equal(got->meta_len, want->meta_len);
    if (want->meta_len > 0)
        assert_memory_equal(got->meta, want->meta, want->meta_len);
    assert_int_equal(got->body_len, want->body_len);
    if (want->body_len > 0)
        assert_memory_equal(got->body, want->body, want->body_len);
}

static inline void expect_record_id(const struct tly_record *got, unsigned id, size_t body_len)
{
    struct spec s;
    spec_init(&s, id, body_len);
    expect_record(got, &s.r);
    spec_free(&s);
}

/* ---- a model of what the log should hold ---- */

#define MAXREC 2048

struct model {
    size_t n;
    unsigned id[MAXREC];
    size_t body[MAXREC];
    uint64_t off[MAXREC];
    size_t len[MAXREC];
};

/* Writes records ids[0..n) (bodies body[i], or the default when body is
 * NULL) with one tly_segment_write call. On success checks the offsets and
 * adds the records to the model. Returns the write's result. */
static inline int append_batch(struct tly_segment_writer *w, struct model *m, const unsigned *ids,
                               const size_t *body, size_t n)
{
    uint8_t **recs = calloc(n, sizeof *recs);
    size_t *lens = calloc(n, sizeof *lens);
    uint64_t *offs = calloc(n, sizeof *offs);
    assert_true(recs != NULL && lens != NULL && offs != NULL);
    for (size_t i = 0; i < n; i++)
        recs[i] = encode_id(ids[i], body ? body[i] : default_body(ids[i]), &lens[i]);
    uint64_t start = tly_segment_end(w);
    int rc = tly_segment_write(w, (const uint8_t *const *)recs, lens, n, offs);
    for (size_t i = 0; i < n; i++)
        free(recs[i]);
    free(recs);
    if (rc == 0) {
        /* Offsets are global byte positions: contiguous across rolls. */
        uint64_t at = start;
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(offs[i], at);
            at += lens[i];
            assert_true(m->n < MAXREC);
            m->id[m->n] = ids[i];
            m->body[m->n] = body ? body[i] : default_body(ids[i]);
            m->off[m->n] = offs[i];
            m->len[m->n] = lens[i];
            m->n++;
        }
        assert_int_equal(tly_segment_end(w), at);
    }
    free(lens);
    free(offs);
    return rc;
}

/* Appends ids first..first+count-1 in batches of 1, 2, 3, ... records. */
static inline void append_range(struct tly_segment_writer *w, struct model *m, unsigned first,
                                unsigned count)
{
    unsigned ids[64];
    unsigned done = 0, batch = 1;
    while (done < count) {
        unsigned k = batch < count - done ? batch : count - done;
        for (unsigned i = 0; i < k; i++)
            ids[i] = first + done + i;
        assert_int_equal(append_batch(w, m, ids, NULL, k), 0);
        done += k;
        batch = batch % 9 + 1;
    }
}

static inline uint64_t model_end(const struct model *m)
{
    return m->n == 0 ? 0 : m->off[m->n - 1] + m->len[m->n - 1];
}

/* Drops records from index k on (they were moved aside by recovery). */
static inline void model_truncate(struct model *m, size_t k)
{
    m->n = k;
}

/* A reader from record `from` returns exactly records from..n-1 of the
 * model, at their offsets, then 0 with nothing pending. */
static inline void expect_log(const char *dir, const struct model *m, size_t from)
{
    struct tly_log_reader *r = NULL;
    uint64_t start = from < m->n ? m->off[from] : model_end(m);
    assert_int_equal(tly_log_reader_open(&r, dir, start), 0);
    assert_int_equal(tly_log_reader_position(r), start);
    for (size_t i = from; i < m->n; i++) {
        struct tly_record rec;
        uint64_t off = UINT64_MAX;
        int rc = tly_log_reader_next(r, &rec, &off);
        if (rc != 1)
            print_error("record %zu (offset %" PRIu64 "): reader returned %d\n", i, m->off[i], rc);
        assert_int_equal(rc, 1);
        assert_int_equal(off, m->off[i]);
        expect_record_id(&rec, m->id[i], m->body[i]);
        assert_int_equal(tly_log_reader_position(r), m->off[i] + m->len[i]);
    }
    struct tly_record rec;
    uint64_t off;
    assert_int_equal(tly_log_reader_next(r, &rec, &off), 0);
    assert_int_equal(tly_log_reader_position(r), model_end(m));
    assert_int_equal(tly_log_reader_pending(r), 0);
    tly_log_reader_close(r);
}

/* ---- file helpers ---- */

static inline uint8_t *read_whole(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    long n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    uint8_t *p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, fp), (size_t)n);
    fclose(fp);
    *len = (size_t)n;
    return p;
}

static inline uint64_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

static inline void append_raw(const char *path, const void *p, size_t n)
{
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, n), (ssize_t)n);
    close(fd);
}

static inline void xor_byte(const char *path, uint64_t at, uint8_t mask)
{
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t c;
    assert_int_equal(pread(fd, &c, 1, (off_t)at), 1);
    c ^= mask;
    assert_int_equal(pwrite(fd, &c, 1, (off_t)at), 1);
    close(fd);
}

static inline uint64_t last_base(const char *dir)
{
    uint64_t *bases = NULL;
    size_t n = 0;
    assert_int_equal(tly_log_list_segments(dir, &bases, &n), 0);
    assert_true(n > 0);
    uint64_t b = bases[n - 1];
    free(bases);
    return b;
}

/* Whatever the logger wrote so far. */
static inline char *logged(FILE *fp)
{
    fflush(fp);
    long n = ftell(fp);
    assert_true(n >= 0);
    char *s = calloc(1, (size_t)n + 1);
    assert_non_null(s);
    rewind(fp);
    assert_int_equal(fread(s, 1, (size_t)n, fp), (size_t)n);
    return s;
}

/* Opens a log in `dir`, which does not exist yet. */
static inline int open_new(struct tly_segment_writer **w, const char *dir, uint64_t segment_max,
                           struct tly_log_recovery *rec)
{
    int rc = tly_segment_open(w, dir, segment_max, &quiet, rec);
    if (rc == 0) {
        assert_int_equal(rec->end_offset, 0);
        assert_int_equal(rec->segments, 1);
        assert_int_equal(rec->tail_records, 0);
        assert_int_equal(rec->truncated_bytes, 0);
    }
    return rc;
}

#endif
