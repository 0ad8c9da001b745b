/*
 * The engine's private layout, shared by engine.c (definitions, index,
 * evaluation), cache.c (the progress cache) and reward.c (completions).
 *
 * Ownership: everything belongs to the pipeline's thread except the
 * counters marked shared (atomics, read by tly_engine_metrics).
 */
#ifndef TLY_ENGINE_ENGINE_INT_H
#define TLY_ENGINE_ENGINE_INT_H

#include "engine/campaign.h"
#include "engine/engine.h"
#include "engine/progress.h"
#include "store/progress.h"

#include <stdatomic.h>

/* A loaded campaign. Kept at the same address across reloads while its
 * definition does not change, so cache entries may point at it. */
struct eng_campaign {
    uint32_t tenant;
    char *id;
    int64_t uid;
    char *text; /* the stored definition, to tell a change */
    struct tly_campaign *def;
    int counting;     /* active: events may count (members only, with a segment) */
    int maybe_stored; /* campaign_progress may hold rows the cache lacks */
    int mark;         /* reload: still stored */
};

/* One activity that names an event. */
struct eng_ref {
    struct eng_campaign *camp;
    int act;
};

/* The index: (tenant, event name) → the activities that name it, grouped
 * by campaign (refs of one campaign are adjacent). */
struct eng_name {
    uint64_t hash; /* 0: empty slot */
    uint32_t tenant;
    const char *name; /* borrowed from an activity of refs[0].camp */
    struct eng_ref *refs;
    uint32_t nrefs, crefs;
};

/* A cached progress of (campaign, user). */
struct eng_entry {
    uint64_t hash;
    struct eng_campaign *camp;
    int64_t accepted_at; /* INT64_MAX: not accepted (accept campaigns) */
    uint32_t accept_gen; /* engine's accept_gen when accepted_at was read */
    uint8_t dirty;       /* changed in the open transaction */
    uint8_t ref;         /* used since the clock hand passed */
    size_t bytes;        /* accounted in the cache's total */
    struct tly_progress prog;
    char user[];
};

struct eng_cache {
    struct eng_entry **slots;
    size_t mask, count;
    size_t bytes, max_bytes;
    size_t hand;
    struct eng_entry **dirty; /* changed in the open transaction */
    size_t ndirty, cdirty;
};

struct eng_counts {
    uint64_t evaluated, matches, completions, rewards;
};

struct tly_engine {
    sqlite3 *db;
    const struct tly_logger *lg;
    struct tly_progress_store *ps;
    struct tly_segments *segments; /* borrowed; NULL: none */
    struct eng_campaign **camps;
    size_t ncamps;
    struct eng_name *names;
    size_t names_mask, nnames;
    struct eng_cache cache;
    uint32_t accept_gen;
    struct tly_buf scratch, key;
    struct eng_counts pending; /* of the open transaction */
    /* Shared. */
    _Atomic uint64_t n_evaluated, n_matches, n_completions, n_rewards;
    _Atomic uint64_t g_entries, g_bytes, g_campaigns;
};

/* cache.c */
int eng_cache_init(struct eng_cache *c, size_t max_bytes);
void eng_cache_free(struct eng_cache *c);
/* The entry of (camp, user) whose key hash is `hash`, or NULL. */
struct eng_entry *eng_cache_find(const struct eng_cache *c, uint64_t hash,
                                 const struct eng_campaign *camp, const char *user);
/* A new clean entry, added to the cache, holding `prog` (taken: the
 * caller's copy is left empty) or an empty progress when NULL; NULL when
 * out of memory. */
struct eng_entry *eng_cache_add(struct eng_cache *c, uint64_t hash, struct eng_campaign *camp,
                                const char *user, struct tly_progress *prog);
void eng_cache_remove(struct eng_cache *c, struct eng_entry *en);
/* Marks an entry changed in the open transaction. 0 or TLY_ENOMEM. */
int eng_cache_touch(struct eng_cache *c, struct eng_entry *en);
/* Removes every entry of `camp` (NULL: every entry); sets maybe_stored. */
void eng_cache_forget(struct eng_cache *c, struct eng_campaign *camp);
/* After COMMIT: dirty entries become clean, sizes are re-counted, and
 * clean entries are evicted until the cache is under its bound. */
void eng_cache_committed(struct eng_cache *c);
/* After ROLLBACK: dirty entries are removed. */
void eng_cache_rolled_back(struct eng_cache *c);
/* The key hash of (campaign uid, user) from the user's hash. */
uint64_t eng_key_hash(uint64_t user_hash, int64_t uid);

/* reward.c: issues the reward of completion `n` of the entry's user. */
int eng_reward_issue(struct tly_engine *e, struct eng_entry *en, const struct tly_event *ev,
                     int64_t n);
/* reward.c: writes the `activity_completed` outbox entry of activity
 * `act`, just met with `value` in window `period` (0: the campaign
 * window), by event `ev`. Its dedupe key names (tenant, campaign uid,
 * activity, period, completion number, user), so a replay adds nothing. */
int eng_activity_completed(struct tly_engine *e, struct eng_entry *en, int act, int64_t period,
                           double value, const struct tly_event *ev);

#endif
