/*
 * The campaign engine: definitions, the event-name index, and applying an
 * event to progress (see engine.h; the rules: README, "Campaigns").
 *
 * Per event: one hash of (tenant, event name) finds the activities that
 * name it, grouped by campaign. For each campaign with a matching activity
 * (bounds on the event timestamp, then `where`) the user's progress comes
 * from the cache (or the store, once); enrollment (accept) and
 * max_completions are checked; the event's window is found (tz.h period
 * number of its timestamp, or 0 for window "campaign"); every matching
 * activity adds its measure there; then, if that window is not completed
 * yet, the activities are judged (`all` or `any`) and a completion issues
 * its reward and resets the values (window "campaign") or closes the window
 * (calendar windows).
 */
#include "core/metrics.h"
#include "core/siphash.h"
#include "core/timeparse.h"
#include "engine/engine_int.h"
#include "engine/segment_eval.h"
#include "store/campaigns.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The key of distinct values' 64-bit keys (stored: never change it). */
static const uint8_t hash_key[16] = "tally-engine-key";

static uint64_t str_hash(const char *s)
{
    return tly_cache_str_hash(s);
}

static uint64_t name_hash(uint32_t tenant, const char *name)
{
    uint64_t h = tly_cache_key_hash(str_hash(name), (int64_t)tenant + 1);
    return h ? h : 1;
}

/* ---- definitions ---- */

static void campaign_free(struct eng_campaign *c)
{
    if (c == NULL)
        return;
    free(c->id);
    free(c->text);
    tly_campaign_free(c->def);
    free(c);
}

static int campaign_cmp(uint32_t tenant, const char *id, const struct eng_campaign *c)
{
    if (tenant != c->tenant)
        return tenant < c->tenant ? -1 : 1;
    return strcmp(id, c->id);
}

/* The loaded campaign (tenant, id), or NULL; camps are sorted. */
static struct eng_campaign *campaign_find(struct eng_campaign **camps, size_t n, uint32_t tenant,
                                          const char *id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = campaign_cmp(tenant, id, camps[mid]);
        if (c == 0)
            return camps[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

struct reload {
    struct tly_engine *e;
    struct eng_campaign **camps;
    size_t n, cap;
    int rc;
};

static int push(struct reload *r, struct eng_campaign *c)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct eng_campaign **p = realloc(r->camps, cap * sizeof *p);
        if (p == NULL)
            return TLY_ENOMEM;
        r->camps = p;
        r->cap = cap;
    }
    r->camps[r->n++] = c;
    return 0;
}

static int on_def(void *arg, uint32_t tenant, const char *id, int64_t uid, const char *definition,
                  size_t len)
{
    struct reload *r = arg;
    struct tly_engine *e = r->e;
    struct eng_campaign *old = campaign_find(e->camps, e->ncamps, tenant, id);
    if (old != NULL && old->uid == uid && strlen(old->text) == len &&
        memcmp(old->text, definition, len) == 0) {
        old->mark = 1;
        return push(r, old);
    }
    struct tly_error err = {{0}};
    struct tly_campaign *def;
    int rc = tly_campaign_parse(definition, len, &def, &err);
    if (rc == TLY_ENOMEM)
        return rc;
    if (rc != 0) {
        tly_log_warn(e->lg, "stored campaign definition not understood; it counts nothing",
                     "tenant=%" PRIu32 " campaign=\"%s\" field=\"%s\" error=\"%s\"", tenant, id,
                     err.field, err.msg);
        return 0;
    }
    struct eng_campaign *c = calloc(1, sizeof *c);
    if (c == NULL || (c->id = strdup(id)) == NULL || (c->text = strndup(definition, len)) == NULL) {
        tly_campaign_free(def);
        campaign_free(c);
        return TLY_ENOMEM;
    }
    c->tenant = tenant;
    c->uid = uid;
    c->def = def;
    c->counting = def->status == TLY_CAMPAIGN_ACTIVE;
    c->mark = 1;
    rc = c->counting ? tly_progress_store_any(e->ps, c->tenant, c->id, c->uid) : 1;
    if (rc < 0 || push(r, c) != 0) {
        campaign_free(c);
        return rc < 0 ? rc : TLY_ENOMEM;
    }
    c->maybe_stored = rc;
    return 0;
}

