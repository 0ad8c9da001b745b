/*
 * Fuzzes the progress decoder: tly_progress_decode (src/engine/progress.h)
 * on the input bytes after the first, which picks the number of activities
 * the campaign has now (0 to 32). The bytes are what campaign_progress.state
 * holds; a damaged row must be refused, never crash or leak.
 *
 * Invariants checked (abort() if broken), beyond "no crash, no leak":
 *   - a refusal is TLY_ECORRUPT (or TLY_ENOMEM) and leaves an empty
 *     progress;
 *   - what decodes encodes to bytes that decode to a progress encoding to
 *     the very same bytes (a fixed point after one round), with windows
 *     in increasing period order and sets strictly increasing;
 *   - every value can be computed for every measure.
 */
#include "engine/progress.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static void check_shape(const struct tly_progress *p)
{
    for (uint32_t i = 0; i < p->nwin; i++) {
        CHECK(i == 0 || p->win[i - 1].period < p->win[i].period);
        for (int a = 0; a < p->nact; a++) {
            const struct tly_act_value *v = &p->win[i].act[a];
            for (uint32_t k = 1; k < v->nset; k++)
                CHECK(v->set[k - 1] < v->set[k]);
            for (int m = TLY_MEASURE_COUNT; m <= TLY_MEASURE_STREAK; m++)
                (void)tly_act_value_of(v, (enum tly_measure)m);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int nact = data[0] % (TLY_CAMPAIGN_ACTIVITIES + 1);
    struct tly_progress p;
    int rc = tly_progress_decode(data + 1, size - 1, nact, &p);
    if (rc != 0) {
        CHECK(rc == TLY_ECORRUPT || rc == TLY_ENOMEM);
        CHECK(p.nwin == 0 && p.win == NULL);
        return 0;
    }
    check_shape(&p);
    struct tly_buf a, b;
    tly_buf_init(&a, 0);
    tly_buf_init(&b, 0);
    CHECK(tly_progress_encode(&p, &a) == 0);
    struct tly_progress q;
    CHECK(tly_progress_decode(a.data, a.len, nact, &q) == 0);
    check_shape(&q);
    CHECK(tly_progress_encode(&q, &b) == 0);
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    CHECK(q.completions == p.completions && q.seen == p.seen && q.nwin == p.nwin);
    tly_progress_free(&p);
    tly_progress_free(&q);
    tly_buf_free(&a);
    tly_buf_free(&b);
    return 0;
}
