/*
 * The pipeline's state store on SQLite (see state.h).
 *
 * Statements are prepared once per connection. The connection runs with
 * synchronous=NORMAL: in WAL mode a power loss can only take away the last
 * transactions whole, position included, and the pipeline then redoes them
 * from the event log, which is the system of record. Automatic checkpoints
 * are off on this connection; the pipeline's checkpointer runs them on its
 * own connection, off the hot path.
 *
 * Events are appended in arrival order and found through the in-memory
 * index of eventindex.h. The index describes committed rows only: changes
 * made in a transaction are staged here (and consulted by this writer),
 * applied to the index after COMMIT and dropped on ROLLBACK.
 *
 * One process at a time may write the pipeline's state; the commands that
 * open the store hold the data directory's lock (core/fsutil.h).
 */
#include "store/state.h"
#include "core/u64map.h"
#include "store/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FIND_MAX 16 /* rows looked at for one event id (see record_event) */

enum {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_GET_POS,
    S_SET_POS,
    S_EV_INSERT,
    S_EV_GET,
    S_EV_DUP,
    S_USER_GET,
    S_USER_TOUCH,
    S_FAIL_ADD,
    S_FAIL_GET,
    S_FAIL_REPLAYED,
    S_FAIL_AGAIN,
    S_PRUNE_SCAN,
    S_PRUNE_DELETE,
    S_DATA_VERSION,
    S_PROFILE_GET,
    S_PROFILE_SET,
    S_LINK_ADD,
    S_LINK_FIND,
    S_LINK_ANY,
    S_COUNT
};

static const char *const sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_GET_POS] = "SELECT position FROM consumers WHERE name = ?1",
    [S_SET_POS] = "INSERT INTO consumers (name, position, updated_at) VALUES (?1, ?2, ?3) "
                  "ON CONFLICT (name) DO UPDATE SET position = excluded.position, "
                  "updated_at = excluded.updated_at",
    [S_EV_INSERT] = "INSERT INTO events (tenant_id, event_id, log_offset, item, user_id, "
                    "event_name, ts, received_at, prev_user) "
                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    [S_EV_GET] = "SELECT tenant_id, event_id, received_at FROM events WHERE id = ?1",
    [S_EV_DUP] = "UPDATE events SET duplicates = duplicates + 1, last_duplicate_at = ?2 "
                 "WHERE id = ?1",
    [S_USER_GET] = "SELECT registered FROM users WHERE tenant_id = ?1 AND user_id = ?2",
    [S_USER_TOUCH] = "INSERT INTO users (tenant_id, user_id, registered, created_at) "
                     "VALUES (?1, ?2, 0, ?3) ON CONFLICT DO NOTHING",
    [S_FAIL_ADD] = "INSERT INTO failed_events (tenant_id, source, kind, log_offset, item, "
                   "event_id, reason, field, message, raw, meta, received_at, failed_at) "
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    [S_FAIL_GET] = "SELECT source, kind, log_offset, item, status, raw, meta, received_at "
                   "FROM failed_events WHERE id = ?1 AND tenant_id = ?2",
    [S_FAIL_REPLAYED] = "UPDATE failed_events SET status = 'replayed', replayed_at = ?2 "
                        "WHERE id = ?1",
    [S_FAIL_AGAIN] = "UPDATE failed_events SET reason = ?2, field = ?3, message = ?4, "
                     "failed_at = ?5, attempts = attempts + 1 WHERE id = ?1",
    [S_PRUNE_SCAN] = "SELECT id, tenant_id, event_id, user_id, received_at FROM events "
                     "WHERE id > ?1 ORDER BY id LIMIT ?2",
    [S_PRUNE_DELETE] = "DELETE FROM events WHERE id = ?1",
    [S_DATA_VERSION] = "PRAGMA data_version",
    [S_PROFILE_GET] = "SELECT attributes, attribute_times FROM users "
                      "WHERE tenant_id = ?1 AND user_id = ?2",
    [S_PROFILE_SET] = "INSERT INTO users (tenant_id, user_id, registered, created_at, attributes, "
                      "attribute_times) VALUES (?1, ?2, 0, ?3, ?4, ?5) "
                      "ON CONFLICT (tenant_id, user_id) DO UPDATE SET "
                      "attributes = excluded.attributes, "
                      "attribute_times = excluded.attribute_times",
    [S_LINK_ADD] = "INSERT INTO identity_links (tenant_id, previous_id, user_id, ts, created_at) "
                   "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
    [S_LINK_FIND] = "SELECT user_id FROM identity_links WHERE tenant_id = ?1 AND previous_id = ?2 "
                    "ORDER BY ts DESC, created_at DESC, user_id LIMIT 1",
    [S_LINK_ANY] = "SELECT 1 FROM identity_links WHERE tenant_id = ?1 LIMIT 1",
};

