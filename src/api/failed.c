/*
 * Failed events: list them, and replay them after a fix.
 *
 * GET /v1/failed-events?source=&reason=&status=&since=&limit=&cursor=
 *   newest first; status failed (default), replayed or all; since an
 *   ISO-8601 time or epoch; limit 1..500 (default 50); cursor from the
 *   previous page's next_cursor. Raw items can be large, so a page also
 *   ends once it passes 4 MiB; next_cursor then continues it.
 * POST /v1/failed-events/replay
 *   {"ids":[…]} or a filter {"source","reason","since","limit"} (status is
 *   always failed), at most 1000 items. The selection is written to the
 *   event log as a replay record and answered once that is durable; the
 *   pipeline then runs each item again with the current settings. An item
 *   that now succeeds is processed exactly once and marked replayed.
 */
#include "api/api.h"
#include "core/json.h"
#include "core/timeparse.h"
#include "core/utf8.h"
#include "log/record.h"
#include "sources/adapter.h"
#include "store/queries.h"

#include <llhttp.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT   50
#define LIST_MAX       500
#define REPLAY_MAX     1000
#define LIST_BYTES_MAX (4u << 20) /* a page stops early past this; next_cursor goes on */

struct listing {
    struct tly_failed_filter f;
    char reason[64], status[16];
    int count;
    int64_t last_id;
    int cut_short; /* stopped at LIST_BYTES_MAX */
    /* replay only: the selected ids (REPLAY_MAX, in the same allocation) */
    int64_t *ids;
    int nids;
};

static struct listing *listing_new(int with_ids)
{
    struct listing *l = calloc(1, sizeof *l + (with_ids ? REPLAY_MAX * sizeof(int64_t) : 0));
    if (l != NULL && with_ids)
        l->ids = (int64_t *)(l + 1);
    return l;
}

/* The failed item: as JSON when it is JSON and valid UTF-8 (the answer
 * must stay valid UTF-8: tly_json_check does not judge string bytes), as a
 * string when it is UTF-8 text, else base64. */
static int append_raw(struct tly_buf *b, const struct tly_failed_view *v)
{
    struct tly_error err;
    int utf8 = tly_utf8_valid(v->raw, v->raw_len);
    if (utf8 && tly_json_check(v->raw, v->raw_len, &err) == 0) {
        int rc = tly_buf_puts(b, ",\"item\":");
        return rc | tly_buf_append(b, v->raw, v->raw_len);
    }
    if (utf8) {
        int rc = tly_buf_puts(b, ",\"raw\":");
        return rc | tly_buf_json_str(b, v->raw, v->raw_len);
    }
    int rc = tly_buf_puts(b, ",\"raw_base64\":\"");
    rc |= tly_buf_base64(b, v->raw, v->raw_len);
    return rc | tly_buf_puts(b, "\"");
}

static int on_row(const struct tly_failed_view *v, void *arg)
{
    struct tly_api_job *job = arg;
    struct listing *l = job->data;
    struct tly_buf *b = &job->out;
    int rc = tly_buf_printf(b,
                            "%s{\"id\":%lld,\"source\":\"%s\",\"offset\":%llu,\"index\":%d,"
                            "\"event_id\":",
                            l->count ? "," : "", (long long)v->id, tly_source_name(v->source),
                            (unsigned long long)v->offset, v->item);
    rc |= v->event_id ? tly_buf_json_str(b, v->event_id, strlen(v->event_id))
                      : tly_buf_puts(b, "null");
    rc |= tly_buf_printf(b, ",\"reason\":\"%s\",\"field\":", v->reason);
    rc |= tly_buf_json_str(b, v->field, strlen(v->field));
    rc |= tly_buf_puts(b, ",\"message\":");
    rc |= tly_buf_json_str(b, v->message, strlen(v->message));
    rc |= tly_buf_printf(b, ",\"status\":\"%s\",\"attempts\":%d,\"received_at\":", v->status,
                         v->attempts);
    rc |= tly_api_json_time(b, v->received_at);
    rc |= tly_buf_puts(b, ",\"failed_at\":");
    rc |= tly_api_json_time(b, v->failed_at);
    rc |= tly_buf_puts(b, ",\"replayed_at\":");
    rc |= tly_api_json_time(b, v->replayed_at);
    rc |= append_raw(b, v);
    rc |= tly_buf_puts(b, "}");
    l->count++;
    l->last_id = v->id;
    if (rc != 0)
        return TLY_ENOMEM;
    if (b->len > LIST_BYTES_MAX) {
        l->cut_short = 1; /* raw items can be large: keep pages bounded */
        return 1;
    }
    return 0;
}

