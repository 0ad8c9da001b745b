/*
 * Unit tests for core/u64map.h, the open-addressing multimap of 64-bit keys
 * to int64 values (linear probing, backward-shift removal):
 * - the empty map: get and remove find nothing, clear and free of a map that
 *   never allocated, free twice;
 * - add/get with one and several values per key (the same pair twice too),
 *   get keeping the `max` largest values, largest first,
 *   get with values == NULL, with max == 0 and with max below the count
 *   (returns the total, writes only max values);
 * - set: replaces a key's single value, adds when the key is absent, and
 *   leaves the key with only that value when it held several;
 * - remove: only the exact (key, value) pair, 1 or 0, count follows;
 * - backward-shift removal: a cluster of keys sharing home slots that wraps
 *   around the end of the table, removed in every one of its 8! orders;
 *   random clusters in random orders; a run of 1200 colliding keys removed
 *   front first, back first, alternately and randomly; after each removal
 *   every remaining pair is found, removed ones are not, and no probe run
 *   has a hole;
 * - a randomized model test: 200,000 add/set/remove/get operations with a
 *   fixed seed against a naive reference (a count per (key, value)),
 *   checked after every operation and in full every 1000;
 * - growth to 1,000,000 keys: load at most 1/2, table a power of two,
 *   tly_u64map_bytes == slots * 16, every key found with its value after
 *   growth, absent keys missed, then set and removal of all of them;
 * - clear: empty, memory given back, usable again;
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/u64map.h"

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

/* A key whose home slot is `low & mask` for every table of at most 2^32
 * slots; distinct tags (> 0) give distinct keys. */
static uint64_t key_at(uint32_t tag, uint32_t low)
{
    return ((uint64_t)tag << 32) | low;
}

/* A small deterministic PRNG (xorshift64*), independent of libc's rand. */
static uint64_t rng_state;

static void rng_seed(uint64_t seed)
{
    rng_state = seed != 0 ? seed : 1;
}

