/*
 * End-to-end tests of the pipeline (pipeline/pipeline.h) on a temporary
 * data directory, without HTTP: records are written into DIR/log with the
 * segment writer (log/segment.h, log/record.h) for tenant 1 (created first
 * in DIR/state.db so foreign keys hold), then tly_pipeline_catch_up runs
 * the consumer on this thread and the results are read back with SQL on
 * state.db and with store/queries.h.
 *
 * Covered: processed events land in `events` at their log offset; a resent
 * event_id is a duplicate; a batch with bad items stores each bad one in
 * `failed_events` (index, reason, field, raw item, event id) while its good
 * neighbours are processed; whole-record failures (invalid JSON, batch
 * envelope, unknown source) are stored with item -1; the consumer position
 * equals the log end; catching up again processes nothing (exactly once),
 * also across a close and reopen, and across several small transactions;
 * replay records ({"ids":[…]}) turn timestamp_too_old failures into events
 * after a longer horizon is saved, exactly once (status `replayed`), a
 * second replay does nothing, a replay before the fix counts an attempt,
 * a replayed batch item keeps its offset and index, and a tenant cannot
 * replay another tenant's items; require_registration makes unregistered
 * users' events fail with unknown_user until the user is registered and the
 * item replayed; a state-store error in the middle of a record rolls the
 * whole batch back (regression test for a bug in consumer.c, described above
 * the test); tly_pipeline_stats and the metrics count it all.
 *
 * Each test gets its own directory from mkdtemp under /tmp, removed by the
 * teardown.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/logger.h"
#include "log/record.h"
#include "log/segment.h"
#include "pipeline/pipeline.h"
#include "store/db.h"
#include "store/queries.h"
#include "store/settings.h"
#include "store/tenants.h"

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A source number no adapter is registered for (the whole record fails). */
#define TLY_SOURCE_UNADAPTED 99

#define R0  1717243200000LL /* 2024-06-01T12:00:00Z: receive time of the first record */
#define DAY (24LL * 3600 * 1000)

static const struct tly_logger quiet = {NULL, TLY_LOG_DEBUG};

/* ---- fixture ---- */

struct fx {
    char root[64];
    char log[96];
    char db[128];
    uint32_t tenant, other; /* tenant 1 and a second one */
    struct tly_segment_writer *w;
    struct tly_pipeline *p;
    int batch_events;
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->root, sizeof f->root, "/tmp/tally-test-pipeline-XXXXXX");
    if (mkdtemp(f->root) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->log, sizeof f->log, "%s/log", f->root);
    snprintf(f->db, sizeof f->db, "%s/state.db", f->root);
    f->batch_events = 100;
    *state = f;

    struct tly_db *db;
    struct tly_error err = {{0}};
    struct tly_tenant t;
    char wk[TLY_KEY_TEXT_MAX], ak[TLY_KEY_TEXT_MAX];
    if (tly_db_open(&db, f->db, &err) != 0)
        return -1;
    int rc = tly_tenant_create(db, "acme", &t, wk, ak, &err);
    f->tenant = t.id;
    if (rc == 0)
        rc = tly_tenant_create(db, "other", &t, wk, ak, &err);
    f->other = t.id;
    tly_db_close(db);
    if (rc != 0 || f->tenant != 1)
        return -1;

    struct tly_log_recovery rec;
    if (tly_segment_open(&f->w, f->log, 1 << 20, &quiet, &rec) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tly_pipeline_close(f->p);
    tly_segment_close(f->w);
    int rc = nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return rc;
}

/* ---- writing the log ---- */

/* Appends one record and syncs; returns its offset. */
static uint64_t append(struct fx *f, uint8_t source, uint8_t kind, uint32_t tenant,
                       int64_t received_at, const char *body)
{
    static const char meta[] = "{\"ip\":\"10.0.0.1\"}";
    struct tly_record r;
    memset(&r, 0, sizeof r);
    r.source = source;
    r.kind = kind;
    r.tenant = tenant;
    r.received_at = received_at;
    for (int i = 0; i < 16; i++)
        r.request_id[i] = (uint8_t)(received_at >> (i % 8)) ^ (uint8_t)i;
    r.meta = meta;
    r.meta_len = sizeof meta - 1;
    r.body = body;
    r.body_len = strlen(body);
    size_t len = tly_record_size(r.meta_len, r.body_len);
    uint8_t *buf = malloc(len);
    assert_non_null(buf);
    tly_record_encode(&r, buf);
    const uint8_t *recs[1] = {buf};
    uint64_t off = 0;
    assert_int_equal(tly_segment_write(f->w, recs, &len, 1, &off), 0);
    assert_int_equal(tly_segment_sync(f->w), 0);
    free(buf);
    return off;
}

/* A server event as JSON, into `out`. ts is in ms. */
static const char *event_json(char *out, size_t n, const char *id, const char *user, int64_t ts)
{
    snprintf(out, n,
             "{\"event_id\":\"%s\",\"event_name\":\"purchase\",\"user_id\":\"%s\","
             "\"timestamp\":%lld,\"event_properties\":{\"amount\":42,\"plan\":\"pro\"}}",
             id, user, (long long)ts);
    return out;
}

/* A single event of tenant 1 received at `at`, sent 1 s before. */
static uint64_t append_event(struct fx *f, const char *id, const char *user, int64_t at)
{
    char body[512];
    return append(f, TLY_SOURCE_SERVER, TLY_KIND_SINGLE, f->tenant, at,
                  event_json(body, sizeof body, id, user, at - 1000));
}

