/*
 * The segment evaluator (see segment_eval.h).
 *
 * Loaded event segments are kept sorted by (tenant, id); behaviour
 * conditions are indexed in `refs`, sorted by (tenant, event name), so an
 * event finds the conditions naming it by binary search and touches no
 * other segment. Statements are prepared once on the pipeline connection.
 *
 * Membership of event segments is cached: (segment, user) → entered_at or
 * "not a member", and the recheck_at last written for the pair, so judging
 * a user again asks the store only for the counted events. The cache is
 * written through (every change goes to the store in the open transaction
 * as before), so it always equals the store as this connection sees it,
 * except after a ROLLBACK: a rollback hook on the connection marks it stale
 * and it is emptied before its next use. It is emptied too on reload
 * (definitions or members may have changed elsewhere) and when it holds
 * MEM_MAX pairs. Static segments are not cached.
 */
#include "engine/segment_eval.h"
#include "core/timeparse.h"
#include "engine/segment.h"
#include "store/segments.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
    S_INSERT_EVENT,
    S_MEASURE,
    S_COUNT_EVENTS,
    S_MEMBER,
    S_ENTER,
    S_EXIT,
    S_CHANGES,
    S_RECHECK,
    S_OUTBOX,
    S_ATTRS,
    S_DUE,
    S_COUNT
};

static const char *const sql[S_COUNT] = {
    [S_INSERT_EVENT] = "INSERT INTO segment_events (tenant_id, segment_id, cond, user_id, ts, "
                       "value) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [S_MEASURE] = "SELECT count(*), total(value), min(ts) FROM segment_events WHERE tenant_id = "
                  "?1 AND segment_id = ?2 AND user_id = ?3 AND cond = ?4 AND ts >= ?5",
    [S_COUNT_EVENTS] = "SELECT count(*), 0, min(ts) FROM segment_events WHERE tenant_id = ?1 AND "
                       "segment_id = ?2 AND user_id = ?3 AND cond = ?4 AND ts >= ?5",
    [S_MEMBER] = "SELECT entered_at FROM segment_members WHERE tenant_id = ?1 AND segment_id = "
                 "?2 AND user_id = ?3",
    [S_ENTER] = "INSERT OR IGNORE INTO segment_members (tenant_id, segment_id, user_id, "
                "entered_at) VALUES (?1, ?2, ?3, ?4)",
    [S_EXIT] = "DELETE FROM segment_members WHERE tenant_id = ?1 AND segment_id = ?2 AND "
               "user_id = ?3",
    [S_CHANGES] = "INSERT INTO segment_state (tenant_id, segment_id, user_id, changes) VALUES "
                  "(?1, ?2, ?3, 1) ON CONFLICT DO UPDATE SET changes = changes + 1 "
                  "RETURNING changes",
    [S_RECHECK] = "INSERT INTO segment_state (tenant_id, segment_id, user_id, recheck_at) "
                  "VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO UPDATE SET recheck_at = ?4",
    [S_OUTBOX] = "INSERT OR IGNORE INTO outbox (tenant_id, kind, dedupe_key, payload, "
                 "created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_ATTRS] = "SELECT attributes FROM users WHERE tenant_id = ?1 AND user_id = ?2",
    [S_DUE] = "SELECT tenant_id, segment_id, user_id FROM segment_state WHERE recheck_at <= ?1 "
              "ORDER BY recheck_at LIMIT ?2",
};

struct seg {
    uint32_t tenant;
    char *id;
    int64_t uid;
    char *text;
    struct tly_segment *def;
    int has_attr;
};

struct ref {
    uint32_t tenant;
    const char *event; /* borrowed from the condition */
    struct seg *seg;
    int cond;
};

#define MEM_MAX         (1u << 20) /* cached (segment, user) pairs */
#define MEM_MIN_SLOTS   1024
#define RECHECK_UNKNOWN INT64_MIN /* not yet written by this connection */
#define RECHECK_NONE    INT64_MAX /* recheck_at NULL */

/* A cached pair (owned by the cache; `g` borrowed from the loaded segments,
 * which outlive it: reloading empties the cache). */
