/*
 * Users.
 *
 * PUT /v1/users/{user_id}          registers the user; the body is
 *                                  {anonymous_id?, name?, email?, phone?,
 *                                   attributes?: {…}, profile?: {timezone?,
 *                                   country?, city?}}; a broken field is
 *                                  400 naming it; attributes are stored as
 *                                  given, the rest in `registration`
 * GET /v1/users/{user_id}          the user: registered, created_at, the
 *                                  registration's fields, attributes and
 *                                  segments (current memberships)
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
#include "store/segments.h"
#include "core/tz.h"

#include <llhttp.h>
#include <stdlib.h>
#include <string.h>

#define EVENTS_DEFAULT 20
#define EVENTS_MAX     100

struct user_req {
    char user_id[TLY_USER_ID_BUF];
    char *attributes;   /* PUT: compact JSON (cJSON_free) */
    char *registration; /* PUT: the other fields, compact JSON (cJSON_free) */
    int limit;
    int count;
    sqlite3 *db; /* the job's connection while the events are listed */
};

static void free_user_req(void *data)
{
    struct user_req *u = data;
    if (u != NULL) {
        cJSON_free(u->attributes);
        cJSON_free(u->registration);
    }
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
    if (tly_store_user_register2(db, job->tenant, u->user_id, u->attributes, u->registration,
                                 tly_now_ms(), &created) != 0) {
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

/* A string member of at most `max` bytes, or absent. */
static int check_string(struct tly_api_job *job, const cJSON *obj, const char *name,
                        const char *field, size_t max)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (v == NULL)
        return 0;
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0' || strlen(v->valuestring) > max)
        return tly_api_job_fail(job, 400, "invalid_request", field,
                                "%s: expected a string of 1 to %zu bytes", field, max);
    return 0;
}

/* The registration body's rules; -1 with the job failed (400 naming the
 * field). */
static int check_registration(struct tly_api_job *job, const cJSON *root)
{
    static const char *const top[] = {"anonymous_id", "name",    "email", "phone",
                                      "attributes",   "profile", NULL};
    static const char *const prof[] = {"timezone", "country", "city", NULL};
    const cJSON *m;
    cJSON_ArrayForEach(m, root)
    {
        int ok = 0;
        for (int i = 0; top[i] != NULL && !ok; i++)
            ok = strcmp(m->string, top[i]) == 0;
        if (!ok)
            return tly_api_job_fail(job, 400, "invalid_request", m->string,
                                    "%.60s: unknown field (attributes go in \"attributes\")",
                                    m->string);
    }
    if (check_string(job, root, "anonymous_id", "anonymous_id", TLY_USER_ID_MAX) ||
        check_string(job, root, "name", "name", 256) ||
        check_string(job, root, "email", "email", 256) ||
        check_string(job, root, "phone", "phone", 32))
        return -1;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "email");
    if (v != NULL && strchr(v->valuestring, '@') == NULL)
        return tly_api_job_fail(job, 400, "invalid_request", "email", "email: expected an address");
    v = cJSON_GetObjectItemCaseSensitive(root, "phone");
    for (const char *p = v ? v->valuestring : ""; *p; p++)
        if (!strchr("0123456789+-() ", *p))
            return tly_api_job_fail(job, 400, "invalid_request", "phone",
                                    "phone: digits, spaces, +, -, ( and ) only");
    v = cJSON_GetObjectItemCaseSensitive(root, "attributes");
    if (v != NULL && !cJSON_IsObject(v))
        return tly_api_job_fail(job, 400, "invalid_request", "attributes",
                                "attributes: expected an object");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(root, "profile");
    if (p == NULL)
        return 0;
    if (!cJSON_IsObject(p))
        return tly_api_job_fail(job, 400, "invalid_request", "profile",
                                "profile: expected an object");
    cJSON_ArrayForEach(m, p)
    {
        int ok = 0;
        for (int i = 0; prof[i] != NULL && !ok; i++)
            ok = strcmp(m->string, prof[i]) == 0;
        if (!ok)
            return tly_api_job_fail(job, 400, "invalid_request", "profile",
                                    "profile.%.60s: unknown field", m->string);
    }
    if (check_string(job, p, "timezone", "profile.timezone", 64) ||
        check_string(job, p, "country", "profile.country", 64) ||
        check_string(job, p, "city", "profile.city", 256))
        return -1;
    v = cJSON_GetObjectItemCaseSensitive(p, "timezone");
    if (v != NULL) {
        struct tly_tz *tz = NULL;
        struct tly_error err = {{0}};
        int rc = tly_tz_load(v->valuestring, &tz, &err);
        tly_tz_free(tz);
        if (rc != 0)
            return tly_api_job_fail(job, 400, "invalid_request", "profile.timezone",
                                    "profile.timezone: unknown time zone");
    }
    return 0;
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
    if (check_registration(job, root) != 0) {
        cJSON_Delete(root);
        tly_api_job_answer(job);
        return;
    }
    cJSON *attrs = cJSON_DetachItemFromObjectCaseSensitive(root, "attributes");
    u->attributes = attrs ? cJSON_PrintUnformatted(attrs) : strdup("{}");
    u->registration = cJSON_PrintUnformatted(root);
    cJSON_Delete(attrs);
    cJSON_Delete(root);
    if (u->attributes == NULL || u->registration == NULL) {
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
    /* The registration's fields, at the top level. */
    const char *reg = v->registration ? v->registration : "{}";
    size_t rl = strlen(reg);
    if (rl > 2 && reg[0] == '{') {
        rc |= tly_buf_puts(b, ",");
        rc |= tly_buf_append(b, reg + 1, rl - 2);
    }
    rc |= tly_buf_puts(b, ",\"attributes\":");
    rc |= tly_buf_puts(b, v->attributes);
    return rc ? TLY_ENOMEM : 0;
}

static int on_segment(void *arg, const char *id, int64_t entered_at)
{
    struct tly_api_job *job = arg;
    struct user_req *u = job->data;
    struct tly_buf *b = &job->out;
    int rc = tly_buf_puts(b, u->count++ ? ",{\"id\":" : "{\"id\":");
    rc |= tly_buf_json_str(b, id, strlen(id));
    rc |= tly_buf_puts(b, ",\"entered_at\":");
    rc |= tly_api_json_time(b, entered_at);
    rc |= tly_buf_puts(b, "}");
    return rc ? TLY_ENOMEM : 0;
}

static void run_get(struct tly_api_job *job, sqlite3 *db)
{
    struct user_req *u = job->data;
    int rc = tly_query_user(db, job->tenant, u->user_id, on_user, job);
    if (rc == 0)
        rc = tly_buf_puts(&job->out, ",\"segments\":[");
    if (rc == 0)
        rc = tly_segment_user_segments(db, job->tenant, u->user_id, on_segment, job);
    if (rc == 0)
        rc = tly_buf_puts(&job->out, "]}");
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
    if (tly_event_json_at(tly_api_log_dir(job->api), u->db, v->offset, v->item, b) != 0) {
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
    u->db = db;
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
    if (tly_api_query_int(req, "limit", 1, EVENTS_MAX, &u->limit) < 0) {
        tly_api_job_fail(job, 400, "invalid_request", "limit", "limit: a number from 1 to %d",
                         EVENTS_MAX);
        tly_api_job_answer(job);
        return;
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
