/*
 * Completions → rewards and outbox entries.
 *
 * reward_id is the hex of the first 16 bytes of
 *   SHA-256("tally-reward\n" tenant "\n" campaign uid "\n" user "\n" n)
 * for completion number n: the same completion always gets the same id (a
 * replay after a crash finds it stored and adds nothing), and a campaign
 * deleted and created again (a new uid) gets new ones. The receiver uses it
 * as its dedupe key.
 *
 * The outbox entry (kind "campaign_completed", dedupe key
 * "campaign_completed:<reward_id>") carries the reward webhook's body:
 *   {"eventType":"campaign_completed","campaignId","type","userId",
 *    "rewardId","rewardName","rewardAmount"?,"code"?,
 *    "details":{"campaignName","completion","eventId","eventName",
 *               "eventTimestamp","completedAt"}}
 * issued_at (and completedAt) is the receive time of the event that
 * completed, so a replay writes the very same entry.
 */
#include "core/timeparse.h"
#include "engine/engine_int.h"

#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#define REWARD_KIND   "campaign_completed"
#define ACTIVITY_KIND "activity_completed"

/* 0 with out filled, or TLY_ENOMEM. */
static int reward_id(struct tly_buf *b, uint32_t tenant, int64_t uid, const char *user, int64_t n,
                     char out[33])
{
    tly_buf_reset(b);
    int rc = tly_buf_printf(b, "tally-reward\n%" PRIu32 "\n%" PRId64 "\n", tenant, uid);
    rc |= tly_buf_puts(b, user);
    rc |= tly_buf_printf(b, "\n%" PRId64, n);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (rc != 0 || EVP_Digest(b->data, b->len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen < 16)
        return TLY_ENOMEM;
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[32] = '\0';
    return 0;
}

static const char *reward_str(const cJSON *reward, const char *key)
{
    const cJSON *v = reward ? cJSON_GetObjectItemCaseSensitive(reward, key) : NULL;
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int json_str_or_null(struct tly_buf *b, const char *s)
{
    return s ? tly_buf_json_str(b, s, strlen(s)) : tly_buf_puts(b, "null");
}

static int json_time(struct tly_buf *b, int64_t ms)
{
    char t[25];
    tly_time_format(ms, t);
    return tly_buf_printf(b, "\"%s\"", t);
}

/* `,"details":{…}}` and the NUL the store wants: what completed, and which
 * event did it. `completion` is the number of the completion. */
static int details(struct tly_buf *b, const struct eng_campaign *c, int64_t completion,
                   const struct tly_event *ev)
{
    int rc = tly_buf_puts(b, ",\"details\":{\"campaignName\":");
    rc |= json_str_or_null(b, c->def->name);
    rc |= tly_buf_printf(b, ",\"completion\":%" PRId64 ",\"eventId\":", completion);
    rc |= tly_buf_json_str(b, ev->event_id, strlen(ev->event_id));
    rc |= tly_buf_puts(b, ",\"eventName\":");
    rc |= tly_buf_json_str(b, ev->event_name, strlen(ev->event_name));
    rc |= tly_buf_puts(b, ",\"eventTimestamp\":");
    rc |= json_time(b, ev->timestamp);
    rc |= tly_buf_puts(b, ",\"completedAt\":");
    rc |= json_time(b, ev->received_at);
    rc |= tly_buf_puts(b, "}}");
    rc |= tly_buf_append(b, "", 1); /* NUL-terminated for the store */
    return rc;
}

static int payload(struct tly_buf *b, const struct eng_campaign *c, const struct tly_reward_row *r,
                   const struct tly_event *ev)
{
    int rc = tly_buf_puts(b, "{\"eventType\":\"" REWARD_KIND "\",\"campaignId\":");
    rc |= tly_buf_json_str(b, c->id, strlen(c->id));
    rc |= tly_buf_puts(b, ",\"type\":");
    rc |= json_str_or_null(b, r->type);
    rc |= tly_buf_puts(b, ",\"userId\":");
    rc |= tly_buf_json_str(b, r->user, strlen(r->user));
    rc |= tly_buf_printf(b, ",\"rewardId\":\"%s\",\"rewardName\":", r->reward_id);
    rc |= json_str_or_null(b, r->name);
    if (r->has_amount)
        rc |= tly_buf_printf(b, ",\"rewardAmount\":%.17g", r->amount);
    if (r->code != NULL) {
        rc |= tly_buf_puts(b, ",\"code\":");
        rc |= tly_buf_json_str(b, r->code, strlen(r->code));
    }
    rc |= details(b, c, r->completion, ev);
    return rc ? TLY_ENOMEM : 0;
}

int eng_reward_issue(struct tly_engine *e, struct eng_entry *en, const struct tly_event *ev,
                     int64_t n)
{
    const struct eng_campaign *c = en->camp;
    char rid[33], dedupe[64];
    if (reward_id(&e->scratch, c->tenant, c->uid, en->user, n, rid) != 0)
        return TLY_ENOMEM;
    snprintf(dedupe, sizeof dedupe, REWARD_KIND ":%s", rid);
    const cJSON *reward = c->def->reward;
    const cJSON *amount = reward ? cJSON_GetObjectItemCaseSensitive(reward, "amount") : NULL;
    struct tly_reward_row r = {
        .reward_id = rid,
        .tenant = c->tenant,
        .campaign = c->id,
        .uid = c->uid,
        .user = en->user,
        .completion = n,
        .event_id = ev->event_id,
        .issued_at = ev->received_at,
        .type = reward_str(reward, "type"),
        .name = reward_str(reward, "name"),
        .code = reward_str(reward, "code"),
        .has_amount = cJSON_IsNumber(amount),
        .amount = cJSON_IsNumber(amount) ? amount->valuedouble : 0,
    };
    tly_buf_reset(&e->scratch);
    int rc = payload(&e->scratch, c, &r, ev);
    int inserted = 0;
    if (rc == 0)
        rc = tly_progress_store_reward(e->ps, &r, REWARD_KIND, dedupe, e->scratch.data, &inserted);
    if (rc == 0) {
        e->pending.completions++;
        e->pending.rewards += (uint64_t)inserted;
    }
    return rc;
}

int eng_activity_completed(struct tly_engine *e, struct eng_entry *en, int act, int64_t period,
                           double value, const struct tly_event *ev)
{
    const struct eng_campaign *c = en->camp;
    const struct tly_activity *a = &c->def->act[act];
    int64_t n = en->prog.completions + 1; /* the completion this counts towards */
    struct tly_buf *b = &e->scratch;
    tly_buf_reset(b);
    int rc = tly_buf_puts(b, "{\"eventType\":\"" ACTIVITY_KIND "\",\"campaignId\":");
    rc |= tly_buf_json_str(b, c->id, strlen(c->id));
    rc |= tly_buf_puts(b, ",\"userId\":");
    rc |= tly_buf_json_str(b, en->user, strlen(en->user));
    rc |= tly_buf_printf(b, ",\"activityId\":\"%s\",\"value\":%.17g,\"target\":%.17g", a->id, value,
                         a->target);
    rc |= details(b, c, n, ev);
    if (rc != 0)
        return TLY_ENOMEM;
    /* The user id comes last: it is the one part that may hold a ':'. */
    struct tly_buf key;
    tly_buf_init(&key, 0);
    rc = tly_buf_printf(&key, ACTIVITY_KIND ":%" PRIu32 ":%" PRId64 ":%s:%" PRId64 ":%" PRId64 ":",
                        c->tenant, c->uid, a->id, period, n);
    rc |= tly_buf_puts(&key, en->user);
    rc |= tly_buf_append(&key, "", 1);
    if (rc == 0)
        rc = tly_progress_store_outbox(e->ps, c->tenant, ACTIVITY_KIND, key.data, b->data,
                                       ev->received_at);
    else
        rc = TLY_ENOMEM;
    tly_buf_free(&key);
    return rc;
}
