/*
 * Prometheus text-format building blocks: counters and histograms that may
 * be updated from any thread (relaxed atomics) and rendered from another.
 *
 * Each module owns its metrics and renders them through these helpers;
 * GET /metrics concatenates the modules' output.
 */
#ifndef TLY_CORE_METRICS_H
#define TLY_CORE_METRICS_H

#include "core/buf.h"

#include <stdatomic.h>
#include <stdint.h>

#define TLY_HIST_MAX_BUCKETS 16

struct tly_histogram {
    const double *bounds; /* borrowed, ascending upper bounds; +Inf is implicit */
    int nbounds;
    _Atomic uint64_t buckets[TLY_HIST_MAX_BUCKETS + 1]; /* not cumulative */
    _Atomic uint64_t count;
    _Atomic uint64_t sum_micro; /* sum of observed values × 1e6 */
};

void tly_histogram_init(struct tly_histogram *h, const double *bounds, int nbounds);
void tly_histogram_observe(struct tly_histogram *h, double v);

/* Appends `# HELP`, `# TYPE` and the sample lines. `labels` is "" or
 * `key="value"` pairs joined by commas. */
int tly_metrics_histogram(struct tly_buf *b, const char *name, const char *help,
                          const struct tly_histogram *h);
int tly_metrics_header(struct tly_buf *b, const char *name, const char *type, const char *help);
int tly_metrics_sample(struct tly_buf *b, const char *name, const char *labels, double v);

/* One unlabelled counter or gauge: its name, type, help and value. */
struct tly_metric_scalar {
    const char *name, *type, *help;
    double v;
};
/* Appends each of m[0..n) with its header. 0 or TLY_ENOMEM. */
int tly_metrics_scalars(struct tly_buf *b, const struct tly_metric_scalar *m, size_t n);

static inline void tly_counter_add(_Atomic uint64_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline uint64_t tly_counter_get(_Atomic uint64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

#endif
