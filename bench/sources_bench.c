/*
 * How fast each source adapter turns records into canonical events, in
 * process (bench/sources.sh runs it): split (parse the body, list its items)
 * plus map (one canonical event per item) — what the pipeline does with a
 * record before validation and storage — and, beside it, the check ingest
 * runs on the same body before appending it.
 *
 * Records are built from the fixtures (tests/fixtures/<source>/), each item
 * given its own id, batched as each tool sends them:
 *   server     one event per request (POST /server/v4)
 *   segment    a webhook array of SEGMENT_BATCH events (track, identify,
 *              page, screen, group, alias in turn)
 *   track      a tracking-API {"batch":[…]} of SEGMENT_BATCH events
 *              (analytics-node flushes every 15)
 *   moengage   a Streams envelope of 100 events (MoEngage's default)
 *   webengage  one event per request, with the metadata ingest writes
 *   clevertap  a broadcast of CLEVERTAP_BATCH profiles
 * Every item of every record must map: a failure makes the run invalid
 * (exit 1), so the figures are always of the success path.
 *
 * Each source is timed for SECONDS of wall time, ROUNDS times (sources in
 * turn within a round, so a slow spell of a shared machine touches all of
 * them). Printed per source: events/s over wall time and per second of
 * CPU time the process got (steadier on a shared machine), each relative to
 * the server adapter's in CPU terms, of the round with the median CPU rate,
 * and that round's CPU time as a share of its wall time.
 *
 * Usage: sources_bench FIXTURES_DIR [SECONDS [ROUNDS]]   (1 and 3)
 */
#include "core/json.h"
#include "log/record.h"
#include "sources/adapter.h"
#include "sources/clevertap.h"
#include "sources/moengage.h"
#include "sources/segment.h"
#include "sources/server.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEGMENT_BATCH   15
#define MOENGAGE_BATCH  100
#define CLEVERTAP_BATCH 100
#define ROUNDS_MAX      15
#define RECEIVED_AT     1773481500000LL /* 2026-03-14T09:45:00Z, as the fixtures */

/* One source under test: where its items come from and how they are sent. */
struct source_case {
    const char *name;
    uint8_t source;
    uint8_t kind;
    const char *dir;       /* under the fixtures dir */
    const char *files[7];  /* NULL-terminated; the first one's root is the envelope */
    const char *list;      /* member holding the items; NULL: the root is the item */
    const char *id;        /* the member made unique in each copy of an item */
    size_t per_record;     /* items per record */
    int as_array;          /* the record body is a bare array of the items */
    const char *meta_from; /* fixture whose .expected.json "meta" is the metadata */
};

static const struct source_case cases[] = {
    {"server",
     TLY_SOURCE_SERVER,
     TLY_KIND_SINGLE,
     "server",
     {"server-v4"},
     NULL,
     "event_id",
     1,
     0,
     NULL},
    {"segment",
     TLY_SOURCE_SEGMENT,
     TLY_KIND_BATCH,
     "segment",
     {"track", "identify", "page", "screen", "group", "alias"},
     NULL,
     "messageId",
     SEGMENT_BATCH,
     1,
     NULL},
    {"track",
     TLY_SOURCE_TRACK,
     TLY_KIND_BATCH,
     "segment",
     {"batch"},
     "batch",
     "messageId",
     SEGMENT_BATCH,
     0,
     NULL},
    {"moengage",
     TLY_SOURCE_MOENGAGE,
     TLY_KIND_BATCH,
     "moengage",
     {"streams", "user-attributes"},
     "events",
     "event_uuid",
     MOENGAGE_BATCH,
     0,
     NULL},
    {"webengage",
     TLY_SOURCE_WEBENGAGE,
     TLY_KIND_SINGLE,
     "webengage",
     {"event"},
     NULL,
     NULL,
     1,
     0,
     "event"},
    {"clevertap",
     TLY_SOURCE_CLEVERTAP,
     TLY_KIND_BATCH,
     "clevertap",
     {"broadcast"},
     "profiles",
     "objectId",
     CLEVERTAP_BATCH,
     0,
     NULL},
};
#define NCASES (sizeof cases / sizeof cases[0])

/* A built record; body and meta owned here. */
struct built {
    char *body;
    size_t body_len;
    char *meta;
    struct tly_record rec;
    size_t events; /* items in the body */
};

/* The timing of one run. */
struct run {
    double wall, cpu; /* seconds */
    uint64_t records, events;
};

/* The one place that calls an adapter's map: a per-tenant settings argument
 * added to map is passed here (NULL: the defaults). */
