/*
 * The MoEngage Streams adapter and the ingest check of its bodies (see
 * moengage.h for the mapping, adapter.h for the contract).
 *
 * The adapter is pure: record in, items and canonical events or typed
 * failures out. Strings and objects of an event borrow from the item's
 * parse tree; an absent `event_attributes` borrows a static empty object.
 */
#include "sources/moengage.h"
#include "core/json.h"
#include "core/json_scan.h"
#include "core/timeparse.h"
#include "sources/adapter.h"
#include "sources/fields.h"
#include "sources/server.h"

#include <string.h>

/* ---- the ingest check (no tree, no allocation) ---- */

struct scan {
    struct tly_moengage_body *out;
    int events_seen;                /* the first "events" member was read */
    enum tly_json_kind events_kind; /* its kind */
};

/* An array member: one event, only counted. */
static int on_event(struct tly_json_scan *c, void *arg, const char *key, size_t key_len)
{
    (void)key;
    (void)key_len;
    struct scan *s = arg;
    s->out->items++;
    return tly_json_scan_value(c);
}

/* A member of the root object: the first "events" is walked. */
static int on_root_member(struct tly_json_scan *c, void *arg, const char *key, size_t key_len)
{
    struct scan *s = arg;
    if (s->events_seen || !tly_json_string_is(key, key_len, "events", 6))
        return tly_json_scan_value(c);
    s->events_seen = 1;
    s->events_kind = tly_json_scan_peek(c);
    if (s->events_kind == TLY_JSON_ARRAY)
        return tly_json_scan_container(c, on_event, s);
    return tly_json_scan_value(c);
}

int tly_moengage_scan(const char *body, size_t len, struct tly_moengage_body *out,
                      struct tly_error *err)
{
    memset(out, 0, sizeof *out);
    struct scan s = {.out = out};
    struct tly_json_scan c;
    tly_json_scan_init(&c, body, len);
    enum tly_json_kind root = tly_json_scan_peek(&c);
    int rc = root == TLY_JSON_OBJECT ? tly_json_scan_container(&c, on_root_member, &s)
                                     : tly_json_scan_value(&c);
    if (rc != 0 || tly_json_scan_finish(&c) != 0)
        return tly_json_scan_error(&c, err);
    if (root != TLY_JSON_OBJECT)
        return tly_error_set(err, TLY_EINVAL, "",
                             "expected a MoEngage Streams object {\"events\":[...]}, got %s",
                             tly_json_kind_name(root));
    if (!s.events_seen)
        return tly_error_set(err, TLY_EINVAL, "events", "events: required field is missing");
    if (s.events_kind != TLY_JSON_ARRAY)
        return tly_error_set(err, TLY_EINVAL, "events", "events: expected array, got %s",
                             tly_json_kind_name(s.events_kind));
    if (out->items == 0)
        return tly_error_set(err, TLY_EINVAL, "events", "events: must not be empty");
    if (out->items > TLY_MOENGAGE_EVENTS_MAX)
        return tly_error_set(err, TLY_EINVAL, "events",
                             "events: %zu events, at most %d allowed per request", out->items,
                             TLY_MOENGAGE_EVENTS_MAX);
    return 0;
}

/* ---- split: a record's body into its events ---- */

/* Copies the event's `event_name` and `event_code` into its
 * `device_attributes` (the event's context; created when absent, members
 * already there are left alone), so that whichever the tenant uses as the
 * name, the other stays in the context. Done at split, where the tree is
 * the adapter's: a failed item keeps them and maps the same on replay. */
static int names_in_context(cJSON *ev)
{
    static const char *const names[] = {"event_name", "event_code"};
    cJSON *dev = cJSON_GetObjectItemCaseSensitive(ev, "device_attributes");
    for (int i = 0; i < 2; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, names[i]);
        if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
            continue;
        if (dev == NULL && cJSON_IsObject(ev))
            dev = cJSON_AddObjectToObject(ev, "device_attributes");
        if (dev == NULL)
            return TLY_ENOMEM;
        if (!cJSON_IsObject(dev) || cJSON_GetObjectItemCaseSensitive(dev, names[i]) != NULL)
            continue;
        if (cJSON_AddStringToObject(dev, names[i], v->valuestring) == NULL)
            return TLY_ENOMEM;
    }
    return 0;
}

