/*
 * Campaign definitions and acceptances in state.db (tables `campaigns` and
 * `campaign_accepts`, migration 6).
 *
 * A definition is stored as the canonical JSON text of
 * tly_campaign_to_json (engine/campaign.h); this module does not parse it,
 * the callers do. Each campaign gets a random `uid` when it is created
 * (OpenSSL RAND_bytes, 63 bits, never 0) that stays the same through every
 * replace, so a campaign deleted and created again under the same id is
 * told apart from the first. Times are ms since the epoch.
 *
 * Deleting a campaign removes, in one transaction, its definition, its
 * acceptances and the rows of every per-campaign table listed in
 * campaigns.c (`per_campaign_tables`): a table there is cleared only if it
 * exists in the file, so a table that a later migration adds (the engine's
 * progress) is named there once and cleared from then on. Issued rewards
 * and outbox entries are not per-campaign state and stay.
 *
 * Every function works on a connection borrowed for the call and keeps
 * nothing; strings passed in are borrowed for the call.
 */
#ifndef TLY_STORE_CAMPAIGNS_H
#define TLY_STORE_CAMPAIGNS_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* One stored campaign; the strings are borrowed for the callback only. */
struct tly_campaign_row {
    uint32_t tenant;
    const char *id;
    int64_t uid;
    const char *definition; /* canonical JSON, NUL-terminated */
    size_t len;             /* bytes of definition */
    int64_t created_at, updated_at;
};

/* Called for each row; a non-zero return stops the walk and is returned. */
typedef int (*tly_campaign_row_fn)(void *arg, const struct tly_campaign_row *row);

/* Stores a new campaign created at `now` with a fresh uid (into *uid when
 * not NULL). 0; TLY_EEXIST when the tenant has a campaign with this id;
 * TLY_EIO. */
int tly_campaign_create(sqlite3 *db, uint32_t tenant, const char *id, const char *definition,
                        int64_t now, int64_t *uid);

/* Calls fn once with the tenant's campaign `id`. 0 (or fn's return);
 * TLY_ENOENT when there is none; TLY_EIO. */
int tly_campaign_get(sqlite3 *db, uint32_t tenant, const char *id, tly_campaign_row_fn fn,
                     void *arg);

/* Calls fn for each of the tenant's campaigns, ordered by id. */
int tly_campaigns_list(sqlite3 *db, uint32_t tenant, tly_campaign_row_fn fn, void *arg);

/* For loaders: each campaign of `tenant`, or of every tenant when tenant is
 * 0, ordered by tenant then id. The callback gets tenant, id, uid,
 * definition (and its length), borrowed for the call. */
typedef int (*tly_campaign_each_fn)(void *arg, uint32_t tenant, const char *id, int64_t uid,
                                    const char *definition, size_t len);
int tly_campaigns_each(sqlite3 *db, uint32_t tenant, tly_campaign_each_fn fn, void *arg);

/* Replaces the definition of the tenant's campaign `id` and sets updated_at
 * to `now`; uid and created_at stay. When `expected` is not NULL the
 * replace happens only if the stored definition is still exactly
 * `expected` (what the caller read and checked the change against), else
 * TLY_ECONFLICT. 0; TLY_ENOENT when there is no such campaign; TLY_EIO. */
int tly_campaign_replace(sqlite3 *db, uint32_t tenant, const char *id, const char *expected,
                         const char *definition, int64_t now);

/* Deletes the campaign, its acceptances and its per-campaign rows in one
 * transaction. 0; TLY_ENOENT when there is no such campaign; TLY_EIO. */
int tly_campaign_delete(sqlite3 *db, uint32_t tenant, const char *id);

/* Records that `user_id` accepted campaign `id` at `now`, unless they did
 * before: the first time stays. *accepted_at gets the recorded time.
 * 0; TLY_ENOENT when the tenant has no campaign `id`; TLY_EIO. */
int tly_campaign_accept(sqlite3 *db, uint32_t tenant, const char *id, const char *user_id,
                        int64_t now, int64_t *accepted_at);

/* When `user_id` accepted campaign `id` (ms), or 0 when they have not.
 * 0 or TLY_EIO. */
int tly_campaign_accepted_at(sqlite3 *db, uint32_t tenant, const char *id, const char *user_id,
                             int64_t *accepted_at);

#endif
