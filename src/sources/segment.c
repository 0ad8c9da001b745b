/*
 * The Segment adapters (webhook and tracking API) and the ingest check of
 * their bodies (see segment.h for the mapping, adapter.h for the contract).
 *
 * Both adapters are pure: record in, items and canonical events or typed
 * failures out. Strings and objects of an event borrow from the item's
 * parse tree; an absent `properties` borrows a static empty object.
 */
#include "sources/segment.h"
#include "core/json.h"
#include "core/json_scan.h"
#include "core/timeparse.h"
#include "sources/adapter.h"
#include "sources/fields.h"
#include "sources/server.h"

#include <string.h>

/* ---- the ingest check (no tree, no allocation) ---- */

struct scan {
    struct tly_segment_body *out;
    enum tly_segment_shape shape;
    int key_seen;                  /* the first "writeKey" member was read */
    int batch_seen;                /* the first "batch" member was read */
    enum tly_json_kind batch_kind; /* its kind */
    size_t big_index, big_len;     /* the first event over the limit */
    int big;
};

/* An array member: one event, measured as raw bytes. */
static int on_event(struct tly_json_scan *c, void *arg, const char *key, size_t key_len)
{
    (void)key;
    (void)key_len;
    struct scan *s = arg;
    tly_json_scan_peek(c);
    size_t start = c->i;
    if (tly_json_scan_value(c) != 0)
        return -1;
    size_t n = c->i - start;
    if (s->out->items == 0) {
        s->out->first = c->s + start;
        s->out->first_len = n;
    }
    if (n > TLY_SEGMENT_EVENT_BYTES && !s->big) {
        s->big = 1;
        s->big_index = s->out->items;
        s->big_len = n;
    }
    s->out->items++;
    return 0;
}

/* The first "writeKey" member of the root object, when a string. */
static int on_write_key(struct tly_json_scan *c, struct scan *s)
{
    s->key_seen = 1;
    int is_string = tly_json_scan_peek(c) == TLY_JSON_STRING;
    size_t start = c->i;
    if (tly_json_scan_value(c) != 0)
        return -1;
    if (is_string) {
        s->out->write_key = c->s + start + 1;
        s->out->write_key_len = c->i - start - 2;
    }
    return 0;
}

/* A member of the root object: the first "writeKey" is noted and, in a
 * batch body, the first "batch" is walked. */
static int on_root_member(struct tly_json_scan *c, void *arg, const char *key, size_t key_len)
{
    struct scan *s = arg;
    if (!s->key_seen && tly_json_string_is(key, key_len, "writeKey", 8))
        return on_write_key(c, s);
    if (s->shape != TLY_SEGMENT_BATCH || s->batch_seen ||
        !tly_json_string_is(key, key_len, "batch", 5))
        return tly_json_scan_value(c);
    s->batch_seen = 1;
    s->batch_kind = tly_json_scan_peek(c);
    if (s->batch_kind == TLY_JSON_ARRAY)
        return tly_json_scan_container(c, on_event, s);
    return tly_json_scan_value(c);
}

/* The shape verdict once the text is known to be valid JSON. */
static int judge_shape(enum tly_segment_shape shape, enum tly_json_kind root, size_t len,
                       const struct scan *s, struct tly_error *err)
{
    const struct tly_segment_body *b = s->out;
    switch (shape) {
    case TLY_SEGMENT_WEBHOOK:
        if (root != TLY_JSON_OBJECT && root != TLY_JSON_ARRAY)
            return tly_error_set(err, TLY_EINVAL, "",
                                 "expected a Segment event object or an array of them, got %s",
                                 tly_json_kind_name(root));
        if (root == TLY_JSON_ARRAY && b->items == 0)
            return tly_error_set(err, TLY_EINVAL, "", "the array of events is empty");
        break;
    case TLY_SEGMENT_CALL:
        if (root != TLY_JSON_OBJECT)
            return tly_error_set(err, TLY_EINVAL, "", "expected one Segment event object, got %s",
                                 tly_json_kind_name(root));
        break;
    case TLY_SEGMENT_BATCH:
        if (root != TLY_JSON_OBJECT)
            return tly_error_set(err, TLY_EINVAL, "",
                                 "expected a JSON object {\"batch\":[...]}, got %s",
                                 tly_json_kind_name(root));
        if (!s->batch_seen)
            return tly_error_set(err, TLY_EINVAL, "batch", "batch: required field is missing");
        if (s->batch_kind != TLY_JSON_ARRAY)
            return tly_error_set(err, TLY_EINVAL, "batch", "batch: expected array, got %s",
                                 tly_json_kind_name(s->batch_kind));
        if (b->items == 0)
            return tly_error_set(err, TLY_EINVAL, "batch", "batch: must not be empty");
        break;
    }
    const char *field = shape == TLY_SEGMENT_BATCH ? "batch" : "";
    if (s->big)
        return tly_error_set(err, TLY_EINVAL, field,
                             "event %zu: %zu bytes, at most %d allowed per event", s->big_index,
                             s->big_len, TLY_SEGMENT_EVENT_BYTES);
    if ((shape == TLY_SEGMENT_BATCH || b->is_array) && len > TLY_SEGMENT_BATCH_BYTES)
        return tly_error_set(err, TLY_EINVAL, field,
                             "body: %zu bytes, at most %d allowed per batch", len,
                             TLY_SEGMENT_BATCH_BYTES);
    return 0;
}

