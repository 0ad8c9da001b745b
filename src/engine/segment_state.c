/*
 * Per-user segment state and its encoding (see segment_state.h).
 */
#include "engine/segment_state.h"
#include "core/err.h"
#include "core/varint.h"
#include "engine/segment.h"

#include <stdlib.h>
#include <string.h>

#define STATE_VERSION 1
/* Event times beyond year 9999 (either way) are refused: no time tally
 * accepts is near them, and window arithmetic stays far from overflow. */
#define TS_LIMIT 253402300800000LL

enum { TAG_NONE, TAG_COUNT, TAG_COUNT_SUM, TAG_TIMES, TAG_TIMES_VALUES };

/* Memory from `a`, or the heap when NULL. */
static void *mem_alloc(struct tly_arena *a, size_t n)
{
    return a != NULL ? tly_arena_alloc(a, n) : malloc(n);
}

static void *mem_grow(struct tly_arena *a, void *p, size_t old, size_t n)
{
    return a != NULL ? tly_arena_grow(a, p, old, n) : realloc(p, n);
}

static void mem_free(struct tly_arena *a, void *p)
{
    if (a == NULL)
        free(p);
}

static void count_free(struct tly_arena *a, struct tly_segcount *c)
{
    mem_free(a, c->ev);
    memset(c, 0, sizeof *c);
}

static void state_free(struct tly_arena *a, struct tly_segstate *st)
{
    for (uint32_t i = 0; i < st->ncond; i++)
        count_free(a, &st->cond[i]);
    if (st->cond != st->inl)
        mem_free(a, st->cond);
    st->cond = NULL;
    st->ncond = 0;
}

/* Points the states' `cond` at their own `inl` again (after they moved). */
static void fix_inline(struct tly_segstate *seg, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (seg[i].ncond > 0 && seg[i].ncond <= TLY_SEGSTATE_INLINE)
            seg[i].cond = seg[i].inl;
}

void tly_userseg_free(struct tly_userseg *u)
{
    struct tly_arena *a = u->arena;
    if (a == NULL)
        for (uint32_t i = 0; i < u->n; i++)
            state_free(NULL, &u->seg[i]);
    mem_free(a, u->seg);
    memset(u, 0, sizeof *u);
    u->arena = a;
}

struct tly_segstate *tly_userseg_get(struct tly_userseg *u, int64_t uid, int create)
{
    uint32_t lo = 0, hi = u->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (u->seg[mid].uid < uid)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < u->n && u->seg[lo].uid == uid)
        return &u->seg[lo];
    if (!create)
        return NULL;
    if (u->n == u->cap) {
        uint32_t cap = u->cap ? u->cap * 2 : 4;
        struct tly_segstate *p = mem_grow(u->arena, u->seg, u->cap * sizeof *p, cap * sizeof *p);
        if (p == NULL)
            return NULL;
        u->seg = p;
        u->cap = cap;
    }
    memmove(&u->seg[lo + 1], &u->seg[lo], (u->n - lo) * sizeof *u->seg);
    u->n++;
    memset(&u->seg[lo], 0, sizeof u->seg[lo]);
    u->seg[lo].uid = uid;
    fix_inline(u->seg, u->n); /* they moved */
    return &u->seg[lo];
}

int tly_segstate_resize(struct tly_arena *a, struct tly_segstate *st, uint32_t ncond)
{
    if (ncond == st->ncond)
        return 0;
    for (uint32_t i = ncond; i < st->ncond; i++)
        count_free(a, &st->cond[i]);
    uint32_t keep = ncond < st->ncond ? ncond : st->ncond;
    int heap = st->cond != NULL && st->cond != st->inl;
    struct tly_segcount *c;
    if (ncond > TLY_SEGSTATE_INLINE && heap) {
        c = mem_grow(a, st->cond, st->ncond * sizeof *c, ncond * sizeof *c);
        if (c == NULL && ncond > st->ncond)
            return TLY_ENOMEM;
        if (c == NULL) /* could not shrink: keep the larger block */
            c = st->cond;
    } else if (ncond > TLY_SEGSTATE_INLINE) {
        if ((c = mem_alloc(a, ncond * sizeof *c)) == NULL)
            return TLY_ENOMEM;
        memcpy(c, st->inl, keep * sizeof *c);
    } else {
        c = ncond > 0 ? st->inl : NULL;
        if (heap) {
            memcpy(st->inl, st->cond, keep * sizeof *c);
            mem_free(a, st->cond);
        }
    }
    for (uint32_t i = keep; i < ncond; i++)
        memset(&c[i], 0, sizeof c[i]);
    st->cond = c;
    st->ncond = ncond;
    return 0;
}

void tly_segstate_clear_counts(struct tly_arena *a, struct tly_segstate *st)
{
    for (uint32_t i = 0; i < st->ncond; i++)
        count_free(a, &st->cond[i]);
}

