/*
 * Prometheus text rendering for counters and histograms (see metrics.h).
 */
#include "core/metrics.h"
#include "core/err.h"

void tly_histogram_init(struct tly_histogram *h, const double *bounds, int nbounds)
{
    h->bounds = bounds;
    h->nbounds = nbounds > TLY_HIST_MAX_BUCKETS ? TLY_HIST_MAX_BUCKETS : nbounds;
    for (int i = 0; i <= TLY_HIST_MAX_BUCKETS; i++)
        atomic_init(&h->buckets[i], 0);
    atomic_init(&h->count, 0);
    atomic_init(&h->sum_micro, 0);
}

void tly_histogram_observe(struct tly_histogram *h, double v)
{
    int i = 0;
    while (i < h->nbounds && v > h->bounds[i])
        i++;
    tly_counter_add(&h->buckets[i], 1);
    tly_counter_add(&h->count, 1);
    tly_counter_add(&h->sum_micro, v > 0 ? (uint64_t)(v * 1e6) : 0);
}

int tly_metrics_header(struct tly_buf *b, const char *name, const char *type, const char *help)
{
    return tly_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int tly_metrics_sample(struct tly_buf *b, const char *name, const char *labels, double v)
{
    if (labels != NULL && labels[0] != '\0')
        return tly_buf_printf(b, "%s{%s} %.17g\n", name, labels, v);
    return tly_buf_printf(b, "%s %.17g\n", name, v);
}

int tly_metrics_scalars(struct tly_buf *b, const struct tly_metric_scalar *m, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        rc |= tly_metrics_header(b, m[i].name, m[i].type, m[i].help);
        rc |= tly_metrics_sample(b, m[i].name, "", m[i].v);
    }
    return rc ? TLY_ENOMEM : 0;
}

int tly_metrics_histogram(struct tly_buf *b, const char *name, const char *help,
                          const struct tly_histogram *h)
{
    int rc = tly_metrics_header(b, name, "histogram", help);
    uint64_t cum = 0;
    for (int i = 0; rc == 0 && i < h->nbounds; i++) {
        cum += tly_counter_get((_Atomic uint64_t *)&h->buckets[i]);
        rc = tly_buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i],
                            (unsigned long long)cum);
    }
    cum += tly_counter_get((_Atomic uint64_t *)&h->buckets[h->nbounds]);
    if (rc == 0)
        rc = tly_buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
    if (rc == 0)
        rc = tly_buf_printf(b, "%s_sum %.6f\n%s_count %llu\n", name,
                            (double)tly_counter_get((_Atomic uint64_t *)&h->sum_micro) / 1e6, name,
                            (unsigned long long)tly_counter_get((_Atomic uint64_t *)&h->count));
    return rc;
}
