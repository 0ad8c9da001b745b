/*
 * `tallyd serve`: wires the parts together and runs them until SIGTERM or
 * SIGINT.
 *
 * Start: options → state.db (migrations; a `default` tenant on a data
 * directory that has none) → event log recovery → pipeline → outbox
 * (webhook delivery) thread → writer thread → HTTP.
 * Stop: /readyz turns 503 → the server stops accepting and lets in-flight
 * requests finish → the log writer syncs what is queued and exits → the
 * pipeline and the outbox thread stop (webhooks in flight stay pending and
 * are sent again at the next start) → the
 * loop runs out of handles → exit 0. A second signal during shutdown exits
 * at once with status 1 (nothing acknowledged is lost: every 200 was sent
 * after its fdatasync).
 */
#include "api/api.h"
#include "api/ops.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "core/fsutil.h"
#include "core/logger.h"
#include "core/timeparse.h"
#include "http/server.h"
#include "ingest/auth.h"
#include "ingest/ingest.h"
#include "log/log.h"
#include "outbox/outbox.h"
#include "pipeline/pipeline.h"
#include "store/db.h"
#include "store/tenants.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct serve_config {
    const char *data;
    const char *listen;
    const char *log_level;
    uint64_t max_body, max_header, max_url;
    int max_connections;
    uint64_t idle_timeout, header_timeout, body_timeout, shutdown_grace;
    uint64_t segment_size, queue_bytes;
    int queue_records;
    int no_bootstrap;
    int no_pipeline;
    uint64_t log_retention, retention_interval;
    int pipeline_batch;
    uint64_t pipeline_batch_ms;
    uint64_t engine_cache, segments_cache;
    const char *webhook_allow_hosts;
    int webhook_concurrency;
    uint64_t webhook_timeout, webhook_retry_first, webhook_retry_max, webhook_retry_window;
    uint64_t webhook_poll;
};

struct serve {
    struct serve_config cfg;
    struct tly_logger lg;
    int lock_fd; /* DATA/tallyd.lock, held while serving */
    uv_loop_t loop;
    uv_signal_t sigterm, sigint;
    struct tly_log *log;
    struct tly_auth *auth;
    struct tly_ingest *ingest;
    struct tly_router router;
    struct tly_ops ops;
    struct tly_pipeline *pipeline;
    struct tly_outbox *outbox;
    struct tly_api *api;
    struct tly_http_server *server;
    int stopping;
};

