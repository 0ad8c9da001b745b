/*
 * The HTTP/1.1 server: connections on a libuv loop, parsing (http1.h),
 * routing (router.h), answers, timeouts, limits and graceful shutdown.
 *
 * A connection handles one request at a time: while a handler holds a
 * request, bytes that arrive are kept (reading pauses once 256 KiB wait)
 * and parsed after the answer, so answers always go out in request order
 * and a slow handler bounds the memory a connection can take. A peer that
 * half-closes still gets the answers to what it sent.
 *
 * A handler must answer exactly once with tly_http_respond (directly, or
 * later from the loop thread, e.g. when the event log has made the record
 * durable). Request data is borrowed until then.
 *
 * Timeouts: idle (no request begun), header (from the first byte of a
 * request to the end of its headers) and body (from the end of the headers
 * to the end of the body). Idle closes quietly; the others answer 408 and
 * close. A connection that is being closed after an answer keeps reading
 * and discarding for a short linger so the peer sees the answer, not a
 * reset.
 *
 * Shutdown: the listener closes, idle connections close, busy ones finish
 * their current request (answered with Connection: close); after
 * `grace_ms` whatever is left is closed. Then `done` runs.
 */
#ifndef TLY_HTTP_SERVER_H
#define TLY_HTTP_SERVER_H

#include "core/buf.h"
#include "core/logger.h"
#include "http/http1.h"
#include "http/router.h"

#include <stdint.h>
#include <uv.h>

struct tly_http_server;
struct tly_http_req;

struct tly_http_config {
    char host[64];
    int port; /* 0 = any free port (see tly_http_server_port) */
    struct tly_h1_limits limits;
    uint64_t idle_timeout_ms;
    uint64_t header_timeout_ms;
    uint64_t body_timeout_ms;
    int max_connections;
};

/* Binds and starts listening. `router` and `lg` are borrowed for the
 * server's life. */
int tly_http_server_start(struct tly_http_server **out, uv_loop_t *loop,
                          const struct tly_http_config *cfg, const struct tly_router *router,
                          const struct tly_logger *lg);
int tly_http_server_port(const struct tly_http_server *srv);
void tly_http_server_shutdown(struct tly_http_server *srv, uint64_t grace_ms,
                              void (*done)(void *arg), void *arg);
int tly_http_server_metrics(const struct tly_http_server *srv, struct tly_buf *out);
/* After shutdown's `done` and after the loop has closed the handles. */
void tly_http_server_free(struct tly_http_server *srv);

/* Request accessors; pointers are borrowed until the answer is sent. */
int tly_http_method(const struct tly_http_req *req);
const char *tly_http_path(const struct tly_http_req *req, size_t *len);
const char *tly_http_query(const struct tly_http_req *req, size_t *len); /* after '?', or "" */
const char *tly_http_header(const struct tly_http_req *req, const char *name, size_t *len);
const char *tly_http_body(const struct tly_http_req *req, size_t *len);
const char *tly_http_param(const struct tly_http_req *req, int i, size_t *len);
const uint8_t *tly_http_request_id(const struct tly_http_req *req); /* 16 bytes */
int64_t tly_http_received_at(const struct tly_http_req *req);       /* ms since the epoch */
struct tly_http_server *tly_http_req_server(const struct tly_http_req *req);

/* Adds a response header line for the coming answer ("Name", "value"). */
void tly_http_add_header(struct tly_http_req *req, const char *name, const char *value);

/* Sends the answer. `content_type` may be NULL for an empty body. */
void tly_http_respond(struct tly_http_req *req, int status, const char *content_type,
                      const char *body, size_t len);

/* Sends {"success":false,"error":code,"field":field?,"message":msg}. */
void tly_http_respond_error(struct tly_http_req *req, int status, const char *code,
                            const char *field, const char *msg);

const char *tly_http_reason(int status);

#endif
