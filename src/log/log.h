/*
 * The event log as the rest of tally sees it: durable appends with group
 * commit.
 *
 * Threads: tly_log_append, tly_log_stop and the `done` callbacks run on the
 * libuv loop thread given to tly_log_start. One writer thread takes
 * everything queued, writes it with one writev per group, calls fdatasync
 * once, and hands the group back to the loop through a uv_async_t. So a
 * `done` with status 0 means: this record is on disk.
 *
 * Back-pressure: at most `queue_max_records` / `queue_max_bytes` appends may
 * be in flight (queued or being written); beyond that tly_log_append returns
 * TLY_EBUSY and the caller answers 503 with Retry-After.
 *
 * After a write or sync error the log is FAILED (see segment.h): the group
 * in flight completes with TLY_EIO, every later append is refused with
 * TLY_EFAILED, and tly_log_ready() is false until restart.
 */
#ifndef TLY_LOG_LOG_H
#define TLY_LOG_LOG_H

#include "core/buf.h"
#include "core/logger.h"
#include "log/segment.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct tly_log;

struct tly_log_config {
    const char *dir;          /* DATA/log */
    uint64_t segment_max;     /* roll size in bytes */
    size_t queue_max_records; /* in-flight appends allowed */
    size_t queue_max_bytes;   /* in-flight bytes allowed */
};

/* One append. The caller owns it (typically embedded in a request) and
 * keeps it and `rec` alive until `done` has been called. */
struct tly_log_append {
    struct tly_log_append *next; /* private to the log while in flight */
    const uint8_t *rec;          /* an encoded record (record.h) */
    size_t len;
    uint64_t offset;                        /* set before done when status is 0 */
    int status;                             /* 0, TLY_EIO or TLY_EFAILED */
    void (*done)(struct tly_log_append *a); /* on the loop thread */
};

/* Opens the log directory and recovers its tail (no thread yet). */
int tly_log_open(struct tly_log **out, const struct tly_log_config *cfg,
                 const struct tly_logger *lg, struct tly_log_recovery *rec);

/* Starts the writer thread; completions are delivered on `loop`. */
int tly_log_start(struct tly_log *log, uv_loop_t *loop);

/* Queues `a`. 0 = queued (done will be called); TLY_EBUSY, TLY_EFAILED or
 * TLY_ESTOPPED = refused (done will not be called). */
int tly_log_append(struct tly_log *log, struct tly_log_append *a);

/* Loop thread: refuses new appends, lets the writer finish and sync what is
 * queued, joins it, calls the remaining `done`s, and closes the async handle.
 * Idempotent. */
void tly_log_stop(struct tly_log *log);

/* Not FAILED and not stopped. */
int tly_log_ready(const struct tly_log *log);

/* Offset one past the last durable record. Any thread. */
uint64_t tly_log_durable_end(const struct tly_log *log);

/* Calls fn(arg, end, records) on the writer thread after each group of
 * `records` records is durable up to `end`, so a consumer can wake up. Set
 * before tly_log_start. fn must not block. */
void tly_log_on_durable(struct tly_log *log, void (*fn)(void *arg, uint64_t end, uint64_t records),
                        void *arg);

void tly_log_inject_fault(struct tly_log *log, enum tly_log_fault f);

/* Appends this module's Prometheus metrics. Loop thread. */
int tly_log_metrics(const struct tly_log *log, struct tly_buf *out);

/* Frees everything; call after tly_log_stop and after the loop has run the
 * async handle's close. NULL is a no-op. */
void tly_log_close(struct tly_log *log);

#endif
