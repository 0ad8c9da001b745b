/*
 * POST /server/v4 and POST /server/v4/batch (see ingest.h and
 * sources/server.h for the checks).
 *
 * Bodies are checked by the zero-allocation scanner (sources/server.h), which
 * gives the same answers as the cJSON checks the pipeline runs. A request
 * that passes the checks becomes one log record holding its raw body; the answer text is prepared
 * before the append and kept with it, so the completion only has to send it.
 */
#include "ingest/ingest.h"
#include "core/metrics.h"
#include "log/record.h"
#include "sources/server.h"

#include <llhttp.h>
#include <stdlib.h>
#include <string.h>

/* Pending blocks of up to POOL_BLOCK bytes (a single event, most batches
 * of a few) are kept for reuse when their request is answered, up to
 * POOL_MAX of them: the block is freed on another turn of the loop than it
 * was taken, long after, which malloc's per-size caches do not absorb. */
#define POOL_BLOCK 2048
#define POOL_MAX   1024

struct pending;

struct tly_ingest {
    struct tly_log *log;
    struct tly_auth *auth;
    const struct tly_logger *lg;
    /* loop thread only */
    struct pending *pool; /* free POOL_BLOCK blocks, owned here */
    size_t pool_len;
    uint64_t requests_accepted, events_accepted, events_rejected, refused_unavailable;
};

/* One request waiting for its record to be durable. */
struct pending {
    struct tly_log_append append; /* first: the completion gets this pointer */
    struct tly_http_req *req;
    struct tly_ingest *ing;
    struct pending *next_free; /* in ing->pool */
    size_t size;               /* of the whole block */
    size_t answer_len;
    char *answer;   /* points into data, after the record */
    uint8_t data[]; /* record, then answer */
};

/* A block of at least `size` bytes, from the pool when it fits; owned by
 * the caller until pending_put. NULL when out of memory. */
static struct pending *pending_get(struct tly_ingest *ing, size_t size)
{
    struct pending *p;
    if (size <= POOL_BLOCK && ing->pool != NULL) {
        p = ing->pool;
        ing->pool = p->next_free;
        ing->pool_len--;
        return p;
    }
    size_t block = size <= POOL_BLOCK ? POOL_BLOCK : size;
    p = malloc(block);
    if (p != NULL)
        p->size = block;
    return p;
}

/* Takes `p` back: into the pool, or freed. */
static void pending_put(struct tly_ingest *ing, struct pending *p)
{
    if (p->size == POOL_BLOCK && ing->pool_len < POOL_MAX) {
        p->next_free = ing->pool;
        ing->pool = p;
        ing->pool_len++;
        return;
    }
    free(p);
}

static void answer_unavailable(struct tly_ingest *ing, struct tly_http_req *req, int rc)
{
    ing->refused_unavailable++;
    tly_http_add_header(req, "Retry-After", rc == TLY_EBUSY ? "1" : "5");
    const char *msg = rc == TLY_EBUSY      ? "ingest queue is full; retry shortly"
                      : rc == TLY_ESTOPPED ? "shutting down; retry shortly"
                                           : "event log is unavailable; nothing was stored";
    tly_http_respond_error(req, 503, "unavailable", NULL, msg);
}

static void on_durable(struct tly_log_append *a)
{
    struct pending *p = (struct pending *)a;
    if (a->status == 0) {
        p->ing->requests_accepted++;
        tly_http_respond(p->req, 200, "application/json", p->answer, p->answer_len);
    } else {
        answer_unavailable(p->ing, p->req, a->status == TLY_EBUSY ? TLY_EBUSY : TLY_EFAILED);
    }
    pending_put(p->ing, p);
}

void tly_ingest_append(struct tly_ingest *ing, struct tly_http_req *req, uint32_t tenant,
                       uint8_t source, uint8_t kind, uint8_t flags, const char *body,
                       size_t body_len, const char *answer, size_t answer_len)
{
    tly_ingest_append_meta(ing, req, tenant, source, kind, flags, NULL, 0, body, body_len, answer,
                           answer_len);
}

