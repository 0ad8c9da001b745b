/*
 * Structural checks of the server API (see server.h).
 */
#include "sources/server.h"
#include "core/json.h"
#include "core/timeparse.h"

#include <string.h>

static int check_string(const cJSON *ev, const char *field, size_t max, struct tly_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, field);
    if (v == NULL)
        return tly_error_set(err, TLY_EINVAL, field, "%s: required field is missing", field);
    if (!cJSON_IsString(v))
        return tly_error_set(err, TLY_EINVAL, field, "%s: expected string, got %s", field,
                             tly_json_type_name(v));
    size_t n = strlen(v->valuestring);
    if (n == 0)
        return tly_error_set(err, TLY_EINVAL, field, "%s: must not be empty", field);
    if (n > max)
        return tly_error_set(err, TLY_EINVAL, field, "%s: %zu bytes, at most %zu allowed", field, n,
                             max);
    return 0;
}

int tly_server_event_check(const cJSON *ev, int64_t *ts_ms, struct tly_error *err)
{
    if (!cJSON_IsObject(ev))
        return tly_error_set(err, TLY_EINVAL, "", "expected a JSON object, got %s",
                             tly_json_type_name(ev));
    int rc = check_string(ev, "event_id", TLY_EVENT_ID_MAX, err);
    if (rc == 0)
        rc = check_string(ev, "event_name", TLY_EVENT_NAME_MAX, err);
    if (rc == 0)
        rc = check_string(ev, "user_id", TLY_USER_ID_MAX, err);
    if (rc != 0)
        return rc;

    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(ev, "timestamp");
    int64_t ms;
    if (ts == NULL)
        return tly_error_set(err, TLY_EINVAL, "timestamp", "timestamp: required field is missing");
    if (cJSON_IsString(ts))
        rc = tly_time_parse(ts->valuestring, strlen(ts->valuestring), &ms, "timestamp", err);
    else if (cJSON_IsNumber(ts))
        rc = tly_time_from_number(ts->valuedouble, &ms, "timestamp", err);
    else
        rc = tly_error_set(err, TLY_EINVAL, "timestamp",
                           "timestamp: expected ISO-8601 string or epoch number, got %s",
                           tly_json_type_name(ts));
    if (rc != 0)
        return rc;
    if (ts_ms != NULL)
        *ts_ms = ms;

    const cJSON *props = cJSON_GetObjectItemCaseSensitive(ev, "event_properties");
    if (props == NULL)
        return tly_error_set(err, TLY_EINVAL, "event_properties",
                             "event_properties: required field is missing (send {} when none)");
    if (!cJSON_IsObject(props))
        return tly_error_set(err, TLY_EINVAL, "event_properties",
                             "event_properties: expected object, got %s",
                             tly_json_type_name(props));
    return 0;
}

int tly_server_batch_envelope(const cJSON *root, const cJSON **events, struct tly_error *err)
{
    if (!cJSON_IsObject(root))
        return tly_error_set(err, TLY_EINVAL, "",
                             "expected a JSON object {\"events\":[...]}, got %s",
                             tly_json_type_name(root));
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "events");
    if (arr == NULL)
        return tly_error_set(err, TLY_EINVAL, "events", "events: required field is missing");
    if (!cJSON_IsArray(arr))
        return tly_error_set(err, TLY_EINVAL, "events", "events: expected array, got %s",
                             tly_json_type_name(arr));
    int n = cJSON_GetArraySize(arr);
    if (n == 0)
        return tly_error_set(err, TLY_EINVAL, "events", "events: must not be empty");
    if (n > TLY_BATCH_MAX)
        return tly_error_set(err, TLY_EINVAL, "events", "events: %d items, at most %d allowed", n,
                             TLY_BATCH_MAX);
    *events = arr;
    return 0;
}