static inline int map_item(const struct tly_adapter *a, const cJSON *item,
                           const struct tly_record *rec, struct tly_event *ev,
                           struct tly_failure *f)
{
    return a->map(item, rec, ev, f);
}

static double clock_s(clockid_t which)
{
    struct timespec ts;
    clock_gettime(which, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The file's text, malloc'd (the caller frees it), or NULL with a message. */
static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "sources_bench: cannot open %s\n", path);
        return NULL;
    }
    char *s = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (s = malloc((size_t)n + 1)) != NULL && fread(s, 1, (size_t)n, f) == (size_t)n) {
        s[n] = '\0';
    } else {
        fprintf(stderr, "sources_bench: cannot read %s\n", path);
        free(s);
        s = NULL;
    }
    fclose(f);
    return s;
}

/* The parsed fixture dir/name.suffix (caller deletes it), or NULL. */
static cJSON *read_json(const char *fixtures, const char *dir, const char *name, const char *suffix)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s%s", fixtures, dir, name, suffix);
    char *text = read_text(path);
    if (text == NULL)
        return NULL;
    struct tly_error err;
    cJSON *j = tly_json_parse(text, strlen(text), &err);
    if (j == NULL)
        fprintf(stderr, "sources_bench: %s: %s\n", path, err.msg);
    free(text);
    return j;
}

/* Builds the record of `c` into `b`. 0, or -1 with a message. */
static int build(const char *fixtures, const struct source_case *c, struct built *b)
{
    memset(b, 0, sizeof *b);
    cJSON *roots[8] = {0}, *templates = cJSON_CreateArray(), *body = NULL;
    size_t nroots = 0;
    int rc = -1;
    for (; c->files[nroots] != NULL; nroots++) {
        roots[nroots] = read_json(fixtures, c->dir, c->files[nroots], ".json");
        if (roots[nroots] == NULL)
            goto done;
        const cJSON *list =
            c->list ? cJSON_GetObjectItemCaseSensitive(roots[nroots], c->list) : NULL;
        if (c->list != NULL && !cJSON_IsArray(list)) {
            fprintf(stderr, "sources_bench: %s/%s.json has no \"%s\" array\n", c->dir,
                    c->files[nroots], c->list);
            goto done;
        }
        if (list == NULL) {
            cJSON_AddItemReferenceToArray(templates, roots[nroots]);
            continue;
        }
        const cJSON *it;
        cJSON_ArrayForEach(it, list) cJSON_AddItemReferenceToArray(templates, (cJSON *)it);
    }
    int ntemplates = cJSON_GetArraySize(templates);
    cJSON *items = cJSON_CreateArray();
    for (size_t i = 0; i < c->per_record; i++) {
        cJSON *copy = cJSON_Duplicate(cJSON_GetArrayItem(templates, (int)(i % ntemplates)), 1);
        const cJSON *id = c->id ? cJSON_GetObjectItemCaseSensitive(copy, c->id) : NULL;
        if (cJSON_IsString(id) && c->per_record > 1) {
            char unique[160];
            snprintf(unique, sizeof unique, "%.100s-%zu", id->valuestring, i);
            cJSON_ReplaceItemInObjectCaseSensitive(copy, c->id, cJSON_CreateString(unique));
        }
        cJSON_AddItemToArray(items, copy);
    }
    if (c->as_array) {
        body = items;
    } else if (c->list != NULL) {
        body = cJSON_Duplicate(roots[0], 1);
        cJSON_ReplaceItemInObjectCaseSensitive(body, c->list, items);
    } else {
        body = cJSON_DetachItemFromArray(items, 0);
        cJSON_Delete(items);
    }
    b->body = cJSON_PrintUnformatted(body);
    if (c->meta_from != NULL) {
        cJSON *expected = read_json(fixtures, c->dir, c->meta_from, ".expected.json");
        if (expected == NULL)
            goto done;
        b->meta = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(expected, "meta"));
        cJSON_Delete(expected);
    }
    if (b->body == NULL || (c->meta_from != NULL && b->meta == NULL)) {
        fprintf(stderr, "sources_bench: %s: out of memory\n", c->name);
        goto done;
    }
    b->body_len = strlen(b->body);
    b->events = c->per_record;
    b->rec = (struct tly_record){
        .source = c->source,
        .kind = c->kind,
        .flags = TLY_RECORD_BODY_CHECKED, /* as ingest appends it */
        .tenant = 1,
        .received_at = RECEIVED_AT,
        .meta = b->meta,
        .meta_len = b->meta ? strlen(b->meta) : 0,
        .body = b->body,
        .body_len = b->body_len,
    };
    rc = 0;
