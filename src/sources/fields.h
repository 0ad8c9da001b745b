/*
 * Reading the members of a JSON item, for the source adapters: one pass to
 * find the members an adapter wants, and typed getters that fail with the
 * reason, field and message the failed-events API shows; and the tenant's
 * mapping overrides, applied the same way by every adapter.
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

/* Whether the tenant's settings move `field` (enum tly_map_field) to a
 * pointer of their own: the adapter then skips its default for it (a
 * missing default is no error) and ends with tly_mapping_apply. */
static inline int tly_mapped(const struct tly_source_config *cfg, int field)
{
    return cfg != NULL && cfg->pointer[field] != NULL;
}

/* Reads every field `cfg` maps (NULL: none) from `item` into `ev`:
 * user_id, event_name and event_id strings, timestamp as ISO-8601 string
 * or epoch number (tly_time_parse, tly_time_from_number), properties an
 * object; borrowed from `item`. A pointer that does not resolve fails as
 * missing_field, a value of the wrong type as invalid_type (or
 * invalid_timestamp, too_large), with the pointer as the field. 0 or -1. */
int tly_mapping_apply(const struct tly_source_config *cfg, const cJSON *item, struct tly_event *ev,
                      struct tly_failure *f);

#endif
