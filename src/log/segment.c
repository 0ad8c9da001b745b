/*
 * Segment files: open + recover, append with writev, fdatasync, roll.
 * See segment.h for the states and the recovery rule.
 */
#include "log/segment.h"
#include "core/fsutil.h"
#include "log/reader.h"
#include "log/record.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define WRITE_IOV_MAX 512

struct tly_segment_writer {
    char *dir;
    int dirfd;
    int fd;
    uint64_t base;        /* base offset of the current segment */
    uint64_t size;        /* bytes in the current segment */
    uint64_t segment_max; /* roll threshold */
    int failed;
    atomic_int fault; /* enum tly_log_fault, armed from other threads */
    const struct tly_logger *lg;
};

static int fail(struct tly_segment_writer *w, const char *what, int err)
{
    w->failed = 1;
    tly_log_error(w->lg, "event log failed; refusing further appends until restart",
                  "op=%s errno=%d error=\"%s\" offset=%" PRIu64, what, err, strerror(err),
                  w->base + w->size);
    return TLY_EIO;
}

static int create_segment(struct tly_segment_writer *w, uint64_t base)
{
    char path[4096];
    tly_log_segment_path(w->dir, base, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return fail(w, "create", errno);
    /* The new name must be durable before anything in it is acknowledged. */
    if (fsync(w->dirfd) != 0) {
        int e = errno;
        close(fd);
        return fail(w, "fsync-dir", e);
    }
    if (w->fd >= 0)
        close(w->fd);
    w->fd = fd;
    w->base = base;
    w->size = 0;
    return 0;
}

/* Copies bytes [from, eof) of the segment to a new corrupt-<offset>….bin
 * and stores that file's name in `qname`. */
static int quarantine_tail(struct tly_segment_writer *w, const char *seg_path, uint64_t from_off,
                           uint64_t from_global, char *qname, size_t qsz)
{
    char qpath[4096];
    int in = open(seg_path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return TLY_EIO;
    /* corrupt-<offset>.bin, or .1.bin, .2.bin… if an earlier recovery at the
     * same offset left one: never overwrite what was set aside. */
    int out = -1;
    for (int k = 0; out < 0 && k < 1000; k++) {
        if (k == 0)
            snprintf(qpath, sizeof qpath, "%s/corrupt-%020" PRIu64 ".bin", w->dir, from_global);
        else
            snprintf(qpath, sizeof qpath, "%s/corrupt-%020" PRIu64 ".%d.bin", w->dir, from_global,
                     k);
        out = open(qpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (out < 0 && errno != EEXIST)
            break;
    }
    if (out < 0) {
        close(in);
        return TLY_EIO;
    }
    snprintf(qname, qsz, "%s", strrchr(qpath, '/') + 1);
    char buf[65536];
    off_t pos = (off_t)from_off;
    int rc = 0;
    for (;;) {
        ssize_t n = pread(in, buf, sizeof buf, pos);
        if (n < 0) {
            rc = TLY_EIO;
            break;
        }
        if (n == 0)
            break;
        if (write(out, buf, (size_t)n) != n) {
            rc = TLY_EIO;
            break;
        }
        pos += n;
    }
    if (rc == 0 && fsync(out) != 0)
        rc = TLY_EIO;
    close(out);
    close(in);
    return rc;
}

static int recover_tail(struct tly_segment_writer *w, uint64_t base, struct tly_log_recovery *rec)
{
    struct tly_log_reader *r;
    int rc = tly_log_reader_open(&r, w->dir, base);
    if (rc != 0)
        return rc;
    struct tly_record record;
    uint64_t off;
    for (;;) {
        rc = tly_log_reader_next(r, &record, &off);
        if (rc != 1)
            break;
        rec->tail_records++;
    }
    uint64_t good_end = tly_log_reader_position(r);
    tly_log_reader_close(r);
    if (rc == TLY_EIO || rc == TLY_ENOMEM)
        return rc;

    char path[4096];
    tly_log_segment_path(w->dir, base, path, sizeof path);
    struct stat st;
    if (stat(path, &st) != 0)
        return TLY_EIO;
    uint64_t file_end = base + (uint64_t)st.st_size;
    if (file_end > good_end) {
        rec->tail_corrupt = rc == TLY_ECORRUPT;
        rec->truncated_bytes = file_end - good_end;
        char qname[64];
        if (quarantine_tail(w, path, good_end - base, good_end, qname, sizeof qname) != 0)
            return TLY_EIO;
        if (truncate(path, (off_t)(good_end - base)) != 0)
            return TLY_EIO;
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0) {
            if (fd >= 0)
                close(fd);
            return TLY_EIO;
        }
        close(fd);
        if (fsync(w->dirfd) != 0)
            return TLY_EIO;
        tly_log_warn(w->lg, "event log tail recovered",
                     "offset=%" PRIu64 " moved_bytes=%" PRIu64 " reason=%s quarantine=%s", good_end,
                     rec->truncated_bytes, rec->tail_corrupt ? "corrupt" : "torn", qname);
    }
    rec->end_offset = good_end;
    return 0;
}

int tly_segment_open(struct tly_segment_writer **out, const char *dir, uint64_t segment_max,
                     const struct tly_logger *lg, struct tly_log_recovery *rec)
{
    memset(rec, 0, sizeof *rec);
    struct tly_segment_writer *w = calloc(1, sizeof *w);
    if (w == NULL)
        return TLY_ENOMEM;
    w->fd = -1;
    w->dirfd = -1;
    w->lg = lg;
    w->segment_max = segment_max;
    atomic_init(&w->fault, TLY_FAULT_NONE);
    uint64_t *bases = NULL;
    size_t n = 0;
    int rc;
    w->dir = strdup(dir);
    if (w->dir == NULL) {
        rc = TLY_ENOMEM;
        goto fail;
    }
    rc = tly_mkdir_p(dir);
    if (rc != 0)
        goto fail;
    w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->dirfd < 0) {
        rc = TLY_EIO;
        goto fail;
    }
    rc = tly_log_list_segments(dir, &bases, &n);
    if (rc != 0)
        goto fail;
    rec->segments = n;
    if (n == 0) {
        rc = create_segment(w, 0);
        if (rc != 0)
            goto fail;
        rec->segments = 1;
    } else {
        uint64_t last = bases[n - 1];
        rc = recover_tail(w, last, rec);
        if (rc != 0)
            goto fail;
        char path[4096];
        tly_log_segment_path(dir, last, path, sizeof path);
        w->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (w->fd < 0) {
            rc = TLY_EIO;
            goto fail;
        }
        w->base = last;
        w->size = rec->end_offset - last;
    }
    rec->end_offset = w->base + w->size;
    free(bases);
    *out = w;
    return 0;
fail:
    free(bases);
    tly_segment_close(w);
    return rc;
}

static int take_fault(struct tly_segment_writer *w, enum tly_log_fault f)
{
    int expected = f;
    return atomic_compare_exchange_strong(&w->fault, &expected, TLY_FAULT_NONE);
}

/* writev of iov[0..cnt) in full, retrying short writes. */
static int write_all(struct tly_segment_writer *w, struct iovec *iov, int cnt)
{
    if (take_fault(w, TLY_FAULT_WRITE))
        return fail(w, "write", EIO);
    while (cnt > 0) {
        ssize_t n = writev(w->fd, iov, cnt);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return fail(w, "write", errno);
        }
        w->size += (uint64_t)n;
        while (cnt > 0 && (size_t)n >= iov->iov_len) {
            n -= (ssize_t)iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (char *)iov->iov_base + n;
            iov->iov_len -= (size_t)n;
        }
    }
    return 0;
}

