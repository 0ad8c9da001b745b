/*
 * Fuzzes the CleverTap webhook source end to end, without the network: the
 * ingest check (tly_clevertap_check, sources/clevertap.h), then the adapter
 * as the pipeline runs it (split, map, validate with the default settings,
 * render as the API does), and the profile merge of every event that
 * carries profileData (pipeline/profile.h).
 *
 * Input: byte 0 shifts the receive time by days. The rest is the body.
 *
 * Invariants checked (abort() if broken), beyond "no crash, no leak":
 *   - a body the ingest check accepts is a test ping (no items) or holds 1
 *     to TLY_CLEVERTAP_PROFILES_MAX items and splits into exactly that many
 *     (ingest and pipeline agree);
 *   - split failures and map failures have a known reason and a message;
 *   - a mapped event is a track event with non-empty id, name and user
 *     within their limits, the record's tenant, source and receive time, an
 *     object of properties, context and traits NULL or objects, and
 *     event_id_of agrees;
 *   - validation passes or fails with a known reason; rendering is JSON;
 *   - merging an event's profileData twice changes nothing the second
 *     time.
 */
#include "core/json.h"
#include "pipeline/lookup.h"
#include "pipeline/profile.h"
#include "pipeline/validate.h"
#include "sources/adapter.h"
#include "sources/clevertap.h"
#include "sources/server.h"

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

static void check_merge(const struct tly_event *ev)
{
    cJSON *attrs = cJSON_CreateObject(), *times = cJSON_CreateObject();
    int changed;
    if (attrs != NULL && times != NULL &&
        tly_profile_merge(attrs, times, ev->traits, NULL, ev->timestamp, &changed) == 0) {
        /* Merging the same attributes again changes nothing. Compared as
         * text: cJSON_Compare fails on equal objects that repeat a key. */
        char *before = cJSON_PrintUnformatted(attrs);
        if (before != NULL &&
            tly_profile_merge(attrs, times, ev->traits, NULL, ev->timestamp, &changed) == 0) {
            char *after = cJSON_PrintUnformatted(attrs);
            CHECK(after == NULL || strcmp(before, after) == 0);
            cJSON_free(after);
        }
        cJSON_free(before);
    }
    cJSON_Delete(attrs);
    cJSON_Delete(times);
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
    CHECK(ev->traits == NULL || cJSON_IsObject(ev->traits));
    CHECK(ev->group_id == NULL && ev->previous_id == NULL);
    const char *id = a->event_id_of(item);
    CHECK(id != NULL && strcmp(id, ev->event_id) == 0);
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
    if (ev->traits != NULL)
        check_merge(ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    char *body = malloc(size);
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0'; /* as a request body is */
    size_t len = size - 1;
    struct tly_clevertap_body b;
    struct tly_error err;
    int scanned = tly_clevertap_check(body, len, &b, &err);
    if (scanned == 0)
        CHECK(b.is_test ? b.items == 0 : b.items >= 1 && b.items <= TLY_CLEVERTAP_PROFILES_MAX);
    else
        CHECK(err.msg[0] != '\0');
    struct tly_record rec = {
        .source = TLY_SOURCE_CLEVERTAP,
        .kind = TLY_KIND_BATCH,
        .flags = tly_json_check(body, len, &err) == 0 ? TLY_RECORD_BODY_CHECKED : 0,
        .tenant = 7,
        .received_at = 1773480413589LL + (int64_t)data[0] * TLY_DAY_MS,
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
        CHECK(scanned != 0); /* what ingest accepts, the pipeline can split */
    } else {
        CHECK(scanned != 0 || items.n == b.items);
        for (size_t i = 0; i < items.n; i++) {
            struct tly_event ev;
            memset(&f, 'x', sizeof f);
            if (a->map(items.item[i], &rec, NULL, &ev, &f) != 0)
                check_failure(&f);
            else
                check_event(a, items.item[i], &rec, &ev);
        }
    }
    tly_items_free(&items);
    free(body);
    return 0;
}
