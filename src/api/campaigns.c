/*
 * Campaign definitions and acceptance (README, "Campaigns API").
 *
 * POST   /v1/campaigns           body = definition → 201, the campaign;
 *                                 409 conflict when the id exists
 * GET    /v1/campaigns           {"campaigns":[…]} ordered by id
 * GET    /v1/campaigns/{id}      the campaign; 404 not_found
 * PUT    /v1/campaigns/{id}      body = the full definition (its id, if
 *                                 given, must be the path's) → 200; 409
 *                                 naming activities, window or timezone
 *                                 when an active campaign would change one
 * DELETE /v1/campaigns/{id}      204; the definition, progress and
 *                                 acceptances go, issued rewards stay
 * POST   /v1/users/{user_id}/campaigns/{id}/accept
 *                                 {"campaign_id","user_id","accepted_at"};
 *                                 the first acceptance's time stays
 *
 * "The campaign" is the canonical definition (tly_campaign_to_json) with
 * created_at, updated_at and counting added: whether events count now
 * (status active; a campaign with a segment counts its members only, and
 * says so in `note`).
 *
 * Definitions are parsed in the job, on a pool thread, since loading a time
 * zone reads a file. A malformed or over-long {id} in a path cannot name a
 * campaign: 404. A definition breaking a rule is 400 naming the field.
 */
#include "api/api.h"
#include "api/definitions.h"
#include "core/json.h"
#include "core/timeparse.h"
#include "engine/campaign.h"
#include "sources/server.h"
#include "store/campaigns.h"

#include <llhttp.h>
#include <stdlib.h>
#include <string.h>

#define SEGMENT_NOTE                                                                               \
    "this campaign counts the events of its segment's members only, from their entry unless "      \
    "count_before_entry is true"

/* A campaign request is the shared definition request: the id from the
 * path ("" for POST), the user id (accept), a copy of the body (POST,
 * PUT). A definition over its size limit is 400. */
static const struct tly_api_def_kind CAMPAIGN = {"campaign", "campaigns"};

/* The stored definition's `webhook` block with "secret_set" in place of
 * the secrets: the whole definition printed again into *out (caller
 * frees with cJSON_free). 0, or TLY_ENOMEM / TLY_ECORRUPT. */
static int hide_secrets(cJSON *def, char **out)
{
    cJSON *wh = cJSON_GetObjectItemCaseSensitive(def, "webhook");
    struct tly_webhooks w;
    struct tly_error err;
    if (tly_webhooks_from_json(wh, "webhook", &w, &err) != 0)
        return TLY_ECORRUPT;
    struct tly_buf b;
    tly_buf_init(&b, 0);
    int rc = tly_webhooks_to_json(&w, 0, &b);
    tly_webhooks_free(&w);
    cJSON *shown = rc == 0 ? cJSON_ParseWithLength(b.data, b.len) : NULL;
    tly_buf_free(&b);
    if (shown == NULL || !cJSON_ReplaceItemInObjectCaseSensitive(def, "webhook", shown)) {
        cJSON_Delete(shown);
        return TLY_ENOMEM;
    }
    *out = cJSON_PrintUnformatted(def);
    return *out != NULL ? 0 : TLY_ENOMEM;
}

/* Appends the campaign of `row` as the API shows it. */
static int render(struct tly_buf *b, const struct tly_campaign_row *row)
{
    /* The stored text is canonical: one compact object; its closing brace
     * makes room for the added members. A webhook block is shown without
     * its secrets. */
    const char *text = row->definition;
    size_t len = row->len;
    char *printed = NULL;
    cJSON *def = cJSON_ParseWithLength(row->definition, row->len);
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(def, "status");
    const cJSON *segment = cJSON_GetObjectItemCaseSensitive(def, "segment");
    int has_segment = segment != NULL && !cJSON_IsNull(segment);
    int active = cJSON_IsString(status) && strcmp(status->valuestring, "active") == 0;
    if (cJSON_GetObjectItemCaseSensitive(def, "webhook") != NULL) {
        int hrc = hide_secrets(def, &printed);
        if (hrc != 0) {
            cJSON_Delete(def);
            return hrc;
        }
        text = printed;
        len = strlen(printed);
    }
    cJSON_Delete(def);
    const char *end = len > 0 ? memrchr(text, '}', len) : NULL;
    if (end == NULL || end == text) {
        cJSON_free(printed);
        return TLY_ECORRUPT;
    }
    int rc = tly_buf_append(b, text, (size_t)(end - text));
    cJSON_free(printed);
    rc |= tly_buf_puts(b, ",\"created_at\":");
    rc |= tly_api_json_time(b, row->created_at);
    rc |= tly_buf_puts(b, ",\"updated_at\":");
    rc |= tly_api_json_time(b, row->updated_at);
    rc |= tly_buf_printf(b, ",\"counting\":%s", active ? "true" : "false");
    if (has_segment)
        rc |= tly_buf_puts(b, ",\"note\":\"" SEGMENT_NOTE "\"");
    rc |= tly_buf_puts(b, "}");
    return rc ? TLY_ENOMEM : 0;
}