struct tly_state {
    struct tly_db *db;
    sqlite3 *h;
    sqlite3_stmt *st[S_COUNT];
    long data_version;
    struct tly_event_index *index;
    /* The open transaction's index changes: in order (applied at commit),
     * and as maps this writer consults before the index. */
    struct tly_event_index_change *staged;
    size_t nstaged, cstaged;
    struct tly_u64map staged_ids;   /* id hash → row added in the transaction */
    struct tly_u64map staged_users; /* user hash → newest row added in it */
};

static void unstage(struct tly_state *st)
{
    st->nstaged = 0;
    if (st->staged_ids.count > 0)
        tly_u64map_empty(&st->staged_ids);
    if (st->staged_users.count > 0)
        tly_u64map_empty(&st->staged_users);
}

/* The staged changes are committed: readers may see them now. On ENOMEM
 * the index is left not ready; the pipeline loads it again. */
static void publish(struct tly_state *st)
{
    tly_event_index_apply(st->index, st->staged, st->nstaged);
    unstage(st);
}

/* Stages one change; outside a transaction (autocommit) the change is
 * already committed and published at once. */
static int stage(struct tly_state *st, int op, uint64_t id_hash, uint64_t user_hash, int64_t row)
{
    if (st->nstaged == st->cstaged) {
        size_t cap = st->cstaged ? st->cstaged * 2 : 1024;
        struct tly_event_index_change *c = realloc(st->staged, cap * sizeof *c);
        if (c == NULL)
            return TLY_ENOMEM;
        st->staged = c;
        st->cstaged = cap;
    }
    st->staged[st->nstaged++] = (struct tly_event_index_change){op, id_hash, user_hash, row};
    int rc = 0;
    if (op == TLY_EVENT_INDEX_ADD && (tly_u64map_add(&st->staged_ids, id_hash, row) != 0 ||
                                      tly_u64map_set(&st->staged_users, user_hash, row) != 0))
        rc = TLY_ENOMEM;
    if (op == TLY_EVENT_INDEX_DROP_ID)
        tly_u64map_remove(&st->staged_ids, id_hash, row);
    if (sqlite3_get_autocommit(st->h))
        publish(st);
    return rc;
}

int tly_state_open(struct tly_state **out, const char *path, struct tly_error *err)
{
    struct tly_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return TLY_ENOMEM;
    tly_u64map_init(&st->staged_ids);
    tly_u64map_init(&st->staged_users);
    int rc = tly_db_open(&st->db, path, err);
    if (rc != 0) {
        tly_state_close(st);
        return rc;
    }
    st->h = tly_db_sqlite(st->db);
    char *msg = NULL;
    if (sqlite3_exec(st->h,
                     "PRAGMA synchronous=NORMAL; PRAGMA wal_autocheckpoint=0; "
                     "PRAGMA cache_size=-131072; PRAGMA temp_store=MEMORY;",
                     NULL, NULL, &msg) != SQLITE_OK) {
        tly_error_set(err, TLY_EIO, "", "state.db: %s", msg ? msg : "pragma failed");
        sqlite3_free(msg);
        tly_state_close(st);
        return TLY_EIO;
    }
    for (int i = 0; i < S_COUNT; i++) {
        if (sqlite3_prepare_v3(st->h, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->st[i], NULL) !=
            SQLITE_OK) {
            tly_error_set(err, TLY_EIO, "", "state.db: %s", sqlite3_errmsg(st->h));
            tly_state_close(st);
            return TLY_EIO;
        }
    }
    st->data_version = -1;
    tly_state_changed_elsewhere(st);
    if (tly_event_index_new(&st->index) != 0) {
        tly_error_set(err, TLY_ENOMEM, "", "out of memory");
        tly_state_close(st);
        return TLY_ENOMEM;
    }
    *out = st;
    return 0;
}

