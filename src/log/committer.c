/*
 * Group commit: the writer thread behind tly_log_append (see log.h).
 *
 * Shared between the loop thread and the writer thread, under `mu`:
 * the pending queue, the done list and `stopping`. Everything else is owned
 * by one side: `inflight_*` and `accepting` by the loop thread; the segment
 * writer and the arrays by the writer thread; metrics are atomics.
 *
 * Appends made during one turn of the loop are collected on a loop-only
 * list and handed to the writer together by a uv_check callback (after the
 * loop has run its I/O callbacks): one lock and one wake-up per turn, and
 * groups as large as what arrived together.
 *
 * Invariant: an append is in exactly one of {the loop's list, pending
 * queue, the writer's current group, done list} from tly_log_append until
 * its `done` runs.
 */
#include "log/log.h"
#include "core/metrics.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const double sync_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                     0.01,   0.025,   0.05,   0.1,   0.25,   1.0};
static const double group_bounds[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};

struct tly_log {
    struct tly_segment_writer *seg;
    const struct tly_logger *lg;
    uv_loop_t *loop;
    uv_async_t async;
    uv_check_t check; /* hands the loop's list to the writer once per turn */
    uv_thread_t thread;
    int started;

    uv_mutex_t mu;
    uv_cond_t cond;
    struct tly_log_append *q_head, *q_tail;       /* under mu */
    struct tly_log_append *done_head, *done_tail; /* under mu */
    int stopping;                                 /* under mu */

    /* Loop thread. */
    struct tly_log_append *local_head, *local_tail; /* not yet handed over */
    size_t inflight_records, inflight_bytes;
    size_t max_records, max_bytes;
    int accepting;
    uint64_t refused_busy;

    /* Writer thread. */
    const uint8_t **recs;
    size_t *lens;
    uint64_t *offsets;
    size_t arr_cap;

    void (*on_durable)(void *arg, uint64_t end, uint64_t records); /* set before start */
    void *on_durable_arg;

    /* Any thread. */
    atomic_int failed;
    _Atomic uint64_t durable_end;
    _Atomic uint64_t appends_total, bytes_total, groups_total, errors_total;
    struct tly_histogram sync_seconds, group_records;
};

int tly_log_open(struct tly_log **out, const struct tly_log_config *cfg,
                 const struct tly_logger *lg, struct tly_log_recovery *rec)
{
    struct tly_log *log = calloc(1, sizeof *log);
    if (log == NULL)
        return TLY_ENOMEM;
    int rc = tly_segment_open(&log->seg, cfg->dir, cfg->segment_max, lg, rec);
    if (rc != 0) {
        free(log);
        return rc;
    }
    log->lg = lg;
    log->max_records = cfg->queue_max_records;
    log->max_bytes = cfg->queue_max_bytes;
    atomic_init(&log->failed, 0);
    atomic_init(&log->durable_end, rec->end_offset);
    atomic_init(&log->appends_total, 0);
    atomic_init(&log->bytes_total, 0);
    atomic_init(&log->groups_total, 0);
    atomic_init(&log->errors_total, 0);
    tly_histogram_init(&log->sync_seconds, sync_bounds,
                       (int)(sizeof sync_bounds / sizeof sync_bounds[0]));
    tly_histogram_init(&log->group_records, group_bounds,
                       (int)(sizeof group_bounds / sizeof group_bounds[0]));
    uv_mutex_init(&log->mu);
    uv_cond_init(&log->cond);
    *out = log;
    return 0;
}

/* Writer thread: make room in the per-group arrays. */
static int grow_arrays(struct tly_log *log, size_t n)
{
    if (n <= log->arr_cap)
        return 0;
    size_t cap = log->arr_cap ? log->arr_cap : 256;
    while (cap < n)
        cap *= 2;
    const uint8_t **r = realloc(log->recs, cap * sizeof *r);
    if (r == NULL)
        return TLY_ENOMEM;
    log->recs = r;
    size_t *l = realloc(log->lens, cap * sizeof *l);
    if (l == NULL)
        return TLY_ENOMEM;
    log->lens = l;
    uint64_t *o = realloc(log->offsets, cap * sizeof *o);
    if (o == NULL)
        return TLY_ENOMEM;
    log->offsets = o;
    log->arr_cap = cap;
    return 0;
}

static double now_seconds(void)
{
    return (double)uv_hrtime() / 1e9;
}

