/*
 * CleverTap webhook campaigns ("Live Behavior") as a source: the marketer
 * points a webhook at `POST /clevertap/v4` (TLY_SOURCE_CLEVERTAP).
 *
 * Default body: {"targetId", "key_values", "profiles"} where "profiles" is
 * an array (broadcast) or one object (personalized). The keys of the body
 * and of a profile are matched case-insensitively (`Identity` and
 * `identity` both occur). The record is kind BATCH and keeps the body as
 * sent. A body with "is_test": true (sent when the webhook is saved) is
 * answered 200 and not recorded.
 *
 * Mapping of one profile:
 *   event_id    profile "event_id", else key_values.event_id, else
 *               "ct_" + 16 hex digits of a stable hash (FNV-1a 64) of
 *               (targetId, objectId, event_properties)
 *   event_name  the per-tenant targetId→name map (a later setting; none by
 *               default), else key_values.event_name (the profile's, then
 *               the body's), else "clevertap_<targetId>"
 *   user_id     identity, else objectId (a non-empty string)
 *   timestamp   the receive time (a mapped date property is a later setting)
 *   properties  event_properties ({} when absent)
 *   context     systemProfileData (null when absent)
 *   traits      profileData: recorded with the event and merged into the
 *               user's profile, last write wins (pipeline/profile.h)
 * CleverTap date values "$D_<epoch seconds>" inside event_properties and
 * profileData are decoded to ISO-8601 UTC strings.
 *
 * Split turns each profile into a self-contained item
 * {"targetId", "event_id", "event_name", "profile"} so that a failed item
 * can be replayed alone.
 *
 * A custom body in the server API shape (event_id, event_name, user_id,
 * timestamp, event_properties at the root, no "profiles") is one item,
 * mapped as the server API does.
 */
#ifndef TLY_SOURCES_CLEVERTAP_H
#define TLY_SOURCES_CLEVERTAP_H

#include "core/err.h"

#include <cjson/cJSON.h>
#include <stddef.h>

#define TLY_CLEVERTAP_PROFILES_MAX 1000 /* profiles per request */

/* What the ingest check found. */
struct tly_clevertap_body {
    size_t items; /* profiles, or 1 for a server-shape body; 0 for a test */
    int is_test;  /* "is_test": true */
};

/* The ingest check: strict JSON, a root object that is a test ping, has
 * "profiles" (an object or an array of 1 to TLY_CLEVERTAP_PROFILES_MAX),
 * or is in the server API shape. 0, or TLY_EINVAL with `err` naming the
 * field. */
int tly_clevertap_check(const char *body, size_t len, struct tly_clevertap_body *out,
                        struct tly_error *err);

#endif
