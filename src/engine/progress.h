/*
 * One user's progress in one campaign: the values of its activities per
 * window, its completions, whether the campaign ever saw one of its events,
 * and the compact encoding stored in campaign_progress.state.
 *
 * The engine (engine.c) changes progress on the pipeline's thread; the API
 * (api/progress.c) decodes the stored encoding on its own threads. Both use
 * this file, so there is one meaning of the bytes.
 *
 * A progress holds windows sorted by period number: with window "campaign"
 * exactly one, of period 0; with calendar windows one per local day, week
 * or month (core/tz.h numbering) that received a counted event, so a late
 * event counts in the window it belongs to. Each window holds one value
 * per activity:
 *   count, sum   `num` (a count is a whole number in a double)
 *   distinct     `set`: 64-bit keys of the distinct values, sorted
 *   streak       `set`: the period numbers (day or week) with an event,
 *                sorted; the value is the longest run of consecutive ones
 *
 * Encoding (version 1), little-endian, varints as in protobuf:
 *   u8 version, varint completions, u8 seen, varint nact, varint nwin,
 *   then per window: zigzag-varint period, u8 completed, and per activity:
 *   f64 num, varint nset, the set as zigzag-varint first value then
 *   varint gaps to each next one.
 *
 * A progress owns its memory; tly_progress_free releases it.
 */
#ifndef TLY_ENGINE_PROGRESS_H
#define TLY_ENGINE_PROGRESS_H

#include "core/buf.h"
#include "engine/campaign.h"

#include <stddef.h>
#include <stdint.h>

struct tly_act_value {
    double num;
    int64_t *set; /* sorted ascending, no repeats */
    uint32_t nset, cset;
};

struct tly_window_state {
    int64_t period;            /* 0 for the campaign window */
    int completed;             /* calendar windows: this window completed once */
    struct tly_act_value *act; /* nact of them */
};

struct tly_progress {
    uint32_t completions;
    int seen; /* a counted event matched an activity */
    int nact;
    struct tly_window_state *win; /* sorted by period */
    uint32_t nwin, cwin;
};

void tly_progress_init(struct tly_progress *p, int nact);
void tly_progress_free(struct tly_progress *p);

/* The window of `period`, created (with zero values) when `create` and it
 * does not exist; NULL when absent (or out of memory while creating). */
struct tly_window_state *tly_progress_window(struct tly_progress *p, int64_t period, int create);
/* A const lookup: NULL when the window does not exist. */
const struct tly_window_state *tly_progress_find(const struct tly_progress *p, int64_t period);

/* Every value of every window back to zero (the campaign window's reset
 * after a completion). Completions and seen stay. */
void tly_progress_reset_values(struct tly_progress *p);

/* Adds `key` to a set (distinct keys, streak periods); 0 or TLY_ENOMEM. */
int tly_act_set_add(struct tly_act_value *v, int64_t key);

/* The value of an activity as the rules define it (count, sum, number of
 * distinct values, longest streak). */
double tly_act_value_of(const struct tly_act_value *v, enum tly_measure m);

/* Appends the encoding of `p` to `out`. 0 or TLY_ENOMEM. */
int tly_progress_encode(const struct tly_progress *p, struct tly_buf *out);
/* Decodes into `p` (initialised here, for `nact` activities: stored
 * activities beyond nact are skipped, missing ones are zero). 0, or
 * TLY_ECORRUPT (p is then empty), or TLY_ENOMEM. */
int tly_progress_decode(const void *data, size_t len, int nact, struct tly_progress *p);

/* The window of campaign `c` that contains instant `at`: its period
 * number (0 for window "campaign"), and its bounds [*start, *end) in ms;
 * for window "campaign" the campaign's bounds (INT64_MIN / INT64_MAX when
 * open). */
int64_t tly_progress_window_at(const struct tly_campaign *c, int64_t at, int64_t *start,
                               int64_t *end);
/* The value of activity `a` in the window of `period` (0 when the window
 * has nothing). */
double tly_progress_value(const struct tly_campaign *c, const struct tly_progress *p,
                          int64_t period, int a);

/* Heap bytes held by `p` (for the engine's cache accounting). */
size_t tly_progress_bytes(const struct tly_progress *p);

#endif