static uint64_t rng_next(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static size_t rng_below(size_t n)
{
    return (size_t)(rng_next() % n);
}

static void shuffle(size_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = rng_below(i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The map holds exactly the values want[0..n) (in any order) under key:
 * get with NULL and with a buffer both return n, the buffer gets those
 * values and nothing is written past them. */
static void expect_values(const struct tly_u64map *m, uint64_t key, const int64_t *want, size_t n)
{
    enum { MAXV = 64 };
    const int64_t GUARD = 0x5a5a5a5a5a5a5a5all;
    if (n > MAXV)
        fail_msg("expect_values: %zu values is over the test's limit", n);
    int64_t got[MAXV + 1], exp[MAXV];
    for (size_t i = 0; i <= MAXV; i++)
        got[i] = GUARD;
    size_t c = tly_u64map_get(m, key, NULL, 0);
    if (c != n)
        fail_msg("key %#llx: get(NULL) says %zu values, want %zu", (unsigned long long)key, c, n);
    c = tly_u64map_get(m, key, got, n);
    if (c != n)
        fail_msg("key %#llx: get says %zu values, want %zu", (unsigned long long)key, c, n);
    if (got[n] != GUARD)
        fail_msg("key %#llx: get wrote past max", (unsigned long long)key);
    if (n > 0)
        memcpy(exp, want, n * sizeof *want);
    qsort(got, n, sizeof *got, cmp_i64);
    qsort(exp, n, sizeof *exp, cmp_i64);
    for (size_t i = 0; i < n; i++)
        if (got[i] != exp[i])
            fail_msg("key %#llx: value #%zu is %lld, want %lld", (unsigned long long)key, i,
                     (long long)got[i], (long long)exp[i]);
}

static void expect_one(const struct tly_u64map *m, uint64_t key, int64_t value)
{
    expect_values(m, key, &value, 1);
}

static void expect_none(const struct tly_u64map *m, uint64_t key)
{
    expect_values(m, key, NULL, 0);
}

/* The layout's invariants, read through the public struct: a power-of-two
 * table at most half full, count == occupied slots, bytes == slots * 16,
 * and no empty slot between any entry and its home slot (a hole there
 * would make lookups stop early). */
static void check_table(const struct tly_u64map *m)
{
    if (m->slots == NULL) {
        assert_int_equal(m->count, 0);
        assert_int_equal(tly_u64map_bytes(m), 0);
        return;
    }
    size_t n = m->mask + 1;
    if ((n & m->mask) != 0 || m->count * 2 > n)
        fail_msg("count %zu in %zu slots", m->count, n);
    assert_int_equal(tly_u64map_bytes(m), n * 16);
    size_t used = 0;
    for (size_t j = 0; j < n; j++) {
        if (m->slots[j].key == 0)
            continue;
        used++;
        for (size_t i = (size_t)m->slots[j].key & m->mask; i != j; i = (i + 1) & m->mask)
            if (m->slots[i].key == 0)
                fail_msg("hole at slot %zu before key %#llx in slot %zu", i,
                         (unsigned long long)m->slots[j].key, j);
    }
    if (used != m->count)
        fail_msg("%zu slots used, count says %zu", used, m->count);
}

/* A list of (key, value) pairs that should be in the map. */
struct pair {
    uint64_t key;
    int64_t value;
};

/* The map holds exactly the pairs live[0..n) under every key of all[0..na)
 * (the pairs removed so far included, whose keys may still hold others). */
static void expect_pairs(const struct tly_u64map *m, const struct pair *all, size_t na,
                         const struct pair *live, size_t n)
{
    assert_int_equal(m->count, n);
    for (size_t k = 0; k < na; k++) {
        int64_t want[64];
        size_t c = 0;
        for (size_t i = 0; i < n; i++)
            if (live[i].key == all[k].key) {
                assert_true(c < 64);
                want[c++] = live[i].value;
            }
        expect_values(m, all[k].key, want, c);
    }
}

static void test_empty_map(void **state)
{
    (void)state;
    struct tly_u64map m;
    tly_u64map_init(&m);
    assert_int_equal(m.count, 0);
    assert_int_equal(tly_u64map_bytes(&m), 0);
    int64_t v = 77;
    assert_int_equal(tly_u64map_get(&m, 1, &v, 1), 0);
    assert_int_equal(v, 77); /* nothing written */
    assert_int_equal(tly_u64map_get(&m, 0xdeadbeefull, NULL, 0), 0);
    assert_int_equal(tly_u64map_get(&m, UINT64_MAX, &v, 1), 0);
    assert_int_equal(tly_u64map_remove(&m, 1, 0), 0);
    assert_int_equal(tly_u64map_remove(&m, UINT64_MAX, 77), 0);
    assert_int_equal(m.count, 0);
    tly_u64map_clear(&m); /* clear of a map that never allocated */
    assert_int_equal(tly_u64map_get(&m, 1, NULL, 0), 0);
    assert_int_equal(tly_u64map_bytes(&m), 0);
    tly_u64map_free(&m);
    tly_u64map_free(&m); /* twice: free leaves an empty map */
    assert_null(m.slots);
    assert_int_equal(m.count, 0);
    assert_int_equal(tly_u64map_get(&m, 1, NULL, 0), 0);

    /* Usable after free, and an emptied map finds nothing either. */
    assert_int_equal(tly_u64map_add(&m, 5, 50), 0);
    expect_one(&m, 5, 50);
    assert_int_equal(tly_u64map_remove(&m, 5, 50), 1);
    assert_int_equal(m.count, 0);
    expect_none(&m, 5);
    assert_int_equal(tly_u64map_remove(&m, 5, 50), 0);
    check_table(&m);
    tly_u64map_free(&m);
}

static void test_add_get(void **state)
{
    (void)state;
    struct tly_u64map m;
    tly_u64map_init(&m);

    /* One value per key, extremes of both spaces. */
    assert_int_equal(tly_u64map_add(&m, 42, 7), 0);
    assert_int_equal(m.count, 1);
    expect_one(&m, 42, 7);
    expect_none(&m, 43);
    expect_none(&m, 41);
    assert_int_equal(tly_u64map_add(&m, 1, INT64_MIN), 0);
    assert_int_equal(tly_u64map_add(&m, UINT64_MAX, INT64_MAX), 0);
    assert_int_equal(tly_u64map_add(&m, 2, 0), 0);
    assert_int_equal(m.count, 4);
    expect_one(&m, 1, INT64_MIN);
    expect_one(&m, UINT64_MAX, INT64_MAX);
    expect_one(&m, 2, 0);
    expect_none(&m, UINT64_MAX - 1);

    /* Several values under one key, the same pair twice included. */
    const uint64_t k = 0x123456789abcdef0ull;
    const int64_t vals[] = {10, -3, 10, 99, 0, INT64_MAX};
    enum { NV = sizeof vals / sizeof vals[0] };
    for (size_t i = 0; i < NV; i++) {
        assert_int_equal(tly_u64map_add(&m, k, vals[i]), 0);
        expect_values(&m, k, vals, i + 1);
    }
    assert_int_equal(m.count, 4 + NV);
    expect_one(&m, 42, 7); /* the others are untouched */

    /* max below the count: the total comes back, only max are written,
     * and each one written is one of the key's values. */
    int64_t buf[NV + 2];
    for (size_t max = 0; max <= NV; max++) {
        for (size_t i = 0; i < NV + 2; i++)
            buf[i] = -12345;
        assert_int_equal(tly_u64map_get(&m, k, buf, max), NV);
        for (size_t i = 0; i < max; i++) {
            int found = 0;
            for (size_t j = 0; j < NV; j++)
                found |= buf[i] == vals[j];
            if (!found)
                fail_msg("max %zu: value #%zu %lld is not one of the key's", max, i,
                         (long long)buf[i]);
        }
        for (size_t i = max; i < NV + 2; i++)
            if (buf[i] != -12345)
                fail_msg("max %zu: slot %zu of values[] was written", max, i);
    }
    /* values == NULL with a nonzero max only counts. */
    assert_int_equal(tly_u64map_get(&m, k, NULL, 3), NV);
    assert_int_equal(tly_u64map_get(&m, k + 1, NULL, 3), 0);
    check_table(&m);
    tly_u64map_free(&m);
}

/* get keeps the `max` largest values of a key, largest first, whatever
 * the order they were added in. */
static void test_get_largest_first(void **state)
{
    (void)state;
    struct tly_u64map m;
    tly_u64map_init(&m);
    static const int64_t added[] = {5, -3, 40, 7, 40, 12, 0, 99, 1};
    enum { N = sizeof added / sizeof added[0] };
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(tly_u64map_add(&m, 77, added[i]), 0);
        assert_int_equal(tly_u64map_add(&m, 78, -added[i]), 0); /* same home run */
    }
    static const int64_t sorted[] = {99, 40, 40, 12, 7, 5, 1, 0, -3};
    for (size_t max = 0; max <= N + 2; max++) {
        int64_t got[N + 3];
        for (size_t i = 0; i < N + 3; i++)
            got[i] = 1234567;
        assert_int_equal(tly_u64map_get(&m, 77, got, max), N);
        for (size_t i = 0; i < max && i < N; i++)
            assert_true(got[i] == sorted[i]);
        for (size_t i = max < N ? max : N; i < N + 3; i++)
            assert_true(got[i] == 1234567); /* nothing written past max */
    }
    tly_u64map_free(&m);
}

static void test_set(void **state)
{
    (void)state;
    struct tly_u64map m;
    tly_u64map_init(&m);

    /* Absent: set adds, on a map that never allocated too. */
    assert_int_equal(tly_u64map_set(&m, 9, 90), 0);
    assert_int_equal(m.count, 1);
    expect_one(&m, 9, 90);

    /* Present with one value: replaced, count unchanged. */
    assert_int_equal(tly_u64map_set(&m, 9, -1), 0);
    assert_int_equal(m.count, 1);
    expect_one(&m, 9, -1);
    assert_int_equal(tly_u64map_remove(&m, 9, 90), 0); /* the old pair is gone */
    assert_int_equal(tly_u64map_set(&m, 9, -1), 0);    /* same value again */
    assert_int_equal(m.count, 1);
    expect_one(&m, 9, -1);

    /* Other keys, colliding ones included, are not touched. */
    const uint64_t a = key_at(1, 5), b = key_at(2, 5), c = key_at(3, 5);
    assert_int_equal(tly_u64map_set(&m, a, 1), 0);
    assert_int_equal(tly_u64map_set(&m, b, 2), 0);
    assert_int_equal(tly_u64map_set(&m, c, 3), 0);
    assert_int_equal(tly_u64map_set(&m, b, 20), 0);
    assert_int_equal(m.count, 4);
    expect_one(&m, a, 1);
    expect_one(&m, b, 20);
    expect_one(&m, c, 3);
    expect_one(&m, 9, -1);

    /* Set after removal adds back. */
    assert_int_equal(tly_u64map_remove(&m, a, 1), 1);
    expect_none(&m, a);
    assert_int_equal(tly_u64map_set(&m, a, 11), 0);
    expect_one(&m, a, 11);
    expect_one(&m, b, 20);
    expect_one(&m, c, 3);
    assert_int_equal(m.count, 4);

    /* Many keys set twice: the second set replaces every one. */
    for (uint64_t i = 0; i < 3000; i++)
        assert_int_equal(tly_u64map_set(&m, key_of(i), (int64_t)i), 0);
    for (uint64_t i = 0; i < 3000; i++)
        assert_int_equal(tly_u64map_set(&m, key_of(i), -(int64_t)i - 1), 0);
    assert_int_equal(m.count, 4 + 3000);
    for (uint64_t i = 0; i < 3000; i++)
        expect_one(&m, key_of(i), -(int64_t)i - 1);
    check_table(&m);
    tly_u64map_free(&m);
}

/* test_set_on_multivalued_key's map lives in *state so the teardown frees
 * it even when an assertion ends the test early. */
static int map_setup(void **state)
{
    struct tly_u64map *m = malloc(sizeof *m);
    if (m == NULL)
        return -1;
    tly_u64map_init(m);
    *state = m;
    return 0;
}

static int map_teardown(void **state)
{
    tly_u64map_free(*state);
    free(*state);
    return 0;
}

static void test_set_on_multivalued_key(void **state)
{
    /* u64map.h: "tly_u64map_set: Makes value the key's only value." */
    struct tly_u64map *m = *state;
    const uint64_t k = key_at(1, 7);
    /* Slots 7, 8, 9, 10: k=1, k=2, another key with the same home, k=3. */
    assert_int_equal(tly_u64map_add(m, k, 1), 0);
    assert_int_equal(tly_u64map_add(m, k, 2), 0);
    assert_int_equal(tly_u64map_add(m, key_at(2, 7), 5), 0);
    assert_int_equal(tly_u64map_add(m, k, 3), 0);
    assert_int_equal(tly_u64map_set(m, k, 4), 0);
    expect_one(m, k, 4);
    expect_one(m, key_at(2, 7), 5);
    assert_int_equal(m->count, 2);
    check_table(m);
}

static void test_remove_exact_pair(void **state)
{
    (void)state;
    struct tly_u64map m;
    tly_u64map_init(&m);
    const uint64_t k = key_at(1, 3), other = key_at(2, 3);
    assert_int_equal(tly_u64map_add(&m, k, 1), 0);
    assert_int_equal(tly_u64map_add(&m, k, 2), 0);
    assert_int_equal(tly_u64map_add(&m, k, 2), 0);
    assert_int_equal(tly_u64map_add(&m, other, 1), 0);
    assert_int_equal(m.count, 4);

    /* Right key, wrong value; wrong key, right value: nothing removed. */
    assert_int_equal(tly_u64map_remove(&m, k, 3), 0);
    assert_int_equal(tly_u64map_remove(&m, key_at(3, 3), 1), 0);
    assert_int_equal(tly_u64map_remove(&m, k + 1, 1), 0);
    assert_int_equal(m.count, 4);
    expect_values(&m, k, (const int64_t[]){1, 2, 2}, 3);

    /* A pair held twice goes one at a time. */
    assert_int_equal(tly_u64map_remove(&m, k, 2), 1);
    assert_int_equal(m.count, 3);
    expect_values(&m, k, (const int64_t[]){1, 2}, 2);
    assert_int_equal(tly_u64map_remove(&m, k, 2), 1);
    assert_int_equal(m.count, 2);
    expect_one(&m, k, 1);
    assert_int_equal(tly_u64map_remove(&m, k, 2), 0);
    assert_int_equal(m.count, 2);

    /* The same value under another key stays. */
    assert_int_equal(tly_u64map_remove(&m, k, 1), 1);
    assert_int_equal(m.count, 1);
    expect_none(&m, k);
    expect_one(&m, other, 1);
    assert_int_equal(tly_u64map_remove(&m, k, 1), 0);
    assert_int_equal(tly_u64map_remove(&m, other, 1), 1);
    assert_int_equal(m.count, 0);
    expect_none(&m, other);
    check_table(&m);
    tly_u64map_free(&m);
}

/* Next permutation in lexicographic order; 0 after the last one. */
static int next_perm(size_t *a, size_t n)
{
    size_t i = n - 1;
    while (i > 0 && a[i - 1] >= a[i])
        i--;
    if (i == 0)
        return 0;
    size_t j = n - 1;
    while (a[j] <= a[i - 1])
        j--;
    size_t t = a[i - 1];
    a[i - 1] = a[j];
    a[j] = t;
    for (size_t l = i, r = n - 1; l < r; l++, r--) {
        t = a[l];
        a[l] = a[r];
        a[r] = t;
    }
    return 1;
}

/* Removes all[order[0..n)] one by one, checking every step. */
static void remove_in_order(struct tly_u64map *m, const struct pair *all, size_t n,
                            const size_t *order)
{
    struct pair live[64];
    size_t nl = n;
    memcpy(live, all, n * sizeof *all);
    for (size_t s = 0; s < n; s++) {
        const struct pair *p = &all[order[s]];
        if (tly_u64map_remove(m, p->key, p->value) != 1)
            fail_msg("step %zu: pair (%#llx, %lld) not removed", s, (unsigned long long)p->key,
                     (long long)p->value);
        for (size_t i = 0; i < nl; i++)
            if (live[i].key == p->key && live[i].value == p->value) {
                live[i] = live[--nl];
                break;
            }
        check_table(m);
        expect_pairs(m, all, n, live, nl);
    }
}

static void test_wrapping_cluster_all_orders(void **state)
{
    (void)state;
    /* With the first table (1024 slots; a fresh map must give exactly that
     * for this test to mean what it says, checked below) these 8 pairs fill
     * slots 1022, 1023, 0, 1, 2, 3, 4, 5: one run across the end of the
     * table, homes 1022, 1023, 0, 1 and 3, the same pair twice and two
     * values under one key. Every removal order is tried. */
    const struct pair all[] = {
        {key_at(1, 1022), 10}, /* slot 1022 */
        {key_at(2, 1022), 20}, /* 1023 */
        {key_at(3, 1023), 30}, /* 0 */
        {key_at(1, 1022), 10}, /* 1: the same pair as slot 1022 */
        {key_at(4, 0), 40},    /* 2 */
        {key_at(5, 1), 50},    /* 3 */
        {key_at(6, 0), 60},    /* 4 */
        {key_at(2, 1022), 21}, /* 5: a second value of slot 1023's key */
    };
    const size_t slot_of[] = {1022, 1023, 0, 1, 2, 3, 4, 5};
    enum { N = sizeof all / sizeof all[0] };
    size_t order[N];
    for (size_t i = 0; i < N; i++)
        order[i] = i;
    size_t perms = 0;
    do {
        struct tly_u64map m;
        tly_u64map_init(&m);
        for (size_t i = 0; i < N; i++)
            assert_int_equal(tly_u64map_add(&m, all[i].key, all[i].value), 0);
        assert_int_equal(m.mask, 1023);
        for (size_t i = 0; i < N; i++) {
            assert_true(m.slots[slot_of[i]].key == all[i].key);
            assert_true(m.slots[slot_of[i]].value == all[i].value);
        }
        assert_int_equal(m.slots[6].key, 0);
        assert_int_equal(m.slots[1021].key, 0);
        remove_in_order(&m, all, N, order);
        /* Absent pairs of present-then-removed keys stay absent. */
        assert_int_equal(tly_u64map_remove(&m, all[0].key, all[0].value), 0);
        assert_int_equal(m.count, 0);
        tly_u64map_free(&m);
        perms++;
    } while (next_perm(order, N));
    assert_int_equal(perms, 40320);
}

static void test_random_clusters_random_orders(void **state)
{
    (void)state;
    /* Clusters of up to 48 pairs whose homes lie in the 8 slots around the
     * end of the table (mask-3 .. mask, 0 .. 3 for every table size of at
     * most 2^20), inserted and removed in random orders, with some keys
     * holding several values. Half the trials first grow the table so the
     * wrap happens at a later size too. */
    static const uint32_t lows[] = {0xffffc, 0xffffd, 0xffffe, 0xfffff, 0, 1, 2, 3};
    rng_seed(0x5eed1234);
    for (int trial = 0; trial < 3000; trial++) {
        struct tly_u64map m;
        tly_u64map_init(&m);
        enum { FILL = 1500 };
        int grown = trial % 2;
        if (grown) {
            /* Filler keys with homes in the middle of the table, far from
             * the cluster: 1500 of them grow the table to 4096 slots. */
            for (uint32_t i = 0; i < FILL; i++)
                assert_int_equal(tly_u64map_add(&m, key_at(1000 + i, 0x800 + i), i), 0);
            assert_int_equal(m.mask, 4095);
        }
        size_t n = 1 + rng_below(48);
        struct pair all[48];
        size_t order[48];
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && rng_below(4) == 0) {
                all[i] = all[rng_below(i)]; /* the same key again */
                all[i].value = (int64_t)rng_below(3);
            } else {
                all[i].key = key_at(1 + (uint32_t)rng_below(6), lows[rng_below(8)]);
                all[i].value = (int64_t)rng_below(3);
            }
            order[i] = i;
        }
        shuffle(order, n);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(tly_u64map_add(&m, all[order[i]].key, all[order[i]].value), 0);
        size_t base = grown ? FILL : 0;
        assert_int_equal(m.count, base + n);
        shuffle(order, n);

        struct pair live[48];
        size_t nl = n;
        memcpy(live, all, n * sizeof *all);
        for (size_t s = 0; s < n; s++) {
            const struct pair *p = &all[order[s]];
            assert_int_equal(tly_u64map_remove(&m, p->key, p->value), 1);
            for (size_t i = 0; i < nl; i++)
                if (live[i].key == p->key && live[i].value == p->value) {
                    live[i] = live[--nl];
                    break;
                }
            check_table(&m);
            assert_int_equal(m.count, base + nl);
            for (size_t k = 0; k < n; k++) {
                int64_t want[48];
                size_t c = 0;
                for (size_t i = 0; i < nl; i++)
                    if (live[i].key == all[k].key)
                        want[c++] = live[i].value;
                expect_values(&m, all[k].key, want, c);
            }
        }
        if (grown)
            for (uint32_t i = 0; i < FILL; i += 37)
                expect_one(&m, key_at(1000 + i, 0x800 + i), i);
        tly_u64map_free(&m);
    }
}