void tly_state_close(struct tly_state *st)
{
    if (st == NULL)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(st->st[i]);
    tly_db_close(st->db);
    tly_event_index_free(st->index);
    free(st->staged);
    tly_u64map_free(&st->staged_ids);
    tly_u64map_free(&st->staged_users);
    free(st);
}

struct tly_event_index *tly_state_event_index(struct tly_state *st)
{
    return st->index;
}

int tly_state_load_index(struct tly_state *st)
{
    return tly_event_index_load(st->index, st->h);
}

sqlite3 *tly_state_sqlite(struct tly_state *st)
{
    return st->h;
}

/* Runs a statement to completion; SQLITE_ROW results are ignored. */
static int run(struct tly_state *st, int i)
{
    sqlite3_stmt *s = st->st[i];
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        ;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE ? 0 : TLY_EIO;
}

int tly_state_changed_elsewhere(struct tly_state *st)
{
    sqlite3_stmt *s = st->st[S_DATA_VERSION];
    long v = -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = (long)sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    int changed = v != st->data_version;
    st->data_version = v;
    return changed;
}

int tly_state_begin(struct tly_state *st)
{
    return run(st, S_BEGIN);
}

int tly_state_commit(struct tly_state *st)
{
    int rc = run(st, S_COMMIT);
    if (rc == 0)
        publish(st);
    return rc;
}

void tly_state_rollback(struct tly_state *st)
{
    if (!sqlite3_get_autocommit(st->h))
        run(st, S_ROLLBACK);
    unstage(st); /* the index never saw them */
}

int tly_state_get_position(struct tly_state *st, const char *consumer, uint64_t *pos)
{
    sqlite3_stmt *s = st->st[S_GET_POS];
    sqlite3_bind_text(s, 1, consumer, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    *pos = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : TLY_EIO;
}

int tly_state_set_position(struct tly_state *st, const char *consumer, uint64_t pos)
{
    sqlite3_stmt *s = st->st[S_SET_POS];
    sqlite3_bind_text(s, 1, consumer, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (int64_t)pos);
    sqlite3_bind_int64(s, 3, (int64_t)time(NULL) * 1000);
    return run(st, S_SET_POS);
}

/* Checks the candidate rows (newest first) for (tenant, event_id): 1 with
 * *row and *received_at for the first that is it, 0 none, or TLY_EIO. */
static int confirm(struct tly_state *st, const int64_t *rows, size_t n, uint32_t tenant,
                   const char *event_id, int64_t *row, int64_t *received_at)
{
    sqlite3_stmt *s = st->st[S_EV_GET];
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(s, 1, rows[i]);
        int rc = sqlite3_step(s);
        int match = rc == SQLITE_ROW && (uint32_t)sqlite3_column_int64(s, 0) == tenant &&
                    strcmp((const char *)sqlite3_column_text(s, 1), event_id) == 0;
        if (match)
            *received_at = sqlite3_column_int64(s, 2);
        sqlite3_reset(s);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return TLY_EIO;
        if (match) {
            *row = rows[i];
            return 1;
        }
    }
    return 0;
}

/* The newest row of (tenant, event_id), staged in this transaction or
 * committed: 1 found, 0 not, TLY_EIO, or TLY_EBUSY when the index is not
 * ready. Rows of other ids under the same hash are skipped. */
static int find_event(struct tly_state *st, uint32_t tenant, const char *event_id, uint64_t h,
                      int64_t *row, int64_t *received_at)
{
    int64_t rows[FIND_MAX];
    size_t n = tly_u64map_get(&st->staged_ids, h, rows, FIND_MAX); /* newer than committed */
    int rc = confirm(st, rows, n < FIND_MAX ? n : FIND_MAX, tenant, event_id, row, received_at);
    if (rc != 0)
        return rc;
    n = tly_event_index_find(st->index, h, rows, FIND_MAX);
    if (n == TLY_EVENT_INDEX_NOT_READY)
        return TLY_EBUSY;
    return confirm(st, rows, n < FIND_MAX ? n : FIND_MAX, tenant, event_id, row, received_at);
}

