/*
 * The server API source: structural checks shared by ingest and the
 * pipeline, and the adapter (see server.h and adapter.h).
 *
 * One check, with a typed reason, serves both ends: ingest turns a failure
 * into a 400 naming the field; the pipeline stores it as a failed event.
 */
#include "sources/server.h"
#include "core/json.h"
#include "core/timeparse.h"
#include "sources/adapter.h"

#include <string.h>

static int check_string(const cJSON *ev, const char *field, size_t max, struct tly_failure *f)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, field);
    if (v == NULL)
        return tly_fail(f, TLY_FAIL_MISSING_FIELD, field, "%s: required field is missing", field);
    if (!cJSON_IsString(v))
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, field, "%s: expected string, got %s", field,
                        tly_json_type_name(v));
    size_t n = strlen(v->valuestring);
    if (n == 0)
        return tly_fail(f, TLY_FAIL_MISSING_FIELD, field, "%s: must not be empty", field);
    if (n > max)
        return tly_fail(f, TLY_FAIL_TOO_LARGE, field, "%s: %zu bytes, at most %zu allowed", field,
                        n, max);
    return 0;
}

/* The checks, with a reason code. */
static int check_event(const cJSON *ev, int64_t *ts_ms, struct tly_failure *f)
{
    if (!cJSON_IsObject(ev))
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, "", "expected a JSON object, got %s",
                        tly_json_type_name(ev));
    if (check_string(ev, "event_id", TLY_EVENT_ID_MAX, f) != 0 ||
        check_string(ev, "event_name", TLY_EVENT_NAME_MAX, f) != 0 ||
        check_string(ev, "user_id", TLY_USER_ID_MAX, f) != 0)
        return -1;

    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(ev, "timestamp");
    if (ts == NULL)
        return tly_fail(f, TLY_FAIL_MISSING_FIELD, "timestamp",
                        "timestamp: required field is missing");
    struct tly_error err;
    int rc;
    if (cJSON_IsString(ts))
        rc = tly_time_parse(ts->valuestring, strlen(ts->valuestring), ts_ms, "timestamp", &err);
    else if (cJSON_IsNumber(ts))
        rc = tly_time_from_number(ts->valuedouble, ts_ms, "timestamp", &err);
    else
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, "timestamp",
                        "timestamp: expected ISO-8601 string or epoch number, got %s",
                        tly_json_type_name(ts));
    if (rc != 0)
        return tly_fail(f, TLY_FAIL_INVALID_TIMESTAMP, "timestamp", "%s", err.msg);

    const cJSON *props = cJSON_GetObjectItemCaseSensitive(ev, "event_properties");
    if (props == NULL)
        return tly_fail(f, TLY_FAIL_MISSING_FIELD, "event_properties",
                        "event_properties: required field is missing (send {} when none)");
    if (!cJSON_IsObject(props))
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, "event_properties",
                        "event_properties: expected object, got %s", tly_json_type_name(props));
    return 0;
}

int tly_server_event_check(const cJSON *ev, int64_t *ts_ms, struct tly_error *err)
{
    struct tly_failure f;
    int64_t ms;
    if (check_event(ev, &ms, &f) != 0)
        return tly_error_set(err, TLY_EINVAL, f.field, "%s", f.message);
    if (ts_ms != NULL)
        *ts_ms = ms;
    return 0;
}

/* The envelope, with a reason code. */
static int check_envelope(const cJSON *root, const cJSON **events, struct tly_failure *f)
{
    if (!cJSON_IsObject(root))
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, "",
                        "expected a JSON object {\"events\":[...]}, got %s",
                        tly_json_type_name(root));
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "events");
    if (arr == NULL)
        return tly_fail(f, TLY_FAIL_MISSING_FIELD, "events", "events: required field is missing");
    if (!cJSON_IsArray(arr))
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, "events", "events: expected array, got %s",
                        tly_json_type_name(arr));
    int n = cJSON_GetArraySize(arr);
    if (n == 0)
        return tly_fail(f, TLY_FAIL_MISSING_FIELD, "events", "events: must not be empty");
    if (n > TLY_BATCH_MAX)
        return tly_fail(f, TLY_FAIL_TOO_LARGE, "events", "events: %d items, at most %d allowed", n,
                        TLY_BATCH_MAX);
    *events = arr;
    return 0;
}

int tly_server_batch_envelope(const cJSON *root, const cJSON **events, struct tly_error *err)
{
    struct tly_failure f;
    if (check_envelope(root, events, &f) != 0)
        return tly_error_set(err, TLY_EINVAL, f.field, "%s", f.message);
    return 0;
}

static int server_split(const struct tly_record *rec, struct tly_items *out, struct tly_failure *f)
{
    struct tly_error err;
    out->root = tly_json_parse(rec->body, rec->body_len, &err);
    if (out->root == NULL)
        return tly_fail(f, TLY_FAIL_INVALID_JSON, "", "%s", err.msg);
    if (rec->kind != TLY_KIND_BATCH) {
        if (tly_items_push(out, out->root) != 0)
            return tly_fail(f, TLY_FAIL_TOO_LARGE, "", "out of memory listing items");
        return 0;
    }
    const cJSON *events, *ev;
    if (check_envelope(out->root, &events, f) != 0)
        return -1;
    cJSON_ArrayForEach(ev, events)
    {
        if (tly_items_push(out, ev) != 0)
            return tly_fail(f, TLY_FAIL_TOO_LARGE, "", "out of memory listing items");
    }
    return 0;
}

static int server_map(const cJSON *item, const struct tly_record *rec, struct tly_event *ev,
                      struct tly_failure *f)
{
    int64_t ts;
    if (check_event(item, &ts, f) != 0)
        return -1;
    ev->kind = TLY_EVENT_TRACK;
    ev->tenant = rec->tenant;
    ev->source = rec->source;
    ev->event_id = cJSON_GetObjectItemCaseSensitive(item, "event_id")->valuestring;
    ev->event_name = cJSON_GetObjectItemCaseSensitive(item, "event_name")->valuestring;
    ev->user_id = cJSON_GetObjectItemCaseSensitive(item, "user_id")->valuestring;
    ev->timestamp = ts;
    ev->received_at = rec->received_at;
    ev->properties = cJSON_GetObjectItemCaseSensitive(item, "event_properties");
    ev->context = NULL;
    return 0;
}

static const char *server_event_id_of(const cJSON *item)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, "event_id");
    return cJSON_IsString(v) && v->valuestring[0] != '\0' ? v->valuestring : NULL;
}

const struct tly_adapter tly_server_adapter = {
    .source = TLY_SOURCE_SERVER,
    .split = server_split,
    .map = server_map,
    .event_id_of = server_event_id_of,
};
