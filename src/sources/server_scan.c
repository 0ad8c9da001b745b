/*
 * The server API checks straight from the body text (see server.h): one
 * pass of the strict JSON walk (core/json_scan.h) that notes, for each
 * event object, where the first member of each name the checks care about
 * starts and ends, and judges the event when the object closes, with the
 * same function as the cJSON path (server_int.h). No tree is built.
 *
 * Parity with tly_json_parse + the cJSON checks, rule by rule:
 *   - syntax, nesting depth, error bytes and messages: the same walk as
 *     tly_json_check, and a syntax error anywhere wins over any check;
 *   - duplicate keys: cJSON finds the first member of a name, so the first
 *     one counts here too; keys are compared decoded ("\u0065vent_id" is
 *     event_id), as cJSON compares them;
 *   - string lengths in decoded bytes, as strlen() of cJSON's copy (the
 *     walk refuses \u0000, so there is no embedded NUL to stop strlen);
 *   - a timestamp string is decoded as cJSON decodes it before it is parsed;
 *     a number is read with strtod, as cJSON reads it;
 *   - UTF-8 is not validated, by either path (the pipeline does that).
 *
 * Memory: none is allocated, except for a timestamp whose text cannot be
 * used in place and does not fit the stack buffer (a string with escapes
 * decoding to more than TS_BUF bytes, or a number over TS_BUF characters):
 * nothing a client sends on purpose; it costs one malloc.
 */
#include "core/json_scan.h"
#include "sources/server.h"
#include "sources/server_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define TS_BUF 256

enum field { F_ID, F_NAME, F_USER, F_TS, F_PROPS, F_COUNT, F_OTHER = -1 };

static const char *const field_names[F_COUNT] = {"event_id", "event_name", "user_id", "timestamp",
                                                 "event_properties"};

/* The first member of each name in one event object. */
struct event_scan {
    enum tly_json_kind kind[F_COUNT];
    const char *raw[F_COUNT]; /* value text; for a string without its quotes */
    size_t raw_len[F_COUNT];
};

static enum field field_of(const char *key, size_t len)
{
    if (memchr(key, '\\', len) != NULL) {
        for (int f = 0; f < F_COUNT; f++)
            if (tly_json_string_is(key, len, field_names[f], strlen(field_names[f])))
                return (enum field)f;
        return F_OTHER;
    }
    switch (len) {
    case 7:
        return memcmp(key, "user_id", 7) == 0 ? F_USER : F_OTHER;
    case 8:
        return memcmp(key, "event_id", 8) == 0 ? F_ID : F_OTHER;
    case 9:
        return memcmp(key, "timestamp", 9) == 0 ? F_TS : F_OTHER;
    case 10:
        return memcmp(key, "event_name", 10) == 0 ? F_NAME : F_OTHER;
    case 16:
        return memcmp(key, "event_properties", 16) == 0 ? F_PROPS : F_OTHER;
    }
    return F_OTHER;
}

static int event_member(struct tly_json_scan *c, void *arg, const char *key, size_t key_len)
{
    struct event_scan *e = arg;
    enum tly_json_kind kind = tly_json_scan_peek(c);
    size_t start = c->i;
    if (tly_json_scan_value(c) != 0)
        return -1;
    enum field f = field_of(key, key_len);
    if (f != F_OTHER && e->kind[f] == TLY_JSON_ABSENT) {
        e->kind[f] = kind;
        if (kind == TLY_JSON_STRING) {
            e->raw[f] = c->s + start + 1;
            e->raw_len[f] = c->i - start - 2;
        } else {
            e->raw[f] = c->s + start;
            e->raw_len[f] = c->i - start;
        }
    }
    return 0;
}

static size_t string_len(const struct event_scan *e, enum field f)
{
    return e->kind[f] == TLY_JSON_STRING ? tly_json_string_len(e->raw[f], e->raw_len[f]) : 0;
}

/* Judges one scanned value of kind `kind` (an event when it is an object).
 * Returns 0, TLY_EINVAL with `fail` filled, or TLY_ENOMEM. */
static int judge(enum tly_json_kind kind, const struct event_scan *e, int64_t *ts_ms,
                 struct tly_failure *fail)
{
    struct tly_server_view v = {.kind = kind};
    char buf[TS_BUF + 1];
    char *heap = NULL;
    if (kind == TLY_JSON_OBJECT) {
        v.id = e->kind[F_ID];
        v.name = e->kind[F_NAME];
        v.user = e->kind[F_USER];
        v.ts = e->kind[F_TS];
        v.props = e->kind[F_PROPS];
        v.id_len = string_len(e, F_ID);
        v.name_len = string_len(e, F_NAME);
        v.user_len = string_len(e, F_USER);
        const char *raw = e->raw[F_TS];
        size_t n = e->raw_len[F_TS];
        if (v.ts == TLY_JSON_STRING && memchr(raw, '\\', n) == NULL) {
            v.ts_str = raw; /* used in place */
            v.ts_len = n;
        } else if (v.ts == TLY_JSON_STRING || v.ts == TLY_JSON_NUMBER) {
            /* Decoded (a string) or NUL-terminated for strtod (a number). */
            size_t len = v.ts == TLY_JSON_STRING ? tly_json_string_len(raw, n) : n;
            char *out = buf;
            if (len > TS_BUF && (out = heap = malloc(len + 1)) == NULL)
                return TLY_ENOMEM;
            if (v.ts == TLY_JSON_STRING)
                tly_json_string_decode(raw, n, out, len);
            else
                memcpy(out, raw, n);
            out[len] = '\0';
            v.ts_str = out;
            v.ts_len = len;
            if (v.ts == TLY_JSON_NUMBER)
                v.ts_num = strtod(out, NULL);
        }
    }
    int rc = tly_server_judge(&v, ts_ms, fail) == 0 ? 0 : TLY_EINVAL;
    free(heap);
    return rc;
}