static int moengage_split(const struct tly_record *rec, struct tly_items *out,
                          struct tly_failure *f)
{
    struct tly_error err;
    out->root = rec->flags & TLY_RECORD_BODY_CHECKED
                    ? tly_json_parse_checked(rec->body, rec->body_len, &err)
                    : tly_json_parse(rec->body, rec->body_len, &err);
    if (out->root == NULL)
        return tly_fail(f, TLY_FAIL_INVALID_JSON, "", "%s", err.msg);
    if (!cJSON_IsObject(out->root))
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, "",
                        "expected a MoEngage Streams object {\"events\":[...]}, got %s",
                        tly_json_type_name(out->root));
    const cJSON *events = cJSON_GetObjectItemCaseSensitive(out->root, "events");
    if (events == NULL)
        return tly_fail(f, TLY_FAIL_MISSING_FIELD, "events", "events: required field is missing");
    if (!cJSON_IsArray(events))
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, "events", "events: expected array, got %s",
                        tly_json_type_name(events));
    if (cJSON_GetArraySize(events) == 0)
        return tly_fail(f, TLY_FAIL_MISSING_FIELD, "events", "events: must not be empty");
    int n = cJSON_GetArraySize(events);
    if (n > TLY_MOENGAGE_EVENTS_MAX)
        return tly_fail(f, TLY_FAIL_TOO_LARGE, "events",
                        "events: %d events, at most %d allowed per request", n,
                        TLY_MOENGAGE_EVENTS_MAX);
    cJSON *ev;
    cJSON_ArrayForEach(ev, events)
    {
        if (names_in_context(ev) != 0 || tly_items_push(out, ev) != 0)
            return tly_fail(f, TLY_FAIL_TOO_LARGE, "", "out of memory listing items");
    }
    return 0;
}

/* ---- map: one event ---- */

enum member { M_UUID, M_NAME, M_CODE, M_TIME, M_UID, M_ATTRS, M_USER_ATTRS, M_DEVICE, M_COUNT };

static const char *const member_names[M_COUNT] = {
    "event_uuid", "event_name",       "event_code",      "event_time",
    "uid",        "event_attributes", "user_attributes", "device_attributes"};

static int map_time(const cJSON *v, int64_t *ts, struct tly_failure *f)
{
    const char *field = "event_time";
    if (v == NULL || cJSON_IsNull(v))
        return tly_fail(f, TLY_FAIL_MISSING_FIELD, field, "%s: required field is missing", field);
    struct tly_error err;
    int rc;
    if (cJSON_IsString(v))
        rc = tly_time_parse(v->valuestring, strlen(v->valuestring), ts, field, &err);
    else if (cJSON_IsNumber(v))
        rc = tly_time_from_number(v->valuedouble, ts, field, &err);
    else
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, field,
                        "%s: expected epoch number or ISO-8601 string, got %s", field,
                        tly_json_type_name(v));
    if (rc != 0)
        return tly_fail(f, TLY_FAIL_INVALID_TIMESTAMP, field, "%s", err.msg);
    return 0;
}

/* uid, else user_attributes.moengage_user_id (user_attributes already
 * checked to be an object or NULL). */
static int map_user(const cJSON *m[M_COUNT], const cJSON *user_attrs, const char **user,
                    struct tly_failure *f)
{
    if (tly_opt_string(m[M_UID], "uid", TLY_USER_ID_MAX, user, f) != 0)
        return -1;
    if (*user != NULL)
        return 0;
    const cJSON *v = user_attrs != NULL
                         ? cJSON_GetObjectItemCaseSensitive(user_attrs, "moengage_user_id")
                         : NULL;
    if (tly_opt_string(v, "user_attributes.moengage_user_id", TLY_USER_ID_MAX, user, f) != 0)
        return -1;
    if (*user == NULL)
        return tly_fail(f, TLY_FAIL_MISSING_FIELD, "uid",
                        "uid: required, or user_attributes.moengage_user_id when the user has "
                        "no uid");
    return 0;
}

