/*
 * The segment evaluator (see segment_eval.h).
 *
 * Loaded event segments are kept sorted by uid; behaviour conditions are
 * indexed in `refs`, sorted by (tenant, event name), so an event finds the
 * conditions naming it by binary search and touches no other segment.
 * Statements are prepared once on the pipeline connection.
 *
 * The cache's entries are per (tenant, user) and name segments by uid, not
 * by pointer, so they outlive reloads: a segment deleted meanwhile is
 * simply no longer found (its state is left out at the next write), and
 * one whose rules changed has a new generation (its counts are forgotten
 * at the next use). Memberships of event segments are the evaluator's
 * alone to change, so the copy in an entry (and in its stored state,
 * written in the transaction of each change) stays true. While the store
 * holds no state at all and no entry has left the cache (`maybe_stored`
 * 0), a miss needs no lookup.
 *
 * Between transactions an entry keeps only the encoding of its state (the
 * bytes of its segment_users row, `packed`): a few hundred bytes where the
 * decoded state takes several kilobytes. entry_get decodes it for use
 * (`open`); COMMIT and ROLLBACK free what was decoded, after the flush
 * has packed what changed.
 */
#include "engine/segment_eval.h"
#include "core/metrics.h"
#include "core/timeparse.h"
#include "engine/segment.h"
#include "engine/segment_state.h"
#include "engine/state_cache.h"
#include "store/segments.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
    S_LOAD,
    S_MEMBERS,
    S_PUT,
    S_UPDATE,
    S_UPDATE_STATE,
    S_MEMBER,
    S_ENTER,
    S_EXIT,
    S_OUTBOX,
    S_ATTRS,
    S_DUE,
    S_ANY,
    S_COUNT
};

static const char *const sql[S_COUNT] = {
    [S_LOAD] = "SELECT state, recheck_at FROM segment_users WHERE tenant_id = ?1 AND user_id = ?2",
    /* The planner, without statistics, would scan the tenant's part of the
     * primary key (every member of every segment) instead. */
    [S_MEMBERS] = "SELECT segment_id, entered_at FROM segment_members INDEXED BY "
                  "segment_members_by_user WHERE tenant_id = ?1 AND user_id = ?2",
    [S_PUT] = "INSERT INTO segment_users (tenant_id, user_id, state, recheck_at) VALUES (?1, ?2, "
              "?3, ?4) ON CONFLICT DO UPDATE SET state = excluded.state, recheck_at = "
              "excluded.recheck_at",
    [S_UPDATE] = "UPDATE segment_users SET state = ?3, recheck_at = ?4 WHERE tenant_id = ?1 AND "
                 "user_id = ?2",
    /* recheck_at unchanged: its index is left alone. */
    [S_UPDATE_STATE] = "UPDATE segment_users SET state = ?3 WHERE tenant_id = ?1 AND user_id = ?2",
    [S_MEMBER] = "SELECT entered_at FROM segment_members WHERE tenant_id = ?1 AND segment_id = "
                 "?2 AND user_id = ?3",
    [S_ENTER] = "INSERT OR IGNORE INTO segment_members (tenant_id, segment_id, user_id, "
                "entered_at) VALUES (?1, ?2, ?3, ?4)",
    [S_EXIT] = "DELETE FROM segment_members WHERE tenant_id = ?1 AND segment_id = ?2 AND "
               "user_id = ?3",
    [S_OUTBOX] = "INSERT OR IGNORE INTO outbox (tenant_id, kind, dedupe_key, payload, "
                 "created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_ATTRS] = "SELECT attributes FROM users WHERE tenant_id = ?1 AND user_id = ?2",
    [S_DUE] = "SELECT tenant_id, user_id FROM segment_users WHERE recheck_at <= ?1 "
              "ORDER BY recheck_at LIMIT ?2",
    /* Every member of an event segment has a row: its change was written. */
    [S_ANY] = "SELECT EXISTS (SELECT 1 FROM segment_users)",
};

/* Chunks the arena keeps between transactions: at most this, and a
 * quarter of the cache's bound. */
#define ARENA_KEEP ((size_t)64 << 20)

struct seg {
    uint32_t tenant;
    char *id;
    int64_t uid;
    uint32_t gen;
    struct tly_segment *def;
    int has_attr;
    int64_t window_min; /* the shortest rolling window (0: none) */
};

struct ref {
    uint32_t tenant;
    const char *event; /* borrowed from the condition */
    struct seg *seg;
    int cond;
};

/* A cached user: their state in every event segment of the tenant, and
 * their attributes as last read (valid while attrs_gen is the evaluator's:
 * see attributes()). */
struct uentry {
    struct tly_cache_entry ce; /* first: the cache's view */
    uint32_t tenant;
    uint8_t stored;     /* segment_users has the user's row */
    uint8_t open;       /* `us` holds the state decoded (listed in `opened`) */
    uint8_t fresh;      /* just read from the store: not yet opened */
    uint32_t attrs_gen; /* 0: not read */
    cJSON *attrs;       /* NULL: none */
    size_t attrs_bytes;
    uint8_t *packed; /* the state as last written (NULL: none) */
    size_t npacked;
    int64_t recheck;       /* recheck_at as last written (INT64_MAX: NULL), when stored */
    struct tly_userseg us; /* while open */
    char user[];
};

/* A membership change of the open transaction, written to segment_members
 * at the flush: sorted by that table's key, the rows of a batch share the
 * B-tree's pages on their way (the outbox entry is written at once: its
 * place in the outbox is the change's place in time). */
struct change {
    const struct seg *seg;
    const struct uentry *en;
    int64_t at;
    uint32_t seq; /* keeps two changes of one key in their order */
    uint8_t entered;
};

