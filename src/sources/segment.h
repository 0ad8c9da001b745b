/*
 * Segment as a source: the "Webhooks (Actions)" destination posting to
 * `/segment/v4` (TLY_SOURCE_SEGMENT) and the Segment-compatible tracking
 * API `/v1/track|identify|page|screen|alias|batch` (TLY_SOURCE_TRACK).
 * Both carry Segment spec events; one adapter maps them (segment.c).
 *
 * Mapping of one event (a call of the Segment spec):
 *   event_id    messageId (required, at most 100 characters)
 *   user_id     userId, else anonymousId (a non-empty string)
 *   event_name  track: event; page/screen: name, else "Page Viewed" /
 *               "Screen Viewed"; identify/group/alias: the type
 *   timestamp   timestamp, else originalTimestamp, else the receive time
 *               (Segment's own rule when a client sends none)
 *   properties  properties ({} when absent), context kept as sent
 *   identify    a profile update: traits merged into the user's attributes
 *   group       a profile update: traits under attributes.groups[groupId]
 *   alias       an identity link previousId -> user
 *   other type  fails as unknown_type
 *
 * Records: a webhook body is kept as sent, kind SINGLE (an object) or BATCH
 * (an array). A tracking-API call is kind SINGLE with the call type from the
 * path in the record's metadata (tly_segment_meta), or kind BATCH holding
 * {"batch":[…]}; the path's type wins over a `type` in the body.
 */
#ifndef TLY_SOURCES_SEGMENT_H
#define TLY_SOURCES_SEGMENT_H

#include "core/err.h"

#include <stddef.h>

#define TLY_SEGMENT_MESSAGE_ID_MAX 100          /* characters */
#define TLY_SEGMENT_EVENT_BYTES    (32 * 1024)  /* per event, as Segment's API */
#define TLY_SEGMENT_BATCH_BYTES    (500 * 1024) /* per batch body, as Segment's API */

/* The body shapes ingest accepts. */
enum tly_segment_shape {
    TLY_SEGMENT_WEBHOOK, /* an event object, or a non-empty array of them */
    TLY_SEGMENT_CALL,    /* one event object (/v1/track, /v1/identify, …) */
    TLY_SEGMENT_BATCH,   /* {"batch":[…]} with at least one item */
};

/* What the ingest check found. Pointers borrow from the body. */
struct tly_segment_body {
    int is_array;      /* webhook: the body is an array */
    size_t items;      /* events in the body */
    const char *first; /* the raw bytes of the first event: what Segment signs */
    size_t first_len;
    /* The root object's first "writeKey" member when it is a string: its
     * raw text between the quotes (escapes not decoded), else NULL. Segment
     * clients may send the write key there instead of Basic auth. */
    const char *write_key;
    size_t write_key_len;
};

/* The cheap check ingest runs: strict JSON (as tly_json_check), the shape,
 * at most TLY_SEGMENT_EVENT_BYTES per event and TLY_SEGMENT_BATCH_BYTES per
 * batch or array body. No allocation. 0, or TLY_EINVAL with `err` naming the
 * field and saying what is wrong. The events themselves are judged by the
 * pipeline, one by one. */
int tly_segment_scan(const char *body, size_t len, enum tly_segment_shape shape,
                     struct tly_segment_body *out, struct tly_error *err);

/* The record metadata naming the call type of a tracking-API path ("track",
 * "identify", "page", "screen", "alias"); NULL for another name. Static
 * text. */
const char *tly_segment_meta(const char *type);

#endif
