/*
 * Fan-out: each outbox entry becomes one delivery per endpoint that wants
 * its kind — the campaign's own `webhook` endpoints when its definition has
 * them, else the tenant's (PUT /v1/webhooks). An entry with no matching
 * endpoint is marked done with no delivery.
 *
 * A campaign_completed entry whose campaign has a reward (its "type" is
 * not null) goes as the reward webhook body (no "eventType") to endpoints
 * that want reward_issued, and as it is to those that want
 * campaign_completed. An endpoint's template reshapes the body. Bodies are
 * written once, here, in their compact form: every attempt sends these
 * bytes.
 *
 * webhook-id (the delivery's uid) = "msg_" + hex of the first 16 bytes of
 * SHA-256(dedupe_key "\n" endpoint id "\n" kind): stable across attempts
 * and restarts.
 */
#include "outbox/outbox.h"
#include "store/deliveries.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int delivery_uid(const char *dedupe, const char *endpoint, const char *kind, char out[37])
{
    struct tly_buf b;
    tly_buf_init(&b, 0);
    int rc = tly_buf_printf(&b, "%s\n%s\n%s", dedupe, endpoint, kind);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (rc == 0 && EVP_Digest(b.data, b.len, md, &mdlen, EVP_sha256(), NULL) != 1)
        rc = TLY_ENOMEM;
    tly_buf_free(&b);
    if (rc != 0)
        return TLY_ENOMEM;
    static const char hex[] = "0123456789abcdef";
    memcpy(out, "msg_", 4);
    for (int i = 0; i < 16; i++) {
        out[4 + 2 * i] = hex[md[i] >> 4];
        out[4 + 2 * i + 1] = hex[md[i] & 15];
    }
    out[36] = '\0';
    return 0;
}

/* The endpoints for an entry of `tenant` about campaign `campaign` (may be
 * NULL): the campaign's own, else the tenant's. 0 with *w filled (maybe
 * empty). Settings that no longer parse count as none. */
static int endpoints_for(sqlite3 *db, uint32_t tenant, const char *campaign, struct tly_webhooks *w)
{
    memset(w, 0, sizeof *w);
    struct tly_error err;
    if (campaign != NULL) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db,
                               "SELECT json_extract(definition, '$.webhook') FROM campaigns"
                               " WHERE tenant_id = ? AND id = ?",
                               -1, &st, NULL) != SQLITE_OK)
            return TLY_EIO;
        sqlite3_bind_int64(st, 1, tenant);
        sqlite3_bind_text(st, 2, campaign, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        int found = 0;
        if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
            const char *t = (const char *)sqlite3_column_text(st, 0);
            found = tly_webhooks_parse(t, strlen(t), w, &err) == 0;
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return TLY_EIO;
        if (found)
            return 0;
    }
    struct tly_buf b;
    tly_buf_init(&b, 0);
    int found = 0;
    int rc = tly_webhook_settings_load(db, tenant, &b, &found);
    if (rc == 0 && found && tly_webhooks_parse(b.data, b.len, w, &err) != 0)
        memset(w, 0, sizeof *w);
    tly_buf_free(&b);
    return rc;
}

