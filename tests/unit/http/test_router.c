/*
 * Unit tests for route matching (http/router.h): literal paths, `{param}`
 * captures with their offsets and lengths, what does not match (trailing
 * slash, prefixes, longer paths, empty parameter segments), 404 versus 405,
 * the first added route winning, and a table that outgrows its first
 * allocation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "http/router.h"

#include <llhttp.h>
#include <stdio.h>
#include <string.h>

static void handler_a(struct tly_http_req *req, void *arg)
{
    (void)req;
    (void)arg;
}

static void handler_b(struct tly_http_req *req, void *arg)
{
    (void)req;
    (void)arg;
}

static int match(const struct tly_router *r, int method, const char *path,
                 struct tly_route_match *m)
{
    memset(m, 0xab, sizeof *m);
    return tly_router_match(r, method, path, strlen(path), m);
}

/* The text of parameter i of a match against `path`. */
static void assert_param(const struct tly_route_match *m, const char *path, int i, const char *want)
{
    assert_true(i < m->nparams);
    if (m->param_len[i] != strlen(want) || memcmp(path + m->param_off[i], want, strlen(want)))
        fail_msg("param %d of '%s' is '%.*s', expected '%s'", i, path, (int)m->param_len[i],
                 path + m->param_off[i], want);
}

struct fx {
    struct tly_router r;
    int health, ev, batch, tenant, tenant_keys, key, tenant_post;
};

static void build(struct fx *f)
{
    tly_router_init(&f->r);
    assert_int_equal(f->r.n, 0);
    int k = 0;
    f->health = k++;
    assert_int_equal(tly_router_add(&f->r, HTTP_GET, "/healthz", handler_a, NULL), 0);
    f->ev = k++;
    assert_int_equal(tly_router_add(&f->r, HTTP_POST, "/server/v4", handler_a, NULL), 0);
    f->batch = k++;
    assert_int_equal(tly_router_add(&f->r, HTTP_POST, "/server/v4/batch", handler_b, NULL), 0);
    f->tenant = k++;
    assert_int_equal(tly_router_add(&f->r, HTTP_GET, "/v1/tenants/{tenant}", handler_a, NULL), 0);
    f->tenant_keys = k++;
    assert_int_equal(
        tly_router_add(&f->r, HTTP_GET, "/v1/tenants/{tenant}/keys", handler_a, (void *)f), 0);
    f->key = k++;
    assert_int_equal(
        tly_router_add(&f->r, HTTP_DELETE, "/v1/tenants/{tenant}/keys/{key}", handler_b, NULL), 0);
    f->tenant_post = k++;
    assert_int_equal(tly_router_add(&f->r, HTTP_POST, "/v1/tenants/{tenant}", handler_b, NULL), 0);
    assert_int_equal(f->r.n, k);
}

static void test_literal_matches(void **state)
{
    (void)state;
    struct fx f;
    build(&f);
    struct tly_route_match m;
    assert_int_equal(match(&f.r, HTTP_GET, "/healthz", &m), 0);
    assert_int_equal(m.route, f.health);
    assert_int_equal(m.nparams, 0);
    assert_ptr_equal(f.r.routes[m.route].fn, handler_a);

    assert_int_equal(match(&f.r, HTTP_POST, "/server/v4", &m), 0);
    assert_int_equal(m.route, f.ev);
    assert_int_equal(match(&f.r, HTTP_POST, "/server/v4/batch", &m), 0);
    assert_int_equal(m.route, f.batch);
    assert_ptr_equal(f.r.routes[m.route].fn, handler_b);
    assert_string_equal(f.r.routes[m.route].pattern, "/server/v4/batch");

    /* Only `len` bytes of the path count (the server passes the part before
     * '?'). */
    const char *with_query = "/healthz?verbose=1";
    assert_int_equal(tly_router_match(&f.r, HTTP_GET, with_query, 8, &m), 0);
    assert_int_equal(m.route, f.health);
    tly_router_free(&f.r);
}

