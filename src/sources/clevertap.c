/*
 * The CleverTap webhook adapter and the ingest check of its bodies (see
 * clevertap.h for the mapping, adapter.h for the contract).
 *
 * Split builds one self-contained item per profile and hangs the items
 * under the record's parse tree (out->root owns them). Map is pure: the
 * strings and objects of an event borrow from the item; an absent
 * event_properties borrows a static empty object.
 */
#include "sources/clevertap.h"
#include "core/json.h"
#include "core/timeparse.h"
#include "sources/adapter.h"
#include "sources/fields.h"
#include "sources/server.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct tly_adapter tly_server_adapter;

/* The member under which split hangs its items; never sent by CleverTap. */
#define ITEMS_KEY "\x01tally_items"

/* The server API shape: event_name or event_id at the root, no profiles. */
static int is_server_shape(const cJSON *root)
{
    return cJSON_GetObjectItem(root, "profiles") == NULL &&
           (cJSON_GetObjectItemCaseSensitive(root, "event_name") != NULL ||
            cJSON_GetObjectItemCaseSensitive(root, "event_id") != NULL);
}

static int is_test(const cJSON *root)
{
    return cJSON_IsTrue(cJSON_GetObjectItem(root, "is_test"));
}

/* The shape rules shared by the ingest check and split: 0 or TLY_EINVAL. */
static int check_root(const cJSON *root, struct tly_clevertap_body *out, struct tly_error *err)
{
    memset(out, 0, sizeof *out);
    if (!cJSON_IsObject(root))
        return tly_error_set(err, TLY_EINVAL, "",
                             "expected a CleverTap webhook object {\"profiles\":...}, got %s",
                             tly_json_type_name(root));
    if (is_test(root)) {
        out->is_test = 1;
        return 0;
    }
    if (is_server_shape(root)) {
        out->items = 1;
        return 0;
    }
    const cJSON *p = cJSON_GetObjectItem(root, "profiles");
    if (p == NULL)
        return tly_error_set(err, TLY_EINVAL, "profiles",
                             "profiles: required field is missing (or send the server API "
                             "shape: event_id, event_name, user_id, timestamp, "
                             "event_properties)");
    if (cJSON_IsObject(p)) {
        out->items = 1;
        return 0;
    }
    if (!cJSON_IsArray(p))
        return tly_error_set(err, TLY_EINVAL, "profiles",
                             "profiles: expected array or object, got %s", tly_json_type_name(p));
    out->items = (size_t)cJSON_GetArraySize(p);
    if (out->items == 0)
        return tly_error_set(err, TLY_EINVAL, "profiles", "profiles: must not be empty");
    if (out->items > TLY_CLEVERTAP_PROFILES_MAX)
        return tly_error_set(err, TLY_EINVAL, "profiles",
                             "profiles: %zu profiles, at most %d allowed per request", out->items,
                             TLY_CLEVERTAP_PROFILES_MAX);
    return 0;
}

int tly_clevertap_check(const char *body, size_t len, struct tly_clevertap_body *out,
                        struct tly_error *err)
{
    memset(out, 0, sizeof *out);
    cJSON *root = tly_json_parse(body, len, err); /* owned here */
    if (root == NULL)
        return TLY_EINVAL;
    int rc = check_root(root, out, err);
    cJSON_Delete(root);
    return rc;
}

/* ---- split ---- */

/* "$D_<epoch seconds>" → ISO-8601 UTC, in place, in every string value of
 * `obj`, nested objects and arrays included. A value past year 9999 stays as
 * sent. */
static void decode_dates(cJSON *obj)
{
    cJSON *c;
    cJSON_ArrayForEach(c, obj)
    {
        if (cJSON_IsObject(c) || cJSON_IsArray(c)) {
            decode_dates(c);
            continue;
        }
        if (!cJSON_IsString(c) || strncmp(c->valuestring, "$D_", 3) != 0)
            continue;
        const char *d = c->valuestring + 3;
        size_t n = strlen(d);
        if (n == 0 || n > 12 || strspn(d, "0123456789") != n)
            continue;
        int64_t secs = strtoll(d, NULL, 10);
        if (secs > 253402300799LL) /* 9999-12-31T23:59:59Z */
            continue;
        int64_t ms = secs * 1000;
        char iso[25];
        tly_time_format(ms, iso);
        cJSON_SetValuestring(c, iso);
    }
}

