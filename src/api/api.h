/*
 * The management API (admin key, tenant-scoped): events, failed events and
 * replay, users, settings, sources, campaigns, webhooks and deliveries.
 *
 * Handlers never touch SQLite on the HTTP loop: a handler checks the admin
 * key and its parameters, then hands a job to libuv's threadpool, which
 * runs the query on a connection from a small pool and fills the answer;
 * the answer is sent back on the loop thread. So a slow query delays its
 * own request only, never ingest.
 */
#ifndef TLY_API_API_H
#define TLY_API_API_H

#include "core/buf.h"
#include "core/logger.h"
#include "http/router.h"
#include "http/server.h"
#include "ingest/auth.h"
#include "ingest/ingest.h"
#include "log/log.h"
#include "pipeline/pipeline.h"

#include <sqlite3.h>
#include <uv.h>

struct tly_api;

struct tly_api_config {
    const char *db_path;
    const char *log_dir;
    uv_loop_t *loop;
    struct tly_auth *auth;         /* borrowed */
    struct tly_log *log;           /* borrowed: the durable end, for lookups */
    struct tly_ingest *ingest;     /* borrowed: replay requests are appended */
    struct tly_pipeline *pipeline; /* borrowed, may be NULL (ingest-only) */
    const struct tly_logger *lg;
};

int tly_api_create(struct tly_api **out, const struct tly_api_config *cfg);
int tly_api_routes(struct tly_api *api, struct tly_router *r);
/* After every job has answered (the server has drained). */
void tly_api_free(struct tly_api *api);

/* A unit of work for the threadpool (api internal). */
struct tly_api_job {
    uv_work_t work;
    struct tly_api *api;
    struct tly_http_req *req;
    uint32_t tenant;
    /* Runs on a pool thread with a connection; fills status and out (or
     * error/field/message). */
    void (*run)(struct tly_api_job *job, sqlite3 *db);
    /* Optional, on the loop thread after run, instead of answering. */
    void (*after)(struct tly_api_job *job);
    int status;
    const char *error; /* error code when status >= 400 */
    char field[64];
    char message[256];
    struct tly_buf out;
    void *data;                    /* the handler's own */
    void (*free_data)(void *data); /* how to free it; free() when NULL */
};

/* Authenticates (admin key) and allocates a job; answers 401 itself and
 * returns NULL when the key is not accepted. */
struct tly_api_job *tly_api_job_new(struct tly_api *api, struct tly_http_req *req,
                                    void (*run)(struct tly_api_job *, sqlite3 *));
/* The same, authenticated by the write key in X-API-KEY (the original
 * service's static-segment API). */
struct tly_api_job *tly_api_job_new_write(struct tly_api *api, struct tly_http_req *req,
                                          void (*run)(struct tly_api_job *, sqlite3 *));
/* Queues the job; the answer is sent when it is done. */
void tly_api_job_submit(struct tly_api_job *job);
/* Sends the job's answer and frees it (for `after` callbacks). */
void tly_api_job_answer(struct tly_api_job *job);
/* Frees a job whose answer was sent another way. */
void tly_api_job_free(struct tly_api_job *job);
/* Appends an ISO-8601 time, or null for 0, as a JSON value. */
int tly_api_json_time(struct tly_buf *b, int64_t ms);
/* Sets an error answer; returns -1. */
int tly_api_job_fail(struct tly_api_job *job, int status, const char *code, const char *field,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Accessors the handlers share. */
const char *tly_api_log_dir(const struct tly_api *api);
struct tly_log *tly_api_log(const struct tly_api *api);
struct tly_ingest *tly_api_ingest(const struct tly_api *api);
struct tly_pipeline *tly_api_pipeline(const struct tly_api *api);
/* The pipeline's event index, or NULL when this process runs no pipeline. */
struct tly_event_index *tly_api_event_index(const struct tly_api *api);

/* Query-string helpers: the decoded value of `name` into out (NUL-
 * terminated); 1 found, 0 absent, -1 too long or malformed. */
int tly_query_get(const char *q, size_t qlen, const char *name, char *out, size_t outsz);

/* Percent-decodes a path parameter into out; -1 if malformed or too long. */
int tly_url_decode(const char *s, size_t n, char *out, size_t outsz);

/* Decodes path parameter `i` of the job's request as a user id (UTF-8, at
 * most outsz - 1 bytes) into out. 0, or -1 with the job failed (400 naming
 * user_id); the caller answers. */
int tly_api_user_id_param(struct tly_api_job *job, int i, char *out, size_t outsz);

/* Decodes path parameter `i` of the job's request as an id (at most
 * outsz - 1 bytes) into out. 0, or -1 with the job failed (404 not_found
 * naming `field`, with `msg`: what cannot be decoded names nothing); the
 * caller answers. */
int tly_api_id_param(struct tly_api_job *job, int i, char *out, size_t outsz, const char *field,
                     const char *msg);

/* A NUL-terminated copy of the job's request body into *body (the caller
 * frees it) and its length. 0, or -1 with the job failed (503). */
int tly_api_body_copy(struct tly_api_job *job, char **body, size_t *len);

/* Query parameter `name` as a decimal integer from lo to hi into *out
 * (left alone when absent). 1 set, 0 absent, -1 malformed or out of range
 * (the caller answers, naming its own limits). */
int tly_api_query_int(struct tly_http_req *req, const char *name, int lo, int hi, int *out);

/* Route registration of each resource file. */
int tly_api_events_routes(struct tly_api *api, struct tly_router *r);
int tly_api_failed_routes(struct tly_api *api, struct tly_router *r);
int tly_api_users_routes(struct tly_api *api, struct tly_router *r);
int tly_api_settings_routes(struct tly_api *api, struct tly_router *r);
int tly_api_sources_routes(struct tly_api *api, struct tly_router *r);
int tly_api_campaigns_routes(struct tly_api *api, struct tly_router *r);
int tly_api_progress_routes(struct tly_api *api, struct tly_router *r);
int tly_api_segments_routes(struct tly_api *api, struct tly_router *r);
int tly_api_webhooks_routes(struct tly_api *api, struct tly_router *r);

#endif