static void test_param_captures(void **state)
{
    (void)state;
    struct fx f;
    build(&f);
    struct tly_route_match m;

    const char *p1 = "/v1/tenants/acme";
    assert_int_equal(match(&f.r, HTTP_GET, p1, &m), 0);
    assert_int_equal(m.route, f.tenant);
    assert_int_equal(m.nparams, 1);
    assert_int_equal(m.param_off[0], 12);
    assert_int_equal(m.param_len[0], 4);
    assert_param(&m, p1, 0, "acme");

    const char *p2 = "/v1/tenants/a.b-c_9/keys";
    assert_int_equal(match(&f.r, HTTP_GET, p2, &m), 0);
    assert_int_equal(m.route, f.tenant_keys);
    assert_int_equal(m.nparams, 1);
    assert_param(&m, p2, 0, "a.b-c_9");
    assert_ptr_equal(f.r.routes[m.route].arg, &f);

    const char *p3 = "/v1/tenants/t1/keys/tly_wk_abcd";
    assert_int_equal(match(&f.r, HTTP_DELETE, p3, &m), 0);
    assert_int_equal(m.route, f.key);
    assert_int_equal(m.nparams, 2);
    assert_int_equal(m.param_off[0], 12);
    assert_int_equal(m.param_len[0], 2);
    assert_int_equal(m.param_off[1], 20);
    assert_int_equal(m.param_len[1], 11);
    assert_param(&m, p3, 0, "t1");
    assert_param(&m, p3, 1, "tly_wk_abcd");

    /* A one-character segment, and bytes that are not '/' are all taken. */
    const char *p4 = "/v1/tenants/x";
    assert_int_equal(match(&f.r, HTTP_GET, p4, &m), 0);
    assert_param(&m, p4, 0, "x");
    const char *p5 = "/v1/tenants/%2F..";
    assert_int_equal(match(&f.r, HTTP_GET, p5, &m), 0);
    assert_param(&m, p5, 0, "%2F..");
    tly_router_free(&f.r);
}

static void test_non_matches(void **state)
{
    (void)state;
    struct fx f;
    build(&f);
    struct tly_route_match m;
    static const char *const paths[] = {
        "/healthz/",              /* trailing slash */
        "/health",                /* prefix of a route */
        "/healthzz",              /* route is a prefix of it */
        "/healthz/x",             /* longer */
        "/Healthz",               /* case matters */
        "healthz",                /* no leading slash */
        "",                       /* empty */
        "/",                      /* root */
        "/server",                /* prefix */
        "/server/v4/",            /* trailing slash */
        "/server/v4/batch/",      /* trailing slash */
        "/server/v4/batches",     /* longer literal */
        "/v1/tenants",            /* parameter missing */
        "/v1/tenants/",           /* empty parameter */
        "/v1/tenants//keys",      /* empty parameter in the middle */
        "/v1/tenants/acme/",      /* trailing slash after a parameter */
        "/v1/tenants/acme/keys/", /* trailing slash */
        "/v1/tenants/acme/key",   /* prefix of the literal after a parameter */
        "/v1/tenants/acme/keysx", /* longer */
        "/v1/tenants/a/b",        /* a parameter is one segment */
        "/v1/tenants/acme/keys/k/x",
        "//v1/tenants/acme",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        for (int method = HTTP_DELETE; method <= HTTP_PUT; method++) {
            int rc = match(&f.r, method, paths[i], &m);
            if (rc != 404)
                fail_msg("'%s' (method %d): %d, expected 404", paths[i], method, rc);
        }
    }
    tly_router_free(&f.r);
}

static void test_404_vs_405(void **state)
{
    (void)state;
    struct fx f;
    build(&f);
    struct tly_route_match m;
    assert_int_equal(match(&f.r, HTTP_POST, "/healthz", &m), 405);
    assert_int_equal(match(&f.r, HTTP_PUT, "/healthz", &m), 405);
    assert_int_equal(match(&f.r, HTTP_GET, "/server/v4", &m), 405);
    assert_int_equal(match(&f.r, HTTP_GET, "/server/v4/batch", &m), 405);
    assert_int_equal(match(&f.r, HTTP_POST, "/v1/tenants/acme/keys", &m), 405);
    assert_int_equal(match(&f.r, HTTP_GET, "/v1/tenants/acme/keys/k", &m), 405);
    assert_int_equal(match(&f.r, HTTP_DELETE, "/v1/tenants/acme", &m), 405);
    /* Both GET and POST exist for /v1/tenants/{tenant}: each finds its own,
     * though the other method's route comes first. */
    assert_int_equal(match(&f.r, HTTP_POST, "/v1/tenants/acme", &m), 0);
    assert_int_equal(m.route, f.tenant_post);
    assert_param(&m, "/v1/tenants/acme", 0, "acme");
    assert_int_equal(match(&f.r, HTTP_GET, "/v1/tenants/acme", &m), 0);
    assert_int_equal(m.route, f.tenant);
    /* Unknown path under any method: 404. */
    assert_int_equal(match(&f.r, HTTP_GET, "/nope", &m), 404);
    assert_int_equal(match(&f.r, HTTP_POST, "/nope", &m), 404);
    tly_router_free(&f.r);

    /* An empty router. */
    struct tly_router r;
    tly_router_init(&r);
    assert_int_equal(match(&r, HTTP_GET, "/", &m), 404);
    tly_router_free(&r);
    tly_router_free(&r);
}

