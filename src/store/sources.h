/*
 * Per-tenant source settings in state.db (table source_settings): one
 * stored settings document (sources/settings.h) per tenant and source
 * name ("segment", "webengage", …), with the time it was last set.
 *
 * The documents hold credentials in the form ingest needs (the Segment
 * shared secret as given, hashes of the others); they are never returned
 * by the API as they are and never logged.
 */
#ifndef TLY_STORE_SOURCES_H
#define TLY_STORE_SOURCES_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* Stores the tenant's document for `source`, or removes it (json NULL).
 * Strings are borrowed for the call. 0 or TLY_EIO. */
int tly_source_settings_save(sqlite3 *db, uint32_t tenant, const char *source, const char *json,
                             int64_t now);

/* The tenant's document for `source`: *json (the caller frees it with
 * free(); NULL when none) and when it was set (ms; 0 when none). 0,
 * TLY_EIO or TLY_ENOMEM. */
int tly_source_settings_load(sqlite3 *db, uint32_t tenant, const char *source, char **json,
                             int64_t *updated_at);

/* Calls fn for each stored document of `source` (NULL: every source);
 * `json` is borrowed for the call. A non-zero return of fn stops the walk
 * and is returned. */
typedef int (*tly_source_settings_fn)(void *arg, uint32_t tenant, const char *source,
                                      const char *json, size_t len);
int tly_source_settings_each(sqlite3 *db, const char *source, tly_source_settings_fn fn, void *arg);

struct tly_source_config;

/* Loads the tenant's settings for `source` (log/record.h) into `cfg` (the
 * defaults when there are none or the document does not parse); the
 * caller frees it with tly_source_config_free. 0, TLY_EIO or TLY_ENOMEM
 * (cfg then zeroed). */
int tly_source_config_load(sqlite3 *db, uint32_t tenant, int source, struct tly_source_config *cfg);

#endif