struct tly_segments {
    sqlite3 *db;
    const struct tly_logger *lg;
    sqlite3_stmt *st[S_COUNT];
    struct seg **segs; /* sorted by uid */
    size_t nsegs;
    struct ref *refs;
    size_t nrefs;
    int windows;
    struct seg **touched; /* of the event being applied */
    size_t ntouched, ctouched;
    struct tly_buf buf;
    struct tly_cache cache;
    struct uentry **opened; /* in the open transaction */
    size_t nopened, copened;
    struct tly_arena arena; /* what they decoded */
    size_t decoded_bytes;   /* the arena's size at the end of the last transaction */
    struct change *changes; /* of the open transaction, not yet written */
    size_t nchanges, cchanges;
    int maybe_stored;                  /* the store may hold state the cache lacks */
    int removed;                       /* a segment went: leave its state out when writing */
    int converting;                    /* convert_legacy() runs */
    uint32_t attrs_gen;                /* moves on when cached attributes may be stale */
    struct tly_segments_stats pending; /* of the open transaction */
    /* Shared: published at COMMIT and ROLLBACK for other threads. */
    _Atomic uint64_t n_judged, n_entered, n_exited, g_segments, g_entries, g_bytes, g_decoded;
};

/* ---- the cache's entries ---- */

static size_t entry_bytes(const struct tly_cache_entry *ce)
{
    const struct uentry *en = (const struct uentry *)ce;
    return sizeof *en + strlen(en->user) + 1 + en->npacked + en->attrs_bytes +
           (en->open ? tly_userseg_bytes(&en->us) : 0) + 2 * sizeof(void *);
}

static void entry_release(struct tly_cache_entry *ce, void *arg)
{
    struct uentry *en = (struct uentry *)ce;
    ((struct tly_segments *)arg)->maybe_stored = 1;
    cJSON_Delete(en->attrs);
    tly_userseg_free(&en->us);
    free(en->packed);
    free(en);
}

/* ---- definitions ---- */

static void seg_free(struct seg *g)
{
    if (g == NULL)
        return;
    free(g->id);
    tly_segment_free(g->def);
    free(g);
}

static void unload(struct tly_segments *s)
{
    for (size_t i = 0; i < s->nsegs; i++)
        seg_free(s->segs[i]);
    free(s->segs);
    free(s->refs);
    s->segs = NULL;
    s->refs = NULL;
    s->nsegs = s->nrefs = 0;
    s->windows = 0;
}

struct load {
    struct tly_segments *s;
    struct seg **segs;
    size_t n, cap;
};

static int on_row(void *arg, const struct tly_segment_row *row)
{
    struct load *l = arg;
    if (strcmp(row->kind, "event") != 0)
        return 0;
    struct tly_error err = {{0}};
    struct tly_segment *def;
    int rc = tly_segment_parse(row->definition, row->len, &def, &err);
    if (rc == TLY_ENOMEM)
        return rc;
    if (rc != 0) {
        tly_log_warn(l->s->lg, "stored segment definition not understood; it has no members",
                     "tenant=%" PRIu32 " segment=\"%s\" error=\"%s\"", row->tenant, row->id,
                     err.msg);
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct seg **p = realloc(l->segs, cap * sizeof *p);
        if (p == NULL) {
            tly_segment_free(def);
            return TLY_ENOMEM;
        }
        l->segs = p;
        l->cap = cap;
    }
    struct seg *g = calloc(1, sizeof *g);
    if (g == NULL || (g->id = strdup(row->id)) == NULL) {
        free(g);
        tly_segment_free(def);
        return TLY_ENOMEM;
    }
    g->tenant = row->tenant;
    g->uid = row->uid;
    g->gen = row->gen;
    g->def = def;
    for (int i = 0; i < def->ncond; i++) {
        const struct tly_segcond *c = &def->cond[i];
        g->has_attr |= c->kind == TLY_SEGCOND_ATTRIBUTE;
        if (c->within_ms > 0 && (g->window_min == 0 || c->within_ms < g->window_min))
            g->window_min = c->within_ms;
    }
    l->segs[l->n++] = g;
    return 0;
}

static int ref_cmp(const void *a, const void *b)
{
    const struct ref *x = a, *y = b;
    if (x->tenant != y->tenant)
        return x->tenant < y->tenant ? -1 : 1;
    return strcmp(x->event, y->event);
}

static int seg_by_uid(const void *a, const void *b)
{
    int64_t x = (*(struct seg *const *)a)->uid, y = (*(struct seg *const *)b)->uid;
    return x < y ? -1 : x > y;
}

