/*
 * Per-user segment state (src/engine/segment_state.h): counting (all time
 * and rolling windows, late events sorted in), pruning and folding, the
 * encoding's round trip through every tag, what is left out (empty states,
 * segments the caller drops), refusal of damaged bytes, and conditions
 * kept inside a state surviving its moves and resizes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/err.h"
#include "engine/segment_state.h"

#include <stdlib.h>
#include <string.h>

static void test_counting_prune_fold(void **state)
{
    (void)state;
    struct tly_segcount c = {0};
    assert_int_equal(tly_segcount_add(NULL, &c, 5, 0, 0), 0);
    assert_int_equal(tly_segcount_add(NULL, &c, 6, 2.5, 0), 0);
    assert_int_equal(c.count, 2);
    assert_true(c.sum == 2.5);
    assert_int_equal(c.n, 0);
    /* A window keeps the events by time, a late one sorted in. */
    static const int64_t at[] = {100, 300, 200, 50, 300};
    for (int i = 0; i < 5; i++)
        assert_int_equal(tly_segcount_add(NULL, &c, at[i], (double)i, 1), 0);
    assert_int_equal(c.n, 5);
    static const int64_t sorted[] = {50, 100, 200, 300, 300};
    for (int i = 0; i < 5; i++)
        assert_int_equal(c.ev[i].ts, sorted[i]);
    assert_true(c.ev[0].v == 3 && c.ev[2].v == 2);
    tly_segcount_prune(&c, 150); /* 50 and 100 leave */
    assert_int_equal(c.n, 3);
    assert_int_equal(c.ev[0].ts, 200);
    tly_segcount_prune(&c, 150); /* nothing more */
    assert_int_equal(c.n, 3);
    tly_segcount_fold(&c); /* 2 + 1 + 4 */
    assert_int_equal(c.n, 0);
    assert_int_equal(c.count, 5);
    assert_true(c.sum == 2.5 + 7);
    free(c.ev);
}

/* Up to TLY_SEGSTATE_INLINE conditions live inside the state: their
 * counts survive growing past that, shrinking back, and the state moving
 * in its user's array when states are added before it. */
static void test_inline_conditions(void **state)
{
    (void)state;
    struct tly_userseg u = {0};
    struct tly_segstate *a = tly_userseg_get(&u, 1000, 1);
    assert_non_null(a);
    assert_int_equal(tly_segstate_resize(NULL, a, 1), 0);
    assert_ptr_equal(a->cond, a->inl);
    assert_int_equal(tly_segcount_add(NULL, &a->cond[0], 10, 0, 1), 0);
    /* Twenty states before it: the array grows and it moves. */
    for (int64_t uid = 1; uid <= 20; uid++) {
        struct tly_segstate *x = tly_userseg_get(&u, uid, 1);
        assert_non_null(x);
        assert_int_equal(tly_segstate_resize(NULL, x, 2), 0);
        assert_int_equal(tly_segcount_add(NULL, &x->cond[1], uid, 0, 0), 0);
    }
    a = tly_userseg_get(&u, 1000, 0);
    assert_non_null(a);
    assert_ptr_equal(a->cond, a->inl);
    assert_int_equal(a->cond[0].n, 1);
    assert_int_equal(a->cond[0].ev[0].ts, 10);
    for (int64_t uid = 1; uid <= 20; uid++) {
        struct tly_segstate *x = tly_userseg_get(&u, uid, 0);
        assert_ptr_equal(x->cond, x->inl);
        assert_int_equal(x->cond[1].count, 1);
    }
    /* Out to the heap and back, counts kept. */
    assert_int_equal(tly_segstate_resize(NULL, a, 5), 0);
    assert_ptr_not_equal(a->cond, a->inl);
    assert_int_equal(a->cond[0].ev[0].ts, 10);
    assert_int_equal(tly_segcount_add(NULL, &a->cond[4], 7, 0, 0), 0);
    assert_int_equal(tly_segstate_resize(NULL, a, 4), 0); /* drops the fifth */
    assert_int_equal(tly_segstate_resize(NULL, a, 5), 0);
    assert_int_equal(a->cond[4].count, 0);
    assert_int_equal(tly_segstate_resize(NULL, a, 2), 0);
    assert_ptr_equal(a->cond, a->inl);
    assert_int_equal(a->cond[0].ev[0].ts, 10);
    assert_int_equal(a->cond[1].count, 0);
    assert_int_equal(tly_segstate_resize(NULL, a, 0), 0);
    assert_null(a->cond);
    /* And through the encoding: decoded states point inside themselves. */
    struct tly_buf b;
    tly_buf_init(&b, 0);
    assert_int_equal(tly_userseg_encode(&u, NULL, NULL, &b), 0);
    struct tly_userseg v;
    assert_int_equal(tly_userseg_decode(b.data, b.len, NULL, &v), 0);
    assert_int_equal(v.n, 20);
    for (uint32_t i = 0; i < v.n; i++)
        assert_ptr_equal(v.seg[i].cond, v.seg[i].inl);
    tly_userseg_free(&v);
    tly_buf_free(&b);
    tly_userseg_free(&u);
}

