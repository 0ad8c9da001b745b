/*
 * Open-addressing multimap of 64-bit keys (see u64map.h).
 */
#include "core/u64map.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

#define FIRST_SLOTS 1024

void tly_u64map_init(struct tly_u64map *m)
{
    memset(m, 0, sizeof *m);
}

void tly_u64map_free(struct tly_u64map *m)
{
    free(m->slots);
    tly_u64map_init(m);
}

void tly_u64map_clear(struct tly_u64map *m)
{
    tly_u64map_free(m);
}

void tly_u64map_empty(struct tly_u64map *m)
{
    if (m->slots != NULL)
        memset(m->slots, 0, (m->mask + 1) * sizeof *m->slots);
    m->count = 0;
}

static void put(struct tly_u64map_slot *slots, size_t mask, uint64_t key, int64_t value)
{
    size_t i = (size_t)key & mask;
    while (slots[i].key != 0)
        i = (i + 1) & mask;
    slots[i].key = key;
    slots[i].value = value;
}

static int reserve_one(struct tly_u64map *m)
{
    if (m->slots != NULL && (m->count + 1) * 2 <= m->mask + 1)
        return 0;
    size_t cap = m->slots ? (m->mask + 1) * 2 : FIRST_SLOTS;
    struct tly_u64map_slot *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return TLY_ENOMEM;
    for (size_t i = 0; m->slots != NULL && i <= m->mask; i++)
        if (m->slots[i].key != 0)
            put(slots, cap - 1, m->slots[i].key, m->slots[i].value);
    free(m->slots);
    m->slots = slots;
    m->mask = cap - 1;
    return 0;
}

int tly_u64map_add(struct tly_u64map *m, uint64_t key, int64_t value)
{
    if (reserve_one(m) != 0)
        return TLY_ENOMEM;
    put(m->slots, m->mask, key, value);
    m->count++;
    return 0;
}

/* Empties slot i, then moves back every later entry of the run that may
 * live there, so no lookup ever stops early at the hole. */
static void remove_at(struct tly_u64map *m, size_t i)
{
    size_t j = i;
    for (;;) {
        j = (j + 1) & m->mask;
        if (m->slots[j].key == 0)
            break;
        size_t home = (size_t)m->slots[j].key & m->mask;
        /* The entry at j may stay when its home lies cyclically in (i, j]. */
        int stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].key = 0;
    m->slots[i].value = 0;
    m->count--;
}

int tly_u64map_set(struct tly_u64map *m, uint64_t key, int64_t value)
{
    int found = 0;
    for (size_t i = (size_t)key & m->mask; m->slots != NULL && m->slots[i].key != 0;) {
        if (m->slots[i].key == key) {
            if (found) {
                remove_at(m, i); /* slot i now holds a later entry, or none */
                continue;
            }
            m->slots[i].value = value;
            found = 1;
        }
        i = (i + 1) & m->mask;
    }
    return found ? 0 : tly_u64map_add(m, key, value);
}

size_t tly_u64map_get(const struct tly_u64map *m, uint64_t key, int64_t *values, size_t max)
{
    size_t n = 0;
    for (size_t i = (size_t)key & m->mask; m->slots != NULL && m->slots[i].key != 0;
         i = (i + 1) & m->mask) {
        if (m->slots[i].key != key)
            continue;
        /* Keep the `max` largest, largest first, by insertion. */
        int64_t v = m->slots[i].value;
        size_t kept = n < max ? n : max, at = kept;
        while (values != NULL && at > 0 && values[at - 1] < v)
            at--;
        if (values != NULL && at < max) {
            memmove(values + at + 1, values + at, (kept - at - (kept == max)) * sizeof *values);
            values[at] = v;
        }
        n++;
    }
    return n;
}

int tly_u64map_remove(struct tly_u64map *m, uint64_t key, int64_t value)
{
    for (size_t i = (size_t)key & m->mask; m->slots != NULL && m->slots[i].key != 0;
         i = (i + 1) & m->mask) {
        if (m->slots[i].key == key && m->slots[i].value == value) {
            remove_at(m, i);
            return 1;
        }
    }
    return 0;
}

void tly_u64map_prefetch(const struct tly_u64map *m, uint64_t key)
{
    if (m->slots != NULL)
        __builtin_prefetch(&m->slots[(size_t)key & m->mask]);
}

size_t tly_u64map_bytes(const struct tly_u64map *m)
{
    return m->slots != NULL ? (m->mask + 1) * sizeof *m->slots : 0;
}
