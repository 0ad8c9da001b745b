/*
 * The consumer thread and its batch loop (see pipeline.h).
 *
 * Loop: wait until the log is durable past the position (after a batch
 * that caught up, until LINGER_MS after it began, unless the backlog is
 * large); open a transaction; process records until batch_events items (or
 * batch_ms worth); write the new position; commit. On a store error the transaction is
 * rolled back and the reader goes back to the committed position; after
 * repeated errors the pipeline enters FAILED. A record that fails its
 * checksum stops the pipeline there (FAILED) with a log line: skipping it
 * would silently lose what it holds.
 */
#include "core/timeparse.h"
#include "pipeline/pipeline_int.h"

#include <inttypes.h>
#include <sys/resource.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_MS_DEFAULT    2000
#define CHECKPOINT_EVERY_MS 1000
#define STORE_RETRIES       5
#define CONSUMER_NICE       10 /* nice value of the consumer thread */

#define LINGER_MS    100        /* a small backlog waits this long after the last batch began */
#define LINGER_BYTES (4u << 20) /* unless it holds this many bytes of records */

#define SWEEP_EVERY_MS 1000 /* segment sweeps, wall clock */
#define SWEEP_BATCH    1000 /* users judged per sweep transaction */

static const double batch_s_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                        0.025,  0.05,  0.1,    0.25,  1.0};
static const double batch_n_bounds[] = {1, 10, 100, 500, 1000, 2000, 5000, 10000};

/* Counts the records in [from, end): the backlog when the daemon starts. */
static uint64_t count_records(const char *dir, uint64_t from, uint64_t end)
{
    struct tly_log_reader *r;
    if (tly_log_reader_open(&r, dir, from) != 0)
        return 0;
    tly_log_reader_set_limit(r, end);
    struct tly_record rec;
    uint64_t off, n = 0;
    while (tly_log_reader_next(r, &rec, &off) == 1)
        n++;
    tly_log_reader_close(r);
    return n;
}

/* Opens the reader at the position once the log has a segment for it. */
static int ensure_reader(struct tly_pipeline *p)
{
    if (p->reader != NULL)
        return 0;
    int rc = tly_log_reader_open(&p->reader, p->log_dir, p->position);
    if (rc == TLY_ENOENT) {
        /* Segments before the position were removed by retention; nothing
         * before the first one remains to be read. */
        uint64_t *bases;
        size_t n;
        if (tly_log_list_segments(p->log_dir, &bases, &n) != 0 || n == 0) {
            free(bases);
            return TLY_ENOENT;
        }
        uint64_t first = bases[0];
        free(bases);
        if (first <= p->position)
            return TLY_ENOENT;
        tly_log_warn(p->lg, "pipeline position is before the oldest segment; continuing there",
                     "position=%" PRIu64 " oldest=%" PRIu64, p->position, first);
        p->position = first;
        rc = tly_log_reader_open(&p->reader, p->log_dir, p->position);
    }
    return rc;
}

int tly_pipeline_open(struct tly_pipeline **out, const struct tly_pipeline_config *cfg,
                      const struct tly_logger *lg, struct tly_error *err)
{
    struct tly_pipeline *p = calloc(1, sizeof *p);
    if (p == NULL)
        return TLY_ENOMEM;
    p->cfg = *cfg;
    p->lg = lg;
    p->log_dir = strdup(cfg->log_dir);
    p->db_path = strdup(cfg->db_path);
    tly_items_init(&p->items);
    tly_histogram_init(&p->batch_seconds, batch_s_bounds,
                       (int)(sizeof batch_s_bounds / sizeof batch_s_bounds[0]));
    tly_histogram_init(&p->batch_records, batch_n_bounds,
                       (int)(sizeof batch_n_bounds / sizeof batch_n_bounds[0]));
    uv_mutex_init(&p->mu);
    uv_cond_init(&p->cond);
    int rc = p->log_dir && p->db_path ? tly_state_open(&p->state, cfg->db_path, err) : TLY_ENOMEM;
    if (rc == 0)
        rc = tly_state_get_position(p->state, TLY_CONSUMER_NAME, &p->position);
    if (rc == 0 && (rc = tly_engine_open(&p->engine, tly_state_sqlite(p->state), lg,
                                         cfg->engine_cache_bytes)) != 0)
        tly_error_set(err, rc, "", "cannot load the campaigns: %s", tly_strerror(rc));
    if (rc == 0 && (rc = tly_segments_open(&p->segments, tly_state_sqlite(p->state), lg,
                                           cfg->segments_cache_bytes)) != 0)
        tly_error_set(err, rc, "", "cannot load the segments: %s", tly_strerror(rc));
    if (rc == 0)
        tly_engine_set_segments(p->engine, p->segments);
    if (rc != 0) {
        tly_pipeline_close(p);
        return rc;
    }
    /* The log is quiet now: the end of its files is its durable end. The
     * daemon passes what recovery found; otherwise read it. */
    uint64_t end;
    if (cfg->log_end > 0)
        end = cfg->log_end;
    else if (tly_log_end(cfg->log_dir, &end) != 0)
        end = p->position;
    if (end < p->position)
        end = p->position;
    p->backlog_end = end;
    atomic_init(&p->durable_end, end);
    atomic_init(&p->pos_shared, p->position);
    atomic_init(&p->records_known, 0); /* the backlog is counted by the thread */
    tly_log_info(lg, "pipeline open", "position=%" PRIu64 " log_end=%" PRIu64, p->position, end);
    *out = p;
    return 0;
}

