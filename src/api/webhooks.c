/*
 * Outbound webhooks in the management API:
 *   PUT /v1/webhooks    the tenant's endpoints (outbox/webhook.h), replaced
 *                       whole; answers them with "secret_set" for secrets
 *   GET /v1/webhooks    the same
 *   GET /v1/deliveries?status=pending|delivered|failed&limit=&cursor=
 *                       deliveries, newest first; limit 1..500 (50)
 *   POST /v1/deliveries/{id}/retry
 *                       a pending or failed delivery is due again now, with
 *                       a new retry window; 409 for a delivered one
 * Secrets are stored, never answered and never logged.
 */
#include "api/api.h"
#include "core/timeparse.h"
#include "outbox/webhook.h"
#include "store/deliveries.h"

#include <llhttp.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT 50
#define LIST_MAX     500

struct body_req {
    char *body; /* NUL-terminated copy; NULL for GET */
    size_t len;
};

static void run_webhooks(struct tly_api_job *job, sqlite3 *db)
{
    struct body_req *r = job->data;
    struct tly_webhooks w;
    struct tly_error err;
    struct tly_buf stored;
    tly_buf_init(&stored, 0);
    if (r != NULL && r->body != NULL) {
        int rc = tly_webhooks_parse(r->body, r->len, &w, &err);
        if (rc == TLY_ENOMEM) {
            tly_api_job_fail(job, 503, "unavailable", NULL, "out of memory");
            return;
        }
        if (rc != 0) {
            tly_api_job_fail(job, rc == TLY_ETOOBIG ? 413 : 400, "invalid_request", err.field, "%s",
                             err.msg);
            return;
        }
        if (tly_webhooks_to_json(&w, 1, &stored) != 0 ||
            tly_webhook_settings_save(db, job->tenant, stored.data, tly_now_ms()) != 0)
            tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
        else if (tly_webhooks_to_json(&w, 0, &job->out) != 0)
            tly_api_job_fail(job, 500, "internal", NULL, "out of memory");
        tly_webhooks_free(&w);
        tly_buf_free(&stored);
        return;
    }
    int found = 0;
    if (tly_webhook_settings_load(db, job->tenant, &stored, &found) != 0) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
    } else if (!found) {
        if (tly_buf_puts(&job->out, "{\"endpoints\":[]}") != 0)
            tly_api_job_fail(job, 500, "internal", NULL, "out of memory");
    } else if (tly_webhooks_parse(stored.data, stored.len, &w, &err) != 0) {
        tly_api_job_fail(job, 500, "internal", NULL, "stored webhook settings do not parse");
    } else {
        if (tly_webhooks_to_json(&w, 0, &job->out) != 0)
            tly_api_job_fail(job, 500, "internal", NULL, "out of memory");
        tly_webhooks_free(&w);
    }
    tly_buf_free(&stored);
}

static void get_webhooks(struct tly_http_req *req, void *arg)
{
    struct tly_api_job *job = tly_api_job_new(arg, req, run_webhooks);
    if (job != NULL)
        tly_api_job_submit(job);
}

static void put_webhooks(struct tly_http_req *req, void *arg)
{
    struct tly_api_job *job = tly_api_job_new(arg, req, run_webhooks);
    if (job == NULL)
        return;
    size_t len;
    const char *body = tly_http_body(req, &len);
    struct body_req *r = malloc(sizeof *r + len + 1);
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

struct list_req {
    char status[16];
    struct tly_delivery_filter f;
};

static void run_list(struct tly_api_job *job, sqlite3 *db)
{
    struct list_req *l = job->data;
    if (tly_deliveries_list(db, job->tenant, &l->f, &job->out) != 0)
        tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
}

static void get_deliveries(struct tly_http_req *req, void *arg)
{
    struct tly_api_job *job = tly_api_job_new(arg, req, run_list);
    if (job == NULL)
        return;
    struct list_req *l = calloc(1, sizeof *l);
    job->data = l;
    if (l == NULL) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "out of memory");
        tly_api_job_answer(job);
        return;
    }
    l->f.limit = LIST_DEFAULT;
    size_t qn;
    const char *q = tly_http_query(req, &qn);
    char v[32];
    int got = tly_query_get(q, qn, "status", l->status, sizeof l->status);
    if (got < 0 || (got == 1 && strcmp(l->status, "pending") != 0 &&
                    strcmp(l->status, "delivered") != 0 && strcmp(l->status, "failed") != 0)) {
        tly_api_job_fail(job, 400, "invalid_request", "status",
                         "status: expected pending, delivered or failed");
        tly_api_job_answer(job);
        return;
    }
    l->f.status = got == 1 ? l->status : NULL;
    got = tly_query_get(q, qn, "limit", v, sizeof v);
    if (got != 0) {
        char *end;
        long n = got == 1 ? strtol(v, &end, 10) : 0;
        if (got < 0 || *end != '\0' || n < 1 || n > LIST_MAX) {
            tly_api_job_fail(job, 400, "invalid_request", "limit", "limit: a number from 1 to %d",
                             LIST_MAX);
            tly_api_job_answer(job);
            return;
        }
        l->f.limit = (int)n;
    }
    got = tly_query_get(q, qn, "cursor", v, sizeof v);
    if (got != 0) {
        char *end;
        long long c = got == 1 ? strtoll(v, &end, 10) : 0;
        if (got < 0 || *end != '\0' || c < 1) {
            tly_api_job_fail(job, 400, "invalid_request", "cursor", "cursor: malformed");
            tly_api_job_answer(job);
            return;
        }
        l->f.cursor = c;
    }
    tly_api_job_submit(job);
}

static void run_retry(struct tly_api_job *job, sqlite3 *db)
{
    const char *uid = job->data;
    int rc = tly_delivery_retry(db, job->tenant, uid, tly_now_ms(), &job->out);
    if (rc == TLY_ENOENT)
        tly_api_job_fail(job, 404, "not_found", "id", "no delivery %s", uid);
    else if (rc == TLY_ECONFLICT)
        tly_api_job_fail(job, 409, "conflict", "id", "delivery %s was delivered already", uid);
    else if (rc != 0)
        tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
}

static void post_retry(struct tly_http_req *req, void *arg)
{
    struct tly_api_job *job = tly_api_job_new(arg, req, run_retry);
    if (job == NULL)
        return;
    size_t n;
    const char *raw = tly_http_param(req, 0, &n);
    char *uid = malloc(64);
    job->data = uid;
    if (uid == NULL || raw == NULL || tly_url_decode(raw, n, uid, 64) != 0) {
        tly_api_job_fail(job, uid ? 404 : 503, uid ? "not_found" : "unavailable", "id",
                         "no such delivery");
        tly_api_job_answer(job);
        return;
    }
    tly_api_job_submit(job);
}

int tly_api_webhooks_routes(struct tly_api *api, struct tly_router *r)
{
    int rc = tly_router_add(r, HTTP_GET, "/v1/webhooks", get_webhooks, api);
    rc |= tly_router_add(r, HTTP_PUT, "/v1/webhooks", put_webhooks, api);
    rc |= tly_router_add(r, HTTP_GET, "/v1/deliveries", get_deliveries, api);
    rc |= tly_router_add(r, HTTP_POST, "/v1/deliveries/{id}/retry", post_retry, api);
    return rc ? TLY_ENOMEM : 0;
}
