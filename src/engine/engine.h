/*
 * The campaign engine: moves users through the tenant's active campaigns as
 * the pipeline processes their events (the rules: README, "Campaigns").
 *
 * It lives on the pipeline's thread and works inside the pipeline's open
 * transaction. Each processed track event is looked up in an index by
 * (tenant, event name), so an event touches only the campaigns that name
 * it. Progress of (campaign, user) is kept in a bounded in-memory cache
 * (engine/cache.c) and changed there; changed entries are written to
 * campaign_progress by tly_engine_flush just before COMMIT. Rewards and
 * their outbox entries are written at the completion itself, in the same
 * transaction. So a batch's progress, rewards and consumer position commit
 * together, or not at all.
 *
 * The pipeline's duties, in order, per transaction:
 *   tly_engine_reload     at the start of a batch when the store changed
 *                         elsewhere (definitions, acceptances);
 *   tly_engine_event      per processed (not duplicate) event;
 *   tly_engine_flush      before COMMIT;
 *   tly_engine_committed  after a successful COMMIT;
 *   tly_engine_drop       after ROLLBACK (forgets the uncommitted state).
 *
 * Threads: everything on the pipeline's thread except tly_engine_metrics,
 * which reads atomics only.
 */
#ifndef TLY_ENGINE_ENGINE_H
#define TLY_ENGINE_ENGINE_H

#include "core/buf.h"
#include "core/err.h"
#include "core/logger.h"
#include "sources/adapter.h"

#include <sqlite3.h>
#include <stdint.h>

#define TLY_ENGINE_CACHE_BYTES (512u * 1024 * 1024) /* default bound of the cache */

struct tly_engine;

/* `db` is the pipeline's connection (borrowed; outlives the engine).
 * Loads the definitions. cache_bytes 0 = the default. */
int tly_engine_open(struct tly_engine **out, sqlite3 *db, const struct tly_logger *lg,
                    size_t cache_bytes);
void tly_engine_close(struct tly_engine *e);

/* Reads the definitions again (outside a transaction, nothing dirty):
 * campaigns changed or deleted lose their cached progress; acceptances are
 * read again when next needed. 0 or an error (the old set stays). */
int tly_engine_reload(struct tly_engine *e);

/* Applies one processed event (track events only; others are ignored).
 * 0 or a store error (the transaction must then be rolled back). */
int tly_engine_event(struct tly_engine *e, const struct tly_event *ev);

/* Identity merge at an alias event (kind TLY_EVENT_ALIAS, previous_id →
 * user_id; README, "Users"), after its profile effects: for each counting
 * campaign of the tenant, the previous user's values are added into the
 * known user's, window by window (count and sum add, distinct and streak
 * sets unite; a window the previous user completed is left out, its values
 * having earned that user's reward); the previous user's windows are then
 * cleared (its completions and rewards stay). Then a completion check runs
 * for the known user under an event's rules at the alias (bounds,
 * enrollment, segment, max_completions): each met window completes once,
 * its reward issued with the alias as the completing event. Other kinds:
 * nothing. 0 or a store error (roll back). */
int tly_engine_merge(struct tly_engine *e, const struct tly_event *ev);

/* Writes the changed progress into the open transaction. */
int tly_engine_flush(struct tly_engine *e);
/* The transaction committed: changed entries are clean now; the cache is
 * trimmed to its bound. */
void tly_engine_committed(struct tly_engine *e);
/* The transaction rolled back: entries changed in it are forgotten. */
void tly_engine_drop(struct tly_engine *e);

struct tly_segments;
/* The segment evaluator the engine asks about members of a campaign's
 * segment (borrowed; NULL: campaigns with a segment count nobody). */
void tly_engine_set_segments(struct tly_engine *e, struct tly_segments *segments);

/* Prometheus metrics; any thread. */
int tly_engine_metrics(const struct tly_engine *e, struct tly_buf *out);

struct tly_engine_stats {
    uint64_t evaluated, matches, completions, rewards;
    uint64_t cache_entries, cache_bytes;
    uint64_t campaigns; /* counting now */
};
void tly_engine_stats(const struct tly_engine *e, struct tly_engine_stats *out);

#endif
