/*
 * Unit tests for the HTTP/1.1 request parser (http/http1.h): bytes in,
 * events out (MORE / CONTINUE / REQUEST / ERROR).
 *
 * Covers: a GET and a POST; the same request fed whole, one byte at a time
 * and split at every position giving the same URL, headers and body;
 * case-insensitive header lookup; pipelining and `consumed`; chunked bodies;
 * each limit (413 before the body is sent and for a growing chunked body,
 * 431 for size and count, 414); Expect (100-continue, 417); malformed input
 * (400); keep-alive; EOF handling with tly_h1_finish; the sticky ERROR state.
 * The last tests pin bugs found while writing these (see their comments).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "http/http1.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct tly_h1_limits LIMITS = {
    .max_header_bytes = 4096, .max_url = 256, .max_body = 1000};

/* What a parsed request looked like, copied out of the parser. */
struct snap {
    int method, http_minor, keep_alive, expect_continue;
    char url[512];
    int nheaders;
    char name[TLY_H1_MAX_HEADERS][64];
    char value[TLY_H1_MAX_HEADERS][256];
    char body[2048];
    size_t body_len;
};

static void take(const struct tly_h1 *h, struct snap *s)
{
    memset(s, 0, sizeof *s);
    s->method = h->req.method;
    s->http_minor = h->req.http_minor;
    s->keep_alive = h->req.keep_alive;
    s->expect_continue = h->req.expect_continue;
    size_t n;
    const char *u = tly_h1_url(h, &n);
    assert_true(n < sizeof s->url);
    memcpy(s->url, u, n);
    s->nheaders = h->req.nheaders;
    for (int i = 0; i < h->req.nheaders; i++) {
        const struct tly_h1_header *e = &h->req.headers[i];
        assert_true(e->name_len < sizeof s->name[i]);
        memcpy(s->name[i], h->req.hbuf.data + e->name_off, e->name_len);
        if (e->value_off != (size_t)-1) {
            assert_true(e->value_len < sizeof s->value[i]);
            memcpy(s->value[i], h->req.hbuf.data + e->value_off, e->value_len);
        }
    }
    assert_true(h->req.body.len <= sizeof s->body);
    s->body_len = h->req.body.len;
    if (s->body_len)
        memcpy(s->body, h->req.body.data, s->body_len);
}

static void assert_same(const struct snap *a, const struct snap *b, const char *what)
{
    if (a->method != b->method || a->http_minor != b->http_minor ||
        a->keep_alive != b->keep_alive || a->expect_continue != b->expect_continue)
        fail_msg("%s: request line / flags differ", what);
    if (strcmp(a->url, b->url) != 0)
        fail_msg("%s: url '%s' vs '%s'", what, a->url, b->url);
    if (a->nheaders != b->nheaders)
        fail_msg("%s: %d vs %d headers", what, a->nheaders, b->nheaders);
    for (int i = 0; i < a->nheaders; i++)
        if (strcmp(a->name[i], b->name[i]) != 0 || strcmp(a->value[i], b->value[i]) != 0)
            fail_msg("%s: header %d '%s: %s' vs '%s: %s'", what, i, a->name[i], a->value[i],
                     b->name[i], b->value[i]);
    if (a->body_len != b->body_len || memcmp(a->body, b->body, a->body_len) != 0)
        fail_msg("%s: body differs (%zu vs %zu bytes)", what, a->body_len, b->body_len);
}

/* Feeds like the server does: on CONTINUE keep feeding what is left (maybe
 * nothing); stop at MORE (all used), REQUEST or ERROR. *used = bytes used. */
static enum tly_h1_event drive(struct tly_h1 *h, const char *data, size_t len, size_t *used)
{
    size_t done = 0;
    for (int guard = 0; guard < 8; guard++) {
        size_t n = 0;
        enum tly_h1_event ev = tly_h1_feed(h, data + done, len - done, &n);
        assert_true(n <= len - done);
        done += n;
        if (ev == TLY_H1_CONTINUE)
            continue;
        *used = done;
        return ev;
    }
    fail_msg("CONTINUE loop");
    return TLY_H1_ERROR;
}

/* Feeds `data` in pieces ending at cuts[0..ncuts-1] (then len). Returns the
 * first event other than MORE, or MORE; *used = bytes used in total. */
static enum tly_h1_event feed_pieces(struct tly_h1 *h, const char *data, size_t len,
                                     const size_t *cuts, size_t ncuts, size_t *used)
{
    size_t off = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        size_t n;
        enum tly_h1_event ev = drive(h, data + off, end - off, &n);
        off += n;
        if (ev != TLY_H1_MORE) {
            *used = off;
            return ev;
        }
        assert_int_equal(off, end); /* MORE means every byte was used */
    }
    *used = off;
    return TLY_H1_MORE;
}

static enum tly_h1_event feed_bytewise(struct tly_h1 *h, const char *data, size_t len, size_t *used)
{
    size_t off = 0;
    while (off < len) {
        size_t n;
        enum tly_h1_event ev = drive(h, data + off, 1, &n);
        off += n;
        if (ev != TLY_H1_MORE) {
            *used = off;
            return ev;
        }
    }
    *used = off;
    return TLY_H1_MORE;
}

