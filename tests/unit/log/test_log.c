/*
 * Unit tests for the event log's storage layer: src/log/record.h (framing
 * and checksum), src/log/segment.h (append, sync, roll, recovery, the
 * FAILED state and fault injection) and src/log/reader.h (reading across
 * segments, from a middle offset, following a growing log, corruption).
 *
 * Each test gets its own directory under /tmp (removed in the teardown, so
 * also after a failure). Records are generated from an id and a body length,
 * so what a reader returns can be checked field by field and byte for byte.
 * Checks that can crash or hang the process (a sanitizer abort, a reader
 * that never returns) run in a child process so only their own test fails.
 * The tests named after a behaviour of src/ that is wrong say so above them.
 */
#include "log_fixture.h"

/* ==== record.h ==== */

static void test_record_round_trip(void **state)
{
    (void)state;
    static const char meta[] = "{\"query\":\"a=1&b=2\"}";
    static const char body[] = "{\"event\":\"signup\",\"user\":\"u-1\"}";
    struct tly_record in = {
        .source = TLY_SOURCE_CLEVERTAP,
        .kind = TLY_KIND_BATCH,
        .flags = TLY_RECORD_BODY_CHECKED,
        .tenant = 0xDEADBEEFu,
        .received_at = 1704448800123LL,
        .meta = meta,
        .meta_len = sizeof meta - 1,
        .body = body,
        .body_len = sizeof body - 1,
    };
    for (int k = 0; k < 16; k++)
        in.request_id[k] = (uint8_t)(0xF0 + k);
    size_t len;
    uint8_t *p = encode(&in, &len);
    assert_int_equal(len, TLY_RECORD_HEADER + in.meta_len + in.body_len);

    /* The layout of record.h, byte for byte. */
    uint32_t flen =
        (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    assert_int_equal(flen, len - TLY_RECORD_PREFIX);
    uint32_t crc = tly_crc32c(tly_crc32c(0, p, 4), p + 8, len - 8);
    assert_int_equal(p[4] | p[5] << 8 | p[6] << 16 | (uint32_t)p[7] << 24, crc);
    assert_int_equal(p[8], TLY_RECORD_VERSION);
    assert_int_equal(p[9], TLY_SOURCE_CLEVERTAP);
    assert_int_equal(p[10], TLY_KIND_BATCH);
    assert_int_equal(p[11], TLY_RECORD_BODY_CHECKED);
    assert_memory_equal(p + 12, "\xef\xbe\xad\xde", 4);
    assert_int_equal(p[40] | p[41] << 8, in.meta_len);
    assert_int_equal(p[42] | p[43] << 8, 0);
    assert_memory_equal(p + 44, meta, in.meta_len);
    assert_memory_equal(p + 44 + in.meta_len, body, in.body_len);

    struct tly_record out;
    memset(&out, 0, sizeof out);
    assert_int_equal(tly_record_decode(p, len, &out), (long)len);
    expect_record(&out, &in);
    /* Pointers borrow from the frame. */
    assert_ptr_equal(out.meta, (const char *)p + 44);
    assert_ptr_equal(out.body, (const char *)p + 44 + in.meta_len);

    /* Bytes after the frame (the next record) are not part of it. */
    uint8_t *two = malloc(2 * len);
    assert_non_null(two);
    memcpy(two, p, len);
    memcpy(two + len, p, len);
    assert_int_equal(tly_record_decode(two, 2 * len, &out), (long)len);
    expect_record(&out, &in);
    assert_int_equal(tly_record_decode(two + len, len, &out), (long)len);
    free(two);
    free(p);
}

static void test_record_edge_values(void **state)
{
    (void)state;
    /* Empty meta and body; extreme header values. */
    struct tly_record in = {
        .source = 255, .kind = 0, .tenant = UINT32_MAX, .received_at = INT64_MAX};
    memset(in.request_id, 0xFF, 16);
    size_t len;
    uint8_t *p = encode(&in, &len);
    assert_int_equal(len, TLY_RECORD_HEADER);
    struct tly_record out;
    assert_int_equal(tly_record_decode(p, len, &out), TLY_RECORD_HEADER);
    expect_record(&out, &in);
    assert_int_equal(out.meta_len, 0);
    assert_int_equal(out.body_len, 0);
    free(p);

    in.received_at = -1;
    in.tenant = 0;
    in.meta = "m";
    in.meta_len = 1;
    p = encode(&in, &len);
    assert_int_equal(tly_record_decode(p, len, &out), (long)len);
    expect_record(&out, &in);
    free(p);

    /* Largest meta the u16 field holds, and a body after it. */
    struct spec s;
    spec_init(&s, 7, 3000);
    char *bigmeta = malloc(65535);
    assert_non_null(bigmeta);
    memset(bigmeta, 'm', 65535);
    s.r.meta = bigmeta;
    s.r.meta_len = 65535;
    p = encode(&s.r, &len);
    assert_int_equal(tly_record_decode(p, len, &out), (long)len);
    expect_record(&out, &s.r);
    free(p);
    free(bigmeta);
    spec_free(&s);
}

static void test_record_names(void **state)
{
    (void)state;
    assert_string_equal(tly_source_name(TLY_SOURCE_SERVER), "server");
    assert_string_equal(tly_source_name(TLY_SOURCE_SEGMENT), "segment");
    assert_string_equal(tly_source_name(TLY_SOURCE_MOENGAGE), "moengage");
    assert_string_equal(tly_source_name(TLY_SOURCE_CLEVERTAP), "clevertap");
    assert_string_equal(tly_source_name(TLY_SOURCE_WEBENGAGE), "webengage");
    assert_string_equal(tly_source_name(TLY_SOURCE_TRACK), "track");
    assert_string_equal(tly_source_name(TLY_SOURCE_INTERNAL), "internal");
    assert_string_equal(tly_source_name(-1), "unknown");
    assert_string_equal(tly_source_name(7), "unknown");
    assert_string_equal(tly_kind_name(TLY_KIND_SINGLE), "single");
    assert_string_equal(tly_kind_name(TLY_KIND_BATCH), "batch");
    assert_string_equal(tly_kind_name(TLY_KIND_REPLAY), "replay");
    assert_string_equal(tly_kind_name(4), "unknown");

    uint8_t id[16];
    for (int k = 0; k < 16; k++)
        id[k] = (uint8_t)(k * 17);
    char hex[33];
    memset(hex, 'x', sizeof hex);
    tly_request_id_hex(id, hex);
    assert_string_equal(hex, "00112233445566778899aabbccddeeff");
}

/* Every proper prefix of a frame is "need more bytes" (0), read from an
 * exact-size heap copy so that ASan catches a read past `avail`. */
static void test_record_truncated_prefixes(void **state)
{
    (void)state;
    struct spec s;
    spec_init(&s, 1, 40);
    size_t len;
    uint8_t *p = encode(&s.r, &len);
    for (size_t k = 0; k < len; k++) {
        uint8_t *cut = malloc(k > 0 ? k : 1);
        assert_non_null(cut);
        memcpy(cut, p, k);
        struct tly_record out;
        long rc = tly_record_decode(cut, k, &out);
        free(cut);
        if (rc != 0)
            print_error("prefix of %zu of %zu bytes: %ld\n", k, len, rc);
        assert_int_equal(rc, 0);
    }
    free(p);
    spec_free(&s);
}

/* A flipped bit anywhere in the frame is TLY_ECORRUPT. For the length field
 * that needs the bytes the altered length claims, so the frame is decoded
 * from a buffer that can hold any length up to TLY_RECORD_MAX_LEN (as if
 * more of the log followed). With exactly the frame's bytes, a grown length
 * can only be told apart from a short read as "need more" (0) — but never
 * as a decoded record. */
static void test_record_bit_flips(void **state)
{
    (void)state;
    struct spec s;
    spec_init(&s, 2, 15);
    size_t len;
    uint8_t *p = encode(&s.r, &len);
    spec_free(&s);
    size_t big = TLY_RECORD_PREFIX + (size_t)TLY_RECORD_MAX_LEN;
    uint8_t *room = calloc(1, big);
    uint8_t *exact = malloc(len);
    assert_non_null(room);
    assert_non_null(exact);
    for (size_t at = 0; at < len; at++) {
        for (int bit = 0; bit < 8; bit++) {
            struct tly_record out;
            memcpy(room, p, len);
            room[at] ^= (uint8_t)(1u << bit);
            long rc = tly_record_decode(room, big, &out);
            if (rc != TLY_ECORRUPT)
                print_error("byte %zu bit %d (with room): %ld\n", at, bit, rc);
            assert_int_equal(rc, TLY_ECORRUPT);

            memcpy(exact, p, len);
            exact[at] ^= (uint8_t)(1u << bit);
            rc = tly_record_decode(exact, len, &out);
            if (at >= 4)
                assert_int_equal(rc, TLY_ECORRUPT);
            else
                assert_true(rc == TLY_ECORRUPT || rc == 0);
        }
    }
    free(exact);
    free(room);
    free(p);
}

static void put_len(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Length fields that no frame may have are corrupt at once, from the
 * 8-byte prefix alone (an 8-byte heap buffer: ASan checks nothing past it
 * is read). */
static void test_record_bad_length(void **state)
{
    (void)state;
    const uint32_t bad[] = {TLY_RECORD_MAX_LEN + 1,
                            UINT32_MAX,
                            0x80000000u,
                            0,
                            1,
                            TLY_RECORD_HEADER - TLY_RECORD_PREFIX - 1};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t *p = calloc(1, TLY_RECORD_PREFIX);
        assert_non_null(p);
        put_len(p, bad[i]);
        struct tly_record out;
        long rc = tly_record_decode(p, TLY_RECORD_PREFIX, &out);
        free(p);
        assert_int_equal(rc, TLY_ECORRUPT);
    }
    /* The largest allowed length only asks for more bytes. */
    uint8_t *p = calloc(1, TLY_RECORD_PREFIX);
    assert_non_null(p);
    put_len(p, TLY_RECORD_MAX_LEN);
    struct tly_record out;
    assert_int_equal(tly_record_decode(p, TLY_RECORD_PREFIX, &out), 0);
    free(p);
}

/* Frames whose checksum is right but whose content breaks the format. */
static void reseal(uint8_t *p, size_t len)
{
    uint32_t crc = tly_crc32c(tly_crc32c(0, p, 4), p + 8, len - 8);
    p[4] = (uint8_t)crc;
    p[5] = (uint8_t)(crc >> 8);
    p[6] = (uint8_t)(crc >> 16);
    p[7] = (uint8_t)(crc >> 24);
}

static void test_record_bad_version_and_meta_len(void **state)
{
    (void)state;
    struct spec s;
    spec_init(&s, 1, 10); /* with meta and body */
    size_t len;
    uint8_t *p = encode(&s.r, &len);
    struct tly_record out;

    p[8] = TLY_RECORD_VERSION + 1;
    reseal(p, len);
    assert_int_equal(tly_record_decode(p, len, &out), TLY_ECORRUPT);
    p[8] = TLY_RECORD_VERSION;

    /* meta_len covering meta and body exactly is fine (empty body)... */
    uint16_t all = (uint16_t)(s.r.meta_len + s.r.body_len);
    p[40] = (uint8_t)all;
    p[41] = (uint8_t)(all >> 8);
    reseal(p, len);
    assert_int_equal(tly_record_decode(p, len, &out), (long)len);
    assert_int_equal(out.meta_len, all);
    assert_int_equal(out.body_len, 0);
    /* ...one byte more runs past the frame. */
    all++;
    p[40] = (uint8_t)all;
    p[41] = (uint8_t)(all >> 8);
    reseal(p, len);
    assert_int_equal(tly_record_decode(p, len, &out), TLY_ECORRUPT);
    p[40] = 0xFF;
    p[41] = 0xFF;
    reseal(p, len);
    assert_int_equal(tly_record_decode(p, len, &out), TLY_ECORRUPT);
    free(p);
    spec_free(&s);
}

/* ==== segment.h + reader.h ==== */

/* Runs fn(dir) in a child process, so that a crash or a sanitizer abort
 * fails this test only. Returns the child's exit code, or 128 + signal. */
static int run_in_child(int (*fn)(const char *), const char *dir)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGALRM, SIG_DFL);
        _exit(fn(dir));
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* A first open of a directory that does not exist yet. Returns 0 if all
 * checks held, else 10 + the number of the first that failed (a sanitizer
 * that stops the process exits with 1). */