int tly_segments_reload(struct tly_segments *s)
{
    struct load l = {.s = s};
    int rc = tly_segments_list(s->db, 0, on_row, &l);
    if (rc != 0) {
        for (size_t i = 0; i < l.n; i++)
            seg_free(l.segs[i]);
        free(l.segs);
        return rc;
    }
    size_t nrefs = 0;
    for (size_t i = 0; i < l.n; i++)
        for (int c = 0; c < l.segs[i]->def->ncond; c++)
            nrefs += l.segs[i]->def->cond[c].kind == TLY_SEGCOND_BEHAVIOUR;
    struct ref *refs = nrefs ? calloc(nrefs, sizeof *refs) : NULL;
    struct seg **touched = realloc(s->touched, (l.n + 1) * sizeof *touched);
    if ((nrefs && refs == NULL) || touched == NULL) {
        free(refs);
        for (size_t i = 0; i < l.n; i++)
            seg_free(l.segs[i]);
        free(l.segs);
        return TLY_ENOMEM;
    }
    s->touched = touched;
    s->ctouched = l.n + 1;
    if (l.n > 1)
        qsort(l.segs, l.n, sizeof *l.segs, seg_by_uid);
    for (size_t i = 0; i < s->nsegs && !s->removed; i++)
        s->removed = bsearch(&s->segs[i], l.segs, l.n, sizeof *l.segs, seg_by_uid) == NULL;
    unload(s);
    s->segs = l.segs;
    s->nsegs = l.n;
    s->refs = refs;
    for (size_t i = 0; i < l.n; i++)
        for (int c = 0; c < l.segs[i]->def->ncond; c++) {
            const struct tly_segcond *sc = &l.segs[i]->def->cond[c];
            if (sc->kind != TLY_SEGCOND_BEHAVIOUR)
                continue;
            s->windows |= sc->within_ms > 0;
            refs[s->nrefs++] = (struct ref){l.segs[i]->tenant, sc->event, l.segs[i], c};
        }
    if (s->nrefs > 1)
        qsort(s->refs, s->nrefs, sizeof *s->refs, ref_cmp);
    atomic_store(&s->g_segments, s->nsegs);
    s->attrs_gen++; /* attributes may have changed elsewhere too */
    s->attrs_gen += s->attrs_gen == 0;
    return 0;
}

static struct seg *find_uid(const struct tly_segments *s, int64_t uid)
{
    size_t lo = 0, hi = s->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->segs[mid]->uid < uid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->nsegs && s->segs[lo]->uid == uid ? s->segs[lo] : NULL;
}

static struct seg *find(const struct tly_segments *s, uint32_t tenant, const char *id)
{
    for (size_t i = 0; i < s->nsegs; i++) /* few segments per tenant */
        if (s->segs[i]->tenant == tenant && strcmp(s->segs[i]->id, id) == 0)
            return s->segs[i];
    return NULL;
}

/* ---- statements ---- */

/* The statement `i`, reset, with ?1 tenant, ?2 `a`, ?3 `b` (when not NULL). */
static sqlite3_stmt *stmt(struct tly_segments *s, int i, uint32_t tenant, const char *a,
                          const char *b)
{
    sqlite3_stmt *st = s->st[i];
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, tenant);
    if (a != NULL)
        sqlite3_bind_text(st, 2, a, -1, SQLITE_STATIC);
    if (b != NULL)
        sqlite3_bind_text(st, 3, b, -1, SQLITE_STATIC);
    return st;
}

static int done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : TLY_EIO;
    sqlite3_reset(st);
    return rc;
}

/* Makes room for one more element in a growing array of n (capacity
 * *cap). 0 or TLY_ENOMEM. */
static int room(void **arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 1024;
    void *p = realloc(*arr, c * size);
    if (p == NULL)
        return TLY_ENOMEM;
    *arr = p;
    *cap = c;
    return 0;
}

/* ---- users ---- */

/* Reads the user's stored state (its encoding) into a new entry. */
static int entry_load(struct tly_segments *s, struct uentry *en)
{
    sqlite3_stmt *st = stmt(s, S_LOAD, en->tenant, en->user, NULL);
    int step = sqlite3_step(st);
    int rc = 0;
    if (step == SQLITE_ROW) {
        en->stored = 1;
        en->recheck =
            sqlite3_column_type(st, 1) == SQLITE_NULL ? INT64_MAX : sqlite3_column_int64(st, 1);
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        const void *p = sqlite3_column_blob(st, 0);
        if (n > 0 && (en->packed = malloc(n)) == NULL)
            rc = TLY_ENOMEM;
        else if (n > 0) {
            memcpy(en->packed, p, n);
            en->npacked = n;
        }
    } else if (step != SQLITE_DONE) {
        rc = TLY_EIO;
    }
    sqlite3_reset(st);
    return rc;
}

/* Adds the user's memberships as segment_members holds them: the former
 * layout kept them only there, and an unreadable state is rebuilt from
 * them. */
static int add_members(struct tly_segments *s, struct uentry *en)
{
    sqlite3_stmt *st = stmt(s, S_MEMBERS, en->tenant, en->user, NULL);
    int step, rc = 0;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const struct seg *g = find(s, en->tenant, (const char *)sqlite3_column_text(st, 0));
        if (g == NULL)
            continue; /* a static segment: not cached */
        struct tly_segstate *ss = tly_userseg_get(&en->us, g->uid, 1);
        if (ss == NULL) {
            rc = TLY_ENOMEM;
            break;
        }
        if (ss->ncond == 0)
            ss->gen = g->gen;
        ss->member = 1;
        ss->entered_at = sqlite3_column_int64(st, 1);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = TLY_EIO;
    sqlite3_reset(st);
    return rc;
}

/* Decodes the entry's state for use in the open transaction. */
static int entry_open(struct tly_segments *s, struct uentry *en)
{
    if (en->open)
        return 0;
    if (room((void **)&s->opened, s->nopened, &s->copened, sizeof *s->opened) != 0)
        return TLY_ENOMEM;
    en->us.arena = &s->arena;
    int rc = en->packed ? tly_userseg_decode(en->packed, en->npacked, &s->arena, &en->us) : 0;
    int rebuild = rc == TLY_ECORRUPT;
    if (rebuild) {
        tly_log_error(s->lg,
                      "stored segment state unreadable; counting it again from "
                      "the current memberships",
                      "tenant=%" PRIu32, en->tenant);
        rc = 0;
    }
    if (rc == 0 && (rebuild || (en->fresh && s->converting)))
        rc = add_members(s, en);
    if (rc == 0 && rebuild) /* written again, readable */
        rc = tly_cache_touch(&s->cache, &en->ce, 1);
    if (rc != 0) { /* not open: the next use decodes again */
        tly_userseg_free(&en->us);
        return rc;
    }
    s->opened[s->nopened++] = en;
    en->open = 1;
    en->fresh = 0;
    return 0;
}

