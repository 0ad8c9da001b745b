/*
 * cJSON wrappers (see json.h).
 */
#include "core/json.h"

cJSON *tly_json_parse(const char *text, size_t len, struct tly_error *err)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (root == NULL) {
        size_t pos = end != NULL && end >= text ? (size_t)(end - text) : 0;
        if (len == 0)
            tly_error_set(err, TLY_EINVAL, "", "empty body: expected a JSON object");
        else
            tly_error_set(err, TLY_EINVAL, "", "invalid JSON at byte %zu", pos);
        return NULL;
    }
    size_t i = (size_t)(end - text);
    while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
        i++;
    if (i != len) {
        cJSON_Delete(root);
        tly_error_set(err, TLY_EINVAL, "", "unexpected data after JSON value at byte %zu", i);
        return NULL;
    }
    return root;
}

const char *tly_json_type_name(const cJSON *v)
{
    if (v == NULL)
        return "nothing";
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsNumber(v))
        return "number";
    if (cJSON_IsObject(v))
        return "object";
    if (cJSON_IsArray(v))
        return "array";
    if (cJSON_IsBool(v))
        return "boolean";
    if (cJSON_IsNull(v))
        return "null";
    return "invalid";
}