static int fresh_open(const char *dir)
{
    struct tly_segment_writer *w = NULL;
    struct tly_log_recovery rec;
    memset(&rec, 0xAB, sizeof rec);
    if (tly_segment_open(&w, dir, 1 << 20, &quiet, &rec) != 0)
        return 11;
    if (rec.end_offset != 0 || rec.segments != 1 || rec.tail_records != 0 ||
        rec.truncated_bytes != 0 || rec.tail_corrupt != 0)
        return 12;
    if (tly_segment_end(w) != 0 || tly_segment_failed(w) != 0)
        return 13;
    if (tly_segment_sync(w) != 0)
        return 14;
    tly_segment_close(w);
    return 0;
}

/* Reopens a log whose only segment is empty (recovery reads it) and reads
 * it from 0: nothing, nothing pending. Exit codes as for fresh_open; a hang
 * is cut short by SIGALRM. */
static int reopen_and_read_empty(const char *dir)
{
    alarm(10);
    struct tly_segment_writer *w = NULL;
    struct tly_log_recovery rec;
    if (tly_segment_open(&w, dir, 1 << 20, &quiet, &rec) != 0)
        return 11;
    if (rec.end_offset != 0 || rec.segments != 1 || rec.tail_records != 0 ||
        rec.truncated_bytes != 0 || rec.tail_corrupt != 0)
        return 12;
    tly_segment_close(w);
    struct tly_log_reader *r;
    if (tly_log_reader_open(&r, dir, 0) != 0)
        return 13;
    struct tly_record record;
    uint64_t off;
    if (tly_log_reader_next(r, &record, &off) != 0 || tly_log_reader_pending(r) != 0 ||
        tly_log_reader_position(r) != 0)
        return 14;
    tly_log_reader_close(r);
    return 0;
}

