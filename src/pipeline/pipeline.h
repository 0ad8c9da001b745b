/*
 * The pipeline: one consumer that reads the event log in order from its
 * committed position, decodes each record with its source's adapter,
 * validates, dedupes and applies the effects, and stores every item that
 * cannot be processed as a failed event with a typed reason.
 *
 * Exactly once: the effects of a run of records and the new position are
 * committed in one state-store transaction. It reads only up to the log's
 * durable end, so it never acts on bytes a crash could take away.
 *
 * Threads: tly_pipeline_start runs the consumer on its own thread (plus a
 * checkpointer for SQLite's WAL); tly_pipeline_notify may be called from
 * any thread (the log writer calls it after each group commit).
 * tly_pipeline_catch_up runs the same loop on the caller's thread until the
 * end of the log, for operators and benchmarks.
 *
 * States: RUNNING, or FAILED when the log holds a record that cannot be
 * read (checksum error) — the pipeline then stops at it, /readyz fails and
 * the log line says where; or when the state store keeps failing.
 */
#ifndef TLY_PIPELINE_PIPELINE_H
#define TLY_PIPELINE_PIPELINE_H

#include "core/buf.h"
#include "core/err.h"
#include "core/logger.h"

#include <stdint.h>

struct tly_event_index;

struct tly_pipeline;

struct tly_pipeline_config {
    const char *log_dir;
    const char *db_path;
    uint64_t log_retention_ms;   /* delete segments behind the position and older */
    uint64_t retention_every_ms; /* how often retention runs (first: after one) */
    int batch_events;            /* events (items) per transaction, about */
    uint64_t batch_ms;           /* and at most this long (0: the default) */
    uint64_t log_end;            /* where the log ends now if known; 0: read it */
    size_t engine_cache_bytes;   /* bound of the campaign progress cache; 0: default */
    size_t segments_cache_bytes; /* bound of the segment state cache; 0: default */
};

/* Opens the state store. Call before the log accepts appends: the log's
 * end then is where the backlog ends (the consumer thread counts it). */
int tly_pipeline_open(struct tly_pipeline **out, const struct tly_pipeline_config *cfg,
                      const struct tly_logger *lg, struct tly_error *err);

int tly_pipeline_start(struct tly_pipeline *p);

/* The log is durable up to `end` after `records` more records. */
void tly_pipeline_notify(struct tly_pipeline *p, uint64_t end, uint64_t records);

/* Processes everything up to `end` on this thread. Returns 0 or an error. */
int tly_pipeline_catch_up(struct tly_pipeline *p, uint64_t end);

/* Stops the thread after its current transaction. Idempotent. */
void tly_pipeline_stop(struct tly_pipeline *p);

int tly_pipeline_running(const struct tly_pipeline *p);
uint64_t tly_pipeline_position(const struct tly_pipeline *p);
/* The index of processed events (store/eventindex.h), for API readers on
 * any thread; valid until tly_pipeline_close. */
struct tly_event_index *tly_pipeline_event_index(const struct tly_pipeline *p);

struct tly_pipeline_stats {
    uint64_t records, processed, duplicates, failed;
};
void tly_pipeline_stats(const struct tly_pipeline *p, struct tly_pipeline_stats *out);

/* Prometheus metrics; any thread. */
int tly_pipeline_metrics(const struct tly_pipeline *p, struct tly_buf *out);

void tly_pipeline_close(struct tly_pipeline *p);

/* Sets the clock of segments' rolling windows to `ms` (0: the wall clock
 * again) and sweeps at once. For tests (the test build's POST /debug/clock);
 * any thread. */
void tly_pipeline_set_clock(struct tly_pipeline *p, int64_t ms);

#endif
