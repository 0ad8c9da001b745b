/*
 * The state store as the pipeline writes it: one connection, one thread,
 * batched transactions.
 *
 * The pipeline opens a transaction, applies the effects of a run of log
 * records, moves its consumer position, and commits: the position and the
 * effects it covers are one atomic unit, so a crash can neither lose nor
 * double-apply an event.
 *
 * The interface speaks of events, users, failed items and positions, not of
 * SQL, so that another store (PostgreSQL) can implement it later.
 */
#ifndef TLY_STORE_STATE_H
#define TLY_STORE_STATE_H

#include "core/err.h"
#include "sources/adapter.h"
#include "core/u64map.h"
#include "store/eventindex.h"

#include <sqlite3.h>
#include <stdint.h>

struct tly_state;

/* TLY_EBUSY when another process has the store open (state.db.lock). */
int tly_state_open(struct tly_state **out, const char *path, struct tly_error *err);
void tly_state_close(struct tly_state *st);

/* The index of the store's events, for readers on other threads (API
 * queries). Owned by the store: valid until tly_state_close. */
struct tly_event_index *tly_state_event_index(struct tly_state *st);
/* Builds the index from the table (outside a transaction): about a
 * second per million events in the dedupe window, so the pipeline's
 * thread does it rather than tly_state_open. Recording an event fails
 * with TLY_EIO while the index is not ready; readers scan the table. */
int tly_state_load_index(struct tly_state *st);

/* The connection, for the settings helpers (settings.h). Borrowed. */
sqlite3 *tly_state_sqlite(struct tly_state *st);

/* Nonzero when another connection has committed since the last call. */
int tly_state_changed_elsewhere(struct tly_state *st);

int tly_state_begin(struct tly_state *st);
int tly_state_commit(struct tly_state *st);
void tly_state_rollback(struct tly_state *st);

/* A consumer's committed log position (0 when it has none). */
int tly_state_get_position(struct tly_state *st, const char *consumer, uint64_t *pos);
int tly_state_set_position(struct tly_state *st, const char *consumer, uint64_t pos);

struct tly_event_row {
    uint32_t tenant;
    const char *event_id;
    uint64_t offset; /* of the log record */
    int32_t item;    /* index in the record */
    const char *user_id;
    const char *event_name;
    int64_t timestamp;
    int64_t received_at;
    uint64_t id_hash; /* tly_event_index_id_hash of (tenant, event_id), or 0 */
};

/* Records a processed event, and its user when new. When (tenant,
 * event_id) was recorded less than window_ms earlier (by receive time) it
 * is a duplicate instead: counted on the first one, *dup = 1. After the
 * window the id counts as new again; a window of 0 turns dedupe off. */
int tly_state_record_event(struct tly_state *st, const struct tly_event_row *row, int64_t window_ms,
                           int *dup);

/* 1 if the user is registered, 0 if known but not registered, TLY_ENOENT
 * if unknown. */
int tly_state_user_status(struct tly_state *st, uint32_t tenant, const char *user_id);

/* A user's attributes and attribute times (JSON object texts, malloc'd,
 * the caller frees them). TLY_ENOENT when the user is unknown. */
int tly_state_user_profile(struct tly_state *st, uint32_t tenant, const char *user_id,
                           char **attributes, char **times);
/* Stores them, creating the user (not registered) when new. Strings are
 * borrowed for the call. */
int tly_state_set_user_profile(struct tly_state *st, uint32_t tenant, const char *user_id,
                               const char *attributes, const char *times, int64_t now);

/* Records that `previous_id` is now known as `user_id` (Segment alias), at
 * event time `ts`; a link already recorded is kept as it is. The merge of
 * the two users' data is the pipeline's (pipeline/profile.h). */
int tly_state_add_identity_link(struct tly_state *st, uint32_t tenant, const char *previous_id,
                                const char *user_id, int64_t ts, int64_t now);
/* The user `previous_id` is known as (the link of the latest event time):
 * 0 with *user_id (owned by the caller), TLY_ENOENT, or a store error. */
int tly_state_identity_of(struct tly_state *st, uint32_t tenant, const char *previous_id,
                          char **user_id);
/* 1 when the tenant has any identity link, 0 when none, or a store error. */
int tly_state_any_identity_link(struct tly_state *st, uint32_t tenant);

struct tly_failed_row {
    uint32_t tenant;
    uint8_t source, kind;
    uint64_t offset;
    int32_t item;         /* -1 for the whole record */
    const char *event_id; /* NULL when the item has none */
    const struct tly_failure *failure;
    const char *raw; /* the item's JSON (or the whole body) */
    size_t raw_len;
    const char *meta; /* the record's metadata */
    size_t meta_len;
    int64_t received_at;
};

int tly_state_add_failed(struct tly_state *st, const struct tly_failed_row *row, int64_t now);

/* A failed item read back for replay; raw and meta are malloc'd copies. */
struct tly_failed_item {
    int64_t id;
    uint32_t tenant;
    uint8_t source, kind;
    uint64_t offset;
    int32_t item;
    int replayed; /* already processed by an earlier replay */
    char *raw;
    size_t raw_len;
    char *meta;
    size_t meta_len;
    int64_t received_at;
};

/* TLY_ENOENT when there is no such id for this tenant. */
int tly_state_get_failed(struct tly_state *st, uint32_t tenant, int64_t id,
                         struct tly_failed_item *out);
void tly_failed_item_free(struct tly_failed_item *it);
int tly_state_failed_replayed(struct tly_state *st, int64_t id, int64_t now);
int tly_state_failed_again(struct tly_state *st, int64_t id, const struct tly_failure *f,
                           int64_t now);

/* The ids of all tenants; *ids is malloc'd (NULL when *n is 0). */
int tly_state_tenant_ids(struct tly_state *st, uint32_t **ids, size_t *n);

/* A pass of pruning over the events, oldest first (arrival order). */
struct tly_prune {
    /* A tenant's rows received before cutoff(arg, tenant) are deleted. */
    int64_t (*cutoff)(void *arg, uint32_t tenant);
    void *arg;
    /* The latest cutoff of any tenant: the pass ends at the first row
     * received at or after it. A row arriving later with an older receive
     * time (a replay) waits for a later pass. */
    int64_t stop_at;
    int64_t cursor; /* the last row scanned; 0 to start */
    int done;       /* set when the pass has ended */
    /* Tenants with a row kept in this pass: their later rows stay too, so
     * that a tenant's deleted rows are always its oldest in arrival order
     * and every user's chain of rows stays whole. */
    struct tly_u64map kept;
};

void tly_prune_init(struct tly_prune *pr, int64_t (*cutoff)(void *arg, uint32_t tenant), void *arg,
                    int64_t stop_at);
void tly_prune_free(struct tly_prune *pr);

/* Scans up to `limit` rows of the pass and deletes those past their
 * tenant's cutoff; *deleted says how many. Call until pr->done. */
int tly_state_prune_events(struct tly_state *st, struct tly_prune *pr, int limit, int *deleted);

#endif
