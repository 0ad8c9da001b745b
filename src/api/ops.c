/*
 * /healthz, /readyz, /metrics (see ops.h).
 */
#include "api/ops.h"
#include "core/metrics.h"
#include "core/timeparse.h"

#include <llhttp.h>
#include <stdlib.h>
#include <string.h>

#ifndef TALLY_VERSION
#define TALLY_VERSION "dev"
#endif

static int ready(const struct tly_ops *ops)
{
    return !ops->shutting_down && tly_log_ready(ops->log) &&
           (ops->pipeline == NULL || tly_pipeline_running(ops->pipeline));
}

static void healthz(struct tly_http_req *req, void *arg)
{
    (void)arg;
    static const char ok[] = "{\"status\":\"ok\"}";
    tly_http_respond(req, 200, "application/json", ok, sizeof ok - 1);
}

static void readyz(struct tly_http_req *req, void *arg)
{
    struct tly_ops *ops = arg;
    if (ops->shutting_down) {
        static const char s[] = "{\"ready\":false,\"reason\":\"shutting down\"}";
        tly_http_respond(req, 503, "application/json", s, sizeof s - 1);
    } else if (!tly_log_ready(ops->log)) {
        static const char s[] = "{\"ready\":false,\"reason\":\"event log is not writable\"}";
        tly_http_respond(req, 503, "application/json", s, sizeof s - 1);
    } else if (ops->pipeline != NULL && !tly_pipeline_running(ops->pipeline)) {
        static const char s[] = "{\"ready\":false,\"reason\":\"pipeline stopped on an error\"}";
        tly_http_respond(req, 503, "application/json", s, sizeof s - 1);
    } else {
        static const char s[] = "{\"ready\":true}";
        tly_http_respond(req, 200, "application/json", s, sizeof s - 1);
    }
}

static void metrics(struct tly_http_req *req, void *arg)
{
    struct tly_ops *ops = arg;
    struct tly_buf b;
    tly_buf_init(&b, 0);
    int rc = tly_metrics_header(&b, "tally_build_info", "gauge", "Build information.");
    rc |= tly_metrics_sample(&b, "tally_build_info", "version=\"" TALLY_VERSION "\"", 1);
    rc |= tly_metrics_header(&b, "tally_start_time_seconds", "gauge",
                             "Start time of the process since the epoch.");
    rc |= tly_metrics_sample(&b, "tally_start_time_seconds", "", (double)ops->started_at / 1000.0);
    rc |= tly_metrics_header(&b, "tally_ready", "gauge", "1 when /readyz answers 200.");
    rc |= tly_metrics_sample(&b, "tally_ready", "", ready(ops) ? 1 : 0);
    if (ops->server != NULL)
        rc |= tly_http_server_metrics(ops->server, &b);
    rc |= tly_log_metrics(ops->log, &b);
    rc |= tly_ingest_metrics(ops->ingest, &b);
    if (ops->pipeline != NULL)
        rc |= tly_pipeline_metrics(ops->pipeline, &b);
    if (ops->outbox != NULL)
        rc |= tly_outbox_metrics(ops->outbox, &b);
    if (rc != 0)
        tly_http_respond_error(req, 500, "internal", NULL, "out of memory");
    else
        tly_http_respond(req, 200, "text/plain; version=0.0.4", b.data, b.len);
    tly_buf_free(&b);
}

#ifdef TALLY_TESTING
static void log_fault(struct tly_http_req *req, void *arg)
{
    struct tly_ops *ops = arg;
    size_t n;
    const char *q = tly_http_query(req, &n);
    enum tly_log_fault f = TLY_FAULT_NONE;
    if (n == 8 && memcmp(q, "op=write", 8) == 0)
        f = TLY_FAULT_WRITE;
    else if (n == 8 && memcmp(q, "op=fsync", 8) == 0)
        f = TLY_FAULT_SYNC;
    if (f == TLY_FAULT_NONE) {
        tly_http_respond_error(req, 400, "invalid_request", "op", "op must be write or fsync");
        return;
    }
    tly_log_inject_fault(ops->log, f);
    static const char ok[] = "{\"armed\":true}";
    tly_http_respond(req, 200, "application/json", ok, sizeof ok - 1);
}

/* POST /debug/clock?now_ms=<ms since the epoch, 0 = the wall clock>: the
 * clock of segments' rolling windows, for tests of their expiry. */
static void set_clock(struct tly_http_req *req, void *arg)
{
    struct tly_ops *ops = arg;
    size_t n;
    const char *q = tly_http_query(req, &n);
    char v[24];
    char *end = NULL;
    long long ms = n > 7 && n - 7 < sizeof v && memcmp(q, "now_ms=", 7) == 0
                       ? (memcpy(v, q + 7, n - 7), v[n - 7] = '\0', strtoll(v, &end, 10))
                       : -1;
    if (ops->pipeline == NULL || ms < 0 || end == NULL || *end != '\0') {
        tly_http_respond_error(req, 400, "invalid_request", "now_ms",
                               "now_ms must be ms since the epoch (0: the wall clock)");
        return;
    }
    tly_pipeline_set_clock(ops->pipeline, ms);
    static const char ok[] = "{\"set\":true}";
    tly_http_respond(req, 200, "application/json", ok, sizeof ok - 1);
}
#endif

int tly_ops_routes(struct tly_ops *ops, struct tly_router *r)
{
    int rc = tly_router_add(r, HTTP_GET, "/healthz", healthz, ops);
    rc |= tly_router_add(r, HTTP_GET, "/readyz", readyz, ops);
    rc |= tly_router_add(r, HTTP_GET, "/metrics", metrics, ops);
#ifdef TALLY_TESTING
    rc |= tly_router_add(r, HTTP_POST, "/debug/log-fault", log_fault, ops);
    rc |= tly_router_add(r, HTTP_POST, "/debug/clock", set_clock, ops);
#endif
    return rc ? TLY_ENOMEM : 0;
}
