/*
 * Reading the members of a JSON item (see fields.h).
 */
#include "sources/fields.h"
#include "core/json.h"
#include "core/json_pointer.h"
#include "core/timeparse.h"
#include "sources/server.h"

#include <string.h>

const cJSON tly_empty_object = {.type = cJSON_Object};

void tly_find_members(const cJSON *obj, const char *const *names, int n, const cJSON **out)
{
    memset(out, 0, (size_t)n * sizeof out[0]);
    const cJSON *c;
    cJSON_ArrayForEach(c, obj)
    {
        if (c->string == NULL)
            continue;
        for (int i = 0; i < n; i++) {
            if (out[i] == NULL && strcmp(c->string, names[i]) == 0) {
                out[i] = c;
                break;
            }
        }
    }
}

int tly_opt_string(const cJSON *v, const char *field, size_t max, const char **out,
                   struct tly_failure *f)
{
    *out = NULL;
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v))
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, field, "%s: expected string, got %s", field,
                        tly_json_type_name(v));
    size_t n = strlen(v->valuestring);
    if (n > max)
        return tly_fail(f, TLY_FAIL_TOO_LARGE, field, "%s: %zu bytes, at most %zu allowed", field,
                        n, max);
    *out = n > 0 ? v->valuestring : NULL;
    return 0;
}

int tly_req_string(const cJSON *v, const char *field, size_t max, const char **out,
                   struct tly_failure *f)
{
    if (tly_opt_string(v, field, max, out, f) != 0)
        return -1;
    if (*out == NULL)
        return tly_fail(f, TLY_FAIL_MISSING_FIELD, field, "%s: required field is missing or empty",
                        field);
    return 0;
}

int tly_opt_object(const cJSON *v, const char *field, const cJSON *dflt, const cJSON **out,
                   struct tly_failure *f)
{
    *out = dflt;
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsObject(v))
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, field, "%s: expected object, got %s", field,
                        tly_json_type_name(v));
    *out = v;
    return 0;
}

/* The mapped timestamp at `ptr`. */
static int mapped_time(const cJSON *v, const char *ptr, int64_t *ts, struct tly_failure *f)
{
    struct tly_error err;
    int rc;
    if (v == NULL || cJSON_IsNull(v))
        return tly_fail(f, TLY_FAIL_MISSING_FIELD, ptr, "%s: mapped timestamp does not resolve",
                        ptr);
    if (cJSON_IsString(v))
        rc = tly_time_parse(v->valuestring, strlen(v->valuestring), ts, ptr, &err);
    else if (cJSON_IsNumber(v))
        rc = tly_time_from_number(v->valuedouble, ts, ptr, &err);
    else
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, ptr,
                        "%s: expected ISO-8601 string or epoch number, got %s", ptr,
                        tly_json_type_name(v));
    if (rc != 0)
        return tly_fail(f, TLY_FAIL_INVALID_TIMESTAMP, ptr, "%s", err.msg);
    return 0;
}

int tly_mapping_apply(const struct tly_source_config *cfg, const cJSON *item, struct tly_event *ev,
                      struct tly_failure *f)
{
    if (cfg == NULL)
        return 0;
    static const size_t max[] = {
        [TLY_MAP_USER_ID] = TLY_USER_ID_MAX,
        [TLY_MAP_EVENT_NAME] = TLY_EVENT_NAME_MAX,
        [TLY_MAP_EVENT_ID] = TLY_EVENT_ID_MAX,
    };
    const char **str[] = {
        [TLY_MAP_USER_ID] = &ev->user_id,
        [TLY_MAP_EVENT_NAME] = &ev->event_name,
        [TLY_MAP_EVENT_ID] = &ev->event_id,
    };
    for (int i = 0; i < TLY_MAP_FIELD_COUNT; i++) {
        const char *ptr = cfg->pointer[i];
        if (ptr == NULL)
            continue;
        const cJSON *v = tly_json_pointer_get(item, ptr);
        if (i == TLY_MAP_TIMESTAMP) {
            if (mapped_time(v, ptr, &ev->timestamp, f) != 0)
                return -1;
        } else if (i == TLY_MAP_PROPERTIES) {
            if (v == NULL || cJSON_IsNull(v))
                return tly_fail(f, TLY_FAIL_MISSING_FIELD, ptr,
                                "%s: mapped properties do not resolve", ptr);
            if (tly_opt_object(v, ptr, NULL, &ev->properties, f) != 0)
                return -1;
        } else if (tly_req_string(v, ptr, max[i], str[i], f) != 0) {
            return -1;
        }
    }
    return 0;
}