static uint64_t items_done(struct tly_pipeline *p)
{
    return tly_counter_get(&p->n_processed) + tly_counter_get(&p->n_duplicates) +
           tly_counter_get(&p->n_failed);
}

/* One transaction: records below `end` until batch_events items. Returns the
 * number of records processed (>= 0) or an error. */
/* The counters a batch moves, so a rolled-back batch can put them back. */
struct counts {
    uint64_t records, processed, duplicates, failed, replayed;
    uint64_t reason[TLY_FAIL_REASON_COUNT];
};

static void counts_save(struct tly_pipeline *p, struct counts *c)
{
    c->records = tly_counter_get(&p->n_records);
    c->processed = tly_counter_get(&p->n_processed);
    c->duplicates = tly_counter_get(&p->n_duplicates);
    c->failed = tly_counter_get(&p->n_failed);
    c->replayed = tly_counter_get(&p->n_replayed);
    for (int r = 0; r < TLY_FAIL_REASON_COUNT; r++)
        c->reason[r] = tly_counter_get(&p->n_reason[r]);
}

static void counts_restore(struct tly_pipeline *p, const struct counts *c)
{
    atomic_store(&p->n_records, c->records);
    atomic_store(&p->n_processed, c->processed);
    atomic_store(&p->n_duplicates, c->duplicates);
    atomic_store(&p->n_failed, c->failed);
    atomic_store(&p->n_replayed, c->replayed);
    for (int r = 0; r < TLY_FAIL_REASON_COUNT; r++)
        atomic_store(&p->n_reason[r], c->reason[r]);
}

/* Loads the event index unless it is ready. */
static void load_index(struct tly_pipeline *p)
{
    if (tly_event_index_ready(tly_state_event_index(p->state)))
        return;
    uint64_t t0 = uv_hrtime();
    int rc = tly_state_load_index(p->state);
    struct tly_event_index_stats is;
    tly_event_index_stats(tly_state_event_index(p->state), &is);
    if (rc != 0)
        tly_log_error(p->lg, "cannot load the event index; loading again at the first event",
                      "error=\"%s\"", tly_strerror(rc));
    else
        tly_log_info(p->lg, "event index loaded", "events=%zu users=%zu bytes=%zu seconds=%.3f",
                     is.events, is.users, is.bytes, (double)(uv_hrtime() - t0) / 1e9);
}

