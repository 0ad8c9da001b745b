/*
 * Connections, answers, timeouts and shutdown (see server.h).
 *
 * Connection states:
 *   READ     parsing; reading from the socket unless pipelined bytes wait
 *   HANDLER  a handler holds the request; the socket is not read
 *   LINGER   the last answer is queued; the write side is shut down once it
 *            is sent, and input is read and dropped until EOF or a timer
 *   CLOSING  handles are being closed
 * A connection is freed when both handles have closed and no handler holds
 * it (a handler that answers a closed connection only releases it).
 */
#include "http/server.h"
#include "core/err.h"
#include "core/metrics.h"
#include "core/timeparse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define READ_BUF_SIZE       (64 * 1024)
#define LINGER_MS           2000
#define PIPELINE_BUFFER_MAX (256 * 1024) /* waiting bytes before reading pauses */

/* Status codes counted per route; anything else counts as "other". */
static const int counted_status[] = {200, 202, 204, 400, 401, 403, 404, 405, 408,
                                     409, 413, 414, 415, 417, 429, 431, 500, 503};
#define N_STATUS ((int)(sizeof counted_status / sizeof counted_status[0]) + 1)

enum conn_state { CS_READ, CS_HANDLER, CS_LINGER, CS_CLOSING };
enum timer_kind { T_NONE, T_IDLE, T_HEADER, T_BODY, T_WRITE, T_LINGER };

struct conn;

struct tly_http_req {
    struct conn *c;
};

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown;
    struct tly_http_server *srv;
    struct tly_http_req req;
    struct tly_h1 h1;
    struct tly_buf in; /* pipelined bytes not yet parsed */
    size_t in_off;
    struct tly_buf extra; /* response header lines for the coming answer */
    enum conn_state state;
    enum timer_kind timer_kind;
    uint64_t deadline; /* loop time (ms) at which timer_kind expires */
    uint64_t armed_at; /* loop time the libuv timer fires at, when `armed` */
    int armed;
    int open_handles;
    int in_handler;
    int busy; /* inside process(): answers must not re-enter it */
    int reading;
    int peer_eof;  /* the peer half-closed while it still had answers coming */
    int shut_done; /* LINGER: the last answer and the FIN have been sent */
    int route;     /* -1 = none */
    struct tly_route_match match;
    size_t path_len, query_off, query_len;
    uint8_t request_id[16];
    int64_t received_at;
    struct conn *prev, *next;
};

struct tly_http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_timer_t grace;
    struct tly_http_config cfg;
    const struct tly_router *router;
    const struct tly_logger *lg;
    int port;
    char rbuf[READ_BUF_SIZE]; /* shared: libuv reads into it one call at a time */
    struct conn *conns;
    int nconns;
    int shutting_down;
    void (*shutdown_done)(void *);
    void *shutdown_arg;
    uint8_t id_prefix[8];
    uint64_t id_counter;
    char date[40]; /* cached "Date: ...\r\n" */
    time_t date_sec;
    /* metrics, loop thread only */
    uint64_t *status_counts; /* (routes + 1 unmatched) × N_STATUS */
    uint64_t bytes_in, bytes_out, conns_total, conns_refused, timeouts;
};

static void process_pending(struct conn *c);
static void close_conn(struct conn *c);

const char *tly_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    }
    return "Unknown";
}

static void count_status(struct tly_http_server *srv, int route, int status)
{
    int si = N_STATUS - 1;
    for (int i = 0; i < N_STATUS - 1; i++)
        if (counted_status[i] == status)
            si = i;
    int ri = route >= 0 ? route : srv->router->n;
    srv->status_counts[ri * N_STATUS + si]++;
}

/* --- handles and lifetime ------------------------------------------------ */

/* Last connection gone during shutdown: release the grace timer, report. */
static void finish_shutdown(struct tly_http_server *srv)
{
    if (srv->shutdown_done == NULL)
        return;
    void (*done)(void *) = srv->shutdown_done;
    srv->shutdown_done = NULL;
    uv_close((uv_handle_t *)&srv->grace, NULL);
    done(srv->shutdown_arg);
}

