/*
 * Sequential reader over the event log segments.
 *
 * Reads records in offset order from any record boundary, crossing segment
 * files, and can follow a log that is still growing: at the current end it
 * returns 0, and a later call picks up what was appended since. Offsets are
 * global byte positions; a segment file is named by the offset of its first
 * byte (20 zero-padded digits + ".log").
 *
 * A reader is used by one thread. Record pointers it returns are borrowed
 * until the next call.
 */
#ifndef TLY_LOG_READER_H
#define TLY_LOG_READER_H

#include "log/record.h"

#include <stdint.h>

struct tly_log_reader;

/* Lists the segment base offsets in `dir`, ascending. On success *bases is a
 * malloc'd array the caller frees (NULL when *count is 0). */
int tly_log_list_segments(const char *dir, uint64_t **bases, size_t *count);

/* Formats the path of the segment with base offset `base`. */
void tly_log_segment_path(const char *dir, uint64_t base, char *out, size_t outsz);

/* The offset one past the last whole record (0 for an empty log): the
 * end of the log as a reader sees it. */
int tly_log_end(const char *dir, uint64_t *end);

/* Opens a reader at `from`, which must be a record boundary (or the end).
 * Returns TLY_ENOENT if no segment holds `from`. */
int tly_log_reader_open(struct tly_log_reader **out, const char *dir, uint64_t from);

/* Reads the next record. Returns 1 with `rec` and `*offset` filled, 0 at the
 * current end of the log, TLY_ECORRUPT when the bytes at the position fail
 * their checksum or framing (the position stays there), TLY_EIO on read
 * errors. A partial record at the very end is reported as 0 (it may still be
 * being written); tly_log_reader_pending() tells how many bytes it holds. */
int tly_log_reader_next(struct tly_log_reader *r, struct tly_record *rec, uint64_t *offset);

/* Records that end past `limit` are not returned (0, as at the end) until
 * the limit moves: a consumer sets it to the durable end of the log so it
 * never acts on bytes a crash could still take away. */
void tly_log_reader_set_limit(struct tly_log_reader *r, uint64_t limit);

/* Offset of the next record to read. */
uint64_t tly_log_reader_position(const struct tly_log_reader *r);

/* Bytes past the position that exist on disk but do not form a whole record. */
uint64_t tly_log_reader_pending(const struct tly_log_reader *r);

void tly_log_reader_close(struct tly_log_reader *r);

#endif
