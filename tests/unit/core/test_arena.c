/*
 * Unit tests for core/arena.h, the bump allocator freed all at once:
 * - allocations are 16-byte aligned, distinct and writable; 0 bytes and
 *   absurd sizes are refused;
 * - the newest allocation grows in place while its chunk has room, an
 *   older one (or one past the chunk's end) is copied, its bytes kept;
 * - chunks start small and double up to the standard size; an allocation
 *   larger than a chunk gets a chunk of its own;
 * - reset keeps standard chunks up to `keep` bytes and reuses them (no new
 *   memory for the same work again), frees the rest;
 * - free after use and on an arena that never allocated.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/arena.h"

#include <string.h>

static void test_alloc_aligned_distinct(void **state)
{
    (void)state;
    struct tly_arena a;
    tly_arena_init(&a, 0);
    assert_null(tly_arena_alloc(&a, 0));
    assert_null(tly_arena_alloc(&a, SIZE_MAX));
    unsigned char *p[100];
    for (int i = 0; i < 100; i++) {
        p[i] = tly_arena_alloc(&a, (size_t)i + 1);
        assert_non_null(p[i]);
        assert_int_equal((uintptr_t)p[i] % 16, 0);
        memset(p[i], i, (size_t)i + 1);
    }
    for (int i = 0; i < 100; i++)
        for (int k = 0; k <= i; k++)
            assert_int_equal(p[i][k], i);
    /* 5,050 bytes and their alignment: two small chunks, not a standard one. */
    assert_true(a.bytes < 4 * TLY_ARENA_FIRST);
    tly_arena_free(&a);
    tly_arena_free(&a); /* twice: nothing left */
    struct tly_arena never;
    tly_arena_init(&never, 1 << 20);
    tly_arena_free(&never);
}

static void test_grow(void **state)
{
    (void)state;
    struct tly_arena a;
    tly_arena_init(&a, 0);
    char *x = tly_arena_grow(&a, NULL, 0, 10); /* NULL: a new one */
    assert_non_null(x);
    memcpy(x, "0123456789", 10);
    char *y = tly_arena_grow(&a, x, 10, 1000); /* the newest: in place */
    assert_ptr_equal(x, y);
    assert_memory_equal(y, "0123456789", 10);
    assert_ptr_equal(tly_arena_grow(&a, y, 1000, 500), y); /* smaller: as is */
    char *z = tly_arena_alloc(&a, 8);
    assert_non_null(z);
    memcpy(z, "abcdefgh", 8);
    char *y2 = tly_arena_grow(&a, y, 1000, 2000); /* no longer the newest: copied */
    assert_ptr_not_equal(y2, y);
    assert_memory_equal(y2, "0123456789", 10);
    assert_memory_equal(z, "abcdefgh", 8);
    /* The newest, past its chunk's end: copied into a new chunk. */
    char *w = tly_arena_grow(&a, y2, 2000, TLY_ARENA_CHUNK - 64);
    assert_non_null(w);
    assert_ptr_not_equal(w, y2);
    assert_memory_equal(w, "0123456789", 10);
    tly_arena_free(&a);
}

static void test_large_and_reset(void **state)
{
    (void)state;
    struct tly_arena a;
    size_t chunk = TLY_ARENA_CHUNK;
    tly_arena_init(&a, 3 * chunk); /* keeps two chunks with their headers */
    unsigned char *big = tly_arena_alloc(&a, 3 * chunk);
    assert_non_null(big);
    memset(big, 7, 3 * chunk);
    assert_true(a.bytes >= 3 * chunk);
    for (int i = 0; i < 5; i++) /* five standard chunks */
        assert_non_null(tly_arena_alloc(&a, chunk - 256));
    size_t held = a.bytes;
    assert_true(held >= 8 * chunk);
    tly_arena_reset(&a);
    /* The large one went, two standard ones stay as spares. */
    assert_true(a.bytes >= 2 * chunk && a.bytes < 3 * chunk);
    size_t spare = a.bytes;
    for (int i = 0; i < 2; i++) {
        unsigned char *p = tly_arena_alloc(&a, chunk - 256);
        assert_non_null(p);
        memset(p, 1, chunk - 256);
    }
    assert_int_equal(a.bytes, spare); /* reused: nothing new */
    tly_arena_reset(&a);
    assert_int_equal(a.bytes, spare);
    tly_arena_free(&a);
    assert_int_equal(a.bytes, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_aligned_distinct),
        cmocka_unit_test(test_grow),
        cmocka_unit_test(test_large_and_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
