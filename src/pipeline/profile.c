/*
 * Profile updates and identity links (see profile.h).
 */
#include "pipeline/profile.h"
#include "core/timeparse.h"

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

int tly_profile_apply(struct tly_state *st, const struct tly_event *ev)
{
    /* A track event may carry the user's attributes too (MoEngage): the
     * event is recorded and the attributes merged, as a profile update. */
    if (ev->kind == TLY_EVENT_PROFILE || (ev->kind == TLY_EVENT_TRACK && ev->traits != NULL))
        return apply_traits(st, ev);
    if (ev->kind == TLY_EVENT_ALIAS)
        return tly_state_add_identity_link(st, ev->tenant, ev->previous_id, ev->user_id,
                                           ev->timestamp, tly_now_ms());
    return 0;
}
