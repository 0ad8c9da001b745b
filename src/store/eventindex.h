/*
 * The in-memory index of the processed events in the state store.
 *
 * The events table is written in arrival order (its row id), with no
 * secondary index on event or user ids: random-key B-tree inserts would
 * cost more than all the rest of the pipeline's work. Instead this index
 * maps
 *   hash(tenant, event_id) → row ids   (dedupe, GET /v1/events/{id})
 *   hash(tenant, user_id)  → the user's latest row id (the start of the
 *                            chain of the user's events, row.prev_user)
 * It is built from the table when the state store opens and rebuilt after
 * a rollback, so it always describes committed rows plus the rows of the
 * open transaction. Hashes may collide: every hit is confirmed against
 * the row itself.
 *
 * Memory: 16 bytes a slot at ≤ 1/2 load, so 32-64 bytes per event kept in
 * the dedupe window plus the same per user.
 *
 * Thread-safety: one writer (the pipeline thread) and any number of
 * readers (API threads); every call takes the index's lock.
 */
#ifndef TLY_STORE_EVENTINDEX_H
#define TLY_STORE_EVENTINDEX_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct tly_event_index;

int tly_event_index_new(struct tly_event_index **out);
void tly_event_index_free(struct tly_event_index *idx);

/* Replaces the contents with the rows of the events table. 0, TLY_EIO or
 * TLY_ENOMEM (then the index is empty and not ready). */
int tly_event_index_load(struct tly_event_index *idx, sqlite3 *db);
/* 1 once loaded (until a load starts again or fails), else 0: readers
 * that find the index not ready must look in the table instead. */
int tly_event_index_ready(struct tly_event_index *idx);

uint64_t tly_event_index_id_hash(uint32_t tenant, const char *event_id);
uint64_t tly_event_index_user_hash(uint32_t tenant, const char *user_id);

/* The rows whose event id has this hash: returns how many there are and
 * stores the `max` newest in rows[], newest first. */
size_t tly_event_index_find(struct tly_event_index *idx, uint64_t id_hash, int64_t *rows,
                            size_t max);
/* Brings the entry of an id into cache ahead of a tly_event_index_find
 * (the writer thread only, which needs no lock for it). */
void tly_event_index_prefetch(struct tly_event_index *idx, uint64_t id_hash);
/* The newest row of the user with this hash; 0 when none is known. */
int64_t tly_event_index_user_last(struct tly_event_index *idx, uint64_t user_hash);

/* A row was inserted: it is the user's newest. 0 or TLY_ENOMEM. */
int tly_event_index_add(struct tly_event_index *idx, uint64_t id_hash, uint64_t user_hash,
                        int64_t row);
/* A row was deleted; the user is forgotten when it was the user's newest. */
void tly_event_index_remove(struct tly_event_index *idx, uint64_t id_hash, uint64_t user_hash,
                            int64_t row);

struct tly_event_index_stats {
    size_t events, users, bytes;
};
void tly_event_index_stats(struct tly_event_index *idx, struct tly_event_index_stats *out);

#endif
