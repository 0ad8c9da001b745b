/*
 * Deep validation (see validate.h). One walk over properties counts depth,
 * keys and an exact JSON size (string escapes included) and checks UTF-8.
 */
#include "pipeline/validate.h"
#include "core/utf8.h"

#include <stdint.h>
#include <string.h>

struct walk {
    size_t keys;
    size_t bytes;             /* exact, except fractions counted as 24 (see approx) */
    int approx;               /* some number's size is an upper bound */
    const char *bad_utf8_key; /* set when a key or string is not UTF-8 */
    int too_deep;
};

/* Bytes a string takes as a JSON string literal. */
static size_t json_string_size(const char *s, size_t n)
{
    size_t size = n + 2;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\' || c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
            size += 1;
        else if (c < 0x20)
            size += 5;
    }
    return size;
}

/* Bytes a number takes as JSON: exact for integers below 1e15, an upper
 * bound (24, "-1.2345678901234567e-308") for the rest. */
static size_t number_size(double d, int *approx)
{
    if (d != d || d >= 1e15 || d <= -1e15 || d != (double)(int64_t)d) {
        *approx = 1;
        return 24;
    }
    int64_t v = (int64_t)d;
    size_t n = v < 0 ? 2 : 1;
    for (v = v < 0 ? -v : v; v >= 10; v /= 10)
        n++;
    return n;
}

static void walk_value(struct walk *w, const cJSON *v, int depth)
{
    if (cJSON_IsString(v)) {
        size_t n = strlen(v->valuestring);
        if (!tly_utf8_valid(v->valuestring, n) && w->bad_utf8_key == NULL)
            w->bad_utf8_key = v->string ? v->string : "(array item)";
        w->bytes += json_string_size(v->valuestring, n);
        return;
    }
    if (cJSON_IsNumber(v)) {
        w->bytes += number_size(v->valuedouble, &w->approx);
        return;
    }
    if (cJSON_IsBool(v)) {
        w->bytes += cJSON_IsTrue(v) ? 4 : 5;
        return;
    }
    if (cJSON_IsNull(v)) {
        w->bytes += 4;
        return;
    }
    /* Object or array. */
    if (depth > TLY_PROPS_MAX_DEPTH) {
        w->too_deep = 1;
        return;
    }
    w->bytes += 2; /* brackets */
    int first = 1;
    const cJSON *c;
    cJSON_ArrayForEach(c, v)
    {
        if (!first)
            w->bytes += 1; /* comma */
        first = 0;
        if (cJSON_IsObject(v)) {
            size_t kn = strlen(c->string);
            w->keys++;
            w->bytes += json_string_size(c->string, kn) + 1;
            if (!tly_utf8_valid(c->string, kn) && w->bad_utf8_key == NULL)
                w->bad_utf8_key = "(a key)";
        }
        walk_value(w, c, depth + 1);
        if (w->too_deep)
            return;
    }
}

static int check_object(const cJSON *obj, const char *field, struct tly_failure *f)
{
    struct walk w = {0, 0, 0, NULL, 0};
    walk_value(&w, obj, 1);
    if (!w.too_deep && w.bytes > TLY_PROPS_MAX_BYTES && w.approx) {
        /* Over the limit only by the estimate: measure exactly (rare). */
        char *text = cJSON_PrintUnformatted(obj);
        if (text != NULL) {
            w.bytes = strlen(text);
            cJSON_free(text);
        }
    }
    if (w.too_deep)
        return tly_fail(f, TLY_FAIL_TOO_LARGE, field, "%s: nested deeper than %d levels", field,
                        TLY_PROPS_MAX_DEPTH);
    if (w.keys > TLY_PROPS_MAX_KEYS)
        return tly_fail(f, TLY_FAIL_TOO_LARGE, field, "%s: %zu keys, at most %d allowed", field,
                        w.keys, TLY_PROPS_MAX_KEYS);
    if (w.bytes > TLY_PROPS_MAX_BYTES)
        return tly_fail(f, TLY_FAIL_TOO_LARGE, field, "%s: %zu bytes as JSON, at most %d allowed",
                        field, w.bytes, TLY_PROPS_MAX_BYTES);
    if (w.bad_utf8_key != NULL)
        return tly_fail(f, TLY_FAIL_INVALID_UTF8, field, "%s: invalid UTF-8 in %s", field,
                        w.bad_utf8_key[0] == '(' ? w.bad_utf8_key : "the value of a key");
    return 0;
}

static int check_utf8(const char *s, const char *field, struct tly_failure *f)
{
    if (!tly_utf8_valid(s, strlen(s)))
        return tly_fail(f, TLY_FAIL_INVALID_UTF8, field, "%s: not valid UTF-8", field);
    return 0;
}

int tly_validate_event(const struct tly_event *ev, const struct tly_tenant_settings *s,
                       struct tly_failure *f)
{
    if (check_utf8(ev->event_id, "event_id", f) != 0 ||
        check_utf8(ev->event_name, "event_name", f) != 0 ||
        check_utf8(ev->user_id, "user_id", f) != 0)
        return -1;
    if (ev->properties != NULL && check_object(ev->properties, "properties", f) != 0)
        return -1;
    if (ev->context != NULL && check_object(ev->context, "context", f) != 0)
        return -1;
    if (ev->traits != NULL && check_object(ev->traits, "traits", f) != 0)
        return -1;
    if ((ev->group_id != NULL && check_utf8(ev->group_id, "groupId", f) != 0) ||
        (ev->previous_id != NULL && check_utf8(ev->previous_id, "previousId", f) != 0))
        return -1;
    if (ev->timestamp > ev->received_at + TLY_FUTURE_SLACK_MS)
        return tly_fail(f, TLY_FAIL_TIMESTAMP_IN_FUTURE, "timestamp",
                        "timestamp: %lld s after it was received (at most 1 day allowed)",
                        (long long)((ev->timestamp - ev->received_at) / 1000));
    if (ev->timestamp < ev->received_at - s->horizon_ms)
        return tly_fail(f, TLY_FAIL_TIMESTAMP_TOO_OLD, "timestamp",
                        "timestamp: %lld days before it was received (the tenant's horizon is "
                        "%lld days)",
                        (long long)((ev->received_at - ev->timestamp) / TLY_DAY_MS),
                        (long long)(s->horizon_ms / TLY_DAY_MS));
    return 0;
}