static uint64_t append_replay(struct fx *f, uint32_t tenant, int64_t at, const int64_t *ids,
                              size_t n)
{
    char body[256];
    size_t k = (size_t)snprintf(body, sizeof body, "{\"ids\":[");
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(body + k, sizeof body - k, "%s%lld", i ? "," : "", (long long)ids[i]);
    snprintf(body + k, sizeof body - k, "]}");
    return append(f, TLY_SOURCE_INTERNAL, TLY_KIND_REPLAY, tenant, at, body);
}

/* ---- running the pipeline ---- */

static void open_pipeline(struct fx *f)
{
    assert_null(f->p);
    struct tly_pipeline_config cfg = {
        .log_dir = f->log,
        .db_path = f->db,
        .log_retention_ms = 0,
        .batch_events = f->batch_events,
    };
    struct tly_error err = {{0}};
    int rc = tly_pipeline_open(&f->p, &cfg, &quiet, &err);
    if (rc != 0)
        fail_msg("tly_pipeline_open: %d %s", rc, err.msg);
}

static void close_pipeline(struct fx *f)
{
    tly_pipeline_close(f->p);
    f->p = NULL;
}

/* Catches up to the end of the log; returns the stats after. */
static struct tly_pipeline_stats catch_up(struct fx *f)
{
    if (f->p == NULL)
        open_pipeline(f);
    uint64_t end = tly_segment_end(f->w);
    int rc = tly_pipeline_catch_up(f->p, end);
    if (rc != 0)
        fail_msg("tly_pipeline_catch_up: %d (%s)", rc, tly_strerror(rc));
    assert_true(tly_pipeline_running(f->p));
    assert_true(tly_pipeline_position(f->p) == end);
    struct tly_pipeline_stats s;
    tly_pipeline_stats(f->p, &s);
    return s;
}

static void expect_stats(const struct tly_pipeline_stats *s, uint64_t records, uint64_t processed,
                         uint64_t duplicates, uint64_t failed)
{
    if (s->records != records || s->processed != processed || s->duplicates != duplicates ||
        s->failed != failed)
        fail_msg("stats records=%llu processed=%llu duplicates=%llu failed=%llu; expected "
                 "%llu/%llu/%llu/%llu",
                 (unsigned long long)s->records, (unsigned long long)s->processed,
                 (unsigned long long)s->duplicates, (unsigned long long)s->failed,
                 (unsigned long long)records, (unsigned long long)processed,
                 (unsigned long long)duplicates, (unsigned long long)failed);
}

/* ---- reading state.db (own connection) ---- */

