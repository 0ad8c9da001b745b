/*
 * Operations endpoints: GET /healthz (the process answers), GET /readyz
 * (the event log accepts appends, the pipeline is not stopped on an error,
 * and the server is not shutting down),
 * GET /metrics (Prometheus text format, every module's metrics).
 *
 * Test builds (TALLY_TESTING) add POST /debug/log-fault?op=write|fsync,
 * which makes the log's next write or fdatasync fail, for fault-injection
 * tests, and POST /debug/clock?now_ms=, which sets the clock of segments'
 * rolling windows (tly_pipeline_set_clock). Release builds have neither.
 */
#ifndef TLY_API_OPS_H
#define TLY_API_OPS_H

#include "http/router.h"
#include "http/server.h"
#include "ingest/ingest.h"
#include "log/log.h"
#include "outbox/outbox.h"
#include "pipeline/pipeline.h"

#include <stdint.h>

struct tly_ops {
    struct tly_log *log;            /* borrowed */
    struct tly_ingest *ingest;      /* borrowed */
    struct tly_pipeline *pipeline;  /* borrowed; NULL when not running one */
    struct tly_http_server *server; /* borrowed; set once the server runs */
    struct tly_outbox *outbox;      /* borrowed; NULL when not running one */
    int64_t started_at;             /* ms since the epoch */
    int shutting_down;
};

int tly_ops_routes(struct tly_ops *ops, struct tly_router *r);

#endif
