/*
 * The engine's progress entries in its state cache (state_cache.h):
 * (campaign, user) → progress, bounded by bytes. An entry leaving the
 * cache sets its campaign's maybe_stored: the store may now hold a row
 * the cache lacks.
 */
#include "engine/engine_int.h"

#include <stdlib.h>
#include <string.h>

static size_t entry_bytes(const struct tly_cache_entry *ce)
{
    const struct eng_entry *en = (const struct eng_entry *)ce;
    return sizeof *en + strlen(en->user) + 1 + tly_progress_bytes(&en->prog) + 2 * sizeof(void *);
}

static void entry_release(struct tly_cache_entry *ce, void *arg)
{
    (void)arg;
    struct eng_entry *en = (struct eng_entry *)ce;
    en->camp->maybe_stored = 1;
    tly_progress_free(&en->prog);
    free(en);
}

int eng_cache_init(struct tly_cache *c, size_t max_bytes)
{
    static const struct tly_cache_ops ops = {entry_bytes, entry_release, NULL};
    return tly_cache_init(c, max_bytes, &ops);
}

struct eng_entry *eng_cache_find(const struct tly_cache *c, uint64_t hash,
                                 const struct eng_campaign *camp, const char *user)
{
    struct tly_cache_entry *x;
    for (size_t i = hash & c->mask; (x = tly_cache_next(c, hash, &i)) != NULL;) {
        struct eng_entry *en = (struct eng_entry *)x;
        if (en->camp == camp && strcmp(en->user, user) == 0)
            return en;
    }
    return NULL;
}

struct eng_entry *eng_cache_add(struct tly_cache *c, uint64_t hash, struct eng_campaign *camp,
                                const char *user, struct tly_progress *prog)
{
    size_t ulen = strlen(user);
    struct eng_entry *en = calloc(1, sizeof *en + ulen + 1);
    if (en == NULL)
        return NULL;
    memcpy(en->user, user, ulen + 1);
    en->ce.hash = hash;
    en->camp = camp;
    en->accepted_at = INT64_MAX;
    if (prog != NULL) {
        en->prog = *prog;
        tly_progress_init(prog, prog->nact);
    } else {
        tly_progress_init(&en->prog, camp->def->nact);
    }
    if (tly_cache_add(c, &en->ce) != 0) {
        tly_progress_free(&en->prog);
        free(en);
        return NULL;
    }
    return en;
}

int eng_cache_touch(struct tly_cache *c, struct eng_entry *en)
{
    return tly_cache_touch(c, &en->ce, 1);
}

static int other_campaign(const struct tly_cache_entry *ce, void *camp)
{
    return camp != NULL && ((const struct eng_entry *)ce)->camp != camp;
}

void eng_cache_forget(struct tly_cache *c, struct eng_campaign *camp)
{
    tly_cache_remove_if(c, other_campaign, camp);
    if (camp != NULL)
        camp->maybe_stored = 1;
}