/* FNV-1a 64 over `s`, continuing from `h`. */
static uint64_t fnv1a(uint64_t h, const char *s)
{
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* The printed form of `v` folded into `h` ("null" when absent). */
static uint64_t fold(uint64_t h, const cJSON *v)
{
    if (v == NULL)
        return fnv1a(h, "null|");
    char *s = cJSON_PrintUnformatted(v); /* owned here */
    h = fnv1a(h, s != NULL ? s : "?");
    free(s);
    return fnv1a(h, "|");
}

/* A non-empty string member of `obj` (case-insensitive), else NULL. */
static const char *str_of(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_IsObject(obj) ? cJSON_GetObjectItem(obj, key) : NULL;
    return cJSON_IsString(v) && v->valuestring[0] != '\0' ? v->valuestring : NULL;
}

/* One item for `profile` (a copy, dates decoded), added to `items`. */
static int add_item(cJSON *items, const cJSON *root, const cJSON *profile)
{
    cJSON *it = cJSON_CreateObject();
    if (it == NULL || !cJSON_AddItemToArray(items, it))
        return cJSON_Delete(it), TLY_ENOMEM;
    const cJSON *target = cJSON_GetObjectItem(root, "targetId");
    cJSON *copy = cJSON_Duplicate(profile, 1);
    if (copy == NULL)
        return TLY_ENOMEM;
    if (cJSON_IsObject(copy)) {
        cJSON *props = cJSON_GetObjectItem(copy, "event_properties");
        cJSON *data = cJSON_GetObjectItem(copy, "profileData");
        if (cJSON_IsObject(props))
            decode_dates(props);
        if (cJSON_IsObject(data))
            decode_dates(data);
    }
    char tbuf[64];
    if (cJSON_IsNumber(target))
        snprintf(tbuf, sizeof tbuf, "%.0f", target->valuedouble);
    else
        snprintf(tbuf, sizeof tbuf, "%s", cJSON_IsString(target) ? target->valuestring : "");
    const cJSON *kv_root = cJSON_GetObjectItem(root, "key_values");
    const cJSON *kv = cJSON_IsObject(copy) ? cJSON_GetObjectItem(copy, "key_values") : NULL;

    const char *id = str_of(copy, "event_id");
    if (id == NULL)
        id = str_of(kv, "event_id");
    if (id == NULL)
        id = str_of(kv_root, "event_id");
    char idbuf[24];
    if (id == NULL) {
        uint64_t h = 0xcbf29ce484222325ULL;
        h = fnv1a(fnv1a(h, tbuf), "|");
        h = fold(h, cJSON_IsObject(copy) ? cJSON_GetObjectItem(copy, "objectId") : NULL);
        h = fold(h, cJSON_IsObject(copy) ? cJSON_GetObjectItem(copy, "event_properties") : NULL);
        snprintf(idbuf, sizeof idbuf, "ct_%016" PRIx64, h);
        id = idbuf;
    }
    const char *name = str_of(kv, "event_name");
    if (name == NULL)
        name = str_of(kv_root, "event_name");
    char namebuf[80];
    if (name == NULL) {
        snprintf(namebuf, sizeof namebuf, "clevertap_%s", tbuf);
        name = namebuf;
    }
    if (cJSON_AddStringToObject(it, "targetId", tbuf) == NULL ||
        cJSON_AddStringToObject(it, "event_id", id) == NULL ||
        cJSON_AddStringToObject(it, "event_name", name) == NULL ||
        !cJSON_AddItemToObject(it, "profile", copy))
        return cJSON_Delete(copy), TLY_ENOMEM;
    return 0;
}

static int clevertap_split(const struct tly_record *rec, struct tly_items *out,
                           struct tly_failure *f)
{
    struct tly_error err;
    out->root = rec->flags & TLY_RECORD_BODY_CHECKED
                    ? tly_json_parse_checked(rec->body, rec->body_len, &err)
                    : tly_json_parse(rec->body, rec->body_len, &err);
    if (out->root == NULL)
        return tly_fail(f, TLY_FAIL_INVALID_JSON, "", "%s", err.msg);
    struct tly_clevertap_body b;
    if (check_root(out->root, &b, &err) != 0)
        return tly_fail(f,
                        strstr(err.msg, "missing") || strstr(err.msg, "empty")
                            ? TLY_FAIL_MISSING_FIELD
                        : strstr(err.msg, "at most") ? TLY_FAIL_TOO_LARGE
                                                     : TLY_FAIL_INVALID_TYPE,
                        err.field, "%s", err.msg);
    if (b.is_test)
        return 0; /* nothing to record */
    if (is_server_shape(out->root))
        return tly_items_push(out, out->root) != 0
                   ? tly_fail(f, TLY_FAIL_TOO_LARGE, "", "out of memory listing items")
                   : 0;
    cJSON *items = cJSON_AddArrayToObject(out->root, ITEMS_KEY);
    if (items == NULL)
        return tly_fail(f, TLY_FAIL_TOO_LARGE, "", "out of memory listing items");
    const cJSON *p = cJSON_GetObjectItem(out->root, "profiles");
    int rc = 0;
    if (cJSON_IsObject(p)) {
        rc = add_item(items, out->root, p);
    } else {
        const cJSON *e;
        cJSON_ArrayForEach(e, p)
        {
            if ((rc = add_item(items, out->root, e)) != 0)
                break;
        }
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, items)
    {
        if (rc == 0 && tly_items_push(out, it) != 0)
            rc = TLY_ENOMEM;
    }
    if (rc != 0)
        return tly_fail(f, TLY_FAIL_TOO_LARGE, "", "out of memory listing items");
    return 0;
}

/* ---- map ---- */

/* The tenant's name for the item's targetId, or NULL. */
static const char *target_name(const struct tly_source_config *cfg, const cJSON *item)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(item, "targetId");
    if (cfg == NULL || cfg->target_names == NULL || !cJSON_IsString(t))
        return NULL;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(cfg->target_names, t->valuestring);
    return cJSON_IsString(n) && n->valuestring[0] != '\0' ? n->valuestring : NULL;
}