struct mem {
    const struct seg *g;
    uint64_t hash;
    int member;
    int64_t entered_at; /* when a member */
    int64_t recheck;    /* RECHECK_UNKNOWN, RECHECK_NONE or the time */
    char user[];
};

struct mem_cache {
    struct mem **slots; /* open addressing, linear probing, no removal */
    size_t mask, count;
    int stale; /* set by the rollback hook */
};

struct tly_segments {
    sqlite3 *db;
    const struct tly_logger *lg;
    sqlite3_stmt *st[S_COUNT];
    struct seg **segs;
    size_t nsegs;
    struct ref *refs;
    size_t nrefs;
    int windows;
    struct seg **touched; /* of the event being applied */
    size_t ntouched, ctouched;
    struct tly_buf buf;
    struct mem_cache mem;
    struct tly_segments_stats stats;
};

static void mem_empty(struct mem_cache *c)
{
    if (c->slots != NULL)
        for (size_t i = 0; i <= c->mask; i++) {
            free(c->slots[i]);
            c->slots[i] = NULL;
        }
    c->count = 0;
    c->stale = 0;
}

static void mem_free(struct mem_cache *c)
{
    mem_empty(c);
    free(c->slots);
    c->slots = NULL;
    c->mask = 0;
}

static uint64_t mem_hash(const struct seg *g, const char *user)
{
    uint64_t h = 0xcbf29ce484222325ull ^ ((uint64_t)g->uid * 0x9e3779b97f4a7c15ull);
    for (const unsigned char *p = (const unsigned char *)user; *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

static int mem_grow(struct mem_cache *c)
{
    size_t n = c->slots == NULL ? MEM_MIN_SLOTS : (c->mask + 1) * 2;
    struct mem **slots = calloc(n, sizeof *slots);
    if (slots == NULL)
        return TLY_ENOMEM;
    if (c->slots != NULL)
        for (size_t i = 0; i <= c->mask; i++) {
            struct mem *m = c->slots[i];
            if (m == NULL)
                continue;
            size_t j = m->hash & (n - 1);
            while (slots[j] != NULL)
                j = (j + 1) & (n - 1);
            slots[j] = m;
        }
    free(c->slots);
    c->slots = slots;
    c->mask = n - 1;
    return 0;
}

static void on_rollback(void *arg)
{
    ((struct mem_cache *)arg)->stale = 1;
}

/* Is `user` a member of event segment `g`? 1 or 0 with *out the cached
 * pair (valid until the next call), loaded from the store on a miss; or
 * a store error. */
static int mem_get(struct tly_segments *s, const struct seg *g, const char *user, struct mem **out)
{
    struct mem_cache *c = &s->mem;
    if (c->stale || c->count >= MEM_MAX)
        mem_empty(c);
    if ((c->count + 1) * 2 > (c->slots == NULL ? 0 : c->mask + 1)) {
        int rc = mem_grow(c);
        if (rc != 0)
            return rc;
    }
    uint64_t h = mem_hash(g, user);
    size_t i = h & c->mask;
    for (struct mem *m; (m = c->slots[i]) != NULL; i = (i + 1) & c->mask)
        if (m->hash == h && m->g == g && strcmp(m->user, user) == 0) {
            *out = m;
            return m->member;
        }
    sqlite3_stmt *st = s->st[S_MEMBER];
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, g->tenant);
    sqlite3_bind_text(st, 2, g->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, user, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    int64_t entered_at = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return TLY_EIO;
    size_t len = strlen(user);
    struct mem *m = malloc(sizeof *m + len + 1);
    if (m == NULL)
        return TLY_ENOMEM;
    m->g = g;
    m->hash = h;
    m->member = step == SQLITE_ROW;
    m->entered_at = entered_at;
    m->recheck = RECHECK_UNKNOWN;
    memcpy(m->user, user, len + 1);
    c->slots[i] = m;
    c->count++;
    *out = m;
    return m->member;
}

static void seg_free(struct seg *g)
{
    if (g == NULL)
        return;
    free(g->id);
    free(g->text);
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
    struct seg *g = calloc(1, sizeof *g);
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct seg **p = realloc(l->segs, cap * sizeof *p);
        if (p == NULL) {
            free(g);
            tly_segment_free(def);
            return TLY_ENOMEM;
        }
        l->segs = p;
        l->cap = cap;
    }
    if (g == NULL || (g->id = strdup(row->id)) == NULL) {
        free(g);
        tly_segment_free(def);
        return TLY_ENOMEM;
    }
    g->tenant = row->tenant;
    g->uid = row->uid;
    g->def = def;
    for (int i = 0; i < def->ncond; i++)
        g->has_attr |= def->cond[i].kind == TLY_SEGCOND_ATTRIBUTE;
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
    mem_empty(&s->mem); /* it points at the segments unloaded now */
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
    s->stats.segments = s->nsegs;
    return 0;
}

int tly_segments_open(struct tly_segments **out, sqlite3 *db, const struct tly_logger *lg)
{
    struct tly_segments *s = calloc(1, sizeof *s);
    if (s == NULL)
        return TLY_ENOMEM;
    s->db = db;
    s->lg = lg;
    tly_buf_init(&s->buf, 0);
    int rc = 0;
    for (int i = 0; i < S_COUNT && rc == 0; i++)
        if (sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) !=
            SQLITE_OK)
            rc = TLY_EIO;
    if (rc == 0)
        rc = tly_segments_reload(s);
    if (rc != 0) {
        tly_segments_close(s);
        return rc;
    }
    sqlite3_rollback_hook(db, on_rollback, &s->mem);
    *out = s;
    return 0;
}

