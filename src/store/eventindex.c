/*
 * The in-memory index of processed events (see eventindex.h).
 */
#include "store/eventindex.h"
#include "core/err.h"
#include "core/u64map.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct tly_event_index {
    pthread_rwlock_t lock;
    struct tly_u64map ids;   /* id hash → row (several rows per hash) */
    struct tly_u64map users; /* user hash → newest row */
    int ready;
};

int tly_event_index_new(struct tly_event_index **out)
{
    struct tly_event_index *idx = calloc(1, sizeof *idx);
    if (idx == NULL)
        return TLY_ENOMEM;
    if (pthread_rwlock_init(&idx->lock, NULL) != 0) {
        free(idx);
        return TLY_ENOMEM;
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

uint64_t tly_event_index_id_hash(uint32_t tenant, const char *event_id)
{
    return tly_u64map_hash(tenant, event_id, strlen(event_id));
}

uint64_t tly_event_index_user_hash(uint32_t tenant, const char *user_id)
{
    /* Another seed than event ids, although the maps are separate. */
    return tly_u64map_hash(tenant ^ 0x9e3779b9u, user_id, strlen(user_id));
}

int tly_event_index_load(struct tly_event_index *idx, sqlite3 *db)
{
    sqlite3_stmt *s;
    pthread_rwlock_wrlock(&idx->lock);
    idx->ready = 0;
    tly_u64map_clear(&idx->ids);
    tly_u64map_clear(&idx->users);
    int rc = TLY_EIO;
    if (sqlite3_prepare_v2(db, "SELECT id, tenant_id, event_id, user_id FROM events ORDER BY id",
                           -1, &s, NULL) == SQLITE_OK) {
        int step;
        rc = 0;
        while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
            int64_t row = sqlite3_column_int64(s, 0);
            uint32_t tenant = (uint32_t)sqlite3_column_int64(s, 1);
            const char *id = (const char *)sqlite3_column_text(s, 2);
            const char *user = (const char *)sqlite3_column_text(s, 3);
            if (id == NULL || user == NULL ||
                tly_u64map_add(&idx->ids, tly_event_index_id_hash(tenant, id), row) != 0 ||
                tly_u64map_set(&idx->users, tly_event_index_user_hash(tenant, user), row) != 0)
                rc = TLY_ENOMEM;
        }
        if (rc == 0 && step != SQLITE_DONE)
            rc = TLY_EIO;
        sqlite3_finalize(s);
    }
    if (rc != 0) {
        tly_u64map_clear(&idx->ids);
        tly_u64map_clear(&idx->users);
    }
    idx->ready = rc == 0;
    pthread_rwlock_unlock(&idx->lock);
    return rc;
}

int tly_event_index_ready(struct tly_event_index *idx)
{
    pthread_rwlock_rdlock(&idx->lock);
    int ready = idx->ready;
    pthread_rwlock_unlock(&idx->lock);
    return ready;
}

size_t tly_event_index_find(struct tly_event_index *idx, uint64_t id_hash, int64_t *rows,
                            size_t max)
{
    pthread_rwlock_rdlock(&idx->lock);
    size_t n = tly_u64map_get(&idx->ids, id_hash, rows, max); /* largest row ids first */
    pthread_rwlock_unlock(&idx->lock);
    return n;
}

void tly_event_index_prefetch(struct tly_event_index *idx, uint64_t id_hash)
{
    tly_u64map_prefetch(&idx->ids, id_hash);
}

int64_t tly_event_index_user_last(struct tly_event_index *idx, uint64_t user_hash)
{
    int64_t row = 0;
    pthread_rwlock_rdlock(&idx->lock);
    if (tly_u64map_get(&idx->users, user_hash, &row, 1) == 0)
        row = 0;
    pthread_rwlock_unlock(&idx->lock);
    return row;
}

int tly_event_index_add(struct tly_event_index *idx, uint64_t id_hash, uint64_t user_hash,
                        int64_t row)
{
    pthread_rwlock_wrlock(&idx->lock);
    int rc = tly_u64map_add(&idx->ids, id_hash, row);
    if (rc == 0 && tly_u64map_set(&idx->users, user_hash, row) != 0) {
        tly_u64map_remove(&idx->ids, id_hash, row);
        rc = TLY_ENOMEM;
    }
    pthread_rwlock_unlock(&idx->lock);
    return rc;
}

void tly_event_index_remove(struct tly_event_index *idx, uint64_t id_hash, uint64_t user_hash,
                            int64_t row)
{
    pthread_rwlock_wrlock(&idx->lock);
    tly_u64map_remove(&idx->ids, id_hash, row);
    tly_u64map_remove(&idx->users, user_hash, row);
    pthread_rwlock_unlock(&idx->lock);
}

void tly_event_index_stats(struct tly_event_index *idx, struct tly_event_index_stats *out)
{
    pthread_rwlock_rdlock(&idx->lock);
    out->events = idx->ids.count;
    out->users = idx->users.count;
    out->bytes = tly_u64map_bytes(&idx->ids) + tly_u64map_bytes(&idx->users);
    pthread_rwlock_unlock(&idx->lock);
}
