/*
 * JSON Pointers (RFC 6901) over cJSON trees, for the field mapping of the
 * source settings: "/traits/email", "/a~1b" (member "a/b"), "/m~0n"
 * (member "m~n"), "/items/0" (first array element); "" is the whole value.
 *
 * Member names compare exactly (case-sensitive, byte for byte after
 * unescaping); an array index is decimal without leading zeros ("-", the
 * element after the last, never resolves: there is nothing to read there).
 */
#ifndef TLY_CORE_JSON_POINTER_H
#define TLY_CORE_JSON_POINTER_H

#include "core/err.h"

#include <cjson/cJSON.h>
#include <stddef.h>

#define TLY_JSON_POINTER_MAX 128 /* bytes of a pointer the settings accept */

/* Checks the syntax of p[0..len): empty, or '/'-separated tokens in which
 * '~' is always followed by '0' or '1', no NUL, at most
 * TLY_JSON_POINTER_MAX bytes. 0, or TLY_EINVAL with `err` (field `field`)
 * saying what and at which byte. */
int tly_json_pointer_check(const char *p, size_t len, const char *field, struct tly_error *err);

/* The value `p` (NUL-terminated, checked) points to inside `root`, or NULL
 * when it does not resolve. Borrowed from `root`. */
const cJSON *tly_json_pointer_get(const cJSON *root, const char *p);

#endif
