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
 *     `where` holds, is counted for that condition (all time: count and
 *     sum; a rolling window: its time and summed value, kept while inside
 *     the window) unless its time is already outside the `within`;
 *   - the segments so touched, and every segment with an attribute
 *     condition when the event changed attributes (a profile update, a
 *     track event with traits, an alias), are judged for the user.
 * Judging a segment: attribute conditions by tly_where_holds on the user's
 * attributes; behaviour conditions by the count (or sum) of the counted
 * events with time >= now - within + 1 (older ones are forgotten);
 * `match` all/any. A change of membership writes an outbox entry at once
 * (kind segment_entered / segment_exited, dedupe key
 * "<kind>:<tenant>:<segment uid>:<user>:<n>" for the user's n-th change)
 * and, at the flush, sorted by key, writes or deletes the segment_members
 * row (entered_at: the receive time of the event that caused it, or the
 * wall clock for a sweep).
 *
 * What was counted lives in memory, one entry per (tenant, user) holding
 * the user's state in every event segment (segment_state.h), in a bounded
 * write-behind cache (state_cache.h): loaded from segment_users on a miss
 * (memberships included: segment_members holds the same, for the API),
 * changed in memory, and written, one row per changed user, by
 * tly_segments_flush before the transaction commits. After a COMMIT or
 * ROLLBACK an entry holds only that row's bytes, decoded again when used
 * (from an arena emptied at the transaction's end). The
 * row's recheck_at is the moment the user's oldest event counted in a
 * rolling window leaves it; tly_segments_sweep judges the users whose
 * moment has come.
 *
 * "now" is the caller's clock (the pipeline passes its segment clock,
 * which tests may set: pipeline.h). Counted events that fell out of a
 * window are forgotten, so a clock moved back does not count them again.
 */
#ifndef TLY_ENGINE_SEGMENT_EVAL_H
#define TLY_ENGINE_SEGMENT_EVAL_H

#include "core/logger.h"
#include "sources/adapter.h"

#include <sqlite3.h>
#include <stdint.h>

struct tly_segments;

#define TLY_SEGMENTS_CACHE_BYTES (256u * 1024 * 1024) /* default bound of the cache */

/* `db` is the pipeline's connection (borrowed). Loads the definitions,
 * and converts the rows of the former layout (segment_events,
 * segment_state) into segment_users in a transaction of its own.
 * cache_bytes 0 = the default. */
int tly_segments_open(struct tly_segments **out, sqlite3 *db, const struct tly_logger *lg,
                      size_t cache_bytes);
void tly_segments_close(struct tly_segments *s);

/* Reads the definitions again (outside a transaction). */
int tly_segments_reload(struct tly_segments *s);

/* Applies one processed (not duplicate) event, after its profile effects.
 * 0 or a store error (the transaction must then be rolled back). */
int tly_segments_event(struct tly_segments *s, const struct tly_event *ev, int64_t now);

/* Judges again up to `max` users whose recheck time is <= now (inside a
 * transaction the caller opened, and flushes before committing). The
 * number of users judged, or an error. */
int tly_segments_sweep(struct tly_segments *s, int64_t now, int max);

/* Writes the users changed in the open transaction (before COMMIT). 0 or
 * a store error. */
int tly_segments_flush(struct tly_segments *s);
/* After COMMIT (which tly_segments_flush must precede): the changes are
 * the store's; the cache may shed entries. */
void tly_segments_committed(struct tly_segments *s);
/* After ROLLBACK: forgets what the transaction changed. */
void tly_segments_drop(struct tly_segments *s);

/* Is `user` a member of the tenant's segment `id`? 1 with *entered_at, 0
 * when not, or a store error. Static and event segments alike. */
int tly_segments_member(struct tly_segments *s, uint32_t tenant, const char *id, const char *user,
                        int64_t *entered_at);

/* Does any loaded segment have a rolling window (is sweeping worth it)? */
int tly_segments_windows(const struct tly_segments *s);

/* Counts of committed work and the cache's size, as of the last COMMIT or
 * ROLLBACK; any thread may read them. */
struct tly_segments_stats {
    uint64_t segments, judged, entered, exited;
    uint64_t cache_entries, cache_bytes;
    uint64_t decoded_bytes; /* held for decoded state at the last transaction's end */
};
void tly_segments_stats(const struct tly_segments *s, struct tly_segments_stats *out);
/* The same in Prometheus text (tally_segments_*). 0 or TLY_ENOMEM. */
int tly_segments_metrics(const struct tly_segments *s, struct tly_buf *b);

#endif
