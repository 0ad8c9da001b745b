/*
 * The fixture of the engine's unit tests (test_engine.c, test_merge.c): a
 * fresh state.db in its own directory under /tmp, campaigns stored with
 * store/campaigns.h, events applied inside transactions flushed and
 * committed as the pipeline does, and readers of the committed rows.
 *
 * Include after cmocka.h, with ENGINE_FIXTURE_NAME defined to a string
 * that names the test in its directory's name.
 */
#ifndef TLY_TEST_ENGINE_FIXTURE_H
#define TLY_TEST_ENGINE_FIXTURE_H

#include "core/json.h"
#include "core/timeparse.h"
#include "engine/campaign.h"
#include "engine/engine.h"
#include "engine/progress.h"
#include "store/campaigns.h"
#include "store/db.h"
#include "store/progress.h"

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct tly_logger quiet = {NULL, TLY_LOG_DEBUG};

#define MAX_CAMPAIGNS 8

struct fx {
    char root[64];
    char path[128];
    struct tly_db *db;
    sqlite3 *h;
    struct tly_engine *e;
    size_t cache_bytes;
    struct {
        struct tly_campaign *c;
        int64_t uid;
    } camp[MAX_CAMPAIGNS];
    int ncamp;
    int seq; /* event ids */
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
    snprintf(f->root, sizeof f->root, "/tmp/tally-test-" ENGINE_FIXTURE_NAME "-XXXXXX");
    if (mkdtemp(f->root) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/state.db", f->root);
    struct tly_error err = {{0}};
    if (tly_db_open(&f->db, f->path, &err) != 0)
        return -1;
    f->h = tly_db_sqlite(f->db);
    if (sqlite3_exec(f->h,
                     "INSERT INTO tenants (id, name, created_at) VALUES (1, 'a', 0), (2, 'b', 0)",
                     NULL, NULL, NULL) != SQLITE_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tly_engine_close(f->e);
    for (int i = 0; i < f->ncamp; i++)
        tly_campaign_free(f->camp[i].c);
    tly_db_close(f->db);
    int rc = nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return rc;
}

static int64_t T(const char *iso)
{
    int64_t ms;
    struct tly_error err;
    if (tly_time_parse(iso, strlen(iso), &ms, "t", &err) != 0)
        fail_msg("bad time %s: %s", iso, err.msg);
    return ms;
}

/* Stores a campaign (tenant 1; `definition` without a name) and (re)loads the engine's definitions;
 * returns its index in f->camp. */
static int add_campaign(struct fx *f, const char *definition)
{
    char json[2048]; /* the definition with a name */
    snprintf(json, sizeof json, "{\"name\":\"test\",%s", definition + 1);
    struct tly_error err = {{0}};
    struct tly_campaign *c;
    int rc = tly_campaign_parse(json, strlen(json), &c, &err);
    if (rc != 0)
        fail_msg("campaign: %s: %s", err.field, err.msg);
    struct tly_buf canon;
    tly_buf_init(&canon, 0);
    assert_int_equal(tly_campaign_to_json(c, &canon), 0);
    assert_int_equal(tly_buf_append(&canon, "", 1), 0);
    int64_t uid;
    assert_int_equal(tly_campaign_create(f->h, 1, c->id, canon.data, 1, &uid), 0);
    tly_buf_free(&canon);
    assert_true(f->ncamp < MAX_CAMPAIGNS);
    f->camp[f->ncamp].c = c;
    f->camp[f->ncamp].uid = uid;
    if (f->e == NULL)
        assert_int_equal(tly_engine_open(&f->e, f->h, &quiet, f->cache_bytes), 0);
    else
        assert_int_equal(tly_engine_reload(f->e), 0);
    return f->ncamp++;
}

static void begin(struct fx *f)
{
    assert_int_equal(sqlite3_exec(f->h, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
}

static void commit(struct fx *f)
{
    assert_int_equal(tly_engine_flush(f->e), 0);
    assert_int_equal(sqlite3_exec(f->h, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    tly_engine_committed(f->e);
}

static void rollback(struct fx *f)
{
    assert_int_equal(sqlite3_exec(f->h, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    tly_engine_drop(f->e);
}

/* Applies one track event inside the open transaction. */
static void event_in(struct fx *f, const char *user, const char *name, int64_t ts,
                     int64_t received_at, const char *props)
{
    char id[32];
    snprintf(id, sizeof id, "ev-%d", ++f->seq);
    struct tly_error err;
    cJSON *p = tly_json_parse(props, strlen(props), &err);
    assert_non_null(p);
    struct tly_event ev = {
        .kind = TLY_EVENT_TRACK,
        .tenant = 1,
        .event_id = id,
        .event_name = name,
        .user_id = user,
        .timestamp = ts,
        .received_at = received_at,
        .properties = p,
    };
    assert_int_equal(tly_engine_event(f->e, &ev), 0);
    cJSON_Delete(p);
}

/* One event in a transaction of its own, received when it happened. */
static void event(struct fx *f, const char *user, const char *name, int64_t ts, const char *props)
{
    begin(f);
    event_in(f, user, name, ts, ts, props);
    commit(f);
}

struct got {
    int found, seen, completed;
    int64_t completions;
    struct tly_progress p;
};

static int on_row(const struct tly_progress_view *v, void *arg)
{
    struct got *g = arg;
    g->found = 1;
    g->seen = v->seen;
    g->completed = v->completed;
    g->completions = v->completions;
    assert_int_equal(tly_progress_decode(v->state, v->state_len, g->p.nact, &g->p), 0);
    assert_int_equal(g->p.completions, v->completions);
    return 0;
}

/* The committed progress of `user` in campaign k. */
static struct got progress(struct fx *f, int k, const char *user)
{
    struct got g = {0};
    const struct tly_campaign *c = f->camp[k].c;
    tly_progress_init(&g.p, c->nact);
    int rc = tly_progress_query_one(f->h, 1, c->id, f->camp[k].uid, user, on_row, &g);
    assert_true(rc == 0 || rc == TLY_ENOENT);
    return g;
}

/* Committed value of activity `a` of campaign k for `user` in the window
 * containing `at`. */
static double value(struct fx *f, int k, const char *user, int64_t at, int a)
{
    struct got g = progress(f, k, user);
    int64_t s, e;
    int64_t period = tly_progress_window_at(f->camp[k].c, at, &s, &e);
    double v = tly_progress_value(f->camp[k].c, &g.p, period, a);
    tly_progress_free(&g.p);
    return v;
}

static int64_t completions(struct fx *f, int k, const char *user)
{
    struct got g = progress(f, k, user);
    tly_progress_free(&g.p);
    return g.completions;
}

static int seen(struct fx *f, int k, const char *user)
{
    struct got g = progress(f, k, user);
    tly_progress_free(&g.p);
    return g.seen;
}

static int count_rows(struct fx *f, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(f->h, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;

#endif
