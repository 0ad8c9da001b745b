/*
 * One log record → effects in the state store (see pipeline.h).
 *
 * For each item of the record: map it with its source's adapter, validate
 * it, check the user (when the tenant requires registration), dedupe, and
 * record it; an item that fails any step becomes a failed event with its
 * index, reason and raw JSON. One bad item never affects its neighbours.
 *
 * A replay record ({"ids":[…]}, written by POST /v1/failed-events/replay)
 * runs the named failed items through the same steps again, with the
 * settings in force now.
 */
#include "core/json.h"
#include "core/json_pointer.h"
#include "core/timeparse.h"
#include "pipeline/pipeline_int.h"
#include "pipeline/profile.h"
#include "pipeline/validate.h"
#include "store/sources.h"

#include <stdlib.h>
#include <string.h>

/* The tenant's cache slot, grown as needed; NULL when out of memory. */
static struct settings_slot *slot_of(struct tly_pipeline *p, uint32_t tenant)
{
    if (tenant >= p->nsettings) {
        size_t n = p->nsettings ? p->nsettings : 16;
        while (n <= tenant)
            n *= 2;
        struct settings_slot *s = realloc(p->settings, n * sizeof *s);
        if (s == NULL)
            return NULL;
        memset(s + p->nsettings, 0, (n - p->nsettings) * sizeof *s);
        p->settings = s;
        p->nsettings = n;
    }
    return &p->settings[tenant];
}

const struct tly_tenant_settings *tly_pipeline_settings(struct tly_pipeline *p, uint32_t tenant)
{
    struct settings_slot *slot = slot_of(p, tenant);
    if (slot == NULL)
        return NULL;
    if (!slot->loaded) {
        if (tly_settings_load(tly_state_sqlite(p->state), tenant, &slot->s) != 0)
            tly_settings_default(&slot->s);
        slot->loaded = 1;
    }
    return &slot->s;
}

const struct tly_source_config *tly_pipeline_source_config(struct tly_pipeline *p, uint32_t tenant,
                                                           int source)
{
    struct settings_slot *slot = slot_of(p, tenant);
    if (slot == NULL || source < 0 || source >= TLY_SOURCE_SLOTS)
        return NULL;
    struct tly_source_config *cfg = &slot->src[source];
    if (!(slot->sources_loaded & (1u << source))) {
        tly_source_config_free(cfg);
        if (tly_source_config_load(tly_state_sqlite(p->state), tenant, source, cfg) != 0)
            return NULL; /* not remembered: read again next time */
        slot->sources_loaded |= 1u << source;
    }
    return cfg;
}

void tly_pipeline_forget_settings(struct tly_pipeline *p)
{
    for (size_t i = 0; i < p->nsettings; i++) {
        p->settings[i].loaded = 0;
        p->settings[i].sources_loaded = 0;
        for (int s = 0; s < TLY_SOURCE_SLOTS; s++)
            tly_source_config_free(&p->settings[i].src[s]);
    }
}

static void count_failure(struct tly_pipeline *p, int reason)
{
    tly_counter_add(&p->n_failed, 1);
    if (reason > 0 && reason < TLY_FAIL_REASON_COUNT)
        tly_counter_add(&p->n_reason[reason], 1);
}

/* What apply_event did with an item (store errors are < 0). */
enum { APPLIED = 0, DUPLICATE = 1, FAILED = 2 };

/* Validate, check the user, dedupe, record: APPLIED, DUPLICATE, FAILED
 * (`f` filled), or a store error (< 0). */
