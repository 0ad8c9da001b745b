/*
 * The server API source: structural checks shared by ingest and the
 * pipeline, and the adapter (see server.h and adapter.h).
 *
 * One check, with a typed reason, serves both ends: ingest turns a failure
 * into a 400 naming the field; the pipeline stores it as a failed event.
 */
#include "sources/server.h"
#include "core/json.h"
#include "core/timeparse.h"
#include "sources/adapter.h"
#include "sources/server_int.h"

#include <string.h>

static int judge_string(const char *field, enum tly_json_kind kind, size_t n, size_t max,
                        struct tly_failure *f)
{
    if (kind == TLY_JSON_ABSENT)
        return tly_fail(f, TLY_FAIL_MISSING_FIELD, field, "%s: required field is missing", field);
    if (kind != TLY_JSON_STRING)
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, field, "%s: expected string, got %s", field,
                        tly_json_kind_name(kind));
    if (n == 0)
        return tly_fail(f, TLY_FAIL_MISSING_FIELD, field, "%s: must not be empty", field);
    if (n > max)
        return tly_fail(f, TLY_FAIL_TOO_LARGE, field, "%s: %zu bytes, at most %zu allowed", field,
                        n, max);
    return 0;
}

int tly_server_judge(const struct tly_server_view *v, int64_t *ts_ms, struct tly_failure *f)
{
    if (v->kind != TLY_JSON_OBJECT)
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, "", "expected a JSON object, got %s",
                        tly_json_kind_name(v->kind));
    if (judge_string("event_id", v->id, v->id_len, TLY_EVENT_ID_MAX, f) != 0 ||
        judge_string("event_name", v->name, v->name_len, TLY_EVENT_NAME_MAX, f) != 0 ||
        judge_string("user_id", v->user, v->user_len, TLY_USER_ID_MAX, f) != 0)
        return -1;

    if (v->ts == TLY_JSON_ABSENT)
        return tly_fail(f, TLY_FAIL_MISSING_FIELD, "timestamp",
                        "timestamp: required field is missing");
    struct tly_error err;
    int64_t ms;
    int rc;
    if (v->ts == TLY_JSON_STRING)
        rc = tly_time_parse(v->ts_str, v->ts_len, &ms, "timestamp", &err);
    else if (v->ts == TLY_JSON_NUMBER)
        rc = tly_time_from_number(v->ts_num, &ms, "timestamp", &err);
    else
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, "timestamp",
                        "timestamp: expected ISO-8601 string or epoch number, got %s",
                        tly_json_kind_name(v->ts));
    if (rc != 0)
        return tly_fail(f, TLY_FAIL_INVALID_TIMESTAMP, "timestamp", "%s", err.msg);

    if (v->props == TLY_JSON_ABSENT)
        return tly_fail(f, TLY_FAIL_MISSING_FIELD, "event_properties",
                        "event_properties: required field is missing (send {} when none)");
    if (v->props != TLY_JSON_OBJECT)
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, "event_properties",
                        "event_properties: expected object, got %s", tly_json_kind_name(v->props));
    if (ts_ms != NULL)
        *ts_ms = ms;
    return 0;
}

/* The members the checks look at, found in one pass over the object (the
 * first of a repeated key counts, as with cJSON_GetObjectItem). */
struct members {
    const cJSON *id, *name, *user, *ts, *props;
};

static void find_members(const cJSON *ev, struct members *m)
{
    memset(m, 0, sizeof *m);
    const cJSON *c;
    cJSON_ArrayForEach(c, ev)
    {
        const char *k = c->string;
        const cJSON **slot = NULL;
        if (k == NULL)
            continue;
        if (k[0] == 'e') {
            if (strcmp(k, "event_id") == 0)
                slot = &m->id;
            else if (strcmp(k, "event_name") == 0)
                slot = &m->name;
            else if (strcmp(k, "event_properties") == 0)
                slot = &m->props;
        } else if (strcmp(k, "user_id") == 0) {
            slot = &m->user;
        } else if (strcmp(k, "timestamp") == 0) {
            slot = &m->ts;
        }
        if (slot != NULL && *slot == NULL)
            *slot = c;
    }
}

/* Fills `kind` and, for a string, `len` from a member (NULL: absent). */
static void view_member(const cJSON *v, enum tly_json_kind *kind, size_t *len)
{
    *kind = tly_json_kind_of(v);
    if (len != NULL && *kind == TLY_JSON_STRING)
        *len = strlen(v->valuestring);
}

