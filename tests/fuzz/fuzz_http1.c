/*
 * Fuzzes the HTTP/1.1 request parser (src/http/http1.h) the way the server
 * drives it: the input is fed to one struct tly_h1 in pieces, and every
 * event is handled as src/http/server.c handles it (CONTINUE: keep feeding;
 * REQUEST: inspect, tly_h1_next(), feed the rest; ERROR: stop). At the end
 * of the input the peer "closes" and tly_h1_finish() is called.
 *
 * Input: byte 0, low 3 bits = k; the next k bytes are piece sizes, used in
 * turn (0 = all that is left); the rest is the byte stream. k = 0 feeds it
 * in one piece. With k > 0 the stream is also fed in one piece to a second
 * parser, and the two must agree.
 *
 * Invariants checked (abort() if broken), beyond "no crash, no leak":
 *   - `consumed` never exceeds the fed length; MORE consumed everything;
 *   - no endless loop of events that consume nothing;
 *   - CONTINUE only for a request that asked for it, while in the body;
 *   - a REQUEST has a URL within max_url (non-empty but for CONNECT),
 *     URL + header bytes within max_header_bytes, at most
 *     TLY_H1_MAX_HEADERS headers, each with a non-empty name (RFC 9110:
 *     field-name = token) and its spans inside the header buffer, a body
 *     within max_body, and a body exactly Content-Length long when that
 *     header framed it (but for CONNECT, which has no body);
 *   - an ERROR has a status in {400, 413, 414, 417, 431} and a non-empty,
 *     NUL-terminated message, and the parser then refuses all input;
 *   - how the stream is cut into reads changes nothing: the events, every
 *     request (method, version, keep-alive, URL, headers, body) and whether
 *     it ends in an error are the same fed in pieces or in one piece. (Not
 *     the error status: llhttp reports a span at the end of each read, so a
 *     request that breaks two rules, say a long URL with a bad byte past
 *     max_url, may get 414 in pieces and 400 in one piece.)
 */
#include "http/http1.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_HEADER 4096
#define MAX_URL    1024
#define MAX_BODY   65536

static const struct tly_h1_limits limits = {
    .max_header_bytes = MAX_HEADER,
    .max_url = MAX_URL,
    .max_body = MAX_BODY,
};