static int apply_resolved(struct tly_pipeline *p, const struct tly_event *ev, uint64_t offset,
                          int32_t item, uint64_t id_hash, struct tly_failure *f)
{
    const struct tly_tenant_settings *s = tly_pipeline_settings(p, ev->tenant);
    if (s == NULL)
        return TLY_ENOMEM;
    if (tly_validate_event(ev, s, f) != 0)
        return FAILED;
    if (s->require_registration) {
        /* Only registration counts; a user created by an event does not. */
        int status = tly_state_user_status(p->state, ev->tenant, ev->user_id);
        if (status < 0 && status != TLY_ENOENT)
            return status;
        if (status != 1) {
            tly_fail(f, TLY_FAIL_UNKNOWN_USER, "user_id",
                     "user_id: user is not registered (the tenant requires "
                     "PUT /v1/users/{user_id} first)");
            return FAILED;
        }
    }
    struct tly_event_row row = {
        .tenant = ev->tenant,
        .event_id = ev->event_id,
        .offset = offset,
        .item = item,
        .user_id = ev->user_id,
        .event_name = ev->event_name,
        .timestamp = ev->timestamp,
        .received_at = ev->received_at,
        .id_hash = id_hash,
    };
    int dup;
    int rc = tly_state_record_event(p->state, &row, s->dedupe_window_ms, &dup);
    if (rc != 0)
        return rc;
    if (dup)
        return DUPLICATE;
    /* Profile updates and identity links take effect once, like any event;
     * so do the campaigns' (track events only). */
    rc = tly_profile_apply(p->state, ev);
    /* Segments first: an event that makes its user a member counts for
     * the segment's campaigns (it is received at the entry time). */
    if (rc == 0)
        rc = tly_segments_event(p->segments, ev, tly_pipeline_now(p));
    if (rc == 0)
        rc = tly_engine_event(p->engine, ev);
    if (rc == 0 && ev->kind == TLY_EVENT_ALIAS) {
        struct settings_slot *slot = slot_of(p, ev->tenant);
        if (slot != NULL)
            slot->links = 2;
        rc = tly_engine_merge(p->engine, ev);
    }
    return rc != 0 ? rc : APPLIED;
}

/* The user an event of ev->user_id counts for: the known user of its
 * identity link (*known, owned by the caller), or NULL when it has none.
 * Alias events keep their ids. 0 or a store error. */
static int resolve_user(struct tly_pipeline *p, const struct tly_event *ev, char **known)
{
    *known = NULL;
    struct settings_slot *slot = slot_of(p, ev->tenant);
    if (ev->kind == TLY_EVENT_ALIAS || ev->user_id == NULL || slot == NULL)
        return slot == NULL ? TLY_ENOMEM : 0;
    if (slot->links == 0) {
        int any = tly_state_any_identity_link(p->state, ev->tenant);
        if (any < 0)
            return any;
        slot->links = any ? 2 : 1;
    }
    if (slot->links == 1)
        return 0; /* the tenant has none: no look-up per event */
    int rc = tly_state_identity_of(p->state, ev->tenant, ev->user_id, known);
    if (rc == 0 && strcmp(*known, ev->user_id) == 0) {
        free(*known);
        *known = NULL;
    }
    return rc == TLY_ENOENT ? 0 : rc;
}

/* An event of a linked (anonymous) id counts for its known user: it is
 * applied, recorded included, under that user's id. */
static int apply_event(struct tly_pipeline *p, const struct tly_event *ev, uint64_t offset,
                       int32_t item, uint64_t id_hash, struct tly_failure *f)
{
    char *known;
    int rc = resolve_user(p, ev, &known);
    if (rc != 0 || known == NULL)
        return rc != 0 ? rc : apply_resolved(p, ev, offset, item, id_hash, f);
    struct tly_event linked = *ev;
    linked.user_id = known;
    rc = apply_resolved(p, &linked, offset, item, id_hash, f);
    free(known);
    return rc;
}