static int insert_delivery(sqlite3_stmt *ins, uint32_t tenant, int64_t outbox_id,
                           const char *dedupe, const struct tly_webhook_endpoint *ep,
                           const char *kind, const cJSON *body, int64_t now)
{
    cJSON *shaped = ep->template_ ? tly_template_apply(ep->template_, body) : NULL;
    if (ep->template_ != NULL && shaped == NULL)
        return TLY_ENOMEM;
    char *text = cJSON_PrintUnformatted(shaped ? shaped : body);
    cJSON_Delete(shaped);
    char uid[37];
    if (text == NULL || delivery_uid(dedupe, ep->id, kind, uid) != 0) {
        cJSON_free(text);
        return TLY_ENOMEM;
    }
    sqlite3_reset(ins);
    sqlite3_clear_bindings(ins);
    sqlite3_bind_text(ins, 1, uid, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(ins, 2, tenant);
    sqlite3_bind_int64(ins, 3, outbox_id);
    sqlite3_bind_text(ins, 4, ep->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 5, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 6, ep->url, -1, SQLITE_STATIC);
    if (ep->secret != NULL)
        sqlite3_bind_text(ins, 7, ep->secret, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins, 8, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 9, now);
    int rc = sqlite3_step(ins) == SQLITE_DONE ? 0 : TLY_EIO;
    sqlite3_reset(ins);
    cJSON_free(text);
    return rc;
}

/* The deliveries of one entry. */
static int fan_entry(sqlite3 *db, sqlite3_stmt *ins, int64_t id, uint32_t tenant, const char *kind,
                     const char *dedupe, const char *payload, int64_t now)
{
    cJSON *doc = cJSON_Parse(payload);
    if (doc == NULL)
        return 0; /* not JSON: nothing can be sent; the entry is done */
    const cJSON *camp = cJSON_GetObjectItemCaseSensitive(doc, "campaignId");
    struct tly_webhooks w;
    int rc = endpoints_for(db, tenant, cJSON_IsString(camp) ? camp->valuestring : NULL, &w);
    unsigned bit = tly_webhook_kind_bit(kind);
    int is_completion = strcmp(kind, "campaign_completed") == 0;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(doc, "type");
    int has_reward = is_completion && cJSON_IsString(type);
    cJSON *reward = NULL;
    if (rc == 0 && has_reward) {
        reward = cJSON_Duplicate(doc, 1);
        if (reward == NULL)
            rc = TLY_ENOMEM;
        else
            cJSON_DeleteItemFromObjectCaseSensitive(reward, "eventType");
    }
    for (int i = 0; i < w.n && rc == 0; i++) {
        const struct tly_webhook_endpoint *ep = &w.ep[i];
        if (has_reward && (ep->events & TLY_WEBHOOK_REWARD_ISSUED))
            rc = insert_delivery(ins, tenant, id, dedupe, ep, "reward_issued", reward, now);
        if (rc == 0 && bit != 0 && (ep->events & bit))
            rc = insert_delivery(ins, tenant, id, dedupe, ep, kind, doc, now);
    }
    cJSON_Delete(reward);
    cJSON_Delete(doc);
    tly_webhooks_free(&w);
    return rc;
}

int tly_outbox_fan_out(sqlite3 *db, int64_t now_ms, int limit, int *done)
{
    *done = 0;
    sqlite3_stmt *sel = NULL, *ins = NULL, *mark = NULL;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return TLY_EIO;
    int rc = TLY_EIO;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, tenant_id, kind, dedupe_key, payload FROM outbox"
                           " WHERE fanned_out_at IS NULL ORDER BY id LIMIT ?",
                           -1, &sel, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "INSERT INTO deliveries (uid, tenant_id, outbox_id, endpoint_id, event,"
                           " url, secret, body, status, next_attempt_at, window_start,"
                           " created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                           " 'pending', ?9, ?9, ?9, ?9) ON CONFLICT DO NOTHING",
                           -1, &ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "UPDATE outbox SET fanned_out_at = ? WHERE id = ?", -1, &mark,
                           NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_int(sel, 1, limit);
    int step = SQLITE_DONE;
    rc = 0;
    while (rc == 0 && (step = sqlite3_step(sel)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(sel, 0);
        uint32_t tenant = (uint32_t)sqlite3_column_int64(sel, 1);
        const char *kind = (const char *)sqlite3_column_text(sel, 2);
        const char *dedupe = (const char *)sqlite3_column_text(sel, 3);
        const char *payload = (const char *)sqlite3_column_text(sel, 4);
        rc = fan_entry(db, ins, id, tenant, kind ? kind : "", dedupe ? dedupe : "",
                       payload ? payload : "", now_ms);
        if (rc == 0) {
            sqlite3_reset(mark);
            sqlite3_bind_int64(mark, 1, now_ms);
            sqlite3_bind_int64(mark, 2, id);
            rc = sqlite3_step(mark) == SQLITE_DONE ? 0 : TLY_EIO;
            (*done)++;
        }
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = TLY_EIO;
fail:
    sqlite3_finalize(sel);
    sqlite3_finalize(ins);
    sqlite3_finalize(mark);
    if (rc == 0 && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = TLY_EIO;
    if (rc != 0) {
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        *done = 0;
    }
    return rc;
}
