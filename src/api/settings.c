/*
 * GET /v1/settings and PUT /v1/settings: the tenant's processing settings
 * (store/settings.h). PUT takes the fields to change and answers with the
 * settings now in force; the pipeline applies them from its next batch,
 * to new records and to replayed failed events.
 */
#include "api/api.h"
#include "store/settings.h"

#include <llhttp.h>
#include <stdlib.h>
#include <string.h>

struct settings_req {
    char *body; /* PUT: NUL-terminated copy */
    size_t len;
};

static void run_settings(struct tly_api_job *job, sqlite3 *db)
{
    struct settings_req *r = job->data;
    struct tly_tenant_settings s;
    if (tly_settings_load(db, job->tenant, &s) != 0) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
        return;
    }
    if (r != NULL && r->body != NULL) {
        struct tly_error err;
        if (tly_settings_apply_json(&s, r->body, r->len, &err) != 0) {
            tly_api_job_fail(job, 400, "invalid_request", err.field, "%s", err.msg);
            return;
        }
        if (tly_settings_save(db, job->tenant, &s) != 0) {
            tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
            return;
        }
    }
    if (tly_settings_to_json(&s, &job->out) != 0)
        tly_api_job_fail(job, 500, "internal", NULL, "out of memory");
}

static void get_settings(struct tly_http_req *req, void *arg)
{
    struct tly_api_job *job = tly_api_job_new(arg, req, run_settings);
    if (job != NULL)
        tly_api_job_submit(job);
}

static void put_settings(struct tly_http_req *req, void *arg)
{
    struct tly_api_job *job = tly_api_job_new(arg, req, run_settings);
    if (job == NULL)
        return;
    size_t len;
    const char *body = tly_http_body(req, &len);
    struct settings_req *r = malloc(sizeof *r + len + 1);
    job->data = r;
    if (r == NULL) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "out of memory");
        tly_api_job_answer(job);
        return;
    }
    r->body = (char *)(r + 1);
    memcpy(r->body, body, len);
    r->body[len] = '\0';
    r->len = len;
    tly_api_job_submit(job);
}

int tly_api_settings_routes(struct tly_api *api, struct tly_router *r)
{
    int rc = tly_router_add(r, HTTP_GET, "/v1/settings", get_settings, api);
    rc |= tly_router_add(r, HTTP_PUT, "/v1/settings", put_settings, api);
    return rc ? TLY_ENOMEM : 0;
}
