/*
 * Campaign progress and results (admin key), read from committed state.
 *
 * GET /v1/users/{user_id}/campaigns[?at=]       progress in every active
 *                                               campaign that admits the user
 * GET /v1/users/{user_id}/campaigns/{id}[?at=]  the same for one (404 when
 *                                               unknown, not active, or not
 *                                               admitting the user)
 * GET /v1/campaigns/{id}/stats                  users by status, completions,
 *                                               rewards
 * GET /v1/campaigns/{id}/leaderboard?activity=&at=&limit=
 *                                               top users by the activity's
 *                                               value in the window of `at`
 *
 * A progress answer:
 *   {"campaign_id","status","completions","steps_total","steps_completed",
 *    "window_start","window_end","activities":[{"id","value","target","met"}],
 *    "rewards":[{"reward_id","completion","issued_at","event_id","type",
 *                "name","amount","code"}]}
 * Values are those of the window containing `at` (default: now): the local
 * day, week or month of the campaign's time zone, or the whole campaign
 * (window_start/window_end are then its bounds, null when open).
 *
 * Each answer is read in one read transaction, so progress and rewards
 * agree with each other.
 */
#include "api/api.h"
#include "store/segments.h"
#include "core/timeparse.h"
#include "engine/campaign.h"
#include "engine/progress.h"
#include "sources/server.h"
#include "store/campaigns.h"
#include "store/progress.h"

#include <llhttp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LEADERBOARD_DEFAULT 10
#define LEADERBOARD_MAX     1000

struct progress_req {
    char user[TLY_USER_ID_BUF];
    char campaign[TLY_CAMPAIGN_ID_MAX + 1];
    char activity[TLY_CAMPAIGN_ID_MAX + 1];
    int64_t at;
    int limit;
    int count; /* campaigns written so far (list) */
};

/* ---- requests ---- */

static int fail_now(struct tly_api_job *job, const char *field, const char *msg)
{
    tly_api_job_fail(job, 400, "invalid_request", field, "%s", msg);
    tly_api_job_answer(job);
    return -1;
}

/* Decodes the path parameters and the query into a new progress_req:
 * `user_param` / `campaign_param` are the parameter indexes (-1: none).
 * Answers 400 itself and returns NULL on failure. */
static struct progress_req *parse_req(struct tly_api_job *job, struct tly_http_req *req,
                                      int user_param, int campaign_param)
{
    struct progress_req *r = calloc(1, sizeof *r);
    job->data = r;
    if (r == NULL) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "out of memory");
        tly_api_job_answer(job);
        return NULL;
    }
    if ((user_param >= 0 && tly_api_user_id_param(job, user_param, r->user, sizeof r->user) != 0) ||
        /* Longer than any id: no such campaign. */
        (campaign_param >= 0 &&
         tly_api_id_param(job, campaign_param, r->campaign, sizeof r->campaign, "id",
                          "no such campaign") != 0)) {
        tly_api_job_answer(job);
        return NULL;
    }
    size_t qn;
    const char *q = tly_http_query(req, &qn);
    char v[64];
    int got = tly_query_get(q, qn, "at", v, sizeof v);
    r->at = tly_now_ms();
    if (got != 0) {
        struct tly_error err;
        if (got != 1 || tly_time_parse(v, strlen(v), &r->at, "at", &err) != 0) {
            fail_now(job, "at",
                     "at: expected an ISO-8601 time with an offset, e.g. "
                     "2026-01-01T00:00:00Z");
            return NULL;
        }
    }
    return r;
}

/* ---- one campaign's definition ---- */

struct def {
    struct tly_campaign *c;
    int64_t uid;
    int rc;
};

static int on_def_row(void *arg, const struct tly_campaign_row *row)
{
    struct def *d = arg;
    struct tly_error err;
    d->uid = row->uid;
    d->rc = tly_campaign_parse(row->definition, row->len, &d->c, &err);
    return 0;
}

/* Loads and parses campaign `id`: 0, TLY_ENOENT or an error. */
static int load_def(sqlite3 *db, uint32_t tenant, const char *id, struct def *d)
{
    memset(d, 0, sizeof *d);
    int rc = tly_campaign_get(db, tenant, id, on_def_row, d);
    if (rc == 0 && d->rc != 0)
        rc = TLY_EIO; /* a stored definition this build cannot read */
    return rc;
}

