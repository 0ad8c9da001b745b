/*
 * Fuzzes the Segment source end to end, without the network: the ingest
 * scan (tly_segment_scan, sources/segment.h), then the adapter as the
 * pipeline runs it (split, map, validate with the default settings,
 * render as the API does), and the profile merge of every profile event
 * (pipeline/profile.h).
 *
 * Input: byte 0 bits 0-2 pick the endpoint: 0 /segment/v4, 1 /v1/batch,
 * 2-6 /v1/track, identify, page, screen, alias (7 is /segment/v4 too);
 * bits 3-7 shift the receive time by days. The rest is the body.
 *
 * Invariants checked (abort() if broken), beyond "no crash, no leak":
 *   - a body the ingest scan accepts splits into as many items as the scan
 *     counted (ingest and pipeline agree), the first event's bytes lie
 *     inside the body, and a write key found lies inside it too;
 *   - split failures and map failures have a known reason and a message;
 *   - a mapped event has non-empty id (at most 100 characters, 128 bytes),
 *     name and user within their limits, the record's tenant, source and
 *     receive time, an object of properties, kind-specific fields set
 *     (profile: traits object; alias: previous_id), and event_id_of agrees;
 *   - validation passes or fails with a known reason; rendering is JSON;
 *   - merging a profile's traits twice changes nothing the second time.
 */
#include "adapter_check.h"
#include "sources/segment.h"

static const char *const call_types[] = {"track", "identify", "page", "screen", "alias"};

/* Segment: a messageId of at most 100 characters, and what each kind
 * needs (profile: traits, merged twice to no change; alias: previous_id). */
static void check_segment_event(const struct tly_adapter *a, const cJSON *item,
                                const struct tly_record *rec, const struct tly_event *ev)
{
    (void)a, (void)item, (void)rec;
    size_t chars = 0;
    for (const char *p = ev->event_id; *p; p++)
        chars += ((unsigned char)*p & 0xC0) != 0x80;
    CHECK(chars <= TLY_SEGMENT_MESSAGE_ID_MAX);
    CHECK(ev->kind >= TLY_EVENT_TRACK && ev->kind <= TLY_EVENT_ALIAS);
    if (ev->kind == TLY_EVENT_PROFILE)
        CHECK(cJSON_IsObject(ev->traits));
    if (ev->kind == TLY_EVENT_ALIAS)
        check_string(ev->previous_id, TLY_USER_ID_MAX);
    if (ev->kind == TLY_EVENT_PROFILE)
        check_merge(ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] & 7;
    char *body = malloc(size);
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0'; /* as a request body is */
    size_t len = size - 1;
    enum tly_segment_shape shape = mode == 1                ? TLY_SEGMENT_BATCH
                                   : mode >= 2 && mode <= 6 ? TLY_SEGMENT_CALL
                                                            : TLY_SEGMENT_WEBHOOK;
    struct tly_segment_body b;
    struct tly_error err;
    int scanned = tly_segment_scan(body, len, shape, &b, &err);
    if (scanned == 0) {
        CHECK(b.items >= 1 && b.first >= body && b.first + b.first_len <= body + len);
        CHECK(b.write_key == NULL ||
              (b.write_key >= body && b.write_key + b.write_key_len <= body + len));
    } else {
        CHECK(err.msg[0] != '\0');
    }
    struct tly_record rec = {
        .source = shape == TLY_SEGMENT_WEBHOOK ? TLY_SOURCE_SEGMENT : TLY_SOURCE_TRACK,
        .kind = shape == TLY_SEGMENT_BATCH || (scanned == 0 && b.is_array) ? TLY_KIND_BATCH
                                                                           : TLY_KIND_SINGLE,
        .flags = tly_json_check(body, len, &err) == 0 ? TLY_RECORD_BODY_CHECKED : 0,
        .tenant = 7,
        .received_at = 1773480413589LL + (int64_t)(data[0] >> 3) * TLY_DAY_MS,
        .body = body,
        .body_len = len,
    };
    if (shape == TLY_SEGMENT_CALL) {
        rec.meta = tly_segment_meta(call_types[mode - 2]);
        rec.meta_len = strlen(rec.meta);
    }
    long n = check_adapter_record(&rec, check_segment_event);
    if (n < 0)
        CHECK(scanned != 0); /* what ingest accepts, the pipeline can split */
    else
        CHECK(scanned != 0 || (size_t)n == b.items);
    free(body);
    return 0;
}
