/*
 * Regression: the reader judged bytes it had read before they were durable.
 * A partial record at the end of a segment, with a next segment present,
 * was reported as corruption even when it lay past the reader's limit —
 * which happens when the writer finishes that record and rolls to a new
 * segment between the consumer's read and its check, stopping the pipeline
 * on a healthy log. Past the limit it is "not yet"; within it, corruption.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "log/reader.h"
#include "log/record.h"
#include "log/segment.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct tly_logger quiet = {NULL, TLY_LOG_DEBUG};

static size_t encode(uint8_t *out, const char *body)
{
    struct tly_record r = {.source = TLY_SOURCE_SERVER,
                           .kind = TLY_KIND_SINGLE,
                           .tenant = 1,
                           .received_at = 1700000000000LL,
                           .body = body,
                           .body_len = strlen(body)};
    tly_record_encode(&r, out);
    return tly_record_size(0, r.body_len);
}

static void test_partial_record_past_the_limit_is_not_corruption(void **state)
{
    (void)state;
    char dir[] = "/tmp/tally-reader-limit-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct tly_segment_writer *w;
    struct tly_log_recovery rec;
    assert_int_equal(tly_segment_open(&w, dir, 1 << 20, &quiet, &rec), 0);
    uint8_t buf[3][256];
    const uint8_t *recs[3];
    size_t lens[3];
    for (int i = 0; i < 3; i++) {
        char body[64];
        snprintf(body, sizeof body, "{\"event_id\":\"r-%d\"}", i);
        lens[i] = encode(buf[i], body);
        recs[i] = buf[i];
    }
    assert_int_equal(tly_segment_write(w, recs, lens, 3, NULL), 0);
    assert_int_equal(tly_segment_sync(w), 0);
    uint64_t durable = tly_segment_end(w);
    tly_segment_close(w);

    /* A record half written at the end of segment 0, and a next segment:
     * what the consumer sees if the writer rolled between read and check. */
    char seg[4096], next[4096];
    tly_log_segment_path(dir, 0, seg, sizeof seg);
    int fd = open(seg, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf[0], 20), 20);
    close(fd);
    tly_log_segment_path(dir, durable + 20, next, sizeof next);
    fd = open(next, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    close(fd);

    struct tly_log_reader *r;
    assert_int_equal(tly_log_reader_open(&r, dir, 0), 0);
    tly_log_reader_set_limit(r, durable);
    struct tly_record out;
    uint64_t off;
    for (int i = 0; i < 3; i++)
        assert_int_equal(tly_log_reader_next(r, &out, &off), 1);
    assert_int_equal(tly_log_reader_next(r, &out, &off), 0); /* not yet durable */
    assert_int_equal(tly_log_reader_position(r), durable);
    tly_log_reader_set_limit(r, UINT64_MAX);
    assert_int_equal(tly_log_reader_next(r, &out, &off), TLY_ECORRUPT); /* durable: corrupt */
    tly_log_reader_close(r);

    unlink(seg);
    unlink(next);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_partial_record_past_the_limit_is_not_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