/* Parses `req` whole with `lim`; expects one REQUEST using every byte. */
static void parse_whole(const char *req, const struct tly_h1_limits *lim, struct snap *s)
{
    struct tly_h1 h;
    tly_h1_init(&h, lim);
    size_t used;
    enum tly_h1_event ev = drive(&h, req, strlen(req), &used);
    if (ev != TLY_H1_REQUEST)
        fail_msg("event %d (status %d: %s)", ev, h.error_status, h.error_msg);
    assert_int_equal(used, strlen(req));
    take(&h, s);
    tly_h1_free(&h);
}

static enum tly_h1_event expect_error(const char *req, size_t len, const struct tly_h1_limits *lim,
                                      int status)
{
    struct tly_h1 h;
    tly_h1_init(&h, lim);
    size_t used;
    enum tly_h1_event ev = drive(&h, req, len, &used);
    if (ev != TLY_H1_ERROR || h.error_status != status)
        fail_msg("event %d status %d (%s), expected ERROR %d", ev, h.error_status, h.error_msg,
                 status);
    assert_true(h.error_msg[0] != '\0');
    assert_int_equal(tly_h1_finish(&h), TLY_H1_ERROR);
    tly_h1_free(&h);
    return ev;
}

static const char *header(const struct tly_h1 *h, const char *name, size_t *len)
{
    return tly_h1_header(h, name, len);
}

static void assert_header(const struct tly_h1 *h, const char *name, const char *want)
{
    size_t n = 999;
    const char *v = header(h, name, &n);
    if (v == NULL)
        fail_msg("header %s missing", name);
    if (n != strlen(want) || memcmp(v, want, n) != 0)
        fail_msg("header %s = '%.*s', expected '%s'", name, (int)n, v, want);
}

/* --- basic requests ------------------------------------------------------- */

static void test_simple_get(void **state)
{
    (void)state;
    static const char req[] = "GET /v1/health?full=1 HTTP/1.1\r\nHost: example\r\n"
                              "User-Agent: t\r\n\r\n";
    struct tly_h1 h;
    tly_h1_init(&h, &LIMITS);
    assert_int_equal(h.phase, TLY_H1_IDLE);
    size_t used = 0;
    assert_int_equal(tly_h1_feed(&h, req, sizeof req - 1, &used), TLY_H1_REQUEST);
    assert_int_equal(used, sizeof req - 1);
    assert_int_equal(h.phase, TLY_H1_DONE);
    assert_int_equal(h.req.method, HTTP_GET);
    assert_int_equal(h.req.http_minor, 1);
    assert_int_equal(h.req.keep_alive, 1);
    assert_int_equal(h.req.expect_continue, 0);
    size_t n;
    const char *url = tly_h1_url(&h, &n);
    assert_int_equal(n, strlen("/v1/health?full=1"));
    assert_memory_equal(url, "/v1/health?full=1", n);
    assert_int_equal(h.req.nheaders, 2);
    assert_header(&h, "Host", "example");
    assert_header(&h, "User-Agent", "t");
    assert_null(header(&h, "Content-Length", &n));
    assert_null(header(&h, "Hos", &n));
    assert_null(header(&h, "Hostx", &n));
    assert_int_equal(h.req.body.len, 0);
    tly_h1_free(&h);
}

static void test_post_content_length(void **state)
{
    (void)state;
    static const char req[] = "POST /server/v4 HTTP/1.1\r\nHost: x\r\n"
                              "Content-Type: application/json\r\nContent-Length: 13\r\n\r\n"
                              "{\"a\":\"hello\"}";
    struct tly_h1 h;
    tly_h1_init(&h, &LIMITS);
    size_t used;
    assert_int_equal(tly_h1_feed(&h, req, sizeof req - 1, &used), TLY_H1_REQUEST);
    assert_int_equal(used, sizeof req - 1);
    assert_int_equal(h.req.method, HTTP_POST);
    assert_int_equal(h.req.body.len, 13);
    assert_memory_equal(h.req.body.data, "{\"a\":\"hello\"}", 13);
    assert_header(&h, "content-length", "13");
    tly_h1_free(&h);
}

static void test_empty_header_value(void **state)
{
    (void)state;
    static const char req[] = "GET / HTTP/1.1\r\nX-Empty:\r\nX-Next: 1\r\n\r\n";
    struct tly_h1 h;
    tly_h1_init(&h, &LIMITS);
    size_t used, n = 99;
    assert_int_equal(tly_h1_feed(&h, req, sizeof req - 1, &used), TLY_H1_REQUEST);
    const char *v = header(&h, "x-empty", &n);
    assert_non_null(v);
    assert_int_equal(n, 0);
    assert_header(&h, "X-Next", "1");
    tly_h1_free(&h);
}

/* --- splitting ------------------------------------------------------------ */

static const char SPLIT_REQ[] = "POST /t/acme/events?x=1 HTTP/1.1\r\n"
                                "Host: tally.example\r\n"
                                "X-API-KEY: tly_wk_0123456789abcdef\r\n"
                                "Content-Type: application/json\r\n"
                                "Content-Length: 27\r\n"
                                "\r\n"
                                "{\"event_id\":\"e1\",\"n\":[1,2]}";

