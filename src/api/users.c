/*
 * Users.
 *
 * PUT /v1/users/{user_id}          registers the user; the body is a JSON
 *                                  object of attributes (stored as given)
 * GET /v1/users/{user_id}          the user: registered, created_at, attributes
 * GET /v1/users/{user_id}/events?limit=
 *                                  the user's latest processed events, newest
 *                                  first (limit 1..100, default 20)
 *
 * Users are created by their first processed event too (not registered);
 * a tenant with require_registration counts only registered users' events.
 */
#include "api/api.h"
#include "core/json.h"
#include "core/timeparse.h"
#include "core/utf8.h"
#include "pipeline/lookup.h"
#include "sources/server.h"
#include "store/queries.h"

#include <llhttp.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_DEFAULT 20
#define EVENTS_MAX     100

struct user_req {
    char user_id[TLY_USER_ID_BUF];
    char *attributes; /* PUT: the body as compact JSON (cJSON_free) */
    int limit;
    int count;
};

static void free_user_req(void *data)
{
    struct user_req *u = data;
    if (u != NULL)
        cJSON_free(u->attributes);
    free(u);
}

/* Decodes the {user_id} parameter; answers 400 itself on failure. */
static struct user_req *user_param(struct tly_api_job *job)
{
    struct user_req *u = calloc(1, sizeof *u);
    job->data = u;
    job->free_data = free_user_req;
    if (u == NULL || tly_api_user_id_param(job, 0, u->user_id, sizeof u->user_id) != 0) {
        if (u == NULL)
            tly_api_job_fail(job, 503, "unavailable", NULL, "out of memory");
        tly_api_job_answer(job);
        return NULL;
    }
    return u;
}

static void run_register(struct tly_api_job *job, sqlite3 *db)
{
    struct user_req *u = job->data;
    int created;
    if (tly_store_user_register(db, job->tenant, u->user_id, u->attributes, tly_now_ms(),
                                &created) != 0) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
        return;
    }
    job->status = created ? 201 : 200;
    int rc = tly_buf_puts(&job->out, "{\"user_id\":");
    rc |= tly_buf_json_str(&job->out, u->user_id, strlen(u->user_id));
    rc |= tly_buf_printf(&job->out, ",\"registered\":true,\"created\":%s}",
                         created ? "true" : "false");
    if (rc != 0)
        tly_api_job_fail(job, 500, "internal", NULL, "out of memory");
}

static void put_user(struct tly_http_req *req, void *arg)
{
    struct tly_api_job *job = tly_api_job_new(arg, req, run_register);
    if (job == NULL)
        return;
    struct user_req *u = user_param(job);
    if (u == NULL)
        return;
    size_t len;
    const char *body = tly_http_body(req, &len);
    struct tly_error err;
    cJSON *root = len == 0 ? cJSON_CreateObject() : tly_json_parse(body, len, &err);
    if (root == NULL || !cJSON_IsObject(root) || !tly_utf8_valid(body, len)) {
        tly_api_job_fail(job, 400, "invalid_request", "", "%s",
                         root == NULL ? err.msg : "expected a JSON object of UTF-8 text");
        cJSON_Delete(root);
        tly_api_job_answer(job);
        return;
    }
    u->attributes = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (u->attributes == NULL) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "out of memory");
        tly_api_job_answer(job);
        return;
    }
    tly_api_job_submit(job);
}

static int on_user(const struct tly_user_view *v, void *arg)
{
    struct tly_api_job *job = arg;
    struct user_req *u = job->data;
    struct tly_buf *b = &job->out;
    int rc = tly_buf_puts(b, "{\"user_id\":");
    rc |= tly_buf_json_str(b, u->user_id, strlen(u->user_id));
    rc |= tly_buf_printf(b, ",\"registered\":%s,\"created_at\":", v->registered ? "true" : "false");
    rc |= tly_api_json_time(b, v->created_at);
    rc |= tly_buf_puts(b, ",\"attributes\":");
    rc |= tly_buf_puts(b, v->attributes);
    rc |= tly_buf_puts(b, "}");
    return rc ? TLY_ENOMEM : 0;
}