int tly_segcount_add(struct tly_arena *a, struct tly_segcount *c, int64_t ts, double v,
                     int windowed)
{
    if (!windowed) {
        c->count++;
        c->sum += v;
        return 0;
    }
    if (c->n == c->cap) {
        uint32_t cap = c->cap ? c->cap * 2 : 2;
        struct tly_segevent *e = mem_grow(a, c->ev, c->cap * sizeof *e, cap * sizeof *e);
        if (e == NULL)
            return TLY_ENOMEM;
        c->ev = e;
        c->cap = cap;
    }
    uint32_t i = c->n; /* events mostly arrive in time order: insert from the end */
    while (i > 0 && c->ev[i - 1].ts > ts) {
        c->ev[i] = c->ev[i - 1];
        i--;
    }
    c->ev[i] = (struct tly_segevent){ts, v};
    c->n++;
    return 0;
}

void tly_segcount_prune(struct tly_segcount *c, int64_t from)
{
    uint32_t k = 0;
    while (k < c->n && c->ev[k].ts < from)
        k++;
    if (k == 0)
        return;
    memmove(c->ev, c->ev + k, (c->n - k) * sizeof *c->ev);
    c->n -= k;
}

void tly_segcount_fold(struct tly_segcount *c)
{
    for (uint32_t k = 0; k < c->n; k++)
        c->sum += c->ev[k].v;
    c->count += c->n;
    c->n = 0;
}

static int empty(const struct tly_segstate *st)
{
    if (st->changes != 0 || st->member)
        return 0;
    for (uint32_t c = 0; c < st->ncond; c++)
        if (st->cond[c].n != 0 || st->cond[c].count != 0 || st->cond[c].sum != 0)
            return 0;
    return 1;
}

/* The most bytes put_count writes for `c`. */
static size_t count_room(const struct tly_segcount *c)
{
    return 1 + TLY_VARINT_MAX + sizeof(double) + c->n * (TLY_VARINT_MAX + sizeof(double));
}

static uint8_t *put_f64(uint8_t *p, double d)
{
    memcpy(p, &d, sizeof d); /* IEEE-754, host order (LE) */
    return p + sizeof d;
}

static uint8_t *put_count(uint8_t *p, const struct tly_segcount *c)
{
    if (c->n > 0) {
        int values = 0;
        for (uint32_t k = 0; k < c->n; k++)
            values |= c->ev[k].v != 0;
        *p++ = values ? TAG_TIMES_VALUES : TAG_TIMES;
        p = tly_varint_write(p, c->n);
        for (uint32_t k = 0; k < c->n; k++) {
            p = tly_varint_write(p, k == 0 ? tly_zigzag(c->ev[0].ts)
                                           : (uint64_t)c->ev[k].ts - (uint64_t)c->ev[k - 1].ts);
            if (values)
                p = put_f64(p, c->ev[k].v);
        }
        return p;
    }
    uint8_t tag = c->sum != 0 ? TAG_COUNT_SUM : c->count != 0 ? TAG_COUNT : TAG_NONE;
    *p++ = tag;
    if (tag != TAG_NONE)
        p = tly_varint_write(p, (uint64_t)c->count);
    if (tag == TAG_COUNT_SUM)
        p = put_f64(p, c->sum);
    return p;
}

int tly_userseg_encode(const struct tly_userseg *u, int (*keep)(int64_t uid, void *arg), void *arg,
                       struct tly_buf *out)
{
    uint32_t n = 0;
    size_t room = 1 + TLY_VARINT_MAX;
    for (uint32_t i = 0; i < u->n; i++) {
        const struct tly_segstate *st = &u->seg[i];
        if (empty(st) || (keep != NULL && !keep(st->uid, arg)))
            continue;
        n++;
        room += 5 * TLY_VARINT_MAX;
        for (uint32_t c = 0; c < st->ncond; c++)
            room += count_room(&st->cond[c]);
    }
    if (tly_buf_reserve(out, room) != 0)
        return TLY_ENOMEM;
    uint8_t *start = (uint8_t *)out->data + out->len, *p = start;
    *p++ = STATE_VERSION;
    p = tly_varint_write(p, n);
    for (uint32_t i = 0; i < u->n; i++) {
        const struct tly_segstate *st = &u->seg[i];
        if (empty(st) || (keep != NULL && !keep(st->uid, arg)))
            continue;
        p = tly_varint_write(p, (uint64_t)st->uid);
        p = tly_varint_write(p, st->gen);
        p = tly_varint_write(p, (uint64_t)st->changes);
        p = tly_varint_write(p, st->member ? tly_zigzag(st->entered_at) + 1 : 0);
        p = tly_varint_write(p, st->ncond);
        for (uint32_t c = 0; c < st->ncond; c++)
            p = put_count(p, &st->cond[c]);
    }
    out->len += (size_t)(p - start);
    return 0;
}

