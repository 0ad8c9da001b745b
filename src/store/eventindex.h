/*
 * The in-memory index of the processed events in the state store.
 *
 * The events table is written in arrival order (its row id), with no
 * secondary index on event or user ids: random-key B-tree inserts would
 * cost more than all the rest of the pipeline's work. Instead this index
 * maps
 *   hash(tenant, event_id) → the id's newest row  (dedupe, GET /v1/events)
 *   hash(tenant, user_id)  → the user's newest row (the start of the chain
 *                            of the user's events, row.prev_user)
 * Hashes are SipHash with a random key per process, so clients cannot
 * choose ids that collide; ids that still collide share a key and every
 * hit is confirmed against the row itself.
 *
 * It describes committed rows only: the pipeline stages its changes during
 * a transaction (store/state.c) and applies them here after the commit.
 * The pipeline's thread builds it from the table when it starts, while the
 * daemon already serves; until then readers are told it is not ready.
 *
 * Memory: 16 bytes a slot at ≤ 1/2 load: 32-64 bytes per event id in the
 * dedupe window, and the same per user with such events.
 *
 * Thread-safety: one writer (the pipeline thread) and any number of
 * readers (API threads); every call takes the index's lock briefly.
 */
#ifndef TLY_STORE_EVENTINDEX_H
#define TLY_STORE_EVENTINDEX_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct tly_event_index;

int tly_event_index_new(struct tly_event_index **out);
void tly_event_index_free(struct tly_event_index *idx);

/* Builds the maps from the committed rows of the events table (read on
 * `db`, outside any transaction), then swaps them in. 0, TLY_EIO or
 * TLY_ENOMEM (then the index is not ready). */
int tly_event_index_load(struct tly_event_index *idx, sqlite3 *db);
/* 1 once loaded, 0 before or after a failed load or apply. */
int tly_event_index_ready(struct tly_event_index *idx);
/* Marks the index not ready (it no longer matches the table). */
void tly_event_index_invalidate(struct tly_event_index *idx);

uint64_t tly_event_index_id_hash(const struct tly_event_index *idx, uint32_t tenant,
                                 const char *event_id);
uint64_t tly_event_index_user_hash(const struct tly_event_index *idx, uint32_t tenant,
                                   const char *user_id);

#define TLY_EVENT_INDEX_NOT_READY ((size_t)-1)

/* The rows under an id hash: returns how many there are (or
 * TLY_EVENT_INDEX_NOT_READY) and stores the `max` newest in rows[],
 * newest first. */
size_t tly_event_index_find(struct tly_event_index *idx, uint64_t id_hash, int64_t *rows,
                            size_t max);
/* The newest row under a user hash; 0 when none, -1 when not ready. */
int64_t tly_event_index_user_last(struct tly_event_index *idx, uint64_t user_hash);
/* Brings an id's entry into cache ahead of a find (writer thread). */
void tly_event_index_prefetch(struct tly_event_index *idx, uint64_t id_hash);

enum tly_event_index_op {
    TLY_EVENT_INDEX_ADD,     /* a new row: the id's and the user's newest */
    TLY_EVENT_INDEX_DROP_ID, /* a row no longer stands for its id (a newer one does) */
    TLY_EVENT_INDEX_REMOVE,  /* a deleted row */
};

struct tly_event_index_change {
    int op;
    uint64_t id_hash, user_hash;
    int64_t row;
};

/* Applies committed changes in order, under one lock. TLY_ENOMEM leaves
 * the index not ready (it must be loaded again). */
int tly_event_index_apply(struct tly_event_index *idx, const struct tly_event_index_change *ch,
                          size_t n);

struct tly_event_index_stats {
    size_t events, users, bytes;
};
void tly_event_index_stats(struct tly_event_index *idx, struct tly_event_index_stats *out);

#endif