static int store_failure(struct tly_pipeline *p, const struct tly_record *rec, uint64_t offset,
                         int32_t item, const cJSON *json, const char *event_id,
                         const struct tly_failure *f)
{
    count_failure(p, f->reason);
    char *printed = json != NULL ? cJSON_PrintUnformatted(json) : NULL;
    struct tly_failed_row row = {
        .tenant = rec->tenant,
        .source = rec->source,
        .kind = rec->kind,
        .offset = offset,
        .item = item,
        .event_id = event_id,
        .failure = f,
        .raw = printed != NULL ? printed : rec->body,
        .raw_len = printed != NULL ? strlen(printed) : rec->body_len,
        .meta = rec->meta,
        .meta_len = rec->meta_len,
        .received_at = rec->received_at,
    };
    int rc = tly_state_add_failed(p->state, &row, tly_now_ms());
    cJSON_free(printed);
    return rc;
}

/* Counts an applied item; returns the store error, if any. */
static int tally_result(struct tly_pipeline *p, int rc)
{
    if (rc == APPLIED)
        tly_counter_add(&p->n_processed, 1);
    else if (rc == DUPLICATE)
        tly_counter_add(&p->n_duplicates, 1);
    return rc < 0 ? rc : 0;
}

/* Starts the index lookups of all the record's items at once, so that
 * their cache misses overlap instead of coming one after another. */
static void prefetch_items(struct tly_pipeline *p, const struct tly_adapter *a,
                           const struct tly_record *rec)
{
    struct tly_event_index *idx = tly_state_event_index(p->state);
    if (p->nhashes < p->items.n) {
        struct item_hash *h = realloc(p->hashes, p->items.n * sizeof *h);
        if (h == NULL) {
            p->nhashes = 0; /* only a speed-up: hash_of gives 0 */
            return;
        }
        p->hashes = h;
        p->nhashes = p->items.n;
    }
    for (size_t i = 0; i < p->items.n; i++) {
        const char *id = a->event_id_of(p->items.item[i]);
        p->hashes[i].id = id;
        p->hashes[i].hash = id != NULL ? tly_event_index_id_hash(idx, rec->tenant, id) : 0;
        if (id != NULL)
            tly_event_index_prefetch(idx, p->hashes[i].hash);
    }
}

/* The hash prefetch_items computed for item i, when the event's id is the
 * very string it hashed; else 0 (record_event hashes it). */
static uint64_t hash_of(const struct tly_pipeline *p, size_t i, const struct tly_event *ev)
{
    return i < p->nhashes && p->hashes[i].id == ev->event_id ? p->hashes[i].hash : 0;
}

/* The item's event id for a failed-event row: where the tenant's mapping
 * says, else where the adapter reads it; NULL when it has none. */
static const char *failed_event_id(const struct tly_adapter *a, const struct tly_source_config *cfg,
                                   const cJSON *item)
{
    if (cfg == NULL || cfg->pointer[TLY_MAP_EVENT_ID] == NULL)
        return a->event_id_of(item);
    const cJSON *v = tly_json_pointer_get(item, cfg->pointer[TLY_MAP_EVENT_ID]);
    return cJSON_IsString(v) && v->valuestring[0] != '\0' ? v->valuestring : NULL;
}

