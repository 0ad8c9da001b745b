/*
 * GET /v1/sources/{source} and PUT /v1/sources/{source}: a tenant's source
 * settings. For now only "segment", whose one setting is the signing secret
 * of the Webhooks (Actions) destination:
 *
 *   PUT {"shared_secret": "…"}   sets it (1 to 256 bytes): from then on
 *                                 /segment/v4 requires a valid X-Signature
 *   PUT {"shared_secret": null}  removes it
 *   GET                           {"source":"segment","shared_secret_set":…,
 *                                  "updated_at":…}; never the secret itself
 *
 * Ingest reads secrets again within a second of a change (ingest/auth.h).
 * The secret is not logged; the request copy is wiped when the job ends.
 */
#include "api/api.h"
#include "api/webengage.h"
#include "core/json.h"
#include "core/timeparse.h"
#include "store/sources.h"

#include <llhttp.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

struct source_req {
    int put;
    char *secret; /* PUT: the new secret, NULL to remove; wiped and freed */
};

static void free_source_req(void *data)
{
    struct source_req *r = data;
    if (r != NULL && r->secret != NULL) {
        OPENSSL_cleanse(r->secret, strlen(r->secret));
        free(r->secret);
    }
    free(r);
}

static void run_source(struct tly_api_job *job, sqlite3 *db)
{
    struct source_req *r = job->data;
    if (r->put && tly_source_secret_set(db, job->tenant, "segment", r->secret, tly_now_ms()) != 0) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
        return;
    }
    int set;
    int64_t at;
    if (tly_source_secret_state(db, job->tenant, "segment", &set, &at) != 0) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
        return;
    }
    int rc = tly_buf_printf(&job->out,
                            "{\"source\":\"segment\",\"shared_secret_set\":%s,"
                            "\"updated_at\":",
                            set ? "true" : "false");
    rc |= tly_api_json_time(&job->out, at);
    rc |= tly_buf_puts(&job->out, "}");
    if (rc != 0)
        tly_api_job_fail(job, 500, "internal", NULL, "out of memory");
}

/* Only "segment" has settings here; answers 404 itself otherwise. */
static struct source_req *source_param(struct tly_api_job *job, struct tly_http_req *req)
{
    size_t n;
    const char *raw = tly_http_param(req, 0, &n);
    struct source_req *r = calloc(1, sizeof *r);
    job->data = r;
    job->free_data = free_source_req;
    if (r == NULL) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "out of memory");
    } else if (n != 7 || memcmp(raw, "segment", 7) != 0) {
        tly_api_job_fail(job, 404, "not_found", "source",
                         "source: no settings for this source here (known: segment, webengage)");
    } else {
        return r;
    }
    tly_api_job_answer(job);
    return NULL;
}

/* "webengage" has its own settings (api/webengage.h). */
static int is_webengage(struct tly_http_req *req)
{
    size_t n;
    const char *raw = tly_http_param(req, 0, &n);
    return n == 9 && memcmp(raw, "webengage", 9) == 0;
}

static void get_source(struct tly_http_req *req, void *arg)
{
    if (is_webengage(req)) {
        tly_api_webengage_get(req, arg);
        return;
    }
    struct tly_api_job *job = tly_api_job_new(arg, req, run_source);
    if (job != NULL && source_param(job, req) != NULL)
        tly_api_job_submit(job);
}

/* Reads {"shared_secret": string | null}; 0, or -1 with the job failed. */
static int parse_put(struct tly_api_job *job, struct source_req *r, const char *body, size_t len)
{
    struct tly_error err;
    cJSON *root = tly_json_parse(body, len, &err);
    if (root == NULL)
        return tly_api_job_fail(job, 400, "invalid_request", "", "%s", err.msg);
    int rc = 0;
    const cJSON *s = cJSON_IsObject(root) ? root->child : NULL;
    if (!cJSON_IsObject(root) || s == NULL || s->next != NULL ||
        strcmp(s->string, "shared_secret") != 0) {
        rc = tly_api_job_fail(job, 400, "invalid_request", "",
                              "expected {\"shared_secret\": \"...\"} or "
                              "{\"shared_secret\": null}");
    } else if (cJSON_IsString(s)) {
        size_t n = strlen(s->valuestring);
        if (n == 0 || n > TLY_SOURCE_SECRET_MAX)
            rc = tly_api_job_fail(job, 400, "invalid_request", "shared_secret",
                                  "shared_secret: 1 to %d bytes", TLY_SOURCE_SECRET_MAX);
        else if ((r->secret = strdup(s->valuestring)) == NULL)
            rc = tly_api_job_fail(job, 503, "unavailable", NULL, "out of memory");
        OPENSSL_cleanse(s->valuestring, n);
    } else if (!cJSON_IsNull(s)) {
        rc = tly_api_job_fail(job, 400, "invalid_request", "shared_secret",
                              "shared_secret: expected a string, or null to remove it");
    }
    cJSON_Delete(root);
    return rc;
}

static void put_source(struct tly_http_req *req, void *arg)
{
    if (is_webengage(req)) {
        tly_api_webengage_put(req, arg);
        return;
    }
    struct tly_api_job *job = tly_api_job_new(arg, req, run_source);
    if (job == NULL)
        return;
    struct source_req *r = source_param(job, req);
    if (r == NULL)
        return;
    r->put = 1;
    size_t len;
    const char *body = tly_http_body(req, &len);
    if (parse_put(job, r, body, len) != 0) {
        tly_api_job_answer(job);
        return;
    }
    tly_api_job_submit(job);
}

int tly_api_sources_routes(struct tly_api *api, struct tly_router *r)
{
    int rc = tly_router_add(r, HTTP_GET, "/v1/sources/{source}", get_source, api);
    rc |= tly_router_add(r, HTTP_PUT, "/v1/sources/{source}", put_source, api);
    return rc ? TLY_ENOMEM : 0;
}