int tly_state_record_event(struct tly_state *st, const struct tly_event_row *row, int64_t window_ms,
                           int *dup)
{
    *dup = 0;
    uint64_t h = row->id_hash != 0 ? row->id_hash
                                   : tly_event_index_id_hash(st->index, row->tenant, row->event_id);
    int64_t found = 0, first = 0;
    int rc = find_event(st, row->tenant, row->event_id, h, &found, &first);
    if (rc < 0)
        return rc == TLY_EBUSY ? TLY_EIO : rc; /* index not loaded: retry the batch */
    if (rc == 1 && window_ms > 0 && row->received_at - first < window_ms) {
        sqlite3_stmt *s = st->st[S_EV_DUP];
        sqlite3_bind_int64(s, 1, found);
        sqlite3_bind_int64(s, 2, row->received_at);
        *dup = 1;
        return run(st, S_EV_DUP);
    }
    /* New, or seen before the window: a row of its own, which the index
     * takes for the id (the old row stays in the user's chain until it is
     * pruned). */
    uint64_t uh = tly_event_index_user_hash(st->index, row->tenant, row->user_id);
    int64_t prev = 0;
    if (tly_u64map_get(&st->staged_users, uh, &prev, 1) == 0)
        prev = tly_event_index_user_last(st->index, uh);
    if (prev < 0)
        return TLY_EIO;
    sqlite3_stmt *s = st->st[S_EV_INSERT];
    sqlite3_bind_int64(s, 1, row->tenant);
    sqlite3_bind_text(s, 2, row->event_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (int64_t)row->offset);
    sqlite3_bind_int(s, 4, row->item);
    sqlite3_bind_text(s, 5, row->user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, row->event_name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, row->timestamp);
    sqlite3_bind_int64(s, 8, row->received_at);
    if (prev > 0)
        sqlite3_bind_int64(s, 9, prev);
    if (run(st, S_EV_INSERT) != 0)
        return TLY_EIO;
    if ((found > 0 && stage(st, TLY_EVENT_INDEX_DROP_ID, h, uh, found) != 0) ||
        stage(st, TLY_EVENT_INDEX_ADD, h, uh, sqlite3_last_insert_rowid(st->h)) != 0)
        return TLY_ENOMEM;
    if (prev > 0)
        return 0; /* the user has a row already (a 64-bit hash collision
                     between two users of a tenant would skip this; see
                     eventindex.h) */
    s = st->st[S_USER_TOUCH];
    sqlite3_bind_int64(s, 1, row->tenant);
    sqlite3_bind_text(s, 2, row->user_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, row->received_at);
    return run(st, S_USER_TOUCH);
}

int tly_state_user_status(struct tly_state *st, uint32_t tenant, const char *user_id)
{
    sqlite3_stmt *s = st->st[S_USER_GET];
    sqlite3_bind_int64(s, 1, tenant);
    sqlite3_bind_text(s, 2, user_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    int result = rc == SQLITE_ROW    ? sqlite3_column_int(s, 0) != 0
                 : rc == SQLITE_DONE ? TLY_ENOENT
                                     : TLY_EIO;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return result;
}

static char *column_copy(sqlite3_stmt *s, int col)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    size_t n = (size_t)sqlite3_column_bytes(s, col);
    char *c = malloc(n + 1);
    if (c != NULL) {
        memcpy(c, t ? t : "", n);
        c[n] = '\0';
    }
    return c;
}

int tly_state_user_profile(struct tly_state *st, uint32_t tenant, const char *user_id,
                           char **attributes, char **times)
{
    *attributes = *times = NULL;
    sqlite3_stmt *s = st->st[S_PROFILE_GET];
    sqlite3_bind_int64(s, 1, tenant);
    sqlite3_bind_text(s, 2, user_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *attributes = column_copy(s, 0);
        *times = column_copy(s, 1);
        rc = *attributes != NULL && *times != NULL ? 0 : TLY_ENOMEM;
    } else {
        rc = rc == SQLITE_DONE ? TLY_ENOENT : TLY_EIO;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != 0) {
        free(*attributes);
        free(*times);
        *attributes = *times = NULL;
    }
    return rc;
}

int tly_state_set_user_profile(struct tly_state *st, uint32_t tenant, const char *user_id,
                               const char *attributes, const char *times, int64_t now)
{
    sqlite3_stmt *s = st->st[S_PROFILE_SET];
    sqlite3_bind_int64(s, 1, tenant);
    sqlite3_bind_text(s, 2, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, now);
    sqlite3_bind_text(s, 4, attributes, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, times, -1, SQLITE_STATIC);
    return run(st, S_PROFILE_SET);
}

