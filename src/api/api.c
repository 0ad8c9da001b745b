/*
 * The management API's job runner, connection pool and small helpers
 * (see api.h).
 */
#include "api/api.h"
#include "core/timeparse.h"
#include "core/utf8.h"
#include "store/db.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POOL_MAX 8

struct tly_api {
    struct tly_api_config cfg;
    uv_mutex_t mu;
    struct tly_db *free_conns[POOL_MAX]; /* under mu */
    int nfree;
};

int tly_api_create(struct tly_api **out, const struct tly_api_config *cfg)
{
    struct tly_api *api = calloc(1, sizeof *api);
    if (api == NULL)
        return TLY_ENOMEM;
    api->cfg = *cfg;
    uv_mutex_init(&api->mu);
    *out = api;
    return 0;
}

void tly_api_free(struct tly_api *api)
{
    if (api == NULL)
        return;
    for (int i = 0; i < api->nfree; i++)
        tly_db_close(api->free_conns[i]);
    uv_mutex_destroy(&api->mu);
    free(api);
}

const char *tly_api_log_dir(const struct tly_api *api)
{
    return api->cfg.log_dir;
}

struct tly_log *tly_api_log(const struct tly_api *api)
{
    return api->cfg.log;
}

struct tly_ingest *tly_api_ingest(const struct tly_api *api)
{
    return api->cfg.ingest;
}

struct tly_pipeline *tly_api_pipeline(const struct tly_api *api)
{
    return api->cfg.pipeline;
}

struct tly_event_index *tly_api_event_index(const struct tly_api *api)
{
    return api->cfg.pipeline != NULL ? tly_pipeline_event_index(api->cfg.pipeline) : NULL;
}

static struct tly_db *take_conn(struct tly_api *api, struct tly_error *err)
{
    struct tly_db *db = NULL;
    uv_mutex_lock(&api->mu);
    if (api->nfree > 0)
        db = api->free_conns[--api->nfree];
    uv_mutex_unlock(&api->mu);
    if (db == NULL && tly_db_open(&db, api->cfg.db_path, err) != 0)
        return NULL;
    return db;
}

static void give_conn(struct tly_api *api, struct tly_db *db)
{
    uv_mutex_lock(&api->mu);
    if (api->nfree < POOL_MAX) {
        api->free_conns[api->nfree++] = db;
        db = NULL;
    }
    uv_mutex_unlock(&api->mu);
    tly_db_close(db);
}

int tly_api_job_fail(struct tly_api_job *job, int status, const char *code, const char *field,
                     const char *fmt, ...)
{
    job->status = status;
    job->error = code;
    snprintf(job->field, sizeof job->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(job->message, sizeof job->message, fmt, ap);
    va_end(ap);
    return -1;
}

static void on_work(uv_work_t *w)
{
    struct tly_api_job *job = w->data;
    struct tly_error err;
    struct tly_db *db = take_conn(job->api, &err);
    if (db == NULL) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "state store unavailable: %s", err.msg);
        return;
    }
    job->run(job, tly_db_sqlite(db));
    give_conn(job->api, db);
}

void tly_api_job_answer(struct tly_api_job *job)
{
    if (job->status >= 400)
        tly_http_respond_error(job->req, job->status, job->error ? job->error : "error", job->field,
                               job->message);
    else
        tly_http_respond(job->req, job->status, job->status == 204 ? NULL : "application/json",
                         job->out.data ? job->out.data : "", job->out.len);
    tly_api_job_free(job);
}

void tly_api_job_free(struct tly_api_job *job)
{
    tly_buf_free(&job->out);
    if (job->free_data != NULL)
        job->free_data(job->data);
    else
        free(job->data);
    free(job);
}

int tly_api_json_time(struct tly_buf *b, int64_t ms)
{
    if (ms == 0)
        return tly_buf_puts(b, "null");
    char ts[25];
    tly_time_format(ms, ts);
    return tly_buf_printf(b, "\"%s\"", ts);
}

static void on_after(uv_work_t *w, int status)
{
    struct tly_api_job *job = w->data;
    (void)status;
    if (job->after != NULL && job->status < 400)
        job->after(job);
    else
        tly_api_job_answer(job);
}