static void test_long_colliding_run(void **state)
{
    (void)state;
    /* 1200 keys with homes mask-1, mask, 0 and 1 (for every table of at
     * most 2^20 slots) make one run that wraps around the end of the table.
     * Remove them front first, back first, alternately and randomly. */
    static const uint32_t lows[] = {0xffffe, 0xfffff, 0, 1};
    enum { PER = 300, N = 4 * PER };
    static struct pair all[N];
    for (size_t i = 0; i < N; i++) {
        all[i].key = key_at(1 + (uint32_t)(i / 4), lows[i % 4]);
        all[i].value = (int64_t)i * 3 - 1000;
    }
    static size_t order[N];
    static char gone[N];
    rng_seed(42);
    for (int how = 0; how < 4; how++) {
        struct tly_u64map m;
        tly_u64map_init(&m);
        for (size_t i = 0; i < N; i++)
            assert_int_equal(tly_u64map_add(&m, all[i].key, all[i].value), 0);
        assert_int_equal(m.count, N);
        check_table(&m);
        /* The run does wrap: both ends of the table are taken. */
        assert_true(m.slots[m.mask].key != 0 && m.slots[0].key != 0);
        for (size_t i = 0; i < N; i++)
            expect_one(&m, all[i].key, all[i].value);

        for (size_t i = 0; i < N; i++) {
            switch (how) {
            case 0:
                order[i] = i;
                break; /* front */
            case 1:
                order[i] = N - 1 - i;
                break; /* back */
            case 2:
                order[i] = i < N / 2 ? 2 * i + 1 : 2 * (i - N / 2);
                break; /* odd, even */
            default:
                order[i] = i;
                break;
            }
        }
        if (how == 3)
            shuffle(order, N);
        memset(gone, 0, sizeof gone);
        for (size_t s = 0; s < N; s++) {
            size_t r = order[s];
            assert_int_equal(tly_u64map_remove(&m, all[r].key, all[r].value), 1);
            gone[r] = 1;
            assert_int_equal(m.count, N - 1 - s);
            expect_none(&m, all[r].key);
            assert_int_equal(tly_u64map_remove(&m, all[r].key, all[r].value), 0);
            if (s % 97 == 0 || s == N / 2) {
                check_table(&m);
                for (size_t i = 0; i < N; i++)
                    if (gone[i])
                        expect_none(&m, all[i].key);
                    else
                        expect_one(&m, all[i].key, all[i].value);
            }
        }
        check_table(&m);
        tly_u64map_free(&m);
    }
}

