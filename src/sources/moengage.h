/*
 * MoEngage Streams as a source: MoEngage posts batches of events to one
 * static URL, `/v3/moengage` or `/moengage/v4` (TLY_SOURCE_MOENGAGE).
 *
 * Body: {"app_name", "source":"MOENGAGE", "moe_request_id", "events":[…]},
 * 100 events per request by default; at most TLY_MOENGAGE_EVENTS_MAX are
 * accepted. The record is kind BATCH and keeps the body as sent.
 *
 * Mapping of one event:
 *   event_id    event_uuid (required; MoEngage documents it as the dedupe key)
 *   event_name  event_name (the display name), else event_code. Which of
 *               the two is canonical will be a tenant setting; the default
 *               is event_name, the other stays in the stored body
 *   user_id     uid, else user_attributes.moengage_user_id (a non-empty
 *               string)
 *   timestamp   event_time: epoch seconds (milliseconds told apart by
 *               magnitude) or an ISO-8601 string (required)
 *   properties  event_attributes ({} when absent)
 *   context     device_attributes as sent (null when absent)
 *   traits      user_attributes: the event is recorded as a track event AND
 *               the attributes are merged into the user's profile, last
 *               write wins by event time (pipeline/profile.h)
 * A bad event fails on its own (missing_field, invalid_type, …); invalid
 * UTF-8 inside one fails that event only (invalid_utf8, by validation).
 */
#ifndef TLY_SOURCES_MOENGAGE_H
#define TLY_SOURCES_MOENGAGE_H

#include "core/err.h"

#include <stddef.h>

#define TLY_MOENGAGE_EVENTS_MAX 500 /* events per request; MoEngage sends 100 */

/* What the ingest check found. */
struct tly_moengage_body {
    size_t items; /* members of "events" */
};

/* The cheap check ingest runs: strict JSON (as tly_json_check), a root
 * object whose first "events" member is an array of 1 to
 * TLY_MOENGAGE_EVENTS_MAX members. No allocation. 0, or TLY_EINVAL with
 * `err` naming the field and saying what is wrong. The events themselves
 * are judged by the pipeline, one by one. */
int tly_moengage_scan(const char *body, size_t len, struct tly_moengage_body *out,
                      struct tly_error *err);

#endif
