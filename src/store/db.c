/*
 * SQLite connection setup and schema migrations for DATA/state.db.
 */
#include "store/db.h"

#include <stdio.h>
#include <stdlib.h>

struct tly_db {
    sqlite3 *h;
};

/* Append-only: never edit a migration that has shipped; add the next one. */
static const char *const migrations[] = {
    /* 1: tenants and their API keys (hashes only). */
    "CREATE TABLE tenants ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE api_keys ("
    "  key_hash BLOB PRIMARY KEY,"
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),"
    "  kind TEXT NOT NULL CHECK (kind IN ('write', 'admin')),"
    "  hint TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL);",

    /* 2: the pipeline's state. */
    "CREATE TABLE tenant_settings ("
    "  tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id),"
    "  settings TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    /* Where each consumer of the log has committed up to. */
    "CREATE TABLE consumers ("
    "  name TEXT PRIMARY KEY,"
    "  position INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    /* Processed events, kept for the tenant's dedupe window: the dedupe key
     * and where the event is in the log (its body is read from there). */
    "CREATE TABLE events ("
    "  tenant_id INTEGER NOT NULL,"
    "  event_id TEXT NOT NULL,"
    "  log_offset INTEGER NOT NULL,"
    "  item INTEGER NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  event_name TEXT NOT NULL,"
    "  ts INTEGER NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  duplicates INTEGER NOT NULL DEFAULT 0,"
    "  last_duplicate_at INTEGER,"
    "  PRIMARY KEY (tenant_id, event_id)) WITHOUT ROWID;"
    "CREATE INDEX events_by_user ON events (tenant_id, user_id, log_offset);"
    /* Items that could not be processed, with the raw item for replay. */
    "CREATE TABLE failed_events ("
    "  id INTEGER PRIMARY KEY,"
    "  tenant_id INTEGER NOT NULL,"
    "  source INTEGER NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  log_offset INTEGER NOT NULL,"
    "  item INTEGER NOT NULL,"
    "  event_id TEXT,"
    "  reason TEXT NOT NULL,"
    "  field TEXT NOT NULL,"
    "  message TEXT NOT NULL,"
    "  raw BLOB NOT NULL,"
    "  meta BLOB NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  failed_at INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 1,"
    "  status TEXT NOT NULL DEFAULT 'failed' CHECK (status IN ('failed', 'replayed')),"
    "  replayed_at INTEGER);"
    "CREATE INDEX failed_by_tenant ON failed_events (tenant_id, id);"
    "CREATE INDEX failed_by_event ON failed_events (tenant_id, event_id);"
    "CREATE TABLE users ("
    "  tenant_id INTEGER NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  registered INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  attributes TEXT NOT NULL DEFAULT '{}',"
    "  PRIMARY KEY (tenant_id, user_id)) WITHOUT ROWID;",

    /* 3: events in arrival order (row id), found through the in-memory
     * index of store/eventindex.h rather than B-tree indexes on random
     * keys; prev_user chains each user's events, newest to oldest. Pruning
     * walks the rows from the oldest. */
    "CREATE TABLE events_v3 ("
    "  id INTEGER PRIMARY KEY,"
    "  tenant_id INTEGER NOT NULL,"
    "  event_id TEXT NOT NULL,"
    "  log_offset INTEGER NOT NULL,"
    "  item INTEGER NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  event_name TEXT NOT NULL,"
    "  ts INTEGER NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  duplicates INTEGER NOT NULL DEFAULT 0,"
    "  last_duplicate_at INTEGER,"
    "  prev_user INTEGER);"
    "INSERT INTO events_v3 (tenant_id, event_id, log_offset, item, user_id, event_name, ts,"
    "  received_at, duplicates, last_duplicate_at)"
    "  SELECT tenant_id, event_id, log_offset, item, user_id, event_name, ts, received_at,"
    "  duplicates, last_duplicate_at FROM events ORDER BY log_offset, item;"
    "UPDATE events_v3 SET prev_user = w.prev FROM (SELECT id, lag(id) OVER"
    "  (PARTITION BY tenant_id, user_id ORDER BY id) AS prev FROM events_v3) AS w"
    "  WHERE events_v3.id = w.id;"
    "DROP TABLE events;"
    "ALTER TABLE events_v3 RENAME TO events;",

    /* 4: a counter that every change to api_keys moves, so that running
     * daemons notice any change of keys (a count and the largest row id
     * missed a deleted newest key replaced by another). */
    "CREATE TABLE key_generation (n INTEGER NOT NULL);"
    "INSERT INTO key_generation VALUES (1);"
    "CREATE TRIGGER api_keys_insert AFTER INSERT ON api_keys"
    "  BEGIN UPDATE key_generation SET n = n + 1; END;"
    "CREATE TRIGGER api_keys_delete AFTER DELETE ON api_keys"
    "  BEGIN UPDATE key_generation SET n = n + 1; END;"
    "CREATE TRIGGER api_keys_update AFTER UPDATE ON api_keys"
    "  BEGIN UPDATE key_generation SET n = n + 1; END;",

    /* 5: profile updates and identity links (Segment identify/group/alias),
     * and per-tenant source secrets. attribute_times maps each top-level
     * attribute to the event time (ms) of the update that set it, so an
     * older update never overwrites a newer one. identity_links records
     * alias calls (the merge of the two users: pipeline/profile.h). */
    "ALTER TABLE users ADD COLUMN attribute_times TEXT NOT NULL DEFAULT '{}';"
    "CREATE TABLE identity_links ("
    "  tenant_id INTEGER NOT NULL,"
    "  previous_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  ts INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, previous_id, user_id)) WITHOUT ROWID;"
    "CREATE TABLE source_secrets ("
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),"
    "  source TEXT NOT NULL,"
    "  secret TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, source)) WITHOUT ROWID;",

    /* 6: campaign definitions and acceptances. `uid` is random and fixed
     * when a campaign is created, so that a campaign deleted and created
     * again under the same id is told apart from the first (reward ids
     * derive from it). `definition` is the canonical JSON
     * (tly_campaign_to_json). */
    "CREATE TABLE campaigns ("
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),"
    "  id TEXT NOT NULL,"
    "  uid INTEGER NOT NULL,"
    "  definition TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, id)) WITHOUT ROWID;"
    "CREATE TABLE campaign_accepts ("
    "  tenant_id INTEGER NOT NULL,"
    "  campaign_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  accepted_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, campaign_id, user_id)) WITHOUT ROWID;",

    /* 7: source settings: one JSON document per tenant and source
     * (sources/settings.h), the credentials of source_secrets folded in
     * (the Segment secret as "shared_secret"; the WebEngage MD5 hex and
     * license code, stored there as one string, as "secret_md5" and
     * "license_code"), which it replaces. */
    "CREATE TABLE source_settings ("
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),"
    "  source TEXT NOT NULL,"
    "  settings TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, source)) WITHOUT ROWID;"
    "INSERT INTO source_settings (tenant_id, source, settings, updated_at)"
    "  SELECT tenant_id, source, CASE source"
    "    WHEN 'segment' THEN json_object('shared_secret', secret)"
    "    ELSE json_object('license_code', substr(secret, 33), 'secret_md5', substr(secret, 1, 32))"
    "  END, updated_at FROM source_secrets WHERE source IN ('segment', 'webengage');"
    "DROP TABLE source_secrets;",

    /* 8: the campaign engine's results. campaign_progress holds one user's
     * progress in one campaign (engine/progress.h encodes `state`; seen,
     * completions and completed repeat what the stats need); a row whose
     * campaign_uid is not the campaign's is left over from a deleted one
     * and means nothing. Rewards and outbox entries outlive their campaign;
     * reward_id is derived from (tenant, campaign uid, user, completion),
     * so a replayed completion can never add a second one. */
    "CREATE TABLE campaign_progress ("
    "  tenant_id INTEGER NOT NULL,"
    "  campaign_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  campaign_uid INTEGER NOT NULL,"
    "  seen INTEGER NOT NULL,"
    "  completions INTEGER NOT NULL,"
    "  completed INTEGER NOT NULL,"
    "  state BLOB NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, campaign_id, user_id)) WITHOUT ROWID;"
    "CREATE TABLE campaign_rewards ("
    "  reward_id TEXT PRIMARY KEY,"
    "  tenant_id INTEGER NOT NULL,"
    "  campaign_id TEXT NOT NULL,"
    "  campaign_uid INTEGER NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  completion INTEGER NOT NULL,"
    "  event_id TEXT NOT NULL,"
    "  issued_at INTEGER NOT NULL,"
    "  type TEXT,"
    "  name TEXT,"
    "  amount REAL,"
    "  code TEXT) WITHOUT ROWID;"
    "CREATE INDEX campaign_rewards_by_user ON campaign_rewards"
    "  (tenant_id, campaign_id, user_id, completion);"
    /* Messages to the tenant's server, written in the transaction of the
     * change that caused them (delivery: the webhooks' part). */
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY,"
    "  tenant_id INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  dedupe_key TEXT NOT NULL UNIQUE,"
    "  payload TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER NOT NULL DEFAULT 0,"
    "  delivered_at INTEGER);",

    /* 9: users' registration and segments. `registration` holds what
     * PUT /v1/users set besides attributes ({anonymous_id, name, email,
     * phone, profile}). segment_members holds current members (a row per
     * member; it goes when the user leaves); segment_state counts each
     * user's membership changes (the outbox dedupe keys number them) and
     * says when a rolling window must be judged again (recheck_at);
     * segment_events keeps the events that behaviour conditions count
     * (cond = the condition's index, value = the summed property). */
    "ALTER TABLE users ADD COLUMN registration TEXT NOT NULL DEFAULT '{}';"
    "CREATE TABLE segments ("
    "  tenant_id INTEGER NOT NULL REFERENCES tenants(id),"
    "  id TEXT NOT NULL,"
    "  uid INTEGER NOT NULL,"
    "  kind TEXT NOT NULL CHECK (kind IN ('static', 'event')),"
    "  definition TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, id)) WITHOUT ROWID;"
    "CREATE TABLE segment_members ("
    "  tenant_id INTEGER NOT NULL,"
    "  segment_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  entered_at INTEGER NOT NULL,"
    "  PRIMARY KEY (tenant_id, segment_id, user_id)) WITHOUT ROWID;"
    "CREATE INDEX segment_members_by_user ON segment_members (tenant_id, user_id);"
    "CREATE TABLE segment_state ("
    "  tenant_id INTEGER NOT NULL,"
    "  segment_id TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  changes INTEGER NOT NULL DEFAULT 0,"
    "  recheck_at INTEGER,"
    "  PRIMARY KEY (tenant_id, segment_id, user_id)) WITHOUT ROWID;"
    "CREATE INDEX segment_state_recheck ON segment_state (recheck_at) WHERE recheck_at IS NOT NULL;"
    "CREATE TABLE segment_events ("
    "  tenant_id INTEGER NOT NULL,"
    "  segment_id TEXT NOT NULL,"
    "  cond INTEGER NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  ts INTEGER NOT NULL,"
    "  value REAL NOT NULL);"
    "CREATE INDEX segment_events_by_user ON segment_events"
    "  (tenant_id, segment_id, user_id, cond, ts);",

    /* 10: outbound webhooks: each tenant's endpoint settings (canonical JSON,
     * secrets included: never returned by the API), and one delivery per
     * (outbox entry, endpoint, kind). An outbox entry is fanned out into
     * its deliveries once, in one transaction that sets fanned_out_at.
     * A delivery keeps what it sends (url, secret, exact body) so that
     * every attempt sends the same bytes under the same webhook-id (uid);
     * window_start is when its retry window began (creation, or a retry
     * through the API). */
    "CREATE TABLE webhook_settings ("
    "  tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id),"
    "  settings TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "ALTER TABLE outbox ADD COLUMN fanned_out_at INTEGER;"
    "CREATE INDEX outbox_to_fan_out ON outbox (id) WHERE fanned_out_at IS NULL;"
    "CREATE TABLE deliveries ("
    "  id INTEGER PRIMARY KEY,"
    "  uid TEXT NOT NULL UNIQUE,"
    "  tenant_id INTEGER NOT NULL,"
    "  outbox_id INTEGER NOT NULL,"
    "  endpoint_id TEXT NOT NULL,"
    "  event TEXT NOT NULL,"
    "  url TEXT NOT NULL,"
    "  secret TEXT,"
    "  body TEXT NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt_at INTEGER NOT NULL,"
    "  window_start INTEGER NOT NULL,"
    "  last_status INTEGER,"
    "  last_error TEXT,"
    "  last_attempt_at INTEGER,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  delivered_at INTEGER,"
    "  UNIQUE (outbox_id, endpoint_id, event));"
    "CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';"
    "CREATE INDEX deliveries_by_tenant ON deliveries (tenant_id, id);"
    "CREATE INDEX deliveries_by_status ON deliveries (status, created_at);",

    /* 11: event segments' state, one row per user (engine/segment_state.h):
     * segment_users.state holds, per event segment, the events its
     * behaviour conditions counted and the number of membership changes;
     * recheck_at is when a rolling window of any of them must be judged
     * again. segments.rules_gen moves on when a PUT changes the rules (counts
     * made under another generation are forgotten). The rows of
     * segment_events and segment_state (the layout of migration 9) are
     * converted by the segment evaluator when it opens, which leaves both
     * tables empty. */
    "ALTER TABLE segments ADD COLUMN rules_gen INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE segment_users ("
    "  tenant_id INTEGER NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  state BLOB NOT NULL,"
    "  recheck_at INTEGER,"
    "  PRIMARY KEY (tenant_id, user_id)) WITHOUT ROWID;"
    "CREATE INDEX segment_users_recheck ON segment_users (recheck_at)"
    "  WHERE recheck_at IS NOT NULL;",
};

