/*
 * A bump allocator for memory freed all at once: what one transaction
 * decodes, used while it runs and dropped when it ends.
 *
 * Allocations come from chunks of TLY_ARENA_CHUNK bytes (the first ones
 * smaller, from TLY_ARENA_FIRST up; larger allocations get a chunk of
 * their own), 16-byte aligned. Nothing is freed on its own;
 * tly_arena_reset drops everything allocated, keeping up to `keep` bytes
 * of chunks for the next round. The newest allocation may grow in place.
 * In ASan builds the memory of a reset arena is poisoned, so a pointer
 * kept past the reset is reported like one kept past free().
 *
 * Ownership: the arena owns its chunks; tly_arena_free releases them.
 * Single-threaded.
 */
#ifndef TLY_CORE_ARENA_H
#define TLY_CORE_ARENA_H

#include <stddef.h>

#define TLY_ARENA_CHUNK ((size_t)1 << 20)
#define TLY_ARENA_FIRST ((size_t)4 << 10)

struct tly_arena_chunk;

struct tly_arena {
    struct tly_arena_chunk *chunk; /* the one allocated from; older ones after it */
    struct tly_arena_chunk *spare; /* kept by a reset, for reuse */
    void *last;                    /* the newest allocation (may grow in place) */
    size_t keep;                   /* bytes of chunks a reset keeps */
    size_t next;                   /* size of the next new chunk, up to TLY_ARENA_CHUNK */
    size_t bytes;                  /* bytes of chunks held (in use and spare) */
};

/* `keep`: bytes of chunks a reset keeps for reuse. */
void tly_arena_init(struct tly_arena *a, size_t keep);
void tly_arena_free(struct tly_arena *a);

/* n bytes (n > 0), or NULL when out of memory. */
void *tly_arena_alloc(struct tly_arena *a, size_t n);
/* p (an allocation of `old` bytes, or NULL) made n bytes long: in place
 * when p is the newest allocation and its chunk has room, else a copy.
 * NULL when out of memory (p is then unchanged). */
void *tly_arena_grow(struct tly_arena *a, void *p, size_t old, size_t n);
/* Drops every allocation. */
void tly_arena_reset(struct tly_arena *a);

#endif