/* A state with one segment of every tag, plus an empty one. */
static void build(struct tly_userseg *u)
{
    memset(u, 0, sizeof *u);
    struct tly_segstate *a = tly_userseg_get(u, 900, 1);
    assert_non_null(a);
    assert_int_equal(tly_segstate_resize(NULL, a, 5), 0);
    a->gen = 3;
    a->changes = 7;
    a->member = 1;
    a->entered_at = 1795000000123;
    assert_int_equal(tly_segcount_add(NULL, &a->cond[1], 0, 0, 0), 0);  /* count */
    assert_int_equal(tly_segcount_add(NULL, &a->cond[2], 0, -4, 0), 0); /* count + sum */
    assert_int_equal(tly_segcount_add(NULL, &a->cond[3], -1000, 0, 1), 0);
    assert_int_equal(tly_segcount_add(NULL, &a->cond[3], 1795000000000, 0, 1), 0); /* times */
    assert_int_equal(tly_segcount_add(NULL, &a->cond[4], 10, 1.5, 1), 0);          /* + values */
    struct tly_segstate *b = tly_userseg_get(u, 5, 1); /* sorted before a */
    assert_non_null(b);
    assert_int_equal(tly_segstate_resize(NULL, b, 2), 0); /* nothing counted: left out */
    struct tly_segstate *c = tly_userseg_get(u, 77, 1);
    assert_non_null(c);
    c->changes = 1; /* a change only: kept */
    assert_int_equal(u->n, 3);
    assert_int_equal(u->seg[0].uid, 5);
    assert_int_equal(u->seg[2].uid, 900);
}

static int not_77(int64_t uid, void *arg)
{
    (void)arg;
    return uid != 77;
}

