/*
 * One user's state in the event segments of a tenant, and its compact
 * encoding (segment_users.state, one row per user).
 *
 * Per event segment the user was judged for (by the segment's uid):
 *   gen      the rules generation the counts were made under (a PUT that
 *            changes a segment's conditions moves it on: counts made under
 *            another generation are forgotten);
 *   changes  the number of membership changes so far (the outbox dedupe
 *            keys number them);
 *   member   whether the user is a member, and since when (segment_members
 *            holds the same, for the API; this copy spares a lookup there);
 *   per condition what it counted (attribute conditions count nothing):
 *     all time        count and sum of the counted events;
 *     rolling window  the counted events still inside it: their times,
 *                     sorted, and summed values.
 *
 * Encoding (version 1), little-endian, varints as in protobuf (varint.h):
 *   u8 version, varint nseg, per segment: varint uid, varint gen, varint
 *   changes, varint member (0: not a member, else 1 + the zigzag of
 *   entered_at), varint ncond, per condition a tag byte and its data:
 *     0 nothing, 1 varint count, 2 varint count + f64 sum,
 *     3 varint n + n times (zigzag-varint time, as a gap from the one
 *       before, the first from 0), 4 the same with an f64 value after
 *       each time.
 *
 * Memory: a state's arrays come from the heap, or from an arena (u->arena,
 * and the `arena` argument of the calls below, NULL: the heap) when the
 * state lives no longer than that arena's round: the evaluator decodes a
 * user's state for one transaction. tly_userseg_free releases heap memory
 * and forgets arena memory.
 */
#ifndef TLY_ENGINE_SEGMENT_STATE_H
#define TLY_ENGINE_SEGMENT_STATE_H

#include "core/arena.h"
#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

struct tly_segevent {
    int64_t ts; /* event time */
    double v;   /* summed value (0 for a count) */
};

struct tly_segcount {
    int64_t count; /* all time */
    double sum;
    struct tly_segevent *ev; /* rolling window: by time, ascending (repeats allowed) */
    uint32_t n, cap;
};

/* Conditions kept inside the state itself (most segments have one or
 * two): no allocation of their own. */
#define TLY_SEGSTATE_INLINE 2

struct tly_segstate {
    int64_t uid;
    uint32_t gen;
    uint32_t ncond;
    int64_t changes;
    int64_t entered_at; /* when a member */
    int member;
    struct tly_segcount *cond; /* `inl` for up to TLY_SEGSTATE_INLINE, else heap or arena */
    struct tly_segcount inl[TLY_SEGSTATE_INLINE];
};

struct tly_userseg {
    struct tly_segstate *seg; /* sorted by uid */
    uint32_t n, cap;
    struct tly_arena *arena; /* where the arrays come from (NULL: the heap) */
};

/* Empties `u` (its arena is kept). */
void tly_userseg_free(struct tly_userseg *u);

/* The state of segment `uid`; created (empty) when absent and `create`.
 * NULL when absent (or out of memory). Pointers into u->seg are valid
 * until the next creation. */
struct tly_segstate *tly_userseg_get(struct tly_userseg *u, int64_t uid, int create);

/* Makes `st` hold `ncond` conditions (new ones empty, extra ones
 * dropped). 0 or TLY_ENOMEM. */
int tly_segstate_resize(struct tly_arena *arena, struct tly_segstate *st, uint32_t ncond);
/* Forgets every count (a new rules generation). */
void tly_segstate_clear_counts(struct tly_arena *arena, struct tly_segstate *st);

/* Counts an event at time `ts` with summed value `v`: into the list when
 * `windowed`, else into count and sum. 0 or TLY_ENOMEM. */
int tly_segcount_add(struct tly_arena *arena, struct tly_segcount *c, int64_t ts, double v,
                     int windowed);
/* Drops the listed events before `from`. */
void tly_segcount_prune(struct tly_segcount *c, int64_t from);
/* Moves the listed events into count and sum (a condition counted all
 * time whose state was kept as a list). */
void tly_segcount_fold(struct tly_segcount *c);

/* Appends the encoding of `u` (only the segments for which keep(uid, arg)
 * is nonzero, keep NULL: all; a segment with nothing counted, no change
 * and no membership is left out). 0 or TLY_ENOMEM. */
int tly_userseg_encode(const struct tly_userseg *u, int (*keep)(int64_t uid, void *arg), void *arg,
                       struct tly_buf *out);
/* Decodes into `u` (initialised here, its arrays from `arena`). 0,
 * TLY_ECORRUPT (u is then empty), or TLY_ENOMEM. */
int tly_userseg_decode(const void *data, size_t len, struct tly_arena *arena,
                       struct tly_userseg *u);

/* Bytes held by `u`'s arrays (for the cache's accounting; 0 for an
 * arena's). */
size_t tly_userseg_bytes(const struct tly_userseg *u);

#endif
