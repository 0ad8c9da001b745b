/*
 * A set of 64-bit keys (open addressing, linear probing, grows at 1/2 load).
 * Key 0 is reserved as "empty"; tly_u64set_hash never returns it.
 * Single-threaded; owns its memory.
 */
#ifndef TLY_CORE_U64SET_H
#define TLY_CORE_U64SET_H

#include <stddef.h>
#include <stdint.h>

struct tly_u64set {
    uint64_t *slots;
    size_t mask;
    size_t count;
};

void tly_u64set_init(struct tly_u64set *s);
void tly_u64set_free(struct tly_u64set *s);
void tly_u64set_clear(struct tly_u64set *s);
int tly_u64set_has(const struct tly_u64set *s, uint64_t key);
/* 0 (added or already there) or TLY_ENOMEM. */
int tly_u64set_add(struct tly_u64set *s, uint64_t key);

/* A 64-bit hash of (tenant, bytes), never 0. */
uint64_t tly_u64set_hash(uint32_t tenant, const char *s, size_t n);

#endif