static void maybe_free(struct conn *c)
{
    if (c->open_handles > 0 || c->in_handler)
        return;
    struct tly_http_server *srv = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
    tly_h1_free(&c->h1);
    tly_buf_free(&c->in);
    tly_buf_free(&c->extra);
    free(c);
    if (srv->shutting_down && srv->nconns == 0)
        finish_shutdown(srv);
}

static void on_handle_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    c->open_handles--;
    maybe_free(c);
}

static void close_conn(struct conn *c)
{
    if (c->state == CS_CLOSING)
        return;
    c->state = CS_CLOSING;
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

/* --- writing --------------------------------------------------------------- */

struct write_req {
    uv_write_t req;
    struct conn *c;
    char data[];
};

static void on_write(uv_write_t *w, int status)
{
    struct write_req *wr = (struct write_req *)w;
    struct conn *c = wr->c;
    free(wr);
    if (status < 0 && c->state != CS_CLOSING)
        close_conn(c);
}

static void send_bytes(struct conn *c, const char *p, size_t n)
{
    if (c->state == CS_CLOSING)
        return;
    c->srv->bytes_out += n;
    uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);
    int r = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    if (r == (int)n)
        return;
    if (r < 0 && r != UV_EAGAIN && r != UV_ENOSYS) {
        close_conn(c);
        return;
    }
    size_t off = r > 0 ? (size_t)r : 0;
    struct write_req *wr = malloc(sizeof *wr + n - off);
    if (wr == NULL) {
        close_conn(c);
        return;
    }
    wr->c = c;
    memcpy(wr->data, p + off, n - off);
    b = uv_buf_init(wr->data, (unsigned)(n - off));
    if (uv_write(&wr->req, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
        free(wr);
        close_conn(c);
    }
}

/* --- timers ---------------------------------------------------------------- */

static void on_timer(uv_timer_t *t);

/* Sets the timeout that applies now. The libuv timer is moved only when the
 * new deadline is earlier than the one it is armed for: switching to T_NONE
 * for a request and back to T_IDLE after its answer (every request) costs
 * no timer operation; on_timer re-arms for what is left when it fires
 * early. */
static void set_timer(struct conn *c, enum timer_kind kind)
{
    if (c->timer_kind == kind || c->state == CS_CLOSING)
        return;
    c->timer_kind = kind;
    uint64_t ms = 0;
    switch (kind) {
    case T_NONE:
        return; /* an armed timer will find nothing to do */
    case T_IDLE:
        ms = c->srv->cfg.idle_timeout_ms;
        break;
    case T_HEADER:
        ms = c->srv->cfg.header_timeout_ms;
        break;
    case T_BODY:
        ms = c->srv->cfg.body_timeout_ms;
        break;
    case T_WRITE: /* the last answer must be taken within the idle time */
        ms = c->srv->cfg.idle_timeout_ms;
        break;
    case T_LINGER:
        ms = LINGER_MS;
        break;
    }
    c->deadline = uv_now(c->srv->loop) + ms;
    if (c->armed && c->armed_at <= c->deadline)
        return;
    c->armed = 1;
    c->armed_at = c->deadline;
    uv_timer_start(&c->timer, on_timer, ms, 0);
}

/* The timer that fits where the parser is in the current request. */
static void timer_for_phase(struct conn *c)
{
    switch (c->h1.phase) {
    case TLY_H1_IDLE:
        set_timer(c, T_IDLE);
        break;
    case TLY_H1_HEADERS:
        set_timer(c, T_HEADER);
        break;
    case TLY_H1_BODY:
        set_timer(c, T_BODY);
        break;
    case TLY_H1_DONE:
        set_timer(c, T_NONE);
        break;
    }
}

/* --- answers ----------------------------------------------------------------- */

static const char *date_header(struct tly_http_server *srv)
{
    time_t now = time(NULL);
    if (now != srv->date_sec) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(srv->date, sizeof srv->date, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n", &tm);
        srv->date_sec = now;
    }
    return srv->date;
}

static void on_shutdown(uv_shutdown_t *s, int status)
{
    struct conn *c = s->data;
    if (c->state == CS_CLOSING)
        return;
    c->shut_done = 1;
    /* The answer and the FIN are out. While shutting down there is no time
     * to wait for the peer's EOF; nor when it has already come. */
    if (status < 0 || c->srv->shutting_down || c->peer_eof) {
        close_conn(c);
        return;
    }
    set_timer(c, T_LINGER);
}

static void start_reading(struct conn *c);

/* Enters LINGER: shut the write side once queued answers are sent. */
static void linger(struct conn *c)
{
    if (c->state == CS_CLOSING || c->state == CS_LINGER)
        return;
    c->state = CS_LINGER;
    set_timer(c, T_WRITE); /* T_LINGER once the answer is out (on_shutdown) */
    c->shutdown.data = c;
    if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        close_conn(c);
        return;
    }
    start_reading(c);
}