static void names_free(struct tly_engine *e)
{
    for (size_t i = 0; e->names != NULL && i <= e->names_mask; i++)
        free(e->names[i].refs);
    free(e->names);
    e->names = NULL;
    e->names_mask = 0;
    e->nnames = 0;
}

static struct eng_name *name_slot(struct eng_name *names, size_t mask, uint64_t h, uint32_t tenant,
                                  const char *name)
{
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct eng_name *s = &names[i];
        if (s->hash == 0 || (s->hash == h && s->tenant == tenant && strcmp(s->name, name) == 0))
            return s;
    }
}

/* Builds the (tenant, event name) index of the counting campaigns. */
static int index_build(struct tly_engine *e)
{
    size_t acts = 0;
    for (size_t i = 0; i < e->ncamps; i++)
        acts += e->camps[i]->counting ? (size_t)e->camps[i]->def->nact : 0;
    size_t n = 16;
    while (n < acts * 2)
        n *= 2;
    struct eng_name *names = calloc(n, sizeof *names);
    if (names == NULL)
        return TLY_ENOMEM;
    names_free(e);
    e->names = names;
    e->names_mask = n - 1;
    for (size_t i = 0; i < e->ncamps; i++) {
        struct eng_campaign *c = e->camps[i];
        for (int a = 0; c->counting && a < c->def->nact; a++) {
            const char *ev = c->def->act[a].event;
            uint64_t h = name_hash(c->tenant, ev);
            struct eng_name *s = name_slot(names, e->names_mask, h, c->tenant, ev);
            if (s->hash == 0) {
                *s = (struct eng_name){.hash = h, .tenant = c->tenant, .name = ev};
                e->nnames++;
            }
            if (s->nrefs == s->crefs) {
                uint32_t cap = s->crefs ? s->crefs * 2 : 2;
                struct eng_ref *r = realloc(s->refs, cap * sizeof *r);
                if (r == NULL)
                    return TLY_ENOMEM;
                s->refs = r;
                s->crefs = cap;
            }
            s->refs[s->nrefs++] = (struct eng_ref){c, a};
        }
    }
    return 0;
}

int tly_engine_reload(struct tly_engine *e)
{
    e->accept_gen++; /* acceptances may have changed too */
    for (size_t i = 0; i < e->ncamps; i++)
        e->camps[i]->mark = 0;
    struct reload r = {.e = e};
    int rc = tly_campaigns_each(e->db, 0, on_def, &r);
    if (rc != 0) {
        for (size_t i = 0; i < r.n; i++)
            if (campaign_find(e->camps, e->ncamps, r.camps[i]->tenant, r.camps[i]->id) !=
                r.camps[i])
                campaign_free(r.camps[i]);
        free(r.camps);
        return rc;
    }
    for (size_t i = 0; i < e->ncamps; i++) {
        if (!e->camps[i]->mark) {
            eng_cache_forget(&e->cache, e->camps[i]);
            campaign_free(e->camps[i]);
        }
    }
    free(e->camps);
    e->camps = r.camps;
    e->ncamps = r.n;
    uint64_t counting = 0;
    for (size_t i = 0; i < e->ncamps; i++)
        counting += (uint64_t)e->camps[i]->counting;
    atomic_store(&e->g_campaigns, counting);
    atomic_store(&e->g_entries, e->cache.count);
    atomic_store(&e->g_bytes, e->cache.bytes);
    return index_build(e);
}

int tly_engine_open(struct tly_engine **out, sqlite3 *db, const struct tly_logger *lg,
                    size_t cache_bytes)
{
    struct tly_engine *e = calloc(1, sizeof *e);
    if (e == NULL)
        return TLY_ENOMEM;
    e->db = db;
    e->lg = lg;
    tly_buf_init(&e->scratch, 0);
    tly_buf_init(&e->key, 0);
    int rc = eng_cache_init(&e->cache, cache_bytes ? cache_bytes : TLY_ENGINE_CACHE_BYTES);
    if (rc == 0)
        rc = tly_progress_store_open(&e->ps, db);
    if (rc == 0)
        rc = tly_engine_reload(e);
    if (rc != 0) {
        tly_engine_close(e);
        return rc;
    }
    *out = e;
    return 0;
}