static const char CHUNKED_REQ[] = "POST /c HTTP/1.1\r\n"
                                  "Transfer-Encoding: chunked\r\n"
                                  "\r\n"
                                  "5;name=value\r\nhello\r\n"
                                  "1;ext\r\n \r\n"
                                  "A\r\nworld 0123\r\n"
                                  "0\r\n\r\n";

static void check_splits(const char *req)
{
    size_t len = strlen(req);
    struct snap ref, got;
    parse_whole(req, &LIMITS, &ref);

    struct tly_h1 h;
    size_t used;
    tly_h1_init(&h, &LIMITS);
    assert_int_equal(feed_bytewise(&h, req, len, &used), TLY_H1_REQUEST);
    assert_int_equal(used, len);
    take(&h, &got);
    assert_same(&ref, &got, "one byte at a time");
    tly_h1_free(&h);

    for (size_t k = 1; k < len; k++) {
        char what[32];
        snprintf(what, sizeof what, "split at %zu", k);
        tly_h1_init(&h, &LIMITS);
        assert_int_equal(feed_pieces(&h, req, len, &k, 1, &used), TLY_H1_REQUEST);
        assert_int_equal(used, len);
        take(&h, &got);
        assert_same(&ref, &got, what);
        tly_h1_free(&h);
    }
    /* Three pieces: first cut every 5th byte, second every 7th after it. */
    for (size_t a = 1; a < len; a += 5) {
        for (size_t b = a + 1; b < len; b += 7) {
            size_t cuts[2] = {a, b};
            tly_h1_init(&h, &LIMITS);
            assert_int_equal(feed_pieces(&h, req, len, cuts, 2, &used), TLY_H1_REQUEST);
            take(&h, &got);
            assert_same(&ref, &got, "three pieces");
            tly_h1_free(&h);
        }
    }
}

static void test_split_everywhere(void **state)
{
    (void)state;
    struct snap ref;
    parse_whole(SPLIT_REQ, &LIMITS, &ref);
    assert_string_equal(ref.url, "/t/acme/events?x=1");
    assert_int_equal(ref.nheaders, 4);
    assert_string_equal(ref.name[1], "X-API-KEY");
    assert_string_equal(ref.value[1], "tly_wk_0123456789abcdef");
    assert_int_equal(ref.body_len, 27);
    check_splits(SPLIT_REQ);
}

static void test_header_lookup_and_split_values(void **state)
{
    (void)state;
    static const char req[] = "GET / HTTP/1.1\r\nX-Api-Key: abcdefghij\r\n"
                              "content-TYPE: text/plain\r\n\r\n";
    /* Cut inside the name "X-Api-Key", inside its value, and inside the next
     * name. */
    const char *p = strstr(req, "Api");
    const char *q = strstr(req, "efgh");
    const char *r = strstr(req, "TYPE");
    size_t cuts[3] = {(size_t)(p - req + 2), (size_t)(q - req + 2), (size_t)(r - req + 1)};
    struct tly_h1 h;
    tly_h1_init(&h, &LIMITS);
    size_t used;
    assert_int_equal(feed_pieces(&h, req, sizeof req - 1, cuts, 3, &used), TLY_H1_REQUEST);
    assert_int_equal(h.req.nheaders, 2);
    assert_header(&h, "x-api-key", "abcdefghij");
    assert_header(&h, "X-API-KEY", "abcdefghij");
    assert_header(&h, "X-Api-Key", "abcdefghij");
    assert_header(&h, "Content-Type", "text/plain");
    assert_header(&h, "CONTENT-type", "text/plain");
    size_t n;
    assert_null(header(&h, "x-api-ke", &n));
    assert_null(header(&h, "x-api-keys", &n));
    tly_h1_free(&h);
}

/* --- pipelining ----------------------------------------------------------- */

static void test_pipelined_requests(void **state)
{
    (void)state;
    static const char first[] = "POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
    static const char second[] = "GET /b HTTP/1.1\r\nX-Second: yes\r\n\r\n";
    char buf[256];
    snprintf(buf, sizeof buf, "%s%s", first, second);
    size_t len = strlen(buf);

    struct tly_h1 h;
    tly_h1_init(&h, &LIMITS);
    size_t used = 0, n;
    assert_int_equal(tly_h1_feed(&h, buf, len, &used), TLY_H1_REQUEST);
    assert_int_equal(used, sizeof first - 1); /* exactly at the start of the second */
    const char *url = tly_h1_url(&h, &n);
    assert_int_equal(n, 2);
    assert_memory_equal(url, "/a", 2);
    assert_int_equal(h.req.body.len, 3);
    assert_memory_equal(h.req.body.data, "abc", 3);

    /* Until tly_h1_next the parser stays on the first request. */
    size_t again = 99;
    assert_int_equal(tly_h1_feed(&h, buf + used, len - used, &again), TLY_H1_REQUEST);
    assert_int_equal(again, 0);
    assert_int_equal(tly_h1_url(&h, &n)[1], 'a');

    tly_h1_next(&h);
    assert_int_equal(h.phase, TLY_H1_IDLE);
    size_t used2 = 0;
    assert_int_equal(tly_h1_feed(&h, buf + used, len - used, &used2), TLY_H1_REQUEST);
    assert_int_equal(used2, sizeof second - 1);
    url = tly_h1_url(&h, &n);
    assert_int_equal(n, 2);
    assert_memory_equal(url, "/b", 2);
    assert_int_equal(h.req.method, HTTP_GET);
    assert_int_equal(h.req.nheaders, 1);
    assert_header(&h, "x-second", "yes");
    assert_null(header(&h, "content-length", &n)); /* nothing left of the first */
    assert_int_equal(h.req.body.len, 0);
    tly_h1_next(&h);
    assert_int_equal(tly_h1_finish(&h), TLY_H1_MORE); /* clean EOF between requests */
    tly_h1_free(&h);
}