static void run_list(struct tly_api_job *job, sqlite3 *db)
{
    struct listing *l = job->data;
    int rc = tly_buf_puts(&job->out, "{\"failed_events\":[");
    if (rc == 0 && tly_query_failed(db, job->tenant, &l->f, on_row, job) != 0) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
        return;
    }
    if (l->count == l->f.limit || l->cut_short)
        rc |= tly_buf_printf(&job->out, "],\"next_cursor\":\"%lld\"}", (long long)l->last_id);
    else
        rc |= tly_buf_puts(&job->out, "],\"next_cursor\":null}");
    if (rc != 0)
        tly_api_job_fail(job, 500, "internal", NULL, "out of memory");
}

/* Fills the filter from query parameters (list) or a JSON body (replay).
 * `get(name, out, outsz)` returns 1 found, 0 absent, -1 malformed. */
static int parse_filter(struct tly_api_job *job, struct listing *l,
                        int (*get)(void *ctx, const char *name, char *out, size_t outsz), void *ctx,
                        int max)
{
    char v[128];
    l->f.source = -1;
    l->f.limit = max == LIST_MAX ? LIST_DEFAULT : max;
    int got = get(ctx, "source", v, sizeof v);
    if (got == 1 && (l->f.source = tly_source_parse(v)) < 0)
        return tly_api_job_fail(job, 400, "invalid_request", "source",
                                "source: unknown source '%s'", v);
    got = get(ctx, "reason", l->reason, sizeof l->reason);
    if (got == 1) {
        if (tly_fail_reason_parse(l->reason, strlen(l->reason)) == 0)
            return tly_api_job_fail(job, 400, "invalid_request", "reason",
                                    "reason: unknown reason '%s'", l->reason);
        l->f.reason = l->reason;
    }
    got = get(ctx, "since", v, sizeof v);
    if (got == 1) {
        struct tly_error err;
        if (tly_time_parse(v, strlen(v), &l->f.since, "since", &err) != 0)
            return tly_api_job_fail(job, 400, "invalid_request", "since", "%s", err.msg);
    }
    got = get(ctx, "limit", v, sizeof v);
    if (got == 1) {
        char *end;
        long n = strtol(v, &end, 10);
        if (*end != '\0' || n < 1 || n > max)
            return tly_api_job_fail(job, 400, "invalid_request", "limit",
                                    "limit: a number from 1 to %d", max);
        l->f.limit = (int)n;
    }
    if (got < 0)
        return tly_api_job_fail(job, 400, "invalid_request", "", "malformed parameters");
    return 0;
}

struct query_ctx {
    const char *q;
    size_t n;
};

static int get_query(void *ctx, const char *name, char *out, size_t outsz)
{
    struct query_ctx *c = ctx;
    return tly_query_get(c->q, c->n, name, out, outsz);
}

static void list_failed(struct tly_http_req *req, void *arg)
{
    struct tly_api_job *job = tly_api_job_new(arg, req, run_list);
    if (job == NULL)
        return;
    struct listing *l = listing_new(0);
    job->data = l;
    if (l == NULL) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "out of memory");
        tly_api_job_answer(job);
        return;
    }
    struct query_ctx qc;
    qc.q = tly_http_query(req, &qc.n);
    if (parse_filter(job, l, get_query, &qc, LIST_MAX) != 0) {
        tly_api_job_answer(job);
        return;
    }
    char v[32];
    int got = tly_query_get(qc.q, qc.n, "status", l->status, sizeof l->status);
    if (got == 0 || strcmp(l->status, "failed") == 0)
        l->f.status = "failed";
    else if (got == 1 && strcmp(l->status, "replayed") == 0)
        l->f.status = "replayed";
    else if (got != 1 || strcmp(l->status, "all") != 0) {
        tly_api_job_fail(job, 400, "invalid_request", "status", "status: failed, replayed or all");
        tly_api_job_answer(job);
        return;
    }
    if (tly_query_get(qc.q, qc.n, "cursor", v, sizeof v) == 1) {
        char *end;
        l->f.before_id = strtoll(v, &end, 10);
        if (*end != '\0' || l->f.before_id <= 0) {
            tly_api_job_fail(job, 400, "invalid_request", "cursor", "cursor: malformed");
            tly_api_job_answer(job);
            return;
        }
    }
    tly_api_job_submit(job);
}

/* --- replay ----------------------------------------------------------------- */

static int on_replay_row(const struct tly_failed_view *v, void *arg)
{
    struct listing *l = arg;
    if (l->nids < REPLAY_MAX)
        l->ids[l->nids++] = v->id;
    return 0;
}

static void run_select(struct tly_api_job *job, sqlite3 *db)
{
    struct listing *l = job->data;
    l->f.status = "failed";
    if (l->nids > 0) {
        /* Explicit ids: keep those of this tenant that are still failed. */
        int asked = l->nids;
        l->nids = 0;
        for (int i = 0; i < asked; i++) {
            struct tly_failed_filter one = {
                .source = -1, .status = "failed", .id = l->ids[i], .limit = 1};
            if (tly_query_failed(db, job->tenant, &one, on_replay_row, l) != 0) {
                tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
                return;
            }
        }
        return;
    }
    if (tly_query_failed(db, job->tenant, &l->f, on_replay_row, l) != 0)
        tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
}