void tly_engine_close(struct tly_engine *e)
{
    if (e == NULL)
        return;
    tly_cache_free(&e->cache);
    names_free(e);
    for (size_t i = 0; i < e->ncamps; i++)
        campaign_free(e->camps[i]);
    free(e->camps);
    tly_progress_store_close(e->ps);
    tly_buf_free(&e->scratch);
    tly_buf_free(&e->key);
    free(e);
}

void tly_engine_set_segments(struct tly_engine *e, struct tly_segments *segments)
{
    e->segments = segments;
}

/* ---- evaluation ---- */

/* The entry of (camp, user), read from the store on a miss. */
static int entry_get(struct tly_engine *e, struct eng_campaign *camp, uint64_t key,
                     const char *user, struct eng_entry **out)
{
    struct eng_entry *en = eng_cache_find(&e->cache, key, camp, user);
    if (en != NULL) {
        *out = en;
        return 0;
    }
    struct tly_progress prog;
    tly_progress_init(&prog, camp->def->nact);
    if (camp->maybe_stored) {
        tly_buf_reset(&e->scratch);
        int rc =
            tly_progress_store_load(e->ps, camp->tenant, camp->id, camp->uid, user, &e->scratch);
        if (rc < 0)
            return rc;
        if (rc == 1) {
            rc = tly_progress_decode(e->scratch.data, e->scratch.len, camp->def->nact, &prog);
            if (rc == TLY_ENOMEM)
                return rc;
            if (rc != 0)
                tly_log_error(e->lg, "stored campaign progress unreadable; starting it again",
                              "tenant=%" PRIu32 " campaign=\"%s\"", camp->tenant, camp->id);
        }
    }
    en = eng_cache_add(&e->cache, key, camp, user, &prog);
    tly_progress_free(&prog);
    if (en == NULL)
        return TLY_ENOMEM;
    *out = en;
    return 0;
}

/* Is the user enrolled for an event received at `received_at`? */
static int enrolled(struct tly_engine *e, struct eng_entry *en, int64_t received_at)
{
    const struct eng_campaign *c = en->camp;
    if (!c->def->accept)
        return 1;
    if (en->accept_gen != e->accept_gen) {
        int64_t at;
        int rc = tly_progress_store_accepted(e->ps, c->tenant, c->id, en->user, &at);
        if (rc != 0 && rc != TLY_ENOENT)
            return rc;
        en->accepted_at = rc == 0 ? at : INT64_MAX;
        en->accept_gen = e->accept_gen;
    }
    return received_at >= en->accepted_at;
}

static int add_measure(struct tly_engine *e, const struct tly_campaign *c,
                       const struct tly_activity *a, struct tly_act_value *v,
                       const struct tly_event *ev)
{
    const cJSON *x;
    switch (a->measure) {
    case TLY_MEASURE_COUNT:
        v->num += 1;
        return 0;
    case TLY_MEASURE_SUM:
        x = ev->properties ? tly_path_get(&a->property, ev->properties) : NULL;
        if (cJSON_IsNumber(x))
            v->num += x->valuedouble;
        return 0;
    case TLY_MEASURE_DISTINCT:
        x = ev->properties ? tly_path_get(&a->property, ev->properties) : NULL;
        if (x == NULL || cJSON_IsNull(x))
            return 0;
        tly_buf_reset(&e->key);
        if (tly_json_value_key(x, &e->key) != 0)
            return TLY_ENOMEM;
        return tly_act_set_add(v, (int64_t)tly_siphash24(hash_key, e->key.data, e->key.len));
    case TLY_MEASURE_STREAK:
        return tly_act_set_add(v, tly_tz_period_of(c->tz, a->period, ev->timestamp));
    }
    return 0;
}

static int window_met(const struct tly_campaign *c, const struct tly_window_state *w)
{
    int met = 0;
    for (int a = 0; a < c->nact; a++) {
        int m = tly_act_value_of(&w->act[a], c->act[a].measure) >= c->act[a].target;
        if (m && c->complete_any)
            return 1;
        if (!m && !c->complete_any)
            return 0;
        met += m;
    }
    return c->complete_any ? met > 0 : 1;
}

