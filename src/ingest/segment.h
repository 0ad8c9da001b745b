/*
 * Segment ingest: `POST /segment/v4` (the Webhooks (Actions) destination,
 * write key in X-API-KEY, optional X-Signature) and the tracking API
 * `POST /v1/track|identify|page|screen|alias|batch` (write key as the Basic
 * auth user name). Routes: tly_ingest_segment_routes (ingest.h).
 */
#ifndef TLY_INGEST_SEGMENT_H
#define TLY_INGEST_SEGMENT_H

#include <stddef.h>

#define TLY_SEGMENT_SIGNATURE_HEX 40 /* HMAC-SHA1, lowercase hex */

/* 1 when `sig` (sig_len bytes, as sent in X-Signature) is the lowercase hex
 * HMAC-SHA1 of `data` under `secret`, compared in constant time; else 0.
 * All buffers borrowed. */
int tly_segment_signature_ok(const char *secret, size_t secret_len, const char *data, size_t len,
                             const char *sig, size_t sig_len);

#endif
