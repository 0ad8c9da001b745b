/*
 * llhttp glue with limits (see http1.h).
 *
 * Header names and values may arrive split across reads; llhttp calls the
 * data callbacks once per piece, so pieces are appended to `hbuf` and a
 * header entry is closed by on_header_value_complete.
 */
#include "http/http1.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static struct tly_h1 *from(llhttp_t *p)
{
    return p->data;
}

static int reject(struct tly_h1 *h, int status, const char *msg)
{
    h->error_status = status;
    snprintf(h->error_msg, sizeof h->error_msg, "%s", msg);
    return HPE_USER;
}

static int on_message_begin(llhttp_t *p)
{
    struct tly_h1 *h = from(p);
    h->phase = TLY_H1_HEADERS;
    return 0;
}

/* Keeps the bytes of a URL or header piece. The limit counts every byte of
 * the request head from its first byte, including the whitespace llhttp
 * skips (so padding cannot get around it), not just the bytes kept. */
static int add_header_bytes(struct tly_h1 *h, const char *at, size_t n)
{
    /* Only the head is measured from its first byte; chunked trailers come
     * after the body and are bounded by the buffer alone. */
    size_t span = h->head_seen + (size_t)(at + n - h->chunk);
    if (!h->header_done && span > h->limits.max_header_bytes)
        return reject(h, 431, "request headers too large");
    if (tly_buf_append(&h->req.hbuf, at, n) != 0)
        return reject(h, 431, "request headers too large");
    return 0;
}

/* RFC 9110 token characters, the only ones allowed in a header name. */
static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int on_url(llhttp_t *p, const char *at, size_t n)
{
    struct tly_h1 *h = from(p);
    if (h->req.url_len + n > h->limits.max_url)
        return reject(h, 414, "request URL too long");
    int rc = add_header_bytes(h, at, n);
    if (rc == 0)
        h->req.url_len += n;
    return rc;
}

static int on_header_field(llhttp_t *p, const char *at, size_t n)
{
    struct tly_h1 *h = from(p);
    struct tly_h1_request *r = &h->req;
    for (size_t i = 0; i < n; i++)
        if (!is_tchar((unsigned char)at[i]))
            return reject(h, 400, "invalid character in a header name");
    if (!h->in_field) { /* first piece of a new header name */
        if (r->nheaders == TLY_H1_MAX_HEADERS)
            return reject(h, 431, "too many request headers");
        struct tly_h1_header *e = &r->headers[r->nheaders++];
        e->name_off = r->hbuf.len;
        e->name_len = 0;
        e->value_off = (size_t)-1;
        e->value_len = 0;
        h->in_field = 1;
    }
    int rc = add_header_bytes(h, at, n);
    if (rc == 0)
        r->headers[r->nheaders - 1].name_len += n;
    return rc;
}

static int on_header_value(llhttp_t *p, const char *at, size_t n)
{
    struct tly_h1 *h = from(p);
    struct tly_h1_request *r = &h->req;
    if (r->nheaders == 0)
        return reject(h, 400, "header value without a name");
    struct tly_h1_header *e = &r->headers[r->nheaders - 1];
    if (e->value_off == (size_t)-1)
        e->value_off = r->hbuf.len;
    h->in_field = 0;
    int rc = add_header_bytes(h, at, n);
    if (rc == 0)
        e->value_len += n;
    return rc;
}

static int on_header_value_complete(llhttp_t *p)
{
    struct tly_h1 *h = from(p);
    struct tly_h1_request *r = &h->req;
    if (r->nheaders == 0 || r->headers[r->nheaders - 1].name_len == 0)
        return reject(h, 400, "empty header name"); /* llhttp 8 lets ": v" through */
    if (r->headers[r->nheaders - 1].value_off == (size_t)-1)
        r->headers[r->nheaders - 1].value_off = r->hbuf.len; /* empty value */
    h->in_field = 0;
    return 0;
}

static int on_headers_complete(llhttp_t *p)
{
    struct tly_h1 *h = from(p);
    struct tly_h1_request *r = &h->req;
    r->method = llhttp_get_method(p);
    r->http_minor = llhttp_get_http_minor(p);
    h->header_done = 1;
    h->phase = TLY_H1_BODY;
    /* tally speaks HTTP/1.1 only: an Upgrade offer (h2c, websocket) is
     * ignored, as RFC 9110 allows, and the connection stays HTTP/1.1. */
    p->upgrade = 0;
    if ((p->flags & F_CONTENT_LENGTH) && p->content_length > h->limits.max_body)
        return reject(h, 413, "request body too large");
    size_t n;
    const char *expect = tly_h1_header(h, "expect", &n);
    if (expect != NULL) {
        if (n != 12 || strncasecmp(expect, "100-continue", 12) != 0)
            return reject(h, 417, "unsupported Expect header");
        int has_body =
            (p->flags & F_CHUNKED) || ((p->flags & F_CONTENT_LENGTH) && p->content_length > 0);
        if (has_body) { /* without a body there is nothing to wait for */
            r->expect_continue = 1;
            h->paused_for = TLY_H1_CONTINUE;
            return HPE_PAUSED;
        }
    }
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t n)
{
    struct tly_h1 *h = from(p);
    if (tly_buf_append(&h->req.body, at, n) != 0)
        return reject(h, 413, "request body too large");
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    struct tly_h1 *h = from(p);
    h->req.keep_alive = llhttp_should_keep_alive(p);
    h->phase = TLY_H1_DONE;
    h->paused_for = TLY_H1_REQUEST;
    return HPE_PAUSED;
}