int tly_state_add_identity_link(struct tly_state *st, uint32_t tenant, const char *previous_id,
                                const char *user_id, int64_t ts, int64_t now)
{
    sqlite3_stmt *s = st->st[S_LINK_ADD];
    sqlite3_bind_int64(s, 1, tenant);
    sqlite3_bind_text(s, 2, previous_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, ts);
    sqlite3_bind_int64(s, 5, now);
    return run(st, S_LINK_ADD);
}

int tly_state_identity_of(struct tly_state *st, uint32_t tenant, const char *previous_id,
                          char **user_id)
{
    *user_id = NULL;
    sqlite3_stmt *s = st->st[S_LINK_FIND];
    sqlite3_bind_int64(s, 1, tenant);
    sqlite3_bind_text(s, 2, previous_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *user_id = column_copy(s, 0);
        rc = *user_id != NULL ? 0 : TLY_ENOMEM;
    } else {
        rc = rc == SQLITE_DONE ? TLY_ENOENT : TLY_EIO;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

int tly_state_any_identity_link(struct tly_state *st, uint32_t tenant)
{
    sqlite3_stmt *s = st->st[S_LINK_ANY];
    sqlite3_bind_int64(s, 1, tenant);
    int rc = sqlite3_step(s);
    rc = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : TLY_EIO;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc;
}

int tly_state_add_failed(struct tly_state *st, const struct tly_failed_row *r, int64_t now)
{
    sqlite3_stmt *s = st->st[S_FAIL_ADD];
    sqlite3_bind_int64(s, 1, r->tenant);
    sqlite3_bind_int(s, 2, r->source);
    sqlite3_bind_int(s, 3, r->kind);
    sqlite3_bind_int64(s, 4, (int64_t)r->offset);
    sqlite3_bind_int(s, 5, r->item);
    if (r->event_id != NULL)
        sqlite3_bind_text(s, 6, r->event_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 7, tly_fail_reason_name(r->failure->reason), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 8, r->failure->field, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 9, r->failure->message, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 10, r->raw, (int)r->raw_len, SQLITE_STATIC);
    sqlite3_bind_blob(s, 11, r->meta ? r->meta : "", (int)r->meta_len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 12, r->received_at);
    sqlite3_bind_int64(s, 13, now);
    return run(st, S_FAIL_ADD);
}

static char *copy_blob(sqlite3_stmt *s, int col, size_t *len)
{
    int n = sqlite3_column_bytes(s, col);
    const void *p = sqlite3_column_blob(s, col);
    char *c = malloc((size_t)n + 1);
    if (c == NULL)
        return NULL;
    if (n > 0)
        memcpy(c, p, (size_t)n);
    c[n] = '\0';
    *len = (size_t)n;
    return c;
}

int tly_state_get_failed(struct tly_state *st, uint32_t tenant, int64_t id,
                         struct tly_failed_item *out)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *s = st->st[S_FAIL_GET];
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, tenant);
    int rc = sqlite3_step(s);
    int result = 0;
    if (rc == SQLITE_ROW) {
        out->id = id;
        out->tenant = tenant;
        out->source = (uint8_t)sqlite3_column_int(s, 0);
        out->kind = (uint8_t)sqlite3_column_int(s, 1);
        out->offset = (uint64_t)sqlite3_column_int64(s, 2);
        out->item = sqlite3_column_int(s, 3);
        out->replayed = strcmp((const char *)sqlite3_column_text(s, 4), "replayed") == 0;
        out->raw = copy_blob(s, 5, &out->raw_len);
        out->meta = copy_blob(s, 6, &out->meta_len);
        out->received_at = sqlite3_column_int64(s, 7);
        if (out->raw == NULL || out->meta == NULL)
            result = TLY_ENOMEM;
    } else {
        result = rc == SQLITE_DONE ? TLY_ENOENT : TLY_EIO;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (result != 0)
        tly_failed_item_free(out);
    return result;
}

void tly_failed_item_free(struct tly_failed_item *it)
{
    free(it->raw);
    free(it->meta);
    it->raw = it->meta = NULL;
}

int tly_state_failed_replayed(struct tly_state *st, int64_t id, int64_t now)
{
    sqlite3_stmt *s = st->st[S_FAIL_REPLAYED];
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, now);
    return run(st, S_FAIL_REPLAYED);
}