static int fail_store(struct tly_api_job *job, int rc)
{
    if (rc == TLY_ENOENT)
        return tly_api_job_fail(job, 404, "not_found", "id", "no such campaign");
    if (rc == TLY_ENOMEM)
        return tly_api_job_fail(job, 503, "unavailable", NULL, "out of memory");
    return tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
}

/* Does the campaign admit the user now (enrollment and segment)? 1, 0 or
 * an error. */
static int admits(sqlite3 *db, uint32_t tenant, const struct tly_campaign *c, const char *user)
{
    if (c->segment != NULL) {
        int m = tly_segment_member(db, tenant, c->segment, user, NULL);
        if (m != 0)
            return m == TLY_ENOENT ? 0 : m; /* members only */
    }
    if (!c->accept)
        return 1;
    int64_t at;
    int rc = tly_progress_query_accepted(db, tenant, c->id, user, &at);
    return rc == 0 ? 1 : rc == TLY_ENOENT ? 0 : rc;
}

/* ---- values ---- */

/* A JSON number with the fewest digits that read back as `v`. */
static int put_number(struct tly_buf *b, double v)
{
    if (!isfinite(v))
        return tly_buf_puts(b, "null");
    if (v == floor(v) && fabs(v) < 9007199254740992.0)
        return tly_buf_printf(b, "%.0f", v);
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    return tly_buf_puts(b, tmp);
}

static int put_time_or_null(struct tly_buf *b, int64_t ms, int open)
{
    if (open)
        return tly_buf_puts(b, "null");
    char t[25];
    tly_time_format(ms, t);
    return tly_buf_printf(b, "\"%s\"", t);
}

struct window {
    int64_t period, start, end;
    int open_start, open_end;
};

static void window_of(const struct tly_campaign *c, int64_t at, struct window *w)
{
    w->period = tly_progress_window_at(c, at, &w->start, &w->end);
    w->open_start = w->start == INT64_MIN;
    w->open_end = w->end == INT64_MAX;
}

struct row_copy {
    int found, seen, completed;
    int64_t completions;
    struct tly_progress prog;
    int rc;
};

static int on_progress_row(const struct tly_progress_view *v, void *arg)
{
    struct row_copy *r = arg;
    r->found = 1;
    r->seen = v->seen;
    r->completions = v->completions;
    r->completed = v->completed;
    r->rc = tly_progress_decode(v->state, v->state_len, r->prog.nact, &r->prog);
    return 0;
}

static int on_reward(const struct tly_reward_view *v, void *arg)
{
    struct tly_buf *b = arg;
    int rc = tly_buf_printf(b, "%s{\"reward_id\":\"%s\",\"completion\":%lld,\"issued_at\":",
                            b->data[b->len - 1] == '[' ? "" : ",", v->reward_id,
                            (long long)v->completion);
    rc |= tly_api_json_time(b, v->issued_at);
    rc |= tly_buf_puts(b, ",\"event_id\":");
    rc |= tly_buf_json_str(b, v->event_id, strlen(v->event_id));
    const char *strs[3] = {v->type, v->name, NULL};
    const char *keys[3] = {"type", "name", NULL};
    for (int i = 0; keys[i] != NULL; i++) {
        rc |= tly_buf_printf(b, ",\"%s\":", keys[i]);
        rc |= strs[i] ? tly_buf_json_str(b, strs[i], strlen(strs[i])) : tly_buf_puts(b, "null");
    }
    rc |= tly_buf_puts(b, ",\"amount\":");
    rc |= v->has_amount ? put_number(b, v->amount) : tly_buf_puts(b, "null");
    rc |= tly_buf_puts(b, ",\"code\":");
    rc |= v->code ? tly_buf_json_str(b, v->code, strlen(v->code)) : tly_buf_puts(b, "null");
    rc |= tly_buf_puts(b, "}");
    return rc ? TLY_ENOMEM : 0;
}

