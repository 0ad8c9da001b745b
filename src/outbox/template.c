/*
 * Body templates (see webhook.h): a JSON value whose "$path" strings are
 * replaced by the payload's values at those dot paths.
 */
#include "outbox/webhook.h"

#include <stdio.h>
#include <string.h>

#define TEMPLATE_DEPTH 32
#define PATH_SEGMENTS  8

/* Is s (after the "$") a usable dot path? */
static int path_ok(const char *s)
{
    size_t n = strlen(s);
    int segs = 1, prev_dot = 1;
    if (n == 0)
        return 0;
    for (size_t i = 0; i <= n; i++) {
        int dot = i == n || s[i] == '.';
        if (dot && prev_dot)
            return 0;
        prev_dot = dot;
        segs += i < n && s[i] == '.';
    }
    return segs <= PATH_SEGMENTS;
}

static int check(const cJSON *t, const char *at, int depth, struct tly_error *err)
{
    if (depth > TEMPLATE_DEPTH)
        return tly_error_set(err, TLY_EINVAL, at, "%s: nested deeper than %d", at, TEMPLATE_DEPTH);
    if (cJSON_IsString(t)) {
        const char *s = t->valuestring;
        if (s[0] == '$' && s[1] != '$' && !path_ok(s + 1))
            return tly_error_set(err, TLY_EINVAL, at,
                                 "%s: \"%.40s\" is not a reference such as \"$details.orderId\" "
                                 "(write \"$$\" for a literal \"$\")",
                                 at, s);
        return 0;
    }
    for (const cJSON *c = t->child; c != NULL; c = c->next) {
        int rc = check(c, at, depth + 1, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

int tly_template_check(const cJSON *tmpl, const char *at, struct tly_error *err)
{
    return check(tmpl, at, 0, err);
}

/* The value at dot path `p` in `obj`, or NULL. */
static const cJSON *lookup(const cJSON *obj, const char *p)
{
    char seg[256];
    while (obj != NULL && *p) {
        size_t n = strcspn(p, ".");
        if (n >= sizeof seg || !cJSON_IsObject(obj))
            return NULL;
        memcpy(seg, p, n);
        seg[n] = '\0';
        obj = cJSON_GetObjectItemCaseSensitive(obj, seg);
        p += n + (p[n] == '.');
    }
    return obj;
}

static cJSON *apply(const cJSON *t, const cJSON *payload, int depth)
{
    if (cJSON_IsString(t) && t->valuestring[0] == '$') {
        const char *s = t->valuestring;
        if (s[1] == '$')
            return cJSON_CreateString(s + 1);
        const cJSON *v = depth <= TEMPLATE_DEPTH ? lookup(payload, s + 1) : NULL;
        return v != NULL ? cJSON_Duplicate(v, 1) : cJSON_CreateNull();
    }
    if (!cJSON_IsObject(t) && !cJSON_IsArray(t))
        return cJSON_Duplicate(t, 0);
    cJSON *out = cJSON_IsObject(t) ? cJSON_CreateObject() : cJSON_CreateArray();
    for (const cJSON *c = t->child; c != NULL && out != NULL; c = c->next) {
        cJSON *v = depth < TEMPLATE_DEPTH ? apply(c, payload, depth + 1) : cJSON_CreateNull();
        if (v == NULL) {
            cJSON_Delete(out);
            return NULL;
        }
        if (cJSON_IsObject(t)) {
            if (!cJSON_AddItemToObject(out, c->string, v)) {
                cJSON_Delete(v);
                cJSON_Delete(out);
                return NULL;
            }
        } else if (!cJSON_AddItemToArray(out, v)) {
            cJSON_Delete(v);
            cJSON_Delete(out);
            return NULL;
        }
    }
    return out;
}

cJSON *tly_template_apply(const cJSON *tmpl, const cJSON *payload)
{
    return apply(tmpl, payload, 0);
}
