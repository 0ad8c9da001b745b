/*
 * Segment definitions and members in state.db (migrations 9 and 11:
 * tables segments and segment_members; the evaluator's per-user state,
 * segment_users, is engine/segment_eval.c's).
 *
 * A definition is stored as the canonical JSON of tly_segment_to_json
 * (engine/segment.h); this module does not parse it. Members are rows of
 * segment_members (user, entered_at in ms); a user who leaves loses the
 * row. Member pages are ordered by user id (keyset: "after" a user id).
 *
 * Deleting a segment removes its definition and members in one
 * transaction (its uid goes with it, and so, lazily, the evaluator's state
 * under it). Replacing one whose rules changed moves its rules generation
 * on, so the events counted so far are forgotten (the members stay until
 * judged again).
 *
 * Every function works on a connection borrowed for the call and keeps
 * nothing; strings passed in are borrowed for the call. Errors: TLY_EIO
 * for a store failure.
 */
#ifndef TLY_STORE_SEGMENTS_H
#define TLY_STORE_SEGMENTS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct tly_segment_row {
    uint32_t tenant;
    const char *id;
    int64_t uid;
    uint32_t gen;     /* rules generation: moves on when the rules change */
    const char *kind; /* "static" or "event" */
    const char *definition;
    size_t len;
    int64_t created_at, updated_at;
    int64_t members; /* -1 when not counted */
};

typedef int (*tly_segment_row_fn)(void *arg, const struct tly_segment_row *row);

/* 0; TLY_EEXIST when the tenant has a segment with this id. */
int tly_segment_create(sqlite3 *db, uint32_t tenant, const char *id, const char *kind,
                       const char *definition, int64_t now);
/* Calls fn with the segment (members counted). 0; TLY_ENOENT. */
int tly_segment_get(sqlite3 *db, uint32_t tenant, const char *id, tly_segment_row_fn fn, void *arg);
/* The tenant's segments by id (members counted); tenant 0: every tenant's
 * (members not counted), for loaders. */
int tly_segments_list(sqlite3 *db, uint32_t tenant, tly_segment_row_fn fn, void *arg);
/* Replaces the definition; clear_history forgets the counted events (a
 * new rules generation). 0; TLY_ENOENT. */
int tly_segment_replace(sqlite3 *db, uint32_t tenant, const char *id, const char *kind,
                        const char *definition, int clear_history, int64_t now);
/* 0; TLY_ENOENT. */
int tly_segment_delete(sqlite3 *db, uint32_t tenant, const char *id);

/* "static", "event", or TLY_ENOENT: the kind of the tenant's segment `id`
 * into kind[8]. */
int tly_segment_kind(sqlite3 *db, uint32_t tenant, const char *id, char kind[8]);

/* Adds (or removes) the `n` users in one transaction, unless the caller
 * holds one already (in_tx). *changed counts the rows added (removed). */
int tly_segment_members_add(sqlite3 *db, uint32_t tenant, const char *id, const char *const *users,
                            size_t n, int64_t now, int in_tx, int64_t *changed);
int tly_segment_members_remove(sqlite3 *db, uint32_t tenant, const char *id,
                               const char *const *users, size_t n, int64_t *changed);

/* 0 with *entered_at when `user` is a member; TLY_ENOENT when not. */
int tly_segment_member(sqlite3 *db, uint32_t tenant, const char *id, const char *user,
                       int64_t *entered_at);

/* Members after `after` ("" for the first page), at most `limit`, by user
 * id; fn(arg, user, entered_at). */
int tly_segment_members_page(sqlite3 *db, uint32_t tenant, const char *id, const char *after,
                             int limit, int (*fn)(void *arg, const char *user, int64_t entered_at),
                             void *arg);

/* Identity merge: `to` becomes a member (entered_at `now`) of every static
 * segment `from` is a member of; memberships `to` has already stay as
 * they are. Inside the caller's transaction. 0 or TLY_EIO. */
int tly_segment_members_merge_static(sqlite3 *db, uint32_t tenant, const char *from, const char *to,
                                     int64_t now);

/* The segments `user` is a member of, by segment id. */
int tly_segment_user_segments(sqlite3 *db, uint32_t tenant, const char *user,
                              int (*fn)(void *arg, const char *id, int64_t entered_at), void *arg);

#endif
