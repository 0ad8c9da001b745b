/*
 * The document check and field-naming errors of definitions (see
 * definition.h).
 */
#include "engine/definition.h"
#include "engine/campaign.h"
#include "core/json.h"
#include "core/utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

int tly_def_is_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > TLY_CAMPAIGN_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

void tly_def_field_path(char *out, const char *at, const char *name)
{
    if (at[0] == '\0')
        tly_def_field(out, "%s", name);
    else
        tly_def_field(out, "%s.%s", at, name);
}

int tly_def_check_members(const cJSON *obj, const char *at, const char *const *allowed,
                          struct tly_error *err)
{
    for (const cJSON *m = obj->child; m != NULL; m = m->next) {
        int known = 0;
        for (int i = 0; allowed[i] != NULL && !known; i++)
            known = strcmp(allowed[i], m->string) == 0;
        char f[TLY_DEF_FIELD_SIZE];
        size_t nl = strlen(m->string);
        int printable = nl > 0 && nl <= 40;
        for (size_t i = 0; i < nl && printable; i++)
            printable = m->string[i] >= 0x20 && m->string[i] < 0x7f;
        if (printable)
            tly_def_field_path(f, at, m->string);
        else
            tly_def_field(f, "%s", at);
        if (!known) {
            return printable ? tly_def_error(err, f, "unknown field")
                             : tly_def_error(err, f, "unknown field with an unusable name");
        }
        for (const cJSON *o = obj->child; o != m; o = o->next)
            if (strcmp(o->string, m->string) == 0)
                return tly_def_error(err, f, "given twice");
    }
    return 0;
}
