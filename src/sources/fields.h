/*
 * Reading the members of a JSON item, for the source adapters: one pass to
 * find the members an adapter wants, and typed getters that fail with the
 * reason, field and message the failed-events API shows.
 */
#ifndef TLY_SOURCES_FIELDS_H
#define TLY_SOURCES_FIELDS_H

#include "sources/adapter.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/* An empty object, for properties that were left out. Never modified. */
extern const cJSON tly_empty_object;

/* out[i] = the first member of `obj` named names[i] (as cJSON_GetObjectItem
 * finds it), or NULL; one pass over the object. */
void tly_find_members(const cJSON *obj, const char *const *names, int n, const cJSON **out);

/* An optional string member of at most `max` bytes: *out NULL when absent,
 * null or empty. 0, or -1 with `f` filled (invalid_type, too_large). */
int tly_opt_string(const cJSON *v, const char *field, size_t max, const char **out,
                   struct tly_failure *f);
/* As tly_opt_string, but absent or empty fails as missing_field. */
int tly_req_string(const cJSON *v, const char *field, size_t max, const char **out,
                   struct tly_failure *f);
/* An optional object member: *out `dflt` when absent or null. */
int tly_opt_object(const cJSON *v, const char *field, const cJSON *dflt, const cJSON **out,
                   struct tly_failure *f);

#endif
