/*
 * The writing side of the event log: segment files, recovery, append, sync.
 *
 * Synchronous and single-threaded; the committer (committer.h) runs it on
 * its own thread. Appending is two steps so that many records share one
 * sync: tly_segment_write() puts records into the page cache, and
 * tly_segment_sync() makes everything written so far durable.
 *
 * States:
 *   OPEN   — appends and syncs allowed.
 *   FAILED — a write, sync, or roll failed. After a failed fdatasync the
 *            kernel may have dropped the dirty pages, so nothing written
 *            since the last good sync can be trusted: the writer refuses all
 *            further work (TLY_EFAILED) until the process restarts and
 *            recovery re-reads what is really on disk.
 *
 * Recovery (at open): the last segment is read to its end; the first torn or
 * corrupt record and everything after it are moved to
 * `corrupt-<offset>.bin` beside the segments (never silently destroyed), the
 * segment is truncated there, and appends continue at that offset. Only the
 * tail of an unsynced group can be torn by a crash, and those records were
 * never acknowledged.
 */
#ifndef TLY_LOG_SEGMENT_H
#define TLY_LOG_SEGMENT_H

#include "core/err.h"
#include "core/logger.h"

#include <stddef.h>
#include <stdint.h>

struct tly_segment_writer;

struct tly_log_recovery {
    uint64_t end_offset;      /* where appends continue */
    uint64_t segments;        /* segment files present */
    uint64_t tail_records;    /* whole records found in the last segment */
    uint64_t truncated_bytes; /* bytes moved aside from the tail */
    int tail_corrupt;         /* 1 if a checksum/framing error (not just a torn end) */
};

/* Fault injection for tests: the next write or sync fails as if with EIO. */
enum tly_log_fault { TLY_FAULT_NONE = 0, TLY_FAULT_WRITE, TLY_FAULT_SYNC };

/* Opens (creating if needed) the log in `dir`, recovering the tail.
 * `segment_max` is the size at which a new segment is started. */
int tly_segment_open(struct tly_segment_writer **out, const char *dir, uint64_t segment_max,
                     const struct tly_logger *lg, struct tly_log_recovery *rec);

/* Writes `n` encoded records (rec[i], len[i]) at the end of the log and
 * stores each one's offset in offsets[i] (may be NULL). Starts a new segment
 * before a record that would take the current one past segment_max (the
 * finished segment is synced first). Returns 0, TLY_EIO (now FAILED), or
 * TLY_EFAILED. */
int tly_segment_write(struct tly_segment_writer *w, const uint8_t *const *rec, const size_t *len,
                      size_t n, uint64_t *offsets);

/* fdatasync of the current segment. Returns 0, TLY_EIO (now FAILED) or
 * TLY_EFAILED. */
int tly_segment_sync(struct tly_segment_writer *w);

/* Offset one past the last byte written (synced or not). */
uint64_t tly_segment_end(const struct tly_segment_writer *w);

int tly_segment_failed(const struct tly_segment_writer *w);

/* Arms a one-shot fault; may be called from any thread. */
void tly_segment_inject_fault(struct tly_segment_writer *w, enum tly_log_fault f);

/* Closes the files (no implicit sync). NULL is a no-op. */
void tly_segment_close(struct tly_segment_writer *w);

#endif