/* What a connection saw, in order, for comparing two ways of feeding it. */
struct transcript {
    uint8_t *p;
    size_t len, cap;
};

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* Parses a Content-Length value (llhttp has validated it); -1 if not plain. */
static long long content_length(const char *v, size_t n)
{
    size_t i = 0;
    long long x = 0;
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
        i++;
    size_t start = i;
    for (; i < n && v[i] >= '0' && v[i] <= '9'; i++) {
        if (x > (1LL << 40))
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    if (i == start)
        return -1;
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
        i++;
    return i == n ? x : -1;
}

static void check_request(const struct tly_h1 *h)
{
    const struct tly_h1_request *r = &h->req;
    CHECK(h->phase == TLY_H1_DONE);
    CHECK(r->hbuf.len <= MAX_HEADER);
    CHECK(r->body.len <= MAX_BODY);
    CHECK(r->nheaders >= 0 && r->nheaders <= TLY_H1_MAX_HEADERS);

    size_t url_len;
    const char *url = tly_h1_url(h, &url_len);
    CHECK(url != NULL);
    CHECK(url_len <= MAX_URL);
    /* llhttp 8.1 lets CONNECT through with an empty authority; tally then
     * answers 404, so that is tolerated here. */
    CHECK(url_len > 0 || r->method == HTTP_CONNECT);
    CHECK(r->url_off + url_len <= r->hbuf.len);

    for (int i = 0; i < r->nheaders; i++) {
        const struct tly_h1_header *e = &r->headers[i];
        CHECK(e->name_len > 0);
        CHECK(e->name_off + e->name_len <= r->hbuf.len);
        if (e->value_off != (size_t)-1)
            CHECK(e->value_off + e->value_len <= r->hbuf.len);
        else
            CHECK(e->value_len == 0);
    }

    size_t n;
    const char *expect = tly_h1_header(h, "expect", &n);
    if (r->expect_continue)
        CHECK(expect != NULL && n == 12 && strncasecmp(expect, "100-continue", 12) == 0);

    size_t cl_len, te_len;
    const char *cl = tly_h1_header(h, "content-length", &cl_len);
    /* (CONNECT has no body: llhttp hands the bytes after it to a tunnel.) */
    if (cl != NULL && tly_h1_header(h, "transfer-encoding", &te_len) == NULL &&
        r->method != HTTP_CONNECT) {
        long long want = content_length(cl, cl_len);
        if (want >= 0)
            CHECK((long long)r->body.len == want);
    }
}

static void check_error(struct tly_h1 *h)
{
    int s = h->error_status;
    CHECK(s == 400 || s == 413 || s == 414 || s == 417 || s == 431);
    CHECK(memchr(h->error_msg, '\0', sizeof h->error_msg) != NULL);
    CHECK(h->error_msg[0] != '\0');
    /* The parser accepts no more input after an error. */
    size_t consumed = 1;
    CHECK(tly_h1_feed(h, "GET / HTTP/1.1\r\n\r\n", 18, &consumed) == TLY_H1_ERROR);
    CHECK(consumed == 0);
    CHECK(tly_h1_finish(h) == TLY_H1_ERROR);
}

static void put(struct transcript *t, const void *p, size_t n)
{
    if (t->len + n > t->cap) {
        size_t cap = t->cap ? t->cap : 1024;
        while (cap < t->len + n)
            cap *= 2;
        uint8_t *np = realloc(t->p, cap);
        CHECK(np != NULL);
        t->p = np;
        t->cap = cap;
    }
    if (n > 0)
        memcpy(t->p + t->len, p, n);
    t->len += n;
}

static void put_int(struct transcript *t, char tag, long long v)
{
    put(t, &tag, 1);
    put(t, &v, sizeof v);
}

static void put_bytes(struct transcript *t, const char *p, size_t n)
{
    put_int(t, 'b', (long long)n);
    put(t, p, n);
}

static void record_request(struct transcript *t, const struct tly_h1 *h)
{
    const struct tly_h1_request *r = &h->req;
    put_int(t, 'R', r->method);
    put_int(t, 'v', r->http_minor);
    put_int(t, 'k', r->keep_alive);
    put_int(t, 'x', r->expect_continue);
    size_t n;
    const char *url = tly_h1_url(h, &n);
    put_bytes(t, url, n);
    put_int(t, 'h', r->nheaders);
    for (int i = 0; i < r->nheaders; i++) {
        const struct tly_h1_header *e = &r->headers[i];
        put_bytes(t, r->hbuf.data + e->name_off, e->name_len);
        if (e->value_off == (size_t)-1)
            put_bytes(t, "", 0);
        else
            put_bytes(t, r->hbuf.data + e->value_off, e->value_len);
    }
    put_bytes(t, r->body.data ? r->body.data : "", r->body.len);
}

/* Feeds one piece, handling events until it is used up. Returns 0 to go on,
 * 1 when the connection is over (error, or an answer that closes it). */
static int feed_piece(struct tly_h1 *h, const char *p, size_t len, struct transcript *t)
{
    size_t off = 0;
    int idle = 0; /* consecutive events that consumed nothing */
    while (off < len) {
        size_t consumed = (size_t)-1;
        enum tly_h1_event ev = tly_h1_feed(h, p + off, len - off, &consumed);
        CHECK(consumed <= len - off);
        off += consumed;
        idle = consumed == 0 ? idle + 1 : 0;
        CHECK(idle <= 3);
        switch (ev) {
        case TLY_H1_MORE:
            CHECK(off == len);
            break;
        case TLY_H1_CONTINUE:
            put_int(t, 'C', 0);
            CHECK(h->req.expect_continue == 1);
            CHECK(h->phase == TLY_H1_BODY);
            CHECK(h->req.hbuf.len <= MAX_HEADER);
            break; /* "HTTP/1.1 100 Continue" would be sent here */
        case TLY_H1_REQUEST: {
            check_request(h);
            record_request(t, h);
            int keep = h->req.keep_alive;
            tly_h1_next(h);
            CHECK(h->phase == TLY_H1_IDLE);
            if (!keep)
                return 1; /* the server answers and closes */
            break;
        }
        case TLY_H1_ERROR:
            put_int(t, 'E', 0); /* (status: see the top comment) */
            check_error(h);
            return 1;
        default:
            abort();
        }
    }
    return 0;
}

/* Runs one connection over `stream`, cut into pieces of sizes[0..k) in turn
 * (k = 0: one piece), and records what happened in `t`. */
static void run(const char *stream, size_t len, const uint8_t *sizes, size_t k,
                struct transcript *t)
{
    struct tly_h1 h;
    tly_h1_init(&h, &limits);
    size_t off = 0, turn = 0;
    int over = 0;
    while (off < len && !over) {
        size_t piece = len - off;
        if (k > 0 && sizes[turn % k] != 0 && sizes[turn % k] < piece)
            piece = sizes[turn % k];
        turn++;
        over = feed_piece(&h, stream + off, piece, t);
        off += piece;
    }
    if (!over) {
        /* The peer closed the connection. */
        enum tly_h1_event ev = tly_h1_finish(&h);
        put_int(t, 'F', ev);
        if (ev == TLY_H1_REQUEST) {
            check_request(&h);
            record_request(t, &h);
            tly_h1_next(&h);
        } else if (ev == TLY_H1_ERROR) {
            put_int(t, 'E', 0);
            check_error(&h);
        } else {
            CHECK(ev == TLY_H1_MORE);
        }
    }
    tly_h1_free(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t k = data[0] & 7;
    if (size < 1 + k)
        return 0;
    const uint8_t *sizes = data + 1;
    const char *stream = (const char *)data + 1 + k;
    size_t len = size - 1 - k;

    struct transcript pieces = {0}, whole = {0};
    run(stream, len, sizes, k, &pieces);
    if (k > 0) {
        run(stream, len, NULL, 0, &whole);
        CHECK(pieces.len == whole.len);
        CHECK(pieces.len == 0 || memcmp(pieces.p, whole.p, pieces.len) == 0);
    }
    free(pieces.p);
    free(whole.p);
    return 0;
}
