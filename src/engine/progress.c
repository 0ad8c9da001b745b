/*
 * Per-user campaign progress: windows, values, and their encoding (see
 * progress.h).
 */
#include "engine/progress.h"
#include "core/varint.h"

#include <stdlib.h>
#include <string.h>

#define PROGRESS_VERSION 1

void tly_progress_init(struct tly_progress *p, int nact)
{
    memset(p, 0, sizeof *p);
    p->nact = nact;
}

static void window_free(struct tly_window_state *w, int nact)
{
    if (w->act == NULL)
        return;
    for (int a = 0; a < nact; a++)
        free(w->act[a].set);
    free(w->act);
    w->act = NULL;
}

void tly_progress_free(struct tly_progress *p)
{
    if (p == NULL)
        return;
    for (uint32_t i = 0; i < p->nwin; i++)
        window_free(&p->win[i], p->nact);
    free(p->win);
    p->win = NULL;
    p->nwin = p->cwin = 0;
}

/* Index of the first window whose period is >= `period`. */
static uint32_t lower_bound(const struct tly_progress *p, int64_t period)
{
    uint32_t lo = 0, hi = p->nwin;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (p->win[mid].period < period)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const struct tly_window_state *tly_progress_find(const struct tly_progress *p, int64_t period)
{
    uint32_t i = lower_bound(p, period);
    return i < p->nwin && p->win[i].period == period ? &p->win[i] : NULL;
}

struct tly_window_state *tly_progress_window(struct tly_progress *p, int64_t period, int create)
{
    uint32_t i = lower_bound(p, period);
    if (i < p->nwin && p->win[i].period == period)
        return &p->win[i];
    if (!create)
        return NULL;
    if (p->nwin == p->cwin) {
        uint32_t cap = p->cwin ? p->cwin * 2 : 1;
        struct tly_window_state *w = realloc(p->win, cap * sizeof *w);
        if (w == NULL)
            return NULL;
        p->win = w;
        p->cwin = cap;
    }
    struct tly_act_value *act = calloc((size_t)(p->nact > 0 ? p->nact : 1), sizeof *act);
    if (act == NULL)
        return NULL;
    memmove(&p->win[i + 1], &p->win[i], (p->nwin - i) * sizeof *p->win);
    p->nwin++;
    p->win[i] = (struct tly_window_state){.period = period, .completed = 0, .act = act};
    return &p->win[i];
}

void tly_progress_reset_values(struct tly_progress *p)
{
    for (uint32_t i = 0; i < p->nwin; i++) {
        for (int a = 0; a < p->nact; a++) {
            p->win[i].act[a].num = 0;
            p->win[i].act[a].nset = 0;
        }
    }
}

int tly_act_set_add(struct tly_act_value *v, int64_t key)
{
    uint32_t lo = 0, hi = v->nset;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (v->set[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < v->nset && v->set[lo] == key)
        return 0;
    if (v->nset == v->cset) {
        uint32_t cap = v->cset ? v->cset * 2 : 4;
        int64_t *s = realloc(v->set, cap * sizeof *s);
        if (s == NULL)
            return TLY_ENOMEM;
        v->set = s;
        v->cset = cap;
    }
    memmove(&v->set[lo + 1], &v->set[lo], (v->nset - lo) * sizeof *v->set);
    v->set[lo] = key;
    v->nset++;
    return 0;
}

static uint32_t longest_run(const struct tly_act_value *v)
{
    uint32_t best = 0, run = 0;
    for (uint32_t i = 0; i < v->nset; i++) {
        run = i > 0 && v->set[i - 1] + 1 == v->set[i] ? run + 1 : 1;
        if (run > best)
            best = run;
    }
    return best;
}

double tly_act_value_of(const struct tly_act_value *v, enum tly_measure m)
{
    switch (m) {
    case TLY_MEASURE_DISTINCT:
        return (double)v->nset;
    case TLY_MEASURE_STREAK:
        return (double)longest_run(v);
    default:
        return v->num;
    }
}

int64_t tly_progress_window_at(const struct tly_campaign *c, int64_t at, int64_t *start,
                               int64_t *end)
{
    if (c->window == TLY_WINDOW_CAMPAIGN) {
        *start = c->starts_at;
        *end = c->ends_at;
        return 0;
    }
    enum tly_period kind = (enum tly_period)c->window;
    int64_t n = tly_tz_period_of(c->tz, kind, at);
    *start = tly_tz_period_start(c->tz, kind, n);
    *end = tly_tz_period_start(c->tz, kind, n + 1);
    return n;
}

double tly_progress_value(const struct tly_campaign *c, const struct tly_progress *p,
                          int64_t period, int a)
{
    const struct tly_window_state *w = tly_progress_find(p, period);
    return w != NULL && a < p->nact ? tly_act_value_of(&w->act[a], c->act[a].measure) : 0;
}

/* ---- encoding ---- */

int tly_progress_encode(const struct tly_progress *p, struct tly_buf *b)
{
    uint8_t head[2] = {PROGRESS_VERSION, 0};
    int rc = tly_buf_append(b, head, 1);
    rc |= tly_varint_put(b, p->completions);
    head[1] = p->seen ? 1 : 0;
    rc |= tly_buf_append(b, &head[1], 1);
    rc |= tly_varint_put(b, (uint64_t)p->nact);
    rc |= tly_varint_put(b, p->nwin);
    for (uint32_t i = 0; i < p->nwin && rc == 0; i++) {
        const struct tly_window_state *w = &p->win[i];
        uint8_t done = w->completed ? 1 : 0;
        rc |= tly_varint_put(b, tly_zigzag(w->period));
        rc |= tly_buf_append(b, &done, 1);
        for (int a = 0; a < p->nact && rc == 0; a++) {
            const struct tly_act_value *v = &w->act[a];
            rc |= tly_buf_append(b, &v->num, sizeof v->num); /* IEEE-754, host order (LE) */
            rc |= tly_varint_put(b, v->nset);
            for (uint32_t k = 0; k < v->nset; k++)
                rc |= k == 0 ? tly_varint_put(b, tly_zigzag(v->set[0]))
                             : tly_varint_put(b, (uint64_t)v->set[k] - (uint64_t)v->set[k - 1]);
        }
    }
    return rc ? TLY_ENOMEM : 0;
}

static int decode_set(struct tly_reader *r, struct tly_act_value *v)
{
    uint64_t n = tly_reader_varint(r);
    if (r->bad || n > (uint64_t)(r->end - r->p))
        return r->bad = 1, TLY_ECORRUPT; /* each element takes a byte at least */
    if (n == 0)
        return 0;
    int64_t *s = malloc(n * sizeof *s);
    if (s == NULL)
        return TLY_ENOMEM;
    s[0] = tly_unzigzag(tly_reader_varint(r));
    for (uint64_t k = 1; k < n; k++) {
        uint64_t gap = tly_reader_varint(r);
        /* Sets are strictly increasing: no repeats, no step past INT64_MAX. */
        if (gap == 0 || gap > (uint64_t)INT64_MAX - (uint64_t)s[k - 1])
            r->bad = 1;
        s[k] = (int64_t)((uint64_t)s[k - 1] + gap);
    }
    if (v != NULL) {
        v->set = s;
        v->nset = v->cset = (uint32_t)n;
    } else {
        free(s);
    }
    return r->bad ? TLY_ECORRUPT : 0;
}

int tly_progress_decode(const void *data, size_t len, int nact, struct tly_progress *p)
{
    tly_progress_init(p, nact);
    if (len == 0)
        return 0; /* no state yet */
    struct tly_reader r;
    tly_reader_init(&r, data, len);
    int rc = 0;
    if (tly_reader_byte(&r) != PROGRESS_VERSION)
        return TLY_ECORRUPT;
    uint64_t completions = tly_reader_varint(&r);
    p->completions = (uint32_t)completions;
    p->seen = tly_reader_byte(&r) != 0;
    uint64_t stored = tly_reader_varint(&r);
    uint64_t nwin = tly_reader_varint(&r);
    if (r.bad || completions > UINT32_MAX || stored > TLY_CAMPAIGN_ACTIVITIES ||
        nwin > (uint64_t)(r.end - r.p))
        return TLY_ECORRUPT;
    int64_t last = 0;
    for (uint64_t i = 0; i < nwin && rc == 0 && !r.bad; i++) {
        int64_t period = tly_unzigzag(tly_reader_varint(&r));
        int completed = tly_reader_byte(&r) != 0;
        if (r.bad || (i > 0 && period <= last)) {
            rc = TLY_ECORRUPT;
            break;
        }
        last = period;
        struct tly_window_state *w = tly_progress_window(p, period, 1);
        if (w == NULL) {
            rc = TLY_ENOMEM;
            break;
        }
        w->completed = completed;
        for (uint64_t a = 0; a < stored && rc == 0; a++) {
            struct tly_act_value *v = (int)a < nact ? &w->act[a] : NULL;
            double num = tly_reader_f64(&r);
            if (v != NULL)
                v->num = num;
            rc = decode_set(&r, v);
        }
    }
    if (rc == 0 && (r.bad || r.p != r.end))
        rc = TLY_ECORRUPT;
    if (rc != 0) {
        tly_progress_free(p);
        tly_progress_init(p, nact);
    }
    return rc;
}

size_t tly_progress_bytes(const struct tly_progress *p)
{
    size_t n = p->cwin * sizeof *p->win;
    for (uint32_t i = 0; i < p->nwin; i++) {
        n += (size_t)p->nact * sizeof *p->win[i].act;
        for (int a = 0; a < p->nact; a++)
            n += p->win[i].act[a].cset * sizeof(int64_t);
    }
    return n;
}
