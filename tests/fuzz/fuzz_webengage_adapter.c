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
#include "adapter_check.h"
#include "sources/webengage.h"

/* A WebEngage event is a track event without traits, and its id survives
 * the item's text parsed again (a failed item is replayed from its text). */
static void check_webengage_event(const struct tly_adapter *a, const cJSON *item,
                                  const struct tly_record *rec, const struct tly_event *ev)
{
    (void)rec;
    CHECK(ev->kind == TLY_EVENT_TRACK);
    CHECK(ev->traits == NULL && ev->group_id == NULL && ev->previous_id == NULL);
    char *text = cJSON_PrintUnformatted(item);
    if (text != NULL) {
        cJSON *again = cJSON_Parse(text);
        if (again != NULL) {
            const char *id2 = a->event_id_of(again);
            CHECK(id2 != NULL && strcmp(id2, ev->event_id) == 0);
        }
        cJSON_Delete(again);
        cJSON_free(text);
    }
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
    long n = check_adapter_record(&rec, check_webengage_event);
    CHECK(n < 0 || n == 1);
    free(body);
    free(meta);
    return 0;
}