/* Text assembled in a fixed array; `ok` turns 0 for good once it is full. */
struct head_text {
    char *p;
    size_t n, cap;
    int ok;
};

static void put(struct head_text *h, const char *s, size_t len)
{
    if (!h->ok || len > h->cap - h->n) {
        h->ok = 0;
        return;
    }
    memcpy(h->p + h->n, s, len);
    h->n += len;
}

#define PUT_LIT(h, lit) put((h), (lit), sizeof(lit) - 1)

static void put_str(struct head_text *h, const char *s)
{
    put(h, s, strlen(s));
}

static void put_uint(struct head_text *h, uint64_t v)
{
    char d[20];
    size_t i = sizeof d;
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    put(h, d + i, sizeof d - i);
}

/* Writes status line, headers and body in one buffer. The head is put
 * together by hand rather than by snprintf: it is on every answer's path. */
static void write_answer(struct conn *c, int status, const char *ctype, const char *body,
                         size_t len, int keep)
{
    char rid[32];
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        rid[2 * i] = hex[c->request_id[i] >> 4];
        rid[2 * i + 1] = hex[c->request_id[i] & 15];
    }
    char head[1024];
    struct head_text h = {head, 0, sizeof head, 1};
    PUT_LIT(&h, "HTTP/1.1 ");
    put_uint(&h, (uint64_t)(status > 0 ? status : 0));
    PUT_LIT(&h, " ");
    put_str(&h, tly_http_reason(status));
    PUT_LIT(&h, "\r\n");
    put_str(&h, date_header(c->srv));
    if (ctype != NULL) {
        PUT_LIT(&h, "Content-Type: ");
        put_str(&h, ctype);
        PUT_LIT(&h, "\r\n");
    }
    PUT_LIT(&h, "Content-Length: ");
    put_uint(&h, len);
    PUT_LIT(&h, "\r\nX-Request-Id: ");
    put(&h, rid, sizeof rid);
    PUT_LIT(&h, "\r\n");
    if (!keep)
        PUT_LIT(&h, "Connection: close\r\n");
    else if (c->h1.req.http_minor == 0 && c->h1.req.keep_alive)
        PUT_LIT(&h, "Connection: keep-alive\r\n");
    if (!h.ok) {
        close_conn(c);
        return;
    }
    size_t n = h.n;
    size_t total = n + c->extra.len + 2 + len;
    char stackbuf[4096];
    char *out = total <= sizeof stackbuf ? stackbuf : malloc(total);
    if (out == NULL) {
        close_conn(c);
        return;
    }
    memcpy(out, head, n);
    if (c->extra.len > 0)
        memcpy(out + n, c->extra.data, c->extra.len);
    memcpy(out + n + c->extra.len, "\r\n", 2);
    if (len > 0)
        memcpy(out + n + c->extra.len + 2, body, len);
    send_bytes(c, out, total);
    if (out != stackbuf)
        free(out);
    tly_buf_reset(&c->extra);
}

void tly_http_respond(struct tly_http_req *req, int status, const char *ctype, const char *body,
                      size_t len)
{
    struct conn *c = req->c;
    int from_handler = c->in_handler;
    c->in_handler = 0;
    if (c->state == CS_CLOSING) {
        maybe_free(c);
        return;
    }
    count_status(c->srv, c->route, status);
    int parse_ok = c->h1.error_status == 0;
    int more = c->in_off < c->in.len; /* pipelined bytes wait */
    int keep =
        parse_ok && c->h1.req.keep_alive && !c->srv->shutting_down && !(c->peer_eof && !more);
    write_answer(c, status, ctype, body, len, keep);
    if (!keep) {
        linger(c);
        return;
    }
    tly_h1_next(&c->h1);
    c->route = -1;
    c->state = CS_READ;
    if (from_handler && !c->busy)
        process_pending(c);
}