static void test_round_trip(void **state)
{
    (void)state;
    struct tly_userseg u, v;
    build(&u);
    struct tly_buf a, b;
    tly_buf_init(&a, 0);
    tly_buf_init(&b, 0);
    assert_int_equal(tly_userseg_encode(&u, NULL, NULL, &a), 0);
    assert_int_equal(tly_userseg_decode(a.data, a.len, NULL, &v), 0);
    assert_int_equal(v.n, 2); /* the empty one is left out */
    assert_null(tly_userseg_get(&v, 5, 0));
    const struct tly_segstate *x = tly_userseg_get(&v, 900, 0);
    assert_non_null(x);
    assert_int_equal(x->gen, 3);
    assert_int_equal(x->changes, 7);
    assert_int_equal(x->member, 1);
    assert_int_equal(x->entered_at, 1795000000123);
    assert_int_equal(x->ncond, 5);
    assert_int_equal(x->cond[0].count, 0);
    assert_int_equal(x->cond[1].count, 1);
    assert_true(x->cond[1].sum == 0);
    assert_int_equal(x->cond[2].count, 1);
    assert_true(x->cond[2].sum == -4);
    assert_int_equal(x->cond[3].n, 2);
    assert_int_equal(x->cond[3].ev[0].ts, -1000);
    assert_int_equal(x->cond[3].ev[1].ts, 1795000000000);
    assert_int_equal(x->cond[4].n, 1);
    assert_true(x->cond[4].ev[0].v == 1.5);
    assert_int_equal(tly_userseg_get(&v, 77, 0)->changes, 1);
    /* The same bytes again. */
    assert_int_equal(tly_userseg_encode(&v, NULL, NULL, &b), 0);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    /* A dropped segment is left out. */
    tly_buf_reset(&b);
    tly_userseg_free(&v);
    assert_int_equal(tly_userseg_encode(&u, not_77, NULL, &b), 0);
    assert_int_equal(tly_userseg_decode(b.data, b.len, NULL, &v), 0);
    assert_int_equal(v.n, 1);
    assert_non_null(tly_userseg_get(&v, 900, 0));
    tly_userseg_free(&v);
    /* Every strict prefix is refused, and leaves nothing behind. */
    for (size_t len = 0; len < a.len; len++) {
        assert_int_equal(tly_userseg_decode(a.data, len, NULL, &v), TLY_ECORRUPT);
        assert_int_equal(v.n, 0);
        assert_null(v.seg);
    }
    tly_userseg_free(&u);
    tly_buf_free(&a);
    tly_buf_free(&b);
}

static void test_damage_refused(void **state)
{
    (void)state;
    struct tly_userseg v;
    static const struct {
        const char *what;
        uint8_t bytes[24];
        size_t len;
    } cases[] = {
        /* Per segment: uid, gen, changes, member, ncond, then conditions. */
        {"another version", {2, 0}, 2},
        {"trailing bytes", {1, 0, 0}, 3},
        {"uids not increasing", {1, 2, 5, 0, 0, 0, 0, 5, 0, 0, 0, 0}, 12},
        {"uid zero", {1, 1, 0, 0, 0, 0, 0}, 7},
        {"too many conditions", {1, 1, 5, 0, 0, 0, 17}, 7},
        {"unknown tag", {1, 1, 5, 0, 0, 0, 1, 9}, 8},
        {"a list longer than the bytes", {1, 1, 5, 0, 0, 0, 1, 3, 100, 2}, 10},
        {"an empty list", {1, 1, 5, 0, 0, 0, 1, 3, 0}, 9},
        {"a time step past INT64_MAX",
         {1, 1, 5, 0, 0, 0, 1, 3, 2, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 1},
         20},
        /* zigzag(253402300800001) = 506804601600002 */
        {"a time past year 9999",
         {1, 1, 5, 0, 0, 0, 1, 3, 1, 0x82, 0xf0, 0xfe, 0xa1, 0xfa, 0x9d, 0x73},
         17},
        {"a varint past 64 bits",
         {1, 1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 2, 0, 0, 0, 0},
         16},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = tly_userseg_decode(cases[i].bytes, cases[i].len, NULL, &v);
        if (rc != TLY_ECORRUPT)
            fail_msg("%s: decoded (rc %d)", cases[i].what, rc);
        assert_int_equal(v.n, 0);
    }
    /* Nothing stored at all is refused too (the caller stores a version). */
    assert_int_equal(tly_userseg_decode("", 0, NULL, &v), TLY_ECORRUPT);
    /* The smallest valid state: no segments. */
    static const uint8_t none[] = {1, 0};
    assert_int_equal(tly_userseg_decode(none, sizeof none, NULL, &v), 0);
    assert_int_equal(v.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counting_prune_fold),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_damage_refused),
        cmocka_unit_test(test_inline_conditions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
