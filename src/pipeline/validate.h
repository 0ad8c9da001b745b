/*
 * Deep validation of a canonical event: the checks too costly or too
 * tenant-specific for ingest's fast path. Each failure has a typed reason:
 *
 *   invalid_utf8         event_id, event_name, user_id, or any key or string
 *                        value inside properties/context is not UTF-8
 *   too_large            properties nested deeper than 8, more than 256 keys
 *                        in all, or more than 32 KiB as JSON
 *   timestamp_in_future  timestamp more than 1 day after the receive time
 *   timestamp_too_old    timestamp older than the tenant's horizon (default
 *                        30 days) before the receive time
 *
 * Times are judged against the receive time, not the processing time, so a
 * record processed again after a crash is judged the same way.
 */
#ifndef TLY_PIPELINE_VALIDATE_H
#define TLY_PIPELINE_VALIDATE_H

#include "sources/adapter.h"
#include "store/settings.h"

#define TLY_PROPS_MAX_DEPTH 8
#define TLY_PROPS_MAX_KEYS  256
#define TLY_PROPS_MAX_BYTES (32 * 1024)
#define TLY_FUTURE_SLACK_MS TLY_DAY_MS

/* 0 when the event may be applied, or -1 with `f` filled. */
int tly_validate_event(const struct tly_event *ev, const struct tly_tenant_settings *s,
                       struct tly_failure *f);

#endif
