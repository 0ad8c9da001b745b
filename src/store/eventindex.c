/*
 * The in-memory index of processed events (see eventindex.h).
 */
#include "store/eventindex.h"
#include "core/err.h"
#include "core/siphash.h"
#include "core/u64map.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct tly_event_index {
    uint8_t key[16]; /* random, set once at creation */
    pthread_rwlock_t lock;
    struct tly_u64map ids;   /* id hash → row (one per id; colliding ids share a key) */
    struct tly_u64map users; /* user hash → newest row */
    int ready;
};

int tly_event_index_new(struct tly_event_index **out)
{
    struct tly_event_index *idx = calloc(1, sizeof *idx);
    if (idx == NULL)
        return TLY_ENOMEM;
    if (getrandom(idx->key, sizeof idx->key, 0) != (ssize_t)sizeof idx->key ||
        pthread_rwlock_init(&idx->lock, NULL) != 0) {
        free(idx);
        return TLY_EIO;
    }
    tly_u64map_init(&idx->ids);
    tly_u64map_init(&idx->users);
    *out = idx;
    return 0;
}

void tly_event_index_free(struct tly_event_index *idx)
{
    if (idx == NULL)
        return;
    tly_u64map_free(&idx->ids);
    tly_u64map_free(&idx->users);
    pthread_rwlock_destroy(&idx->lock);
    free(idx);
}

/* SipHash of the string under the index key with the tenant (and a domain
 * byte, so ids and users never share hashes) folded into it. */
static uint64_t keyed_hash(const struct tly_event_index *idx, uint8_t domain, uint32_t tenant,
                           const char *s)
{
    uint8_t key[16];
    memcpy(key, idx->key, sizeof key);
    for (int i = 0; i < 4; i++)
        key[i] ^= (uint8_t)(tenant >> (8 * i));
    key[15] ^= domain;
    uint64_t h = tly_siphash24(key, s, strlen(s));
    return h != 0 ? h : 1; /* 0 marks an empty slot */
}

uint64_t tly_event_index_id_hash(const struct tly_event_index *idx, uint32_t tenant,
                                 const char *event_id)
{
    return keyed_hash(idx, 1, tenant, event_id);
}

uint64_t tly_event_index_user_hash(const struct tly_event_index *idx, uint32_t tenant,
                                   const char *user_id)
{
    return keyed_hash(idx, 2, tenant, user_id);
}

/* Whether row `row` is (tenant, event_id). */
static int row_is(sqlite3_stmt *get, int64_t row, uint32_t tenant, const char *event_id)
{
    sqlite3_reset(get);
    sqlite3_bind_int64(get, 1, row);
    if (sqlite3_step(get) != SQLITE_ROW)
        return 0;
    const char *id = (const char *)sqlite3_column_text(get, 1);
    return (uint32_t)sqlite3_column_int64(get, 0) == tenant && id != NULL &&
           strcmp(id, event_id) == 0;
}

/* Puts the rows of the events table into ids and users, oldest first, so
 * that the newest row of a user is the one kept and an id's older rows
 * (sent again past the window) drop out. */
