/*
 * A multimap from 64-bit keys to 64-bit values: open addressing, linear
 * probing, backward-shift removal (no tombstones), grows at 1/2 load.
 * A key may hold several values (tly_u64map_add); tly_u64map_set keeps one.
 * Key 0 is reserved as "empty": callers hash their keys to nonzero values.
 * Not thread-safe; owns its memory.
 */
#ifndef TLY_CORE_U64MAP_H
#define TLY_CORE_U64MAP_H

#include <stddef.h>
#include <stdint.h>

struct tly_u64map_slot {
    uint64_t key;
    int64_t value;
};

struct tly_u64map {
    struct tly_u64map_slot *slots;
    size_t mask;
    size_t count;
};

void tly_u64map_init(struct tly_u64map *m);
void tly_u64map_free(struct tly_u64map *m);
/* Empties the map and gives its memory back. */
void tly_u64map_clear(struct tly_u64map *m);
/* Empties the map and keeps its memory for reuse. */
void tly_u64map_empty(struct tly_u64map *m);

/* Adds (key, value), even when the key holds other values. 0 or
 * TLY_ENOMEM. */
int tly_u64map_add(struct tly_u64map *m, uint64_t key, int64_t value);
/* Makes value the key's only value. 0 or TLY_ENOMEM. */
int tly_u64map_set(struct tly_u64map *m, uint64_t key, int64_t value);
/* The number of values under key; the `max` largest of them go to
 * values[], largest first, when it is not NULL. */
size_t tly_u64map_get(const struct tly_u64map *m, uint64_t key, int64_t *values, size_t max);
/* Removes the pair (key, value); 1 if it was there, else 0. */
int tly_u64map_remove(struct tly_u64map *m, uint64_t key, int64_t value);
/* Asks the CPU to bring the key's first slot into cache. */
void tly_u64map_prefetch(const struct tly_u64map *m, uint64_t key);
/* Bytes of slot memory held. */
size_t tly_u64map_bytes(const struct tly_u64map *m);

#endif