/* Frees what the open transaction decoded (after COMMIT or ROLLBACK; at
 * COMMIT the flush has packed what changed). */
static void close_opened(struct tly_segments *s)
{
    for (size_t i = 0; i < s->nopened; i++) {
        struct uentry *en = s->opened[i];
        tly_userseg_free(&en->us);
        en->open = 0;
        if (!en->ce.dirty) /* a dirty one is counted again at COMMIT */
            tly_cache_resize(&s->cache, &en->ce);
    }
    s->nopened = 0;
    s->decoded_bytes = s->arena.bytes;
    tly_arena_reset(&s->arena);
}

/* The cached entry of (tenant, user), loaded on a miss, opened. */
static int entry_get(struct tly_segments *s, uint32_t tenant, const char *user, struct uentry **out)
{
    uint64_t h = tly_cache_key_hash(tly_cache_str_hash(user), (int64_t)tenant);
    struct tly_cache_entry *x;
    for (size_t i = h & s->cache.mask; (x = tly_cache_next(&s->cache, h, &i)) != NULL;) {
        struct uentry *en = (struct uentry *)x;
        if (en->tenant == tenant && strcmp(en->user, user) == 0) {
            *out = en;
            return entry_open(s, en);
        }
    }
    size_t len = strlen(user);
    struct uentry *en = calloc(1, sizeof *en + len + 1);
    if (en == NULL)
        return TLY_ENOMEM;
    en->ce.hash = h;
    en->tenant = tenant;
    en->fresh = 1;
    memcpy(en->user, user, len + 1);
    int rc = s->maybe_stored ? entry_load(s, en) : 0;
    if (rc == 0 && (rc = tly_cache_add(&s->cache, &en->ce)) == 0) {
        *out = en;
        return entry_open(s, en);
    }
    free(en->packed);
    free(en);
    return rc;
}

/* The user's state in `g`, made to match its rules: counts made under
 * another generation are forgotten, all-time counts kept as a list are
 * folded. NULL when out of memory. */
static struct tly_segstate *state_of(struct uentry *en, const struct seg *g)
{
    struct tly_segstate *ss = tly_userseg_get(&en->us, g->uid, 1);
    if (ss == NULL)
        return NULL;
    const struct tly_segment *d = g->def;
    if (ss->gen != g->gen) {
        tly_segstate_clear_counts(en->us.arena, ss);
        ss->gen = g->gen;
    }
    if (ss->ncond != (uint32_t)d->ncond) { /* new, or made under other rules */
        if (tly_segstate_resize(en->us.arena, ss, (uint32_t)d->ncond) != 0)
            return NULL;
        for (int i = 0; i < d->ncond; i++)
            if (d->cond[i].within_ms == 0)
                tly_segcount_fold(&ss->cond[i]);
    }
    return ss;
}

/* ---- judging ---- */

/* The entry's user's attributes (a parsed object, borrowed from the entry),
 * or NULL with *rc 0 for a user without any, or a store error in *rc.
 * Read once and kept while nothing may have changed them: the user's own
 * profile updates forget them (tly_segments_event), and the generation
 * moves on when another connection wrote (reload) or a transaction that
 * may have changed them rolled back. */
static const cJSON *attributes(struct tly_segments *s, struct uentry *en, int *rc)
{
    *rc = 0;
    if (en->attrs_gen == s->attrs_gen)
        return en->attrs;
    cJSON_Delete(en->attrs);
    en->attrs = NULL;
    en->attrs_gen = 0;
    sqlite3_stmt *st = stmt(s, S_ATTRS, en->tenant, en->user, NULL);
    int step = sqlite3_step(st);
    size_t len = 0;
    if (step == SQLITE_ROW) {
        len = (size_t)sqlite3_column_bytes(st, 0);
        en->attrs = cJSON_ParseWithLength((const char *)sqlite3_column_text(st, 0), len);
    } else if (step != SQLITE_DONE) {
        *rc = TLY_EIO;
    }
    sqlite3_reset(st);
    if (*rc == 0) {
        en->attrs_gen = s->attrs_gen;
        en->attrs_bytes = 4 * len; /* about what the parsed tree takes */
    }
    return en->attrs;
}

static int record_change(struct tly_segments *s, const struct seg *g, const struct uentry *en,
                         struct tly_segstate *ss, int entered, int64_t at)
{
    const char *user = en->user;
    if (room((void **)&s->changes, s->nchanges, &s->cchanges, sizeof *s->changes) != 0)
        return TLY_ENOMEM;
    s->changes[s->nchanges] =
        (struct change){g, en, at, (uint32_t)s->nchanges, (uint8_t)(entered != 0)};
    s->nchanges++;
    ss->member = entered;
    ss->entered_at = entered ? at : 0;
    int64_t n = ++ss->changes;
    const char *kind = entered ? "segment_entered" : "segment_exited";
    struct tly_buf *b = &s->buf;
    tly_buf_reset(b);
    char t[25];
    tly_time_format(at, t);
    int rc = tly_buf_printf(b, "{\"eventType\":\"%s\",\"segmentId\":", kind);
    rc |= tly_buf_json_str(b, g->id, strlen(g->id));
    rc |= tly_buf_puts(b, ",\"userId\":");
    rc |= tly_buf_json_str(b, user, strlen(user));
    rc |= tly_buf_printf(b, ",\"change\":%" PRId64 ",\"at\":\"%s\"}", n, t);
    size_t plen = b->len;
    rc |= tly_buf_printf(b, "%c%s:%" PRIu32 ":%" PRId64 ":", 0, kind, g->tenant, g->uid);
    rc |= tly_buf_puts(b, user);
    rc |= tly_buf_printf(b, ":%" PRId64, n);
    if (rc != 0)
        return TLY_ENOMEM;
    sqlite3_stmt *st = stmt(s, S_OUTBOX, g->tenant, NULL, NULL);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, b->data + plen + 1, (int)(b->len - plen - 1), SQLITE_STATIC);
    sqlite3_bind_text(st, 4, b->data, (int)plen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, at);
    if (done(st) != 0)
        return TLY_EIO;
    if (entered)
        s->pending.entered++;
    else
        s->pending.exited++;
    return 0;
}