/* Appends the progress object of `user` in campaign `c`. */
static int write_progress(sqlite3 *db, uint32_t tenant, const struct tly_campaign *c, int64_t uid,
                          const char *user, int64_t at, struct tly_buf *b)
{
    struct row_copy r = {0};
    tly_progress_init(&r.prog, c->nact);
    int rc = tly_progress_query_one(db, tenant, c->id, uid, user, on_progress_row, &r);
    if (rc != 0 && rc != TLY_ENOENT)
        return rc;
    if (r.rc != 0) {
        tly_progress_free(&r.prog);
        return r.rc;
    }
    const char *status = !r.seen ? "pristine" : r.completed ? "completed" : "in-progress";
    struct window w;
    window_of(c, at, &w);
    int met_n = 0;
    for (int a = 0; a < c->nact; a++)
        met_n += tly_progress_value(c, &r.prog, w.period, a) >= c->act[a].target;
    rc = tly_buf_puts(b, "{\"campaign_id\":");
    rc |= tly_buf_json_str(b, c->id, strlen(c->id));
    rc |= tly_buf_printf(b,
                         ",\"status\":\"%s\",\"completions\":%lld,\"steps_total\":%d,"
                         "\"steps_completed\":%d,\"window_start\":",
                         status, (long long)r.completions, c->nact, met_n);
    rc |= put_time_or_null(b, w.start, w.open_start);
    rc |= tly_buf_puts(b, ",\"window_end\":");
    rc |= put_time_or_null(b, w.end, w.open_end);
    rc |= tly_buf_puts(b, ",\"activities\":[");
    for (int a = 0; a < c->nact; a++) {
        double v = tly_progress_value(c, &r.prog, w.period, a);
        rc |= tly_buf_printf(b, "%s{\"id\":", a ? "," : "");
        rc |= tly_buf_json_str(b, c->act[a].id, strlen(c->act[a].id));
        rc |= tly_buf_puts(b, ",\"value\":");
        rc |= put_number(b, v);
        rc |= tly_buf_puts(b, ",\"target\":");
        rc |= put_number(b, c->act[a].target);
        rc |= tly_buf_printf(b, ",\"met\":%s}", v >= c->act[a].target ? "true" : "false");
    }
    rc |= tly_buf_puts(b, "],\"rewards\":[");
    tly_progress_free(&r.prog);
    if (rc != 0)
        return TLY_ENOMEM;
    rc = tly_progress_query_rewards(db, tenant, c->id, uid, user, on_reward, b);
    if (rc == 0 && tly_buf_puts(b, "]}") != 0)
        rc = TLY_ENOMEM;
    return rc;
}

/* Runs `fn` inside a read transaction (one snapshot). */
static int in_snapshot(sqlite3 *db, int (*fn)(struct tly_api_job *, sqlite3 *),
                       struct tly_api_job *job)
{
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return TLY_EIO;
    int rc = fn(job, db);
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    return rc;
}

/* ---- GET /v1/users/{user_id}/campaigns[/{id}] ---- */

static int user_one(struct tly_api_job *job, sqlite3 *db)
{
    struct progress_req *r = job->data;
    struct def d;
    int rc = load_def(db, job->tenant, r->campaign, &d);
    if (rc == 0 && d.c->status != TLY_CAMPAIGN_ACTIVE)
        rc = TLY_ENOENT;
    if (rc == 0 && (rc = admits(db, job->tenant, d.c, r->user)) == 0)
        rc = TLY_ENOENT;
    if (rc == 1)
        rc = write_progress(db, job->tenant, d.c, d.uid, r->user, r->at, &job->out);
    tly_campaign_free(d.c);
    return rc;
}

struct list_arg {
    struct tly_api_job *job;
    sqlite3 *db;
};

static int on_list_row(void *arg, const struct tly_campaign_row *row)
{
    struct list_arg *l = arg;
    struct progress_req *r = l->job->data;
    struct tly_campaign *c;
    struct tly_error err;
    if (tly_campaign_parse(row->definition, row->len, &c, &err) != 0)
        return 0; /* not readable by this build: not counting either */
    int rc = c->status == TLY_CAMPAIGN_ACTIVE ? admits(l->db, l->job->tenant, c, r->user) : 0;
    if (rc == 1) {
        rc = tly_buf_puts(&l->job->out, r->count++ ? "," : "");
        if (rc == 0)
            rc = write_progress(l->db, l->job->tenant, c, row->uid, r->user, r->at, &l->job->out);
    }
    tly_campaign_free(c);
    return rc;
}

