/*
 * The write-behind state cache (see state_cache.h).
 */
#include "engine/state_cache.h"
#include "core/err.h"
#include "core/siphash.h"

#include <stdlib.h>
#include <string.h>

#define MIN_SLOTS 1024
#define TRIM_TO   0.9 /* of max_bytes, when trimming */

int tly_cache_init(struct tly_cache *c, size_t max_bytes, const struct tly_cache_ops *ops)
{
    memset(c, 0, sizeof *c);
    c->slots = calloc(MIN_SLOTS, sizeof *c->slots);
    if (c->slots == NULL)
        return TLY_ENOMEM;
    c->mask = MIN_SLOTS - 1;
    c->max_bytes = max_bytes;
    c->ops = *ops;
    return 0;
}

void tly_cache_free(struct tly_cache *c)
{
    if (c->slots != NULL)
        for (size_t i = 0; i <= c->mask; i++)
            if (c->slots[i] != NULL)
                c->ops.release(c->slots[i], c->ops.arg);
    free(c->slots);
    free(c->dirty);
    memset(c, 0, sizeof *c);
}

uint64_t tly_cache_str_hash(const char *s)
{
    static const uint8_t key[16] = "tally-engine-key";
    return tly_siphash24(key, s, strlen(s));
}

uint64_t tly_cache_key_hash(uint64_t user_hash, int64_t id)
{
    uint64_t h = user_hash ^ ((uint64_t)id * 0x9e3779b97f4a7c15ull);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static void place(struct tly_cache_entry **slots, size_t mask, struct tly_cache_entry *en)
{
    size_t i = en->hash & mask;
    while (slots[i] != NULL)
        i = (i + 1) & mask;
    slots[i] = en;
}

static int grow(struct tly_cache *c)
{
    size_t n = (c->mask + 1) * 2;
    struct tly_cache_entry **s = calloc(n, sizeof *s);
    if (s == NULL)
        return TLY_ENOMEM;
    for (size_t i = 0; i <= c->mask; i++)
        if (c->slots[i] != NULL)
            place(s, n - 1, c->slots[i]);
    free(c->slots);
    c->slots = s;
    c->mask = n - 1;
    c->hand = 0;
    return 0;
}

int tly_cache_add(struct tly_cache *c, struct tly_cache_entry *en)
{
    if ((c->count + 1) * 2 > c->mask + 1 && grow(c) != 0)
        return TLY_ENOMEM;
    en->dirty = 0;
    en->ref = 1;
    en->bytes = c->ops.bytes(en);
    place(c->slots, c->mask, en);
    c->count++;
    c->bytes += en->bytes;
    return 0;
}

/* Removes the entry at slot i, shifting back the entries after it. */
static void remove_at(struct tly_cache *c, size_t i)
{
    struct tly_cache_entry *en = c->slots[i];
    c->slots[i] = NULL;
    c->count--;
    c->bytes -= en->bytes;
    c->ops.release(en, c->ops.arg);
    for (size_t j = (i + 1) & c->mask; c->slots[j] != NULL; j = (j + 1) & c->mask) {
        size_t home = c->slots[j]->hash & c->mask;
        /* Move j back to i when its home is not in (i, j]. */
        int between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!between) {
            c->slots[i] = c->slots[j];
            c->slots[j] = NULL;
            i = j;
        }
    }
}

void tly_cache_remove(struct tly_cache *c, struct tly_cache_entry *en)
{
    size_t i = en->hash & c->mask;
    while (c->slots[i] != en)
        i = (i + 1) & c->mask;
    remove_at(c, i);
}

void tly_cache_resize(struct tly_cache *c, struct tly_cache_entry *en)
{
    c->bytes -= en->bytes;
    en->bytes = c->ops.bytes(en);
    c->bytes += en->bytes;
}

int tly_cache_touch(struct tly_cache *c, struct tly_cache_entry *en, int dirty)
{
    en->ref = 1;
    if (!dirty || en->dirty)
        return 0;
    if (c->ndirty == c->cdirty) {
        size_t cap = c->cdirty ? c->cdirty * 2 : 1024;
        struct tly_cache_entry **d = realloc(c->dirty, cap * sizeof *d);
        if (d == NULL)
            return TLY_ENOMEM;
        c->dirty = d;
        c->cdirty = cap;
    }
    c->dirty[c->ndirty++] = en;
    en->dirty = 1;
    return 0;
}

void tly_cache_remove_if(struct tly_cache *c, int (*keep)(const struct tly_cache_entry *, void *),
                         void *arg)
{
    for (size_t i = 0; i <= c->mask;) {
        struct tly_cache_entry *en = c->slots[i];
        if (en != NULL && !keep(en, arg))
            remove_at(c, i); /* slot i may now hold a shifted entry: look again */
        else
            i++;
    }
}

static void trim(struct tly_cache *c)
{
    size_t goal = (size_t)((double)c->max_bytes * TRIM_TO);
    /* Two full turns of the hand at most: the first may only clear `ref`
     * bits. A removal does not move the hand: slot i may now hold an entry
     * shifted back into it. */
    size_t moves = 0;
    while (c->bytes > goal && c->count > 0 && moves < 2 * (c->mask + 1)) {
        size_t i = c->hand & c->mask;
        struct tly_cache_entry *en = c->slots[i];
        if (en != NULL && !en->dirty && !en->ref) {
            remove_at(c, i);
            continue;
        }
        if (en != NULL)
            en->ref = 0;
        c->hand++;
        moves++;
    }
}

void tly_cache_committed(struct tly_cache *c)
{
    for (size_t k = 0; k < c->ndirty; k++) {
        struct tly_cache_entry *en = c->dirty[k];
        en->dirty = 0;
        tly_cache_resize(c, en);
    }
    c->ndirty = 0;
    if (c->bytes > c->max_bytes)
        trim(c);
}

void tly_cache_rolled_back(struct tly_cache *c)
{
    /* Removing one entry never frees another, so the list stays valid. */
    for (size_t k = 0; k < c->ndirty; k++)
        tly_cache_remove(c, c->dirty[k]);
    c->ndirty = 0;
}
