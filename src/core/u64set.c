/*
 * Open-addressing set of 64-bit keys (see u64set.h).
 */
#include "core/u64set.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

void tly_u64set_init(struct tly_u64set *s)
{
    memset(s, 0, sizeof *s);
}

void tly_u64set_free(struct tly_u64set *s)
{
    free(s->slots);
    tly_u64set_init(s);
}

void tly_u64set_clear(struct tly_u64set *s)
{
    if (s->slots != NULL)
        memset(s->slots, 0, (s->mask + 1) * sizeof *s->slots);
    s->count = 0;
}

int tly_u64set_has(const struct tly_u64set *s, uint64_t key)
{
    if (s->slots == NULL)
        return 0;
    for (size_t i = (size_t)key & s->mask;; i = (i + 1) & s->mask) {
        if (s->slots[i] == key)
            return 1;
        if (s->slots[i] == 0)
            return 0;
    }
}

static void put(uint64_t *slots, size_t mask, uint64_t key)
{
    size_t i = (size_t)key & mask;
    while (slots[i] != 0 && slots[i] != key)
        i = (i + 1) & mask;
    slots[i] = key;
}

int tly_u64set_add(struct tly_u64set *s, uint64_t key)
{
    if (tly_u64set_has(s, key))
        return 0;
    if ((s->count + 1) * 2 > s->mask + 1 || s->slots == NULL) {
        size_t cap = s->slots ? (s->mask + 1) * 2 : 1024;
        uint64_t *slots = calloc(cap, sizeof *slots);
        if (slots == NULL)
            return TLY_ENOMEM;
        for (size_t i = 0; s->slots != NULL && i <= s->mask; i++)
            if (s->slots[i] != 0)
                put(slots, cap - 1, s->slots[i]);
        free(s->slots);
        s->slots = slots;
        s->mask = cap - 1;
    }
    put(s->slots, s->mask, key);
    s->count++;
    return 0;
}

uint64_t tly_u64set_hash(uint32_t tenant, const char *str, size_t n)
{
    /* FNV-1a over the tenant and the bytes, then a final mix (splitmix64). */
    uint64_t h = 0xcbf29ce484222325ull;
    for (int i = 0; i < 4; i++) {
        h ^= (tenant >> (8 * i)) & 0xff;
        h *= 0x100000001b3ull;
    }
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)str[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h ? h : 1;
}
