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
#include "engine/state_cache.h"
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
    struct tly_cache_entry ce; /* first: the cache's view */
    struct eng_campaign *camp;
    int64_t accepted_at; /* INT64_MAX: not accepted (accept campaigns) */
    uint32_t accept_gen; /* engine's accept_gen when accepted_at was read */
    struct tly_progress prog;
    char user[];
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
    struct tly_cache cache;
    uint32_t accept_gen;
    struct tly_buf scratch, key;
    struct eng_counts pending; /* of the open transaction */
    /* Shared. */
    _Atomic uint64_t n_evaluated, n_matches, n_completions, n_rewards;
    _Atomic uint64_t g_entries, g_bytes, g_campaigns;
};

/* cache.c: the engine's entries in its tly_cache. */
int eng_cache_init(struct tly_cache *c, size_t max_bytes);
/* The entry of (camp, user) whose key hash is `hash`, or NULL. */
struct eng_entry *eng_cache_find(const struct tly_cache *c, uint64_t hash,
                                 const struct eng_campaign *camp, const char *user);
/* A new clean entry, added to the cache, holding `prog` (taken: the
 * caller's copy is left empty) or an empty progress when NULL; NULL when
 * out of memory. */
struct eng_entry *eng_cache_add(struct tly_cache *c, uint64_t hash, struct eng_campaign *camp,
                                const char *user, struct tly_progress *prog);
/* Marks an entry changed in the open transaction. 0 or TLY_ENOMEM. */
int eng_cache_touch(struct tly_cache *c, struct eng_entry *en);
/* Removes every entry of `camp` (NULL: every entry); sets maybe_stored.
 * (Removing an entry sets its campaign's maybe_stored: the store may now
 * hold a row the cache lacks.) */
void eng_cache_forget(struct tly_cache *c, struct eng_campaign *camp);

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