static void test_first_added_wins(void **state)
{
    (void)state;
    struct tly_router r;
    tly_router_init(&r);
    int a = 1, b = 2, c = 3;
    assert_int_equal(tly_router_add(&r, HTTP_GET, "/items/{id}", handler_a, &a), 0);
    assert_int_equal(tly_router_add(&r, HTTP_GET, "/items/special", handler_b, &b), 0);
    assert_int_equal(tly_router_add(&r, HTTP_GET, "/items/{other}", handler_b, &c), 0);
    struct tly_route_match m;
    assert_int_equal(match(&r, HTTP_GET, "/items/special", &m), 0);
    assert_int_equal(m.route, 0);
    assert_ptr_equal(r.routes[m.route].arg, &a);
    assert_param(&m, "/items/special", 0, "special");
    tly_router_free(&r);

    /* Added the other way round, the literal wins. */
    tly_router_init(&r);
    assert_int_equal(tly_router_add(&r, HTTP_GET, "/items/special", handler_b, &b), 0);
    assert_int_equal(tly_router_add(&r, HTTP_GET, "/items/{id}", handler_a, &a), 0);
    assert_int_equal(match(&r, HTTP_GET, "/items/special", &m), 0);
    assert_int_equal(m.route, 0);
    assert_int_equal(m.nparams, 0);
    assert_int_equal(match(&r, HTTP_GET, "/items/other", &m), 0);
    assert_int_equal(m.route, 1);
    assert_param(&m, "/items/other", 0, "other");
    tly_router_free(&r);
}

static void test_param_not_whole_segment(void **state)
{
    (void)state;
    /* A parameter may follow literal text inside a segment; it runs to the
     * next '/'. */
    struct tly_router r;
    tly_router_init(&r);
    assert_int_equal(tly_router_add(&r, HTTP_GET, "/v{version}/ping", handler_a, NULL), 0);
    struct tly_route_match m;
    assert_int_equal(match(&r, HTTP_GET, "/v12/ping", &m), 0);
    assert_param(&m, "/v12/ping", 0, "12");
    assert_int_equal(match(&r, HTTP_GET, "/v/ping", &m), 404);
    assert_int_equal(match(&r, HTTP_GET, "/x12/ping", &m), 404);
    tly_router_free(&r);
}

static void test_many_routes(void **state)
{
    (void)state;
    struct tly_router r;
    tly_router_init(&r);
    char patterns[40][32];
    for (int i = 0; i < 40; i++) {
        snprintf(patterns[i], sizeof patterns[i], "/r%d/{p}", i);
        assert_int_equal(tly_router_add(&r, i % 2 ? HTTP_POST : HTTP_GET, patterns[i],
                                        i % 2 ? handler_b : handler_a, NULL),
                         0);
    }
    assert_int_equal(r.n, 40);
    assert_true(r.cap >= 40);
    for (int i = 0; i < 40; i++) {
        char path[32];
        snprintf(path, sizeof path, "/r%d/v%d", i, i);
        struct tly_route_match m;
        assert_int_equal(match(&r, i % 2 ? HTTP_POST : HTTP_GET, path, &m), 0);
        assert_int_equal(m.route, i);
        assert_int_equal(m.nparams, 1);
        char want[16];
        snprintf(want, sizeof want, "v%d", i);
        assert_param(&m, path, 0, want);
        assert_int_equal(match(&r, i % 2 ? HTTP_GET : HTTP_POST, path, &m), 405);
    }
    tly_router_free(&r);
    assert_null(r.routes);
    assert_int_equal(r.n, 0);
}

static void test_param_limit(void **state)
{
    (void)state;
    struct tly_router r;
    tly_router_init(&r);
    assert_int_equal(tly_router_add(&r, HTTP_GET, "/{a}/{b}/{c}/{d}", handler_a, NULL), 0);
    assert_int_equal(tly_router_add(&r, HTTP_GET, "/{a}/{b}/{c}/{d}/{e}", handler_a, NULL), 0);
    struct tly_route_match m;
    const char *p = "/1/22/333/4444";
    assert_int_equal(match(&r, HTTP_GET, p, &m), 0);
    assert_int_equal(m.nparams, TLY_ROUTE_MAX_PARAMS);
    assert_param(&m, p, 0, "1");
    assert_param(&m, p, 1, "22");
    assert_param(&m, p, 2, "333");
    assert_param(&m, p, 3, "4444");
    /* A pattern with more parameters than a match can hold never matches. */
    assert_int_equal(match(&r, HTTP_GET, "/1/2/3/4/5", &m), 404);
    tly_router_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_matches),  cmocka_unit_test(test_param_captures),
        cmocka_unit_test(test_non_matches),      cmocka_unit_test(test_404_vs_405),
        cmocka_unit_test(test_first_added_wins), cmocka_unit_test(test_param_not_whole_segment),
        cmocka_unit_test(test_many_routes),      cmocka_unit_test(test_param_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