void tly_segments_close(struct tly_segments *s)
{
    if (s == NULL)
        return;
    sqlite3_rollback_hook(s->db, NULL, NULL);
    mem_free(&s->mem);
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
    *out = s->stats;
}

/* The statement `i`, reset, with ?1 tenant, ?2 segment id, ?3 user. */
static sqlite3_stmt *stmt(struct tly_segments *s, int i, uint32_t tenant, const char *seg,
                          const char *user)
{
    sqlite3_stmt *st = s->st[i];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sqlite3_bind_int64(st, 1, tenant);
    if (seg != NULL)
        sqlite3_bind_text(st, 2, seg, -1, SQLITE_STATIC);
    if (user != NULL)
        sqlite3_bind_text(st, 3, user, -1, SQLITE_STATIC);
    return st;
}

static int done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : TLY_EIO;
    sqlite3_reset(st);
    return rc;
}

static struct seg *find(struct tly_segments *s, uint32_t tenant, const char *id)
{
    for (size_t i = 0; i < s->nsegs; i++) /* few segments per tenant */
        if (s->segs[i]->tenant == tenant && strcmp(s->segs[i]->id, id) == 0)
            return s->segs[i];
    return NULL;
}

int tly_segments_member(struct tly_segments *s, uint32_t tenant, const char *id, const char *user,
                        int64_t *entered_at)
{
    const struct seg *g = find(s, tenant, id);
    if (g != NULL) { /* an event segment: cached */
        struct mem *m;
        int rc = mem_get(s, g, user, &m);
        if (rc == 1 && entered_at != NULL)
            *entered_at = m->entered_at;
        return rc;
    }
    sqlite3_stmt *st = stmt(s, S_MEMBER, tenant, id, user);
    int step = sqlite3_step(st);
    int rc = step == SQLITE_ROW ? 1 : step == SQLITE_DONE ? 0 : TLY_EIO;
    if (rc == 1 && entered_at != NULL)
        *entered_at = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc;
}

/* The user's attributes (a parsed object, owned by the caller), or NULL
 * with *rc 0 for a user without any, or a store error in *rc. */
static cJSON *attributes(struct tly_segments *s, uint32_t tenant, const char *user, int *rc)
{
    sqlite3_stmt *st = stmt(s, S_ATTRS, tenant, user, NULL);
    int step = sqlite3_step(st);
    cJSON *a = NULL;
    *rc = 0;
    if (step == SQLITE_ROW)
        a = cJSON_ParseWithLength((const char *)sqlite3_column_text(st, 0),
                                  (size_t)sqlite3_column_bytes(st, 0));
    else if (step != SQLITE_DONE)
        *rc = TLY_EIO;
    sqlite3_reset(st);
    return a;
}

