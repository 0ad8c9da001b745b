/*
 * The pipeline's private layout, shared by consumer.c (thread, loop,
 * metrics), process.c (one record → effects) and retention.c.
 *
 * Ownership: everything here belongs to the consumer thread except the
 * fields marked shared, which are atomics or under `mu`.
 */
#ifndef TLY_PIPELINE_INT_H
#define TLY_PIPELINE_INT_H

#include "core/metrics.h"
#include "engine/engine.h"
#include "engine/segment_eval.h"
#include "log/reader.h"
#include "pipeline/pipeline.h"
#include "sources/adapter.h"
#include "store/settings.h"
#include "store/state.h"

#include <stdatomic.h>
#include <uv.h>

#define TLY_CONSUMER_NAME "pipeline"

#define TLY_SOURCE_SLOTS 8 /* > the largest source id of log/record.h */

struct settings_slot {
    int loaded;
    struct tly_tenant_settings s;
    unsigned sources_loaded; /* bit per source id: src[id] is current */
    int links;               /* identity links: 0 not read yet, 1 none, 2 some */
    struct tly_source_config src[TLY_SOURCE_SLOTS];
};

struct tly_pipeline {
    struct tly_pipeline_config cfg;
    char *log_dir, *db_path;
    const struct tly_logger *lg;
    struct tly_state *state;
    struct tly_engine *engine;     /* campaigns; works in the state's transactions */
    struct tly_segments *segments; /* event segments; the same transactions */
    int64_t last_sweep;            /* ms (wall clock) of the last segment sweep */
    uint64_t linger_from;          /* uv_hrtime() when the last batch that caught up
                                      began; 0: the next batch need not wait */
    struct tly_log_reader *reader; /* NULL until the log has a segment */
    uint64_t position;             /* committed */
    uint64_t backlog_end;          /* the log's end at open */

    struct tly_items items;
    /* Per item of the record being processed: its event id as the adapter
     * gives it, and that id's index hash (computed once, to prefetch). */
    struct item_hash {
        const char *id;
        uint64_t hash;
    } * hashes;
    size_t nhashes;
    struct settings_slot *settings; /* by tenant id */
    size_t nsettings;
    int64_t last_retention; /* ms */
    struct tly_prune prune; /* the pass of pruning under way, if pruning */
    int pruning;
    int64_t prune_now; /* ms, when the pass started */
    uint64_t pruned;   /* rows deleted by the pass so far */

    /* Shared. */
    uv_thread_t thread, checkpointer;
    int started;
    uv_mutex_t mu;
    uv_cond_t cond;
    int stopping;                 /* under mu */
    _Atomic uint64_t durable_end; /* how far the consumer may read */
    atomic_int failed;
    _Atomic uint64_t pos_shared; /* position, for metrics */
    _Atomic uint64_t records_known, records_done;
    _Atomic int64_t last_received_at;
    _Atomic int64_t clock_ms; /* the segment clock when set (tests); 0: the wall clock */
    _Atomic uint64_t n_records, n_processed, n_duplicates, n_failed, n_replayed, n_batches;
    _Atomic uint64_t n_reason[TLY_FAIL_REASON_COUNT];
    struct tly_histogram batch_seconds, batch_records;
};

/* process.c: applies one record inside the open transaction. 0, or an
 * error from the store (the transaction must then be rolled back). */
int tly_pipeline_process(struct tly_pipeline *p, const struct tly_record *rec, uint64_t offset);

/* The clock of segments' rolling windows: the wall clock, or the time a
 * test set (tly_pipeline_set_clock). */
int64_t tly_pipeline_now(struct tly_pipeline *p);

/* The tenant's settings (cached; reloaded after changes elsewhere). */
const struct tly_tenant_settings *tly_pipeline_settings(struct tly_pipeline *p, uint32_t tenant);

/* The tenant's settings for `source` (sources/settings.h), cached the same
 * way; NULL (the defaults) when they cannot be read. Borrowed until
 * tly_pipeline_forget_settings. */
const struct tly_source_config *tly_pipeline_source_config(struct tly_pipeline *p, uint32_t tenant,
                                                           int source);

/* Drops every cached setting (after changes elsewhere, and at close). */
void tly_pipeline_forget_settings(struct tly_pipeline *p);

/* retention.c: deletes old segments and starts a pass of pruning of the
 * dedupe window, outside a batch. */
void tly_pipeline_retention(struct tly_pipeline *p, int64_t now);
/* One transaction of the pass under way, if any (between batches). */
void tly_pipeline_prune_step(struct tly_pipeline *p);

#endif