static void expect_child_ok(int code, const char *what)
{
    if (code != 0)
        print_error("%s: %s %d\n", what,
                    code == 128 + SIGALRM     ? "hung (killed after 10 s), status"
                    : code < 10 || code > 128 ? "process died (see the report above), status"
                                              : "failed check",
                    code);
    assert_int_equal(code, 0);
}

static void test_open_empty_dir(void **state)
{
    struct fx *f = *state;
    expect_child_ok(run_in_child(fresh_open, f->dir), "first open of a new log directory");

    /* It created the directory and one empty segment named 0. */
    char path[256];
    tly_log_segment_path(f->dir, 0, path, sizeof path);
    assert_string_equal(strrchr(path, '/') + 1, "00000000000000000000.log");
    assert_int_equal(file_size(path), 0);
    uint64_t *bases;
    size_t n;
    assert_int_equal(tly_log_list_segments(f->dir, &bases, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(bases[0], 0);
    free(bases);

    expect_child_ok(run_in_child(reopen_and_read_empty, f->dir),
                    "reopening and reading a log with one empty segment");

    tly_segment_close(NULL);
    tly_log_reader_close(NULL);
}

/* Listing a directory that exists but holds no segment: 0, no array.
 * Exit codes as for fresh_open. */
static int list_empty(const char *dir)
{
    if (mkdir(dir, 0755) != 0)
        return 11;
    uint64_t *bases = (uint64_t *)&bases;
    size_t n = 99;
    if (tly_log_list_segments(dir, &bases, &n) != 0)
        return 12;
    if (n != 0 || bases != NULL)
        return 13;
    struct tly_log_reader *r = NULL;
    if (tly_log_reader_open(&r, dir, 0) != TLY_ENOENT)
        return 14;
    return 0;
}

static void test_list_segments_of_empty_dir(void **state)
{
    struct fx *f = *state;
    expect_child_ok(run_in_child(list_empty, f->dir), "listing an empty log directory");
}

static void test_list_segments_and_paths(void **state)
{
    struct fx *f = *state;
    uint64_t *bases = (uint64_t *)1;
    size_t n = 99;
    /* A missing directory has no segments. */
    assert_int_equal(tly_log_list_segments(f->dir, &bases, &n), 0);
    assert_int_equal(n, 0);
    assert_null(bases);
    struct tly_log_reader *r = NULL;
    assert_int_equal(tly_log_reader_open(&r, f->dir, 0), TLY_ENOENT);

    assert_int_equal(mkdir(f->dir, 0755), 0);
    const char *names[] = {"00000000000000004096.log",
                           "00000000000000000000.log",
                           "00000000000000001024.log",
                           "corrupt-00000000000000000010.bin",
                           "1024.log",
                           "0000000000000000000a.log",
                           "00000000000000000000.log.tmp",
                           "000000000000000000000.log"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", f->dir, names[i]);
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fclose(fp);
    }
    assert_int_equal(tly_log_list_segments(f->dir, &bases, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(bases[0], 0);
    assert_int_equal(bases[1], 1024);
    assert_int_equal(bases[2], 4096);
    free(bases);

    char path[256];
    tly_log_segment_path("/x/y", 18446744073709551615ull, path, sizeof path);
    assert_string_equal(path, "/x/y/18446744073709551615.log");
    tly_log_segment_path("d", 42, path, sizeof path);
    assert_string_equal(path, "d/00000000000000000042.log");
}

static void test_append_and_read_back(void **state)
{
    struct fx *f = *state;
    struct model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    struct tly_segment_writer *w;
    struct tly_log_recovery rec;
    assert_int_equal(open_new(&w, f->dir, 64 << 20, &rec), 0);

    append_range(w, m, 0, 50);
    /* One call with more records than fit one writev (512 iovecs). */
    unsigned ids[700];
    for (unsigned i = 0; i < 700; i++)
        ids[i] = 50 + i;
    assert_int_equal(append_batch(w, m, ids, NULL, 700), 0);
    append_range(w, m, 750, 10);
    assert_int_equal(tly_segment_sync(w), 0);
    assert_int_equal(m->off[0], 0);
    for (size_t i = 1; i < m->n; i++)
        assert_true(m->off[i] > m->off[i - 1]);
    expect_log(f->dir, m, 0);
    expect_log(f->dir, m, 123);  /* from a middle record */
    expect_log(f->dir, m, m->n); /* from the end */
    tly_segment_close(w);

    /* The segment file is exactly the records, in order. */
    char path[256];
    tly_log_segment_path(f->dir, 0, path, sizeof path);
    size_t flen;
    uint8_t *file = read_whole(path, &flen);
    assert_int_equal(flen, model_end(m));
    for (size_t i = 0; i < m->n; i++) {
        size_t len;
        uint8_t *p = encode_id(m->id[i], m->body[i], &len);
        assert_int_equal(len, m->len[i]);
        assert_memory_equal(file + m->off[i], p, len);
        free(p);
    }
    free(file);

    /* Reopen: nothing to recover, appends continue at the end. */
    assert_int_equal(tly_segment_open(&w, f->dir, 64 << 20, &quiet, &rec), 0);
    assert_int_equal(rec.end_offset, model_end(m));
    assert_int_equal(rec.segments, 1);
    assert_int_equal(rec.tail_records, m->n);
    assert_int_equal(rec.truncated_bytes, 0);
    assert_int_equal(rec.tail_corrupt, 0);
    expect_log(f->dir, m, 0);
    append_range(w, m, 1000, 5);
    assert_int_equal(tly_segment_sync(w), 0);
    tly_segment_close(w);
    expect_log(f->dir, m, 0);
    free(m);
}

/* Every segment is named by its base offset, follows the previous one
 * exactly, and stays within segment_max unless it holds one record that is
 * bigger on its own. */
static size_t check_segments(const char *dir, const struct model *m, uint64_t segment_max)
{
    uint64_t *bases;
    size_t n;
    assert_int_equal(tly_log_list_segments(dir, &bases, &n), 0);
    assert_true(n >= 1);
    assert_int_equal(bases[0], 0);
    uint64_t expect_base = 0;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(bases[i], expect_base);
        char path[256];
        tly_log_segment_path(dir, bases[i], path, sizeof path);
        char want[32];
        snprintf(want, sizeof want, "%020" PRIu64 ".log", bases[i]);
        assert_string_equal(strrchr(path, '/') + 1, want);
        uint64_t size = file_size(path);
        /* Records starting in this segment. */
        size_t count = 0, single = 0;
        for (size_t k = 0; k < m->n; k++) {
            if (m->off[k] >= bases[i] && m->off[k] < bases[i] + size) {
                count++;
                single = k;
                assert_true(m->off[k] + m->len[k] <= bases[i] + size); /* no straddling */
            }
        }
        assert_true(count >= 1 || i == n - 1);
        if (size > segment_max) {
            assert_int_equal(count, 1);
            assert_int_equal(m->len[single], size);
        }
        expect_base += size;
    }
    assert_int_equal(expect_base, model_end(m));
    free(bases);
    return n;
}

static void test_roll(void **state)
{
    struct fx *f = *state;
    const uint64_t max = 1024;
    struct model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    struct tly_segment_writer *w;
    struct tly_log_recovery rec;
    assert_int_equal(open_new(&w, f->dir, max, &rec), 0);

    append_range(w, m, 0, 60);
    /* A record bigger than a segment, alone and inside a batch. */
    size_t big_body[3] = {default_body(60), 3000, default_body(62)};
    unsigned big_ids[3] = {60, 61, 62};
    assert_int_equal(append_batch(w, m, big_ids, big_body, 3), 0);
    size_t huge = 5000;
    unsigned huge_id = 63;
    assert_int_equal(append_batch(w, m, &huge_id, &huge, 1), 0);
    append_range(w, m, 64, 120);
    /* A record that exactly fills a fresh segment. */
    unsigned exact_id = 200;
    size_t exact = max - tly_record_size(meta_len_of(exact_id), 0);
    assert_int_equal(append_batch(w, m, &exact_id, &exact, 1), 0);
    assert_int_equal(m->len[m->n - 1], max);
    append_range(w, m, 201, 20);
    assert_int_equal(tly_segment_sync(w), 0);

    size_t nseg = check_segments(f->dir, m, max);
    assert_true(nseg >= 20);
    expect_log(f->dir, m, 0);

    /* A reader opened at a middle record starts there: one in the middle of
     * a segment, one that starts a segment, the big ones. */
    uint64_t *bases;
    size_t nb;
    assert_int_equal(tly_log_list_segments(f->dir, &bases, &nb), 0);
    size_t starts_segment = SIZE_MAX, mid_segment = SIZE_MAX;
    for (size_t k = m->n / 2; k < m->n && (starts_segment == SIZE_MAX || mid_segment == SIZE_MAX);
         k++) {
        int is_base = 0;
        for (size_t i = 0; i < nb; i++)
            is_base |= bases[i] == m->off[k];
        if (is_base && starts_segment == SIZE_MAX)
            starts_segment = k;
        if (!is_base && mid_segment == SIZE_MAX)
            mid_segment = k;
    }
    free(bases);
    assert_true(starts_segment != SIZE_MAX && mid_segment != SIZE_MAX);
    expect_log(f->dir, m, starts_segment);
    expect_log(f->dir, m, mid_segment);
    expect_log(f->dir, m, 61);
    expect_log(f->dir, m, 63);
    tly_segment_close(w);

    /* Reopen: recovery only reads the last segment. */
    assert_int_equal(tly_segment_open(&w, f->dir, max, &quiet, &rec), 0);
    assert_int_equal(rec.end_offset, model_end(m));
    assert_int_equal(rec.segments, nseg);
    size_t in_last = 0;
    uint64_t lb = last_base(f->dir);
    for (size_t k = 0; k < m->n; k++)
        in_last += m->off[k] >= lb;
    assert_int_equal(rec.tail_records, in_last);
    assert_int_equal(rec.truncated_bytes, 0);
    append_range(w, m, 300, 30);
    assert_int_equal(tly_segment_sync(w), 0);
    tly_segment_close(w);
    check_segments(f->dir, m, max);
    expect_log(f->dir, m, 0);
    free(m);
}

/* Records bigger than the reader's 1 MiB read chunk. */
static void test_large_records(void **state)
{
    struct fx *f = *state;
    struct model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    struct tly_segment_writer *w;
    struct tly_log_recovery rec;
    assert_int_equal(open_new(&w, f->dir, 4 << 20, &rec), 0);
    append_range(w, m, 0, 3);
    size_t bodies[3] = {(3u << 20) / 2, 100, (5u << 20) / 2};
    unsigned ids[3] = {3, 4, 5};
    assert_int_equal(append_batch(w, m, ids, bodies, 3), 0);
    append_range(w, m, 6, 3);
    assert_int_equal(tly_segment_sync(w), 0);
    expect_log(f->dir, m, 0);
    expect_log(f->dir, m, 4);
    tly_segment_close(w);
    assert_int_equal(tly_segment_open(&w, f->dir, 4 << 20, &quiet, &rec), 0);
    assert_int_equal(rec.end_offset, model_end(m));
    assert_int_equal(rec.truncated_bytes, 0);
    tly_segment_close(w);
    free(m);
}

/* A reader at the end sees what is appended later, across a roll. */
static void test_reader_follows_growing_log(void **state)
{
    struct fx *f = *state;
    struct model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    struct tly_segment_writer *w;
    struct tly_log_recovery rec;
    assert_int_equal(open_new(&w, f->dir, 1024, &rec), 0);
    struct tly_log_reader *r;
    assert_int_equal(tly_log_reader_open(&r, f->dir, 0), 0);
    struct tly_record record;
    uint64_t off;
    assert_int_equal(tly_log_reader_next(r, &record, &off), 0);

    size_t seen = 0;
    for (unsigned round = 0; round < 8; round++) {
        append_range(w, m, round * 10, 10);
        assert_int_equal(tly_segment_sync(w), 0);
        int rc;
        while ((rc = tly_log_reader_next(r, &record, &off)) == 1) {
            assert_true(seen < m->n);
            assert_int_equal(off, m->off[seen]);
            expect_record_id(&record, m->id[seen], m->body[seen]);
            seen++;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(seen, m->n);
    }
    assert_true(last_base(f->dir) > 0); /* it did cross segments */
    tly_log_reader_close(r);
    tly_segment_close(w);
    free(m);
}

/* Bytes of an unfinished record at the end are pending, not an error. */
static void test_reader_partial_tail_is_pending(void **state)
{
    struct fx *f = *state;
    struct model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    struct tly_segment_writer *w;
    struct tly_log_recovery rec;
    assert_int_equal(open_new(&w, f->dir, 1 << 20, &rec), 0);
    append_range(w, m, 0, 4);
    assert_int_equal(tly_segment_sync(w), 0);
    size_t len;
    uint8_t *p = encode_id(99, 50, &len);
    char path[256];
    tly_log_segment_path(f->dir, 0, path, sizeof path);
    append_raw(path, p, 30);

    struct tly_log_reader *r;
    assert_int_equal(tly_log_reader_open(&r, f->dir, 0), 0);
    struct tly_record record;
    uint64_t off;
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(tly_log_reader_next(r, &record, &off), 1);
    assert_int_equal(tly_log_reader_next(r, &record, &off), 0);
    assert_int_equal(tly_log_reader_position(r), model_end(m));
    assert_int_equal(tly_log_reader_pending(r), 30);
    /* The rest arrives: the record is read. */
    append_raw(path, p + 30, len - 30);
    assert_int_equal(tly_log_reader_next(r, &record, &off), 1);
    assert_int_equal(off, model_end(m));
    expect_record_id(&record, 99, 50);
    assert_int_equal(tly_log_reader_next(r, &record, &off), 0);
    assert_int_equal(tly_log_reader_pending(r), 0);
    tly_log_reader_close(r);
    free(p);
    tly_segment_close(w);
    free(m);
}

/* A corrupt record stops the reader there, every time it is asked. */
static void test_reader_reports_corruption(void **state)
{
    struct fx *f = *state;
    struct model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    struct tly_segment_writer *w;
    struct tly_log_recovery rec;
    assert_int_equal(open_new(&w, f->dir, 1 << 20, &rec), 0);
    append_range(w, m, 0, 10);
    assert_int_equal(tly_segment_sync(w), 0);
    tly_segment_close(w);
    char path[256];
    tly_log_segment_path(f->dir, 0, path, sizeof path);
    xor_byte(path, m->off[6] + TLY_RECORD_HEADER + 3, 0x01);

    struct tly_log_reader *r;
    assert_int_equal(tly_log_reader_open(&r, f->dir, 0), 0);
    struct tly_record record;
    uint64_t off;
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(tly_log_reader_next(r, &record, &off), 1);
    for (int again = 0; again < 3; again++) {
        assert_int_equal(tly_log_reader_next(r, &record, &off), TLY_ECORRUPT);
        assert_int_equal(tly_log_reader_position(r), m->off[6]);
    }
    tly_log_reader_close(r);
    /* Past the bad record, the rest reads fine. */
    expect_log(f->dir, m, 7);
    free(m);
}

/* reader.c: "a segment is only followed by another once it is complete, so
 * leftover bytes at that point are corruption". Here the last record of the
 * first of several segments has a bit flipped in its length, so the frame
 * claims more bytes than the segment holds. That is not "a partial record at
 * the very end" of the log (reader.h) — later segments exist — so the reader
 * must report TLY_ECORRUPT rather than 0 (the end of the log), which would
 * leave a consumer waiting forever and never reaching the later records. */
static void test_reader_leftover_bytes_in_finished_segment_are_corrupt(void **state)
{
    struct fx *f = *state;
    struct model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    struct tly_segment_writer *w;
    struct tly_log_recovery rec;
    assert_int_equal(open_new(&w, f->dir, 1024, &rec), 0);
    append_range(w, m, 0, 40);
    assert_int_equal(tly_segment_sync(w), 0);
    tly_segment_close(w);

    uint64_t *bases;
    size_t nb;
    assert_int_equal(tly_log_list_segments(f->dir, &bases, &nb), 0);
    assert_true(nb >= 3);
    uint64_t second = bases[1];
    free(bases);
    size_t last_in_first = 0;
    while (m->off[last_in_first + 1] < second)
        last_in_first++;
    char path[256];
    tly_log_segment_path(f->dir, 0, path, sizeof path);
    xor_byte(path, m->off[last_in_first] + 1, 0x02); /* length += 512 */

    struct tly_log_reader *r;
    assert_int_equal(tly_log_reader_open(&r, f->dir, 0), 0);
    struct tly_record record;
    uint64_t off;
    size_t good = 0;
    int rc;
    while ((rc = tly_log_reader_next(r, &record, &off)) == 1)
        good++;
    uint64_t pos = tly_log_reader_position(r);
    tly_log_reader_close(r);
    uint64_t damaged = m->off[last_in_first];
    free(m);

    assert_int_equal(good, last_in_first);
    assert_int_equal(pos, damaged); /* stopped at the damaged record */
    if (rc != TLY_ECORRUPT)
        print_error("reader returned %d (want TLY_ECORRUPT %d) at offset %" PRIu64
                    " with later segments present\n",
                    rc, TLY_ECORRUPT, pos);
    assert_int_equal(rc, TLY_ECORRUPT);
}

/* The torn tail: the first K bytes of a record after the synced ones. */
static void torn_tail_case(const char *dir, uint64_t segment_max, size_t k)
{
    struct model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    struct tly_segment_writer *w;
    struct tly_log_recovery rec;
    assert_int_equal(open_new(&w, dir, segment_max, &rec), 0);
    append_range(w, m, 0, 12);
    assert_int_equal(tly_segment_sync(w), 0);
    tly_segment_close(w);

    uint64_t end = model_end(m), base = last_base(dir);
    size_t in_last = 0;
    for (size_t i = 0; i < m->n; i++)
        in_last += m->off[i] >= base;
    size_t len;
    uint8_t *p = encode_id(500, 60, &len);
    assert_true(k < len);
    char path[256];
    tly_log_segment_path(dir, base, path, sizeof path);
    append_raw(path, p, k);
    assert_int_equal(file_size(path), end - base + k);

    FILE *logf = tmpfile();
    assert_non_null(logf);
    struct tly_logger lg = {logf, TLY_LOG_INFO};
    assert_int_equal(tly_segment_open(&w, dir, segment_max, &lg, &rec), 0);
    assert_int_equal(rec.end_offset, end);
    assert_int_equal(rec.truncated_bytes, k);
    assert_int_equal(rec.tail_corrupt, 0);
    assert_int_equal(rec.tail_records, in_last);
    assert_int_equal(tly_segment_end(w), end);
    assert_int_equal(file_size(path), end - base);

    char qpath[256];
    snprintf(qpath, sizeof qpath, "%s/corrupt-%020" PRIu64 ".bin", dir, end);
    size_t qlen;
    uint8_t *q = read_whole(qpath, &qlen);
    assert_int_equal(qlen, k);
    assert_memory_equal(q, p, k);
    free(q);
    char *text = logged(logf);
    assert_non_null(strstr(text, "event log tail recovered"));
    assert_non_null(strstr(text, "reason=torn"));
    free(text);
    fclose(logf);

    /* Appends continue at the end of the last whole record. */
    append_range(w, m, 20, 6);
    assert_int_equal(m->off[12], end);
    assert_int_equal(tly_segment_sync(w), 0);
    tly_segment_close(w);
    expect_log(dir, m, 0);

    /* And a clean reopen finds nothing more to do. */
    assert_int_equal(tly_segment_open(&w, dir, segment_max, &quiet, &rec), 0);
    assert_int_equal(rec.end_offset, model_end(m));
    assert_int_equal(rec.truncated_bytes, 0);
    tly_segment_close(w);
    free(p);
    free(m);
}

static void test_recover_torn_tail(void **state)
{
    struct fx *f = *state;
    /* Cut inside the length, the checksum, the header, the meta and the
     * body, down to one byte short of the whole 122-byte record. */
    const size_t len = tly_record_size(meta_len_of(500), 60);
    assert_int_equal(len, 122);
    const size_t ks[] = {1, 3, 4, 7, 8, 9, 43, 44, 60, len - 1};
    const uint64_t maxes[] = {1 << 20, 1024};
    for (size_t mi = 0; mi < 2; mi++) {
        for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
            char dir[160];
            snprintf(dir, sizeof dir, "%s-%zu-%zu", f->dir, mi, ks[i]);
            torn_tail_case(dir, maxes[mi], ks[i]);
        }
    }
}

/* A flipped byte in record `victim` (of the last segment): it and everything
 * after it are moved aside; what came before stays. */
static void flipped_case(const char *dir, uint64_t segment_max, size_t victim_from_end,
                         size_t byte_in_record)
{
    struct model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    struct tly_segment_writer *w;
    struct tly_log_recovery rec;
    assert_int_equal(open_new(&w, dir, segment_max, &rec), 0);
    append_range(w, m, 0, 30);
    assert_int_equal(tly_segment_sync(w), 0);
    tly_segment_close(w);

    uint64_t end = model_end(m), base = last_base(dir);
    size_t victim = m->n - 1 - victim_from_end;
    assert_true(m->off[victim] >= base); /* it is in the last segment */
    size_t before_in_last = 0;
    for (size_t i = 0; i < victim; i++)
        before_in_last += m->off[i] >= base;
    char path[256];
    tly_log_segment_path(dir, base, path, sizeof path);
    size_t seglen;
    uint8_t *seg = read_whole(path, &seglen);
    uint64_t at = m->off[victim] + byte_in_record;
    assert_true(byte_in_record < m->len[victim]);
    xor_byte(path, at - base, 0x10);
    seg[at - base] ^= 0x10;

    FILE *logf = tmpfile();
    assert_non_null(logf);
    struct tly_logger lg = {logf, TLY_LOG_INFO};
    assert_int_equal(tly_segment_open(&w, dir, segment_max, &lg, &rec), 0);
    assert_int_equal(rec.tail_corrupt, 1);
    assert_int_equal(rec.end_offset, m->off[victim]);
    assert_int_equal(rec.truncated_bytes, end - m->off[victim]);
    assert_int_equal(rec.tail_records, before_in_last);
    assert_int_equal(file_size(path), m->off[victim] - base);
    char *text = logged(logf);
    assert_non_null(strstr(text, "reason=corrupt"));
    free(text);
    fclose(logf);

    /* The quarantine holds the moved bytes exactly (the flip included). */
    char qpath[256];
    snprintf(qpath, sizeof qpath, "%s/corrupt-%020" PRIu64 ".bin", dir, m->off[victim]);
    size_t qlen;
    uint8_t *q = read_whole(qpath, &qlen);
    assert_int_equal(qlen, end - m->off[victim]);
    assert_memory_equal(q, seg + (m->off[victim] - base), qlen);
    free(q);
    free(seg);

    model_truncate(m, victim);
    expect_log(dir, m, 0);
    append_range(w, m, 100, 8);
    assert_int_equal(m->off[victim], rec.end_offset);
    assert_int_equal(tly_segment_sync(w), 0);
    tly_segment_close(w);
    expect_log(dir, m, 0);
    free(m);
}

static void test_recover_flipped_byte(void **state)
{
    struct fx *f = *state;
    char dir[160];
    /* Single segment: last record (body), a middle record (tenant field, the
     * checksum field, the length field), the first record (version). */
    snprintf(dir, sizeof dir, "%s-a", f->dir);
    flipped_case(dir, 1 << 20, 0, 50);
    snprintf(dir, sizeof dir, "%s-b", f->dir);
    flipped_case(dir, 1 << 20, 10, 13);
    snprintf(dir, sizeof dir, "%s-c", f->dir);
    flipped_case(dir, 1 << 20, 10, 5);
    snprintf(dir, sizeof dir, "%s-d", f->dir);
    flipped_case(dir, 1 << 20, 10, 0);
    snprintf(dir, sizeof dir, "%s-e", f->dir);
    flipped_case(dir, 1 << 20, 29, 8);
    /* Several segments: the last record, and the first of the last segment
     * (its meta or body). */
    snprintf(dir, sizeof dir, "%s-f", f->dir);
    flipped_case(dir, 1024, 0, 45);
    struct model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    snprintf(dir, sizeof dir, "%s-g", f->dir);
    /* Find how many records the last segment of this layout holds. */
    struct tly_segment_writer *w;
    struct tly_log_recovery rec;
    char probe[176];
    snprintf(probe, sizeof probe, "%s-probe", f->dir);
    assert_int_equal(open_new(&w, probe, 1024, &rec), 0);
    append_range(w, m, 0, 30);
    tly_segment_close(w);
    uint64_t base = last_base(probe);
    size_t first_in_last = 0;
    while (m->off[first_in_last] < base)
        first_in_last++;
    free(m);
    flipped_case(dir, 1024, 29 - first_in_last, 44);
}

/* segment.h: corrupt bytes are moved to corrupt-<offset>.bin, "never
 * silently destroyed". A second recovery at the same offset (the log was
 * cut back to X, then the first record written at X was torn by another
 * crash) must not overwrite the bytes the first recovery kept. */
static void test_recovery_keeps_earlier_quarantine(void **state)
{
    struct fx *f = *state;
    struct model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    struct tly_segment_writer *w;
    struct tly_log_recovery rec;
    assert_int_equal(open_new(&w, f->dir, 1 << 20, &rec), 0);
    append_range(w, m, 0, 6);
    assert_int_equal(tly_segment_sync(w), 0);
    tly_segment_close(w);

    /* Synced (acknowledged) record 5 is damaged: it is quarantined. */
    char path[256];
    tly_log_segment_path(f->dir, 0, path, sizeof path);
    uint64_t x = m->off[5];
    xor_byte(path, x + 20, 0x01);
    size_t seglen;
    uint8_t *seg = read_whole(path, &seglen);
    size_t kept_len = seglen - x;
    uint8_t *kept = malloc(kept_len);
    assert_non_null(kept);
    memcpy(kept, seg + x, kept_len);
    free(seg);
    assert_int_equal(tly_segment_open(&w, f->dir, 1 << 20, &quiet, &rec), 0);
    assert_int_equal(rec.end_offset, x);
    assert_int_equal(rec.tail_corrupt, 1);
    tly_segment_close(w);

    /* Then the next record written at x is torn. */
    size_t len;
    uint8_t *p = encode_id(77, 30, &len);
    append_raw(path, p, 10);
    free(p);
    assert_int_equal(tly_segment_open(&w, f->dir, 1 << 20, &quiet, &rec), 0);
    assert_int_equal(rec.end_offset, x);
    assert_int_equal(rec.truncated_bytes, 10);
    tly_segment_close(w);

    /* The damaged record's bytes must still be somewhere in corrupt-*.bin. */
    int found = 0;
    DIR *d = opendir(f->dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "corrupt-", 8) != 0)
            continue;
        char qpath[512];
        snprintf(qpath, sizeof qpath, "%s/%s", f->dir, e->d_name);
        size_t qlen;
        uint8_t *q = read_whole(qpath, &qlen);
        if (qlen == kept_len && memcmp(q, kept, qlen) == 0)
            found = 1;
        free(q);
    }
    closedir(d);
    free(kept);
    free(m);
    if (!found)
        print_error("the first quarantine (%zu bytes at offset %" PRIu64
                    ") was overwritten by the second recovery\n",
                    kept_len, x);
    assert_true(found);
}

static void expect_failed_state(struct tly_segment_writer *w)
{
    assert_true(tly_segment_failed(w));
    size_t len;
    uint8_t *p = encode_id(900, 20, &len);
    const uint8_t *recs[1] = {p};
    uint64_t off = 12345;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tly_segment_write(w, recs, &len, 1, &off), TLY_EFAILED);
        assert_int_equal(tly_segment_sync(w), TLY_EFAILED);
    }
    /* Faults armed now change nothing: the writer refuses before them. */
    tly_segment_inject_fault(w, TLY_FAULT_WRITE);
    assert_int_equal(tly_segment_write(w, recs, &len, 1, &off), TLY_EFAILED);
    tly_segment_inject_fault(w, TLY_FAULT_SYNC);
    assert_int_equal(tly_segment_sync(w), TLY_EFAILED);
    assert_true(tly_segment_failed(w));
    free(p);
}