void tly_ingest_append_meta(struct tly_ingest *ing, struct tly_http_req *req, uint32_t tenant,
                            uint8_t source, uint8_t kind, uint8_t flags, const char *meta,
                            size_t meta_len, const char *body, size_t body_len, const char *answer,
                            size_t answer_len)
{
    size_t rec_len = tly_record_size(meta_len, body_len);
    struct pending *p = pending_get(ing, sizeof *p + rec_len + answer_len);
    if (p == NULL) {
        answer_unavailable(ing, req, TLY_EBUSY);
        return;
    }
    struct tly_record r = {
        .source = source,
        .kind = kind,
        .flags = flags,
        .tenant = tenant,
        .received_at = tly_http_received_at(req),
        .meta = meta,
        .meta_len = meta_len,
        .body = body,
        .body_len = body_len,
    };
    memcpy(r.request_id, tly_http_request_id(req), 16);
    tly_record_encode(&r, p->data);
    p->answer = (char *)p->data + rec_len;
    memcpy(p->answer, answer, answer_len);
    p->answer_len = answer_len;
    p->req = req;
    p->ing = ing;
    p->append.rec = p->data;
    p->append.len = rec_len;
    p->append.done = on_durable;
    int rc = tly_log_append(ing->log, &p->append);
    if (rc != 0) {
        pending_put(ing, p);
        answer_unavailable(ing, req, rc);
    }
}

static int authenticate(struct tly_ingest *ing, struct tly_http_req *req, uint32_t *tenant)
{
    const char *why;
    if (tly_auth_write(ing->auth, req, tenant, &why) != 0) {
        tly_auth_reject(req, why);
        return -1;
    }
    return 0;
}

static void bad_request(struct tly_http_req *req, const struct tly_error *err)
{
    tly_http_respond_error(req, 400, "invalid_request", err->field, err->msg);
}

static void handle_single(struct tly_http_req *req, void *arg)
{
    struct tly_ingest *ing = arg;
    uint32_t tenant;
    if (authenticate(ing, req, &tenant) != 0)
        return;
    size_t len;
    const char *body = tly_http_body(req, &len);
    struct tly_error err;
    if (tly_server_scan_event(body, len, NULL, &err) != 0) {
        ing->events_rejected++;
        bad_request(req, &err);
        return;
    }
    ing->events_accepted++;
    static const char ok[] = "{\"success\":true}";
    tly_ingest_append(ing, req, tenant, TLY_SOURCE_SERVER, TLY_KIND_SINGLE, TLY_RECORD_BODY_CHECKED,
                      body, len, ok, sizeof ok - 1);
}

/* The verdicts of a batch's items, as the scan reports them. */
struct batch_answer {
    struct tly_buf errors; /* {"index":…,"field":…,"message":…} items, comma-separated */
    int accepted, rejected, rc;
};

static void on_item(void *arg, int index, int64_t ts_ms, const struct tly_error *err)
{
    (void)ts_ms;
    struct batch_answer *a = arg;
    if (err == NULL) {
        a->accepted++;
        return;
    }
    struct tly_buf *b = &a->errors;
    a->rc |= tly_buf_printf(b, "%s{\"index\":%d,\"field\":", a->rejected ? "," : "", index);
    a->rc |= tly_buf_json_str(b, err->field, strlen(err->field));
    a->rc |= tly_buf_puts(b, ",\"message\":");
    a->rc |= tly_buf_json_str(b, err->msg, strlen(err->msg));
    a->rc |= tly_buf_puts(b, "}");
    a->rejected++;
}