static int serve_options(struct serve_config *c, struct tly_option *o)
{
    int n = 0;
    o[n++] = (struct tly_option){
        "data",  "TALLY_DATA", TLY_OPT_STRING, "./data", "data directory (event log, state.db)",
        &c->data};
    o[n++] = (struct tly_option){"listen",
                                 "TALLY_LISTEN",
                                 TLY_OPT_STRING,
                                 "127.0.0.1:8080",
                                 "HOST:PORT to listen on (port 0 = any free port)",
                                 &c->listen};
    o[n++] = (struct tly_option){
        "max-body",  "TALLY_MAX_BODY", TLY_OPT_SIZE, "1m", "largest request body; larger gets 413",
        &c->max_body};
    o[n++] = (struct tly_option){"max-header",
                                 "TALLY_MAX_HEADER",
                                 TLY_OPT_SIZE,
                                 "16k",
                                 "largest request line + headers; larger gets 431",
                                 &c->max_header};
    o[n++] = (struct tly_option){
        "max-url",  "TALLY_MAX_URL", TLY_OPT_SIZE, "8k", "longest request URL; longer gets 414",
        &c->max_url};
    o[n++] = (struct tly_option){
        "max-connections", "TALLY_MAX_CONNECTIONS",           TLY_OPT_INT,
        "10000",           "open client connections allowed", &c->max_connections};
    o[n++] = (struct tly_option){"idle-timeout",
                                 "TALLY_IDLE_TIMEOUT",
                                 TLY_OPT_MS,
                                 "60s",
                                 "close a keep-alive connection idle this long",
                                 &c->idle_timeout};
    o[n++] = (struct tly_option){"header-timeout",
                                 "TALLY_HEADER_TIMEOUT",
                                 TLY_OPT_MS,
                                 "10s",
                                 "408 if request headers take longer",
                                 &c->header_timeout};
    o[n++] = (struct tly_option){"body-timeout",
                                 "TALLY_BODY_TIMEOUT",
                                 TLY_OPT_MS,
                                 "30s",
                                 "408 if a request body takes longer",
                                 &c->body_timeout};
    o[n++] = (struct tly_option){"shutdown-grace",
                                 "TALLY_SHUTDOWN_GRACE",
                                 TLY_OPT_MS,
                                 "10s",
                                 "on SIGTERM, how long in-flight requests may take",
                                 &c->shutdown_grace};
    o[n++] = (struct tly_option){"segment-size",
                                 "TALLY_SEGMENT_SIZE",
                                 TLY_OPT_SIZE,
                                 "128m",
                                 "event log segment size before a new file",
                                 &c->segment_size};
    o[n++] = (struct tly_option){"queue-records",
                                 "TALLY_QUEUE_RECORDS",
                                 TLY_OPT_INT,
                                 "65536",
                                 "appends in flight before 503 + Retry-After",
                                 &c->queue_records};
    o[n++] = (struct tly_option){"queue-bytes",
                                 "TALLY_QUEUE_BYTES",
                                 TLY_OPT_SIZE,
                                 "256m",
                                 "bytes in flight before 503 + Retry-After",
                                 &c->queue_bytes};
    o[n++] = (struct tly_option){
        "log-level",  "TALLY_LOG_LEVEL", TLY_OPT_STRING, "info", "debug, info, warn or error",
        &c->log_level};
    o[n++] = (struct tly_option){"no-bootstrap",
                                 "TALLY_NO_BOOTSTRAP",
                                 TLY_OPT_FLAG,
                                 "0",
                                 "do not create a `default` tenant in an empty data directory",
                                 &c->no_bootstrap};
    o[n++] = (struct tly_option){"no-pipeline",
                                 "TALLY_NO_PIPELINE",
                                 TLY_OPT_FLAG,
                                 "0",
                                 "accept events but do not process them (they wait in the log)",
                                 &c->no_pipeline};
    o[n++] = (struct tly_option){"log-retention",
                                 "TALLY_LOG_RETENTION",
                                 TLY_OPT_MS,
                                 "7d",
                                 "delete processed log segments older than this (0 = keep all)",
                                 &c->log_retention};
    o[n++] = (struct tly_option){"retention-interval",
                                 "TALLY_RETENTION_INTERVAL",
                                 TLY_OPT_MS,
                                 "10m",
                                 "how often retention runs (log segments, dedupe window)",
                                 &c->retention_interval};
    o[n++] =
        (struct tly_option){"pipeline-batch",
                            "TALLY_PIPELINE_BATCH",
                            TLY_OPT_INT,
                            "100000",
                            "events per state-store transaction (about; a record is never split)",
                            &c->pipeline_batch};
    o[n++] = (struct tly_option){"pipeline-batch-time",
                                 "TALLY_PIPELINE_BATCH_TIME",
                                 TLY_OPT_MS,
                                 "2s",
                                 "and at most this long (the delay before a batch's effects show)",
                                 &c->pipeline_batch_ms};
    o[n++] = (struct tly_option){"engine-cache",
                                 "TALLY_ENGINE_CACHE",
                                 TLY_OPT_SIZE,
                                 "512m",
                                 "memory for campaign progress kept between batches",
                                 &c->engine_cache};
    o[n++] = (struct tly_option){"segments-cache",
                                 "TALLY_SEGMENTS_CACHE",
                                 TLY_OPT_SIZE,
                                 "256m",
                                 "memory for segment state kept between batches",
                                 &c->segments_cache};
    o[n++] = (struct tly_option){
        "webhook-allow-hosts",
        "TALLY_WEBHOOK_ALLOW_HOSTS",
        TLY_OPT_STRING,
        "",
        "webhook hosts that may have non-public addresses (comma separated; * = any)",
        &c->webhook_allow_hosts};
    o[n++] = (struct tly_option){"webhook-concurrency",
                                 "TALLY_WEBHOOK_CONCURRENCY",
                                 TLY_OPT_INT,
                                 "4",
                                 "webhook requests in flight per endpoint",
                                 &c->webhook_concurrency};
    o[n++] = (struct tly_option){"webhook-timeout",
                                 "TALLY_WEBHOOK_TIMEOUT",
                                 TLY_OPT_MS,
                                 "10s",
                                 "a webhook request taking longer fails and is retried",
                                 &c->webhook_timeout};
    o[n++] = (struct tly_option){"webhook-retry-first",
                                 "TALLY_WEBHOOK_RETRY_FIRST",
                                 TLY_OPT_MS,
                                 "1s",
                                 "delay before the first webhook retry; it doubles after each",
                                 &c->webhook_retry_first};
    o[n++] = (struct tly_option){"webhook-retry-max",
                                 "TALLY_WEBHOOK_RETRY_MAX",
                                 TLY_OPT_MS,
                                 "1h",
                                 "longest delay between webhook retries",
                                 &c->webhook_retry_max};
    o[n++] = (struct tly_option){"webhook-retry-window",
                                 "TALLY_WEBHOOK_RETRY_WINDOW",
                                 TLY_OPT_MS,
                                 "24h",
                                 "a webhook not delivered this long after its first attempt fails",
                                 &c->webhook_retry_window};
    o[n++] = (struct tly_option){"webhook-poll",
                                 "TALLY_WEBHOOK_POLL",
                                 TLY_OPT_MS,
                                 "200ms",
                                 "how often the outbox is looked at for new and due webhooks",
                                 &c->webhook_poll};
    return n;
}