static void run_get(struct tly_api_job *job, sqlite3 *db)
{
    struct user_req *u = job->data;
    int rc = tly_query_user(db, job->tenant, u->user_id, on_user, job);
    if (rc == TLY_ENOENT)
        tly_api_job_fail(job, 404, "not_found", "user_id", "no such user");
    else if (rc != 0)
        tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
}

static void get_user(struct tly_http_req *req, void *arg)
{
    struct tly_api_job *job = tly_api_job_new(arg, req, run_get);
    if (job != NULL && user_param(job) != NULL)
        tly_api_job_submit(job);
}

static int on_event(const struct tly_user_event_view *v, void *arg)
{
    struct tly_api_job *job = arg;
    struct user_req *u = job->data;
    struct tly_buf *b = &job->out;
    int rc = tly_buf_puts(b, u->count++ ? "," : "");
    if (tly_event_json_at(tly_api_log_dir(job->api), v->offset, v->item, b) != 0) {
        /* The record is past log retention: what the store still knows. */
        rc |= tly_buf_puts(b, "{\"event_id\":");
        rc |= tly_buf_json_str(b, v->event_id, strlen(v->event_id));
        rc |= tly_buf_puts(b, ",\"event_name\":");
        rc |= tly_buf_json_str(b, v->event_name, strlen(v->event_name));
        rc |= tly_buf_puts(b, ",\"timestamp\":");
        rc |= tly_api_json_time(b, v->timestamp);
        rc |= tly_buf_puts(b, ",\"received_at\":");
        rc |= tly_api_json_time(b, v->received_at);
        rc |= tly_buf_puts(b, "}");
    }
    return rc ? TLY_ENOMEM : 0;
}

static void run_events(struct tly_api_job *job, sqlite3 *db)
{
    struct user_req *u = job->data;
    int rc = tly_buf_puts(&job->out, "{\"user_id\":");
    rc |= tly_buf_json_str(&job->out, u->user_id, strlen(u->user_id));
    rc |= tly_buf_puts(&job->out, ",\"events\":[");
    if (rc == 0 && tly_query_user_events(db, tly_api_event_index(job->api), job->tenant, u->user_id,
                                         u->limit, on_event, job) != 0) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
        return;
    }
    if (tly_buf_puts(&job->out, "]}") != 0 || rc != 0)
        tly_api_job_fail(job, 500, "internal", NULL, "out of memory");
}

static void get_events(struct tly_http_req *req, void *arg)
{
    struct tly_api_job *job = tly_api_job_new(arg, req, run_events);
    if (job == NULL)
        return;
    struct user_req *u = user_param(job);
    if (u == NULL)
        return;
    u->limit = EVENTS_DEFAULT;
    size_t qn;
    const char *q = tly_http_query(req, &qn);
    char v[16];
    int got = tly_query_get(q, qn, "limit", v, sizeof v);
    if (got != 0) {
        char *end;
        long n = got == 1 ? strtol(v, &end, 10) : 0;
        if (got != 1 || *end != '\0' || n < 1 || n > EVENTS_MAX) {
            tly_api_job_fail(job, 400, "invalid_request", "limit", "limit: a number from 1 to %d",
                             EVENTS_MAX);
            tly_api_job_answer(job);
            return;
        }
        u->limit = (int)n;
    }
    tly_api_job_submit(job);
}

int tly_api_users_routes(struct tly_api *api, struct tly_router *r)
{
    int rc = tly_router_add(r, HTTP_PUT, "/v1/users/{user_id}", put_user, api);
    rc |= tly_router_add(r, HTTP_GET, "/v1/users/{user_id}", get_user, api);
    rc |= tly_router_add(r, HTTP_GET, "/v1/users/{user_id}/events", get_events, api);
    return rc ? TLY_ENOMEM : 0;
}