static void handle_batch(struct tly_http_req *req, void *arg)
{
    struct tly_ingest *ing = arg;
    uint32_t tenant;
    if (authenticate(ing, req, &tenant) != 0)
        return;
    size_t len;
    const char *body = tly_http_body(req, &len);
    struct tly_error err;
    struct batch_answer a = {.accepted = 0};
    tly_buf_init(&a.errors, 0);
    if (tly_server_scan_batch(body, len, on_item, &a, &err) != 0) {
        tly_buf_free(&a.errors); /* what the items said does not count */
        bad_request(req, &err);
        return;
    }
    struct tly_buf answer;
    tly_buf_init(&answer, 0);
    int rc = a.rc;
    rc |= tly_buf_printf(&answer, "{\"success\":true,\"accepted\":%d,\"rejected\":%d,\"errors\":[",
                         a.accepted, a.rejected);
    rc |= tly_buf_append(&answer, a.errors.data ? a.errors.data : "", a.errors.len);
    rc |= tly_buf_puts(&answer, "]}");
    tly_buf_free(&a.errors);
    if (rc != 0) {
        tly_buf_free(&answer);
        answer_unavailable(ing, req, TLY_EBUSY);
        return;
    }
    ing->events_accepted += (uint64_t)a.accepted;
    ing->events_rejected += (uint64_t)a.rejected;
    tly_ingest_append(ing, req, tenant, TLY_SOURCE_SERVER, TLY_KIND_BATCH, TLY_RECORD_BODY_CHECKED,
                      body, len, answer.data, answer.len);
    tly_buf_free(&answer);
}

int tly_ingest_create(struct tly_ingest **out, struct tly_log *log, struct tly_auth *auth,
                      const struct tly_logger *lg)
{
    struct tly_ingest *ing = calloc(1, sizeof *ing);
    if (ing == NULL)
        return TLY_ENOMEM;
    ing->log = log;
    ing->auth = auth;
    ing->lg = lg;
    *out = ing;
    return 0;
}

int tly_ingest_routes(struct tly_ingest *ing, struct tly_router *r)
{
    int rc = tly_router_add(r, HTTP_POST, "/server/v4", handle_single, ing);
    if (rc == 0)
        rc = tly_router_add(r, HTTP_POST, "/server/v4/batch", handle_batch, ing);
    if (rc == 0)
        rc = tly_ingest_segment_routes(ing, r);
    if (rc == 0)
        rc = tly_ingest_moengage_routes(ing, r);
    if (rc == 0)
        rc = tly_ingest_webengage_routes(ing, r);
    if (rc == 0)
        rc = tly_ingest_clevertap_routes(ing, r);
    return rc;
}

struct tly_auth *tly_ingest_auth(struct tly_ingest *ing)
{
    return ing->auth;
}

void tly_ingest_count(struct tly_ingest *ing, uint64_t accepted, uint64_t rejected)
{
    ing->events_accepted += accepted;
    ing->events_rejected += rejected;
}

int tly_ingest_metrics(const struct tly_ingest *ing, struct tly_buf *b)
{
    int rc = tly_metrics_header(b, "tally_ingest_requests_accepted_total", "counter",
                                "Ingest requests made durable and answered 200.");
    rc |= tly_metrics_sample(b, "tally_ingest_requests_accepted_total", "",
                             (double)ing->requests_accepted);
    rc |= tly_metrics_header(b, "tally_ingest_events_checked_total", "counter",
                             "Events that passed (result=\"accepted\") or failed "
                             "(result=\"rejected\") the ingest checks.");
    rc |= tly_metrics_sample(b, "tally_ingest_events_checked_total", "result=\"accepted\"",
                             (double)ing->events_accepted);
    rc |= tly_metrics_sample(b, "tally_ingest_events_checked_total", "result=\"rejected\"",
                             (double)ing->events_rejected);
    rc |= tly_metrics_header(b, "tally_ingest_unavailable_total", "counter",
                             "Requests answered 503: queue full, log failed or shutting down.");
    rc |= tly_metrics_sample(b, "tally_ingest_unavailable_total", "",
                             (double)ing->refused_unavailable);
    rc |=
        tly_metrics_header(b, "tally_auth_failures_total", "counter", "Requests refused with 401.");
    rc |= tly_metrics_sample(b, "tally_auth_failures_total", "",
                             (double)tly_auth_failures(ing->auth));
    return rc ? TLY_ENOMEM : 0;
}

void tly_ingest_free(struct tly_ingest *ing)
{
    if (ing == NULL)
        return;
    while (ing->pool != NULL) {
        struct pending *p = ing->pool;
        ing->pool = p->next_free;
        free(p);
    }
    free(ing);
}