static void request_init(struct tly_h1_request *r, const struct tly_h1_limits *l)
{
    memset(r, 0, offsetof(struct tly_h1_request, hbuf));
    tly_buf_init(&r->hbuf, l->max_header_bytes + 1);
    tly_buf_init(&r->body, l->max_body);
}

void tly_h1_init(struct tly_h1 *h, const struct tly_h1_limits *limits)
{
    memset(h, 0, sizeof *h);
    h->limits = *limits;
    llhttp_settings_init(&h->settings);
    h->settings.on_message_begin = on_message_begin;
    h->settings.on_url = on_url;
    h->settings.on_header_field = on_header_field;
    h->settings.on_header_value = on_header_value;
    h->settings.on_header_value_complete = on_header_value_complete;
    h->settings.on_headers_complete = on_headers_complete;
    h->settings.on_body = on_body;
    h->settings.on_message_complete = on_message_complete;
    llhttp_init(&h->parser, HTTP_REQUEST, &h->settings);
    h->parser.data = h;
    request_init(&h->req, limits);
}

void tly_h1_free(struct tly_h1 *h)
{
    tly_buf_free(&h->req.hbuf);
    tly_buf_free(&h->req.body);
}

static enum tly_h1_event to_error(struct tly_h1 *h, llhttp_errno_t e)
{
    if (h->error_status == 0) {
        h->error_status = 400;
        snprintf(h->error_msg, sizeof h->error_msg, "malformed request: %s", llhttp_errno_name(e));
    }
    h->phase = TLY_H1_DONE;
    return TLY_H1_ERROR;
}

enum tly_h1_event tly_h1_feed(struct tly_h1 *h, const char *data, size_t len, size_t *consumed)
{
    *consumed = 0;
    if (h->error_status != 0)
        return TLY_H1_ERROR;
    if (h->paused_for == TLY_H1_REQUEST)
        return TLY_H1_REQUEST; /* tly_h1_next() has not been called */
    if (h->paused_for == TLY_H1_CONTINUE) {
        h->paused_for = 0;
        llhttp_resume(&h->parser);
    }
    if (len == 0)
        return TLY_H1_MORE;
    h->chunk = data;
    llhttp_errno_t e = llhttp_execute(&h->parser, data, len);
    if (e == HPE_OK) {
        *consumed = len;
        if (h->phase == TLY_H1_HEADERS) {
            /* Still in the head: count all of this chunk toward its limit. */
            /* +4: the end of a chunk may hold the head's final CRLFs, which
             * the per-field measure above does not count. */
            h->head_seen += len;
            if (h->head_seen > h->limits.max_header_bytes + 4) {
                reject(h, 431, "request headers too large");
                h->phase = TLY_H1_DONE;
                return TLY_H1_ERROR;
            }
        }
        return TLY_H1_MORE;
    }
    if (e == HPE_PAUSED) {
        *consumed = (size_t)(llhttp_get_error_pos(&h->parser) - data);
        return (enum tly_h1_event)h->paused_for;
    }
    return to_error(h, e);
}

enum tly_h1_event tly_h1_finish(struct tly_h1 *h)
{
    if (h->error_status != 0)
        return TLY_H1_ERROR;
    if (h->phase == TLY_H1_IDLE || h->paused_for == TLY_H1_REQUEST)
        return TLY_H1_MORE; /* nothing begun, or a whole request waiting */
    if (h->paused_for == TLY_H1_CONTINUE) {
        h->error_status = 400;
        snprintf(h->error_msg, sizeof h->error_msg, "request cut short by end of stream");
        return TLY_H1_ERROR;
    }
    llhttp_errno_t e = llhttp_finish(&h->parser);
    if (e == HPE_OK && h->phase == TLY_H1_IDLE)
        return TLY_H1_MORE;
    if (e == HPE_PAUSED)
        return TLY_H1_REQUEST;
    if (h->error_status == 0) {
        h->error_status = 400;
        snprintf(h->error_msg, sizeof h->error_msg, "request cut short by end of stream");
    }
    return TLY_H1_ERROR;
}

void tly_h1_next(struct tly_h1 *h)
{
    tly_buf_reset(&h->req.hbuf);
    tly_buf_reset(&h->req.body);
    struct tly_buf hb = h->req.hbuf, bb = h->req.body;
    memset(&h->req, 0, offsetof(struct tly_h1_request, hbuf));
    h->req.hbuf = hb;
    h->req.body = bb;
    h->phase = TLY_H1_IDLE;
    h->in_field = 0;
    h->head_seen = 0;
    h->header_done = 0;
    h->paused_for = 0;
    llhttp_resume(&h->parser);
}

const char *tly_h1_url(const struct tly_h1 *h, size_t *len)
{
    *len = h->req.url_len;
    return h->req.hbuf.data ? h->req.hbuf.data + h->req.url_off : "";
}

const char *tly_h1_header(const struct tly_h1 *h, const char *name, size_t *len)
{
    size_t nlen = strlen(name);
    const struct tly_h1_request *r = &h->req;
    for (int i = 0; i < r->nheaders; i++) {
        const struct tly_h1_header *e = &r->headers[i];
        if (e->name_len == nlen && strncasecmp(r->hbuf.data + e->name_off, name, nlen) == 0) {
            if (e->value_off == (size_t)-1) {
                *len = 0;
                return "";
            }
            *len = e->value_len;
            return r->hbuf.data + e->value_off;
        }
    }
    return NULL;
}