/* Judges segment `g` for the entry's user; `attrs` is the user's
 * attributes (may be NULL); `at` the entry time to record. */
static int judge(struct tly_segments *s, const struct seg *g, struct uentry *en, const cJSON *attrs,
                 int64_t now, int64_t at)
{
    struct tly_segstate *ss = state_of(en, g);
    if (ss == NULL)
        return TLY_ENOMEM;
    const struct tly_segment *d = g->def;
    int met = 0, all = 1, changed = 0;
    for (int i = 0; i < d->ncond; i++) {
        const struct tly_segcond *c = &d->cond[i];
        int holds;
        if (c->kind == TLY_SEGCOND_ATTRIBUTE) {
            /* No attributes: the rules of a missing value. */
            holds =
                attrs != NULL ? tly_where_holds(&c->attr, attrs) : tly_where_test(&c->attr, NULL);
        } else {
            struct tly_segcount *k = &ss->cond[i];
            double x;
            if (c->within_ms > 0) {
                uint32_t before = k->n;
                tly_segcount_prune(k, now - c->within_ms + 1);
                changed |= k->n != before;
                x = k->n;
                if (c->measure == TLY_MEASURE_SUM) {
                    x = 0;
                    for (uint32_t j = 0; j < k->n; j++)
                        x += k->ev[j].v;
                }
            } else {
                x = c->measure == TLY_MEASURE_COUNT ? (double)k->count : k->sum;
            }
            holds = tly_segcond_compare(c, x);
        }
        met += holds;
        all &= holds;
    }
    s->pending.judged++;
    int in = d->match_any ? met > 0 : all;
    /* Dirty before the state changes: a rollback must drop the entry. */
    int rc = changed || in != ss->member ? tly_cache_touch(&s->cache, &en->ce, 1) : 0;
    if (rc == 0 && in != ss->member)
        rc = record_change(s, g, en, ss, in, at);
    return rc;
}

static void touch(struct tly_segments *s, struct seg *g)
{
    for (size_t i = 0; i < s->ntouched; i++)
        if (s->touched[i] == g)
            return;
    if (s->ntouched < s->ctouched)
        s->touched[s->ntouched++] = g;
}

