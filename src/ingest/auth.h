/*
 * Request authentication against the tenants' keys.
 *
 * Holds the in-memory key table (tenants.h) and keeps it current: once a
 * second, if state.db changed, it compares a fingerprint of the key table
 * (e.g. after `tallyd tenant create` while the daemon runs) and reloads the
 * table if the keys changed. Keys verified since the last reload are
 * remembered (text compared in constant time), so a repeated key is not
 * hashed again; a reload forgets them all.
 * Loop thread only.
 */
#ifndef TLY_INGEST_AUTH_H
#define TLY_INGEST_AUTH_H

#include "core/logger.h"
#include "http/server.h"
#include "store/tenants.h"

#include <uv.h>

struct tly_auth;

int tly_auth_open(struct tly_auth **out, uv_loop_t *loop, const char *db_path,
                  const struct tly_logger *lg);

/* The tenant of `key` if it is a key of `kind` in the table as last
 * loaded. 0, or TLY_ENOENT with *why set to a message fit for the 401
 * answer (counted as a failure). */
int tly_auth_key(struct tly_auth *a, const char *key, size_t len, enum tly_key_kind kind,
                 uint32_t *tenant, const char **why);

/* The tenant of the write key in X-API-KEY. 0, or TLY_ENOENT with *why set
 * to a message fit for the 401 answer. */
int tly_auth_write(struct tly_auth *a, const struct tly_http_req *req, uint32_t *tenant,
                   const char **why);

/* The tenant of HTTP Basic credentials sent to `source` (log/record.h):
 * a user name and password the tenant configured for that source
 * (sources/settings.h "basic_auth"; the password's SHA-256 compared in
 * constant time; a wrong password is refused), else the write key sent as
 * the user name (`Authorization: Basic base64(<write key>:<anything>)`, the
 * Segment tracking API's way), the password then ignored. */
int tly_auth_basic_write(struct tly_auth *a, const struct tly_http_req *req, int source,
                         uint32_t *tenant, const char **why);

/* 1 with the tenant's Segment signing secret (borrowed until the next
 * reload, i.e. for the current callback), or 0 when it has none. */
int tly_auth_segment_secret(const struct tly_auth *a, uint32_t tenant, const char **secret,
                            size_t *len);

/* 1 with the tenant whose WebEngage license code is `license` and the
 * stored MD5 hex of "<license>:<secret key>" (32 characters, not
 * NUL-terminated; borrowed until the next reload), or 0 when none. */
int tly_auth_webengage(const struct tly_auth *a, const char *license, size_t len, uint32_t *tenant,
                       const char **md5_hex);

/* The tenant of the admin key in `Authorization: Bearer <key>`. */
int tly_auth_admin(struct tly_auth *a, const struct tly_http_req *req, uint32_t *tenant,
                   const char **why);

/* Answers 401 with `why` and a WWW-Authenticate header. */
void tly_auth_reject(struct tly_http_req *req, const char *why);

uint64_t tly_auth_failures(const struct tly_auth *a);

/* Stops the reload timer and frees everything once the loop has run the
 * timer's close. */
void tly_auth_close(struct tly_auth *a);

#endif
