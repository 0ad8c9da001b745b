/*
 * Retention (see pipeline.h), run by the consumer thread about once a
 * minute between batches:
 *   - event log segments that lie wholly behind the committed position and
 *     were last written longer ago than the retention are deleted (never
 *     the last segment, never anything not yet processed);
 *   - processed-event rows older than their tenant's dedupe window are
 *     deleted in a pass from the oldest row: a few thousand rows scanned
 *     per transaction, one transaction between two batches, so batches
 *     are not held up.
 */
#include "core/timeparse.h"
#include "pipeline/pipeline_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define PRUNE_CHUNK 5000

static void delete_old_segments(struct tly_pipeline *p, int64_t now)
{
    if (p->cfg.log_retention_ms == 0)
        return;
    uint64_t *bases;
    size_t n;
    if (tly_log_list_segments(p->log_dir, &bases, &n) != 0)
        return;
    for (size_t i = 0; i + 1 < n; i++) {
        uint64_t end = bases[i + 1]; /* a segment ends where the next begins */
        if (end > p->position)
            break;
        char path[4096];
        tly_log_segment_path(p->log_dir, bases[i], path, sizeof path);
        struct stat st;
        if (stat(path, &st) != 0)
            continue;
        int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        if (now - mtime < (int64_t)p->cfg.log_retention_ms)
            break;
        if (unlink(path) == 0)
            tly_log_info(p->lg, "deleted event log segment past retention",
                         "segment=%020" PRIu64 ".log", bases[i]);
    }
    free(bases);
}

/* A tenant's rows received before this are past its dedupe window. */
static int64_t dedupe_cutoff(void *arg, uint32_t tenant)
{
    struct tly_pipeline *p = arg;
    const struct tly_tenant_settings *s = tly_pipeline_settings(p, tenant);
    return s != NULL ? p->prune_now - s->dedupe_window_ms : INT64_MIN; /* keep when unsure */
}

/* Starts a pass of pruning unless one is under way. */
static void start_prune(struct tly_pipeline *p, int64_t now)
{
    uint32_t *ids;
    size_t n;
    if (p->pruning || tly_state_tenant_ids(p->state, &ids, &n) != 0)
        return;
    p->prune_now = now;
    int64_t stop_at = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        int64_t cut = dedupe_cutoff(p, ids[i]);
        if (cut > stop_at)
            stop_at = cut;
    }
    free(ids);
    tly_prune_init(&p->prune, dedupe_cutoff, p, stop_at);
    p->pruning = 1;
    p->pruned = 0;
}

static void end_prune(struct tly_pipeline *p)
{
    if (p->pruned > 0)
        tly_log_info(p->lg, "pruned events past the dedupe window", "rows=%" PRIu64, p->pruned);
    tly_prune_free(&p->prune);
    p->pruning = 0;
}

void tly_pipeline_prune_step(struct tly_pipeline *p)
{
    if (!p->pruning)
        return;
    int deleted = 0;
    if (tly_state_begin(p->state) != 0 ||
        tly_state_prune_events(p->state, &p->prune, PRUNE_CHUNK, &deleted) != 0 ||
        tly_state_commit(p->state) != 0) {
        tly_state_rollback(p->state);
        end_prune(p); /* the next retention starts again */
        return;
    }
    p->pruned += (uint64_t)deleted;
    if (p->prune.done)
        end_prune(p);
}

void tly_pipeline_retention(struct tly_pipeline *p, int64_t now)
{
    delete_old_segments(p, now);
    start_prune(p, now);
}