static struct tly_api_job *job_new(struct tly_api *api, struct tly_http_req *req,
                                   void (*run)(struct tly_api_job *, sqlite3 *), int write_key)
{
    uint32_t tenant;
    const char *why;
    if ((write_key ? tly_auth_write(api->cfg.auth, req, &tenant, &why)
                   : tly_auth_admin(api->cfg.auth, req, &tenant, &why)) != 0) {
        tly_auth_reject(req, why);
        return NULL;
    }
    struct tly_api_job *job = calloc(1, sizeof *job);
    if (job == NULL) {
        tly_http_respond_error(req, 503, "unavailable", NULL, "out of memory");
        return NULL;
    }
    job->api = api;
    job->req = req;
    job->tenant = tenant;
    job->run = run;
    job->status = 200;
    job->work.data = job;
    tly_buf_init(&job->out, 0);
    return job;
}

struct tly_api_job *tly_api_job_new(struct tly_api *api, struct tly_http_req *req,
                                    void (*run)(struct tly_api_job *, sqlite3 *))
{
    return job_new(api, req, run, 0);
}

struct tly_api_job *tly_api_job_new_write(struct tly_api *api, struct tly_http_req *req,
                                          void (*run)(struct tly_api_job *, sqlite3 *))
{
    return job_new(api, req, run, 1);
}

void tly_api_job_submit(struct tly_api_job *job)
{
    if (uv_queue_work(job->api->cfg.loop, &job->work, on_work, on_after) != 0) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "cannot queue the request");
        tly_api_job_answer(job);
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int decode(const char *s, size_t n, char *out, size_t outsz, int plus_is_space)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n) /* needs two hex digits after it */
                return -1;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (c == '\0' || o + 1 >= outsz)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

int tly_url_decode(const char *s, size_t n, char *out, size_t outsz)
{
    return decode(s, n, out, outsz, 0);
}

int tly_api_user_id_param(struct tly_api_job *job, int i, char *out, size_t outsz)
{
    size_t n;
    const char *raw = tly_http_param(job->req, i, &n);
    if (raw == NULL || tly_url_decode(raw, n, out, outsz) != 0 || !tly_utf8_valid(out, strlen(out)))
        return tly_api_job_fail(job, 400, "invalid_request", "user_id",
                                "user_id: malformed, not UTF-8, or longer than %zu bytes",
                                outsz - 1);
    return 0;
}

int tly_api_id_param(struct tly_api_job *job, int i, char *out, size_t outsz, const char *field,
                     const char *msg)
{
    size_t n;
    const char *raw = tly_http_param(job->req, i, &n);
    if (tly_url_decode(raw, n, out, outsz) != 0)
        return tly_api_job_fail(job, 404, "not_found", field, "%s", msg);
    return 0;
}

int tly_api_body_copy(struct tly_api_job *job, char **body, size_t *len)
{
    const char *b = tly_http_body(job->req, len);
    if ((*body = malloc(*len + 1)) == NULL)
        return tly_api_job_fail(job, 503, "unavailable", NULL, "out of memory");
    memcpy(*body, b, *len);
    (*body)[*len] = '\0';
    return 0;
}

int tly_api_query_int(struct tly_http_req *req, const char *name, int lo, int hi, int *out)
{
    size_t qn;
    const char *q = tly_http_query(req, &qn);
    char v[16];
    int got = tly_query_get(q, qn, name, v, sizeof v);
    if (got == 0)
        return 0;
    char *end;
    long l = got == 1 ? strtol(v, &end, 10) : 0;
    if (got != 1 || *end != '\0' || l < lo || l > hi)
        return -1;
    *out = (int)l;
    return 1;
}

int tly_query_get(const char *q, size_t qlen, const char *name, char *out, size_t outsz)
{
    size_t nlen = strlen(name);
    size_t i = 0;
    while (i < qlen) {
        size_t end = i;
        while (end < qlen && q[end] != '&')
            end++;
        const char *eq = memchr(q + i, '=', end - i);
        size_t klen = eq ? (size_t)(eq - (q + i)) : end - i;
        if (klen == nlen && memcmp(q + i, name, nlen) == 0) {
            const char *v = eq ? eq + 1 : q + end;
            return decode(v, (size_t)(q + end - v), out, outsz, 1) == 0 ? 1 : -1;
        }
        i = end + 1;
    }
    return 0;
}

int tly_api_routes(struct tly_api *api, struct tly_router *r)
{
    int rc = tly_api_events_routes(api, r);
    rc |= tly_api_failed_routes(api, r);
    rc |= tly_api_users_routes(api, r);
    rc |= tly_api_settings_routes(api, r);
    rc |= tly_api_sources_routes(api, r);
    rc |= tly_api_campaigns_routes(api, r);
    rc |= tly_api_progress_routes(api, r);
    rc |= tly_api_segments_routes(api, r);
    rc |= tly_api_webhooks_routes(api, r);
    return rc ? TLY_ENOMEM : 0;
}