static void test_fault_write(void **state)
{
    struct fx *f = *state;
    struct model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    struct tly_segment_writer *w;
    struct tly_log_recovery rec;
    assert_int_equal(open_new(&w, f->dir, 1 << 20, &rec), 0);
    append_range(w, m, 0, 10);
    assert_int_equal(tly_segment_sync(w), 0);
    uint64_t synced = tly_segment_end(w);
    assert_false(tly_segment_failed(w));

    tly_segment_inject_fault(w, TLY_FAULT_WRITE);
    unsigned ids[3] = {50, 51, 52};
    assert_int_equal(append_batch(w, m, ids, NULL, 3), TLY_EIO);
    expect_failed_state(w);
    tly_segment_close(w);

    assert_int_equal(tly_segment_open(&w, f->dir, 1 << 20, &quiet, &rec), 0);
    assert_int_equal(rec.end_offset, synced);
    assert_int_equal(rec.tail_records, 10);
    assert_int_equal(rec.truncated_bytes, 0);
    assert_false(tly_segment_failed(w));
    expect_log(f->dir, m, 0);
    /* The reopened writer works again. */
    append_range(w, m, 60, 3);
    assert_int_equal(tly_segment_sync(w), 0);
    tly_segment_close(w);
    expect_log(f->dir, m, 0);
    free(m);
}

