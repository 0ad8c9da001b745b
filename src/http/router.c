/*
 * Pattern matching for routes (see router.h).
 */
#include "http/router.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

void tly_router_init(struct tly_router *r)
{
    r->routes = NULL;
    r->n = 0;
    r->cap = 0;
}

void tly_router_free(struct tly_router *r)
{
    free(r->routes);
    tly_router_init(r);
}

int tly_router_add(struct tly_router *r, int method, const char *pattern, tly_http_handler_fn fn,
                   void *arg)
{
    if (r->n == r->cap) {
        int cap = r->cap ? r->cap * 2 : 16;
        struct tly_route *nr = realloc(r->routes, (size_t)cap * sizeof *nr);
        if (nr == NULL)
            return TLY_ENOMEM;
        r->routes = nr;
        r->cap = cap;
    }
    r->routes[r->n++] = (struct tly_route){method, pattern, fn, arg};
    return 0;
}

/* Matches `path` against `pat`; fills params. 1 = match. */
static int match(const char *pat, const char *path, size_t len, struct tly_route_match *m)
{
    size_t i = 0;
    m->nparams = 0;
    while (*pat != '\0') {
        if (*pat == '{') {
            const char *close = strchr(pat, '}');
            if (close == NULL || m->nparams == TLY_ROUTE_MAX_PARAMS)
                return 0;
            size_t start = i;
            while (i < len && path[i] != '/')
                i++;
            if (i == start)
                return 0;
            m->param_off[m->nparams] = start;
            m->param_len[m->nparams] = i - start;
            m->nparams++;
            pat = close + 1;
            continue;
        }
        if (i >= len || path[i] != *pat)
            return 0;
        i++;
        pat++;
    }
    return i == len;
}

int tly_router_match(const struct tly_router *r, int method, const char *path, size_t len,
                     struct tly_route_match *m)
{
    int found_other = 0;
    for (int k = 0; k < r->n; k++) {
        struct tly_route_match tmp;
        if (!match(r->routes[k].pattern, path, len, &tmp))
            continue;
        if (r->routes[k].method != method) {
            found_other = 1;
            continue;
        }
        *m = tmp;
        m->route = k;
        return 0;
    }
    return found_other ? 405 : 404;
}
