/*
 * Inside the server API source: the checks as one function over a view of
 * an event, so that the cJSON path (server.c) and the text scanner
 * (server_scan.c) fill the view each their own way and cannot differ in
 * what they conclude or how they say it.
 */
#ifndef TLY_SOURCES_SERVER_INT_H
#define TLY_SOURCES_SERVER_INT_H

#include "core/json_scan.h"
#include "sources/adapter.h"

#include <stddef.h>
#include <stdint.h>

/* What the checks look at in one event: the first member of each name,
 * strings measured in decoded bytes. Borrowed pointers. */
struct tly_server_view {
    enum tly_json_kind kind;                      /* of the event itself */
    enum tly_json_kind id, name, user, ts, props; /* TLY_JSON_ABSENT when missing */
    size_t id_len, name_len, user_len;
    const char *ts_str; /* decoded timestamp string (ts_len bytes), when ts is a string */
    size_t ts_len;
    double ts_num; /* when ts is a number: as strtod reads it */
};

/* The event checks of server.h: 0 with *ts_ms (may be NULL), or -1 with
 * `f` saying why. */
int tly_server_judge(const struct tly_server_view *v, int64_t *ts_ms, struct tly_failure *f);

/* The batch envelope: the root's kind, its first "events" member's kind and,
 * for an array, its item count. 0 or -1 with `f`. */
int tly_server_judge_envelope(enum tly_json_kind root, enum tly_json_kind events, int n,
                              struct tly_failure *f);

#endif