void tly_http_respond_error(struct tly_http_req *req, int status, const char *code,
                            const char *field, const char *msg)
{
    struct tly_buf b;
    tly_buf_init(&b, 0);
    int rc = tly_buf_puts(&b, "{\"success\":false,\"error\":");
    rc |= tly_buf_json_str(&b, code, strlen(code));
    if (field != NULL && field[0] != '\0') {
        rc |= tly_buf_puts(&b, ",\"field\":");
        rc |= tly_buf_json_str(&b, field, strlen(field));
    }
    rc |= tly_buf_puts(&b, ",\"message\":");
    rc |= tly_buf_json_str(&b, msg, strlen(msg));
    rc |= tly_buf_puts(&b, "}");
    if (rc != 0)
        tly_http_respond(req, 500, NULL, NULL, 0);
    else
        tly_http_respond(req, status, "application/json", b.data, b.len);
    tly_buf_free(&b);
}

void tly_http_add_header(struct tly_http_req *req, const char *name, const char *value)
{
    tly_buf_printf(&req->c->extra, "%s: %s\r\n", name, value);
}

/* --- requests ------------------------------------------------------------- */

static void next_request_id(struct tly_http_server *srv, uint8_t id[16])
{
    memcpy(id, srv->id_prefix, 8);
    uint64_t n = ++srv->id_counter;
    for (int i = 0; i < 8; i++)
        id[8 + i] = (uint8_t)(n >> (56 - 8 * i));
}

static void dispatch(struct conn *c)
{
    struct tly_http_server *srv = c->srv;
    size_t url_len;
    const char *url = tly_h1_url(&c->h1, &url_len);
    const char *q = memchr(url, '?', url_len);
    c->path_len = q ? (size_t)(q - url) : url_len;
    c->query_off = q ? c->path_len + 1 : url_len;
    c->query_len = url_len - c->query_off;
    c->route = -1;
    c->received_at = tly_now_ms();
    next_request_id(srv, c->request_id);
    c->state = CS_HANDLER;
    c->in_handler = 1;
    set_timer(c, T_NONE);

    int rc = tly_router_match(srv->router, c->h1.req.method, url, c->path_len, &c->match);
    if (rc == 404) {
        tly_http_respond_error(&c->req, 404, "not_found", NULL, "no such path");
        return;
    }
    if (rc == 405) {
        tly_http_respond_error(&c->req, 405, "method_not_allowed", NULL,
                               "method not allowed on this path");
        return;
    }
    c->route = c->match.route;
    const struct tly_route *r = &srv->router->routes[c->route];
    r->fn(&c->req, r->arg);
}

static void answer_parse_error(struct conn *c)
{
    const char *code = c->h1.error_status == 413   ? "too_large"
                       : c->h1.error_status == 431 ? "headers_too_large"
                       : c->h1.error_status == 414 ? "url_too_long"
                                                   : "bad_request";
    c->in_handler = 1; /* so respond() sees a held request */
    c->route = -1;
    next_request_id(c->srv, c->request_id);
    tly_http_respond_error(&c->req, c->h1.error_status, code, NULL, c->h1.error_msg);
}

/* Feeds bytes to the parser and acts on its events. Returns how many were
 * consumed: all, unless a handler kept a request or the connection ended. */
static size_t process(struct conn *c, const char *data, size_t len)
{
    size_t done = 0;
    c->busy = 1;
    while (c->state == CS_READ) {
        size_t used;
        enum tly_h1_event ev = tly_h1_feed(&c->h1, data + done, len - done, &used);
        done += used;
        if (ev == TLY_H1_MORE)
            break;
        if (ev == TLY_H1_CONTINUE) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            send_bytes(c, cont, sizeof cont - 1);
            continue;
        }
        if (ev == TLY_H1_ERROR) {
            answer_parse_error(c);
            break;
        }
        dispatch(c); /* TLY_H1_REQUEST */
    }
    c->busy = 0;
    return done;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct conn *c = h->data;
    *buf = uv_buf_init(c->srv->rbuf, sizeof c->srv->rbuf);
}