static int user_list(struct tly_api_job *job, sqlite3 *db)
{
    struct progress_req *r = job->data;
    struct tly_buf *b = &job->out;
    int rc = tly_buf_puts(b, "{\"user_id\":");
    rc |= tly_buf_json_str(b, r->user, strlen(r->user));
    rc |= tly_buf_puts(b, ",\"at\":");
    rc |= tly_api_json_time(b, r->at);
    rc |= tly_buf_puts(b, ",\"campaigns\":[");
    if (rc != 0)
        return TLY_ENOMEM;
    struct list_arg l = {job, db};
    rc = tly_campaigns_list(db, job->tenant, on_list_row, &l);
    if (rc == 0 && tly_buf_puts(b, "]}") != 0)
        rc = TLY_ENOMEM;
    return rc;
}

static void run_user_list(struct tly_api_job *job, sqlite3 *db)
{
    int rc = in_snapshot(db, user_list, job);
    if (rc != 0)
        fail_store(job, rc);
}

static void run_user_one(struct tly_api_job *job, sqlite3 *db)
{
    int rc = in_snapshot(db, user_one, job);
    if (rc != 0)
        fail_store(job, rc);
}

static void get_user_campaigns(struct tly_http_req *req, void *arg)
{
    struct tly_api_job *job = tly_api_job_new(arg, req, run_user_list);
    if (job != NULL && parse_req(job, req, 0, -1) != NULL)
        tly_api_job_submit(job);
}

static void get_user_campaign(struct tly_http_req *req, void *arg)
{
    struct tly_api_job *job = tly_api_job_new(arg, req, run_user_one);
    if (job != NULL && parse_req(job, req, 0, 1) != NULL)
        tly_api_job_submit(job);
}

/* ---- GET /v1/campaigns/{id}/stats ---- */

static int stats(struct tly_api_job *job, sqlite3 *db)
{
    struct progress_req *r = job->data;
    struct def d;
    int rc = load_def(db, job->tenant, r->campaign, &d);
    struct tly_campaign_counts n;
    if (rc == 0)
        rc = tly_progress_query_counts(db, job->tenant, r->campaign, d.uid, &n);
    tly_campaign_free(d.c);
    if (rc != 0)
        return rc;
    int64_t pristine = n.users > n.seen ? n.users - n.seen : 0;
    struct tly_buf *b = &job->out;
    rc = tly_buf_puts(b, "{\"campaign_id\":");
    rc |= tly_buf_json_str(b, r->campaign, strlen(r->campaign));
    rc |= tly_buf_printf(b,
                         ",\"users\":{\"pristine\":%lld,\"in_progress\":%lld,\"completed\":%lld},"
                         "\"completions\":%lld,\"rewards\":%lld}",
                         (long long)pristine, (long long)(n.seen - n.completed),
                         (long long)n.completed, (long long)n.completions, (long long)n.rewards);
    return rc ? TLY_ENOMEM : 0;
}

static void run_stats(struct tly_api_job *job, sqlite3 *db)
{
    int rc = in_snapshot(db, stats, job);
    if (rc != 0)
        fail_store(job, rc);
}

static void get_stats(struct tly_http_req *req, void *arg)
{
    struct tly_api_job *job = tly_api_job_new(arg, req, run_stats);
    if (job != NULL && parse_req(job, req, -1, 0) != NULL)
        tly_api_job_submit(job);
}

/* ---- GET /v1/campaigns/{id}/leaderboard ---- */

struct entry {
    char *user;
    double value;
};

struct board {
    const struct tly_campaign *c;
    int act;
    int64_t period;
    struct entry *e;
    size_t n, cap;
};

static int on_board_row(const struct tly_progress_view *v, void *arg)
{
    struct board *bd = arg;
    struct tly_progress p;
    int rc = tly_progress_decode(v->state, v->state_len, bd->c->nact, &p);
    if (rc != 0)
        return rc;
    double value = tly_progress_value(bd->c, &p, bd->period, bd->act);
    tly_progress_free(&p);
    if (!(value > 0))
        return 0; /* nothing in this window */
    if (bd->n == bd->cap) {
        size_t cap = bd->cap ? bd->cap * 2 : 64;
        struct entry *e = realloc(bd->e, cap * sizeof *e);
        if (e == NULL)
            return TLY_ENOMEM;
        bd->e = e;
        bd->cap = cap;
    }
    bd->e[bd->n].user = strdup(v->user);
    if (bd->e[bd->n].user == NULL)
        return TLY_ENOMEM;
    bd->e[bd->n++].value = value;
    return 0;
}