static int split_listen(const char *listen, char *host, size_t hostsz, int *port)
{
    const char *colon = strrchr(listen, ':');
    if (colon == NULL || colon == listen || (size_t)(colon - listen) >= hostsz)
        return TLY_EINVAL;
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p < 0 || p > 65535 || colon[1] == '\0')
        return TLY_EINVAL;
    const char *h = listen;
    size_t hl = (size_t)(colon - listen);
    if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') { /* [::1]:8080 */
        h++;
        hl -= 2;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (int)p;
    return 0;
}

/* Creates the `default` tenant in a data directory that has no tenant.
 * *created is set when it did; the keys are then in wk/ak. */
static int bootstrap(struct serve *s, const char *db_path, int *created, char wk[TLY_KEY_TEXT_MAX],
                     char ak[TLY_KEY_TEXT_MAX])
{
    struct tly_error err;
    struct tly_db *db;
    *created = 0;
    if (tly_db_open(&db, db_path, &err) != 0) {
        tly_log_error(&s->lg, "cannot open state store", "path=%s error=\"%s\"", db_path, err.msg);
        return -1;
    }
    long n = tly_tenant_count(db);
    int rc = n < 0 ? -1 : 0;
    if (n == 0 && !s->cfg.no_bootstrap) {
        struct tly_tenant t;
        if (tly_tenant_create(db, "default", &t, wk, ak, &err) != 0) {
            tly_log_error(&s->lg, "cannot create default tenant", "error=\"%s\"", err.msg);
            rc = -1;
        } else {
            *created = 1;
        }
    }
    tly_db_close(db);
    return rc;
}

/* Shows the new tenant's keys once, with a first request to try. */
static void print_welcome(const char *host, int port, const char *wk, const char *ak)
{
    char ts[25];
    tly_time_format(tly_now_ms(), ts);
    printf("\ntally: first start in this data directory; created tenant \"default\".\n"
           "  write key (X-API-KEY):               %s\n"
           "  admin key (Authorization: Bearer):  %s\n"
           "  Keep them now: tally stores only their hashes.\n\n"
           "  Send a first event:\n"
           "  curl -sS http://%s:%d/server/v4 -H 'X-API-KEY: %s' \\\n"
           "    -H 'Content-Type: application/json' \\\n"
           "    -d '{\"event_id\":\"first-1\",\"event_name\":\"app_opened\","
           "\"user_id\":\"user-1\",\"timestamp\":\"%s\",\"event_properties\":{}}'\n\n"
           "  See what became of it:\n"
           "  curl -sS http://%s:%d/v1/events/first-1 -H 'Authorization: Bearer %s'\n\n",
           wk, ak, host, port, wk, ts, host, port, ak);
    fflush(stdout);
}

static void on_closed_noop(uv_handle_t *h)
{
    (void)h;
}

static void on_durable(void *arg, uint64_t end, uint64_t records)
{
    tly_pipeline_notify(arg, end, records);
}

static void on_http_stopped(void *arg)
{
    struct serve *s = arg;
    tly_log_stop(s->log); /* syncs and answers whatever is still queued */
    tly_pipeline_stop(s->pipeline);
    tly_outbox_stop(s->outbox);
    tly_auth_close(s->auth);
    uv_close((uv_handle_t *)&s->sigterm, on_closed_noop);
    uv_close((uv_handle_t *)&s->sigint, on_closed_noop);
    tly_log_info(&s->lg, "stopped", "durable_offset=%" PRIu64, tly_log_durable_end(s->log));
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct serve *s = h->data;
    if (s->stopping) {
        tly_log_warn(&s->lg, "second signal; exiting now", "signal=%d", signum);
        _exit(1);
    }
    s->stopping = 1;
    s->ops.shutting_down = 1;
    tly_log_info(&s->lg, "shutting down", "signal=%d grace_ms=%" PRIu64, signum,
                 s->cfg.shutdown_grace);
    tly_http_server_shutdown(s->server, s->cfg.shutdown_grace, on_http_stopped, s);
}