static long run_batch(struct tly_pipeline *p, uint64_t end)
{
    int rc = ensure_reader(p);
    if (rc == TLY_ENOENT)
        return 0;
    if (rc != 0)
        return rc;
    tly_log_reader_set_limit(p->reader, end);
    if (tly_state_changed_elsewhere(p->state)) {
        tly_pipeline_forget_settings(p); /* settings may have changed */
        /* So may campaigns and acceptances. */
        if ((rc = tly_engine_reload(p->engine)) != 0 ||
            (rc = tly_segments_reload(p->segments)) != 0)
            return rc;
    }
    load_index(p); /* after a failed load or apply; recording needs it */
    uint64_t t0 = uv_hrtime();
    struct counts before;
    counts_save(p, &before);
    if (tly_state_begin(p->state) != 0)
        return TLY_EIO;
    long n = 0;
    uint64_t items0 = items_done(p);
    int read_rc = 1, store_rc = 0;
    struct tly_record rec;
    uint64_t off;
    uint64_t batch_ns = (p->cfg.batch_ms ? p->cfg.batch_ms : BATCH_MS_DEFAULT) * 1000000;
    while (items_done(p) - items0 < (uint64_t)p->cfg.batch_events) {
        read_rc = tly_log_reader_next(p->reader, &rec, &off);
        if (read_rc != 1)
            break;
        store_rc = tly_pipeline_process(p, &rec, off);
        if (store_rc != 0)
            break;
        n++;
        if (uv_hrtime() - t0 > batch_ns)
            break;
    }
    if (store_rc != 0) {
        /* Nothing of this batch happened: the caller rewinds the reader. */
        tly_state_rollback(p->state);
        tly_engine_drop(p->engine);
        tly_segments_drop(p->segments);
        counts_restore(p, &before);
        return store_rc;
    }
    /* Commit what was processed: after a read error, up to the bad record.
     * The engine's progress goes in first, in the same transaction. */
    uint64_t pos = tly_log_reader_position(p->reader);
    if (n > 0 && (tly_engine_flush(p->engine) != 0 || tly_segments_flush(p->segments) != 0 ||
                  tly_state_set_position(p->state, TLY_CONSUMER_NAME, pos) != 0 ||
                  tly_state_commit(p->state) != 0)) {
        tly_state_rollback(p->state);
        tly_engine_drop(p->engine);
        tly_segments_drop(p->segments);
        counts_restore(p, &before);
        return TLY_EIO;
    }
    if (n == 0) {
        tly_state_rollback(p->state);
        tly_engine_drop(p->engine);
        tly_segments_drop(p->segments);
    } else {
        tly_engine_committed(p->engine);
        tly_segments_committed(p->segments);
    }
    p->position = pos;
    atomic_store(&p->pos_shared, pos);
    tly_counter_add(&p->records_done, (uint64_t)n);
    if (n > 0) {
        tly_counter_add(&p->n_batches, 1);
        tly_histogram_observe(&p->batch_seconds, (double)(uv_hrtime() - t0) / 1e9);
        tly_histogram_observe(&p->batch_records, (double)n);
    }
    if (read_rc < 0) {
        atomic_store(&p->failed, 1);
        tly_log_error(p->lg, "pipeline stopped: unreadable record in the event log",
                      "offset=%" PRIu64 " error=\"%s\" hint=\"tallyd log verify\"", pos,
                      tly_strerror(read_rc));
        return read_rc;
    }
    return n;
}

/* After a store error: forget the uncommitted reads. */
static void rewind_reader(struct tly_pipeline *p)
{
    tly_log_reader_close(p->reader);
    p->reader = NULL;
}

int tly_pipeline_catch_up(struct tly_pipeline *p, uint64_t end)
{
    load_index(p);
    atomic_store(&p->durable_end, end);
    while (p->position < end) {
        long n = run_batch(p, end);
        if (n < 0) {
            rewind_reader(p);
            return (int)n;
        }
        if (n == 0)
            break; /* nothing more is whole below `end` */
    }
    return 0;
}

int64_t tly_pipeline_now(struct tly_pipeline *p)
{
    int64_t t = atomic_load(&p->clock_ms);
    return t != 0 ? t : tly_now_ms();
}

void tly_pipeline_set_clock(struct tly_pipeline *p, int64_t ms)
{
    atomic_store(&p->clock_ms, ms);
    uv_mutex_lock(&p->mu);
    p->last_sweep = 0; /* sweep at once */
    uv_cond_signal(&p->cond);
    uv_mutex_unlock(&p->mu);
}

/* Judges again the segment members whose rolling windows have moved, in
 * transactions of their own between batches, once a second. */
