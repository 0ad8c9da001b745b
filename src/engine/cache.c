/*
 * The engine's progress cache: (campaign, user) → progress, bounded by
 * bytes.
 *
 * An open-addressing table of entry pointers (linear probing, backward
 * shift on removal, grows at 1/2 load). Entries changed in the open
 * transaction are "dirty" and listed; only clean entries may be evicted,
 * by a CLOCK sweep over the table (an entry used since the hand last
 * passed gets a second chance). A dirty entry after ROLLBACK holds state
 * that never happened and is removed. Removing an entry sets its
 * campaign's maybe_stored: the store may now hold a row the cache lacks.
 */
#include "engine/engine_int.h"

#include <stdlib.h>
#include <string.h>

#define MIN_SLOTS 1024
#define TRIM_TO   0.9 /* of max_bytes, when trimming */

static size_t entry_bytes(const struct eng_entry *en)
{
    return sizeof *en + strlen(en->user) + 1 + tly_progress_bytes(&en->prog) + 2 * sizeof(void *);
}

int eng_cache_init(struct eng_cache *c, size_t max_bytes)
{
    memset(c, 0, sizeof *c);
    c->slots = calloc(MIN_SLOTS, sizeof *c->slots);
    if (c->slots == NULL)
        return TLY_ENOMEM;
    c->mask = MIN_SLOTS - 1;
    c->max_bytes = max_bytes;
    return 0;
}

static void entry_free(struct eng_entry *en)
{
    tly_progress_free(&en->prog);
    free(en);
}

void eng_cache_free(struct eng_cache *c)
{
    if (c->slots != NULL)
        for (size_t i = 0; i <= c->mask; i++)
            if (c->slots[i] != NULL)
                entry_free(c->slots[i]);
    free(c->slots);
    free(c->dirty);
    memset(c, 0, sizeof *c);
}

uint64_t eng_key_hash(uint64_t user_hash, int64_t uid)
{
    uint64_t h = user_hash ^ ((uint64_t)uid * 0x9e3779b97f4a7c15ull);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

struct eng_entry *eng_cache_find(const struct eng_cache *c, uint64_t hash,
                                 const struct eng_campaign *camp, const char *user)
{
    for (size_t i = hash & c->mask;; i = (i + 1) & c->mask) {
        struct eng_entry *en = c->slots[i];
        if (en == NULL)
            return NULL;
        if (en->hash == hash && en->camp == camp && strcmp(en->user, user) == 0)
            return en;
    }
}

static void place(struct eng_entry **slots, size_t mask, struct eng_entry *en)
{
    size_t i = en->hash & mask;
    while (slots[i] != NULL)
        i = (i + 1) & mask;
    slots[i] = en;
}

static int grow(struct eng_cache *c)
{
    size_t n = (c->mask + 1) * 2;
    struct eng_entry **s = calloc(n, sizeof *s);
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

struct eng_entry *eng_cache_add(struct eng_cache *c, uint64_t hash, struct eng_campaign *camp,
                                const char *user, struct tly_progress *prog)
{
    if ((c->count + 1) * 2 > c->mask + 1 && grow(c) != 0)
        return NULL;
    size_t ulen = strlen(user);
    struct eng_entry *en = calloc(1, sizeof *en + ulen + 1);
    if (en == NULL)
        return NULL;
    memcpy(en->user, user, ulen + 1);
    en->hash = hash;
    en->camp = camp;
    en->accepted_at = INT64_MAX;
    en->ref = 1;
    if (prog != NULL) {
        en->prog = *prog;
        tly_progress_init(prog, prog->nact);
    } else {
        tly_progress_init(&en->prog, camp->def->nact);
    }
    en->bytes = entry_bytes(en);
    place(c->slots, c->mask, en);
    c->count++;
    c->bytes += en->bytes;
    return en;
}

/* Removes the entry at slot i, shifting back the entries after it. */
static void remove_at(struct eng_cache *c, size_t i)
{
    struct eng_entry *en = c->slots[i];
    c->slots[i] = NULL;
    c->count--;
    c->bytes -= en->bytes;
    en->camp->maybe_stored = 1;
    entry_free(en);
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

static size_t slot_of(const struct eng_cache *c, const struct eng_entry *en)
{
    size_t i = en->hash & c->mask;
    while (c->slots[i] != en)
        i = (i + 1) & c->mask;
    return i;
}

void eng_cache_remove(struct eng_cache *c, struct eng_entry *en)
{
    remove_at(c, slot_of(c, en));
}

int eng_cache_touch(struct eng_cache *c, struct eng_entry *en)
{
    en->ref = 1;
    if (en->dirty)
        return 0;
    if (c->ndirty == c->cdirty) {
        size_t cap = c->cdirty ? c->cdirty * 2 : 1024;
        struct eng_entry **d = realloc(c->dirty, cap * sizeof *d);
        if (d == NULL)
            return TLY_ENOMEM;
        c->dirty = d;
        c->cdirty = cap;
    }
    c->dirty[c->ndirty++] = en;
    en->dirty = 1;
    return 0;
}

void eng_cache_forget(struct eng_cache *c, struct eng_campaign *camp)
{
    for (size_t i = 0; i <= c->mask;) {
        struct eng_entry *en = c->slots[i];
        if (en != NULL && (camp == NULL || en->camp == camp))
            remove_at(c, i); /* slot i may now hold a shifted entry: look again */
        else
            i++;
    }
    if (camp != NULL)
        camp->maybe_stored = 1;
}

static void trim(struct eng_cache *c)
{
    size_t goal = (size_t)((double)c->max_bytes * TRIM_TO);
    /* Two full turns of the hand at most: the first may only clear `ref`
     * bits. A removal does not move the hand: slot i may now hold an entry
     * shifted back into it. */
    size_t moves = 0;
    while (c->bytes > goal && c->count > 0 && moves < 2 * (c->mask + 1)) {
        size_t i = c->hand & c->mask;
        struct eng_entry *en = c->slots[i];
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

void eng_cache_committed(struct eng_cache *c)
{
    for (size_t k = 0; k < c->ndirty; k++) {
        struct eng_entry *en = c->dirty[k];
        en->dirty = 0;
        c->bytes -= en->bytes;
        en->bytes = entry_bytes(en);
        c->bytes += en->bytes;
    }
    c->ndirty = 0;
    if (c->bytes > c->max_bytes)
        trim(c);
}

void eng_cache_rolled_back(struct eng_cache *c)
{
    for (size_t k = 0; k < c->ndirty; k++)
        eng_cache_remove(c, c->dirty[k]);
    c->ndirty = 0;
}