/* Does the campaign's segment admit `user` for an event received at
 * `received_at` (a member, and entered by then unless count_before_entry)?
 * 1, 0, or a store error. */
static int segment_admits(struct tly_engine *e, const struct eng_campaign *camp, const char *user,
                          int64_t received_at)
{
    const struct tly_campaign *c = camp->def;
    int64_t since = 0;
    int rc = e->segments == NULL
                 ? 0
                 : tly_segments_member(e->segments, camp->tenant, c->segment, user, &since);
    if (rc <= 0)
        return rc;
    return c->count_before_entry || received_at >= since;
}

/* A completion in window `w` of the entry: counted, the values reset
 * (window "campaign") or the window closed, and its reward issued. */
static int complete(struct tly_engine *e, struct eng_entry *en, struct tly_window_state *w,
                    const struct tly_event *ev)
{
    struct tly_progress *p = &en->prog;
    p->completions++;
    if (en->camp->def->window == TLY_WINDOW_CAMPAIGN)
        tly_progress_reset_values(p);
    else
        w->completed = 1;
    return eng_reward_issue(e, en, ev, p->completions);
}

/* Applies the event to one campaign whose activities in `mask` match. */
static int apply(struct tly_engine *e, struct eng_campaign *camp, uint32_t mask,
                 const struct tly_event *ev, uint64_t user_hash)
{
    const struct tly_campaign *c = camp->def;
    e->pending.matches++;
    struct eng_entry *en;
    int rc = entry_get(e, camp, tly_cache_key_hash(user_hash, camp->uid), ev->user_id, &en);
    if (rc != 0)
        return rc;
    en->ce.ref = 1;
    rc = enrolled(e, en, ev->received_at);
    if (rc <= 0)
        return rc;
    /* A segment: members count from their entry (received_at ≥ entered_at);
     * with count_before_entry everyone counts but only members complete. */
    int admitted = 1;
    if (c->segment != NULL) {
        admitted = segment_admits(e, camp, ev->user_id, ev->received_at);
        if (admitted < 0)
            return admitted;
        if (!admitted && !c->count_before_entry)
            return 0;
    }
    struct tly_progress *p = &en->prog;
    if (c->max_completions > 0 && p->completions >= c->max_completions)
        return 0; /* completed: counting has stopped */
    int64_t period = c->window == TLY_WINDOW_CAMPAIGN
                         ? 0
                         : tly_tz_period_of(c->tz, (enum tly_period)c->window, ev->timestamp);
    if ((rc = eng_cache_touch(&e->cache, en)) != 0)
        return rc;
    struct tly_window_state *w = tly_progress_window(p, period, 1);
    if (w == NULL)
        return TLY_ENOMEM;
    for (int a = 0; a < c->nact; a++) {
        if (!(mask >> a & 1))
            continue;
        double before = tly_act_value_of(&w->act[a], c->act[a].measure);
        if ((rc = add_measure(e, c, &c->act[a], &w->act[a], ev)) != 0)
            return rc;
        double after = tly_act_value_of(&w->act[a], c->act[a].measure);
        /* Just met: an activity_completed entry (members, open windows). */
        if (admitted && !w->completed && before < c->act[a].target && after >= c->act[a].target &&
            (rc = eng_activity_completed(e, en, a, period, after, ev)) != 0)
            return rc;
    }
    p->seen = 1;
    if (w->completed || !admitted || !window_met(c, w))
        return 0;
    return complete(e, en, w, ev);
}