static int roll(struct tly_segment_writer *w)
{
    if (tly_segment_sync(w) != 0)
        return TLY_EIO;
    return create_segment(w, w->base + w->size);
}

int tly_segment_write(struct tly_segment_writer *w, const uint8_t *const *rec, const size_t *len,
                      size_t n, uint64_t *offsets)
{
    if (w->failed)
        return TLY_EFAILED;
    struct iovec iov[WRITE_IOV_MAX];
    int cnt = 0;
    uint64_t pending = 0; /* bytes in iov not yet written */
    for (size_t i = 0; i < n; i++) {
        if (w->size + pending > 0 && w->size + pending + len[i] > w->segment_max) {
            if (cnt > 0 && write_all(w, iov, cnt) != 0)
                return TLY_EIO;
            cnt = 0;
            pending = 0;
            if (roll(w) != 0)
                return TLY_EIO;
        }
        if (offsets != NULL)
            offsets[i] = w->base + w->size + pending;
        iov[cnt].iov_base = (void *)rec[i];
        iov[cnt].iov_len = len[i];
        cnt++;
        pending += len[i];
        if (cnt == WRITE_IOV_MAX) {
            if (write_all(w, iov, cnt) != 0)
                return TLY_EIO;
            cnt = 0;
            pending = 0;
        }
    }
    if (cnt > 0 && write_all(w, iov, cnt) != 0)
        return TLY_EIO;
    return 0;
}

int tly_segment_sync(struct tly_segment_writer *w)
{
    if (w->failed)
        return TLY_EFAILED;
    if (take_fault(w, TLY_FAULT_SYNC))
        return fail(w, "fdatasync", EIO);
    while (fdatasync(w->fd) != 0) {
        if (errno != EINTR)
            return fail(w, "fdatasync", errno);
    }
    return 0;
}

uint64_t tly_segment_end(const struct tly_segment_writer *w)
{
    return w->base + w->size;
}

int tly_segment_failed(const struct tly_segment_writer *w)
{
    return w->failed;
}

void tly_segment_inject_fault(struct tly_segment_writer *w, enum tly_log_fault f)
{
    atomic_store(&w->fault, f);
}

void tly_segment_close(struct tly_segment_writer *w)
{
    if (w == NULL)
        return;
    if (w->fd >= 0)
        close(w->fd);
    if (w->dirfd >= 0)
        close(w->dirfd);
    free(w->dir);
    free(w);
}
