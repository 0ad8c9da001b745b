/*
 * Retention (see pipeline.h), run by the consumer thread about once a
 * minute between batches:
 *   - event log segments that lie wholly behind the committed position and
 *     were last written longer ago than the retention are deleted (never
 *     the last segment, never anything not yet processed);
 *   - processed-event rows older than their tenant's dedupe window are
 *     deleted in one pass from the oldest row, a few thousand rows scanned
 *     per transaction so batches are not held up.
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

struct cutoffs {
    struct tly_pipeline *p;
    int64_t now;
};

/* A tenant's rows received before this are past its dedupe window. */
static int64_t dedupe_cutoff(void *arg, uint32_t tenant)
{
    struct cutoffs *c = arg;
    const struct tly_tenant_settings *s = tly_pipeline_settings(c->p, tenant);
    return s != NULL ? c->now - s->dedupe_window_ms : INT64_MIN; /* keep when unsure */
}

static void prune_dedupe(struct tly_pipeline *p, int64_t now)
{
    uint32_t *ids;
    size_t n;
    if (tly_state_tenant_ids(p->state, &ids, &n) != 0)
        return;
    struct cutoffs c = {.p = p, .now = now};
    struct tly_prune pr = {.cutoff = dedupe_cutoff, .arg = &c, .stop_at = INT64_MIN};
    for (size_t i = 0; i < n; i++) {
        int64_t cut = dedupe_cutoff(&c, ids[i]);
        if (cut > pr.stop_at)
            pr.stop_at = cut;
    }
    free(ids);
    uint64_t total = 0;
    while (!pr.done) {
        int deleted = 0;
        if (tly_state_begin(p->state) != 0)
            break;
        if (tly_state_prune_events(p->state, &pr, PRUNE_CHUNK, &deleted) != 0 ||
            tly_state_commit(p->state) != 0) {
            tly_state_rollback(p->state);
            break;
        }
        total += (uint64_t)deleted;
    }
    if (total > 0)
        tly_log_info(p->lg, "pruned events past the dedupe window", "rows=%" PRIu64, total);
}

void tly_pipeline_retention(struct tly_pipeline *p, int64_t now)
{
    delete_old_segments(p, now);
    prune_dedupe(p, now);
}
