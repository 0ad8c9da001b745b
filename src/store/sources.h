/*
 * Per-tenant source credentials in state.db (table source_secrets): for
 * now the Segment signing secret, by source name ("segment").
 *
 * The secret is kept as given, because verifying an HMAC needs it; it is
 * never returned by the API and never logged.
 */
#ifndef TLY_STORE_SOURCES_H
#define TLY_STORE_SOURCES_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define TLY_SOURCE_SECRET_MAX 256 /* bytes */

/* Sets the tenant's secret for `source`, or removes it (secret NULL).
 * Strings are borrowed for the call. 0 or TLY_EIO. */
int tly_source_secret_set(sqlite3 *db, uint32_t tenant, const char *source, const char *secret,
                          int64_t now);

/* Whether the tenant has a secret for `source`, and since when (ms; 0 when
 * none). 0 or TLY_EIO. */
int tly_source_secret_state(sqlite3 *db, uint32_t tenant, const char *source, int *set,
                            int64_t *updated_at);

/* Calls fn for each tenant's secret of `source`; `secret` is borrowed for
 * the call. A non-zero return of fn stops the walk and is returned. */
typedef int (*tly_source_secret_fn)(void *arg, uint32_t tenant, const char *secret, size_t len);
int tly_source_secrets_each(sqlite3 *db, const char *source, tly_source_secret_fn fn, void *arg);

#endif
