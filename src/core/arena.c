/*
 * The bump allocator (see arena.h).
 */
#include "core/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION(p, n)
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#endif
#endif
#ifndef POISON
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define ALIGN 16

struct tly_arena_chunk {
    struct tly_arena_chunk *next;
    size_t size, used; /* of data[] */
    _Alignas(ALIGN) unsigned char data[];
};

void tly_arena_init(struct tly_arena *a, size_t keep)
{
    memset(a, 0, sizeof *a);
    a->keep = keep;
    a->next = TLY_ARENA_FIRST;
}

static void free_list(struct tly_arena *a, struct tly_arena_chunk *c)
{
    while (c != NULL) {
        struct tly_arena_chunk *next = c->next;
        a->bytes -= sizeof *c + c->size;
        UNPOISON(c->data, c->size);
        free(c);
        c = next;
    }
}

void tly_arena_free(struct tly_arena *a)
{
    free_list(a, a->chunk);
    free_list(a, a->spare);
    a->chunk = a->spare = NULL;
    a->last = NULL;
}

/* A chunk with room for n bytes at its front: a spare one, or a new one. */
static struct tly_arena_chunk *take_chunk(struct tly_arena *a, size_t n)
{
    if (n <= TLY_ARENA_CHUNK && a->spare != NULL) {
        struct tly_arena_chunk *c = a->spare;
        a->spare = c->next;
        return c;
    }
    /* Small first (an arena that holds little costs little), doubling up
     * to the standard size; what does not fit gets a standard chunk, or
     * one of its own. */
    size_t size = n <= a->next ? a->next : n <= TLY_ARENA_CHUNK ? TLY_ARENA_CHUNK : n;
    struct tly_arena_chunk *c = malloc(sizeof *c + size);
    if (c == NULL)
        return NULL;
    if (a->next < TLY_ARENA_CHUNK)
        a->next *= 2;
    c->size = size;
    a->bytes += sizeof *c + size;
    POISON(c->data, size);
    return c;
}

void *tly_arena_alloc(struct tly_arena *a, size_t n)
{
    if (n == 0 || n > SIZE_MAX / 2)
        return NULL;
    size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    struct tly_arena_chunk *c = a->chunk;
    if (c == NULL || c->size - c->used < need) {
        if ((c = take_chunk(a, need)) == NULL)
            return NULL;
        c->used = 0;
        c->next = a->chunk;
        a->chunk = c;
    }
    void *p = c->data + c->used;
    c->used += need;
    UNPOISON(p, n);
    a->last = p;
    return p;
}

void *tly_arena_grow(struct tly_arena *a, void *p, size_t old, size_t n)
{
    if (p == NULL)
        return tly_arena_alloc(a, n);
    if (n <= old)
        return p;
    struct tly_arena_chunk *c = a->chunk;
    if (p == a->last && n <= SIZE_MAX / 2) {
        size_t at = (size_t)((unsigned char *)p - c->data);
        size_t need = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
        if (c->size - at >= need) {
            c->used = at + need;
            UNPOISON(p, n);
            return p;
        }
    }
    void *q = tly_arena_alloc(a, n);
    if (q != NULL)
        memcpy(q, p, old);
    return q;
}

void tly_arena_reset(struct tly_arena *a)
{
    /* Chunks of the standard size go to the spares while they fit in
     * `keep`; the rest (and every larger one) are freed. */
    size_t kept = 0;
    for (struct tly_arena_chunk *c = a->spare; c != NULL; c = c->next)
        kept += sizeof *c + c->size;
    struct tly_arena_chunk *c = a->chunk;
    while (c != NULL) {
        struct tly_arena_chunk *next = c->next;
        if (c->size == TLY_ARENA_CHUNK && kept + sizeof *c + c->size <= a->keep) {
            POISON(c->data, c->size);
            kept += sizeof *c + c->size;
            c->next = a->spare;
            a->spare = c;
        } else {
            c->next = NULL;
            free_list(a, c);
        }
        c = next;
    }
    a->chunk = NULL;
    a->last = NULL;
}
