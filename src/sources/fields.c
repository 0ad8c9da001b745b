/*
 * Reading the members of a JSON item (see fields.h).
 */
#include "sources/fields.h"
#include "core/json.h"

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
