/*
 * WebEngage webhooks as a source (TLY_SOURCE_WEBENGAGE): WebEngage POSTs one
 * event per request to the configured URL with `eventType`, `licenseCode`
 * and `secret` appended as query parameters.
 *
 * Record metadata (written by ingest; never the secret):
 *   {"event_type":"…","license_code":"…","request_id":"…"}
 * `request_id` is the `x-request-id` header, else tally's own request id
 * (32 hex) so that every record has an id.
 *
 * split copies the metadata into the body object under TLY_WEBENGAGE_META
 * (replacing a member of that name sent by the client), so that a failed
 * item kept as JSON text can be mapped again on its own.
 *
 * Mapping (one item per request):
 *   event_id    request_id (x-request-id)
 *   event_name  event_type (the eventType query parameter), else the body's
 *               `event_name`
 *   user_id     user_id, else cuid, else luid, else anonymous_id
 *   timestamp   event_time, else timestamp (ISO-8601 or epoch s/ms), else
 *               the receive time
 *   properties  event_data (object; {} when absent)
 *   context     system_data when it is an object (a string is left out)
 */
#ifndef TLY_SOURCES_WEBENGAGE_H
#define TLY_SOURCES_WEBENGAGE_H

#include <stddef.h>

#define TLY_WEBENGAGE_META       "_tally_meta"
#define TLY_WEBENGAGE_SECRET_HEX 32 /* MD5 as hex, without the NUL */

/* out = lowercase hex MD5 of "<license_code>:<secret_key>" + NUL. 0, or -1
 * when the digest cannot be computed. */
int tly_webengage_secret_hash(const char *license_code, size_t license_len, const char *secret_key,
                              size_t secret_len, char out[TLY_WEBENGAGE_SECRET_HEX + 1]);

/* 1 when `given` (hex, any case) equals `stored` (its first 32 characters,
 * lowercase hex; no NUL needed), compared in constant time; 0 otherwise
 * (a `given` of another length included). */
int tly_webengage_secret_ok(const char *stored, const char *given, size_t given_len);

#endif