static void segment_sweep(struct tly_pipeline *p)
{
    int64_t wall = tly_now_ms();
    uv_mutex_lock(&p->mu);
    int due = wall - p->last_sweep >= SWEEP_EVERY_MS;
    if (due)
        p->last_sweep = wall;
    uv_mutex_unlock(&p->mu);
    if (!due || !tly_segments_windows(p->segments))
        return;
    int64_t now = tly_pipeline_now(p);
    for (int n = SWEEP_BATCH; n == SWEEP_BATCH;) {
        if (tly_state_begin(p->state) != 0)
            return;
        n = tly_segments_sweep(p->segments, now, SWEEP_BATCH);
        if (n < 0 || tly_state_commit(p->state) != 0) {
            tly_state_rollback(p->state);
            tly_segments_drop(p->segments);
            tly_log_error(p->lg, "segment sweep failed; trying again later", "error=\"%s\"",
                          tly_strerror(n < 0 ? n : TLY_EIO));
            return;
        }
        tly_segments_committed(p->segments);
    }
}

static uint64_t retention_wait_ns(const struct tly_pipeline *p)
{
    uint64_t ns = p->cfg.retention_every_ms * 1000000;
    /* Rolling windows of segments move with time: wake for the sweep. */
    return tly_segments_windows(p->segments) && ns > SWEEP_EVERY_MS * 1000000ull
               ? SWEEP_EVERY_MS * 1000000ull
               : ns;
}

static void consumer_main(void *arg)
{
    struct tly_pipeline *p = arg;
    int errors = 0;
    /* Ingest first: clients wait on durable appends, while processing lag
     * only shows in metrics and is caught up when load drops. So this
     * thread yields the CPU to the HTTP loop and the log writer. */
    if (setpriority(PRIO_PROCESS, (id_t)gettid(), CONSUMER_NICE) != 0)
        tly_log_debug(p->lg, "could not lower the pipeline thread's priority", "%s", "");
    /* Loaded and counted here, not at open, so that neither a large dedupe
     * window nor a large backlog delays the daemon's start; appends since
     * open are added by notify. */
    load_index(p);
    if (p->backlog_end > p->position) {
        uint64_t n = count_records(p->log_dir, p->position, p->backlog_end);
        tly_counter_add(&p->records_known, n);
        tly_log_info(p->lg, "pipeline backlog", "backlog_records=%" PRIu64, n);
    }
    for (;;) {
        uv_mutex_lock(&p->mu);
        while (!p->stopping && !p->pruning && p->last_sweep != 0 &&
               atomic_load(&p->durable_end) <= p->position)
            if (uv_cond_timedwait(&p->cond, &p->mu, retention_wait_ns(p)) != 0)
                break; /* timed out: time for retention */
        /* Under steady ingest, records become durable every few
         * milliseconds. A transaction for each group commit would write the
         * same pages (the tables' last ones, the indexes' busiest ones)
         * hundreds of times a second, and those writes slow the log's
         * fdatasync, which every client waits on. So after a batch that
         * caught up, a small backlog waits until LINGER_MS after that batch
         * began: a lone event after a quiet spell is processed at once. */
        for (uint64_t t; !p->stopping && p->linger_from != 0 &&
                         atomic_load(&p->durable_end) > p->position &&
                         atomic_load(&p->durable_end) - p->position < LINGER_BYTES &&
                         (t = uv_hrtime()) < p->linger_from + LINGER_MS * 1000000ull;)
            uv_cond_timedwait(&p->cond, &p->mu, p->linger_from + LINGER_MS * 1000000ull - t);
        int stopping = p->stopping;
        uv_mutex_unlock(&p->mu);
        if (stopping)
            break;
        int64_t now = tly_now_ms();
        if (now - p->last_retention >= (int64_t)p->cfg.retention_every_ms) {
            p->last_retention = now;
            tly_pipeline_retention(p, now);
        }
        tly_pipeline_prune_step(p);
        segment_sweep(p);
        uint64_t end = atomic_load(&p->durable_end), began = uv_hrtime();
        long n = run_batch(p, end);
        /* Only a batch that caught up makes the next one wait: one stopped
         * by its size or time limit is followed at once. */
        p->linger_from = n > 0 && p->position >= end ? began : 0;
        if (n >= 0) {
            errors = 0;
            continue;
        }
        if (atomic_load(&p->failed))
            break; /* unreadable log: stay stopped, /readyz says so */
        rewind_reader(p);
        tly_log_error(p->lg, "pipeline batch failed; retrying", "error=\"%s\" attempt=%d",
                      tly_strerror((int)n), errors + 1);
        if (++errors >= STORE_RETRIES) {
            atomic_store(&p->failed, 1);
            tly_log_error(p->lg, "pipeline stopped after repeated state store errors", "%s", "");
            break;
        }
        uv_sleep(200u << errors);
    }
}

