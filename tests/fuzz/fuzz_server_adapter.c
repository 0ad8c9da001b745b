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
#include "adapter_check.h"

/* The server API maps track events only. */
static void check_server_event(const struct tly_adapter *a, const cJSON *item,
                               const struct tly_record *rec, const struct tly_event *ev)
{
    (void)a, (void)item, (void)rec;
    CHECK(ev->kind == TLY_EVENT_TRACK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
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
    long n = check_adapter_record(&rec, check_server_event);
    CHECK(n < 0 || (n >= 1 && n <= (rec.kind == TLY_KIND_BATCH ? TLY_BATCH_MAX : 1)));
    free(body);
    return 0;
}