static void stop_reading(struct conn *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
}

/* Keeps bytes that arrive while a handler holds a request; reading pauses
 * once PIPELINE_BUFFER_MAX of them wait. */
static void keep_pipelined(struct conn *c, const char *p, size_t n)
{
    if (c->in_off > 0) { /* drop what has been parsed already */
        memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
        c->in.len -= c->in_off;
        c->in_off = 0;
    }
    if (n > 0 && tly_buf_append(&c->in, p, n) != 0) {
        close_conn(c);
        return;
    }
    if (c->in.len - c->in_off > PIPELINE_BUFFER_MAX)
        stop_reading(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    if (nread == 0)
        return;
    if (nread < 0) {
        int still_answering = c->state == CS_HANDLER || (c->state == CS_LINGER && !c->shut_done);
        if (nread == UV_EOF && still_answering) {
            /* The peer sent all it will; it still reads the answer. */
            c->peer_eof = 1;
            stop_reading(c);
            return;
        }
        close_conn(c);
        return;
    }
    c->srv->bytes_in += (uint64_t)nread;
    if (c->state == CS_HANDLER) {
        keep_pipelined(c, buf->base, (size_t)nread);
        return;
    }
    if (c->state != CS_READ)
        return; /* LINGER: drop */
    size_t used = process(c, buf->base, (size_t)nread);
    if (c->state == CS_HANDLER) {
        keep_pipelined(c, buf->base + used, (size_t)nread - used);
        return;
    }
    if (c->state == CS_READ)
        timer_for_phase(c);
}

static void start_reading(struct conn *c)
{
    if (!c->reading && c->state != CS_CLOSING) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
            c->reading = 1;
    }
}

/* After an asynchronous answer: parse what was pipelined, then read. */
static void process_pending(struct conn *c)
{
    while (c->state == CS_READ && c->in_off < c->in.len) {
        size_t used = process(c, c->in.data + c->in_off, c->in.len - c->in_off);
        c->in_off += used;
        if (used == 0 && c->state == CS_READ)
            break;
    }
    if (c->in_off >= c->in.len) {
        tly_buf_reset(&c->in);
        c->in_off = 0;
    }
    if (c->state != CS_READ)
        return;
    if ((c->srv->shutting_down && c->h1.phase == TLY_H1_IDLE) || c->peer_eof) {
        close_conn(c); /* nothing more can come to complete a request */
        return;
    }
    start_reading(c);
    timer_for_phase(c);
}

static void on_timer(uv_timer_t *t)
{
    struct conn *c = t->data;
    c->armed = 0;
    if (c->timer_kind == T_NONE)
        return;
    uint64_t now = uv_now(c->srv->loop);
    if (now < c->deadline) { /* the deadline moved on since it was armed */
        c->armed = 1;
        c->armed_at = c->deadline;
        uv_timer_start(&c->timer, on_timer, c->deadline - now, 0);
        return;
    }
    enum timer_kind kind = c->timer_kind;
    c->timer_kind = T_NONE;
    if (kind == T_HEADER || kind == T_BODY) {
        c->srv->timeouts++;
        c->in_handler = 1;
        c->route = -1;
        c->h1.error_status = 408; /* no further requests on this connection */
        next_request_id(c->srv, c->request_id);
        tly_http_respond_error(&c->req, 408, "timeout", NULL,
                               kind == T_HEADER ? "request headers not received in time"
                                                : "request body not received in time");
        return;
    }
    close_conn(c); /* idle, linger, or a peer that does not take its answer */
}