static void test_fault_sync(void **state)
{
    struct fx *f = *state;
    struct model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    struct tly_segment_writer *w;
    struct tly_log_recovery rec;
    assert_int_equal(open_new(&w, f->dir, 1 << 20, &rec), 0);
    append_range(w, m, 0, 10);
    assert_int_equal(tly_segment_sync(w), 0);
    size_t synced_n = m->n;
    append_range(w, m, 10, 4); /* written, not yet synced */

    tly_segment_inject_fault(w, TLY_FAULT_SYNC);
    assert_int_equal(tly_segment_sync(w), TLY_EIO);
    expect_failed_state(w);
    tly_segment_close(w);

    /* The synced records are all there (the unsynced ones may be too: the
     * page cache still has them; recovery keeps whole records). */
    assert_int_equal(tly_segment_open(&w, f->dir, 1 << 20, &quiet, &rec), 0);
    assert_true(rec.end_offset >= m->off[synced_n - 1] + m->len[synced_n - 1]);
    assert_int_equal(rec.truncated_bytes, 0);
    size_t kept = rec.tail_records;
    assert_true(kept >= synced_n && kept <= m->n);
    model_truncate(m, kept);
    assert_int_equal(rec.end_offset, model_end(m));
    expect_log(f->dir, m, 0);
    tly_segment_close(w);
    free(m);
}