static int process_items(struct tly_pipeline *p, const struct tly_adapter *a,
                         const struct tly_record *rec, uint64_t offset)
{
    struct tly_failure f;
    tly_items_reset(&p->items);
    if (a->split(rec, &p->items, &f) != 0)
        return store_failure(p, rec, offset, -1, NULL, NULL, &f);
    prefetch_items(p, a, rec);
    const struct tly_source_config *cfg = tly_pipeline_source_config(p, rec->tenant, rec->source);
    for (size_t i = 0; i < p->items.n; i++) {
        const cJSON *item = p->items.item[i];
        struct tly_event ev;
        int rc = a->map(item, rec, cfg, &ev, &f) == 0
                     ? apply_event(p, &ev, offset, (int32_t)i, hash_of(p, i, &ev), &f)
                     : FAILED;
        if (rc == FAILED)
            rc = store_failure(p, rec, offset, (int32_t)i, item, failed_event_id(a, cfg, item), &f);
        else
            rc = tally_result(p, rc);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Runs one failed item again. */
static int replay_one(struct tly_pipeline *p, uint32_t tenant, int64_t id)
{
    struct tly_failed_item it;
    int rc = tly_state_get_failed(p->state, tenant, id, &it);
    if (rc == TLY_ENOENT)
        return 0; /* not this tenant's, or pruned: nothing to do */
    if (rc != 0)
        return rc;
    const struct tly_adapter *a = tly_adapter_for(it.source);
    if (it.replayed || a == NULL) {
        tly_failed_item_free(&it);
        return 0;
    }
    struct tly_record rec = {
        .source = it.source,
        .kind = it.kind,
        .tenant = tenant,
        .received_at = it.received_at,
        .meta = it.meta,
        .meta_len = it.meta_len,
        .body = it.raw,
        .body_len = it.raw_len,
    };
    struct tly_failure f;
    int64_t now = tly_now_ms();
    if (it.item < 0) {
        /* The whole body had failed: split it again; its items are new
         * records of their own (at the original offset). */
        tly_items_reset(&p->items);
        if (a->split(&rec, &p->items, &f) != 0) {
            rc = tly_state_failed_again(p->state, id, &f, now);
        } else {
            rc = tly_state_failed_replayed(p->state, id, now);
            tly_counter_add(&p->n_replayed, 1);
            if (rc == 0)
                rc = process_items(p, a, &rec, it.offset);
        }
        tly_failed_item_free(&it);
        return rc;
    }
    struct tly_error err;
    cJSON *item = tly_json_parse(it.raw, it.raw_len, &err);
    struct tly_event ev;
    if (item == NULL) {
        tly_fail(&f, TLY_FAIL_INVALID_JSON, "", "%s", err.msg);
        rc = FAILED;
    } else {
        const struct tly_source_config *cfg = tly_pipeline_source_config(p, tenant, it.source);
        rc = a->map(item, &rec, cfg, &ev, &f) == 0 ? apply_event(p, &ev, it.offset, it.item, 0, &f)
                                                   : FAILED;
    }
    if (rc == FAILED) {
        count_failure(p, f.reason);
        rc = tly_state_failed_again(p->state, id, &f, now);
    } else if (rc >= 0) {
        tly_counter_add(&p->n_replayed, 1);
        rc = tally_result(p, rc);
        if (rc == 0)
            rc = tly_state_failed_replayed(p->state, id, now);
    }
    cJSON_Delete(item);
    tly_failed_item_free(&it);
    return rc;
}

static int process_replay(struct tly_pipeline *p, const struct tly_record *rec, uint64_t offset)
{
    struct tly_error err;
    cJSON *root = tly_json_parse(rec->body, rec->body_len, &err);
    const cJSON *ids = root ? cJSON_GetObjectItemCaseSensitive(root, "ids") : NULL;
    int rc = 0;
    if (!cJSON_IsArray(ids)) {
        tly_log_warn(p->lg, "ignoring malformed replay record", "offset=%llu",
                     (unsigned long long)offset);
    } else {
        const cJSON *id;
        cJSON_ArrayForEach(id, ids)
        {
            if (cJSON_IsNumber(id) &&
                (rc = replay_one(p, rec->tenant, (int64_t)id->valuedouble)) != 0)
                break;
        }
    }
    cJSON_Delete(root);
    return rc;
}

int tly_pipeline_process(struct tly_pipeline *p, const struct tly_record *rec, uint64_t offset)
{
    tly_counter_add(&p->n_records, 1);
    atomic_store(&p->last_received_at, rec->received_at);
    if (rec->kind == TLY_KIND_REPLAY && rec->source == TLY_SOURCE_INTERNAL)
        return process_replay(p, rec, offset);
    const struct tly_adapter *a = tly_adapter_for(rec->source);
    if (a == NULL) {
        struct tly_failure f;
        tly_fail(&f, TLY_FAIL_UNKNOWN_SOURCE, "", "no adapter for source %d", rec->source);
        return store_failure(p, rec, offset, -1, NULL, NULL, &f);
    }
    return process_items(p, a, rec, offset);
}
