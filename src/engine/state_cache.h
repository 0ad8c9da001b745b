/*
 * A write-behind cache of per-user state, bounded by bytes: the campaign
 * engine's (campaign, user) progress and the segment evaluator's per-user
 * segment state both live in one.
 *
 * The owner's entries embed a struct tly_cache_entry as their first
 * member; the cache keeps pointers to them in an open-addressing table
 * (linear probing, backward shift on removal, grown at 1/2 load) keyed by
 * the entry's 64-bit hash (the owner compares the rest of its key: see
 * tly_cache_next). Entries changed in the open transaction are "dirty"
 * and listed, for the owner to write before COMMIT; only clean entries
 * are evicted, by a CLOCK sweep (an entry used since the hand last passed
 * gets a second chance). After ROLLBACK the dirty entries hold state that
 * never happened and are removed.
 *
 * Ownership: the cache owns the entries added to it and gives each back
 * to ops->release when it leaves (removal, eviction, rollback, free); the
 * owner frees it there. Single-threaded (the pipeline's thread).
 */
#ifndef TLY_ENGINE_STATE_CACHE_H
#define TLY_ENGINE_STATE_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct tly_cache_entry {
    uint64_t hash;
    uint8_t dirty; /* changed in the open transaction */
    uint8_t ref;   /* used since the clock hand passed */
    size_t bytes;  /* accounted in the cache's total */
};

struct tly_cache_ops {
    /* Heap bytes the entry holds (counted when added and after COMMIT). */
    size_t (*bytes)(const struct tly_cache_entry *en);
    /* The entry leaves the cache: free it. */
    void (*release)(struct tly_cache_entry *en, void *arg);
    void *arg;
};

struct tly_cache {
    struct tly_cache_entry **slots;
    size_t mask, count;
    size_t bytes, max_bytes;
    size_t hand;
    struct tly_cache_entry **dirty;
    size_t ndirty, cdirty;
    struct tly_cache_ops ops;
};

int tly_cache_init(struct tly_cache *c, size_t max_bytes, const struct tly_cache_ops *ops);
void tly_cache_free(struct tly_cache *c);

/* The entries whose hash is `h`, one per call: start with *i = h & c->mask
 * and call until NULL; the owner compares the rest of its key:
 *     for (size_t i = h & c->mask; (x = tly_cache_next(c, h, &i)) != NULL;)
 *         if (same key) return x; */
static inline struct tly_cache_entry *tly_cache_next(const struct tly_cache *c, uint64_t h,
                                                     size_t *i)
{
    for (struct tly_cache_entry *en; (en = c->slots[*i]) != NULL;) {
        *i = (*i + 1) & c->mask;
        if (en->hash == h)
            return en;
    }
    return NULL;
}

/* Adds a new clean entry (taken; its hash set). 0, or TLY_ENOMEM (the
 * entry is then the caller's still). */
int tly_cache_add(struct tly_cache *c, struct tly_cache_entry *en);
void tly_cache_remove(struct tly_cache *c, struct tly_cache_entry *en);
/* Counts an entry's bytes again (it grew or shrank while clean). */
void tly_cache_resize(struct tly_cache *c, struct tly_cache_entry *en);
/* Marks an entry used (and changed in the open transaction when `dirty`).
 * 0 or TLY_ENOMEM. */
int tly_cache_touch(struct tly_cache *c, struct tly_cache_entry *en, int dirty);
/* Removes every entry for which keep(en, arg) is 0. */
void tly_cache_remove_if(struct tly_cache *c, int (*keep)(const struct tly_cache_entry *, void *),
                         void *arg);
/* After COMMIT: dirty entries become clean, their sizes are counted
 * again, and clean entries are evicted until the cache is under its
 * bound. */
void tly_cache_committed(struct tly_cache *c);
/* After ROLLBACK: dirty entries are removed. */
void tly_cache_rolled_back(struct tly_cache *c);

/* A string's hash (SipHash-2-4 under a fixed key: the table's keys come
 * from outside, so their slots must not be predictable from them alone). */
uint64_t tly_cache_str_hash(const char *s);
/* A key hash mixing a user's hash with a 64-bit id (campaign or tenant). */
uint64_t tly_cache_key_hash(uint64_t user_hash, int64_t id);

#endif