static int record_change(struct tly_segments *s, const struct seg *g, struct mem *m, int entered,
                         int64_t at)
{
    const char *user = m->user;
    sqlite3_stmt *st = stmt(s, entered ? S_ENTER : S_EXIT, g->tenant, g->id, user);
    if (entered)
        sqlite3_bind_int64(st, 4, at);
    if (done(st) != 0)
        return TLY_EIO;
    m->member = entered;
    m->entered_at = entered ? at : 0;
    st = stmt(s, S_CHANGES, g->tenant, g->id, user);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_reset(st);
        return TLY_EIO;
    }
    int64_t n = sqlite3_column_int64(st, 0);
    if (sqlite3_step(st) != SQLITE_DONE) {
        sqlite3_reset(st);
        return TLY_EIO;
    }
    sqlite3_reset(st);
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
    st = stmt(s, S_OUTBOX, g->tenant, NULL, NULL);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, b->data + plen + 1, (int)(b->len - plen - 1), SQLITE_STATIC);
    sqlite3_bind_text(st, 4, b->data, (int)plen, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, at);
    if (done(st) != 0)
        return TLY_EIO;
    if (entered)
        s->stats.entered++;
    else
        s->stats.exited++;
    return 0;
}

/* Judges segment `g` for `user`; `attrs` is the user's attributes (may be
 * NULL); `at` the entry time to record. */
