/*
 * JSON helpers over cJSON: whole-document parsing with a position on
 * error, and small typed getters.
 */
#ifndef TLY_CORE_JSON_H
#define TLY_CORE_JSON_H

#include "core/err.h"
#include "core/json_scan.h"

#include <cjson/cJSON.h>
#include <stddef.h>

#define TLY_JSON_MAX_DEPTH 64 /* nesting of objects and arrays */

/* Checks that text[0..len) is one JSON value (RFC 8259, whitespace around
 * it allowed) with no \u0000 in any string and nesting within
 * TLY_JSON_MAX_DEPTH. On error `err` says "invalid JSON at byte N: why". */
int tly_json_check(const char *text, size_t len, struct tly_error *err);

/* tly_json_check, then the tree (caller frees with cJSON_Delete); NULL with
 * `err` filled when the text is not accepted. */
cJSON *tly_json_parse(const char *text, size_t len, struct tly_error *err);

/* The tree of text that passed tly_json_check before it was stored (a log
 * record with TLY_RECORD_BODY_CHECKED), without checking it again. Text
 * that would not pass is read as cJSON reads it (which accepts a little
 * more, such as 01) or refused as tly_json_parse refuses it. */
cJSON *tly_json_parse_checked(const char *text, size_t len, struct tly_error *err);

/* The kind of a node (TLY_JSON_ABSENT for NULL), and its name for error
 * messages: "string", "number", "object", … ("nothing" for NULL). */
enum tly_json_kind tly_json_kind_of(const cJSON *v);
const char *tly_json_type_name(const cJSON *v);

#endif