static int on_row(void *arg, const struct tly_campaign_row *row)
{
    struct tly_api_job *job = arg;
    if (tly_api_def_row_sep(job) != 0)
        return TLY_ENOMEM;
    return render(&job->out, row);
}

/* The stored campaign the request's id names, into job->out. */
static int read_one(struct tly_api_job *job, sqlite3 *db)
{
    struct tly_api_def *r = job->data;
    return tly_campaign_get(db, job->tenant, r->id, on_row, job);
}

static int read_all(struct tly_api_job *job, sqlite3 *db)
{
    return tly_campaigns_list(db, job->tenant, on_row, job);
}

/* Parses a definition; -1 with the job failed (400 naming the field). */
static int parse(struct tly_api_job *job, const char *text, size_t len, struct tly_campaign **out)
{
    struct tly_error err = {{0}};
    return tly_api_def_parsed(job, tly_campaign_parse(text, len, out, &err), &err);
}

/* The canonical text of c, NUL-terminated in *out (owned by the caller). */
static int canonical(struct tly_api_job *job, const struct tly_campaign *c, struct tly_buf *out)
{
    tly_buf_init(out, 0);
    if (tly_campaign_to_json(c, out) != 0 || tly_buf_append(out, "", 1) != 0) {
        tly_buf_free(out);
        return tly_api_job_fail(job, 500, "internal", NULL, "out of memory");
    }
    return 0;
}

static void run_create(struct tly_api_job *job, sqlite3 *db)
{
    struct tly_api_def *r = job->data;
    struct tly_campaign *c = NULL;
    if (parse(job, r->body, r->len, &c) != 0)
        return;
    struct tly_buf text;
    if (canonical(job, c, &text) == 0) {
        int rc = tly_campaign_create(db, job->tenant, c->id, text.data, tly_now_ms(), NULL);
        tly_api_def_created(job, db, c->id, rc, read_one);
        tly_buf_free(&text);
    }
    tly_campaign_free(c);
}

static void run_list(struct tly_api_job *job, sqlite3 *db)
{
    tly_api_def_list(job, db, read_all);
}

static void run_get(struct tly_api_job *job, sqlite3 *db)
{
    tly_api_def_answer(job, db, read_one);
}

static int copy_definition(void *arg, const struct tly_campaign_row *row)
{
    char **out = arg;
    *out = strdup(row->definition);
    return *out == NULL ? TLY_ENOMEM : 0;
}

static void run_replace(struct tly_api_job *job, sqlite3 *db)
{
    struct tly_api_def *r = job->data;
    char *text = NULL, *stored = NULL;
    struct tly_campaign *next = NULL, *cur = NULL;
    struct tly_buf canon = {0};
    struct tly_error err = {{0}};
    if (tly_api_def_put_text(job, &text) != 0 || parse(job, text, strlen(text), &next) != 0)
        goto done;
    int rc = tly_campaign_get(db, job->tenant, r->id, copy_definition, &stored);
    if (rc != 0) {
        tly_api_def_store_fail(job, rc);
        goto done;
    }
    if (tly_campaign_parse(stored, strlen(stored), &cur, &err) != 0) {
        tly_api_def_store_fail(job, TLY_ECORRUPT);
        goto done;
    }
    rc = tly_campaign_check_change(cur, next, &err);
    if (rc == TLY_ECONFLICT) {
        tly_api_job_fail(job, 409, "conflict", err.field, "%s", err.msg);
        goto done;
    }
    if (rc != 0 || canonical(job, next, &canon) != 0) {
        if (rc != 0)
            tly_api_def_store_fail(job, rc);
        goto done;
    }
    rc = tly_campaign_replace(db, job->tenant, r->id, stored, canon.data, tly_now_ms());
    tly_api_def_replaced(job, db, rc, read_one);
done:
    if (text != r->body)
        cJSON_free(text);
    free(stored);
    tly_buf_free(&canon);
    tly_campaign_free(cur);
    tly_campaign_free(next);
}