/* Counts the event for every behaviour condition it matches. */
static int count_event(struct tly_segments *s, const struct tly_event *ev, int64_t now,
                       struct uentry **en)
{
    struct ref key = {.tenant = ev->tenant, .event = ev->event_name};
    size_t lo = 0, hi = s->nrefs;
    while (lo < hi) { /* the first ref >= key */
        size_t mid = lo + (hi - lo) / 2;
        if (ref_cmp(&s->refs[mid], &key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < s->nrefs && ref_cmp(&s->refs[i], &key) == 0; i++) {
        const struct ref *r = &s->refs[i];
        const struct tly_segcond *c = &r->seg->def->cond[r->cond];
        if (!tly_segcond_matches(c, ev->event_name, ev->properties))
            continue;
        if (c->within_ms > 0 && ev->timestamp <= now - c->within_ms)
            continue; /* already out of the window: it can never count */
        double v = 0;
        if (c->measure == TLY_MEASURE_SUM) {
            const cJSON *x = ev->properties ? tly_path_get(&c->property, ev->properties) : NULL;
            v = cJSON_IsNumber(x) ? x->valuedouble : 0;
        }
        int rc = *en == NULL ? entry_get(s, ev->tenant, ev->user_id, en) : 0;
        struct tly_segstate *ss = rc == 0 ? state_of(*en, r->seg) : NULL;
        if (rc == 0 && ss == NULL)
            rc = TLY_ENOMEM;
        /* Dirty before the state changes: a rollback must drop the entry. */
        if (rc == 0)
            rc = tly_cache_touch(&s->cache, &(*en)->ce, 1);
        if (rc == 0)
            rc =
                tly_segcount_add(&s->arena, &ss->cond[r->cond], ev->timestamp, v, c->within_ms > 0);
        if (rc != 0)
            return rc;
        touch(s, r->seg);
    }
    return 0;
}

/* Judges the touched segments for the entry's user. */
static int judge_touched(struct tly_segments *s, struct uentry *en, int64_t now, int64_t at)
{
    const cJSON *attrs = NULL;
    int rc = 0;
    for (size_t i = 0; i < s->ntouched && rc == 0; i++)
        if (s->touched[i]->has_attr) {
            attrs = attributes(s, en, &rc);
            break;
        }
    for (size_t i = 0; i < s->ntouched && rc == 0; i++)
        rc = judge(s, s->touched[i], en, attrs, now, at);
    return rc;
}

int tly_segments_event(struct tly_segments *s, const struct tly_event *ev, int64_t now)
{
    if (s->nsegs == 0 || ev->user_id == NULL)
        return 0;
    s->ntouched = 0;
    struct uentry *en = NULL;
    int rc = 0;
    if (ev->kind == TLY_EVENT_TRACK && ev->event_name != NULL && s->nrefs > 0 &&
        (rc = count_event(s, ev, now, &en)) != 0)
        return rc;
    int profile = ev->kind == TLY_EVENT_PROFILE || ev->kind == TLY_EVENT_ALIAS ||
                  (ev->kind == TLY_EVENT_TRACK && ev->traits != NULL);
    if (profile)
        for (size_t i = 0; i < s->nsegs; i++)
            if (s->segs[i]->tenant == ev->tenant && s->segs[i]->has_attr)
                touch(s, s->segs[i]);
    if (s->ntouched == 0)
        return 0;
    if (en == NULL && (rc = entry_get(s, ev->tenant, ev->user_id, &en)) != 0)
        return rc;
    if (profile)
        en->attrs_gen = 0; /* changed: read them again */
    return judge_touched(s, en, now, ev->received_at);
}

int tly_segments_member(struct tly_segments *s, uint32_t tenant, const char *id, const char *user,
                        int64_t *entered_at)
{
    const struct seg *g = find(s, tenant, id);
    if (g != NULL) { /* an event segment: cached */
        struct uentry *en;
        int rc = entry_get(s, tenant, user, &en);
        if (rc != 0)
            return rc;
        const struct tly_segstate *ss = tly_userseg_get(&en->us, g->uid, 0);
        if (ss == NULL || !ss->member)
            return 0;
        if (entered_at != NULL)
            *entered_at = ss->entered_at;
        return 1;
    }
    sqlite3_stmt *st = stmt(s, S_MEMBER, tenant, id, user);
    int step = sqlite3_step(st);
    int rc = step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : TLY_EIO;
    if (rc == 1 && entered_at != NULL)
        *entered_at = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc;
}

/* ---- the rolling windows' sweep ---- */

/* Does a rolling window of `g` hold an event that has left it by `now`? */
static int due(const struct seg *g, const struct tly_segstate *ss, int64_t now)
{
    const struct tly_segment *d = g->def;
    if (ss->gen != g->gen || ss->ncond != (uint32_t)d->ncond)
        return 0; /* the rules changed: judged when an event touches it */
    for (int i = 0; i < d->ncond; i++) {
        const struct tly_segcount *k = &ss->cond[i];
        if (d->cond[i].within_ms > 0 && k->n > 0 && k->ev[0].ts + d->cond[i].within_ms <= now)
            return 1;
    }
    return 0;
}

static int sweep_user(struct tly_segments *s, uint32_t tenant, const char *user, int64_t now,
                      int64_t wall)
{
    struct uentry *en;
    int rc = entry_get(s, tenant, user, &en);
    if (rc != 0)
        return rc;
    s->ntouched = 0;
    for (uint32_t i = 0; i < en->us.n; i++) {
        struct seg *g = find_uid(s, en->us.seg[i].uid);
        if (g != NULL && g->window_min > 0 && due(g, &en->us.seg[i], now))
            touch(s, g);
    }
    /* Written again in any case: its recheck_at is due, and must move. */
    if ((rc = tly_cache_touch(&s->cache, &en->ce, 1)) != 0)
        return rc;
    return judge_touched(s, en, now, wall);
}

struct due_user {
    uint32_t tenant;
    char *user;
};

int tly_segments_sweep(struct tly_segments *s, int64_t now, int max)
{
    sqlite3_stmt *st = s->st[S_DUE];
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, max);
    struct due_user *d = calloc((size_t)max, sizeof *d);
    if (d == NULL)
        return TLY_ENOMEM;
    int n = 0, rc = 0, step;
    while (n < max && (step = sqlite3_step(st)) == SQLITE_ROW) {
        d[n].tenant = (uint32_t)sqlite3_column_int64(st, 0);
        if ((d[n++].user = strdup((const char *)sqlite3_column_text(st, 1))) == NULL)
            rc = TLY_ENOMEM;
    }
    if (rc == 0 && n < max && step != SQLITE_DONE)
        rc = TLY_EIO;
    sqlite3_reset(st);
    int64_t wall = tly_now_ms();
    for (int i = 0; i < n && rc == 0; i++)
        rc = sweep_user(s, d[i].tenant, d[i].user, now, wall);
    for (int i = 0; i < n; i++)
        free(d[i].user);
    free(d);
    if (rc == 0)
        rc = tly_segments_flush(s);
    return rc != 0 ? rc : n;
}

/* ---- transactions ---- */

static int loaded(int64_t uid, void *s)
{
    return find_uid(s, uid) != NULL;
}

/* When the user's oldest event counted in a rolling window leaves it
 * (INT64_MAX: never). */
static int64_t recheck_of(const struct tly_segments *s, const struct uentry *en)
{
    int64_t at = INT64_MAX;
    for (uint32_t i = 0; i < en->us.n; i++) {
        const struct tly_segstate *ss = &en->us.seg[i];
        const struct seg *g = find_uid(s, ss->uid);
        if (g == NULL || g->window_min == 0 || ss->gen != g->gen)
            continue;
        for (uint32_t c = 0; c < ss->ncond && c < (uint32_t)g->def->ncond; c++) {
            int64_t w = g->def->cond[c].within_ms;
            if (w > 0 && ss->cond[c].n > 0 && ss->cond[c].ev[0].ts + w < at)
                at = ss->cond[c].ev[0].ts + w;
        }
    }
    return at;
}

/* The order of segment_users' key (tenant, user): rows written in key
 * order share the B-tree pages on their way. */
static int by_row_key(const void *a, const void *b)
{
    const struct uentry *x = *(const struct uentry *const *)a;
    const struct uentry *y = *(const struct uentry *const *)b;
    if (x->tenant != y->tenant)
        return x->tenant < y->tenant ? -1 : 1;
    return strcmp(x->user, y->user);
}

static int by_member_key(const void *a, const void *b)
{
    const struct change *x = a, *y = b;
    if (x->seg->tenant != y->seg->tenant)
        return x->seg->tenant < y->seg->tenant ? -1 : 1;
    int d = x->seg == y->seg ? 0 : strcmp(x->seg->id, y->seg->id);
    if (d == 0 && x->en != y->en)
        d = strcmp(x->en->user, y->en->user);
    return d != 0 ? d : x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Writes the transaction's membership changes to segment_members. */
static int write_changes(struct tly_segments *s)
{
    if (s->nchanges > 1)
        qsort(s->changes, s->nchanges, sizeof *s->changes, by_member_key);
    for (size_t i = 0; i < s->nchanges; i++) {
        const struct change *c = &s->changes[i];
        sqlite3_stmt *st =
            stmt(s, c->entered ? S_ENTER : S_EXIT, c->seg->tenant, c->seg->id, c->en->user);
        if (c->entered)
            sqlite3_bind_int64(st, 4, c->at);
        if (done(st) != 0)
            return TLY_EIO;
    }
    s->nchanges = 0;
    return 0;
}

int tly_segments_flush(struct tly_segments *s)
{
    struct tly_cache *c = &s->cache;
    if (write_changes(s) != 0)
        return TLY_EIO;
    if (c->ndirty > 1)
        qsort(c->dirty, c->ndirty, sizeof *c->dirty, by_row_key);
    for (size_t k = 0; k < c->ndirty; k++) {
        struct uentry *en = (struct uentry *)c->dirty[k];
        tly_buf_reset(&s->buf);
        if (tly_userseg_encode(&en->us, s->removed ? loaded : NULL, s, &s->buf) != 0)
            return TLY_ENOMEM;
        /* Kept packed from COMMIT on (a ROLLBACK drops the entry). */
        if (s->buf.len != en->npacked) {
            uint8_t *p = realloc(en->packed, s->buf.len);
            if (p == NULL)
                return TLY_ENOMEM;
            en->packed = p;
        }
        memcpy(en->packed, s->buf.data, s->buf.len);
        en->npacked = s->buf.len;
        /* An UPDATE of a row known to exist costs one search, not two. */
        int64_t recheck = recheck_of(s, en);
        int same = en->stored && recheck == en->recheck;
        sqlite3_stmt *st = stmt(s,
                                same         ? S_UPDATE_STATE
                                : en->stored ? S_UPDATE
                                             : S_PUT,
                                en->tenant, en->user, NULL);
        sqlite3_bind_blob(st, 3, en->packed, (int)en->npacked, SQLITE_STATIC);
        if (!same && recheck == INT64_MAX)
            sqlite3_bind_null(st, 4);
        else if (!same)
            sqlite3_bind_int64(st, 4, recheck);
        if (done(st) != 0)
            return TLY_EIO;
        if (en->stored && sqlite3_changes(s->db) == 0) { /* gone meanwhile: write it anew */
            en->stored = 0;
            k--;
            continue;
        }
        en->stored = 1;
        en->recheck = recheck;
    }
    return 0;
}

static void publish(struct tly_segments *s)
{
    memset(&s->pending, 0, sizeof s->pending);
    atomic_store(&s->g_entries, s->cache.count);
    atomic_store(&s->g_bytes, s->cache.bytes);
    atomic_store(&s->g_decoded, s->decoded_bytes);
}

void tly_segments_committed(struct tly_segments *s)
{
    s->nchanges = 0; /* written by the flush that must come before COMMIT */
    close_opened(s);
    tly_cache_committed(&s->cache);
    tly_counter_add(&s->n_judged, s->pending.judged);
    tly_counter_add(&s->n_entered, s->pending.entered);
    tly_counter_add(&s->n_exited, s->pending.exited);
    publish(s);
}

void tly_segments_drop(struct tly_segments *s)
{
    close_opened(s);
    s->nchanges = 0;
    tly_cache_rolled_back(&s->cache);
    publish(s);
    s->attrs_gen++; /* clean entries may hold attributes read in it */
    s->attrs_gen += s->attrs_gen == 0;
}

/* ---- the former layout ---- */

/* Converts the rows of segment_events and segment_state (migration 9's
 * layout) into entries, writes them, and empties both tables, in one
 * transaction. Rows of segments that no longer exist are dropped. */
static int convert_legacy(struct tly_segments *s)
{
    static const char *const q[] = {
        "SELECT e.tenant_id, e.user_id, s.uid, e.cond, e.ts, e.value FROM segment_events e "
        "JOIN segments s ON s.tenant_id = e.tenant_id AND s.id = e.segment_id",
        "SELECT t.tenant_id, t.user_id, s.uid, t.changes FROM segment_state t "
        "JOIN segments s ON s.tenant_id = t.tenant_id AND s.id = t.segment_id",
    };
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT EXISTS (SELECT 1 FROM segment_events) OR EXISTS "
                           "(SELECT 1 FROM segment_state)",
                           -1, &st, NULL) != SQLITE_OK)
        return TLY_EIO;
    int any = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (!any)
        return 0;
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return TLY_EIO;
    s->maybe_stored = 1;
    s->converting = 1;
    int rc = 0;
    uint64_t rows = 0;
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        if (sqlite3_prepare_v2(s->db, q[pass], -1, &st, NULL) != SQLITE_OK) {
            rc = TLY_EIO;
            break;
        }
        int step;
        while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
            uint32_t tenant = (uint32_t)sqlite3_column_int64(st, 0);
            const struct seg *g = find_uid(s, sqlite3_column_int64(st, 2));
            struct uentry *en;
            if (g == NULL || g->tenant != tenant)
                continue; /* a segment gone since */
            rc = entry_get(s, tenant, (const char *)sqlite3_column_text(st, 1), &en);
            struct tly_segstate *ss = rc == 0 ? state_of(en, g) : NULL;
            if (rc == 0 && ss == NULL)
                rc = TLY_ENOMEM;
            if (rc == 0) /* written whatever the row holds: it has the memberships */
                rc = tly_cache_touch(&s->cache, &en->ce, 1);
            int cond = pass == 0 && rc == 0 ? sqlite3_column_int(st, 3) : 0;
            if (rc == 0 && pass == 1)
                ss->changes = sqlite3_column_int64(st, 3);
            else if (rc == 0 && cond >= 0 && cond < (int)ss->ncond)
                rc = tly_segcount_add(&s->arena, &ss->cond[cond], sqlite3_column_int64(st, 4),
                                      sqlite3_column_double(st, 5),
                                      g->def->cond[cond].within_ms > 0);
            rows++;
        }
        if (rc == 0 && step != SQLITE_DONE)
            rc = TLY_EIO;
        sqlite3_finalize(st);
    }
    if (rc == 0)
        rc = tly_segments_flush(s);
    if (rc == 0 && (sqlite3_exec(s->db, "DELETE FROM segment_events; DELETE FROM segment_state",
                                 NULL, NULL, NULL) != SQLITE_OK ||
                    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK))
        rc = TLY_EIO;
    s->converting = 0;
    if (rc != 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        tly_segments_drop(s);
        return rc;
    }
    tly_segments_committed(s);
    tly_log_info(s->lg, "segment state converted to one row per user", "rows=%" PRIu64, rows);
    return 0;
}

