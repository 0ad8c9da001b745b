/*
 * JSON parsing for request bodies (see json.h).
 *
 * cJSON builds the tree but is lenient (leading zeros, raw control bytes in
 * strings, \u0000 silently cutting a string short) and its error positions
 * can be a byte off. So a body first goes through a strict RFC 8259 syntax
 * check (json_scan.h) that finds the exact byte of the first error and says
 * what is wrong there; only a body that passes is handed to cJSON.
 */
#include "core/json.h"
#include "core/json_scan.h"

int tly_json_check(const char *text, size_t len, struct tly_error *err)
{
    struct tly_json_scan c;
    tly_json_scan_init(&c, text, len);
    if (len == 0 || tly_json_scan_value(&c) != 0 || tly_json_scan_finish(&c) != 0)
        return tly_json_scan_error(&c, err);
    return 0;
}

cJSON *tly_json_parse(const char *text, size_t len, struct tly_error *err)
{
    if (tly_json_check(text, len, err) != 0)
        return NULL;
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (root == NULL) /* valid JSON, so only allocation can fail here */
        tly_error_set(err, TLY_ENOMEM, "", "out of memory while parsing JSON");
    return root;
}

enum tly_json_kind tly_json_kind_of(const cJSON *v)
{
    if (v == NULL)
        return TLY_JSON_ABSENT;
    if (cJSON_IsString(v))
        return TLY_JSON_STRING;
    if (cJSON_IsNumber(v))
        return TLY_JSON_NUMBER;
    if (cJSON_IsObject(v))
        return TLY_JSON_OBJECT;
    if (cJSON_IsArray(v))
        return TLY_JSON_ARRAY;
    if (cJSON_IsBool(v))
        return TLY_JSON_BOOLEAN;
    if (cJSON_IsNull(v))
        return TLY_JSON_NULL;
    return TLY_JSON_INVALID;
}

cJSON *tly_json_parse_checked(const char *text, size_t len, struct tly_error *err)
{
    const char *end = text;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    while (root != NULL && end < text + len &&
           (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
        end++;
    if (root != NULL && end == text + len)
        return root;
    cJSON_Delete(root);
    return tly_json_parse(text, len, err); /* says why and where */
}

const char *tly_json_type_name(const cJSON *v)
{
    return tly_json_kind_name(tly_json_kind_of(v));
}