static sqlite3 *db_open(struct fx *f)
{
    sqlite3 *h;
    if (sqlite3_open_v2(f->db, &h, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        fail_msg("open %s: %s", f->db, sqlite3_errmsg(h));
    sqlite3_busy_timeout(h, 5000);
    return h;
}

static int64_t q_int(struct fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int64_t q_int(struct fx *f, const char *fmt, ...)
{
    char sql[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    sqlite3 *h = db_open(f);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(h));
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
        fail_msg("%s: no row (%d)", sql, rc);
    int64_t v = sqlite3_column_type(s, 0) == SQLITE_NULL ? -999 : sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(h);
    return v;
}

/* The failed_events row of an event id (the only one). */
struct failed_row {
    int64_t id, offset, received_at, failed_at, replayed_at;
    int item, source, kind, attempts;
    char reason[32], field[64], status[16], raw[1024];
};

static struct failed_row failed_of(struct fx *f, const char *where)
{
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT id, log_offset, item, source, kind, reason, field, status, raw, "
             "received_at, failed_at, coalesce(replayed_at, 0), attempts FROM failed_events "
             "WHERE %s",
             where);
    sqlite3 *h = db_open(f);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(h));
    if (sqlite3_step(s) != SQLITE_ROW)
        fail_msg("no failed event where %s", where);
    struct failed_row r;
    memset(&r, 0, sizeof r);
    r.id = sqlite3_column_int64(s, 0);
    r.offset = sqlite3_column_int64(s, 1);
    r.item = sqlite3_column_int(s, 2);
    r.source = sqlite3_column_int(s, 3);
    r.kind = sqlite3_column_int(s, 4);
    snprintf(r.reason, sizeof r.reason, "%s", (const char *)sqlite3_column_text(s, 5));
    snprintf(r.field, sizeof r.field, "%s", (const char *)sqlite3_column_text(s, 6));
    snprintf(r.status, sizeof r.status, "%s", (const char *)sqlite3_column_text(s, 7));
    snprintf(r.raw, sizeof r.raw, "%.*s", sqlite3_column_bytes(s, 8),
             (const char *)sqlite3_column_blob(s, 8));
    r.received_at = sqlite3_column_int64(s, 9);
    r.failed_at = sqlite3_column_int64(s, 10);
    r.replayed_at = sqlite3_column_int64(s, 11);
    r.attempts = sqlite3_column_int(s, 12);
    if (sqlite3_step(s) != SQLITE_DONE)
        fail_msg("more than one failed event where %s", where);
    sqlite3_finalize(s);
    sqlite3_close(h);
    return r;
}

static struct failed_row failed_of_id(struct fx *f, const char *event_id)
{
    char where[160];
    snprintf(where, sizeof where, "event_id = '%s'", event_id);
    return failed_of(f, where);
}

static int has_event(struct fx *f, uint32_t tenant, const char *id, struct tly_event_status *out)
{
    sqlite3 *h = db_open(f);
    struct tly_event_status s, viaindex;
    int rc = tly_query_event(h, NULL, tenant, id, out ? out : &s);
    assert_true(rc == 0 || rc == TLY_ENOENT);
    if (f->p != NULL) {
        /* The pipeline's index finds the same row as the scan. */
        int rc2 = tly_query_event(h, tly_pipeline_event_index(f->p), tenant, id, &viaindex);
        assert_int_equal(rc2, rc);
        const struct tly_event_status *e = out ? out : &s;
        if (rc == 0) {
            assert_true(viaindex.offset == e->offset && viaindex.item == e->item);
            assert_true(viaindex.received_at == e->received_at &&
                        viaindex.duplicates == e->duplicates);
        }
    }
    sqlite3_close(h);
    return rc == 0;
}

static void save_settings(struct fx *f, uint32_t tenant, const char *json)
{
    struct tly_db *db;
    struct tly_error err = {{0}};
    assert_int_equal(tly_db_open(&db, f->db, &err), 0);
    struct tly_tenant_settings s;
    assert_int_equal(tly_settings_load(tly_db_sqlite(db), tenant, &s), 0);
    if (tly_settings_apply_json(&s, json, strlen(json), &err) != 0)
        fail_msg("settings %s: %s", json, err.msg);
    assert_int_equal(tly_settings_save(tly_db_sqlite(db), tenant, &s), 0);
    tly_db_close(db);
}

static void register_user(struct fx *f, uint32_t tenant, const char *user)
{
    sqlite3 *h = db_open(f);
    int created = -1;
    assert_int_equal(
        tly_store_user_register(h, tenant, user, "{\"tier\":\"gold\"}", R0 + 10 * DAY, &created),
        0);
    sqlite3_close(h);
}

/* ---- tests ---- */

static void test_processes_events(void **state)
{
    struct fx *f = *state;
    uint64_t off[3];
    off[0] = append_event(f, "e-1", "alice", R0);
    off[1] = append_event(f, "e-2", "bob", R0 + 1000);
    off[2] = append_event(f, "e-3", "alice", R0 + 2000);
    uint64_t end = tly_segment_end(f->w);

    struct tly_pipeline_stats s = catch_up(f);
    expect_stats(&s, 3, 3, 0, 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM events"), 3);
    assert_int_equal(q_int(f, "SELECT count(*) FROM failed_events"), 0);
    static const char *const ids[] = {"e-1", "e-2", "e-3"};
    for (int i = 0; i < 3; i++) {
        struct tly_event_status es;
        assert_true(has_event(f, 1, ids[i], &es));
        assert_true(es.offset == off[i]);
        assert_int_equal(es.item, 0);
        assert_true(es.received_at == R0 + i * 1000);
        assert_true(es.timestamp == R0 + i * 1000 - 1000);
        assert_true(es.duplicates == 0);
    }
    assert_int_equal(q_int(f, "SELECT count(*) FROM events WHERE tenant_id = 1 AND "
                              "user_id = 'alice' AND event_name = 'purchase'"),
                     2);
    /* Users are created by their events (not registered). */
    assert_int_equal(q_int(f, "SELECT count(*) FROM users WHERE tenant_id = 1"), 2);
    assert_int_equal(q_int(f, "SELECT sum(registered) FROM users"), 0);
    /* The committed position is the end of the log. */
    assert_int_equal(q_int(f, "SELECT position FROM consumers WHERE name = 'pipeline'"),
                     (int64_t)end);
    assert_true(tly_pipeline_position(f->p) == end);
}

static void test_resent_event_is_duplicate(void **state)
{
    struct fx *f = *state;
    uint64_t first = append_event(f, "e-1", "alice", R0);
    append_event(f, "e-1", "alice", R0 + 1000);
    append_event(f, "e-1", "alice", R0 + 5000);
    append_event(f, "e-2", "alice", R0 + 6000);
    struct tly_pipeline_stats s = catch_up(f);
    expect_stats(&s, 4, 2, 2, 0);
    struct tly_event_status es;
    assert_true(has_event(f, 1, "e-1", &es));
    assert_true(es.duplicates == 2);
    assert_true(es.last_duplicate_at == R0 + 5000);
    assert_true(es.offset == first);
    assert_true(es.received_at == R0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM events"), 2);

    /* The same id under the other tenant is its own event. */
    char body[512];
    append(f, TLY_SOURCE_SERVER, TLY_KIND_SINGLE, f->other, R0 + 7000,
           event_json(body, sizeof body, "e-1", "alice", R0));
    s = catch_up(f);
    expect_stats(&s, 5, 3, 2, 0);
    assert_true(has_event(f, f->other, "e-1", &es));
    assert_true(es.duplicates == 0);

    /* Past the tenant's dedupe window (set to 10 s) the id is new again. */
    save_settings(f, 1, "{\"dedupe_window_seconds\":10}");
    append_event(f, "e-1", "alice", R0 + 10000);
    s = catch_up(f);
    expect_stats(&s, 6, 4, 2, 0);
    assert_true(has_event(f, 1, "e-1", &es));
    assert_true(es.received_at == R0 + 10000);
    assert_true(es.duplicates == 0);
}

/* Collects the item index of each failed event tly_query_failed hands over. */
struct seen {
    int n;
    int items[10];
};

static int collect_items(const struct tly_failed_view *v, void *arg)
{
    struct seen *seen = arg;
    if (seen->n < 10)
        seen->items[seen->n] = v->item;
    seen->n++;
    return 0;
}

static void test_batch_with_bad_items(void **state)
{
    struct fx *f = *state;
    char e0[512], e2[512], e7[512];
    char body[4096];
    snprintf(body, sizeof body,
             "{\"events\":[%s,"
             /* 1: no user_id */
             "{\"event_id\":\"b-1\",\"event_name\":\"n\",\"timestamp\":%lld,"
             "\"event_properties\":{}},"
             "%s,"
             /* 3: 31 days old */
             "{\"event_id\":\"b-3\",\"event_name\":\"n\",\"user_id\":\"u\",\"timestamp\":%lld,"
             "\"event_properties\":{}},"
             /* 4: 2 days in the future */
             "{\"event_id\":\"b-4\",\"event_name\":\"n\",\"user_id\":\"u\",\"timestamp\":%lld,"
             "\"event_properties\":{}},"
             /* 5: not UTF-8 in a property */
             "{\"event_id\":\"b-5\",\"event_name\":\"n\",\"user_id\":\"u\",\"timestamp\":%lld,"
             "\"event_properties\":{\"city\":\"Z\xfcrich\"}},"
             /* 6: not an object */
             "7,"
             "%s]}",
             event_json(e0, sizeof e0, "b-0", "alice", R0 - 1000), R0,
             event_json(e2, sizeof e2, "b-2", "bob", R0 - 2000), R0 - 31 * DAY, R0 + 2 * DAY, R0,
             event_json(e7, sizeof e7, "b-7", "carol", R0));
    uint64_t off = append(f, TLY_SOURCE_SERVER, TLY_KIND_BATCH, f->tenant, R0, body);

    struct tly_pipeline_stats s = catch_up(f);
    expect_stats(&s, 1, 3, 0, 5);

    /* The good neighbours, at their index. */
    static const struct {
        const char *id;
        int item;
    } good[] = {{"b-0", 0}, {"b-2", 2}, {"b-7", 7}};
    for (int i = 0; i < 3; i++) {
        struct tly_event_status es;
        if (!has_event(f, 1, good[i].id, &es))
            fail_msg("%s was not processed", good[i].id);
        assert_true(es.offset == off);
        assert_int_equal(es.item, good[i].item);
    }
    assert_int_equal(q_int(f, "SELECT count(*) FROM events"), 3);

    /* Each bad one, with index, reason, field and its own raw JSON. */
    static const struct {
        const char *id;
        int item;
        const char *reason, *field;
    } bad[] = {
        {"b-1", 1, "missing_field", "user_id"},
        {"b-3", 3, "timestamp_too_old", "timestamp"},
        {"b-4", 4, "timestamp_in_future", "timestamp"},
        /* validate.c names the canonical field, not the server API's */
        {"b-5", 5, "invalid_utf8", "properties"},
    };
    assert_int_equal(q_int(f, "SELECT count(*) FROM failed_events"), 5);
    for (int i = 0; i < 4; i++) {
        struct failed_row r = failed_of_id(f, bad[i].id);
        assert_int_equal(r.item, bad[i].item);
        assert_true(r.offset == (int64_t)off);
        assert_string_equal(r.reason, bad[i].reason);
        assert_string_equal(r.field, bad[i].field);
        assert_string_equal(r.status, "failed");
        assert_int_equal(r.source, TLY_SOURCE_SERVER);
        assert_int_equal(r.kind, TLY_KIND_BATCH);
        assert_true(r.received_at == R0);
        assert_int_equal(r.attempts, 1);
        assert_true(r.replayed_at == 0);
        /* raw is the item alone, not the whole batch. */
        char needle[32];
        snprintf(needle, sizeof needle, "\"event_id\":\"%s\"", bad[i].id);
        assert_non_null(strstr(r.raw, needle));
        assert_null(strstr(r.raw, "\"events\""));
        assert_null(strstr(r.raw, "b-0"));
    }
    struct failed_row r = failed_of(f, "event_id IS NULL");
    assert_int_equal(r.item, 6);
    assert_string_equal(r.reason, "invalid_type");
    assert_string_equal(r.raw, "7");

    /* The same through the management query, newest first. */
    sqlite3 *h = db_open(f);
    struct tly_failed_filter flt = {.source = -1, .limit = 10};
    struct seen seen = {0, {0}};
    assert_int_equal(tly_query_failed(h, 1, &flt, collect_items, &seen), 0);
    assert_int_equal(seen.n, 5);
    static const int newest_first[] = {6, 5, 4, 3, 1};
    for (int i = 0; i < 5; i++)
        assert_int_equal(seen.items[i], newest_first[i]);
    /* Nothing for the other tenant. */
    seen.n = 0;
    assert_int_equal(tly_query_failed(h, f->other, &flt, collect_items, &seen), 0);
    assert_int_equal(seen.n, 0);
    sqlite3_close(h);
}

static void test_whole_record_failures(void **state)
{
    struct fx *f = *state;
    uint64_t o1 = append(f, TLY_SOURCE_SERVER, TLY_KIND_SINGLE, f->tenant, R0, "{\"event_id\":");
    uint64_t o2 =
        append(f, TLY_SOURCE_SERVER, TLY_KIND_BATCH, f->tenant, R0 + 1, "{\"events\":[]}");
    uint64_t o3 =
        append(f, TLY_SOURCE_UNADAPTED, TLY_KIND_SINGLE, f->tenant, R0 + 2, "{\"anything\":1}");
    append_event(f, "after", "alice", R0 + 3);

    struct tly_pipeline_stats s = catch_up(f);
    expect_stats(&s, 4, 1, 0, 3);
    assert_true(has_event(f, 1, "after", NULL));

    struct failed_row r = failed_of(f, "reason = 'invalid_json'");
    assert_int_equal(r.item, -1);
    assert_true(r.offset == (int64_t)o1);
    assert_string_equal(r.raw, "{\"event_id\":"); /* the body as sent */
    r = failed_of(f, "reason = 'missing_field'");
    assert_int_equal(r.item, -1);
    assert_true(r.offset == (int64_t)o2);
    assert_string_equal(r.field, "events");
    assert_string_equal(r.raw, "{\"events\":[]}");
    r = failed_of(f, "reason = 'unknown_source'");
    assert_int_equal(r.item, -1);
    assert_true(r.offset == (int64_t)o3);
    assert_int_equal(r.source, TLY_SOURCE_UNADAPTED);
    assert_string_equal(r.raw, "{\"anything\":1}");
}

static void test_exactly_once(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < 5; i++) {
        char id[16];
        snprintf(id, sizeof id, "e-%d", i);
        append_event(f, id, "alice", R0 + i);
    }
    append(f, TLY_SOURCE_SERVER, TLY_KIND_SINGLE, f->tenant, R0 + 10, "not json");
    uint64_t end = tly_segment_end(f->w);
    struct tly_pipeline_stats s = catch_up(f);
    expect_stats(&s, 6, 5, 0, 1);

    /* Again: nothing is read, nothing changes. */
    s = catch_up(f);
    expect_stats(&s, 6, 5, 0, 1);
    assert_int_equal(tly_pipeline_catch_up(f->p, end), 0);
    tly_pipeline_stats(f->p, &s);
    expect_stats(&s, 6, 5, 0, 1);
    assert_int_equal(q_int(f, "SELECT count(*) FROM events"), 5);
    assert_int_equal(q_int(f, "SELECT count(*) FROM failed_events"), 1);
    assert_int_equal(q_int(f, "SELECT sum(duplicates) FROM events"), 0);

    /* Reopened: continues from the committed position, reprocesses
     * nothing. */
    close_pipeline(f);
    open_pipeline(f);
    assert_true(tly_pipeline_position(f->p) == end);
    s = catch_up(f);
    expect_stats(&s, 0, 0, 0, 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM events"), 5);
    assert_int_equal(q_int(f, "SELECT count(*) FROM failed_events"), 1);

    /* New records after the reopen: only they are processed. */
    append_event(f, "e-5", "bob", R0 + 100);
    append_event(f, "e-0", "bob", R0 + 101); /* a resend: duplicate */
    s = catch_up(f);
    expect_stats(&s, 2, 1, 1, 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM events"), 6);
    assert_int_equal(q_int(f, "SELECT position FROM consumers WHERE name = 'pipeline'"),
                     (int64_t)tly_segment_end(f->w));
}

static void test_partial_catch_up_then_reopen(void **state)
{
    struct fx *f = *state;
    f->batch_events = 2; /* several transactions */
    uint64_t off[7];
    for (int i = 0; i < 7; i++) {
        char id[16];
        snprintf(id, sizeof id, "p-%d", i);
        off[i] = append_event(f, id, "alice", R0 + i);
    }
    uint64_t end = tly_segment_end(f->w);

    /* Up to the start of record 4: records 0..3. */
    open_pipeline(f);
    assert_int_equal(tly_pipeline_catch_up(f->p, off[4]), 0);
    assert_true(tly_pipeline_position(f->p) == off[4]);
    struct tly_pipeline_stats s;
    tly_pipeline_stats(f->p, &s);
    expect_stats(&s, 4, 4, 0, 0);
    assert_int_equal(q_int(f, "SELECT position FROM consumers WHERE name = 'pipeline'"),
                     (int64_t)off[4]);
    /* A limit in the middle of record 4 does not read it ... */
    assert_int_equal(tly_pipeline_catch_up(f->p, off[5] - 1), 0);
    tly_pipeline_stats(f->p, &s);
    expect_stats(&s, 4, 4, 0, 0);
    assert_true(tly_pipeline_position(f->p) == off[4]);
    /* ... a limit at its end does. */
    assert_int_equal(tly_pipeline_catch_up(f->p, off[5]), 0);
    tly_pipeline_stats(f->p, &s);
    expect_stats(&s, 5, 5, 0, 0);
    assert_true(tly_pipeline_position(f->p) == off[5]);
    close_pipeline(f);

    open_pipeline(f);
    assert_true(tly_pipeline_position(f->p) == off[5]);
    s = catch_up(f);
    expect_stats(&s, 2, 2, 0, 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM events"), 7);
    assert_int_equal(q_int(f, "SELECT sum(duplicates) FROM events"), 0);
    assert_int_equal(q_int(f, "SELECT position FROM consumers WHERE name = 'pipeline'"),
                     (int64_t)end);
}

static void test_replay_after_longer_horizon(void **state)
{
    struct fx *f = *state;
    append_event(f, "fresh", "alice", R0);
    char body[512];
    /* Received at R0 + 1 s, sent 40 days before: too old for 30 days. */
    uint64_t old_off = append(f, TLY_SOURCE_SERVER, TLY_KIND_SINGLE, f->tenant, R0 + 1000,
                              event_json(body, sizeof body, "old", "bob", R0 - 40 * DAY));
    struct tly_pipeline_stats s = catch_up(f);
    expect_stats(&s, 2, 1, 0, 1);
    struct failed_row r = failed_of_id(f, "old");
    assert_string_equal(r.reason, "timestamp_too_old");
    assert_false(has_event(f, 1, "old", NULL));

    /* Replaying before anything changed: fails again, one more attempt. */
    append_replay(f, f->tenant, R0 + 2000, &r.id, 1);
    s = catch_up(f);
    expect_stats(&s, 3, 1, 0, 2);
    struct failed_row again = failed_of_id(f, "old");
    assert_string_equal(again.status, "failed");
    assert_string_equal(again.reason, "timestamp_too_old");
    assert_int_equal(again.attempts, 2);
    assert_false(has_event(f, 1, "old", NULL));

    /* A 60-day horizon, saved while the pipeline is open, then a replay. */
    save_settings(f, f->tenant, "{\"timestamp_horizon_seconds\":5184000}");
    append_replay(f, f->tenant, R0 + 3000, &r.id, 1);
    s = catch_up(f);
    expect_stats(&s, 4, 2, 0, 2);
    struct tly_event_status es;
    assert_true(has_event(f, 1, "old", &es));
    /* Where it is in the log, and its original times. */
    assert_true(es.offset == old_off);
    assert_int_equal(es.item, 0);
    assert_true(es.received_at == R0 + 1000);
    assert_true(es.timestamp == R0 - 40 * DAY);
    struct failed_row done = failed_of_id(f, "old");
    assert_string_equal(done.status, "replayed");
    assert_true(done.replayed_at > 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM users WHERE user_id = 'bob'"), 1);

    /* A second replay of the same id does nothing. */
    append_replay(f, f->tenant, R0 + 4000, &r.id, 1);
    s = catch_up(f);
    expect_stats(&s, 5, 2, 0, 2);
    struct failed_row still = failed_of_id(f, "old");
    assert_string_equal(still.status, "replayed");
    assert_true(still.replayed_at == done.replayed_at);
    assert_int_equal(still.attempts, done.attempts);
    assert_true(has_event(f, 1, "old", &es));
    assert_true(es.duplicates == 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM events"), 2);

    /* And after a reopen nothing is replayed twice either. */
    close_pipeline(f);
    s = catch_up(f);
    expect_stats(&s, 0, 0, 0, 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM events"), 2);
}

static void test_replay_batch_item_keeps_its_index(void **state)
{
    struct fx *f = *state;
    char e0[512], e1[512], e2[512], body[2048];
    snprintf(body, sizeof body, "{\"events\":[%s,%s,%s]}",
             event_json(e0, sizeof e0, "q-0", "alice", R0),
             event_json(e1, sizeof e1, "q-1", "alice", R0 - 50 * DAY),
             event_json(e2, sizeof e2, "q-2", "alice", R0 + 5 * DAY));
    uint64_t off = append(f, TLY_SOURCE_SERVER, TLY_KIND_BATCH, f->tenant, R0, body);
    struct tly_pipeline_stats s = catch_up(f);
    expect_stats(&s, 1, 1, 0, 2);
    int64_t ids[2] = {failed_of_id(f, "q-1").id, failed_of_id(f, "q-2").id};

    /* A longer horizon fixes q-1; q-2 is still in the future. */
    save_settings(f, f->tenant, "{\"timestamp_horizon_seconds\":5184000}");
    append_replay(f, f->tenant, R0 + 100, ids, 2);
    s = catch_up(f);
    expect_stats(&s, 2, 2, 0, 3);
    struct tly_event_status es;
    assert_true(has_event(f, 1, "q-1", &es));
    assert_true(es.offset == off);
    assert_int_equal(es.item, 1);
    assert_true(es.received_at == R0);
    assert_string_equal(failed_of_id(f, "q-1").status, "replayed");
    struct failed_row r2 = failed_of_id(f, "q-2");
    assert_string_equal(r2.status, "failed");
    assert_string_equal(r2.reason, "timestamp_in_future");
    assert_int_equal(r2.attempts, 2);
    assert_false(has_event(f, 1, "q-2", NULL));
}

static void test_replay_several_and_unknown_ids(void **state)
{
    struct fx *f = *state;
    char body[512];
    for (int i = 0; i < 3; i++) {
        char id[16];
        snprintf(id, sizeof id, "old-%d", i);
        append(f, TLY_SOURCE_SERVER, TLY_KIND_SINGLE, f->tenant, R0 + i,
               event_json(body, sizeof body, id, "bob", R0 - (35 + i) * DAY));
    }
    struct tly_pipeline_stats s = catch_up(f);
    expect_stats(&s, 3, 0, 0, 3);
    int64_t ids[5];
    ids[0] = failed_of_id(f, "old-0").id;
    ids[1] = 999999; /* no such failed event */
    ids[2] = failed_of_id(f, "old-2").id;
    ids[3] = failed_of_id(f, "old-0").id; /* twice in one replay */
    ids[4] = -4;
    save_settings(f, f->tenant, "{\"timestamp_horizon_seconds\":3456000}"); /* 40 days */
    append_replay(f, f->tenant, R0 + 100, ids, 5);
    s = catch_up(f);
    expect_stats(&s, 4, 2, 0, 3);
    assert_true(has_event(f, 1, "old-0", NULL));
    assert_false(has_event(f, 1, "old-1", NULL)); /* not named */
    assert_true(has_event(f, 1, "old-2", NULL));
    assert_string_equal(failed_of_id(f, "old-0").status, "replayed");
    assert_string_equal(failed_of_id(f, "old-1").status, "failed");
    assert_string_equal(failed_of_id(f, "old-2").status, "replayed");

    /* A malformed replay record is skipped; the pipeline carries on. */
    append(f, TLY_SOURCE_INTERNAL, TLY_KIND_REPLAY, f->tenant, R0 + 200, "{\"ids\":7}");
    append(f, TLY_SOURCE_INTERNAL, TLY_KIND_REPLAY, f->tenant, R0 + 201, "nope");
    append_event(f, "after", "bob", R0 + 300);
    s = catch_up(f);
    expect_stats(&s, 7, 3, 0, 3);
    assert_true(has_event(f, 1, "after", NULL));
}

static void test_replay_is_per_tenant(void **state)
{
    struct fx *f = *state;
    char body[512];
    append(f, TLY_SOURCE_SERVER, TLY_KIND_SINGLE, f->tenant, R0,
           event_json(body, sizeof body, "old", "bob", R0 - 45 * DAY));
    catch_up(f);
    int64_t id = failed_of_id(f, "old").id;
    save_settings(f, f->tenant, "{\"timestamp_horizon_seconds\":5184000}");
    save_settings(f, f->other, "{\"timestamp_horizon_seconds\":5184000}");

    /* The other tenant names tenant 1's failed item: nothing happens. */
    append_replay(f, f->other, R0 + 100, &id, 1);
    struct tly_pipeline_stats s = catch_up(f);
    expect_stats(&s, 2, 0, 0, 1);
    assert_string_equal(failed_of_id(f, "old").status, "failed");
    assert_false(has_event(f, 1, "old", NULL));
    assert_false(has_event(f, f->other, "old", NULL));

    /* Its own tenant can. */
    append_replay(f, f->tenant, R0 + 200, &id, 1);
    s = catch_up(f);
    expect_stats(&s, 3, 1, 0, 1);
    assert_true(has_event(f, 1, "old", NULL));
}

static void test_require_registration(void **state)
{
    struct fx *f = *state;
    /* carol's user row is created by an event before registration is
     * required: that does not register her. */
    append_event(f, "c-1", "carol", R0);
    struct tly_pipeline_stats s = catch_up(f);
    expect_stats(&s, 1, 1, 0, 0);

    save_settings(f, f->tenant, "{\"require_registration\":true}");
    register_user(f, f->tenant, "bob");
    register_user(f, f->other, "alice"); /* registered, but with the other tenant */
    append_event(f, "a-1", "alice", R0 + 1000);
    append_event(f, "b-1", "bob", R0 + 2000);
    append_event(f, "c-2", "carol", R0 + 3000);
    s = catch_up(f);
    expect_stats(&s, 4, 2, 0, 2);
    assert_true(has_event(f, 1, "b-1", NULL));
    assert_false(has_event(f, 1, "a-1", NULL));
    assert_false(has_event(f, 1, "c-2", NULL));
    struct failed_row ra = failed_of_id(f, "a-1");
    assert_string_equal(ra.reason, "unknown_user");
    assert_string_equal(ra.field, "user_id");
    struct failed_row rc = failed_of_id(f, "c-2");
    assert_string_equal(rc.reason, "unknown_user");

    /* Only the other tenant requires nothing: its alice is fine. */
    char body[512];
    append(f, TLY_SOURCE_SERVER, TLY_KIND_SINGLE, f->other, R0 + 3500,
           event_json(body, sizeof body, "x-1", "zed", R0));
    s = catch_up(f);
    expect_stats(&s, 5, 3, 0, 2);
    assert_true(has_event(f, f->other, "x-1", NULL));

    /* alice registers; replaying her event processes it. */
    register_user(f, f->tenant, "alice");
    int64_t ids[2] = {ra.id, rc.id};
    append_replay(f, f->tenant, R0 + 4000, ids, 2);
    s = catch_up(f);
    expect_stats(&s, 6, 4, 0, 3); /* alice's now counts; carol's fails again */
    assert_true(has_event(f, 1, "a-1", NULL));
    assert_string_equal(failed_of_id(f, "a-1").status, "replayed");
    struct failed_row rc2 = failed_of_id(f, "c-2");
    assert_string_equal(rc2.status, "failed");
    assert_int_equal(rc2.attempts, 2);

    /* New events of alice now pass directly. */
    append_event(f, "a-2", "alice", R0 + 5000);
    s = catch_up(f);
    expect_stats(&s, 7, 5, 0, 3);
    assert_true(has_event(f, 1, "a-2", NULL));
    assert_int_equal(q_int(f, "SELECT registered FROM users WHERE tenant_id = 1 AND "
                              "user_id = 'alice'"),
                     1);
}

static void exec_sql(struct fx *f, const char *sql)
{
    sqlite3 *h = db_open(f);
    char *msg = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
    sqlite3_close(h);
}

/* A state-store error in the middle of a record (here: a trigger makes the
 * insert of event "boom" fail, as SQLITE_FULL or an I/O error would) must
 * roll the batch back and leave the position where it was, so the record
 * is done again, whole, once the store works (consumer.c's own contract:
 * "On a store error the transaction is rolled back and the reader goes back
 * to the committed position"). The state store reports SQL failures as
 * TLY_EIO, which run_batch() in consumer.c takes for a log *read* error
 * (read_error = rc == TLY_ECORRUPT || rc == TLY_EIO): it commits the
 * partial batch with the position past the failing record and enters
 * FAILED, so the rest of that record is lost. */
static void test_store_error_mid_record_rolls_back(void **state)
{
    struct fx *f = *state;
    char e[3][512], body[2048];
    append_event(f, "e-1", "alice", R0);
    snprintf(body, sizeof body, "{\"events\":[%s,%s,%s]}",
             event_json(e[0], sizeof e[0], "e-2", "alice", R0),
             event_json(e[1], sizeof e[1], "boom", "alice", R0),
             event_json(e[2], sizeof e[2], "e-4", "alice", R0));
    append(f, TLY_SOURCE_SERVER, TLY_KIND_BATCH, f->tenant, R0 + 1, body);
    append_event(f, "e-5", "alice", R0 + 2);
    uint64_t end = tly_segment_end(f->w);

    open_pipeline(f);
    exec_sql(f, "CREATE TRIGGER boom BEFORE INSERT ON events WHEN NEW.event_id = 'boom' "
                "BEGIN SELECT RAISE(ABORT, 'injected store failure'); END");
    int rc = tly_pipeline_catch_up(f->p, end);
    assert_true(rc < 0);
    /* Nothing of the failed batch is committed; the position has not
     * moved; the pipeline is not FAILED (the log is fine). */
    assert_int_equal(q_int(f, "SELECT count(*) FROM consumers WHERE position > 0"), 0);
    assert_int_equal(q_int(f, "SELECT count(*) FROM events"), 0);
    assert_true(tly_pipeline_running(f->p));

    /* The store works again: everything is processed, exactly once, also
     * across a restart. */
    exec_sql(f, "DROP TRIGGER boom");
    close_pipeline(f);
    struct tly_pipeline_stats st = catch_up(f);
    expect_stats(&st, 3, 5, 0, 0); /* all three records, all five events */
    static const char *const ids[] = {"e-1", "e-2", "boom", "e-4", "e-5"};
    for (int i = 0; i < 5; i++)
        if (!has_event(f, 1, ids[i], NULL))
            fail_msg("%s was never processed", ids[i]);
    assert_int_equal(q_int(f, "SELECT count(*) FROM events"), 5);
    assert_int_equal(q_int(f, "SELECT sum(duplicates) FROM events"), 0);
    assert_int_equal(q_int(f, "SELECT position FROM consumers WHERE name = 'pipeline'"),
                     (int64_t)end);
}

static void test_stats_and_metrics(void **state)
{
    struct fx *f = *state;
    open_pipeline(f);
    struct tly_pipeline_stats s;
    tly_pipeline_stats(f->p, &s);
    expect_stats(&s, 0, 0, 0, 0);
    /* An empty log: catch-up is a no-op. */
    assert_int_equal(tly_pipeline_catch_up(f->p, 0), 0);
    tly_pipeline_stats(f->p, &s);
    expect_stats(&s, 0, 0, 0, 0);

    append_event(f, "s-1", "alice", R0);
    append_event(f, "s-1", "alice", R0 + 1);
    append(f, TLY_SOURCE_SERVER, TLY_KIND_SINGLE, f->tenant, R0 + 2, "[");
    char b1[512], b2[512], body[1200];
    snprintf(body, sizeof body, "{\"events\":[%s,%s,{}]}",
             event_json(b1, sizeof b1, "s-2", "bob", R0),
             event_json(b2, sizeof b2, "s-1", "x", R0));
    append(f, TLY_SOURCE_SERVER, TLY_KIND_BATCH, f->tenant, R0 + 3, body);
    s = catch_up(f);
    /* records 4; s-1, s-2 processed; s-1 twice more duplicate; "[" and {}
     * failed. */
    expect_stats(&s, 4, 2, 2, 2);

    struct tly_buf m;
    tly_buf_init(&m, 0);
    assert_int_equal(tly_pipeline_metrics(f->p, &m), 0);
    assert_int_equal(tly_buf_append(&m, "", 1), 0);
    assert_non_null(strstr(m.data, "tally_pipeline_records_total 4"));
    assert_non_null(strstr(m.data, "tally_pipeline_events_total{result=\"processed\"} 2"));
    assert_non_null(strstr(m.data, "tally_pipeline_events_total{result=\"duplicate\"} 2"));
    assert_non_null(strstr(m.data, "tally_pipeline_events_total{result=\"failed\"} 2"));
    assert_non_null(strstr(m.data, "tally_pipeline_failed_total{reason=\"invalid_json\"} 1"));
    assert_non_null(strstr(m.data, "tally_pipeline_failed_total{reason=\"missing_field\"} 1"));
    assert_non_null(strstr(m.data, "tally_pipeline_running 1"));
    assert_non_null(strstr(m.data, "tally_pipeline_lag_bytes 0"));
    tly_buf_free(&m);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_processes_events),
        T(test_resent_event_is_duplicate),
        T(test_batch_with_bad_items),
        T(test_whole_record_failures),
        T(test_exactly_once),
        T(test_partial_catch_up_then_reopen),
        T(test_replay_after_longer_horizon),
        T(test_replay_batch_item_keeps_its_index),
        T(test_replay_several_and_unknown_ids),
        T(test_replay_is_per_tenant),
        T(test_require_registration),
        T(test_store_error_mid_record_rolls_back),
        T(test_stats_and_metrics),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