int tly_segment_scan(const char *body, size_t len, enum tly_segment_shape shape,
                     struct tly_segment_body *out, struct tly_error *err)
{
    memset(out, 0, sizeof *out);
    struct scan s = {.out = out, .shape = shape};
    struct tly_json_scan c;
    tly_json_scan_init(&c, body, len);
    enum tly_json_kind root = tly_json_scan_peek(&c);
    int rc;
    if (root == TLY_JSON_ARRAY && shape == TLY_SEGMENT_WEBHOOK) {
        out->is_array = 1;
        rc = tly_json_scan_container(&c, on_event, &s);
    } else if (root == TLY_JSON_OBJECT && shape == TLY_SEGMENT_BATCH) {
        rc = tly_json_scan_container(&c, on_root_member, &s);
    } else {
        size_t start = c.i;
        rc = root == TLY_JSON_OBJECT ? tly_json_scan_container(&c, on_root_member, &s)
                                     : tly_json_scan_value(&c);
        if (rc == 0 && root == TLY_JSON_OBJECT) {
            out->items = 1;
            out->first = body + start;
            out->first_len = c.i - start;
            if (out->first_len > TLY_SEGMENT_EVENT_BYTES) {
                s.big = 1;
                s.big_len = out->first_len;
            }
        }
    }
    if (rc != 0 || tly_json_scan_finish(&c) != 0)
        return tly_json_scan_error(&c, err);
    return judge_shape(shape, root, len, &s, err);
}

const char *tly_segment_meta(const char *type)
{
    static const char *const metas[] = {"{\"type\":\"track\"}", "{\"type\":\"identify\"}",
                                        "{\"type\":\"page\"}", "{\"type\":\"screen\"}",
                                        "{\"type\":\"alias\"}"};
    static const char *const types[] = {"track", "identify", "page", "screen", "alias"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(type, types[i]) == 0)
            return metas[i];
    return NULL;
}

/* The call type a tracking-API record's metadata names, or NULL. */
static const char *meta_type(const struct tly_record *rec)
{
    static const char *const types[] = {"track", "identify", "page", "screen", "alias"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        const char *m = tly_segment_meta(types[i]);
        if (rec->meta_len == strlen(m) && memcmp(rec->meta, m, rec->meta_len) == 0)
            return types[i];
    }
    return NULL;
}

/* ---- split: a record's body into its events ---- */

static int parse_body(const struct tly_record *rec, struct tly_items *out, struct tly_failure *f)
{
    struct tly_error err;
    out->root = rec->flags & TLY_RECORD_BODY_CHECKED
                    ? tly_json_parse_checked(rec->body, rec->body_len, &err)
                    : tly_json_parse(rec->body, rec->body_len, &err);
    if (out->root == NULL)
        return tly_fail(f, TLY_FAIL_INVALID_JSON, "", "%s", err.msg);
    return 0;
}

/* Lists the members of `arr` (field names it in failures). */
static int push_all(struct tly_items *out, const cJSON *arr, const char *field,
                    struct tly_failure *f)
{
    if (cJSON_GetArraySize(arr) == 0)
        return tly_fail(f, TLY_FAIL_MISSING_FIELD, field, "%s%sthe array of events is empty", field,
                        field[0] ? ": " : "");
    const cJSON *ev;
    cJSON_ArrayForEach(ev, arr)
    {
        if (tly_items_push(out, ev) != 0)
            return tly_fail(f, TLY_FAIL_TOO_LARGE, "", "out of memory listing items");
    }
    return 0;
}