static int run(struct serve *s)
{
    char host[64];
    int port;
    if (split_listen(s->cfg.listen, host, sizeof host, &port) != 0) {
        fprintf(stderr, "tallyd serve: --listen must be HOST:PORT, got '%s'\n", s->cfg.listen);
        return 2;
    }
    if (tly_mkdir_p(s->cfg.data) != 0) {
        tly_log_error(&s->lg, "cannot create data directory", "path=%s", s->cfg.data);
        return 1;
    }
    /* Before anything reads or repairs the log or the state. */
    struct tly_error lock_err;
    if (tly_lock_data_dir(s->cfg.data, &s->lock_fd, &lock_err) != 0) {
        tly_log_error(&s->lg, "cannot lock the data directory", "error=\"%s\"", lock_err.msg);
        return 1;
    }
    char db_path[4096], log_dir[4096];
    snprintf(db_path, sizeof db_path, "%s/state.db", s->cfg.data);
    snprintf(log_dir, sizeof log_dir, "%s/log", s->cfg.data);
    int created;
    char wk[TLY_KEY_TEXT_MAX], ak[TLY_KEY_TEXT_MAX];
    if (bootstrap(s, db_path, &created, wk, ak) != 0)
        return 1;

    struct tly_log_config lc = {
        .dir = log_dir,
        .segment_max = s->cfg.segment_size,
        .queue_max_records = (size_t)s->cfg.queue_records,
        .queue_max_bytes = (size_t)s->cfg.queue_bytes,
    };
    struct tly_log_recovery rec;
    if (tly_log_open(&s->log, &lc, &s->lg, &rec) != 0) {
        tly_log_error(&s->lg, "cannot open event log", "dir=%s", log_dir);
        return 1;
    }
    tly_log_info(&s->lg, "event log open",
                 "dir=%s segments=%" PRIu64 " end_offset=%" PRIu64 " tail_records=%" PRIu64
                 " recovered_bytes=%" PRIu64,
                 log_dir, rec.segments, rec.end_offset, rec.tail_records, rec.truncated_bytes);

    int rc = 1;
    uv_loop_init(&s->loop);
    if (!s->cfg.no_pipeline) {
        struct tly_pipeline_config pc = {
            .log_dir = log_dir,
            .db_path = db_path,
            .log_end = rec.end_offset, /* recovery has just read it */
            .log_retention_ms = s->cfg.log_retention,
            .retention_every_ms = s->cfg.retention_interval > 0 ? s->cfg.retention_interval : 1,
            .batch_events = s->cfg.pipeline_batch > 0 ? s->cfg.pipeline_batch : 1,
            .batch_ms = s->cfg.pipeline_batch_ms > 0 ? s->cfg.pipeline_batch_ms : 1,
            .engine_cache_bytes = (size_t)s->cfg.engine_cache,
            .segments_cache_bytes = (size_t)s->cfg.segments_cache,
        };
        struct tly_error err;
        if (tly_pipeline_open(&s->pipeline, &pc, &s->lg, &err) != 0) {
            tly_log_error(&s->lg, "cannot open the pipeline", "error=\"%s\"", err.msg);
            goto out;
        }
        tly_log_on_durable(s->log, on_durable, s->pipeline);
        if (tly_pipeline_start(s->pipeline) != 0)
            goto out;
    }
    struct tly_outbox_config oc = {
        .db_path = db_path,
        .allow_hosts = s->cfg.webhook_allow_hosts,
        .per_endpoint = s->cfg.webhook_concurrency,
        .max_in_flight = 64,
        .timeout_ms = (int64_t)s->cfg.webhook_timeout,
        .poll_ms = (int64_t)s->cfg.webhook_poll,
        .retry = {.first_ms = (int64_t)s->cfg.webhook_retry_first,
                  .max_ms = (int64_t)s->cfg.webhook_retry_max,
                  .give_up_ms = (int64_t)s->cfg.webhook_retry_window},
        .user_agent = "tally-webhooks/" TALLY_VERSION,
    };
    struct tly_error oerr;
    if (tly_outbox_open(&s->outbox, &oc, &s->lg, &oerr) != 0) {
        tly_log_error(&s->lg, "cannot open the outbox", "error=\"%s\"", oerr.msg);
        goto out;
    }
    if (tly_outbox_start(s->outbox) != 0)
        goto out;
    if (tly_log_start(s->log, &s->loop) != 0)
        goto out;
    if (tly_auth_open(&s->auth, &s->loop, db_path, &s->lg) != 0)
        goto out;
    if (tly_ingest_create(&s->ingest, s->log, s->auth, &s->lg) != 0)
        goto out;
    struct tly_api_config ac = {
        .db_path = db_path,
        .log_dir = log_dir,
        .loop = &s->loop,
        .auth = s->auth,
        .log = s->log,
        .ingest = s->ingest,
        .pipeline = s->pipeline,
        .lg = &s->lg,
    };
    if (tly_api_create(&s->api, &ac) != 0)
        goto out;
    tly_router_init(&s->router);
    s->ops.log = s->log;
    s->ops.ingest = s->ingest;
    s->ops.pipeline = s->pipeline;
    s->ops.outbox = s->outbox;
    s->ops.started_at = tly_now_ms();
    if (tly_ops_routes(&s->ops, &s->router) != 0 || tly_ingest_routes(s->ingest, &s->router) != 0 ||
        tly_api_routes(s->api, &s->router) != 0)
        goto out;

    struct tly_http_config hc = {
        .port = port,
        .limits = {.max_header_bytes = s->cfg.max_header,
                   .max_url = s->cfg.max_url,
                   .max_body = s->cfg.max_body},
        .idle_timeout_ms = s->cfg.idle_timeout,
        .header_timeout_ms = s->cfg.header_timeout,
        .body_timeout_ms = s->cfg.body_timeout,
        .max_connections = s->cfg.max_connections,
    };
    snprintf(hc.host, sizeof hc.host, "%s", host);
    if (tly_http_server_start(&s->server, &s->loop, &hc, &s->router, &s->lg) != 0)
        goto out;
    s->ops.server = s->server;

    uv_signal_init(&s->loop, &s->sigterm);
    uv_signal_init(&s->loop, &s->sigint);
    s->sigterm.data = s->sigint.data = s;
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    uv_signal_start(&s->sigint, on_signal, SIGINT);

    if (created)
        print_welcome(host, tly_http_server_port(s->server), wk, ak);
    tly_log_info(&s->lg, "listening", "addr=%s:%d pid=%ld", host, tly_http_server_port(s->server),
                 (long)getpid());
    uv_run(&s->loop, UV_RUN_DEFAULT);
    rc = 0;
out:
    if (rc != 0) {
        /* Start-up failed part way: stop what was started, let handles close. */
        tly_log_stop(s->log);
        tly_pipeline_stop(s->pipeline);
        tly_outbox_stop(s->outbox);
        if (s->auth != NULL)
            tly_auth_close(s->auth);
        uv_run(&s->loop, UV_RUN_NOWAIT);
    }
    uv_loop_close(&s->loop);
    tly_http_server_free(s->server);
    tly_api_free(s->api);
    tly_pipeline_close(s->pipeline);
    tly_outbox_close(s->outbox);
    tly_ingest_free(s->ingest);
    tly_router_free(&s->router);
    tly_log_close(s->log);
    return rc;
}

int tly_cmd_serve(int argc, char **argv)
{
    struct serve *s = calloc(1, sizeof *s);
    if (s == NULL)
        return 1;
    struct tly_option opts[32];
    int n = serve_options(&s->cfg, opts);
    struct tly_args args;
    struct tly_error err;
    int rc = 0;
    if (tly_options_parse(opts, n, argc, argv, &args, &err) != 0) {
        fprintf(stderr, "tallyd serve: %s\n", err.msg);
        rc = 2;
    } else if (args.help) {
        tly_options_help(stdout, "tallyd serve [options]", opts, n);
    } else if (args.npositional > 0) {
        fprintf(stderr, "tallyd serve: unexpected argument '%s'\n", args.positional[0]);
        rc = 2;
    } else {
        int level = tly_log_level_parse(s->cfg.log_level);
        if (level < 0) {
            fprintf(stderr, "tallyd serve: --log-level must be debug, info, warn or error\n");
            rc = 2;
        } else {
            signal(SIGPIPE, SIG_IGN);
            tly_logger_init(&s->lg, stderr, (enum tly_log_level)level);
            s->lock_fd = -1;
            rc = run(s);
            if (s->lock_fd >= 0)
                close(s->lock_fd);
        }
    }
    free(s);
    return rc;
}