/* ---- life ---- */

int tly_segments_open(struct tly_segments **out, sqlite3 *db, const struct tly_logger *lg,
                      size_t cache_bytes)
{
    struct tly_segments *s = calloc(1, sizeof *s);
    if (s == NULL)
        return TLY_ENOMEM;
    s->db = db;
    s->lg = lg;
    tly_buf_init(&s->buf, 0);
    size_t bound = cache_bytes ? cache_bytes : TLY_SEGMENTS_CACHE_BYTES;
    tly_arena_init(&s->arena, bound / 4 < ARENA_KEEP ? bound / 4 : ARENA_KEEP);
    const struct tly_cache_ops ops = {entry_bytes, entry_release, s};
    int rc = tly_cache_init(&s->cache, cache_bytes ? cache_bytes : TLY_SEGMENTS_CACHE_BYTES, &ops);
    for (int i = 0; i < S_COUNT && rc == 0; i++)
        if (sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) !=
            SQLITE_OK)
            rc = TLY_EIO;
    if (rc == 0)
        rc = tly_segments_reload(s);
    if (rc == 0) {
        sqlite3_stmt *st = s->st[S_ANY];
        int step = sqlite3_step(st);
        s->maybe_stored = step != SQLITE_ROW || sqlite3_column_int(st, 0) != 0;
        sqlite3_reset(st);
        rc = convert_legacy(s);
    }
    if (rc != 0) {
        tly_segments_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

void tly_segments_close(struct tly_segments *s)
{
    if (s == NULL)
        return;
    tly_cache_free(&s->cache);
    free(s->opened);
    tly_arena_free(&s->arena);
    free(s->changes);
    unload(s);
    free(s->touched);
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(s->st[i]);
    tly_buf_free(&s->buf);
    free(s);
}

int tly_segments_windows(const struct tly_segments *s)
{
    return s->windows;
}

void tly_segments_stats(const struct tly_segments *s, struct tly_segments_stats *out)
{
    *out = (struct tly_segments_stats){
        .segments = atomic_load(&s->g_segments),
        .judged = atomic_load(&s->n_judged),
        .entered = atomic_load(&s->n_entered),
        .exited = atomic_load(&s->n_exited),
        .cache_entries = atomic_load(&s->g_entries),
        .cache_bytes = atomic_load(&s->g_bytes),
        .decoded_bytes = atomic_load(&s->g_decoded),
    };
}

int tly_segments_metrics(const struct tly_segments *s, struct tly_buf *b)
{
    struct tly_segments_stats st;
    tly_segments_stats(s, &st);
    const struct tly_metric_scalar m[] = {
        {"tally_segments", "gauge", "Event segments the pipeline keeps current.",
         (double)st.segments},
        {"tally_segments_judged_total", "counter", "(segment, user) judgements committed.",
         (double)st.judged},
        {"tally_segments_entered_total", "counter", "Entries into event segments.",
         (double)st.entered},
        {"tally_segments_exited_total", "counter", "Exits from event segments.", (double)st.exited},
        {"tally_segments_cache_entries", "gauge", "Users whose segment state is in memory.",
         (double)st.cache_entries},
        {"tally_segments_cache_bytes", "gauge", "Memory held by the segment state cache.",
         (double)st.cache_bytes},
        {"tally_segments_decoded_bytes", "gauge",
         "Memory for decoded segment state at the end of the last batch (its own, "
         "and what is kept for the next).",
         (double)st.decoded_bytes},
    };
    return tly_metrics_scalars(b, m, sizeof m / sizeof m[0]);
}
