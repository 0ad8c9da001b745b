/*
 * The campaign engine's tables (migration 7): progress rows, rewards, the
 * outbox, and the acceptances the engine reads.
 *
 * Two kinds of users: the engine, on the pipeline's connection inside its
 * open transaction, through a tly_progress_store of prepared statements;
 * and the API, on its own connections, through the tly_progress_query_…
 * functions, which read committed rows only.
 */
#ifndef TLY_STORE_PROGRESS_H
#define TLY_STORE_PROGRESS_H

#include "core/buf.h"
#include "core/err.h"

#include <sqlite3.h>
#include <stdint.h>

struct tly_progress_store;

/* Prepares the statements on `db` (borrowed; must outlive the store). */
int tly_progress_store_open(struct tly_progress_store **out, sqlite3 *db);
void tly_progress_store_close(struct tly_progress_store *ps);

/* The stored state of (tenant, campaign, user) when its row belongs to
 * campaign `uid`: 1 with the bytes appended to `out`, 0 when there is none,
 * or TLY_EIO. */
int tly_progress_store_load(struct tly_progress_store *ps, uint32_t tenant, const char *campaign,
                            int64_t uid, const char *user, struct tly_buf *out);

struct tly_progress_row {
    uint32_t tenant;
    const char *campaign;
    int64_t uid;
    const char *user;
    int seen;
    int64_t completions;
    int completed;
    const void *state;
    size_t state_len;
    int64_t updated_at;
};

/* Writes (replaces) a progress row. */
int tly_progress_store_put(struct tly_progress_store *ps, const struct tly_progress_row *row);

/* Does campaign `uid` have any progress row? 1, 0 or TLY_EIO. */
int tly_progress_store_any(struct tly_progress_store *ps, uint32_t tenant, const char *campaign,
                           int64_t uid);

/* When `user` accepted `campaign`: 0 with *at, TLY_ENOENT, or TLY_EIO. */
int tly_progress_store_accepted(struct tly_progress_store *ps, uint32_t tenant,
                                const char *campaign, const char *user, int64_t *at);

struct tly_reward_row {
    const char *reward_id;
    uint32_t tenant;
    const char *campaign;
    int64_t uid;
    const char *user;
    int64_t completion;
    const char *event_id;
    int64_t issued_at;
    const char *type, *name, *code; /* NULL when the reward has none */
    int has_amount;
    double amount;
};

/* Inserts a reward and its outbox entry (kind, dedupe key, payload). A
 * reward_id already stored is left as it is: *inserted = 0. */
int tly_progress_store_reward(struct tly_progress_store *ps, const struct tly_reward_row *r,
                              const char *kind, const char *dedupe_key, const char *payload,
                              int *inserted);

/* Inserts an outbox entry; one whose dedupe key is stored already is left
 * as it is (a replay writes the same entries). */
int tly_progress_store_outbox(struct tly_progress_store *ps, uint32_t tenant, const char *kind,
                              const char *dedupe_key, const char *payload, int64_t created_at);

/* ---- API reads (committed state, any connection) ---- */

struct tly_progress_view {
    const char *user;
    int seen;
    int64_t completions;
    int completed;
    const void *state;
    size_t state_len;
};

/* One user's row: 0 with cb called once, TLY_ENOENT, or TLY_EIO. */
int tly_progress_query_one(sqlite3 *db, uint32_t tenant, const char *campaign, int64_t uid,
                           const char *user,
                           int (*cb)(const struct tly_progress_view *v, void *arg), void *arg);
/* Every row of the campaign; stops at a callback's nonzero return (given
 * back). */
int tly_progress_query_each(sqlite3 *db, uint32_t tenant, const char *campaign, int64_t uid,
                            int (*cb)(const struct tly_progress_view *v, void *arg), void *arg);

struct tly_reward_view {
    const char *reward_id;
    int64_t completion;
    int64_t issued_at;
    const char *event_id;
    const char *type, *name, *code; /* NULL when absent */
    int has_amount;
    double amount;
};

/* A user's rewards in a campaign, by completion number. */
int tly_progress_query_rewards(sqlite3 *db, uint32_t tenant, const char *campaign, int64_t uid,
                               const char *user,
                               int (*cb)(const struct tly_reward_view *v, void *arg), void *arg);

struct tly_campaign_counts {
    int64_t users;       /* the tenant's users */
    int64_t seen;        /* users with an event seen by the campaign */
    int64_t completed;   /* users with max_completions reached */
    int64_t completions; /* of all users */
    int64_t rewards;     /* reward rows of this campaign */
};

int tly_progress_query_counts(sqlite3 *db, uint32_t tenant, const char *campaign, int64_t uid,
                              struct tly_campaign_counts *out);

/* When `user` accepted `campaign`: 0 with *at, TLY_ENOENT, or TLY_EIO. */
int tly_progress_query_accepted(sqlite3 *db, uint32_t tenant, const char *campaign,
                                const char *user, int64_t *at);

#endif