/* The checks, with a reason code; `m` is filled for an object. */
static int check_event(const cJSON *ev, struct members *m, int64_t *ts_ms, struct tly_failure *f)
{
    struct tly_server_view v = {.kind = tly_json_kind_of(ev)};
    memset(m, 0, sizeof *m);
    if (v.kind == TLY_JSON_OBJECT) {
        find_members(ev, m);
        view_member(m->id, &v.id, &v.id_len);
        view_member(m->name, &v.name, &v.name_len);
        view_member(m->user, &v.user, &v.user_len);
        view_member(m->ts, &v.ts, &v.ts_len);
        if (v.ts == TLY_JSON_STRING)
            v.ts_str = m->ts->valuestring;
        else if (v.ts == TLY_JSON_NUMBER)
            v.ts_num = m->ts->valuedouble;
        view_member(m->props, &v.props, NULL);
    }
    return tly_server_judge(&v, ts_ms, f);
}

int tly_server_event_check(const cJSON *ev, int64_t *ts_ms, struct tly_error *err)
{
    struct tly_failure f;
    struct members m;
    if (check_event(ev, &m, ts_ms, &f) != 0)
        return tly_error_set(err, TLY_EINVAL, f.field, "%s", f.message);
    return 0;
}

int tly_server_judge_envelope(enum tly_json_kind root, enum tly_json_kind events, int n,
                              struct tly_failure *f)
{
    if (root != TLY_JSON_OBJECT)
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, "",
                        "expected a JSON object {\"events\":[...]}, got %s",
                        tly_json_kind_name(root));
    if (events == TLY_JSON_ABSENT)
        return tly_fail(f, TLY_FAIL_MISSING_FIELD, "events", "events: required field is missing");
    if (events != TLY_JSON_ARRAY)
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, "events", "events: expected array, got %s",
                        tly_json_kind_name(events));
    if (n == 0)
        return tly_fail(f, TLY_FAIL_MISSING_FIELD, "events", "events: must not be empty");
    if (n > TLY_BATCH_MAX)
        return tly_fail(f, TLY_FAIL_TOO_LARGE, "events", "events: %d items, at most %d allowed", n,
                        TLY_BATCH_MAX);
    return 0;
}

/* The envelope, with a reason code. */
static int check_envelope(const cJSON *root, const cJSON **events, struct tly_failure *f)
{
    const cJSON *arr =
        cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "events") : NULL;
    enum tly_json_kind kind = tly_json_kind_of(arr);
    int n = kind == TLY_JSON_ARRAY ? cJSON_GetArraySize(arr) : 0;
    if (tly_server_judge_envelope(tly_json_kind_of(root), kind, n, f) != 0)
        return -1;
    *events = arr;
    return 0;
}

int tly_server_batch_envelope(const cJSON *root, const cJSON **events, struct tly_error *err)
{
    struct tly_failure f;
    if (check_envelope(root, events, &f) != 0)
        return tly_error_set(err, TLY_EINVAL, f.field, "%s", f.message);
    return 0;
}

static int server_split(const struct tly_record *rec, struct tly_items *out, struct tly_failure *f)
{
    struct tly_error err;
    out->root = rec->flags & TLY_RECORD_BODY_CHECKED
                    ? tly_json_parse_checked(rec->body, rec->body_len, &err)
                    : tly_json_parse(rec->body, rec->body_len, &err);
    if (out->root == NULL)
        return tly_fail(f, TLY_FAIL_INVALID_JSON, "", "%s", err.msg);
    if (rec->kind != TLY_KIND_BATCH) {
        if (tly_items_push(out, out->root) != 0)
            return tly_fail(f, TLY_FAIL_TOO_LARGE, "", "out of memory listing items");
        return 0;
    }
    const cJSON *events, *ev;
    if (check_envelope(out->root, &events, f) != 0)
        return -1;
    cJSON_ArrayForEach(ev, events)
    {
        if (tly_items_push(out, ev) != 0)
            return tly_fail(f, TLY_FAIL_TOO_LARGE, "", "out of memory listing items");
    }
    return 0;
}

/* The server source takes no settings (sources/settings.h): `cfg` is
 * not read. */
static int server_map(const cJSON *item, const struct tly_record *rec,
                      const struct tly_source_config *cfg, struct tly_event *ev,
                      struct tly_failure *f)
{
    (void)cfg;
    int64_t ts;
    struct members m;
    if (check_event(item, &m, &ts, f) != 0)
        return -1;
    ev->kind = TLY_EVENT_TRACK;
    ev->tenant = rec->tenant;
    ev->source = rec->source;
    ev->event_id = m.id->valuestring;
    ev->event_name = m.name->valuestring;
    ev->user_id = m.user->valuestring;
    ev->timestamp = ts;
    ev->received_at = rec->received_at;
    ev->properties = m.props;
    ev->context = NULL;
    ev->traits = NULL;
    ev->group_id = NULL;
    ev->previous_id = NULL;
    return 0;
}

static const char *server_event_id_of(const cJSON *item)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(item, "event_id");
    return cJSON_IsString(v) && v->valuestring[0] != '\0' ? v->valuestring : NULL;
}

const struct tly_adapter tly_server_adapter = {
    .source = TLY_SOURCE_SERVER,
    .split = server_split,
    .map = server_map,
    .event_id_of = server_event_id_of,
};
