/*
 * GET /v1/sources/{source} and PUT /v1/sources/{source} (admin key): the
 * tenant's settings for one source (sources/settings.h), for every source
 * name of log/record.h ("server", "segment", "moengage", "clevertap",
 * "webengage", "track"; the server source has none to set).
 *
 *   PUT <document>   replaces the stored document after validating it
 *                    (400 naming the field); 409 when another tenant has
 *                    the same WebEngage license code or Basic user name for
 *                    this source; answers as GET does
 *   GET              {"source": …, <settings, secrets shown only as
 *                    "…_set">, "updated_at": …}
 *
 * The check of the other tenants and the write are one transaction.
 * Ingest reads credentials again within a second of a change
 * (ingest/auth.h), the pipeline the mapping before its next batch. Neither
 * the body nor a secret is logged; the copy of the body is wiped when the
 * job ends.
 */
#include "api/api.h"
#include "core/timeparse.h"
#include "log/record.h"
#include "sources/settings.h"
#include "store/sources.h"

#include <llhttp.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

struct source_req {
    int source;
    char *body; /* PUT: a copy of the body, wiped and freed */
    size_t len;
};

static void free_source_req(void *data)
{
    struct source_req *r = data;
    if (r != NULL && r->body != NULL) {
        OPENSSL_cleanse(r->body, r->len);
        free(r->body);
    }
    free(r);
}

struct others {
    uint32_t tenant;
    const cJSON *mine;
    struct tly_error err;
};

/* 409 when another tenant's document claims one of mine's names. */
static int check_other(void *arg, uint32_t tenant, const char *source, const char *json, size_t len)
{
    (void)source;
    struct others *o = arg;
    if (tenant == o->tenant)
        return 0;
    cJSON *theirs = cJSON_ParseWithLength(json, len);
    int rc = tly_source_settings_conflict(o->mine, theirs, &o->err);
    tly_source_settings_free(theirs);
    return rc;
}

/* The PUT inside BEGIN IMMEDIATE: 0, or -1 with the job failed. */
static int put_settings(struct tly_api_job *job, sqlite3 *db, const struct source_req *r)
{
    const char *name = tly_source_name(r->source);
    char *prev_text;
    int64_t at;
    if (tly_source_settings_load(db, job->tenant, name, &prev_text, &at) != 0)
        return tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
    cJSON *prev = prev_text ? cJSON_Parse(prev_text) : NULL;
    if (prev_text != NULL)
        OPENSSL_cleanse(prev_text, strlen(prev_text));
    free(prev_text);
    cJSON *stored;
    struct tly_error err;
    int rc = tly_source_settings_parse(r->source, r->body, r->len, prev, &stored, &err);
    tly_source_settings_free(prev);
    if (rc == TLY_EINVAL)
        return tly_api_job_fail(job, 400, "invalid_request", err.field, "%s", err.msg);
    if (rc != 0)
        return tly_api_job_fail(job, 503, "unavailable", NULL, "out of memory");
    struct others o = {.tenant = job->tenant, .mine = stored};
    rc = tly_source_settings_each(db, name, check_other, &o);
    char *text = rc == 0 ? cJSON_PrintUnformatted(stored) : NULL;
    tly_source_settings_free(stored);
    if (rc == TLY_ECONFLICT)
        return tly_api_job_fail(job, 409, "conflict", o.err.field, "%s", o.err.msg);
    if (rc == 0 && text == NULL)
        rc = TLY_ENOMEM;
    if (rc == 0)
        rc = tly_source_settings_save(db, job->tenant, name, text, tly_now_ms());
    if (text != NULL) {
        OPENSSL_cleanse(text, strlen(text));
        cJSON_free(text);
    }
    if (rc != 0)
        return tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
    return 0;
}

static void run_source(struct tly_api_job *job, sqlite3 *db)
{
    struct source_req *r = job->data;
    const char *name = tly_source_name(r->source);
    if (r->body != NULL) {
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
            tly_api_job_fail(job, 503, "unavailable", NULL, "state store busy");
            return;
        }
        if (put_settings(job, db, r) != 0 ||
            sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            if (job->status < 400)
                tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
            return;
        }
    }
    char *text;
    int64_t at;
    if (tly_source_settings_load(db, job->tenant, name, &text, &at) != 0) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
        return;
    }
    cJSON *doc = text ? cJSON_Parse(text) : NULL;
    if (text != NULL)
        OPENSSL_cleanse(text, strlen(text));
    free(text);
    int rc = tly_buf_printf(&job->out, "{\"source\":\"%s\"", name);
    rc |= tly_source_settings_public(r->source, doc, &job->out);
    rc |= tly_buf_puts(&job->out, ",\"updated_at\":");
    rc |= tly_api_json_time(&job->out, at);
    rc |= tly_buf_puts(&job->out, "}");
    tly_source_settings_free(doc);
    if (rc != 0)
        tly_api_job_fail(job, 500, "internal", NULL, "out of memory");
}

/* The source named in the path; answers 404 itself when there is none. */
static struct source_req *source_param(struct tly_api_job *job, struct tly_http_req *req)
{
    size_t n;
    const char *raw = tly_http_param(req, 0, &n);
    char name[16];
    struct source_req *r = calloc(1, sizeof *r);
    job->data = r;
    job->free_data = free_source_req;
    if (r == NULL) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "out of memory");
    } else if (n >= sizeof name ||
               (memcpy(name, raw, n), name[n] = '\0', (r->source = tly_source_parse(name)) <= 0)) {
        tly_api_job_fail(job, 404, "not_found", "source",
                         "source: unknown (server, segment, moengage, clevertap, webengage, "
                         "track)");
    } else {
        return r;
    }
    tly_api_job_answer(job);
    return NULL;
}

static void get_source(struct tly_http_req *req, void *arg)
{
    struct tly_api_job *job = tly_api_job_new(arg, req, run_source);
    if (job != NULL && source_param(job, req) != NULL)
        tly_api_job_submit(job);
}

static void put_source(struct tly_http_req *req, void *arg)
{
    struct tly_api_job *job = tly_api_job_new(arg, req, run_source);
    if (job == NULL)
        return;
    struct source_req *r = source_param(job, req);
    if (r == NULL)
        return;
    size_t len;
    const char *body = tly_http_body(req, &len);
    r->body = malloc(len + 1);
    if (r->body == NULL) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "out of memory");
        tly_api_job_answer(job);
        return;
    }
    if (len > 0)
        memcpy(r->body, body, len);
    r->body[len] = '\0';
    r->len = len;
    tly_api_job_submit(job);
}

int tly_api_sources_routes(struct tly_api *api, struct tly_router *r)
{
    int rc = tly_router_add(r, HTTP_GET, "/v1/sources/{source}", get_source, api);
    rc |= tly_router_add(r, HTTP_PUT, "/v1/sources/{source}", put_source, api);
    return rc ? TLY_ENOMEM : 0;
}