static int push_one(struct tly_items *out, struct tly_failure *f)
{
    if (tly_items_push(out, out->root) != 0)
        return tly_fail(f, TLY_FAIL_TOO_LARGE, "", "out of memory listing items");
    return 0;
}

static int segment_split(const struct tly_record *rec, struct tly_items *out, struct tly_failure *f)
{
    if (parse_body(rec, out, f) != 0)
        return -1;
    if (cJSON_IsArray(out->root))
        return push_all(out, out->root, "", f);
    if (cJSON_IsObject(out->root))
        return push_one(out, f);
    return tly_fail(f, TLY_FAIL_INVALID_TYPE, "",
                    "expected a Segment event object or an array of them, got %s",
                    tly_json_type_name(out->root));
}

static int track_split(const struct tly_record *rec, struct tly_items *out, struct tly_failure *f)
{
    if (parse_body(rec, out, f) != 0)
        return -1;
    if (rec->kind != TLY_KIND_BATCH)
        return push_one(out, f); /* map judges the object */
    if (!cJSON_IsObject(out->root))
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, "",
                        "expected a JSON object {\"batch\":[...]}, got %s",
                        tly_json_type_name(out->root));
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(out->root, "batch");
    if (b == NULL)
        return tly_fail(f, TLY_FAIL_MISSING_FIELD, "batch", "batch: required field is missing");
    if (!cJSON_IsArray(b))
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, "batch", "batch: expected array, got %s",
                        tly_json_type_name(b));
    return push_all(out, b, "batch", f);
}

/* ---- map: one event ---- */

enum member {
    M_TYPE,
    M_USER,
    M_ANON,
    M_EVENT,
    M_NAME,
    M_MSGID,
    M_TS,
    M_OTS,
    M_PROPS,
    M_CTX,
    M_TRAITS,
    M_GROUP,
    M_PREV,
    M_COUNT
};

static const char *const member_names[M_COUNT] = {
    "type",      "userId",    "anonymousId",       "event",      "name",
    "messageId", "timestamp", "originalTimestamp", "properties", "context",
    "traits",    "groupId",   "previousId"};

/* UTF-8 characters in `s` (bytes that do not continue a sequence). */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static int map_time(const cJSON *m[M_COUNT], int64_t received_at, int64_t *ts,
                    struct tly_failure *f)
{
    int which = m[M_TS] != NULL && !cJSON_IsNull(m[M_TS]) ? M_TS : M_OTS;
    const cJSON *v = m[which];
    const char *field = member_names[which];
    if (v == NULL || cJSON_IsNull(v)) {
        *ts = received_at;
        return 0;
    }
    struct tly_error err;
    int rc;
    if (cJSON_IsString(v))
        rc = tly_time_parse(v->valuestring, strlen(v->valuestring), ts, field, &err);
    else if (cJSON_IsNumber(v))
        rc = tly_time_from_number(v->valuedouble, ts, field, &err);
    else
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, field,
                        "%s: expected ISO-8601 string or epoch number, got %s", field,
                        tly_json_type_name(v));
    if (rc != 0)
        return tly_fail(f, TLY_FAIL_INVALID_TIMESTAMP, field, "%s", err.msg);
    return 0;
}

/* The fields every call type has: id, user, time, properties, context. */
static int map_common(const cJSON *m[M_COUNT], const struct tly_record *rec,
                      const struct tly_source_config *cfg, struct tly_event *ev,
                      struct tly_failure *f)
{
    if (!tly_mapped(cfg, TLY_MAP_EVENT_ID) &&
        tly_req_string(m[M_MSGID], "messageId", TLY_EVENT_ID_MAX, &ev->event_id, f) != 0)
        return -1;
    if (ev->event_id != NULL && utf8_chars(ev->event_id) > TLY_SEGMENT_MESSAGE_ID_MAX)
        return tly_fail(f, TLY_FAIL_TOO_LARGE, "messageId",
                        "messageId: %zu characters, at most %d allowed", utf8_chars(ev->event_id),
                        TLY_SEGMENT_MESSAGE_ID_MAX);
    const char *anon;
    if (!tly_mapped(cfg, TLY_MAP_USER_ID)) {
        if (tly_opt_string(m[M_USER], "userId", TLY_USER_ID_MAX, &ev->user_id, f) != 0 ||
            tly_opt_string(m[M_ANON], "anonymousId", TLY_USER_ID_MAX, &anon, f) != 0)
            return -1;
        if (ev->user_id == NULL)
            ev->user_id = anon;
        if (ev->user_id == NULL)
            return tly_fail(f, TLY_FAIL_MISSING_FIELD, "userId",
                            "userId: required, or anonymousId when the user is not known");
    }
    if (!tly_mapped(cfg, TLY_MAP_TIMESTAMP) &&
        map_time(m, rec->received_at, &ev->timestamp, f) != 0)
        return -1;
    if ((!tly_mapped(cfg, TLY_MAP_PROPERTIES) &&
         tly_opt_object(m[M_PROPS], "properties", &tly_empty_object, &ev->properties, f) != 0) ||
        tly_opt_object(m[M_CTX], "context", NULL, &ev->context, f) != 0)
        return -1;
    return 0;
}