static int by_rank(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    if (x->value != y->value)
        return x->value > y->value ? -1 : 1;
    return strcmp(x->user, y->user);
}

static int leaderboard(struct tly_api_job *job, sqlite3 *db)
{
    struct progress_req *r = job->data;
    struct def d;
    int rc = load_def(db, job->tenant, r->campaign, &d);
    if (rc != 0)
        return rc;
    struct board bd = {.c = d.c, .act = -1};
    for (int a = 0; a < d.c->nact; a++)
        if (strcmp(d.c->act[a].id, r->activity) == 0)
            bd.act = a;
    if (bd.act < 0) {
        tly_campaign_free(d.c);
        tly_api_job_fail(job, 400, "invalid_request", "activity",
                         "activity: the campaign has no activity with this id");
        return 0;
    }
    struct window w;
    window_of(d.c, r->at, &w);
    bd.period = w.period;
    rc = tly_progress_query_each(db, job->tenant, r->campaign, d.uid, on_board_row, &bd);
    if (rc == 0) {
        if (bd.n > 1)
            qsort(bd.e, bd.n, sizeof *bd.e, by_rank);
        struct tly_buf *b = &job->out;
        rc = tly_buf_puts(b, "{\"campaign_id\":");
        rc |= tly_buf_json_str(b, r->campaign, strlen(r->campaign));
        rc |= tly_buf_puts(b, ",\"activity\":");
        rc |= tly_buf_json_str(b, r->activity, strlen(r->activity));
        rc |= tly_buf_puts(b, ",\"window_start\":");
        rc |= put_time_or_null(b, w.start, w.open_start);
        rc |= tly_buf_puts(b, ",\"window_end\":");
        rc |= put_time_or_null(b, w.end, w.open_end);
        rc |= tly_buf_puts(b, ",\"users\":[");
        for (size_t i = 0; i < bd.n && i < (size_t)r->limit; i++) {
            rc |= tly_buf_puts(b, i ? ",{\"user_id\":" : "{\"user_id\":");
            rc |= tly_buf_json_str(b, bd.e[i].user, strlen(bd.e[i].user));
            rc |= tly_buf_puts(b, ",\"value\":");
            rc |= put_number(b, bd.e[i].value);
            rc |= tly_buf_puts(b, "}");
        }
        rc |= tly_buf_puts(b, "]}");
        rc = rc ? TLY_ENOMEM : 0;
    }
    for (size_t i = 0; i < bd.n; i++)
        free(bd.e[i].user);
    free(bd.e);
    tly_campaign_free(d.c);
    return rc;
}

static void run_leaderboard(struct tly_api_job *job, sqlite3 *db)
{
    int rc = in_snapshot(db, leaderboard, job);
    if (rc != 0)
        fail_store(job, rc);
}

static void get_leaderboard(struct tly_http_req *req, void *arg)
{
    struct tly_api_job *job = tly_api_job_new(arg, req, run_leaderboard);
    if (job == NULL)
        return;
    struct progress_req *r = parse_req(job, req, -1, 0);
    if (r == NULL)
        return;
    size_t qn;
    const char *q = tly_http_query(req, &qn);
    if (tly_query_get(q, qn, "activity", r->activity, sizeof r->activity) != 1 ||
        r->activity[0] == '\0') {
        fail_now(job, "activity", "activity: required, the id of one of the campaign's activities");
        return;
    }
    r->limit = LEADERBOARD_DEFAULT;
    if (tly_api_query_int(req, "limit", 1, LEADERBOARD_MAX, &r->limit) < 0) {
        fail_now(job, "limit", "limit: a number from 1 to 1000");
        return;
    }
    tly_api_job_submit(job);
}

int tly_api_progress_routes(struct tly_api *api, struct tly_router *r)
{
    int rc = tly_router_add(r, HTTP_GET, "/v1/users/{user_id}/campaigns", get_user_campaigns, api);
    rc |= tly_router_add(r, HTTP_GET, "/v1/users/{user_id}/campaigns/{id}", get_user_campaign, api);
    rc |= tly_router_add(r, HTTP_GET, "/v1/campaigns/{id}/stats", get_stats, api);
    rc |= tly_router_add(r, HTTP_GET, "/v1/campaigns/{id}/leaderboard", get_leaderboard, api);
    return rc ? TLY_ENOMEM : 0;
}