/* Writer thread: write and sync one group; sets every append's status. */
static void commit_group(struct tly_log *log, struct tly_log_append *group)
{
    size_t n = 0, bytes = 0;
    for (struct tly_log_append *a = group; a != NULL; a = a->next)
        n++;
    int rc = grow_arrays(log, n);
    if (rc == 0) {
        size_t i = 0;
        for (struct tly_log_append *a = group; a != NULL; a = a->next, i++) {
            log->recs[i] = a->rec;
            log->lens[i] = a->len;
            bytes += a->len;
        }
        rc = tly_segment_write(log->seg, log->recs, log->lens, n, log->offsets);
        if (rc == 0) {
            double t0 = now_seconds();
            rc = tly_segment_sync(log->seg);
            tly_histogram_observe(&log->sync_seconds, now_seconds() - t0);
        }
    }
    if (rc == 0) {
        size_t i = 0;
        for (struct tly_log_append *a = group; a != NULL; a = a->next, i++) {
            a->offset = log->offsets[i];
            a->status = 0;
        }
        uint64_t end = tly_segment_end(log->seg);
        atomic_store(&log->durable_end, end);
        if (log->on_durable != NULL)
            log->on_durable(log->on_durable_arg, end, n);
        tly_counter_add(&log->appends_total, n);
        tly_counter_add(&log->bytes_total, bytes);
        tly_counter_add(&log->groups_total, 1);
        tly_histogram_observe(&log->group_records, (double)n);
    } else {
        /* ENOMEM leaves the files untouched, but nothing of this group is on
         * disk; an I/O error leaves the writer FAILED. Either way: not 2xx. */
        int status = rc == TLY_ENOMEM ? TLY_EBUSY : TLY_EIO;
        for (struct tly_log_append *a = group; a != NULL; a = a->next)
            a->status = status;
        if (tly_segment_failed(log->seg))
            atomic_store(&log->failed, 1);
        tly_counter_add(&log->errors_total, 1);
    }
}

static void writer_main(void *arg)
{
    struct tly_log *log = arg;
    uv_mutex_lock(&log->mu);
    for (;;) {
        while (log->q_head == NULL && !log->stopping)
            uv_cond_wait(&log->cond, &log->mu);
        if (log->q_head == NULL)
            break; /* stopping and drained */
        struct tly_log_append *group = log->q_head, *tail = log->q_tail;
        log->q_head = log->q_tail = NULL;
        uv_mutex_unlock(&log->mu);

        commit_group(log, group);

        uv_mutex_lock(&log->mu);
        if (log->done_tail != NULL)
            log->done_tail->next = group;
        else
            log->done_head = group;
        log->done_tail = tail;
        uv_async_send(&log->async);
    }
    uv_mutex_unlock(&log->mu);
}

/* Loop thread: run the `done` of every completed append. */
static void deliver_done(struct tly_log *log)
{
    uv_mutex_lock(&log->mu);
    struct tly_log_append *a = log->done_head;
    log->done_head = log->done_tail = NULL;
    uv_mutex_unlock(&log->mu);
    while (a != NULL) {
        struct tly_log_append *next = a->next;
        a->next = NULL;
        log->inflight_records--;
        log->inflight_bytes -= a->len;
        a->done(a);
        a = next;
    }
}

static void on_async(uv_async_t *h)
{
    deliver_done(h->data);
}

/* Loop thread: hand this turn's appends to the writer. */
static void hand_over(struct tly_log *log)
{
    if (log->local_head == NULL)
        return;
    uv_mutex_lock(&log->mu);
    if (log->q_tail != NULL)
        log->q_tail->next = log->local_head;
    else
        log->q_head = log->local_head;
    log->q_tail = log->local_tail;
    uv_cond_signal(&log->cond);
    uv_mutex_unlock(&log->mu);
    log->local_head = log->local_tail = NULL;
}

static void on_check(uv_check_t *h)
{
    hand_over(h->data);
}

int tly_log_start(struct tly_log *log, uv_loop_t *loop)
{
    log->loop = loop;
    int rc = uv_async_init(loop, &log->async, on_async);
    if (rc != 0)
        return TLY_EIO;
    log->async.data = log;
    uv_check_init(loop, &log->check);
    log->check.data = log;
    uv_check_start(&log->check, on_check);
    uv_unref((uv_handle_t *)&log->check);
    if (uv_thread_create(&log->thread, writer_main, log) != 0) {
        uv_close((uv_handle_t *)&log->async, NULL);
        uv_close((uv_handle_t *)&log->check, NULL);
        return TLY_EIO;
    }
    log->started = 1;
    log->accepting = 1;
    return 0;
}