/* The model test's keys: 7 of every 8 in clusters of shared home slots
 * (around the end of the table, and around slot 1023/1024), 1 in 8 random. */
enum { MODEL_KEYS = 1024, MODEL_VALS = 6 };
static const int64_t model_vals[MODEL_VALS] = {0, 1, -1, INT64_MIN, INT64_MAX, 42};

static uint64_t model_key(size_t p)
{
    static const uint32_t lows[] = {0xffffe, 0xfffff, 0, 1, 0x3ff, 0x400, 0x7ff};
    if (p % 8 == 7)
        return key_of(p);
    return key_at(1 + (uint32_t)(p / 8), lows[p % 8]);
}

static void model_expect(const struct tly_u64map *m, uint16_t (*cnt)[MODEL_VALS], size_t p)
{
    int64_t want[64];
    size_t n = 0;
    for (size_t v = 0; v < MODEL_VALS; v++)
        for (uint16_t c = 0; c < cnt[p][v]; c++) {
            if (n == 64)
                fail_msg("model key %zu holds over 64 values", p);
            want[n++] = model_vals[v];
        }
    expect_values(m, model_key(p), want, n);
}

static void test_model_random_ops(void **state)
{
    (void)state;
    /* The reference: how many times each (key, value) pair is in the map. */
    static uint16_t cnt[MODEL_KEYS][MODEL_VALS];
    memset(cnt, 0, sizeof cnt);
    size_t total = 0;
    struct tly_u64map m;
    tly_u64map_init(&m);
    rng_seed(0xc0ffee);
    /* The live size wanders towards a target that changes every 20,000
     * operations, so the table grows while the clusters fill and empty. */
    static const size_t targets[] = {300, 1500, 100, 2500, 20, 1800, 600, 2800, 0, 1000};
    enum { OPS = 200000 };
    size_t n_add = 0, n_set = 0, n_rm_hit = 0, n_rm_miss = 0, n_get = 0;
    for (size_t op = 0; op < OPS; op++) {
        size_t target = targets[op / 20000];
        size_t p = rng_below(MODEL_KEYS);
        size_t v = rng_below(MODEL_VALS);
        uint64_t key = model_key(p);
        size_t held = 0;
        for (size_t i = 0; i < MODEL_VALS; i++)
            held += cnt[p][i];
        unsigned r = (unsigned)rng_below(100);
        unsigned add_pct = total < target ? 55 : 20;
        if (r < add_pct && held < 40) {
            assert_int_equal(tly_u64map_add(&m, key, model_vals[v]), 0);
            cnt[p][v]++;
            total++;
            n_add++;
        } else if (r < add_pct + 10 && held <= 1) {
            /* Set on keys with at most one value: the several-values case
             * is test_set_on_multivalued_key's. */
            assert_int_equal(tly_u64map_set(&m, key, model_vals[v]), 0);
            total -= held;
            memset(cnt[p], 0, sizeof cnt[p]);
            cnt[p][v] = 1;
            total++;
            n_set++;
        } else if (r < add_pct + 20) {
            int64_t buf[64];
            size_t c = tly_u64map_get(&m, key, buf, 64);
            assert_int_equal(c, held);
            n_get++;
        } else {
            /* Mostly a pair that is there, sometimes one that is not. */
            if (held > 0 && rng_below(4) != 0) {
                size_t k = rng_below(held);
                for (v = 0; k >= cnt[p][v]; v++)
                    k -= cnt[p][v];
            }
            int want = cnt[p][v] > 0;
            int got = tly_u64map_remove(&m, key, model_vals[v]);
            if (got != want)
                fail_msg("op %zu: remove(key %zu, %lld) = %d, want %d", op, p,
                         (long long)model_vals[v], got, want);
            if (want) {
                cnt[p][v]--;
                total--;
                n_rm_hit++;
            } else {
                n_rm_miss++;
            }
        }
        if (m.count != total)
            fail_msg("op %zu: count %zu, want %zu", op, m.count, total);
        model_expect(&m, cnt, p);
        if (op % 1000 == 999) {
            check_table(&m);
            for (size_t q = 0; q < MODEL_KEYS; q++)
                model_expect(&m, cnt, q);
        }
    }
    /* Every kind of operation ran often enough to mean something. */
    assert_true(n_add > 20000 && n_set > 2000 && n_get > 10000);
    assert_true(n_rm_hit > 20000 && n_rm_miss > 2000);

    /* Empty it pair by pair. */
    for (size_t p = 0; p < MODEL_KEYS; p++)
        for (size_t v = 0; v < MODEL_VALS; v++)
            while (cnt[p][v] > 0) {
                assert_int_equal(tly_u64map_remove(&m, model_key(p), model_vals[v]), 1);
                cnt[p][v]--;
                total--;
            }
    assert_int_equal(m.count, 0);
    check_table(&m);
    for (size_t p = 0; p < MODEL_KEYS; p++)
        expect_none(&m, model_key(p));
    tly_u64map_free(&m);
}

