/*
 * Fuzzes the server API adapter as the pipeline runs it: split a record's
 * body into items, map each item to a canonical event, validate it with
 * the default tenant settings (src/sources/adapter.h, src/pipeline/
 * validate.h), and render it as the API does (src/pipeline/lookup.h).
 *
 * Input: byte 0 picks the record kind (bit 0: batch) and the receive time
 * (bits 1-7 shift it by days); the rest is the body. As ingest does, a
 * body that passes the strict JSON check is flagged as checked (so split
 * parses it without checking again).
 *
 * Invariants checked (abort() if broken), beyond "no crash, no leak":
 *   - split succeeds with 1 item for a single record and 1..500 for a
 *     batch, or fails with a known reason and a non-empty message;
 *   - every item either maps or fails with a known reason and message;
 *   - a mapped event has non-empty event_id/event_name/user_id within
 *     their limits, the record's tenant, source and receive time, an object
 *     of properties, and event_id_of(item) gives the same id;
 *   - validation passes or fails with a known reason and message;
 *   - the event's JSON rendering is valid JSON.
 */
#include "core/json.h"
#include "pipeline/lookup.h"
#include "pipeline/validate.h"
#include "sources/adapter.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const struct tly_adapter *a = tly_adapter_for(TLY_SOURCE_SERVER);
    CHECK(a != NULL);
    /* The body must be followed by a NUL byte (as a request body is). */
    char *body = malloc(size);
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0';
    struct tly_error check_err;
    struct tly_record rec = {
        .source = TLY_SOURCE_SERVER,
        .kind = (data[0] & 1) ? TLY_KIND_BATCH : TLY_KIND_SINGLE,
        .flags = tly_json_check(body, size - 1, &check_err) == 0 ? TLY_RECORD_BODY_CHECKED : 0,
        .tenant = 7,
        .received_at = 1773480413589LL + (int64_t)(data[0] >> 1) * TLY_DAY_MS,
        .body = body,
        .body_len = size - 1,
    };
    struct tly_tenant_settings settings;
    tly_settings_default(&settings);
    struct tly_items items;
    tly_items_init(&items);
    struct tly_failure f;
    memset(&f, 'x', sizeof f);
    if (a->split(&rec, &items, &f) != 0) {
        check_failure(&f);
    } else {
        CHECK(items.n >= 1 && items.n <= (rec.kind == TLY_KIND_BATCH ? TLY_BATCH_MAX : 1));
        for (size_t i = 0; i < items.n; i++) {
            struct tly_event ev;
            memset(&f, 'x', sizeof f);
            if (a->map(items.item[i], &rec, NULL, &ev, &f) != 0) {
                check_failure(&f);
                continue;
            }
            check_string(ev.event_id, TLY_EVENT_ID_MAX);
            check_string(ev.event_name, TLY_EVENT_NAME_MAX);
            check_string(ev.user_id, TLY_USER_ID_MAX);
            CHECK(ev.tenant == rec.tenant && ev.source == rec.source);
            CHECK(ev.received_at == rec.received_at && ev.kind == TLY_EVENT_TRACK);
            CHECK(cJSON_IsObject(ev.properties));
            const char *id = a->event_id_of(items.item[i]);
            CHECK(id != NULL && strcmp(id, ev.event_id) == 0);
            memset(&f, 'x', sizeof f);
            if (tly_validate_event(&ev, &settings, &f) != 0)
                check_failure(&f);
            struct tly_buf out;
            tly_buf_init(&out, 0);
            CHECK(tly_event_to_json(&ev, &out) == 0);
            struct tly_error err;
            CHECK(tly_json_check(out.data, out.len, &err) == 0);
            tly_buf_free(&out);
        }
    }
    tly_items_free(&items);
    free(body);
    return 0;
}
