/*
 * Profile updates and identity links (see profile.h).
 */
#include "pipeline/profile.h"
#include "core/timeparse.h"
#include "store/segments.h"

#include <stdlib.h>
#include <string.h>

/* Sets obj[key] = v, taking ownership of `v` (freed on failure). */
static int set_member(cJSON *obj, const char *key, cJSON *v)
{
    cJSON_bool ok = cJSON_GetObjectItemCaseSensitive(obj, key) != NULL
                        ? cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v)
                        : cJSON_AddItemToObject(obj, key, v);
    if (!ok) {
        cJSON_Delete(v);
        return TLY_ENOMEM;
    }
    return 0;
}

/* obj[key] as an object, made one (replacing another value) when it is
 * not. Borrowed from `obj`; NULL when out of memory. */
static cJSON *child_object(cJSON *obj, const char *key)
{
    cJSON *c = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsObject(c))
        return c;
    c = cJSON_CreateObject();
    if (c == NULL || set_member(obj, key, c) != 0)
        return NULL;
    return c;
}

static int merge_keys(cJSON *target, cJSON *times, const cJSON *traits, int64_t ts, int *changed)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, traits)
    {
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(times, t->string);
        if (cJSON_IsNumber(at) && at->valuedouble > (double)ts)
            continue; /* set by a later event */
        cJSON *copy = cJSON_Duplicate(t, 1);
        if (copy == NULL || set_member(target, t->string, copy) != 0)
            return TLY_ENOMEM;
        cJSON *when = cJSON_CreateNumber((double)ts);
        if (when == NULL || set_member(times, t->string, when) != 0)
            return TLY_ENOMEM;
        *changed = 1;
    }
    return 0;
}

int tly_profile_merge(cJSON *attrs, cJSON *times, const cJSON *traits, const char *group_id,
                      int64_t ts, int *changed)
{
    *changed = 0;
    if (traits == NULL)
        return 0;
    if (group_id == NULL)
        return merge_keys(attrs, times, traits, ts, changed);
    cJSON *groups = child_object(attrs, "groups");
    cJSON *group = groups ? child_object(groups, group_id) : NULL;
    cJSON *group_times = child_object(times, "groups");
    group_times = group_times ? child_object(group_times, group_id) : NULL;
    if (group == NULL || group_times == NULL)
        return TLY_ENOMEM;
    return merge_keys(group, group_times, traits, ts, changed);
}

/* Parses stored JSON; NULL text or a value that is not an object gives {}. */
static cJSON *object_from(const char *text)
{
    cJSON *o = text != NULL ? cJSON_Parse(text) : NULL;
    if (cJSON_IsObject(o))
        return o;
    cJSON_Delete(o);
    return cJSON_CreateObject();
}

static int apply_traits(struct tly_state *st, const struct tly_event *ev)
{
    char *attrs_text = NULL, *times_text = NULL;
    int rc = tly_state_user_profile(st, ev->tenant, ev->user_id, &attrs_text, &times_text);
    if (rc != 0 && rc != TLY_ENOENT)
        return rc;
    cJSON *attrs = object_from(attrs_text);
    cJSON *times = object_from(times_text);
    free(attrs_text);
    free(times_text);
    char *a = NULL, *t = NULL;
    int changed = 0;
    rc = attrs && times
             ? tly_profile_merge(attrs, times, ev->traits, ev->group_id, ev->timestamp, &changed)
             : TLY_ENOMEM;
    if (rc == 0 && changed) {
        a = cJSON_PrintUnformatted(attrs);
        t = cJSON_PrintUnformatted(times);
        rc = a && t ? tly_state_set_user_profile(st, ev->tenant, ev->user_id, a, t, tly_now_ms())
                    : TLY_ENOMEM;
    }
    cJSON_free(a);
    cJSON_free(t);
    cJSON_Delete(attrs);
    cJSON_Delete(times);
    return rc;
}

/* The time (ms) `times` gives `key`; -1 when none. */
static double time_of(const cJSON *times, const char *key)
{
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(times, key);
    return cJSON_IsNumber(at) ? at->valuedouble : -1;
}

/* Merges the attributes `src` (times `src_times`) into `dst` (`dst_times`):
 * a key of src replaces dst's unless dst's was set at the same time or
 * later; the groups object merges group by group the same way. */