#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

static int exec(sqlite3 *h, const char *sql, struct tly_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        tly_error_set(err, TLY_EIO, "", "state.db: %s", msg ? msg : sqlite3_errmsg(h));
        sqlite3_free(msg);
        return TLY_EIO;
    }
    return 0;
}

static int user_version(sqlite3 *h)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int migrate(sqlite3 *h, struct tly_error *err)
{
    int v = user_version(h);
    if (v < 0)
        return tly_error_set(err, TLY_EIO, "", "state.db: cannot read schema version: %s",
                             sqlite3_errmsg(h));
    if (v > N_MIGRATIONS)
        return tly_error_set(err, TLY_EINVAL, "",
                             "state.db has schema version %d; this tallyd knows up to %d", v,
                             N_MIGRATIONS);
    for (; v < N_MIGRATIONS; v++) {
        char set[64];
        snprintf(set, sizeof set, "PRAGMA user_version = %d;", v + 1);
        if (exec(h, "BEGIN IMMEDIATE;", err) != 0)
            return TLY_EIO;
        if (exec(h, migrations[v], err) != 0 || exec(h, set, err) != 0) {
            sqlite3_exec(h, "ROLLBACK;", NULL, NULL, NULL);
            return TLY_EIO;
        }
        if (exec(h, "COMMIT;", err) != 0)
            return TLY_EIO;
    }
    return 0;
}