int tly_state_failed_again(struct tly_state *st, int64_t id, const struct tly_failure *f,
                           int64_t now)
{
    sqlite3_stmt *s = st->st[S_FAIL_AGAIN];
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, tly_fail_reason_name(f->reason), -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, f->field, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, f->message, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, now);
    return run(st, S_FAIL_AGAIN);
}

void tly_prune_init(struct tly_prune *pr, int64_t (*cutoff)(void *arg, uint32_t tenant), void *arg,
                    int64_t stop_at)
{
    memset(pr, 0, sizeof *pr);
    pr->cutoff = cutoff;
    pr->arg = arg;
    pr->stop_at = stop_at;
    tly_u64map_init(&pr->kept);
}

void tly_prune_free(struct tly_prune *pr)
{
    tly_u64map_free(&pr->kept);
}

int tly_state_prune_events(struct tly_state *st, struct tly_prune *pr, int limit, int *deleted)
{
    *deleted = 0;
    struct gone {
        int64_t row;
        uint64_t id_hash, user_hash;
    } *gone = limit > 0 ? malloc((size_t)limit * sizeof *gone) : NULL;
    if (gone == NULL)
        return limit > 0 ? TLY_ENOMEM : 0;
    /* Collect first, then delete: no writes while the scan is open. */
    sqlite3_stmt *scan = st->st[S_PRUNE_SCAN];
    sqlite3_bind_int64(scan, 1, pr->cursor);
    sqlite3_bind_int(scan, 2, limit);
    int n = 0, scanned = 0, rc = SQLITE_DONE;
    while (!pr->done && (rc = sqlite3_step(scan)) == SQLITE_ROW) {
        int64_t row = sqlite3_column_int64(scan, 0);
        uint32_t tenant = (uint32_t)sqlite3_column_int64(scan, 1);
        int64_t received_at = sqlite3_column_int64(scan, 4);
        if (received_at >= pr->stop_at) {
            pr->done = 1; /* no tenant's rows from here on are old enough */
            break;
        }
        scanned++;
        pr->cursor = row;
        uint64_t tkey = (uint64_t)tenant + 1; /* map keys are nonzero */
        if (tly_u64map_get(&pr->kept, tkey, NULL, 0) > 0)
            continue;
        if (received_at >= pr->cutoff(pr->arg, tenant)) {
            if (tly_u64map_add(&pr->kept, tkey, 1) != 0) {
                rc = SQLITE_NOMEM;
                break;
            }
            continue;
        }
        const char *id = (const char *)sqlite3_column_text(scan, 2);
        const char *user = (const char *)sqlite3_column_text(scan, 3);
        gone[n].row = row;
        gone[n].id_hash = tly_event_index_id_hash(st->index, tenant, id ? id : "");
        gone[n].user_hash = tly_event_index_user_hash(st->index, tenant, user ? user : "");
        n++;
    }
    sqlite3_reset(scan);
    sqlite3_clear_bindings(scan);
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : rc == SQLITE_NOMEM ? TLY_ENOMEM : TLY_EIO;
    if (rc == 0 && scanned < limit)
        pr->done = 1; /* the end of the table */
    for (int i = 0; rc == 0 && i < n; i++) {
        sqlite3_bind_int64(st->st[S_PRUNE_DELETE], 1, gone[i].row);
        rc = run(st, S_PRUNE_DELETE);
        if (rc == 0)
            rc = stage(st, TLY_EVENT_INDEX_REMOVE, gone[i].id_hash, gone[i].user_hash, gone[i].row);
        if (rc == 0)
            (*deleted)++;
    }
    free(gone);
    return rc;
}

int tly_state_tenant_ids(struct tly_state *st, uint32_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->h, "SELECT id FROM tenants ORDER BY id", -1, &s, NULL) != SQLITE_OK)
        return TLY_EIO;
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            uint32_t *p = realloc(*ids, cap * sizeof *p);
            if (p == NULL) {
                rc = SQLITE_NOMEM;
                break;
            }
            *ids = p;
        }
        (*ids)[(*n)++] = (uint32_t)sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        free(*ids);
        *ids = NULL;
        *n = 0;
        return rc == SQLITE_NOMEM ? TLY_ENOMEM : TLY_EIO;
    }
    return 0;
}