/* Faults are one-shot and hit only their own operation. */
static void test_fault_targets_its_operation(void **state)
{
    struct fx *f = *state;
    struct model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    struct tly_segment_writer *w;
    struct tly_log_recovery rec;
    assert_int_equal(open_new(&w, f->dir, 1 << 20, &rec), 0);
    tly_segment_inject_fault(w, TLY_FAULT_SYNC);
    append_range(w, m, 0, 3); /* writes are unaffected */
    assert_false(tly_segment_failed(w));
    tly_segment_inject_fault(w, TLY_FAULT_NONE); /* disarmed */
    assert_int_equal(tly_segment_sync(w), 0);
    tly_segment_inject_fault(w, TLY_FAULT_WRITE);
    assert_int_equal(tly_segment_sync(w), 0); /* syncs are unaffected */
    assert_false(tly_segment_failed(w));
    unsigned id = 9;
    assert_int_equal(append_batch(w, m, &id, NULL, 1), TLY_EIO);
    assert_true(tly_segment_failed(w));
    tly_segment_close(w);
    expect_log(f->dir, m, 0);
    free(m);
}

/* The finished segment is synced before a roll: a sync fault there fails the
 * write that needed the roll. */
static void test_fault_sync_during_roll(void **state)
{
    struct fx *f = *state;
    struct model *m = calloc(1, sizeof *m);
    assert_non_null(m);
    struct tly_segment_writer *w;
    struct tly_log_recovery rec;
    assert_int_equal(open_new(&w, f->dir, 1024, &rec), 0);
    append_range(w, m, 0, 2);
    assert_int_equal(tly_segment_sync(w), 0);
    tly_segment_inject_fault(w, TLY_FAULT_SYNC);
    size_t body = 2000; /* cannot fit beside the two records */
    unsigned id = 2;
    assert_int_equal(append_batch(w, m, &id, &body, 1), TLY_EIO);
    expect_failed_state(w);
    tly_segment_close(w);
    uint64_t *bases;
    size_t n;
    assert_int_equal(tly_log_list_segments(f->dir, &bases, &n), 0);
    assert_int_equal(n, 1); /* no new segment was started */
    free(bases);
    expect_log(f->dir, m, 0);
    free(m);
}

int main(void)
{
    signal(SIGALRM, watchdog);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_round_trip),
        cmocka_unit_test(test_record_edge_values),
        cmocka_unit_test(test_record_names),
        cmocka_unit_test(test_record_truncated_prefixes),
        cmocka_unit_test(test_record_bit_flips),
        cmocka_unit_test(test_record_bad_length),
        cmocka_unit_test(test_record_bad_version_and_meta_len),
        cmocka_unit_test_setup_teardown(test_open_empty_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_segments_of_empty_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_segments_and_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_and_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roll, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_follows_growing_log, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_partial_tail_is_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_reports_corruption, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reader_leftover_bytes_in_finished_segment_are_corrupt,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recover_flipped_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_recovery_keeps_earlier_quarantine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_targets_its_operation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_sync_during_roll, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
