/*
 * Fuzzes the per-user segment state decoder: tly_userseg_decode
 * (src/engine/segment_state.h) on the input bytes, which are what
 * segment_users.state holds; a damaged row must be refused, never crash or
 * leak.
 *
 * Invariants checked (abort() if broken), beyond "no crash, no leak":
 *   - a refusal is TLY_ECORRUPT (or TLY_ENOMEM) and leaves an empty state;
 *   - segments come out in increasing uid order, listed events by time,
 *     short condition lists inside their state;
 *   - what decodes encodes to bytes that decode (into an arena) to a state
 *     encoding to the very same bytes (a fixed point after one round);
 *   - pruning and folding keep the lists ordered and the counts whole.
 */
#include "core/err.h"
#include "engine/segment_state.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static void check_shape(const struct tly_userseg *u)
{
    for (uint32_t i = 0; i < u->n; i++) {
        CHECK(u->seg[i].uid > 0 && (i == 0 || u->seg[i - 1].uid < u->seg[i].uid));
        /* Up to TLY_SEGSTATE_INLINE conditions live inside the state. */
        CHECK(u->seg[i].ncond == 0 || u->seg[i].ncond > TLY_SEGSTATE_INLINE ||
              u->seg[i].cond == u->seg[i].inl);
        for (uint32_t c = 0; c < u->seg[i].ncond; c++) {
            const struct tly_segcount *k = &u->seg[i].cond[c];
            CHECK(k->count >= 0 && k->n <= k->cap);
            for (uint32_t j = 1; j < k->n; j++)
                CHECK(k->ev[j - 1].ts <= k->ev[j].ts);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tly_userseg u, v;
    /* The input decoded into an arena too: refused or not alike. */
    struct tly_arena arena;
    tly_arena_init(&arena, 0);
    int rc = tly_userseg_decode(data, size, &arena, &u);
    tly_userseg_free(&u);
    tly_arena_reset(&arena);
    CHECK(tly_userseg_decode(data, size, NULL, &u) == rc);
    if (rc != 0) {
        CHECK(rc == TLY_ECORRUPT || rc == TLY_ENOMEM);
        CHECK(u.n == 0 && u.seg == NULL);
        tly_arena_free(&arena);
        return 0;
    }
    check_shape(&u);
    struct tly_buf a, b;
    tly_buf_init(&a, 0);
    tly_buf_init(&b, 0);
    CHECK(tly_userseg_encode(&u, NULL, NULL, &a) == 0);
    /* The second decode takes its arrays from an arena, as the evaluator's. */
    CHECK(tly_userseg_decode(a.data, a.len, &arena, &v) == 0);
    check_shape(&v);
    CHECK(tly_userseg_encode(&v, NULL, NULL, &b) == 0);
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    /* What the evaluator does with a state: prune at a time the input
     * picks, then fold (an all-time condition kept as a list). */
    int64_t from = size >= 8 ? (int64_t)((uint64_t)data[size - 1] << 40) : 0;
    for (uint32_t i = 0; i < u.n; i++)
        for (uint32_t c = 0; c < u.seg[i].ncond; c++) {
            struct tly_segcount *k = &u.seg[i].cond[c];
            tly_segcount_prune(k, from);
            for (uint32_t j = 0; j < k->n; j++)
                CHECK(k->ev[j].ts >= from);
            int64_t before = k->count;
            uint32_t n = k->n;
            if (before <= INT64_MAX - (int64_t)n) {
                tly_segcount_fold(k);
                CHECK(k->n == 0 && k->count == before + n);
            }
        }
    check_shape(&u);
    tly_userseg_free(&u);
    tly_userseg_free(&v);
    tly_arena_free(&arena);
    tly_buf_free(&a);
    tly_buf_free(&b);
    return 0;
}