static int judge(struct tly_segments *s, const struct seg *g, const char *user, const cJSON *attrs,
                 int64_t now, int64_t at)
{
    const struct tly_segment *d = g->def;
    int met = 0, all = 1;
    int64_t recheck = INT64_MAX;
    for (int i = 0; i < d->ncond; i++) {
        const struct tly_segcond *c = &d->cond[i];
        int holds;
        if (c->kind == TLY_SEGCOND_ATTRIBUTE) {
            holds = attrs != NULL && tly_where_holds(&c->attr, attrs);
            if (attrs == NULL) /* no attributes: the rules of a missing value */
                holds = tly_where_test(&c->attr, NULL);
        } else {
            /* A count is answered by the index alone. */
            sqlite3_stmt *st = stmt(s, c->measure == TLY_MEASURE_COUNT ? S_COUNT_EVENTS : S_MEASURE,
                                    g->tenant, g->id, user);
            sqlite3_bind_int(st, 4, i);
            sqlite3_bind_int64(st, 5, c->within_ms > 0 ? now - c->within_ms + 1 : INT64_MIN);
            if (sqlite3_step(st) != SQLITE_ROW) {
                sqlite3_reset(st);
                return TLY_EIO;
            }
            double x = c->measure == TLY_MEASURE_COUNT ? (double)sqlite3_column_int64(st, 0)
                                                       : sqlite3_column_double(st, 1);
            if (c->within_ms > 0 && sqlite3_column_type(st, 2) != SQLITE_NULL) {
                int64_t leaves = sqlite3_column_int64(st, 2) + c->within_ms;
                if (leaves < recheck)
                    recheck = leaves;
            }
            sqlite3_reset(st);
            holds = tly_segcond_compare(c, x);
        }
        met += holds;
        all &= holds;
    }
    s->stats.judged++;
    int in = d->match_any ? met > 0 : all;
    struct mem *m;
    int was = mem_get(s, g, user, &m);
    if (was < 0)
        return was;
    if (in != was) {
        int rc = record_change(s, g, m, in, at);
        if (rc != 0)
            return rc;
    }
    int has_window = 0;
    for (int i = 0; i < d->ncond; i++)
        has_window |= d->cond[i].within_ms > 0;
    if (!has_window)
        return 0;
    if (m->recheck == recheck) /* RECHECK_NONE is INT64_MAX */
        return 0;              /* the store holds it already */
    sqlite3_stmt *st = stmt(s, S_RECHECK, g->tenant, g->id, user);
    if (recheck == INT64_MAX)
        sqlite3_bind_null(st, 4);
    else
        sqlite3_bind_int64(st, 4, recheck);
    int rc = done(st);
    if (rc == 0)
        m->recheck = recheck;
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

int tly_segments_event(struct tly_segments *s, const struct tly_event *ev, int64_t now)
{
    if (s->nsegs == 0 || ev->user_id == NULL)
        return 0;
    s->ntouched = 0;
    int rc = 0;
    if (ev->kind == TLY_EVENT_TRACK && ev->event_name != NULL && s->nrefs > 0) {
        struct ref key = {.tenant = ev->tenant, .event = ev->event_name};
        size_t lo = 0, hi = s->nrefs;
        while (lo < hi) { /* the first ref ≥ key */
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
            sqlite3_stmt *st = stmt(s, S_INSERT_EVENT, ev->tenant, r->seg->id, NULL);
            sqlite3_bind_int(st, 3, r->cond);
            sqlite3_bind_text(st, 4, ev->user_id, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 5, ev->timestamp);
            sqlite3_bind_double(st, 6, v);
            if ((rc = done(st)) != 0)
                return rc;
            touch(s, r->seg);
        }
    }
    int profile = ev->kind == TLY_EVENT_PROFILE || ev->kind == TLY_EVENT_ALIAS ||
                  (ev->kind == TLY_EVENT_TRACK && ev->traits != NULL);
    if (profile)
        for (size_t i = 0; i < s->nsegs; i++)
            if (s->segs[i]->tenant == ev->tenant && s->segs[i]->has_attr)
                touch(s, s->segs[i]);
    if (s->ntouched == 0)
        return 0;
    cJSON *attrs = NULL;
    for (size_t i = 0; i < s->ntouched && rc == 0; i++)
        if (s->touched[i]->has_attr && attrs == NULL &&
            (attrs = attributes(s, ev->tenant, ev->user_id, &rc)) == NULL && rc != 0)
            break;
    for (size_t i = 0; i < s->ntouched && rc == 0; i++)
        rc = judge(s, s->touched[i], ev->user_id, attrs, now, ev->received_at);
    cJSON_Delete(attrs);
    return rc;
}

struct due {
    uint32_t tenant;
    char *seg, *user;
};

int tly_segments_sweep(struct tly_segments *s, int64_t now, int max)
{
    sqlite3_stmt *st = s->st[S_DUE];
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, now);
    sqlite3_bind_int(st, 2, max);
    struct due *d = calloc((size_t)max, sizeof *d);
    if (d == NULL)
        return TLY_ENOMEM;
    int n = 0, rc = 0, step;
    while (n < max && (step = sqlite3_step(st)) == SQLITE_ROW) {
        d[n].tenant = (uint32_t)sqlite3_column_int64(st, 0);
        d[n].seg = strdup((const char *)sqlite3_column_text(st, 1));
        d[n].user = strdup((const char *)sqlite3_column_text(st, 2));
        if (d[n++].user == NULL || d[n - 1].seg == NULL)
            rc = TLY_ENOMEM;
    }
    if (rc == 0 && n < max && step != SQLITE_DONE)
        rc = TLY_EIO;
    sqlite3_reset(st);
    int64_t wall = tly_now_ms();
    for (int i = 0; i < n && rc == 0; i++) {
        struct seg *g = find(s, d[i].tenant, d[i].seg);
        if (g == NULL) { /* gone: forget the recheck */
            sqlite3_stmt *r = stmt(s, S_RECHECK, d[i].tenant, d[i].seg, d[i].user);
            sqlite3_bind_null(r, 4);
            rc = done(r);
            continue;
        }
        cJSON *attrs = g->has_attr ? attributes(s, g->tenant, d[i].user, &rc) : NULL;
        if (rc == 0)
            rc = judge(s, g, d[i].user, attrs, now, wall);
        cJSON_Delete(attrs);
    }
    for (int i = 0; i < n; i++) {
        free(d[i].seg);
        free(d[i].user);
    }
    free(d);
    return rc != 0 ? rc : n;
}