static void test_pipelined_bytewise(void **state)
{
    (void)state;
    static const char one[] = "GET /1 HTTP/1.1\r\n\r\n";
    static const char two[] = "POST /2 HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi";
    static const char three[] = "GET /3 HTTP/1.1\r\n\r\n";
    char buf[256];
    snprintf(buf, sizeof buf, "%s%s%s", one, two, three);
    const size_t ends[] = {sizeof one - 1, sizeof one - 1 + sizeof two - 1, strlen(buf)};
    const char *urls[] = {"/1", "/2", "/3"};

    struct tly_h1 h;
    tly_h1_init(&h, &LIMITS);
    size_t off = 0;
    for (int r = 0; r < 3; r++) {
        size_t used;
        assert_int_equal(feed_bytewise(&h, buf + off, strlen(buf) - off, &used), TLY_H1_REQUEST);
        off += used;
        assert_int_equal(off, ends[r]);
        size_t n;
        const char *u = tly_h1_url(&h, &n);
        assert_int_equal(n, 2);
        assert_memory_equal(u, urls[r], 2);
        tly_h1_next(&h);
    }
    tly_h1_free(&h);
}

/* --- chunked bodies ------------------------------------------------------- */

static void test_chunked_body(void **state)
{
    (void)state;
    struct snap s;
    parse_whole(CHUNKED_REQ, &LIMITS, &s);
    assert_int_equal(s.body_len, 16);
    assert_memory_equal(s.body, "hello world 0123", 16);
    check_splits(CHUNKED_REQ);
}

