/*
 * The documented server API (`POST /server/v4` and its batch): the shape of
 * one event and of the batch envelope.
 *
 * These are the cheap structural checks that ingest runs before accepting
 * a request; the pipeline's adapter reuses them so an item is judged by the
 * same rules at both ends. They come in two forms with the same verdicts,
 * fields and messages: on a cJSON tree (the pipeline, which needs the tree
 * anyway), and straight from the body text with no tree and no allocation
 * (ingest; server_scan.c, which allocates only for a timestamp no client
 * sends on purpose).
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

/* tly_json_parse + tly_server_event_check on `body`, in one pass over the
 * text: the same result, `err` and *ts_ms (may be NULL). */
int tly_server_scan_event(const char *body, size_t len, int64_t *ts_ms, struct tly_error *err);

/* One batch item's verdict: `err` NULL when it passed (then `ts_ms` is its
 * timestamp), else why not. */
typedef void (*tly_server_item_fn)(void *arg, int index, int64_t ts_ms,
                                   const struct tly_error *err);

/* tly_json_parse + tly_server_batch_envelope + tly_server_event_check on
 * every item, in one pass over the text. Items are reported to `fn` in
 * order as they are read, before the rest of the body has been checked: if
 * the function then fails (TLY_EINVAL, `err` about the body as a whole, as
 * tly_json_parse or tly_server_batch_envelope would say), what `fn` was told
 * does not count. */
int tly_server_scan_batch(const char *body, size_t len, tly_server_item_fn fn, void *arg,
                          struct tly_error *err);

#endif