static int merge_users(cJSON *dst, cJSON *dst_times, const cJSON *src, const cJSON *src_times,
                       int top, int *changed)
{
    const cJSON *v;
    cJSON_ArrayForEach(v, src)
    {
        const char *k = v->string;
        if (top && strcmp(k, "groups") == 0 && cJSON_IsObject(v)) {
            cJSON *groups = child_object(dst, "groups");
            cJSON *groups_times = child_object(dst_times, "groups");
            const cJSON *src_groups_times = cJSON_GetObjectItemCaseSensitive(src_times, "groups");
            const cJSON *g;
            cJSON_ArrayForEach(g, v)
            {
                cJSON *dg = groups ? child_object(groups, g->string) : NULL;
                cJSON *dt = groups_times ? child_object(groups_times, g->string) : NULL;
                if (dg == NULL || dt == NULL)
                    return TLY_ENOMEM;
                int rc = merge_users(dg, dt, g,
                                     cJSON_GetObjectItemCaseSensitive(src_groups_times, g->string),
                                     0, changed);
                if (rc != 0)
                    return rc;
            }
            continue;
        }
        double at = time_of(src_times, k);
        if (cJSON_GetObjectItemCaseSensitive(dst, k) != NULL && time_of(dst_times, k) >= at)
            continue;
        cJSON *copy = cJSON_Duplicate(v, 1);
        if (copy == NULL || set_member(dst, k, copy) != 0)
            return TLY_ENOMEM;
        cJSON *when = cJSON_CreateNumber(at < 0 ? 0 : at);
        if (when == NULL || set_member(dst_times, k, when) != 0)
            return TLY_ENOMEM;
        *changed = 1;
    }
    return 0;
}

/* The anonymous user's attributes merge into the known user's. */
static int merge_attributes(struct tly_state *st, uint32_t tenant, const char *from, const char *to)
{
    char *fa = NULL, *ft = NULL, *ta = NULL, *tt = NULL;
    int rc = tly_state_user_profile(st, tenant, from, &fa, &ft);
    if (rc != 0)
        return rc == TLY_ENOENT ? 0 : rc;
    rc = tly_state_user_profile(st, tenant, to, &ta, &tt);
    if (rc != 0 && rc != TLY_ENOENT) {
        free(fa);
        free(ft);
        return rc;
    }
    cJSON *src = object_from(fa), *src_times = object_from(ft);
    cJSON *dst = object_from(ta), *dst_times = object_from(tt);
    free(fa);
    free(ft);
    free(ta);
    free(tt);
    int changed = 0;
    char *a = NULL, *t = NULL;
    rc = src && src_times && dst && dst_times
             ? merge_users(dst, dst_times, src, src_times, 1, &changed)
             : TLY_ENOMEM;
    if (rc == 0 && changed) {
        a = cJSON_PrintUnformatted(dst);
        t = cJSON_PrintUnformatted(dst_times);
        rc = a && t ? tly_state_set_user_profile(st, tenant, to, a, t, tly_now_ms()) : TLY_ENOMEM;
    }
    cJSON_free(a);
    cJSON_free(t);
    cJSON_Delete(src);
    cJSON_Delete(src_times);
    cJSON_Delete(dst);
    cJSON_Delete(dst_times);
    return rc;
}

static int apply_alias(struct tly_state *st, const struct tly_event *ev)
{
    int rc = tly_state_add_identity_link(st, ev->tenant, ev->previous_id, ev->user_id,
                                         ev->timestamp, tly_now_ms());
    if (rc != 0 || strcmp(ev->previous_id, ev->user_id) == 0)
        return rc;
    rc = merge_attributes(st, ev->tenant, ev->previous_id, ev->user_id);
    if (rc == 0)
        rc = tly_segment_members_merge_static(tly_state_sqlite(st), ev->tenant, ev->previous_id,
                                              ev->user_id, ev->received_at);
    return rc;
}

int tly_profile_apply(struct tly_state *st, const struct tly_event *ev)
{
    /* A track event may carry the user's attributes too (MoEngage): the
     * event is recorded and the attributes merged, as a profile update. */
    if (ev->kind == TLY_EVENT_PROFILE || (ev->kind == TLY_EVENT_TRACK && ev->traits != NULL))
        return apply_traits(st, ev);
    if (ev->kind == TLY_EVENT_ALIAS)
        return apply_alias(st, ev);
    return 0;
}
