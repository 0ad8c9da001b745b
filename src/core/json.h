/*
 * JSON helpers over cJSON: whole-document parsing with a position on
 * error, and small typed getters.
 */
#ifndef TLY_CORE_JSON_H
#define TLY_CORE_JSON_H

#include "core/err.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/* Parses exactly `len` bytes as one JSON value (whitespace around it is
 * allowed, anything else after it is not). `text` must be followed by a NUL
 * byte (struct tly_buf guarantees one). Returns the tree (caller frees with
 * cJSON_Delete) or NULL with `err` saying "invalid JSON at byte N". */
cJSON *tly_json_parse(const char *text, size_t len, struct tly_error *err);

/* A JSON type name for error messages: "string", "number", "object", … */
const char *tly_json_type_name(const cJSON *v);

#endif