static int clevertap_map(const cJSON *item, const struct tly_record *rec,
                         const struct tly_source_config *cfg, struct tly_event *ev,
                         struct tly_failure *f)
{
    memset(ev, 0, sizeof *ev);
    if (!cJSON_IsObject(item))
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, "", "expected a CleverTap item object, got %s",
                        tly_json_type_name(item));
    const cJSON *profile = cJSON_GetObjectItemCaseSensitive(item, "profile");
    if (profile == NULL) { /* a custom body in the server API shape */
        if (tly_server_adapter.map(item, rec, NULL, ev, f) != 0)
            return -1;
        ev->source = rec->source;
        return tly_mapping_apply(cfg, item, ev, f);
    }
    if (!cJSON_IsObject(profile))
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, "profiles",
                        "profiles: expected a profile object, got %s", tly_json_type_name(profile));
    ev->kind = TLY_EVENT_TRACK;
    ev->tenant = rec->tenant;
    ev->source = rec->source;
    ev->received_at = rec->received_at;
    ev->timestamp = rec->received_at;
    if (!tly_mapped(cfg, TLY_MAP_EVENT_ID)) {
        if (tly_opt_string(cJSON_GetObjectItemCaseSensitive(item, "event_id"), "event_id",
                           TLY_EVENT_ID_MAX, &ev->event_id, f) != 0)
            return -1;
        if (ev->event_id == NULL)
            return tly_fail(f, TLY_FAIL_MISSING_FIELD, "event_id", "event_id: missing or empty");
    }
    /* The tenant's name for the campaign first, then the one split found
     * (key_values.event_name, else clevertap_<targetId>). */
    if (!tly_mapped(cfg, TLY_MAP_EVENT_NAME) && (ev->event_name = target_name(cfg, item)) == NULL) {
        if (tly_opt_string(cJSON_GetObjectItemCaseSensitive(item, "event_name"), "event_name",
                           TLY_EVENT_NAME_MAX, &ev->event_name, f) != 0)
            return -1;
        if (ev->event_name == NULL)
            return tly_fail(f, TLY_FAIL_MISSING_FIELD, "event_name",
                            "event_name: missing or empty");
    }
    if (!tly_mapped(cfg, TLY_MAP_USER_ID)) {
        if (tly_opt_string(cJSON_GetObjectItem(profile, "identity"), "identity", TLY_USER_ID_MAX,
                           &ev->user_id, f) != 0)
            return -1;
        if (ev->user_id == NULL &&
            tly_opt_string(cJSON_GetObjectItem(profile, "objectId"), "objectId", TLY_USER_ID_MAX,
                           &ev->user_id, f) != 0)
            return -1;
        if (ev->user_id == NULL)
            return tly_fail(f, TLY_FAIL_MISSING_FIELD, "identity",
                            "identity: required, or objectId when the profile has no identity");
    }
    if ((!tly_mapped(cfg, TLY_MAP_PROPERTIES) &&
         tly_opt_object(cJSON_GetObjectItem(profile, "event_properties"), "event_properties",
                        &tly_empty_object, &ev->properties, f) != 0) ||
        tly_opt_object(cJSON_GetObjectItem(profile, "profileData"), "profileData", NULL,
                       &ev->traits, f) != 0 ||
        tly_opt_object(cJSON_GetObjectItem(profile, "systemProfileData"), "systemProfileData", NULL,
                       &ev->context, f) != 0)
        return -1;
    return tly_mapping_apply(cfg, item, ev, f);
}

static const char *clevertap_event_id_of(const cJSON *item)
{
    const cJSON *v =
        cJSON_IsObject(item) ? cJSON_GetObjectItemCaseSensitive(item, "event_id") : NULL;
    return cJSON_IsString(v) && v->valuestring[0] != '\0' ? v->valuestring : NULL;
}

const struct tly_adapter tly_clevertap_adapter = {
    .source = TLY_SOURCE_CLEVERTAP,
    .split = clevertap_split,
    .map = clevertap_map,
    .event_id_of = clevertap_event_id_of,
};