/* Runs SQLite checkpoints on a connection of its own, so the consumer's
 * commits never pay for them. */
static void checkpointer_main(void *arg)
{
    struct tly_pipeline *p = arg;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(p->db_path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        sqlite3_close(db);
        return;
    }
    sqlite3_busy_timeout(db, 1000);
    uv_mutex_lock(&p->mu);
    while (!p->stopping) {
        uv_cond_timedwait(&p->cond, &p->mu, (uint64_t)CHECKPOINT_EVERY_MS * 1000000);
        if (p->stopping)
            break;
        uv_mutex_unlock(&p->mu);
        sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        uv_mutex_lock(&p->mu);
    }
    uv_mutex_unlock(&p->mu);
    sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    sqlite3_close(db);
}

int tly_pipeline_start(struct tly_pipeline *p)
{
    p->last_retention = tly_now_ms(); /* not at start: restarts stay quick */
    if (uv_thread_create(&p->thread, consumer_main, p) != 0)
        return TLY_EIO;
    p->started = 1;
    if (uv_thread_create(&p->checkpointer, checkpointer_main, p) != 0) {
        tly_pipeline_stop(p);
        return TLY_EIO;
    }
    p->started = 2;
    return 0;
}

void tly_pipeline_notify(struct tly_pipeline *p, uint64_t end, uint64_t records)
{
    atomic_store(&p->durable_end, end);
    tly_counter_add(&p->records_known, records);
    uv_mutex_lock(&p->mu);
    uv_cond_broadcast(&p->cond);
    uv_mutex_unlock(&p->mu);
}

void tly_pipeline_stop(struct tly_pipeline *p)
{
    if (p == NULL)
        return;
    uv_mutex_lock(&p->mu);
    p->stopping = 1;
    uv_cond_broadcast(&p->cond);
    uv_mutex_unlock(&p->mu);
    if (p->started >= 1)
        uv_thread_join(&p->thread);
    if (p->started >= 2)
        uv_thread_join(&p->checkpointer);
    p->started = 0;
}

int tly_pipeline_running(const struct tly_pipeline *p)
{
    return !atomic_load(&((struct tly_pipeline *)p)->failed);
}

uint64_t tly_pipeline_position(const struct tly_pipeline *p)
{
    return atomic_load(&((struct tly_pipeline *)p)->pos_shared);
}

struct tly_event_index *tly_pipeline_event_index(const struct tly_pipeline *p)
{
    return tly_state_event_index(p->state);
}

void tly_pipeline_stats(const struct tly_pipeline *cp, struct tly_pipeline_stats *out)
{
    struct tly_pipeline *p = (struct tly_pipeline *)cp;
    out->records = tly_counter_get(&p->n_records);
    out->processed = tly_counter_get(&p->n_processed);
    out->duplicates = tly_counter_get(&p->n_duplicates);
    out->failed = tly_counter_get(&p->n_failed);
}

