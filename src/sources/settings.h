/*
 * Per-tenant source settings: one JSON document per (tenant, source),
 * managed with GET/PUT /v1/sources/{source} and used by ingest
 * (credentials) and by the adapters (mapping, names).
 *
 * The document a PUT sends (every member optional; the document replaces
 * the stored one as a whole):
 *
 *   "shared_secret": "…" | null            segment: X-Signature HMAC key
 *   "license_code": "…", "secret_key": "…" webengage: the account; only the
 *                                          MD5 hex of "<license>:<key>" is kept
 *   "basic_auth": [{"username": "…", "password": "…"}, …]
 *                                          moengage, clevertap, track: Basic
 *                                          pairs; only SHA-256 of the password
 *                                          is kept; a user name belongs to one
 *                                          tenant per source
 *   "mapping": {"user_id": "/ptr", "event_name": …, "event_id": …,
 *               "timestamp": …, "properties": …}
 *                                          every source but server: JSON
 *                                          pointers (RFC 6901) into each item
 *                                          that replace the adapter's default
 *   "event_name_field": "event_name" | "event_code"   moengage
 *   "target_names": {"<targetId>": "<event name>"}     clevertap
 *
 * What GET shows instead of secrets: "shared_secret_set", "secret_set" and,
 * per Basic pair, "password_set"; the same members sent back as true keep
 * the stored secret, so a GET answer can be edited and PUT back as it is
 * ("source" and "updated_at" are accepted and ignored).
 *
 * The stored form (state.db, table source_settings) is the same document
 * with the secrets replaced by what ingest needs: "shared_secret" as given
 * (an HMAC needs it), "secret_md5", and per pair "password_sha256" (hex).
 */
#ifndef TLY_SOURCES_SETTINGS_H
#define TLY_SOURCES_SETTINGS_H

#include "core/buf.h"
#include "core/err.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define TLY_SOURCE_SECRET_MAX     256  /* bytes of a shared secret or secret key */
#define TLY_WEBENGAGE_LICENSE_MAX 128  /* bytes of a license code */
#define TLY_BASIC_USER_MAX        128  /* bytes of a Basic user name */
#define TLY_BASIC_PAIRS_MAX       16   /* Basic pairs per source */
#define TLY_TARGET_NAMES_MAX      1000 /* CleverTap targetId → name entries */
#define TLY_SETTINGS_BODY_MAX     (256 * 1024)

/* The canonical fields a mapping can move. */
enum tly_map_field {
    TLY_MAP_USER_ID,
    TLY_MAP_EVENT_NAME,
    TLY_MAP_EVENT_ID,
    TLY_MAP_TIMESTAMP,
    TLY_MAP_PROPERTIES,
    TLY_MAP_FIELD_COUNT
};

/* "user_id", "event_name", … */
const char *tly_map_field_name(int field);

/* A tenant's settings for one source, as the adapters read them. A NULL
 * config (or a zeroed one) is the defaults. */
struct tly_source_config {
    cJSON *doc;                               /* owned: the stored document */
    const char *pointer[TLY_MAP_FIELD_COUNT]; /* borrowed from doc; NULL: default */
    int name_from_code;                       /* moengage: event_code is the name */
    const cJSON *target_names;                /* clevertap: borrowed, or NULL */
};

/* Validates the PUT body `body[0..len)` for `source` (log/record.h) and
 * builds the document to store: secrets hashed (the secret text in the
 * parse tree is wiped), `prev` (the stored document or NULL, borrowed)
 * consulted for the "…_set": true members. 0 with *stored (the caller
 * frees it with cJSON_Delete), TLY_EINVAL with `err` naming the field, or
 * TLY_ENOMEM. */
int tly_source_settings_parse(int source, const char *body, size_t len, const cJSON *prev,
                              cJSON **stored, struct tly_error *err);

/* Appends the settings of a stored document (NULL: none) as members of the
 * GET answer, each preceded by a comma; never a secret. */
int tly_source_settings_public(int source, const cJSON *stored, struct tly_buf *out);

/* TLY_ECONFLICT with `err` when `mine` and `theirs` (stored documents of
 * the same source, two tenants) claim the same WebEngage license code or
 * Basic user name, else 0. */
int tly_source_settings_conflict(const cJSON *mine, const cJSON *theirs, struct tly_error *err);

/* Wipes the strings of a document (its secrets) and frees it; NULL: no-op. */
void tly_source_settings_free(cJSON *doc);

/* Takes ownership of `stored` (NULL: the defaults) and fills `cfg`. */
void tly_source_config_init(struct tly_source_config *cfg, cJSON *stored);
void tly_source_config_free(struct tly_source_config *cfg); /* NULL or zeroed: no-op */

#endif