/* The call type: the record's (tracking-API path) or the event's own. */
static int call_type(const cJSON *m[M_COUNT], const struct tly_record *rec, const char **type,
                     struct tly_failure *f)
{
    *type = rec->source == TLY_SOURCE_TRACK && rec->kind != TLY_KIND_BATCH ? meta_type(rec) : NULL;
    if (*type != NULL)
        return 0;
    return tly_req_string(m[M_TYPE], "type", 64, type, f);
}

static int segment_map(const cJSON *item, const struct tly_record *rec,
                       const struct tly_source_config *cfg, struct tly_event *ev,
                       struct tly_failure *f)
{
    memset(ev, 0, sizeof *ev);
    if (!cJSON_IsObject(item))
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, "", "expected a Segment event object, got %s",
                        tly_json_type_name(item));
    const cJSON *m[M_COUNT];
    tly_find_members(item, member_names, M_COUNT, m);
    const char *type;
    if (call_type(m, rec, &type, f) != 0)
        return -1;
    ev->tenant = rec->tenant;
    ev->source = rec->source;
    ev->received_at = rec->received_at;
    ev->kind = TLY_EVENT_TRACK;
    ev->event_name = type;
    if (strcmp(type, "track") == 0) {
        if (!tly_mapped(cfg, TLY_MAP_EVENT_NAME) &&
            tly_req_string(m[M_EVENT], "event", TLY_EVENT_NAME_MAX, &ev->event_name, f) != 0)
            return -1;
    } else if (strcmp(type, "page") == 0 || strcmp(type, "screen") == 0) {
        if (tly_opt_string(m[M_NAME], "name", TLY_EVENT_NAME_MAX, &ev->event_name, f) != 0)
            return -1;
        if (ev->event_name == NULL)
            ev->event_name = type[0] == 'p' ? "Page Viewed" : "Screen Viewed";
    } else if (strcmp(type, "identify") == 0 || strcmp(type, "group") == 0) {
        ev->kind = TLY_EVENT_PROFILE;
        if (tly_opt_object(m[M_TRAITS], "traits", &tly_empty_object, &ev->traits, f) != 0)
            return -1;
        if (type[0] == 'g' &&
            tly_req_string(m[M_GROUP], "groupId", TLY_USER_ID_MAX, &ev->group_id, f) != 0)
            return -1;
    } else if (strcmp(type, "alias") == 0) {
        ev->kind = TLY_EVENT_ALIAS;
        if (tly_req_string(m[M_PREV], "previousId", TLY_USER_ID_MAX, &ev->previous_id, f) != 0)
            return -1;
    } else {
        return tly_fail(f, TLY_FAIL_UNKNOWN_TYPE, "type",
                        "type: \"%.48s\" is not a Segment call (track, page, screen, identify, "
                        "group, alias)",
                        type);
    }
    if (map_common(m, rec, cfg, ev, f) != 0)
        return -1;
    return tly_mapping_apply(cfg, item, ev, f);
}

static const char *segment_event_id_of(const cJSON *item)
{
    const cJSON *v =
        cJSON_IsObject(item) ? cJSON_GetObjectItemCaseSensitive(item, "messageId") : NULL;
    return cJSON_IsString(v) && v->valuestring[0] != '\0' ? v->valuestring : NULL;
}

const struct tly_adapter tly_segment_adapter = {
    .source = TLY_SOURCE_SEGMENT,
    .split = segment_split,
    .map = segment_map,
    .event_id_of = segment_event_id_of,
};

const struct tly_adapter tly_track_adapter = {
    .source = TLY_SOURCE_TRACK,
    .split = track_split,
    .map = segment_map,
    .event_id_of = segment_event_id_of,
};