int tly_pipeline_metrics(const struct tly_pipeline *cp, struct tly_buf *b)
{
    struct tly_pipeline *p = (struct tly_pipeline *)cp;
    uint64_t pos = atomic_load(&p->pos_shared), end = atomic_load(&p->durable_end);
    uint64_t known = tly_counter_get(&p->records_known), done = tly_counter_get(&p->records_done);
    uint64_t lag_records = known > done ? known - done : 0;
    int64_t last = atomic_load(&p->last_received_at);
    double lag_s = lag_records > 0 && last > 0 ? (double)(tly_now_ms() - last) / 1000.0 : 0;
    int rc = tly_metrics_header(b, "tally_pipeline_running", "gauge",
                                "1 while the pipeline processes the log; 0 when it has stopped "
                                "on an error.");
    rc |= tly_metrics_sample(b, "tally_pipeline_running", "", tly_pipeline_running(p));
    rc |= tly_metrics_header(b, "tally_pipeline_position_bytes", "gauge",
                             "Log offset the pipeline has committed up to.");
    rc |= tly_metrics_sample(b, "tally_pipeline_position_bytes", "", (double)pos);
    rc |= tly_metrics_header(b, "tally_pipeline_lag_bytes", "gauge",
                             "Durable log bytes not yet processed.");
    rc |=
        tly_metrics_sample(b, "tally_pipeline_lag_bytes", "", end > pos ? (double)(end - pos) : 0);
    rc |= tly_metrics_header(b, "tally_pipeline_lag_records", "gauge",
                             "Durable log records not yet processed.");
    rc |= tly_metrics_sample(b, "tally_pipeline_lag_records", "", (double)lag_records);
    rc |= tly_metrics_header(b, "tally_pipeline_lag_seconds", "gauge",
                             "Age of the newest processed record while records wait; 0 when "
                             "caught up.");
    rc |= tly_metrics_sample(b, "tally_pipeline_lag_seconds", "", lag_s);
    rc |=
        tly_metrics_header(b, "tally_pipeline_records_total", "counter", "Log records processed.");
    rc |= tly_metrics_sample(b, "tally_pipeline_records_total", "",
                             (double)tly_counter_get(&p->n_records));
    rc |= tly_metrics_header(b, "tally_pipeline_events_total", "counter",
                             "Items by result: processed, duplicate or failed.");
    rc |= tly_metrics_sample(b, "tally_pipeline_events_total", "result=\"processed\"",
                             (double)tly_counter_get(&p->n_processed));
    rc |= tly_metrics_sample(b, "tally_pipeline_events_total", "result=\"duplicate\"",
                             (double)tly_counter_get(&p->n_duplicates));
    rc |= tly_metrics_sample(b, "tally_pipeline_events_total", "result=\"failed\"",
                             (double)tly_counter_get(&p->n_failed));
    rc |=
        tly_metrics_header(b, "tally_pipeline_failed_total", "counter", "Failed items by reason.");
    for (int r = 1; r < TLY_FAIL_REASON_COUNT; r++) {
        char labels[64];
        snprintf(labels, sizeof labels, "reason=\"%s\"", tly_fail_reason_name(r));
        rc |= tly_metrics_sample(b, "tally_pipeline_failed_total", labels,
                                 (double)tly_counter_get(&p->n_reason[r]));
    }
    rc |= tly_metrics_header(b, "tally_pipeline_replayed_total", "counter",
                             "Failed items run again by a replay.");
    rc |= tly_metrics_sample(b, "tally_pipeline_replayed_total", "",
                             (double)tly_counter_get(&p->n_replayed));
    rc |= tly_metrics_histogram(b, "tally_pipeline_batch_seconds",
                                "Time to process and commit one batch.", &p->batch_seconds);
    rc |= tly_metrics_histogram(b, "tally_pipeline_batch_records", "Records in one batch.",
                                &p->batch_records);
    struct tly_event_index_stats is;
    tly_event_index_stats(tly_state_event_index(p->state), &is);
    rc |= tly_metrics_header(b, "tally_event_index_entries", "gauge",
                             "Entries of the in-memory event index: kind=\"event\" per event "
                             "kept for dedupe, kind=\"user\" per user with such events.");
    rc |= tly_metrics_sample(b, "tally_event_index_entries", "kind=\"event\"", (double)is.events);
    rc |= tly_metrics_sample(b, "tally_event_index_entries", "kind=\"user\"", (double)is.users);
    rc |= tly_metrics_header(b, "tally_event_index_bytes", "gauge",
                             "Memory held by the in-memory event index.");
    rc |= tly_metrics_sample(b, "tally_event_index_bytes", "", (double)is.bytes);
    rc |= tly_engine_metrics(p->engine, b);
    rc |= tly_segments_metrics(p->segments, b);
    return rc ? TLY_ENOMEM : 0;
}

void tly_pipeline_close(struct tly_pipeline *p)
{
    if (p == NULL)
        return;
    tly_pipeline_stop(p);
    tly_log_reader_close(p->reader);
    if (p->pruning)
        tly_prune_free(&p->prune);
    tly_engine_close(p->engine);
    tly_segments_close(p->segments);
    tly_state_close(p->state);
    tly_items_free(&p->items);
    tly_pipeline_forget_settings(p);
    free(p->settings);
    free(p->hashes);
    free(p->log_dir);
    free(p->db_path);
    uv_mutex_destroy(&p->mu);
    uv_cond_destroy(&p->cond);
    free(p);
}
