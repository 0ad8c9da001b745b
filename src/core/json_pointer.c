/*
 * JSON Pointer resolution (see json_pointer.h). No allocation: each
 * reference token is compared with member names while it is unescaped.
 */
#include "core/json_pointer.h"

#include <string.h>

int tly_json_pointer_check(const char *p, size_t len, const char *field, struct tly_error *err)
{
    if (len > TLY_JSON_POINTER_MAX)
        return tly_error_set(err, TLY_EINVAL, field, "%s: a pointer of at most %d bytes", field,
                             TLY_JSON_POINTER_MAX);
    if (len > 0 && p[0] != '/')
        return tly_error_set(err, TLY_EINVAL, field,
                             "%s: a JSON pointer starts with '/' (RFC 6901)", field);
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '\0')
            return tly_error_set(err, TLY_EINVAL, field, "%s: NUL at byte %zu", field, i);
        if (p[i] == '~' && (i + 1 >= len || (p[i + 1] != '0' && p[i + 1] != '1')))
            return tly_error_set(err, TLY_EINVAL, field,
                                 "%s: '~' at byte %zu must be followed by 0 or 1 (~0 is '~', "
                                 "~1 is '/')",
                                 field, i);
    }
    return 0;
}

/* Whether `name` equals the escaped token tok[0..n). */
static int token_is(const char *tok, size_t n, const char *name)
{
    size_t i = 0;
    for (; i < n; i++, name++) {
        char c = tok[i];
        if (c == '~' && i + 1 < n) {
            c = tok[i + 1] == '1' ? '/' : '~';
            i++;
        }
        if (*name != c)
            return 0;
    }
    return *name == '\0';
}

/* The array index of tok[0..n), or -1 when it is not one. */
static long token_index(const char *tok, size_t n)
{
    if (n == 0 || n > 9 || (n > 1 && tok[0] == '0'))
        return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (tok[i] < '0' || tok[i] > '9')
            return -1;
        v = v * 10 + (tok[i] - '0');
    }
    return v;
}

const cJSON *tly_json_pointer_get(const cJSON *root, const char *p)
{
    const cJSON *v = root;
    while (v != NULL && *p == '/') {
        const char *tok = p + 1;
        const char *end = strchr(tok, '/');
        size_t n = end ? (size_t)(end - tok) : strlen(tok);
        const cJSON *next = NULL;
        if (cJSON_IsObject(v)) {
            const cJSON *c;
            cJSON_ArrayForEach(c, v)
            {
                if (c->string != NULL && token_is(tok, n, c->string)) {
                    next = c;
                    break;
                }
            }
        } else if (cJSON_IsArray(v)) {
            long i = token_index(tok, n);
            for (next = i >= 0 ? v->child : NULL; next != NULL && i > 0; i--)
                next = next->next;
        }
        v = next;
        p = tok + n;
    }
    return *p == '\0' ? v : NULL;
}