static void test_chunked_exactly_max_body(void **state)
{
    (void)state;
    char req[2048];
    size_t n = (size_t)snprintf(req, sizeof req,
                                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n");
    memset(req + n, 'a', 600);
    n += 600;
    n += (size_t)snprintf(req + n, sizeof req - n, "\r\n190\r\n");
    memset(req + n, 'b', 400);
    n += 400;
    n += (size_t)snprintf(req + n, sizeof req - n, "\r\n0\r\n\r\n");
    struct tly_h1 h;
    tly_h1_init(&h, &LIMITS);
    size_t used;
    assert_int_equal(drive(&h, req, n, &used), TLY_H1_REQUEST);
    assert_int_equal(h.req.body.len, 1000);
    tly_h1_free(&h);
}

/* --- limits --------------------------------------------------------------- */

static void test_content_length_over_max_body(void **state)
{
    (void)state;
    /* Only the headers are sent: the answer must not wait for the body. */
    static const char hdrs[] = "POST /x HTTP/1.1\r\nContent-Length: 1001\r\n\r\n";
    struct tly_h1 h;
    tly_h1_init(&h, &LIMITS);
    size_t used;
    assert_int_equal(tly_h1_feed(&h, hdrs, sizeof hdrs - 1, &used), TLY_H1_ERROR);
    assert_int_equal(h.error_status, 413);
    tly_h1_free(&h);

    /* Also when the headers trickle in. */
    tly_h1_init(&h, &LIMITS);
    assert_int_equal(feed_bytewise(&h, hdrs, sizeof hdrs - 1, &used), TLY_H1_ERROR);
    assert_int_equal(h.error_status, 413);
    tly_h1_free(&h);

    /* A huge length, too. */
    static const char huge[] = "POST /x HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n";
    expect_error(huge, sizeof huge - 1, &LIMITS, 413);

    /* Exactly max_body is fine. */
    char ok[1200];
    size_t n = (size_t)snprintf(ok, sizeof ok, "POST /x HTTP/1.1\r\nContent-Length: 1000\r\n\r\n");
    memset(ok + n, 'z', 1000);
    n += 1000;
    tly_h1_init(&h, &LIMITS);
    assert_int_equal(tly_h1_feed(&h, ok, n, &used), TLY_H1_REQUEST);
    assert_int_equal(used, n);
    assert_int_equal(h.req.body.len, 1000);
    tly_h1_free(&h);
}

static void test_chunked_over_max_body(void **state)
{
    (void)state;
    char req[2048];
    size_t n = (size_t)snprintf(req, sizeof req,
                                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n");
    memset(req + n, 'a', 600);
    n += 600;
    n += (size_t)snprintf(req + n, sizeof req - n, "\r\n191\r\n"); /* 401 more: 1001 */
    memset(req + n, 'b', 401);
    n += 401;
    n += (size_t)snprintf(req + n, sizeof req - n, "\r\n0\r\n\r\n");
    expect_error(req, n, &LIMITS, 413);

    /* Fed in small pieces the body grows past the limit in on_body. */
    struct tly_h1 h;
    tly_h1_init(&h, &LIMITS);
    size_t used;
    assert_int_equal(feed_bytewise(&h, req, n, &used), TLY_H1_ERROR);
    assert_int_equal(h.error_status, 413);
    assert_true(h.req.body.len <= LIMITS.max_body);
    tly_h1_free(&h);
}

static void test_headers_too_large(void **state)
{
    (void)state;
    /* One big header. */
    char req[12000];
    size_t n = (size_t)snprintf(req, sizeof req, "GET / HTTP/1.1\r\nX-Big: ");
    memset(req + n, 'v', 5000);
    n += 5000;
    n += (size_t)snprintf(req + n, sizeof req - n, "\r\n\r\n");
    expect_error(req, n, &LIMITS, 431);

    /* Many medium headers that only together pass the limit. */
    n = (size_t)snprintf(req, sizeof req, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 40; i++) {
        n += (size_t)snprintf(req + n, sizeof req - n, "X-H%02d: ", i);
        memset(req + n, 'v', 110);
        n += 110;
        n += (size_t)snprintf(req + n, sizeof req - n, "\r\n");
    }
    n += (size_t)snprintf(req + n, sizeof req - n, "\r\n");
    expect_error(req, n, &LIMITS, 431);

    struct tly_h1 h;
    size_t used;
    tly_h1_init(&h, &LIMITS);
    assert_int_equal(feed_bytewise(&h, req, n, &used), TLY_H1_ERROR);
    assert_int_equal(h.error_status, 431);
    assert_true(h.req.hbuf.len <= LIMITS.max_header_bytes);
    tly_h1_free(&h);

    /* The same with 30 of them (about 3.6 KB in all) is within 4096. */
    n = (size_t)snprintf(req, sizeof req, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 30; i++) {
        n += (size_t)snprintf(req + n, sizeof req - n, "X-H%02d: ", i);
        memset(req + n, 'v', 110);
        n += 110;
        n += (size_t)snprintf(req + n, sizeof req - n, "\r\n");
    }
    n += (size_t)snprintf(req + n, sizeof req - n, "\r\n");
    assert_true(n < LIMITS.max_header_bytes);
    tly_h1_init(&h, &LIMITS);
    assert_int_equal(drive(&h, req, n, &used), TLY_H1_REQUEST);
    assert_int_equal(h.req.nheaders, 30);
    tly_h1_free(&h);
}

static size_t many_headers(char *req, size_t cap, int count)
{
    size_t n = (size_t)snprintf(req, cap, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < count; i++)
        n += (size_t)snprintf(req + n, cap - n, "H%d: %d\r\n", i, i);
    n += (size_t)snprintf(req + n, cap - n, "\r\n");
    return n;
}

static void test_too_many_headers(void **state)
{
    (void)state;
    char req[4096];
    size_t n = many_headers(req, sizeof req, TLY_H1_MAX_HEADERS);
    struct tly_h1 h;
    tly_h1_init(&h, &LIMITS);
    size_t used;
    assert_int_equal(drive(&h, req, n, &used), TLY_H1_REQUEST);
    assert_int_equal(h.req.nheaders, TLY_H1_MAX_HEADERS);
    assert_header(&h, "h63", "63");
    tly_h1_free(&h);

    n = many_headers(req, sizeof req, TLY_H1_MAX_HEADERS + 1);
    expect_error(req, n, &LIMITS, 431);
}

static void test_url_too_long(void **state)
{
    (void)state;
    char req[1024];
    size_t n = (size_t)snprintf(req, sizeof req, "GET /");
    memset(req + n, 'u', LIMITS.max_url - 1); /* "/" + 255 = 256 */
    n += LIMITS.max_url - 1;
    n += (size_t)snprintf(req + n, sizeof req - n, " HTTP/1.1\r\n\r\n");
    struct tly_h1 h;
    tly_h1_init(&h, &LIMITS);
    size_t used, ul;
    assert_int_equal(drive(&h, req, n, &used), TLY_H1_REQUEST);
    tly_h1_url(&h, &ul);
    assert_int_equal(ul, LIMITS.max_url);
    tly_h1_free(&h);

    n = (size_t)snprintf(req, sizeof req, "GET /");
    memset(req + n, 'u', LIMITS.max_url); /* 257 */
    n += LIMITS.max_url;
    n += (size_t)snprintf(req + n, sizeof req - n, " HTTP/1.1\r\n\r\n");
    expect_error(req, n, &LIMITS, 414);

    tly_h1_init(&h, &LIMITS);
    assert_int_equal(feed_bytewise(&h, req, n, &used), TLY_H1_ERROR);
    assert_int_equal(h.error_status, 414);
    tly_h1_free(&h);
}

/* --- Expect --------------------------------------------------------------- */

static void test_expect_100_continue(void **state)
{
    (void)state;
    static const char hdrs[] = "POST /in HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                               "Content-Length: 11\r\n\r\n";
    struct tly_h1 h;
    tly_h1_init(&h, &LIMITS);
    size_t used;
    assert_int_equal(tly_h1_feed(&h, hdrs, sizeof hdrs - 1, &used), TLY_H1_CONTINUE);
    assert_int_equal(used, sizeof hdrs - 1);
    assert_int_equal(h.req.expect_continue, 1);
    assert_int_equal(tly_h1_feed(&h, "hello ", 6, &used), TLY_H1_MORE);
    assert_int_equal(used, 6);
    assert_int_equal(tly_h1_feed(&h, "world", 5, &used), TLY_H1_REQUEST);
    assert_int_equal(used, 5);
    assert_int_equal(h.req.body.len, 11);
    assert_memory_equal(h.req.body.data, "hello world", 11);
    assert_int_equal(h.req.expect_continue, 1);
    tly_h1_free(&h);

    /* A client that does not wait: headers and body in one read. CONTINUE
     * stops exactly after the headers; the rest is fed again. */
    char all[256];
    snprintf(all, sizeof all, "%shello world", hdrs);
    tly_h1_init(&h, &LIMITS);
    assert_int_equal(tly_h1_feed(&h, all, strlen(all), &used), TLY_H1_CONTINUE);
    assert_int_equal(used, sizeof hdrs - 1);
    size_t used2;
    assert_int_equal(tly_h1_feed(&h, all + used, strlen(all) - used, &used2), TLY_H1_REQUEST);
    assert_int_equal(used + used2, strlen(all));
    assert_memory_equal(h.req.body.data, "hello world", 11);
    tly_h1_free(&h);

    /* The value is not case-sensitive. */
    static const char upper[] = "POST / HTTP/1.1\r\nExpect: 100-Continue\r\n"
                                "Content-Length: 1\r\n\r\n";
    tly_h1_init(&h, &LIMITS);
    assert_int_equal(tly_h1_feed(&h, upper, sizeof upper - 1, &used), TLY_H1_CONTINUE);
    tly_h1_free(&h);

    /* Over max_body: 413 instead of CONTINUE. */
    static const char big[] = "POST / HTTP/1.1\r\nExpect: 100-continue\r\n"
                              "Content-Length: 5000\r\n\r\n";
    expect_error(big, sizeof big - 1, &LIMITS, 413);
}

static void test_expect_unknown_417(void **state)
{
    (void)state;
    static const char *const reqs[] = {
        "POST / HTTP/1.1\r\nExpect: something-else\r\nContent-Length: 1\r\n\r\nx",
        "POST / HTTP/1.1\r\nExpect: 100-continue-please\r\nContent-Length: 1\r\n\r\nx",
        "POST / HTTP/1.1\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx",
    };
    for (size_t i = 0; i < 3; i++)
        expect_error(reqs[i], strlen(reqs[i]), &LIMITS, 417);
}

/* --- malformed ------------------------------------------------------------ */

static void test_malformed_400(void **state)
{
    (void)state;
    static const char *const reqs[] = {
        "HELLO WORLD\r\n\r\n",
        "GET\r\n\r\n",
        "GET / HTTP/9.9\r\n\r\n",
        "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
        "GET / HTTP/1.1\r\nBad\x01Name: x\r\n\r\n", /* control byte in a name */
        "GET / HTTP/1.1\r\nX: a\x01b\r\n\r\n",      /* control byte in a value */
        "GET / HTTP/1.1\r\n Folded: x\r\n\r\n",     /* line folding */
        "GET /a b HTTP/1.1\r\n\r\n",
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", /* a TLS ClientHello */
        "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    };
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++)
        expect_error(reqs[i], strlen(reqs[i]), &LIMITS, 400);
}

static void test_content_length_and_chunked_400(void **state)
{
    (void)state;
    static const char *const reqs[] = {
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n0\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
        "5\r\nhello\r\n0\r\n\r\n",
    };
    for (size_t i = 0; i < 2; i++)
        expect_error(reqs[i], strlen(reqs[i]), &LIMITS, 400);
}

/* --- keep-alive ----------------------------------------------------------- */

static void test_keep_alive(void **state)
{
    (void)state;
    static const struct {
        const char *req;
        int minor, keep;
    } cases[] = {
        {"GET / HTTP/1.0\r\n\r\n", 0, 0},
        {"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 0, 1},
        {"GET / HTTP/1.1\r\n\r\n", 1, 1},
        {"GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 1, 0},
        {"GET / HTTP/1.1\r\nconnection: Close\r\n\r\n", 1, 0},
        {"POST / HTTP/1.1\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi", 1, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct snap s;
        parse_whole(cases[i].req, &LIMITS, &s);
        if (s.http_minor != cases[i].minor || s.keep_alive != cases[i].keep)
            fail_msg("'%s': minor %d keep_alive %d", cases[i].req, s.http_minor, s.keep_alive);
    }
}

/* --- EOF and the error state ---------------------------------------------- */

static void test_finish(void **state)
{
    (void)state;
    struct tly_h1 h;

    /* Nothing received: a clean close. */
    tly_h1_init(&h, &LIMITS);
    assert_int_equal(tly_h1_finish(&h), TLY_H1_MORE);
    tly_h1_free(&h);

    /* Mid-body. */
    static const char part[] = "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nhalf";
    size_t used;
    tly_h1_init(&h, &LIMITS);
    assert_int_equal(tly_h1_feed(&h, part, sizeof part - 1, &used), TLY_H1_MORE);
    assert_int_equal(h.phase, TLY_H1_BODY);
    assert_int_equal(tly_h1_finish(&h), TLY_H1_ERROR);
    assert_int_equal(h.error_status, 400);
    assert_int_equal(tly_h1_feed(&h, "56789a", 6, &used), TLY_H1_ERROR);
    tly_h1_free(&h);

    /* Mid-chunked-body. */
    static const char chunk[] = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel";
    tly_h1_init(&h, &LIMITS);
    assert_int_equal(tly_h1_feed(&h, chunk, sizeof chunk - 1, &used), TLY_H1_MORE);
    assert_int_equal(tly_h1_finish(&h), TLY_H1_ERROR);
    tly_h1_free(&h);

    /* Mid-headers and mid-request-line. */
    static const char *const cut[] = {"GET / HTTP/1.1\r\nHost: x\r\n", "GE"};
    for (int i = 0; i < 2; i++) {
        tly_h1_init(&h, &LIMITS);
        assert_int_equal(tly_h1_feed(&h, cut[i], strlen(cut[i]), &used), TLY_H1_MORE);
        assert_int_equal(tly_h1_finish(&h), TLY_H1_ERROR);
        assert_true(h.error_status != 0);
        tly_h1_free(&h);
    }

    /* After a whole request (answered or not), EOF is not an error. */
    static const char whole[] = "GET / HTTP/1.1\r\n\r\n";
    tly_h1_init(&h, &LIMITS);
    assert_int_equal(tly_h1_feed(&h, whole, sizeof whole - 1, &used), TLY_H1_REQUEST);
    assert_int_equal(tly_h1_finish(&h), TLY_H1_MORE);
    tly_h1_next(&h);
    assert_int_equal(tly_h1_finish(&h), TLY_H1_MORE);
    tly_h1_free(&h);
}

static void test_error_is_sticky(void **state)
{
    (void)state;
    static const char good[] = "GET / HTTP/1.1\r\n\r\n";
    struct tly_h1 h;
    tly_h1_init(&h, &LIMITS);
    size_t used = 99;
    assert_int_equal(tly_h1_feed(&h, "BAD\x01 / HTTP/1.1\r\n\r\n", 19, &used), TLY_H1_ERROR);
    int status = h.error_status;
    assert_int_equal(status, 400);
    char msg[sizeof h.error_msg];
    memcpy(msg, h.error_msg, sizeof msg);
    for (int i = 0; i < 3; i++) {
        used = 99;
        assert_int_equal(tly_h1_feed(&h, good, sizeof good - 1, &used), TLY_H1_ERROR);
        assert_int_equal(used, 0);
        assert_int_equal(tly_h1_feed(&h, "", 0, &used), TLY_H1_ERROR);
        assert_int_equal(h.error_status, status);
        assert_string_equal(h.error_msg, msg);
    }
    assert_int_equal(tly_h1_finish(&h), TLY_H1_ERROR);
    tly_h1_free(&h);

    /* Same after a limit error. */
    static const char big[] = "POST / HTTP/1.1\r\nContent-Length: 5000\r\n\r\n";
    tly_h1_init(&h, &LIMITS);
    assert_int_equal(tly_h1_feed(&h, big, sizeof big - 1, &used), TLY_H1_ERROR);
    assert_int_equal(tly_h1_feed(&h, good, sizeof good - 1, &used), TLY_H1_ERROR);
    assert_int_equal(used, 0);
    assert_int_equal(h.error_status, 413);
    tly_h1_free(&h);
}

static void test_free_without_feed(void **state)
{
    (void)state;
    struct tly_h1 h;
    tly_h1_init(&h, &LIMITS);
    size_t n = 7;
    const char *u = tly_h1_url(&h, &n);
    assert_non_null(u);
    assert_int_equal(n, 0);
    tly_h1_free(&h);
    tly_h1_free(&h); /* a second free is harmless */
}

/* --- bugs ------------------------------------------------------------------- */

/* `Expect: 100-continue` on a request without a body (Content-Length: 0, or
 * no length at all): on_headers_complete pauses for CONTINUE, and the
 * paused parser only reaches on_message_complete when more bytes are fed.
 * The server feeds the (empty) rest after sending "100 Continue" and gets
 * MORE, so the request is never dispatched: the client waits for an answer
 * until the connection times out. */
static void test_expect_continue_without_body_completes(void **state)
{
    (void)state;
    static const char *const reqs[] = {
        "POST /p HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n",
        "GET /p HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",
    };
    for (int i = 0; i < 2; i++) {
        struct tly_h1 h;
        tly_h1_init(&h, &LIMITS);
        size_t used;
        enum tly_h1_event ev = drive(&h, reqs[i], strlen(reqs[i]), &used);
        tly_h1_free(&h); /* before asserting, so a failure leaks nothing */
        if (ev != TLY_H1_REQUEST)
            fail_msg("'%s': event %d after all bytes, expected REQUEST", reqs[i], ev);
        assert_int_equal(used, strlen(reqs[i]));
    }
}

/* EOF right after CONTINUE (the client sent headers announcing a body and
 * went away): tly_h1_finish returns MORE because paused_for != 0, but the
 * request was cut short, which http1.h says is TLY_H1_ERROR. */
static void test_finish_after_continue_is_cut_short(void **state)
{
    (void)state;
    static const char hdrs[] = "POST / HTTP/1.1\r\nExpect: 100-continue\r\n"
                               "Content-Length: 5\r\n\r\n";
    struct tly_h1 h;
    tly_h1_init(&h, &LIMITS);
    size_t used;
    enum tly_h1_event first = tly_h1_feed(&h, hdrs, sizeof hdrs - 1, &used);
    enum tly_h1_event at_eof = tly_h1_finish(&h);
    tly_h1_free(&h);
    assert_int_equal(first, TLY_H1_CONTINUE);
    assert_int_equal(at_eof, TLY_H1_ERROR);
}

/* http1.h: "the request line plus headers may not pass max_header_bytes".
 * Only URL, header-name and header-value bytes are counted (in hbuf); the
 * whitespace llhttp skips before a header value is not, so a header section
 * of any size passes as long as it is mostly padding. Here 20,000 bytes of
 * headers pass a 4,096-byte limit. */
static void test_header_padding_counts_toward_limit(void **state)
{
    (void)state;
    size_t cap = 32000;
    char *req = malloc(cap);
    assert_non_null(req);
    size_t n = (size_t)snprintf(req, cap, "GET / HTTP/1.1\r\n");
    for (int i = 0; i < 10; i++) {
        n += (size_t)snprintf(req + n, cap - n, "X-Pad%d:", i);
        memset(req + n, ' ', 2000);
        n += 2000;
        n += (size_t)snprintf(req + n, cap - n, "v\r\n");
    }
    n += (size_t)snprintf(req + n, cap - n, "\r\n");
    assert_true(n > 4 * LIMITS.max_header_bytes);
    struct tly_h1 h;
    tly_h1_init(&h, &LIMITS);
    size_t used;
    enum tly_h1_event ev = drive(&h, req, n, &used);
    int status = h.error_status;
    tly_h1_free(&h);
    free(req);
    if (ev != TLY_H1_ERROR || status != 431)
        fail_msg("%zu bytes of headers: event %d status %d, expected ERROR 431", n, ev, status);
}

/* A request with `Connection: Upgrade` / `Upgrade: …` (curl --http2 sends
 * `Upgrade: h2c` on plain http) is reported as a normal keep-alive request,
 * but llhttp has switched to "upgraded" mode: after tly_h1_next the next
 * request on the connection fails with 400 "malformed request:
 * HPE_PAUSED_UPGRADE". tally does not upgrade, so either the connection must
 * not be kept alive or the next request must parse. */
static void test_upgrade_request_then_next_request(void **state)
{
    (void)state;
    static const char first[] = "GET /a HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                                "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n";
    static const char second[] = "GET /b HTTP/1.1\r\n\r\n";
    struct tly_h1 h;
    tly_h1_init(&h, &LIMITS);
    size_t used;
    assert_int_equal(tly_h1_feed(&h, first, sizeof first - 1, &used), TLY_H1_REQUEST);
    int keep = h.req.keep_alive;
    tly_h1_next(&h);
    enum tly_h1_event ev = tly_h1_feed(&h, second, sizeof second - 1, &used);
    int status = h.error_status;
    char msg[sizeof h.error_msg];
    memcpy(msg, h.error_msg, sizeof msg);
    tly_h1_free(&h);
    if (keep && ev != TLY_H1_REQUEST)
        fail_msg("keep_alive=1 after an Upgrade request, but the next request gives event %d "
                 "(%d %s)",
                 ev, status, msg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get),
        cmocka_unit_test(test_post_content_length),
        cmocka_unit_test(test_empty_header_value),
        cmocka_unit_test(test_split_everywhere),
        cmocka_unit_test(test_header_lookup_and_split_values),
        cmocka_unit_test(test_pipelined_requests),
        cmocka_unit_test(test_pipelined_bytewise),
        cmocka_unit_test(test_chunked_body),
        cmocka_unit_test(test_chunked_exactly_max_body),
        cmocka_unit_test(test_content_length_over_max_body),
        cmocka_unit_test(test_chunked_over_max_body),
        cmocka_unit_test(test_headers_too_large),
        cmocka_unit_test(test_too_many_headers),
        cmocka_unit_test(test_url_too_long),
        cmocka_unit_test(test_expect_100_continue),
        cmocka_unit_test(test_expect_unknown_417),
        cmocka_unit_test(test_malformed_400),
        cmocka_unit_test(test_content_length_and_chunked_400),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_finish),
        cmocka_unit_test(test_error_is_sticky),
        cmocka_unit_test(test_free_without_feed),
        cmocka_unit_test(test_expect_continue_without_body_completes),
        cmocka_unit_test(test_finish_after_continue_is_cut_short),
        cmocka_unit_test(test_header_padding_counts_toward_limit),
        cmocka_unit_test(test_upgrade_request_then_next_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