static void on_connection(uv_stream_t *server, int status)
{
    struct tly_http_server *srv = server->data;
    if (status < 0)
        return;
    struct conn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return;
    c->srv = srv;
    c->req.c = c;
    c->route = -1;
    uv_tcp_init(srv->loop, &c->tcp);
    uv_timer_init(srv->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->open_handles = 2;
    tly_h1_init(&c->h1, &srv->cfg.limits);
    tly_buf_init(&c->in, srv->cfg.limits.max_header_bytes + srv->cfg.limits.max_body + 65536);
    tly_buf_init(&c->extra, 4096);
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        close_conn(c);
        return;
    }
    if (srv->shutting_down || srv->nconns > srv->cfg.max_connections) {
        srv->conns_refused++;
        close_conn(c);
        return;
    }
    srv->conns_total++;
    uv_tcp_nodelay(&c->tcp, 1);
    c->state = CS_READ;
    start_reading(c);
    set_timer(c, T_IDLE);
}

/* --- server ---------------------------------------------------------------- */

int tly_http_server_start(struct tly_http_server **out, uv_loop_t *loop,
                          const struct tly_http_config *cfg, const struct tly_router *router,
                          const struct tly_logger *lg)
{
    struct tly_http_server *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return TLY_ENOMEM;
    srv->loop = loop;
    srv->cfg = *cfg;
    srv->router = router;
    srv->lg = lg;
    srv->status_counts = calloc((size_t)(router->n + 1) * N_STATUS, sizeof *srv->status_counts);
    if (srv->status_counts == NULL || getrandom(srv->id_prefix, 8, 0) != 8) {
        free(srv->status_counts);
        free(srv);
        return TLY_ENOMEM;
    }
    struct sockaddr_storage addr;
    int rc = uv_ip4_addr(cfg->host, cfg->port, (struct sockaddr_in *)&addr);
    if (rc != 0)
        rc = uv_ip6_addr(cfg->host, cfg->port, (struct sockaddr_in6 *)&addr);
    if (rc == 0) {
        uv_tcp_init(loop, &srv->listener);
        srv->listener.data = srv;
        rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&addr, 0);
        if (rc == 0)
            rc = uv_listen((uv_stream_t *)&srv->listener, 1024, on_connection);
        if (rc != 0) {
            tly_log_error(lg, "cannot listen", "addr=%s:%d error=\"%s\"", cfg->host, cfg->port,
                          uv_strerror(rc));
            uv_close((uv_handle_t *)&srv->listener, NULL);
            uv_run(loop, UV_RUN_NOWAIT);
        }
    } else {
        tly_log_error(lg, "bad listen address", "host=%s", cfg->host);
    }
    if (rc != 0) {
        free(srv->status_counts);
        free(srv);
        return TLY_EIO;
    }
    struct sockaddr_storage bound;
    int blen = sizeof bound;
    uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&bound, &blen);
    srv->port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                            : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    uv_timer_init(loop, &srv->grace);
    srv->grace.data = srv;
    *out = srv;
    return 0;
}

int tly_http_server_port(const struct tly_http_server *srv)
{
    return srv->port;
}

static void on_grace(uv_timer_t *t)
{
    struct tly_http_server *srv = t->data;
    tly_log_warn(srv->lg, "shutdown grace period over; closing remaining connections",
                 "connections=%d", srv->nconns);
    for (struct conn *c = srv->conns, *next; c != NULL; c = next) {
        next = c->next;
        close_conn(c);
    }
}

void tly_http_server_shutdown(struct tly_http_server *srv, uint64_t grace_ms,
                              void (*done)(void *arg), void *arg)
{
    if (srv->shutting_down)
        return;
    srv->shutting_down = 1;
    srv->shutdown_done = done;
    srv->shutdown_arg = arg;
    uv_close((uv_handle_t *)&srv->listener, NULL);
    for (struct conn *c = srv->conns, *next; c != NULL; c = next) {
        next = c->next;
        /* Idle, or already answered and only waiting for the peer's EOF. */
        if ((c->state == CS_READ && c->h1.phase == TLY_H1_IDLE && c->in_off >= c->in.len) ||
            c->state == CS_LINGER)
            close_conn(c);
    }
    if (srv->nconns == 0) {
        finish_shutdown(srv);
        return;
    }
    uv_timer_start(&srv->grace, on_grace, grace_ms, 0);
}