int tly_engine_event(struct tly_engine *e, const struct tly_event *ev)
{
    if (ev->kind != TLY_EVENT_TRACK || e->nnames == 0 || ev->event_name == NULL)
        return 0;
    e->pending.evaluated++;
    uint64_t h = name_hash(ev->tenant, ev->event_name);
    const struct eng_name *s = name_slot(e->names, e->names_mask, h, ev->tenant, ev->event_name);
    if (s->hash == 0)
        return 0;
    uint64_t user_hash = 0;
    for (uint32_t i = 0; i < s->nrefs;) {
        struct eng_campaign *camp = s->refs[i].camp;
        int in_bounds = tly_campaign_in_bounds(camp->def, ev->timestamp);
        uint32_t mask = 0;
        for (; i < s->nrefs && s->refs[i].camp == camp; i++) {
            const struct tly_activity *a = &camp->def->act[s->refs[i].act];
            if (in_bounds && tly_activity_matches(a, ev->event_name, ev->properties))
                mask |= 1u << s->refs[i].act;
        }
        if (mask == 0)
            continue;
        if (user_hash == 0)
            user_hash = str_hash(ev->user_id) | 1;
        int rc = apply(e, camp, mask, ev, user_hash);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- identity merge ---- */

/* Adds the values of window `from` into `to` (windows of one campaign). */
static int window_add(const struct tly_campaign *c, struct tly_window_state *to,
                      const struct tly_window_state *from)
{
    for (int a = 0; a < c->nact; a++) {
        to->act[a].num += from->act[a].num;
        for (uint32_t k = 0; k < from->act[a].nset; k++) {
            int rc = tly_act_set_add(&to->act[a], from->act[a].set[k]);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

/* Merges the progress of ev->previous_id in `camp` into ev->user_id's. */
static int merge_one(struct tly_engine *e, struct eng_campaign *camp, const struct tly_event *ev,
                     uint64_t from_hash, uint64_t to_hash)
{
    const struct tly_campaign *c = camp->def;
    struct eng_entry *from, *to;
    int rc = entry_get(e, camp, tly_cache_key_hash(from_hash, camp->uid), ev->previous_id, &from);
    if (rc != 0 || from->prog.nwin == 0)
        return rc;
    /* Entries are separate allocations: `from` stays valid. */
    if ((rc = entry_get(e, camp, tly_cache_key_hash(to_hash, camp->uid), ev->user_id, &to)) != 0 ||
        (rc = eng_cache_touch(&e->cache, from)) != 0 || (rc = eng_cache_touch(&e->cache, to)) != 0)
        return rc;
    from->ce.ref = to->ce.ref = 1;
    struct tly_progress *fp = &from->prog, *tp = &to->prog;
    for (uint32_t k = 0; k < fp->nwin; k++) {
        const struct tly_window_state *fw = &fp->win[k];
        if (fw->completed)
            continue; /* its values earned the previous user's reward */
        struct tly_window_state *tw = tly_progress_window(tp, fw->period, 1);
        if (tw == NULL)
            return TLY_ENOMEM;
        if ((rc = window_add(c, tw, fw)) != 0)
            return rc;
    }
    tp->seen |= fp->seen;
    /* The previous user's windows go; its completions stay (its rewards
     * keep their numbers, so none is issued again). */
    uint32_t completions = fp->completions;
    int seen = fp->seen;
    tly_progress_free(fp);
    tly_progress_init(fp, c->nact);
    fp->completions = completions;
    fp->seen = seen;
    /* The completion check, under the rules of an event at the alias. */
    if (!tly_campaign_in_bounds(c, ev->timestamp))
        return 0;
    rc = enrolled(e, to, ev->received_at);
    if (rc <= 0)
        return rc;
    if (c->segment != NULL && (rc = segment_admits(e, camp, ev->user_id, ev->received_at)) <= 0)
        return rc;
    for (uint32_t k = 0; k < tp->nwin; k++) {
        if (c->max_completions > 0 && tp->completions >= c->max_completions)
            break;
        struct tly_window_state *w = &tp->win[k];
        if (!w->completed && window_met(c, w) && (rc = complete(e, to, w, ev)) != 0)
            return rc;
    }
    return 0;
}

int tly_engine_merge(struct tly_engine *e, const struct tly_event *ev)
{
    if (ev->kind != TLY_EVENT_ALIAS || ev->previous_id == NULL ||
        strcmp(ev->previous_id, ev->user_id) == 0)
        return 0;
    uint64_t from_hash = str_hash(ev->previous_id) | 1, to_hash = str_hash(ev->user_id) | 1;
    for (size_t i = 0; i < e->ncamps; i++) {
        struct eng_campaign *camp = e->camps[i];
        if (camp->tenant != ev->tenant || !camp->counting)
            continue;
        int rc = merge_one(e, camp, ev, from_hash, to_hash);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- transactions ---- */

/* The order of campaign_progress's key (tenant, campaign id, user): rows
 * written in key order share the B-tree pages on their way. */
static int by_row_key(const void *a, const void *b)
{
    const struct eng_entry *x = *(const struct eng_entry *const *)a;
    const struct eng_entry *y = *(const struct eng_entry *const *)b;
    if (x->camp != y->camp) {
        if (x->camp->tenant != y->camp->tenant)
            return x->camp->tenant < y->camp->tenant ? -1 : 1;
        return strcmp(x->camp->id, y->camp->id);
    }
    return strcmp(x->user, y->user);
}

int tly_engine_flush(struct tly_engine *e)
{
    int64_t now = tly_now_ms();
    if (e->cache.ndirty > 1)
        qsort(e->cache.dirty, e->cache.ndirty, sizeof *e->cache.dirty, by_row_key);
    for (size_t k = 0; k < e->cache.ndirty; k++) {
        const struct eng_entry *en = (const struct eng_entry *)e->cache.dirty[k];
        const struct eng_campaign *c = en->camp;
        tly_buf_reset(&e->scratch);
        if (tly_progress_encode(&en->prog, &e->scratch) != 0)
            return TLY_ENOMEM;
        struct tly_progress_row row = {
            .tenant = c->tenant,
            .campaign = c->id,
            .uid = c->uid,
            .user = en->user,
            .seen = en->prog.seen,
            .completions = en->prog.completions,
            .completed = c->def->max_completions > 0 &&
                         en->prog.completions >= (uint64_t)c->def->max_completions,
            .state = e->scratch.data,
            .state_len = e->scratch.len,
            .updated_at = now,
        };
        int rc = tly_progress_store_put(e->ps, &row);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void publish_gauges(struct tly_engine *e)
{
    atomic_store(&e->g_entries, e->cache.count);
    atomic_store(&e->g_bytes, e->cache.bytes);
}

void tly_engine_committed(struct tly_engine *e)
{
    tly_cache_committed(&e->cache);
    tly_counter_add(&e->n_evaluated, e->pending.evaluated);
    tly_counter_add(&e->n_matches, e->pending.matches);
    tly_counter_add(&e->n_completions, e->pending.completions);
    tly_counter_add(&e->n_rewards, e->pending.rewards);
    memset(&e->pending, 0, sizeof e->pending);
    publish_gauges(e);
}

void tly_engine_drop(struct tly_engine *e)
{
    tly_cache_rolled_back(&e->cache);
    memset(&e->pending, 0, sizeof e->pending);
    publish_gauges(e);
}

/* ---- metrics ---- */

void tly_engine_stats(const struct tly_engine *ce, struct tly_engine_stats *out)
{
    struct tly_engine *e = (struct tly_engine *)ce;
    out->evaluated = tly_counter_get(&e->n_evaluated);
    out->matches = tly_counter_get(&e->n_matches);
    out->completions = tly_counter_get(&e->n_completions);
    out->rewards = tly_counter_get(&e->n_rewards);
    out->cache_entries = atomic_load(&e->g_entries);
    out->cache_bytes = atomic_load(&e->g_bytes);
    out->campaigns = atomic_load(&e->g_campaigns);
}

int tly_engine_metrics(const struct tly_engine *e, struct tly_buf *b)
{
    struct tly_engine_stats s;
    tly_engine_stats(e, &s);
    const struct tly_metric_scalar m[] = {
        {"tally_engine_events_evaluated_total", "counter",
         "Processed track events looked up in the campaign index.", (double)s.evaluated},
        {"tally_engine_campaign_matches_total", "counter",
         "(event, campaign) pairs where the event matched an activity.", (double)s.matches},
        {"tally_engine_completions_total", "counter", "Campaign completions.",
         (double)s.completions},
        {"tally_engine_rewards_issued_total", "counter",
         "Rewards written (with their outbox entry).", (double)s.rewards},
        {"tally_engine_campaigns", "gauge", "Active campaigns that count events.",
         (double)s.campaigns},
        {"tally_engine_cache_entries", "gauge", "(campaign, user) progress entries in memory.",
         (double)s.cache_entries},
        {"tally_engine_cache_bytes", "gauge", "Memory held by the progress cache.",
         (double)s.cache_bytes},
    };
    return tly_metrics_scalars(b, m, sizeof m / sizeof m[0]);
}
