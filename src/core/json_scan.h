/*
 * The strict RFC 8259 syntax check behind tly_json_check (json.h), as a
 * walk a caller can steer, with no allocation: it can look at the members
 * of chosen objects and arrays as they go by (their keys as raw bytes,
 * their values as spans of the text) while the check itself, its limits,
 * its error messages and positions stay exactly those of tly_json_check.
 *
 * Plus the string helpers such a caller needs: the decoded length of a
 * string, its decoded bytes, and key comparison, all as cJSON would decode
 * the string (\uXXXX and surrogate pairs to UTF-8; other bytes as sent).
 */
#ifndef TLY_CORE_JSON_SCAN_H
#define TLY_CORE_JSON_SCAN_H

#include "core/err.h"

#include <stddef.h>

/* The JSON type of a value, and "absent" for a member that is not there. */
enum tly_json_kind {
    TLY_JSON_ABSENT = 0,
    TLY_JSON_STRING,
    TLY_JSON_NUMBER,
    TLY_JSON_OBJECT,
    TLY_JSON_ARRAY,
    TLY_JSON_BOOLEAN,
    TLY_JSON_NULL,
    TLY_JSON_INVALID, /* none of the above (a cJSON node that is not a value) */
};

/* "nothing", "string", "number", "object", … as tly_json_type_name says. */
const char *tly_json_kind_name(enum tly_json_kind k);

/* A walk over s[0..n); `s` is borrowed. On failure `why` says what is wrong
 * at byte `i`. */
struct tly_json_scan {
    const char *s;
    size_t n, i;
    const char *why;
    int depth;
};

/* Called for each member of a container walked with tly_json_scan_container:
 * for an object `key` is the raw text between the key's quotes (escapes not
 * decoded), for an array NULL. It must read exactly one value (the next one,
 * whitespace before it allowed), with tly_json_scan_value or
 * tly_json_scan_container, and return 0, or -1 with `why` set. */
typedef int (*tly_json_member_fn)(struct tly_json_scan *c, void *arg, const char *key,
                                  size_t key_len);

void tly_json_scan_init(struct tly_json_scan *c, const char *text, size_t len);

/* Skips whitespace and says what the next value is, judged by its first
 * byte (meaningful once the value has been read without error);
 * TLY_JSON_ABSENT at the end of the input. */
enum tly_json_kind tly_json_scan_peek(struct tly_json_scan *c);

/* Reads one value, whatever it is. 0 or -1. */
int tly_json_scan_value(struct tly_json_scan *c);

/* Reads the object or array that starts at `i` (after tly_json_scan_peek
 * said so), calling `fn` for each member; fn NULL reads them as
 * tly_json_scan_value does. 0 or -1. */
int tly_json_scan_container(struct tly_json_scan *c, tly_json_member_fn fn, void *arg);

/* After the root value: 0 if only whitespace follows, else -1. */
int tly_json_scan_finish(struct tly_json_scan *c);

/* Fills `err` for a failed walk: "invalid JSON at byte N: why", or the
 * empty-body message when the text is empty. Returns TLY_EINVAL. */
int tly_json_scan_error(const struct tly_json_scan *c, struct tly_error *err);

/* For the contents of a string the walk accepted (between its quotes): */
/* the length of its decoded bytes; */
size_t tly_json_string_len(const char *raw, size_t n);
/* its decoded bytes, at most `cap` of them written; returns the full length; */
size_t tly_json_string_decode(const char *raw, size_t n, char *out, size_t cap);
/* 1 if it decodes to exactly name[0..name_len). */
int tly_json_string_is(const char *raw, size_t n, const char *name, size_t name_len);

#endif
