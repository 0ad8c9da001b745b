/*
 * Unit tests for core/u64set.h, the open-addressing set of 64-bit keys the
 * pipeline uses as its cache of known users: add/has (including adding a
 * key twice and keys whose low bits collide), growth through many resizes
 * up to a million keys with every key still found and absent keys still
 * missed, clear (empty but usable, memory kept), free of an empty set, and
 * tly_u64set_hash: never 0 (0 marks an empty slot), deterministic, and
 * different for the same bytes under different tenants.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/u64set.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A bijection on 64-bit integers (splitmix64's finalizer: odd multipliers
 * and xor-shifts are invertible), so distinct i give distinct, well spread
 * keys. The one i that maps to the reserved key 0 is moved by hand. */
static uint64_t key_of(uint64_t i)
{
    uint64_t z = i + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return z != 0 ? z : 0xffffffffffffffffull;
}

static void test_empty_set(void **state)
{
    (void)state;
    struct tly_u64set s;
    tly_u64set_init(&s);
    assert_int_equal(s.count, 0);
    assert_false(tly_u64set_has(&s, 1));
    assert_false(tly_u64set_has(&s, 0xdeadbeefull));
    tly_u64set_clear(&s); /* clear of a set that never allocated */
    assert_false(tly_u64set_has(&s, 1));
    tly_u64set_free(&s);
    tly_u64set_free(&s); /* twice: free leaves an empty set */
    assert_null(s.slots);
    assert_int_equal(s.count, 0);
}

static void test_add_has(void **state)
{
    (void)state;
    struct tly_u64set s;
    tly_u64set_init(&s);
    assert_int_equal(tly_u64set_add(&s, 42), 0);
    assert_true(tly_u64set_has(&s, 42));
    assert_false(tly_u64set_has(&s, 43));
    assert_false(tly_u64set_has(&s, 41));
    assert_int_equal(s.count, 1);

    /* Adding again is a no-op that succeeds. */
    assert_int_equal(tly_u64set_add(&s, 42), 0);
    assert_int_equal(s.count, 1);

    /* Extremes of the key space. */
    assert_int_equal(tly_u64set_add(&s, 1), 0);
    assert_int_equal(tly_u64set_add(&s, UINT64_MAX), 0);
    assert_true(tly_u64set_has(&s, 1));
    assert_true(tly_u64set_has(&s, UINT64_MAX));
    assert_false(tly_u64set_has(&s, UINT64_MAX - 1));
    assert_int_equal(s.count, 3);
    tly_u64set_free(&s);
}

static void test_colliding_low_bits(void **state)
{
    (void)state;
    /* Keys equal modulo every table size used here land on the same home
     * slot and must probe past each other, including across the wrap at
     * the end of the table (home slot = mask). */
    struct tly_u64set s;
    tly_u64set_init(&s);
    enum { N = 300 };
    for (uint64_t i = 1; i <= N; i++) {
        assert_int_equal(tly_u64set_add(&s, (i << 32) | 0x3ff), 0);
        assert_int_equal(tly_u64set_add(&s, (i << 32) | 0x7), 0);
    }
    assert_int_equal(s.count, 2 * N);
    for (uint64_t i = 1; i <= N; i++) {
        assert_true(tly_u64set_has(&s, (i << 32) | 0x3ff));
        assert_true(tly_u64set_has(&s, (i << 32) | 0x7));
        assert_false(tly_u64set_has(&s, (i << 32) | 0x8));
    }
    assert_false(tly_u64set_has(&s, ((uint64_t)(N + 1) << 32) | 0x3ff));
    tly_u64set_free(&s);
}

static void test_growth_million_keys(void **state)
{
    (void)state;
    enum { N = 1000000 };
    struct tly_u64set s;
    tly_u64set_init(&s);
    size_t resizes = 0, cap = 0;
    for (uint64_t i = 0; i < N; i++) {
        if (tly_u64set_add(&s, key_of(i)) != 0)
            fail_msg("add #%llu failed", (unsigned long long)i);
        if (s.mask + 1 != cap) {
            cap = s.mask + 1;
            resizes++;
        }
        /* The load stays at most 1/2 and the table is a power of two. */
        if (s.count * 2 > s.mask + 1 || ((s.mask + 1) & s.mask) != 0)
            fail_msg("count %zu in %zu slots", s.count, s.mask + 1);
    }
    assert_int_equal(s.count, N);
    assert_true(resizes >= 10); /* 1024 → 2^21 slots */
    for (uint64_t i = 0; i < N; i++)
        if (!tly_u64set_has(&s, key_of(i)))
            fail_msg("key #%llu lost after growth", (unsigned long long)i);
    for (uint64_t i = N; i < N + 100000; i++)
        if (tly_u64set_has(&s, key_of(i)))
            fail_msg("key #%llu found but never added", (unsigned long long)i);

    /* Re-adding all of them changes nothing. */
    size_t slots = s.mask + 1;
    for (uint64_t i = 0; i < N; i += 7)
        assert_int_equal(tly_u64set_add(&s, key_of(i)), 0);
    assert_int_equal(s.count, N);
    assert_int_equal(s.mask + 1, slots);
    tly_u64set_free(&s);
}

