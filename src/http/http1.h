/*
 * HTTP/1.1 request parsing on llhttp, with tally's limits. No sockets here:
 * bytes go in, events come out, so the same code runs under the server and
 * under the fuzzer.
 *
 * Feeding returns one event at a time:
 *   TLY_H1_MORE      every byte was consumed; the request is not complete.
 *   TLY_H1_CONTINUE  headers asked for `Expect: 100-continue`, a body is
 *                    coming and it is within limits: send "100 Continue",
 *                    feed the rest.
 *   TLY_H1_REQUEST   a whole request is in `req`. The parser is paused
 *                    after it; bytes past *consumed belong to the next
 *                    request (pipelining). Call tly_h1_next() once the
 *                    answer is sent, then feed those bytes.
 *   TLY_H1_ERROR     the request can never succeed: `error_status` (400,
 *                    413, 414, 417, 431) and `error_msg` say why. Answer and
 *                    close the connection; the parser accepts no more input.
 *
 * Limits: the request line plus headers, whitespace included, may not pass
 * max_header_bytes (431; a URL over max_url alone is 414) nor TLY_H1_MAX_HEADERS fields; a
 * body may not pass max_body (413 as soon as Content-Length says so, or
 * when a chunked body grows past it).
 */
#ifndef TLY_HTTP_HTTP1_H
#define TLY_HTTP_HTTP1_H

#include "core/buf.h"

#include <llhttp.h>
#include <stddef.h>

#define TLY_H1_MAX_HEADERS 64

enum tly_h1_event { TLY_H1_MORE = 0, TLY_H1_CONTINUE, TLY_H1_REQUEST, TLY_H1_ERROR };

/* Where a connection is in the current request, for timeouts. */
enum tly_h1_phase { TLY_H1_IDLE = 0, TLY_H1_HEADERS, TLY_H1_BODY, TLY_H1_DONE };

struct tly_h1_limits {
    size_t max_header_bytes;
    size_t max_url;
    size_t max_body;
};

struct tly_h1_header {
    size_t name_off, name_len;
    size_t value_off, value_len;
};

struct tly_h1_request {
    int method; /* llhttp_method_t */
    int http_minor;
    int keep_alive;
    int expect_continue;
    size_t url_off, url_len; /* in hbuf */
    struct tly_h1_header headers[TLY_H1_MAX_HEADERS];
    int nheaders;
    struct tly_buf hbuf; /* URL and header bytes */
    struct tly_buf body;
};

struct tly_h1 {
    llhttp_t parser;
    llhttp_settings_t settings;
    struct tly_h1_limits limits;
    struct tly_h1_request req;
    enum tly_h1_phase phase;
    int in_field;      /* inside a header name (pieces may be split) */
    const char *chunk; /* start of the bytes being fed */
    size_t head_seen;  /* bytes of this request's head fed in earlier chunks */
    int header_done;   /* headers complete seen for this request */
    int paused_for;    /* the event the parser paused on */
    int error_status;  /* set with TLY_H1_ERROR */
    char error_msg[128];
};

void tly_h1_init(struct tly_h1 *h, const struct tly_h1_limits *limits);
void tly_h1_free(struct tly_h1 *h);

/* Feeds bytes; see the events above. `*consumed` is how many were used. */
enum tly_h1_event tly_h1_feed(struct tly_h1 *h, const char *data, size_t len, size_t *consumed);

/* Called at EOF from the peer: TLY_H1_ERROR if a request was cut short. */
enum tly_h1_event tly_h1_finish(struct tly_h1 *h);

/* After TLY_H1_REQUEST has been answered: clears it for the next request. */
void tly_h1_next(struct tly_h1 *h);

/* Accessors into the current request. Header lookup ignores case. The
 * returned pointers are borrowed until tly_h1_next(). */
const char *tly_h1_url(const struct tly_h1 *h, size_t *len);
const char *tly_h1_header(const struct tly_h1 *h, const char *name, size_t *len);

#endif
