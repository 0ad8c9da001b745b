/*
 * Fuzzes the WebEngage webhook adapter (sources/webengage.h) as the pipeline
 * runs it: split (the body plus the record's metadata), map, validate with
 * the default settings, render as the API does.
 *
 * Input: byte 0 shifts the receive time by days; byte 1 is the length of the
 * record metadata (cut to what remains), which follows; the rest is the body.
 *
 * Invariants checked (abort() if broken), beyond "no crash, no leak":
 *   - split either fails with a known reason and a message, or lists exactly
 *     one item;
 *   - a map failure has a known reason and a message;
 *   - a mapped event is a track event with non-empty id, name and user
 *     within their limits, the record's tenant, source and receive time, an
 *     object of properties, context NULL or an object, no traits, and
 *     event_id_of agrees, also on the item's text parsed again (replay);
 *   - validation passes or fails with a known reason; rendering is JSON.
 */
#include "core/json.h"
#include "pipeline/lookup.h"
#include "pipeline/validate.h"
#include "sources/adapter.h"
#include "sources/server.h"
#include "sources/webengage.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static void check_failure(const struct tly_failure *f)
{
    CHECK(f->reason > 0 && f->reason < TLY_FAIL_REASON_COUNT);
    CHECK(memchr(f->message, '\0', sizeof f->message) != NULL && f->message[0] != '\0');
    CHECK(memchr(f->field, '\0', sizeof f->field) != NULL);
}

static void check_string(const char *s, size_t max)
{
    CHECK(s != NULL && s[0] != '\0' && strlen(s) <= max);
}

static void check_event(const struct tly_adapter *a, const cJSON *item,
                        const struct tly_record *rec, const struct tly_event *ev)
{
    CHECK(ev->kind == TLY_EVENT_TRACK);
    check_string(ev->event_id, TLY_EVENT_ID_MAX);
    check_string(ev->event_name, TLY_EVENT_NAME_MAX);
    check_string(ev->user_id, TLY_USER_ID_MAX);
    CHECK(ev->tenant == rec->tenant && ev->source == rec->source);
    CHECK(ev->received_at == rec->received_at);
    CHECK(cJSON_IsObject(ev->properties));
    CHECK(ev->context == NULL || cJSON_IsObject(ev->context));
    CHECK(ev->traits == NULL && ev->group_id == NULL && ev->previous_id == NULL);
    const char *id = a->event_id_of(item);
    CHECK(id != NULL && strcmp(id, ev->event_id) == 0);
    char *text = cJSON_PrintUnformatted(item);
    if (text != NULL) {
        cJSON *again = cJSON_Parse(text);
        if (again != NULL) {
            const char *id2 = a->event_id_of(again);
            CHECK(id2 != NULL && strcmp(id2, id) == 0);
        }
        cJSON_Delete(again);
        cJSON_free(text);
    }
    struct tly_tenant_settings settings;
    tly_settings_default(&settings);
    struct tly_failure f;
    memset(&f, 'x', sizeof f);
    if (tly_validate_event(ev, &settings, &f) != 0)
        check_failure(&f);
    struct tly_buf out;
    tly_buf_init(&out, 0);
    CHECK(tly_event_to_json(ev, &out) == 0);
    struct tly_error err;
    CHECK(tly_json_check(out.data, out.len, &err) == 0);
    tly_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t meta_len = data[1];
    if (meta_len > size - 2)
        meta_len = size - 2;
    size_t len = size - 2 - meta_len;
    /* Copies, so that reads past either end are caught; owned here. */
    char *meta = malloc(meta_len + 1);
    char *body = malloc(len + 1);
    CHECK(meta != NULL && body != NULL);
    memcpy(meta, data + 2, meta_len);
    memcpy(body, data + 2 + meta_len, len);
    body[len] = '\0'; /* as a request body is */
    struct tly_error err;
    struct tly_record rec = {
        .source = TLY_SOURCE_WEBENGAGE,
        .kind = TLY_KIND_SINGLE,
        .flags = tly_json_check(body, len, &err) == 0 ? TLY_RECORD_BODY_CHECKED : 0,
        .tenant = 7,
        .received_at = 1773480413589LL + (int64_t)data[0] * TLY_DAY_MS,
        .meta = meta,
        .meta_len = meta_len,
        .body = body,
        .body_len = len,
    };
    const struct tly_adapter *a = tly_adapter_for(rec.source);
    CHECK(a != NULL);
    struct tly_items items;
    tly_items_init(&items);
    struct tly_failure f;
    memset(&f, 'x', sizeof f);
    if (a->split(&rec, &items, &f) != 0) {
        check_failure(&f);
    } else {
        CHECK(items.n == 1);
        struct tly_event ev;
        memset(&f, 'x', sizeof f);
        if (a->map(items.item[0], &rec, NULL, &ev, &f) != 0)
            check_failure(&f);
        else
            check_event(a, items.item[0], &rec, &ev);
    }
    tly_items_free(&items);
    free(body);
    free(meta);
    return 0;
}