static int load_maps(struct tly_event_index *idx, sqlite3 *db, struct tly_u64map *ids,
                     struct tly_u64map *users)
{
    sqlite3_stmt *scan = NULL, *get = NULL;
    int rc = TLY_EIO;
    if (sqlite3_prepare_v2(db, "SELECT id, tenant_id, event_id, user_id FROM events ORDER BY id",
                           -1, &scan, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT tenant_id, event_id FROM events WHERE id = ?1", -1, &get,
                           NULL) != SQLITE_OK)
        goto out;
    int step = SQLITE_DONE;
    rc = 0;
    while (rc == 0 && (step = sqlite3_step(scan)) == SQLITE_ROW) {
        int64_t row = sqlite3_column_int64(scan, 0);
        uint32_t tenant = (uint32_t)sqlite3_column_int64(scan, 1);
        const char *id = (const char *)sqlite3_column_text(scan, 2);
        const char *user = (const char *)sqlite3_column_text(scan, 3);
        if (id == NULL || user == NULL)
            continue;
        uint64_t h = tly_event_index_id_hash(idx, tenant, id);
        int64_t older[4];
        size_t n = tly_u64map_get(ids, h, older, 4);
        for (size_t i = 0; i < n && i < 4; i++)
            if (row_is(get, older[i], tenant, id))
                tly_u64map_remove(ids, h, older[i]);
        if (tly_u64map_add(ids, h, row) != 0 ||
            tly_u64map_set(users, tly_event_index_user_hash(idx, tenant, user), row) != 0)
            rc = TLY_ENOMEM;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = TLY_EIO;
out:
    sqlite3_finalize(scan);
    sqlite3_finalize(get);
    return rc;
}

int tly_event_index_load(struct tly_event_index *idx, sqlite3 *db)
{
    struct tly_u64map ids, users;
    tly_u64map_init(&ids);
    tly_u64map_init(&users);
    int rc = load_maps(idx, db, &ids, &users); /* readers go on meanwhile */
    pthread_rwlock_wrlock(&idx->lock);
    struct tly_u64map old_ids = idx->ids, old_users = idx->users;
    if (rc == 0) {
        idx->ids = ids;
        idx->users = users;
    } else {
        tly_u64map_init(&idx->ids);
        tly_u64map_init(&idx->users);
    }
    idx->ready = rc == 0;
    pthread_rwlock_unlock(&idx->lock);
    tly_u64map_free(&old_ids);
    tly_u64map_free(&old_users);
    if (rc != 0) {
        tly_u64map_free(&ids);
        tly_u64map_free(&users);
    }
    return rc;
}

int tly_event_index_ready(struct tly_event_index *idx)
{
    pthread_rwlock_rdlock(&idx->lock);
    int ready = idx->ready;
    pthread_rwlock_unlock(&idx->lock);
    return ready;
}

void tly_event_index_invalidate(struct tly_event_index *idx)
{
    pthread_rwlock_wrlock(&idx->lock);
    idx->ready = 0;
    pthread_rwlock_unlock(&idx->lock);
}

size_t tly_event_index_find(struct tly_event_index *idx, uint64_t id_hash, int64_t *rows,
                            size_t max)
{
    pthread_rwlock_rdlock(&idx->lock);
    size_t n = idx->ready ? tly_u64map_get(&idx->ids, id_hash, rows, max) /* newest first */
                          : TLY_EVENT_INDEX_NOT_READY;
    pthread_rwlock_unlock(&idx->lock);
    return n;
}

int64_t tly_event_index_user_last(struct tly_event_index *idx, uint64_t user_hash)
{
    int64_t row = 0;
    pthread_rwlock_rdlock(&idx->lock);
    if (!idx->ready)
        row = -1;
    else if (tly_u64map_get(&idx->users, user_hash, &row, 1) == 0)
        row = 0;
    pthread_rwlock_unlock(&idx->lock);
    return row;
}

void tly_event_index_prefetch(struct tly_event_index *idx, uint64_t id_hash)
{
    tly_u64map_prefetch(&idx->ids, id_hash);
}

int tly_event_index_apply(struct tly_event_index *idx, const struct tly_event_index_change *ch,
                          size_t n)
{
    int rc = 0;
    pthread_rwlock_wrlock(&idx->lock);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct tly_event_index_change *c = &ch[i];
        switch (c->op) {
        case TLY_EVENT_INDEX_ADD:
            if (tly_u64map_add(&idx->ids, c->id_hash, c->row) != 0 ||
                tly_u64map_set(&idx->users, c->user_hash, c->row) != 0)
                rc = TLY_ENOMEM;
            break;
        case TLY_EVENT_INDEX_DROP_ID:
            tly_u64map_remove(&idx->ids, c->id_hash, c->row);
            break;
        case TLY_EVENT_INDEX_REMOVE:
            tly_u64map_remove(&idx->ids, c->id_hash, c->row);
            tly_u64map_remove(&idx->users, c->user_hash, c->row);
            break;
        }
    }
    if (rc != 0)
        idx->ready = 0;
    pthread_rwlock_unlock(&idx->lock);
    return rc;
}

void tly_event_index_stats(struct tly_event_index *idx, struct tly_event_index_stats *out)
{
    pthread_rwlock_rdlock(&idx->lock);
    out->events = idx->ids.count;
    out->users = idx->users.count;
    out->bytes = tly_u64map_bytes(&idx->ids) + tly_u64map_bytes(&idx->users);
    pthread_rwlock_unlock(&idx->lock);
}