static void run_delete(struct tly_api_job *job, sqlite3 *db)
{
    struct tly_api_def *r = job->data;
    tly_api_def_deleted(job, tly_campaign_delete(db, job->tenant, r->id));
}

static void run_accept(struct tly_api_job *job, sqlite3 *db)
{
    struct tly_api_def *r = job->data;
    int64_t at;
    int rc = tly_campaign_accept(db, job->tenant, r->id, r->user_id, tly_now_ms(), &at);
    if (rc != 0) {
        tly_api_def_store_fail(job, rc);
        return;
    }
    struct tly_buf *b = &job->out;
    rc = tly_buf_puts(b, "{\"campaign_id\":");
    rc |= tly_buf_json_str(b, r->id, strlen(r->id));
    rc |= tly_buf_puts(b, ",\"user_id\":");
    rc |= tly_buf_json_str(b, r->user_id, strlen(r->user_id));
    rc |= tly_buf_puts(b, ",\"accepted_at\":");
    rc |= tly_api_json_time(b, at);
    rc |= tly_buf_puts(b, "}");
    if (rc != 0)
        tly_api_def_store_fail(job, TLY_ENOMEM);
}

/* A job for `run` with its request state: the campaign id of path
 * parameter `id_param` (-1: none), the user id of parameter 0 when
 * `user`, a copy of the body when `body`. Answers itself and returns NULL
 * on failure. */
static struct tly_api_job *start(struct tly_http_req *req, void *api,
                                 void (*run)(struct tly_api_job *, sqlite3 *), int id_param,
                                 int user, int body)
{
    struct tly_api_job *job = tly_api_job_new(api, req, run);
    if (job == NULL)
        return NULL;
    if (tly_api_def_init(job, &CAMPAIGN, sizeof(struct tly_api_def), id_param, user ? 0 : -1,
                         body) != 0) {
        tly_api_job_answer(job);
        return NULL;
    }
    return job;
}

static void submit(struct tly_api_job *job)
{
    if (job != NULL)
        tly_api_job_submit(job);
}

static void post_campaign(struct tly_http_req *req, void *api)
{
    submit(start(req, api, run_create, -1, 0, 1));
}

static void list_campaigns(struct tly_http_req *req, void *api)
{
    submit(start(req, api, run_list, -1, 0, 0));
}

static void get_campaign(struct tly_http_req *req, void *api)
{
    submit(start(req, api, run_get, 0, 0, 0));
}

static void put_campaign(struct tly_http_req *req, void *api)
{
    submit(start(req, api, run_replace, 0, 0, 1));
}

static void delete_campaign(struct tly_http_req *req, void *api)
{
    submit(start(req, api, run_delete, 0, 0, 0));
}

static void accept_campaign(struct tly_http_req *req, void *api)
{
    submit(start(req, api, run_accept, 1, 1, 0));
}

int tly_api_campaigns_routes(struct tly_api *api, struct tly_router *r)
{
    int rc = tly_router_add(r, HTTP_POST, "/v1/campaigns", post_campaign, api);
    rc |= tly_router_add(r, HTTP_GET, "/v1/campaigns", list_campaigns, api);
    rc |= tly_router_add(r, HTTP_GET, "/v1/campaigns/{id}", get_campaign, api);
    rc |= tly_router_add(r, HTTP_PUT, "/v1/campaigns/{id}", put_campaign, api);
    rc |= tly_router_add(r, HTTP_DELETE, "/v1/campaigns/{id}", delete_campaign, api);
    rc |= tly_router_add(r, HTTP_POST, "/v1/users/{user_id}/campaigns/{id}/accept", accept_campaign,
                         api);
    return rc ? TLY_ENOMEM : 0;
}