static void test_clear(void **state)
{
    (void)state;
    struct tly_u64set s;
    tly_u64set_init(&s);
    for (uint64_t i = 0; i < 5000; i++)
        assert_int_equal(tly_u64set_add(&s, key_of(i)), 0);
    size_t slots = s.mask + 1;
    tly_u64set_clear(&s);
    assert_int_equal(s.count, 0);
    assert_int_equal(s.mask + 1, slots); /* memory kept */
    for (uint64_t i = 0; i < 5000; i++)
        if (tly_u64set_has(&s, key_of(i)))
            fail_msg("key #%llu still there after clear", (unsigned long long)i);

    /* Usable again, with the same keys and others. */
    for (uint64_t i = 2500; i < 7500; i++)
        assert_int_equal(tly_u64set_add(&s, key_of(i)), 0);
    assert_int_equal(s.count, 5000);
    assert_false(tly_u64set_has(&s, key_of(0)));
    assert_false(tly_u64set_has(&s, key_of(2499)));
    assert_true(tly_u64set_has(&s, key_of(2500)));
    assert_true(tly_u64set_has(&s, key_of(7499)));
    assert_false(tly_u64set_has(&s, key_of(7500)));
    tly_u64set_free(&s);
}

static void test_hash_never_zero_and_stable(void **state)
{
    (void)state;
    char buf[32];
    for (uint32_t t = 0; t < 64; t++) {
        for (int i = 0; i < 20000; i++) {
            int n = snprintf(buf, sizeof buf, "user-%d", i);
            uint64_t h = tly_u64set_hash(t, buf, (size_t)n);
            if (h == 0)
                fail_msg("hash(%u, %s) is 0", t, buf);
            assert_true(h == tly_u64set_hash(t, buf, (size_t)n));
        }
    }
    /* Empty string and extreme tenants too. */
    assert_true(tly_u64set_hash(0, "", 0) != 0);
    assert_true(tly_u64set_hash(UINT32_MAX, "", 0) != 0);
    assert_true(tly_u64set_hash(UINT32_MAX, "\0\0\0", 3) != 0);
    /* Only the first n bytes count. */
    assert_true(tly_u64set_hash(1, "abcdef", 3) == tly_u64set_hash(1, "abc", 3));
    assert_true(tly_u64set_hash(1, "abcdef", 4) != tly_u64set_hash(1, "abc", 3));
}

static void test_hash_differs_by_tenant(void **state)
{
    (void)state;
    static const char *const ids[] = {"", "u", "user-1", "alice@example.com", "\xc3\xa9t\xc3\xa9"};
    for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
        size_t n = strlen(ids[k]);
        /* Tenants that differ in each of the 4 bytes of the id. */
        static const uint32_t tenants[] = {
            1, 2, 3, 256, 65536, 16777216, 0x01000001, 0x80000000u, 0xffffffff, 0xfffffffe, 0};
        enum { NT = sizeof tenants / sizeof tenants[0] };
        for (size_t a = 0; a < NT; a++)
            for (size_t b = a + 1; b < NT; b++)
                if (tly_u64set_hash(tenants[a], ids[k], n) ==
                    tly_u64set_hash(tenants[b], ids[k], n))
                    fail_msg("hash('%s') equal under tenants %u and %u", ids[k], tenants[a],
                             tenants[b]);
    }

    /* In a set: the same user of tenant 1 is known, of tenant 2 is not. */
    struct tly_u64set s;
    tly_u64set_init(&s);
    assert_int_equal(tly_u64set_add(&s, tly_u64set_hash(1, "alice", 5)), 0);
    assert_true(tly_u64set_has(&s, tly_u64set_hash(1, "alice", 5)));
    assert_false(tly_u64set_has(&s, tly_u64set_hash(2, "alice", 5)));
    assert_false(tly_u64set_has(&s, tly_u64set_hash(1, "bob", 3)));
    tly_u64set_free(&s);

    /* Many users of two tenants: no collision between (1, x) and (2, x). */
    int same = 0;
    char buf[32];
    for (int i = 0; i < 100000; i++) {
        int n = snprintf(buf, sizeof buf, "%d", i);
        same += tly_u64set_hash(1, buf, (size_t)n) == tly_u64set_hash(2, buf, (size_t)n);
    }
    assert_int_equal(same, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_set),
        cmocka_unit_test(test_add_has),
        cmocka_unit_test(test_colliding_low_bits),
        cmocka_unit_test(test_growth_million_keys),
        cmocka_unit_test(test_clear),
        cmocka_unit_test(test_hash_never_zero_and_stable),
        cmocka_unit_test(test_hash_differs_by_tenant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