int tly_log_append(struct tly_log *log, struct tly_log_append *a)
{
    if (!log->accepting)
        return TLY_ESTOPPED;
    if (atomic_load(&log->failed))
        return TLY_EFAILED;
    if (log->inflight_records >= log->max_records ||
        log->inflight_bytes + a->len > log->max_bytes) {
        log->refused_busy++;
        return TLY_EBUSY;
    }
    log->inflight_records++;
    log->inflight_bytes += a->len;
    a->next = NULL;
    if (log->local_tail != NULL)
        log->local_tail->next = a;
    else
        log->local_head = a;
    log->local_tail = a;
    return 0;
}

void tly_log_stop(struct tly_log *log)
{
    if (log == NULL || !log->started)
        return;
    log->accepting = 0;
    hand_over(log);
    uv_mutex_lock(&log->mu);
    log->stopping = 1;
    uv_cond_signal(&log->cond);
    uv_mutex_unlock(&log->mu);
    uv_thread_join(&log->thread);
    log->started = 0;
    deliver_done(log);
    uv_close((uv_handle_t *)&log->async, NULL);
    uv_close((uv_handle_t *)&log->check, NULL);
}

int tly_log_ready(const struct tly_log *log)
{
    return log->accepting && !atomic_load(&log->failed);
}

uint64_t tly_log_durable_end(const struct tly_log *log)
{
    return atomic_load(&((struct tly_log *)log)->durable_end);
}

void tly_log_on_durable(struct tly_log *log, void (*fn)(void *arg, uint64_t end, uint64_t records),
                        void *arg)
{
    log->on_durable = fn;
    log->on_durable_arg = arg;
}

void tly_log_inject_fault(struct tly_log *log, enum tly_log_fault f)
{
    tly_segment_inject_fault(log->seg, f);
}

int tly_log_metrics(const struct tly_log *clog, struct tly_buf *b)
{
    struct tly_log *log = (struct tly_log *)clog;
    int rc = 0;
    rc |= tly_metrics_header(b, "tally_log_appends_total", "counter",
                             "Records made durable in the event log.");
    rc |= tly_metrics_sample(b, "tally_log_appends_total", "",
                             (double)tly_counter_get(&log->appends_total));
    rc |= tly_metrics_header(b, "tally_log_append_bytes_total", "counter",
                             "Bytes made durable in the event log.");
    rc |= tly_metrics_sample(b, "tally_log_append_bytes_total", "",
                             (double)tly_counter_get(&log->bytes_total));
    rc |= tly_metrics_header(b, "tally_log_group_commits_total", "counter",
                             "Write+fdatasync rounds of the group-commit writer.");
    rc |= tly_metrics_sample(b, "tally_log_group_commits_total", "",
                             (double)tly_counter_get(&log->groups_total));
    rc |= tly_metrics_header(b, "tally_log_errors_total", "counter",
                             "Groups that could not be made durable.");
    rc |= tly_metrics_sample(b, "tally_log_errors_total", "",
                             (double)tly_counter_get(&log->errors_total));
    rc |= tly_metrics_header(b, "tally_log_refused_busy_total", "counter",
                             "Appends refused because the queue was full (answered 503).");
    rc |= tly_metrics_sample(b, "tally_log_refused_busy_total", "", (double)log->refused_busy);
    rc |=
        tly_metrics_header(b, "tally_log_queue_depth", "gauge", "Appends queued or being written.");
    rc |= tly_metrics_sample(b, "tally_log_queue_depth", "", (double)log->inflight_records);
    rc |= tly_metrics_header(b, "tally_log_queue_bytes", "gauge", "Bytes queued or being written.");
    rc |= tly_metrics_sample(b, "tally_log_queue_bytes", "", (double)log->inflight_bytes);
    rc |= tly_metrics_header(b, "tally_log_failed", "gauge",
                             "1 when the log is in its error state and refuses appends.");
    rc |= tly_metrics_sample(b, "tally_log_failed", "", (double)atomic_load(&log->failed));
    rc |= tly_metrics_header(b, "tally_log_durable_offset_bytes", "gauge",
                             "Offset one past the last durable record.");
    rc |= tly_metrics_sample(b, "tally_log_durable_offset_bytes", "",
                             (double)tly_log_durable_end(log));
    rc |= tly_metrics_histogram(b, "tally_log_fdatasync_seconds", "Latency of one fdatasync.",
                                &log->sync_seconds);
    rc |= tly_metrics_histogram(b, "tally_log_group_commit_records",
                                "Records made durable by one fdatasync.", &log->group_records);
    return rc ? TLY_ENOMEM : 0;
}

void tly_log_close(struct tly_log *log)
{
    if (log == NULL)
        return;
    tly_segment_close(log->seg);
    uv_mutex_destroy(&log->mu);
    uv_cond_destroy(&log->cond);
    free(log->recs);
    free(log->lens);
    free(log->offsets);
    free(log);
}
