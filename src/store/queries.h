/*
 * Read queries (and the few writes) of the management API, on a pool
 * connection of the API (any thread but one at a time per connection).
 * Rows are handed to callbacks with pointers valid during the call; a
 * callback returns 0 to go on, > 0 to stop early, < 0 to fail the query.
 */
#ifndef TLY_STORE_QUERIES_H
#define TLY_STORE_QUERIES_H

#include "core/err.h"
#include "store/eventindex.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

struct tly_event_status {
    uint64_t offset;
    int32_t item;
    int64_t timestamp, received_at;
    int64_t duplicates, last_duplicate_at; /* last_duplicate_at 0 when none */
};

/* The newest row of the event id: 0 with `out`, TLY_ENOENT, or TLY_EIO.
 * `idx` is the pipeline's event index; when it is NULL (no pipeline in
 * this process) or not loaded yet, the table is scanned instead. */
int tly_query_event(sqlite3 *db, struct tly_event_index *idx, uint32_t tenant, const char *event_id,
                    struct tly_event_status *out);

struct tly_failed_view {
    int64_t id;
    int source, kind;
    uint64_t offset;
    int32_t item;
    const char *event_id; /* NULL when the item had none */
    const char *reason, *field, *message, *status;
    const char *raw;
    size_t raw_len;
    int64_t received_at, failed_at, replayed_at; /* replayed_at 0 when not */
    int attempts;
};

struct tly_failed_filter {
    int source;           /* -1 for any */
    const char *reason;   /* NULL for any */
    const char *status;   /* "failed", "replayed" or NULL for any */
    const char *event_id; /* NULL for any */
    int64_t since;        /* failed_at >= since (ms); 0 for any */
    int64_t before_id;    /* id < before_id (the cursor); 0 for none */
    int64_t id;           /* exactly this id; 0 for any */
    int limit;
};

/* Newest first. Stops early when fn returns non-zero. */
int tly_query_failed(sqlite3 *db, uint32_t tenant, const struct tly_failed_filter *f,
                     int (*fn)(const struct tly_failed_view *v, void *arg), void *arg);

struct tly_user_event_view {
    const char *event_id, *event_name;
    uint64_t offset;
    int32_t item;
    int64_t timestamp, received_at;
};

/* The user's processed events, newest first (`idx` as for
 * tly_query_event). */
int tly_query_user_events(sqlite3 *db, struct tly_event_index *idx, uint32_t tenant,
                          const char *user_id, int limit,
                          int (*fn)(const struct tly_user_event_view *v, void *arg), void *arg);

struct tly_user_view {
    int registered;
    int64_t created_at;
    const char *attributes;   /* JSON object text */
    const char *registration; /* JSON object text: anonymous_id, name, email, phone, profile */
};

/* TLY_ENOENT when unknown. */
int tly_query_user(sqlite3 *db, uint32_t tenant, const char *user_id,
                   int (*fn)(const struct tly_user_view *v, void *arg), void *arg);

/* Registers the user (creating it if needed) with these attributes (JSON
 * object text). *created tells whether it is new. tly_store_user_register2
 * also stores the registration's other fields (JSON object text). */
int tly_store_user_register2(sqlite3 *db, uint32_t tenant, const char *user_id,
                             const char *attributes, const char *registration, int64_t now,
                             int *created);
int tly_store_user_register(sqlite3 *db, uint32_t tenant, const char *user_id,
                            const char *attributes, int64_t now, int *created);

#endif