static void test_growth_million_keys(void **state)
{
    (void)state;
    enum { N = 1000000 };
    struct tly_u64map m;
    tly_u64map_init(&m);
    size_t resizes = 0, cap = 0;
    for (uint64_t i = 0; i < N; i++) {
        if (tly_u64map_add(&m, key_of(i), (int64_t)i) != 0)
            fail_msg("add #%llu failed", (unsigned long long)i);
        if (m.mask + 1 != cap) {
            cap = m.mask + 1;
            resizes++;
            assert_int_equal(tly_u64map_bytes(&m), cap * 16);
        }
        /* The load stays at most 1/2 and the table is a power of two. */
        if (m.count * 2 > m.mask + 1 || ((m.mask + 1) & m.mask) != 0)
            fail_msg("count %zu in %zu slots", m.count, m.mask + 1);
    }
    assert_int_equal(m.count, N);
    assert_true(resizes >= 11); /* 1024 → 2^21 slots */
    assert_int_equal(m.mask + 1, (size_t)1 << 21);
    assert_int_equal(tly_u64map_bytes(&m), ((size_t)1 << 21) * 16);
    check_table(&m);
    for (uint64_t i = 0; i < N; i++) {
        int64_t v = -1;
        if (tly_u64map_get(&m, key_of(i), &v, 1) != 1 || v != (int64_t)i)
            fail_msg("key #%llu lost after growth", (unsigned long long)i);
    }
    for (uint64_t i = N; i < N + 100000; i++)
        if (tly_u64map_get(&m, key_of(i), NULL, 0) != 0)
            fail_msg("key #%llu found but never added", (unsigned long long)i);

    /* Set on every 7th key replaces its value in place. */
    size_t slots = m.mask + 1;
    for (uint64_t i = 0; i < N; i += 7)
        assert_int_equal(tly_u64map_set(&m, key_of(i), -(int64_t)i - 1), 0);
    assert_int_equal(m.count, N);
    assert_int_equal(m.mask + 1, slots);

    /* Remove the even ones; the odd ones are all still there. */
    for (uint64_t i = 0; i < N; i += 2) {
        int64_t v = i % 7 == 0 ? -(int64_t)i - 1 : (int64_t)i;
        if (tly_u64map_remove(&m, key_of(i), v) != 1)
            fail_msg("remove #%llu failed", (unsigned long long)i);
    }
    assert_int_equal(m.count, N / 2);
    check_table(&m);
    for (uint64_t i = 0; i < N; i++) {
        int64_t v = 0, want = i % 7 == 0 ? -(int64_t)i - 1 : (int64_t)i;
        size_t c = tly_u64map_get(&m, key_of(i), &v, 1);
        if (i % 2 == 0 ? c != 0 : (c != 1 || v != want))
            fail_msg("key #%llu: %zu values (%lld) after removing the even keys",
                     (unsigned long long)i, c, (long long)v);
    }
    for (uint64_t i = 1; i < N; i += 2) {
        int64_t v = i % 7 == 0 ? -(int64_t)i - 1 : (int64_t)i;
        if (tly_u64map_remove(&m, key_of(i), v) != 1)
            fail_msg("remove #%llu failed", (unsigned long long)i);
    }
    assert_int_equal(m.count, 0);
    check_table(&m);
    tly_u64map_free(&m);
}

