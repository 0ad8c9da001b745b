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
#include "adapter_check.h"
#include "sources/clevertap.h"

/* A CleverTap profile is a track event; profileData rides along as traits. */
static void check_clevertap_event(const struct tly_adapter *a, const cJSON *item,
                                  const struct tly_record *rec, const struct tly_event *ev)
{
    (void)a, (void)item, (void)rec;
    CHECK(ev->kind == TLY_EVENT_TRACK);
    CHECK(ev->traits == NULL || cJSON_IsObject(ev->traits));
    CHECK(ev->group_id == NULL && ev->previous_id == NULL);
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
    long n = check_adapter_record(&rec, check_clevertap_event);
    if (n < 0)
        CHECK(scanned != 0); /* what ingest accepts, the pipeline can split */
    else
        CHECK(scanned != 0 || (size_t)n == b.items);
    free(body);
    return 0;
}
