/*
 * MoEngage Streams ingest endpoints: `POST /v3/moengage` and
 * `POST /moengage/v4` (the same handler; see sources/moengage.h).
 *
 * Authenticates (X-API-KEY with the write key, or Basic auth with the write
 * key as user name), checks the body with the allocation-free scan
 * (tly_moengage_scan: strict JSON, an object with a non-empty "events"
 * array of at most TLY_MOENGAGE_EVENTS_MAX), and appends the raw body as
 * one BATCH record; 200 {"success":true} once it is durable.
 *
 * MoEngage resends a batch it did not get a 2xx for three times and then
 * drops it, so nothing it sends is refused once authenticated: a body that
 * can never succeed (not JSON, no "events" array, …) is appended unchecked
 * and answered 200 {"success":true,"dead_letter":{"field","message"}} once
 * durable; the pipeline fails the whole record, which then waits in
 * GET /v1/failed-events with its reason and raw body. Bad events inside a
 * good body are judged one by one and end as failed events too.
 */
#include "ingest/ingest.h"
#include "log/record.h"
#include "sources/moengage.h"

#include <llhttp.h>
#include <string.h>

static const char ok[] = "{\"success\":true}";

/* X-API-KEY when sent, else Basic auth. 0, or -1 with the 401 sent. */
static int authenticate(struct tly_ingest *ing, struct tly_http_req *req, uint32_t *tenant)
{
    struct tly_auth *a = tly_ingest_auth(ing);
    const char *why;
    size_t n;
    int rc;
    if (tly_http_header(req, "x-api-key", &n) != NULL ||
        tly_http_header(req, "authorization", &n) == NULL)
        rc = tly_auth_write(a, req, tenant, &why); /* names X-API-KEY when both are missing */
    else
        rc = tly_auth_basic_write(a, req, TLY_SOURCE_MOENGAGE, tenant, &why);
    if (rc != 0) {
        tly_auth_reject(req, why);
        return -1;
    }
    return 0;
}

/* Appends a body that can never succeed, to be failed as a whole by the
 * pipeline, and answers 200 with why once it is durable. */
static void append_dead_letter(struct tly_ingest *ing, struct tly_http_req *req, uint32_t tenant,
                               const char *body, size_t len, const struct tly_error *err)
{
    struct tly_buf answer;
    tly_buf_init(&answer, 4096);
    int rc = tly_buf_puts(&answer, "{\"success\":true,\"dead_letter\":{\"field\":");
    rc |= tly_buf_json_str(&answer, err->field, strlen(err->field));
    rc |= tly_buf_puts(&answer, ",\"message\":");
    rc |= tly_buf_json_str(&answer, err->msg, strlen(err->msg));
    rc |= tly_buf_puts(&answer, "}}");
    tly_ingest_count(ing, 0, 1);
    if (rc != 0)
        tly_http_respond_error(req, 503, "unavailable", NULL, "out of memory");
    else
        tly_ingest_append(ing, req, tenant, TLY_SOURCE_MOENGAGE, TLY_KIND_BATCH, 0, body, len,
                          answer.data, answer.len);
    tly_buf_free(&answer);
}

static void handle_streams(struct tly_http_req *req, void *arg)
{
    struct tly_ingest *ing = arg;
    uint32_t tenant;
    if (authenticate(ing, req, &tenant) != 0)
        return;
    size_t len;
    const char *body = tly_http_body(req, &len);
    struct tly_moengage_body b;
    struct tly_error err;
    if (tly_moengage_scan(body, len, &b, &err) != 0) {
        append_dead_letter(ing, req, tenant, body, len, &err);
        return;
    }
    tly_ingest_count(ing, b.items, 0);
    tly_ingest_append(ing, req, tenant, TLY_SOURCE_MOENGAGE, TLY_KIND_BATCH,
                      TLY_RECORD_BODY_CHECKED, body, len, ok, sizeof ok - 1);
}

int tly_ingest_moengage_routes(struct tly_ingest *ing, struct tly_router *r)
{
    int rc = tly_router_add(r, HTTP_POST, "/v3/moengage", handle_streams, ing);
    rc |= tly_router_add(r, HTTP_POST, "/moengage/v4", handle_streams, ing);
    return rc ? TLY_ENOMEM : 0;
}