static int get_count(struct tly_reader *r, struct tly_arena *a, struct tly_segcount *c)
{
    uint8_t tag = tly_reader_byte(r);
    switch (tag) {
    case TAG_NONE:
        return 0;
    case TAG_COUNT:
    case TAG_COUNT_SUM:
        c->count = (int64_t)(tly_reader_varint(r) & INT64_MAX);
        if (tag == TAG_COUNT_SUM)
            c->sum = tly_reader_f64(r);
        return 0;
    case TAG_TIMES:
    case TAG_TIMES_VALUES: {
        uint64_t n = tly_reader_varint(r);
        /* Each event takes a byte at least: a length past the end is a lie. */
        if (r->bad || n == 0 || n > (uint64_t)(r->end - r->p))
            return r->bad = 1, TLY_ECORRUPT;
        if ((c->ev = mem_alloc(a, n * sizeof *c->ev)) == NULL)
            return TLY_ENOMEM;
        memset(c->ev, 0, n * sizeof *c->ev);
        c->n = c->cap = (uint32_t)n;
        for (uint64_t k = 0; k < n && !r->bad; k++) {
            uint64_t v = tly_reader_varint(r);
            if (k == 0)
                c->ev[0].ts = tly_unzigzag(v);
            else if (v > INT64_MAX ||
                     __builtin_add_overflow(c->ev[k - 1].ts, (int64_t)v, &c->ev[k].ts))
                r->bad = 1; /* sorted: no step past INT64_MAX */
            if (c->ev[k].ts > TS_LIMIT || c->ev[k].ts < -TS_LIMIT)
                r->bad = 1;
            if (tag == TAG_TIMES_VALUES)
                c->ev[k].v = tly_reader_f64(r);
        }
        return r->bad ? TLY_ECORRUPT : 0;
    }
    default:
        return r->bad = 1, TLY_ECORRUPT;
    }
}

int tly_userseg_decode(const void *data, size_t len, struct tly_arena *arena, struct tly_userseg *u)
{
    memset(u, 0, sizeof *u);
    u->arena = arena;
    struct tly_reader r;
    tly_reader_init(&r, data, len);
    if (tly_reader_byte(&r) != STATE_VERSION)
        return TLY_ECORRUPT;
    uint64_t n = tly_reader_varint(&r);
    /* A state takes 5 bytes at least: a count past that is a lie. */
    int rc = r.bad || n > (uint64_t)(r.end - r.p) / 5 ? TLY_ECORRUPT : 0;
    if (rc == 0 && n > 0) {
        if ((u->seg = mem_alloc(arena, n * sizeof *u->seg)) == NULL)
            return TLY_ENOMEM;
        memset(u->seg, 0, n * sizeof *u->seg);
        u->cap = (uint32_t)n;
    }
    int64_t last = 0;
    for (uint64_t i = 0; i < n && rc == 0; i++) {
        int64_t uid = (int64_t)tly_reader_varint(&r);
        uint64_t gen = tly_reader_varint(&r);
        uint64_t changes = tly_reader_varint(&r);
        uint64_t member = tly_reader_varint(&r);
        uint64_t ncond = tly_reader_varint(&r);
        /* Sorted by uid, no repeats; uids are positive. */
        if (r.bad || uid <= last || gen > UINT32_MAX || changes > INT64_MAX ||
            ncond > TLY_SEGMENT_CONDITIONS) {
            rc = TLY_ECORRUPT;
            break;
        }
        last = uid;
        struct tly_segstate *st = &u->seg[u->n++]; /* sorted: appended */
        st->uid = uid;
        if (tly_segstate_resize(arena, st, (uint32_t)ncond) != 0) {
            rc = TLY_ENOMEM;
            break;
        }
        st->gen = (uint32_t)gen;
        st->changes = (int64_t)changes;
        st->member = member != 0;
        st->entered_at = member != 0 ? tly_unzigzag(member - 1) : 0;
        for (uint32_t c = 0; c < st->ncond && rc == 0; c++)
            rc = get_count(&r, arena, &st->cond[c]);
    }
    if (rc == 0 && (r.bad || r.p != r.end))
        rc = TLY_ECORRUPT;
    if (rc != 0)
        tly_userseg_free(u);
    return rc;
}

size_t tly_userseg_bytes(const struct tly_userseg *u)
{
    if (u->arena != NULL)
        return 0;
    size_t b = u->cap * sizeof *u->seg;
    for (uint32_t i = 0; i < u->n; i++) {
        if (u->seg[i].ncond > TLY_SEGSTATE_INLINE)
            b += u->seg[i].ncond * sizeof *u->seg[i].cond;
        for (uint32_t c = 0; c < u->seg[i].ncond; c++)
            b += u->seg[i].cond[c].cap * sizeof(struct tly_segevent);
    }
    return b;
}