/* --- one event -------------------------------------------------------------- */

int tly_server_scan_event(const char *body, size_t len, int64_t *ts_ms, struct tly_error *err)
{
    struct tly_json_scan c;
    tly_json_scan_init(&c, body, len);
    struct event_scan e = {{0}};
    if (len == 0)
        return tly_json_scan_error(&c, err);
    enum tly_json_kind kind = tly_json_scan_peek(&c);
    int rc = kind == TLY_JSON_OBJECT ? tly_json_scan_container(&c, event_member, &e)
                                     : tly_json_scan_value(&c);
    if (rc != 0 || tly_json_scan_finish(&c) != 0)
        return tly_json_scan_error(&c, err);
    struct tly_failure f;
    rc = judge(kind, &e, ts_ms, &f);
    if (rc == TLY_ENOMEM)
        return tly_error_set(err, TLY_ENOMEM, "", "out of memory while parsing JSON");
    if (rc != 0)
        return tly_error_set(err, TLY_EINVAL, f.field, "%s", f.message);
    return 0;
}

/* --- a batch ------------------------------------------------------------------ */

struct batch_scan {
    int seen_events;                /* the first "events" member has been read */
    enum tly_json_kind events_kind; /* its kind */
    int items;                      /* its items, when it is an array */
    int oom;
    tly_server_item_fn fn;
    void *arg;
};

static int batch_item(struct tly_json_scan *c, void *arg, const char *key, size_t key_len)
{
    (void)key;
    (void)key_len;
    struct batch_scan *b = arg;
    int index = b->items;
    if (b->items < INT_MAX)
        b->items++;
    struct event_scan e = {{0}};
    enum tly_json_kind kind = tly_json_scan_peek(c);
    int rc = kind == TLY_JSON_OBJECT ? tly_json_scan_container(c, event_member, &e)
                                     : tly_json_scan_value(c);
    if (rc != 0 || index >= TLY_BATCH_MAX)
        return rc; /* past the limit the envelope fails as a whole */
    struct tly_failure f;
    int64_t ts = 0;
    rc = judge(kind, &e, &ts, &f);
    if (rc == TLY_ENOMEM) {
        b->oom = 1;
        c->why = "out of memory";
        return -1;
    }
    if (rc == 0) {
        b->fn(b->arg, index, ts, NULL);
    } else {
        struct tly_error err;
        tly_error_set(&err, TLY_EINVAL, f.field, "%s", f.message);
        b->fn(b->arg, index, 0, &err);
    }
    return 0;
}

static int envelope_member(struct tly_json_scan *c, void *arg, const char *key, size_t key_len)
{
    struct batch_scan *b = arg;
    if (b->seen_events || !tly_json_string_is(key, key_len, "events", 6))
        return tly_json_scan_value(c);
    b->seen_events = 1;
    b->events_kind = tly_json_scan_peek(c);
    return b->events_kind == TLY_JSON_ARRAY ? tly_json_scan_container(c, batch_item, b)
                                            : tly_json_scan_value(c);
}

int tly_server_scan_batch(const char *body, size_t len, tly_server_item_fn fn, void *arg,
                          struct tly_error *err)
{
    struct tly_json_scan c;
    tly_json_scan_init(&c, body, len);
    struct batch_scan b = {.fn = fn, .arg = arg};
    if (len == 0)
        return tly_json_scan_error(&c, err);
    enum tly_json_kind kind = tly_json_scan_peek(&c);
    int rc = kind == TLY_JSON_OBJECT ? tly_json_scan_container(&c, envelope_member, &b)
                                     : tly_json_scan_value(&c);
    if (b.oom)
        return tly_error_set(err, TLY_ENOMEM, "", "out of memory while parsing JSON");
    if (rc != 0 || tly_json_scan_finish(&c) != 0)
        return tly_json_scan_error(&c, err);
    struct tly_failure f;
    if (tly_server_judge_envelope(kind, b.events_kind, b.items, &f) != 0)
        return tly_error_set(err, TLY_EINVAL, f.field, "%s", f.message);
    return 0;
}
