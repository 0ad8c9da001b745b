/*
 * GET /v1/events/{event_id}: did my event arrive, and why didn't it count?
 *
 *   processed   recorded; `event` is its normalized form
 *   duplicate   recorded earlier; this id was sent again `duplicates` times
 *   failed      could not be processed: `reason`, `field`, `message`
 *   accepted    on disk in the event log, not yet reached by the pipeline
 * and 404 when tally has no trace of it (processed events are remembered
 * for the tenant's dedupe window).
 */
#include "api/api.h"
#include "core/json.h"
#include "pipeline/lookup.h"
#include "sources/server.h"
#include "store/queries.h"

#include <llhttp.h>
#include <stdlib.h>
#include <string.h>

#define ACCEPTED_SCAN_MAX (64u << 20) /* bytes of unprocessed log searched */

struct lookup {
    char id[TLY_EVENT_ID_BUF];
    int failed_found;
};

static int on_failed(const struct tly_failed_view *v, void *arg)
{
    struct tly_api_job *job = arg;
    struct lookup *l = job->data;
    struct tly_buf *b = &job->out;
    l->failed_found = 1;
    int rc = tly_buf_puts(b, "{\"event_id\":");
    rc |= tly_buf_json_str(b, l->id, strlen(l->id));
    rc |= tly_buf_puts(b, ",\"status\":\"failed\",\"reason\":");
    rc |= tly_buf_json_str(b, v->reason, strlen(v->reason));
    rc |= tly_buf_puts(b, ",\"field\":");
    rc |= tly_buf_json_str(b, v->field, strlen(v->field));
    rc |= tly_buf_puts(b, ",\"message\":");
    rc |= tly_buf_json_str(b, v->message, strlen(v->message));
    rc |= tly_buf_printf(b, ",\"failed_event_id\":%lld,\"attempts\":%d,\"failed_at\":",
                         (long long)v->id, v->attempts);
    rc |= tly_api_json_time(b, v->failed_at);
    rc |= tly_buf_puts(b, "}");
    return rc ? TLY_ENOMEM : 1;
}

static void run_lookup(struct tly_api_job *job, sqlite3 *db)
{
    struct lookup *l = job->data;
    struct tly_buf *b = &job->out;
    struct tly_event_status es;
    int rc = tly_query_event(db, tly_api_event_index(job->api), job->tenant, l->id, &es);
    if (rc == 0) {
        rc = tly_buf_puts(b, "{\"event_id\":");
        rc |= tly_buf_json_str(b, l->id, strlen(l->id));
        rc |=
            tly_buf_printf(b, ",\"status\":\"%s\",\"duplicates\":%lld,\"last_duplicate_at\":",
                           es.duplicates > 0 ? "duplicate" : "processed", (long long)es.duplicates);
        rc |= tly_api_json_time(b, es.last_duplicate_at);
        rc |= tly_buf_printf(
            b, ",\"offset\":%llu,\"index\":%d,\"event\":", (unsigned long long)es.offset, es.item);
        if (tly_event_json_at(tly_api_log_dir(job->api), db, es.offset, es.item, b) != 0)
            rc |= tly_buf_puts(b, "null"); /* its segment is past retention */
        rc |= tly_buf_puts(b, "}");
        if (rc != 0)
            tly_api_job_fail(job, 500, "internal", NULL, "out of memory");
        return;
    }
    if (rc != TLY_ENOENT) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
        return;
    }
    struct tly_failed_filter f = {.source = -1, .status = "failed", .event_id = l->id, .limit = 1};
    if (tly_query_failed(db, job->tenant, &f, on_failed, job) != 0) {
        tly_api_job_fail(job, 503, "unavailable", NULL, "state store error");
        return;
    }
    if (l->failed_found)
        return;
    struct tly_pipeline *p = tly_api_pipeline(job->api);
    uint64_t from = p ? tly_pipeline_position(p) : 0;
    uint64_t to = tly_log_durable_end(tly_api_log(job->api)), off;
    if (from < to && tly_log_find_event(tly_api_log_dir(job->api), from, to, job->tenant, l->id,
                                        ACCEPTED_SCAN_MAX, &off) == 1) {
        rc = tly_buf_puts(b, "{\"event_id\":");
        rc |= tly_buf_json_str(b, l->id, strlen(l->id));
        rc |=
            tly_buf_printf(b, ",\"status\":\"accepted\",\"offset\":%llu}", (unsigned long long)off);
        if (rc != 0)
            tly_api_job_fail(job, 500, "internal", NULL, "out of memory");
        return;
    }
    tly_api_job_fail(job, 404, "not_found", "event_id",
                     "no event with this id: not in the log's unprocessed part, not processed "
                     "within the dedupe window, not failed");
}

static void get_event(struct tly_http_req *req, void *arg)
{
    struct tly_api_job *job = tly_api_job_new(arg, req, run_lookup);
    if (job == NULL)
        return;
    struct lookup *l = calloc(1, sizeof *l);
    size_t n;
    const char *raw = tly_http_param(req, 0, &n);
    job->data = l;
    if (l == NULL || tly_url_decode(raw, n, l->id, sizeof l->id) != 0 ||
        strlen(l->id) > TLY_EVENT_ID_MAX) {
        tly_api_job_fail(job, 400, "invalid_request", "event_id",
                         "event_id: malformed or longer than 128 bytes");
        tly_api_job_answer(job);
        return;
    }
    tly_api_job_submit(job);
}

int tly_api_events_routes(struct tly_api *api, struct tly_router *r)
{
    return tly_router_add(r, HTTP_GET, "/v1/events/{event_id}", get_event, api);
}