/* event_name, else event_code; or the other way round when the tenant
 * chose event_code ("event_name_field"). */
static int map_name(const cJSON *m[M_COUNT], const struct tly_source_config *cfg, const char **name,
                    struct tly_failure *f)
{
    int first = cfg != NULL && cfg->name_from_code ? M_CODE : M_NAME;
    int second = first == M_CODE ? M_NAME : M_CODE;
    const char *other;
    if (tly_opt_string(m[first], member_names[first], TLY_EVENT_NAME_MAX, name, f) != 0 ||
        tly_opt_string(m[second], member_names[second], TLY_EVENT_NAME_MAX, &other, f) != 0)
        return -1;
    if (*name == NULL)
        *name = other;
    if (*name == NULL)
        return tly_fail(f, TLY_FAIL_MISSING_FIELD, member_names[first],
                        "%s: required, or %s when the event has none", member_names[first],
                        member_names[second]);
    return 0;
}

static int moengage_map(const cJSON *item, const struct tly_record *rec,
                        const struct tly_source_config *cfg, struct tly_event *ev,
                        struct tly_failure *f)
{
    memset(ev, 0, sizeof *ev);
    if (!cJSON_IsObject(item))
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, "", "expected a MoEngage event object, got %s",
                        tly_json_type_name(item));
    const cJSON *m[M_COUNT];
    tly_find_members(item, member_names, M_COUNT, m);
    ev->kind = TLY_EVENT_TRACK;
    ev->tenant = rec->tenant;
    ev->source = rec->source;
    ev->received_at = rec->received_at;
    if (!tly_mapped(cfg, TLY_MAP_EVENT_ID)) {
        if (tly_opt_string(m[M_UUID], "event_uuid", TLY_EVENT_ID_MAX, &ev->event_id, f) != 0)
            return -1;
        if (ev->event_id == NULL)
            return tly_fail(f, TLY_FAIL_MISSING_FIELD, "event_uuid",
                            "event_uuid: required field is missing or empty");
    }
    if (!tly_mapped(cfg, TLY_MAP_EVENT_NAME) && map_name(m, cfg, &ev->event_name, f) != 0)
        return -1;
    if (tly_opt_object(m[M_USER_ATTRS], "user_attributes", NULL, &ev->traits, f) != 0 ||
        (!tly_mapped(cfg, TLY_MAP_USER_ID) && map_user(m, ev->traits, &ev->user_id, f) != 0) ||
        (!tly_mapped(cfg, TLY_MAP_TIMESTAMP) && map_time(m[M_TIME], &ev->timestamp, f) != 0))
        return -1;
    if ((!tly_mapped(cfg, TLY_MAP_PROPERTIES) &&
         tly_opt_object(m[M_ATTRS], "event_attributes", &tly_empty_object, &ev->properties, f) !=
             0) ||
        tly_opt_object(m[M_DEVICE], "device_attributes", NULL, &ev->context, f) != 0)
        return -1;
    return tly_mapping_apply(cfg, item, ev, f);
}

static const char *moengage_event_id_of(const cJSON *item)
{
    const cJSON *v =
        cJSON_IsObject(item) ? cJSON_GetObjectItemCaseSensitive(item, "event_uuid") : NULL;
    return cJSON_IsString(v) && v->valuestring[0] != '\0' ? v->valuestring : NULL;
}

const struct tly_adapter tly_moengage_adapter = {
    .source = TLY_SOURCE_MOENGAGE,
    .split = moengage_split,
    .map = moengage_map,
    .event_id_of = moengage_event_id_of,
};