int tly_http_server_metrics(const struct tly_http_server *srv, struct tly_buf *b)
{
    int rc = tly_metrics_header(b, "tally_http_requests_total", "counter",
                                "HTTP requests answered, by route and status.");
    for (int r = 0; r <= srv->router->n; r++) {
        const char *route = r < srv->router->n ? srv->router->routes[r].pattern : "unmatched";
        const char *method =
            r < srv->router->n ? llhttp_method_name(srv->router->routes[r].method) : "";
        for (int s = 0; s < N_STATUS; s++) {
            uint64_t v = srv->status_counts[r * N_STATUS + s];
            if (v == 0)
                continue;
            char labels[256];
            if (s < N_STATUS - 1)
                snprintf(labels, sizeof labels, "method=\"%s\",route=\"%s\",status=\"%d\"", method,
                         route, counted_status[s]);
            else
                snprintf(labels, sizeof labels, "method=\"%s\",route=\"%s\",status=\"other\"",
                         method, route);
            rc |= tly_metrics_sample(b, "tally_http_requests_total", labels, (double)v);
        }
    }
    rc |= tly_metrics_header(b, "tally_http_received_bytes_total", "counter",
                             "Bytes read from clients.");
    rc |= tly_metrics_sample(b, "tally_http_received_bytes_total", "", (double)srv->bytes_in);
    rc |= tly_metrics_header(b, "tally_http_sent_bytes_total", "counter", "Bytes sent to clients.");
    rc |= tly_metrics_sample(b, "tally_http_sent_bytes_total", "", (double)srv->bytes_out);
    rc |= tly_metrics_header(b, "tally_http_connections", "gauge", "Open client connections.");
    rc |= tly_metrics_sample(b, "tally_http_connections", "", (double)srv->nconns);
    rc |= tly_metrics_header(b, "tally_http_connections_total", "counter",
                             "Client connections accepted.");
    rc |= tly_metrics_sample(b, "tally_http_connections_total", "", (double)srv->conns_total);
    rc |= tly_metrics_header(b, "tally_http_connections_refused_total", "counter",
                             "Connections closed at once: over max_connections or shutting down.");
    rc |= tly_metrics_sample(b, "tally_http_connections_refused_total", "",
                             (double)srv->conns_refused);
    rc |= tly_metrics_header(b, "tally_http_timeouts_total", "counter",
                             "Requests answered 408 because headers or body came too slowly.");
    rc |= tly_metrics_sample(b, "tally_http_timeouts_total", "", (double)srv->timeouts);
    return rc ? TLY_ENOMEM : 0;
}

void tly_http_server_free(struct tly_http_server *srv)
{
    if (srv == NULL)
        return;
    free(srv->status_counts);
    free(srv);
}

/* --- accessors ------------------------------------------------------------ */

int tly_http_method(const struct tly_http_req *req)
{
    return req->c->h1.req.method;
}

const char *tly_http_path(const struct tly_http_req *req, size_t *len)
{
    size_t ul;
    *len = req->c->path_len;
    return tly_h1_url(&req->c->h1, &ul);
}

const char *tly_http_query(const struct tly_http_req *req, size_t *len)
{
    size_t ul;
    *len = req->c->query_len;
    return tly_h1_url(&req->c->h1, &ul) + req->c->query_off;
}

const char *tly_http_header(const struct tly_http_req *req, const char *name, size_t *len)
{
    return tly_h1_header(&req->c->h1, name, len);
}

const char *tly_http_body(const struct tly_http_req *req, size_t *len)
{
    *len = req->c->h1.req.body.len;
    return req->c->h1.req.body.data ? req->c->h1.req.body.data : "";
}

const char *tly_http_param(const struct tly_http_req *req, int i, size_t *len)
{
    const struct conn *c = req->c;
    if (i < 0 || i >= c->match.nparams) {
        *len = 0;
        return "";
    }
    size_t ul;
    *len = c->match.param_len[i];
    return tly_h1_url(&c->h1, &ul) + c->match.param_off[i];
}

const uint8_t *tly_http_request_id(const struct tly_http_req *req)
{
    return req->c->request_id;
}

int64_t tly_http_received_at(const struct tly_http_req *req)
{
    return req->c->received_at;
}

struct tly_http_server *tly_http_req_server(const struct tly_http_req *req)
{
    return req->c->srv;
}
