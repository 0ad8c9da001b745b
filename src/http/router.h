/*
 * Routes: (method, path pattern) → handler.
 *
 * A pattern is a path whose segments are literal or `{name}`, which matches
 * one non-empty segment; the handler reads it with tly_http_param(req, i),
 * i counting the braces from the left. Routes are tried in the order they
 * were added. A path that matches a pattern under another method gives 405,
 * none at all 404; the server answers those itself.
 */
#ifndef TLY_HTTP_ROUTER_H
#define TLY_HTTP_ROUTER_H

#include <stddef.h>

#define TLY_ROUTE_MAX_PARAMS 4

struct tly_http_req;
typedef void (*tly_http_handler_fn)(struct tly_http_req *req, void *arg);

struct tly_route {
    int method;          /* llhttp_method_t */
    const char *pattern; /* borrowed; also the metrics label */
    tly_http_handler_fn fn;
    void *arg;
};

struct tly_router {
    struct tly_route *routes;
    int n, cap;
};

struct tly_route_match {
    int route; /* index into routes */
    int nparams;
    size_t param_off[TLY_ROUTE_MAX_PARAMS], param_len[TLY_ROUTE_MAX_PARAMS];
};

void tly_router_init(struct tly_router *r);
void tly_router_free(struct tly_router *r);
int tly_router_add(struct tly_router *r, int method, const char *pattern, tly_http_handler_fn fn,
                   void *arg);

/* 0 with `m` filled; 404 when no pattern matches the path; 405 when a
 * pattern matches but not with this method. */
int tly_router_match(const struct tly_router *r, int method, const char *path, size_t len,
                     struct tly_route_match *m);

#endif
