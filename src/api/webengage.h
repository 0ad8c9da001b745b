/*
 * GET /v1/sources/webengage and PUT /v1/sources/webengage (admin key): the
 * tenant's WebEngage account, reached through the routes of sources.c.
 *
 *   PUT {"license_code":"…","secret_key":"…"}  sets it: tally stores the
 *        license code and only the lowercase hex MD5 of
 *        "<license_code>:<secret_key>" (what WebEngage sends as `secret`);
 *        409 when another tenant has that license code
 *   GET {"source":"webengage","license_code":…|null,"secret_set":…,
 *        "updated_at":…}; never the secret
 *
 * Stored in source_secrets (source "webengage") as the 32 hex characters of
 * the MD5 followed by the license code. Ingest reads it again within a
 * second of a change (ingest/auth.h).
 */
#ifndef TLY_API_WEBENGAGE_H
#define TLY_API_WEBENGAGE_H

#include "http/server.h"

#define TLY_WEBENGAGE_LICENSE_MAX 128 /* bytes of a license code */

void tly_api_webengage_get(struct tly_http_req *req, void *api);
void tly_api_webengage_put(struct tly_http_req *req, void *api);

#endif
