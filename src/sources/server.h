/*
 * The documented server API (`POST /server/v4` and its batch): the shape of
 * one event and of the batch envelope.
 *
 * These are the cheap structural checks that ingest runs before accepting
 * a request; the pipeline's adapter reuses them so an item is judged by the
 * same rules at both ends.
 */
#ifndef TLY_SOURCES_SERVER_H
#define TLY_SOURCES_SERVER_H

#include "core/err.h"

#include <cjson/cJSON.h>
#include <stdint.h>

#define TLY_EVENT_ID_MAX   128
#define TLY_EVENT_ID_BUF   (TLY_EVENT_ID_MAX + 1)
#define TLY_EVENT_NAME_MAX 256
#define TLY_USER_ID_MAX    256
#define TLY_USER_ID_BUF    (TLY_USER_ID_MAX + 1)
#define TLY_BATCH_MAX      500

/* Checks one event object: event_id, event_name and user_id non-empty
 * strings within their byte limits, timestamp a string or number in a form
 * timeparse.h accepts, event_properties an object. Fills `*ts_ms` (may be
 * NULL). 0 or TLY_EINVAL with `err` naming the field. */
int tly_server_event_check(const cJSON *ev, int64_t *ts_ms, struct tly_error *err);

/* Checks the batch envelope {"events":[…]} (1..TLY_BATCH_MAX items) and
 * returns the array through `events` (borrowed from `root`). Items are not
 * checked here. */
int tly_server_batch_envelope(const cJSON *root, const cJSON **events, struct tly_error *err);

#endif