int tly_db_open(struct tly_db **out, const char *path, struct tly_error *err)
{
    struct tly_db *db = calloc(1, sizeof *db);
    if (db == NULL)
        return TLY_ENOMEM;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &db->h, flags, NULL) != SQLITE_OK) {
        tly_error_set(err, TLY_EIO, "", "%s: %s", path,
                      db->h ? sqlite3_errmsg(db->h) : "cannot open");
        tly_db_close(db);
        return TLY_EIO;
    }
    sqlite3_busy_timeout(db->h, 5000);
    /* page_size applies to a new file only (it must come before WAL fixes
     * the header); an existing file keeps its size. 16 KiB pages: the
     * pipeline's transactions touch keys spread over whole tables (users,
     * campaign progress), and each dirty page costs a WAL frame, so fewer,
     * larger pages write the same rows with a quarter of the frames
     * (README, Performance: about 10 % less CPU per event with 10
     * campaigns on a quiet machine). */
    int rc = exec(db->h,
                  "PRAGMA page_size=16384; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                  "PRAGMA foreign_keys=ON;",
                  err);
    if (rc == 0)
        rc = migrate(db->h, err); /* TLY_EINVAL for a file from a newer tallyd */
    if (rc != 0) {
        tly_db_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

sqlite3 *tly_db_sqlite(struct tly_db *db)
{
    return db->h;
}

int tly_db_latest_version(void)
{
    return N_MIGRATIONS;
}

int tly_db_schema_version(struct tly_db *db)
{
    return user_version(db->h);
}

long tly_db_data_version(struct tly_db *db)
{
    sqlite3_stmt *st;
    long v = -1;
    if (sqlite3_prepare_v2(db->h, "PRAGMA data_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

void tly_db_close(struct tly_db *db)
{
    if (db == NULL)
        return;
    sqlite3_close(db->h);
    free(db);
}
