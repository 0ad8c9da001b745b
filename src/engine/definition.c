/*
 * The document check and field-naming errors of definitions (see
 * definition.h).
 */
#include "engine/definition.h"
#include "core/json.h"
#include "core/utf8.h"

#include <stdarg.h>
#include <stdio.h>

_Static_assert(TLY_DEF_FIELD_SIZE == sizeof((struct tly_error *)0)->field,
               "a field path fills struct tly_error's field");

int tly_def_error(struct tly_error *err, const char *field, const char *fmt, ...)
{
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (field[0] == '\0')
        return tly_error_set(err, TLY_EINVAL, "", "%s", what);
    return tly_error_set(err, TLY_EINVAL, field, "%s: %s", field, what);
}

void tly_def_field(char *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out, TLY_DEF_FIELD_SIZE, fmt, ap);
    va_end(ap);
}

int tly_def_parse_json(const char *json, size_t len, size_t max, cJSON **root,
                       struct tly_error *err)
{
    *root = NULL;
    if (len > max)
        return tly_error_set(err, TLY_ETOOBIG, "", "a definition is at most %zu bytes, got %zu",
                             max, len);
    if (!tly_utf8_valid(json, len))
        return tly_def_error(err, "", "the definition is not valid UTF-8");
    *root = tly_json_parse(json, len, err);
    return *root != NULL ? 0 : TLY_EINVAL;
}