done:
    cJSON_Delete(body);
    cJSON_Delete(templates); /* references only */
    for (size_t i = 0; i < nroots; i++)
        cJSON_Delete(roots[i]);
    return rc;
}

/* split + map of `b` once: the events mapped, or -1 with what failed said. */
static long split_map(const struct tly_adapter *a, const struct built *b, struct tly_items *items,
                      int verbose)
{
    struct tly_failure f;
    tly_items_reset(items);
    if (a->split(&b->rec, items, &f) != 0) {
        if (verbose)
            fprintf(stderr, "split failed: %s %s: %s\n", tly_fail_reason_name(f.reason), f.field,
                    f.message);
        return -1;
    }
    long mapped = 0;
    for (size_t i = 0; i < items->n; i++) {
        struct tly_event ev;
        if (map_item(a, items->item[i], &b->rec, &ev, &f) == 0)
            mapped++;
        else if (verbose)
            fprintf(stderr, "item %zu failed: %s %s: %s\n", i, tly_fail_reason_name(f.reason),
                    f.field, f.message);
    }
    return mapped;
}

/* What ingest runs on the body of source `c` before appending it: the
 * events it counted, or -1 with `err` filled. */
static long ingest_check(const struct source_case *c, const struct built *b, struct tly_error *err)
{
    switch (c->source) {
    case TLY_SOURCE_SERVER:
        return tly_server_scan_event(b->body, b->body_len, NULL, err) == 0 ? 1 : -1;
    case TLY_SOURCE_SEGMENT:
    case TLY_SOURCE_TRACK: {
        struct tly_segment_body s;
        enum tly_segment_shape shape =
            c->source == TLY_SOURCE_TRACK ? TLY_SEGMENT_BATCH : TLY_SEGMENT_WEBHOOK;
        return tly_segment_scan(b->body, b->body_len, shape, &s, err) == 0 ? (long)s.items : -1;
    }
    case TLY_SOURCE_MOENGAGE: {
        struct tly_moengage_body m;
        return tly_moengage_scan(b->body, b->body_len, &m, err) == 0 ? (long)m.items : -1;
    }
    case TLY_SOURCE_CLEVERTAP: {
        struct tly_clevertap_body ct;
        return tly_clevertap_check(b->body, b->body_len, &ct, err) == 0 ? (long)ct.items : -1;
    }
    case TLY_SOURCE_WEBENGAGE:
        /* ingest/webengage.c: strict JSON whose root is an object. */
        if (tly_json_check(b->body, b->body_len, err) != 0)
            return -1;
        return b->body[strspn(b->body, " \t\r\n")] == '{' ? 1 : -1;
    }
    return -1;
}

/* Runs split+map (ingest == 0) or the ingest check (1) on `b` for `seconds`. */
static int time_run(const struct source_case *c, const struct tly_adapter *a, const struct built *b,
                    int ingest, double seconds, struct run *r)
{
    struct tly_items items;
    struct tly_error err;
    tly_items_init(&items);
    memset(r, 0, sizeof *r);
    double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w;
    int rc = 0;
    do {
        for (int k = 0; k < 8; k++) {
            long n = ingest ? ingest_check(c, b, &err) : split_map(a, b, &items, 0);
            if (n != (long)b->events)
                rc = -1;
            r->events += (uint64_t)(n > 0 ? n : 0);
        }
        r->records += 8;
        w = clock_s(CLOCK_MONOTONIC) - w0;
    } while (w < seconds && rc == 0);
    r->wall = w;
    r->cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    tly_items_free(&items);
    return rc;
}

static double rate(const struct run *r)
{
    return r->wall > 0 ? (double)r->events / r->wall : 0;
}

/* Events per second of CPU time the process got: steadier than `rate` on a
 * machine shared with other work. */
static double cpu_rate(const struct run *r)
{
    return r->cpu > 0 ? (double)r->events / r->cpu : 0;
}

/* The round with the median events per CPU second of `n` runs (sorted in
 * place). */
static const struct run *median(struct run *runs, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && cpu_rate(&runs[j - 1]) > cpu_rate(&runs[j]); j--) {
            struct run t = runs[j];
            runs[j] = runs[j - 1];
            runs[j - 1] = t;
        }
    return &runs[n / 2];
}