/* On the loop: write the replay record; answered when durable. */
static void after_select(struct tly_api_job *job)
{
    struct listing *l = job->data;
    struct tly_buf ids, body, answer;
    tly_buf_init(&ids, 0);
    tly_buf_init(&body, 0);
    tly_buf_init(&answer, 0);
    int rc = 0;
    for (int i = 0; i < l->nids; i++)
        rc |= tly_buf_printf(&ids, "%s%lld", i ? "," : "", (long long)l->ids[i]);
    rc |= tly_buf_printf(&body, "{\"ids\":[%s]}", ids.data ? ids.data : "");
    rc |= tly_buf_printf(&answer, "{\"success\":true,\"replaying\":%d,\"ids\":[%s]}", l->nids,
                         ids.data ? ids.data : "");
    if (rc != 0) {
        tly_api_job_fail(job, 500, "internal", NULL, "out of memory");
        tly_api_job_answer(job);
    } else if (l->nids == 0) {
        tly_http_respond(job->req, 200, "application/json", answer.data, answer.len);
        tly_api_job_free(job);
    } else {
        tly_ingest_append(tly_api_ingest(job->api), job->req, job->tenant, TLY_SOURCE_INTERNAL,
                          TLY_KIND_REPLAY, 0, body.data, body.len, answer.data, answer.len);
        tly_api_job_free(job);
    }
    tly_buf_free(&ids);
    tly_buf_free(&body);
    tly_buf_free(&answer);
}

static int get_json(void *ctx, const char *name, char *out, size_t outsz)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive((const cJSON *)ctx, name);
    if (v == NULL)
        return 0;
    if (cJSON_IsString(v) && strlen(v->valuestring) < outsz) {
        snprintf(out, outsz, "%s", v->valuestring);
        return 1;
    }
    if (cJSON_IsNumber(v)) {
        snprintf(out, outsz, "%.0f", v->valuedouble);
        return 1;
    }
    return -1;
}

static int parse_ids(struct tly_api_job *job, struct listing *l, const cJSON *list)
{
    if (!cJSON_IsArray(list) || cJSON_GetArraySize(list) > REPLAY_MAX)
        return tly_api_job_fail(job, 400, "invalid_request", "ids",
                                "ids: an array of at most %d failed-event ids", REPLAY_MAX);
    const cJSON *id;
    cJSON_ArrayForEach(id, list)
    {
        if (!cJSON_IsNumber(id) ||
            !(id->valuedouble >= 1 && id->valuedouble < 9007199254740992.0) ||
            id->valuedouble != (double)(int64_t)id->valuedouble)
            return tly_api_job_fail(job, 400, "invalid_request", "ids",
                                    "ids: failed-event ids are whole positive numbers");
        l->ids[l->nids++] = (int64_t)id->valuedouble;
    }
    return 0;
}

static void replay(struct tly_http_req *req, void *arg)
{
    struct tly_api_job *job = tly_api_job_new(arg, req, run_select);
    if (job == NULL)
        return;
    job->after = after_select;
    struct listing *l = listing_new(1);
    job->data = l;
    if (l == NULL) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "out of memory");
        tly_api_job_answer(job);
        return;
    }
    size_t len;
    const char *text = tly_http_body(req, &len);
    struct tly_error err;
    cJSON *root = tly_json_parse(text, len, &err);
    int rc = 0;
    if (root == NULL)
        rc = tly_api_job_fail(job, 400, "invalid_request", err.field, "%s", err.msg);
    else if (!cJSON_IsObject(root))
        rc = tly_api_job_fail(job, 400, "invalid_request", "", "expected a JSON object");
    else if (cJSON_GetObjectItemCaseSensitive(root, "ids") != NULL)
        rc = parse_ids(job, l, cJSON_GetObjectItemCaseSensitive(root, "ids"));
    else {
        rc = parse_filter(job, l, get_json, root, REPLAY_MAX);
        if (rc == 0 && cJSON_GetObjectItemCaseSensitive(root, "limit") == NULL)
            l->f.limit = 100;
    }
    cJSON_Delete(root);
    if (rc != 0) {
        tly_api_job_answer(job);
        return;
    }
    tly_api_job_submit(job);
}

int tly_api_failed_routes(struct tly_api *api, struct tly_router *r)
{
    int rc = tly_router_add(r, HTTP_GET, "/v1/failed-events", list_failed, api);
    rc |= tly_router_add(r, HTTP_POST, "/v1/failed-events/replay", replay, api);
    return rc ? TLY_ENOMEM : 0;
}