static void test_clear(void **state)
{
    (void)state;
    struct tly_u64map m;
    tly_u64map_init(&m);
    for (uint64_t i = 0; i < 5000; i++)
        assert_int_equal(tly_u64map_add(&m, key_of(i), (int64_t)i), 0);
    assert_true(tly_u64map_bytes(&m) > 0);
    tly_u64map_clear(&m);
    assert_int_equal(m.count, 0);
    assert_int_equal(tly_u64map_bytes(&m), 0); /* memory given back */
    for (uint64_t i = 0; i < 5000; i++)
        if (tly_u64map_get(&m, key_of(i), NULL, 0) != 0)
            fail_msg("key #%llu still there after clear", (unsigned long long)i);
    assert_int_equal(tly_u64map_remove(&m, key_of(0), 0), 0);

    /* Usable again, with the same keys and others. */
    for (uint64_t i = 2500; i < 7500; i++)
        assert_int_equal(tly_u64map_add(&m, key_of(i), (int64_t)i), 0);
    assert_int_equal(m.count, 5000);
    expect_none(&m, key_of(0));
    expect_none(&m, key_of(2499));
    expect_one(&m, key_of(2500), 2500);
    expect_one(&m, key_of(7499), 7499);
    expect_none(&m, key_of(7500));
    check_table(&m);
    tly_u64map_clear(&m);
    tly_u64map_clear(&m); /* twice */
    assert_int_equal(tly_u64map_bytes(&m), 0);
    tly_u64map_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_map),
        cmocka_unit_test(test_add_get),
        cmocka_unit_test(test_get_largest_first),
        cmocka_unit_test(test_set),
        cmocka_unit_test_setup_teardown(test_set_on_multivalued_key, map_setup, map_teardown),
        cmocka_unit_test(test_remove_exact_pair),
        cmocka_unit_test(test_wrapping_cluster_all_orders),
        cmocka_unit_test(test_random_clusters_random_orders),
        cmocka_unit_test(test_long_colliding_run),
        cmocka_unit_test(test_model_random_ops),
        cmocka_unit_test(test_growth_million_keys),
        cmocka_unit_test(test_clear),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