/* "1,234,567": n with thousands separators, into buf. */
static const char *thousands(double v, char *buf, size_t cap)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%.0f", v);
    size_t o = 0;
    for (int i = 0; i < n && o + 2 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 4) {
        fprintf(stderr, "usage: %s FIXTURES_DIR [SECONDS [ROUNDS]]\n", argv[0]);
        return 2;
    }
    const char *fixtures = argv[1];
    double seconds = argc > 2 ? strtod(argv[2], NULL) : 1.0;
    int rounds = argc > 3 ? (int)strtol(argv[3], NULL, 10) : 3;
    if (!(seconds > 0) || rounds < 1 || rounds > ROUNDS_MAX) {
        fprintf(stderr, "sources_bench: SECONDS must be > 0 and ROUNDS 1..%d\n", ROUNDS_MAX);
        return 2;
    }

    struct built built[NCASES];
    const struct tly_adapter *adapters[NCASES];
    int bad = 0;
    for (size_t i = 0; i < NCASES; i++) {
        const struct source_case *c = &cases[i];
        if (build(fixtures, c, &built[i]) != 0)
            return 1;
        adapters[i] = tly_adapter_for(c->source);
        struct tly_items items;
        struct tly_error err;
        tly_items_init(&items);
        long mapped = split_map(adapters[i], &built[i], &items, 1);
        tly_items_free(&items);
        long checked = ingest_check(c, &built[i], &err);
        if (mapped != (long)built[i].events || checked != (long)built[i].events) {
            fprintf(stderr, "sources_bench: %s: %ld of %zu items mapped, ingest check %s\n",
                    c->name, mapped, built[i].events, checked < 0 ? err.msg : "counted others");
            bad = 1;
        }
    }
    if (bad) {
        fprintf(stderr, "sources_bench: INVALID: every item of every record must map\n");
        return 1;
    }

    /* runs[source][0 split+map, 1 ingest][round] */
    struct run runs[NCASES][2][ROUNDS_MAX];
    for (size_t i = 0; i < NCASES; i++) { /* warm-up: caches, allocator */
        struct run w;
        time_run(&cases[i], adapters[i], &built[i], 0, seconds / 10, &w);
    }
    for (int r = 0; r < rounds; r++)
        for (int ingest = 0; ingest < 2; ingest++)
            for (size_t i = 0; i < NCASES; i++)
                if (time_run(&cases[i], adapters[i], &built[i], ingest, seconds,
                             &runs[i][ingest][r]) != 0) {
                    fprintf(stderr, "sources_bench: %s: a run stopped mapping every item\n",
                            cases[i].name);
                    return 1;
                }

    printf("split+map = decode + normalize, what the pipeline does per record before "
           "validation;\ningest check = what ingest runs on the body before appending it. "
           "Median of %d rounds of %.2g s each, one thread.\n\n",
           rounds, seconds);
    printf("%-26s%-37s%s\n", "", "split+map ----------------------",
           "ingest check -------------------");
    printf("%-10s %6s %6s  %11s %11s %6s %4s  %11s %11s %6s %4s\n", "source", "events", "bytes",
           "events/s", "per CPU s", "vs", "cpu", "events/s", "per CPU s", "vs", "cpu");
    printf("%-10s %6s %6s  %11s %11s %6s %4s  %11s %11s %6s %4s\n", "", "/rec", "/event", "", "",
           "server", "%", "", "", "server", "%");
    double base[2] = {0, 0};
    for (size_t i = 0; i < NCASES; i++) {
        printf("%-10s %6zu %6.0f", cases[i].name, built[i].events,
               (double)built[i].body_len / (double)built[i].events);
        for (int k = 0; k < 2; k++) {
            const struct run *m = median(runs[i][k], rounds);
            char w[32], c[32];
            if (i == 0)
                base[k] = cpu_rate(m);
            printf("  %11s %11s %5.2fx %4.0f", thousands(rate(m), w, sizeof w),
                   thousands(cpu_rate(m), c, sizeof c), cpu_rate(m) / base[k],
                   m->cpu / m->wall * 100);
        }
        printf("\n");
    }
    printf("\n\"events/s\" is over wall time, \"per CPU s\" over the CPU time the process got, "
           "\"vs server\"\ncompares the latter; \"cpu %%\" is CPU over wall time: under 95 "
           "means other work took\nthe core for part of the run and events/s understates the "
           "adapter.\n");
    for (size_t i = 0; i < NCASES; i++) {
        cJSON_free(built[i].body);
        cJSON_free(built[i].meta);
    }
    return 0;
}
