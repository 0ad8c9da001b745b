/*
 * What campaign and segment definitions share (campaign.c, segment.c): the
 * check of the document as a whole, and errors that name the offending
 * field by its path ("activities[1].where[0].op").
 */
#ifndef TLY_ENGINE_DEFINITION_H
#define TLY_ENGINE_DEFINITION_H

#include "core/err.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/* The longest name, event name or reward string of a definition, bytes. */
#define TLY_DEF_NAME_MAX 256

/* Room for a field path: the size of struct tly_error's field. */
#define TLY_DEF_FIELD_SIZE 64

/* TLY_EINVAL with err->field = `field` and msg "<field>: <what>" (msg
 * alone when field is ""). */
int tly_def_error(struct tly_error *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A field path into out[TLY_DEF_FIELD_SIZE], cut short if it must be. */
void tly_def_field(char *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* at + "." + name (name alone at the root) into out[TLY_DEF_FIELD_SIZE]. */
void tly_def_field_path(char *out, const char *at, const char *name);

/* The tree of a definition of at most `max` bytes of UTF-8. 0 with *root owned by the caller;
 * TLY_ETOOBIG or TLY_EINVAL with err filled. */
int tly_def_parse_json(const char *json, size_t len, size_t max, cJSON **root,
                       struct tly_error *err);

/* Is `s` an id: 1 to TLY_CAMPAIGN_ID_MAX of a-z, 0-9, _ and -? */
int tly_def_is_id(const char *s);

/* Refuses members of `obj` not in allowed[] (NULL-terminated) and names
 * given twice, naming the field under `at` (a name that cannot be printed
 * is not echoed). 0 or TLY_EINVAL. */
int tly_def_check_members(const cJSON *obj, const char *at, const char *const *allowed,
                          struct tly_error *err);

#endif
