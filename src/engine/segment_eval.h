/*
 * The segment evaluator: keeps the members of event segments current as
 * the pipeline processes events, and answers the campaign engine's
 * question "is this user a member, since when?".
 *
 * It lives on the pipeline's thread and works inside the pipeline's open
 * transaction, like the campaign engine (engine.h): an event's segment
 * effects commit with the event, or not at all.
 *
 * Per processed event of a user:
 *   - a track event whose name a behaviour condition names, and whose
 *     `where` holds, is kept in segment_events (the condition's index, the
 *     event time, the summed property's value) unless its time is already
 *     outside the condition's `within`;
 *   - the segments so touched, and every segment with an attribute
 *     condition when the event changed attributes (a profile update, a
 *     track event with traits, an alias), are judged for the user.
 * Judging a segment: attribute conditions by tly_where_holds on the user's
 * attributes; behaviour conditions by counting (or summing) the kept events
 * with time ≥ now − within; `match` all/any. A change of membership writes
 * or deletes the segment_members row (entered_at: the receive time of the
 * event that caused it, or the wall clock for a sweep) and an outbox entry
 * (kind segment_entered / segment_exited, dedupe key
 * "<kind>:<tenant>:<segment uid>:<user>:<n>" for the user's n-th change).
 * When a rolling window holds events, recheck_at is set to the moment its
 * oldest counted event leaves the window; tly_segments_sweep judges the
 * users whose moment has come.
 *
 * "now" is the caller's clock (the pipeline passes its segment clock,
 * which tests may set: pipeline.h).
 */
#ifndef TLY_ENGINE_SEGMENT_EVAL_H
#define TLY_ENGINE_SEGMENT_EVAL_H

#include "core/logger.h"
#include "sources/adapter.h"

#include <sqlite3.h>
#include <stdint.h>

struct tly_segments;

/* `db` is the pipeline's connection (borrowed). Loads the definitions.
 * Takes the connection's rollback hook (sqlite3_rollback_hook: one per
 * connection) to forget cached membership changed by a rolled-back
 * transaction; nothing else may set it on `db`. */
int tly_segments_open(struct tly_segments **out, sqlite3 *db, const struct tly_logger *lg);
void tly_segments_close(struct tly_segments *s);

/* Reads the definitions again (outside a transaction). */
int tly_segments_reload(struct tly_segments *s);

/* Applies one processed (not duplicate) event, after its profile effects.
 * 0 or a store error (the transaction must then be rolled back). */
int tly_segments_event(struct tly_segments *s, const struct tly_event *ev, int64_t now);

/* Judges again up to `max` users whose recheck time is ≤ now (inside a
 * transaction the caller opened). The number judged, or an error. */
int tly_segments_sweep(struct tly_segments *s, int64_t now, int max);

/* Is `user` a member of the tenant's segment `id`? 1 with *entered_at, 0
 * when not, or a store error. Static and event segments alike. */
int tly_segments_member(struct tly_segments *s, uint32_t tenant, const char *id, const char *user,
                        int64_t *entered_at);

/* Does any loaded segment have a rolling window (is sweeping worth it)? */
int tly_segments_windows(const struct tly_segments *s);

/* Counts, for metrics and benchmarks. */
struct tly_segments_stats {
    uint64_t segments, judged, entered, exited;
};
void tly_segments_stats(const struct tly_segments *s, struct tly_segments_stats *out);

#endif
