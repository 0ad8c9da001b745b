/*
 * Segment definitions: parsing, validation, canonical JSON, the predicates
 * the segment evaluator runs, and the CSV reader of static member uploads.
 *
 * A definition is the JSON document of POST /v1/segments (README,
 * "Segments"):
 *
 *   {"id": "buyers", "name": "Buyers", "type": "static"}
 *   {"id": "loyal", "name": "Loyal", "type": "event", "match": "all",
 *    "conditions": [
 *      {"path": "country", "op": "eq", "value": "IN"},
 *      {"event": "order_placed", "where": [...], "measure": "count",
 *       "op": "gte", "value": 3, "within": "30d"}]}
 *
 * An attribute condition is a campaign `where` condition on the user's
 * attributes (the same parser and the same tly_where_holds: campaign.h).
 * A behaviour condition counts (measure count) or sums (measure sum of the
 * numeric `property`) the user's events named `event` whose `where`
 * conditions hold, within the last `within` (<n>s|m|h|d|w; left out: all
 * time), and compares that number with `value` by `op` (eq, ne, gt, gte,
 * lt, lte). `match` all (default) or any combines the conditions. A static
 * segment has no conditions. A broken rule is TLY_EINVAL with `err` naming
 * the field ("conditions[1].within"). Unknown fields are refused.
 *
 * A parsed segment is immutable and owns everything it points to.
 */
#ifndef TLY_ENGINE_SEGMENT_H
#define TLY_ENGINE_SEGMENT_H

#include "engine/campaign.h"

#include <stddef.h>
#include <stdint.h>

#define TLY_SEGMENT_JSON_MAX   (64 * 1024) /* bytes of a definition */
#define TLY_SEGMENT_CONDITIONS 16          /* conditions per segment */
#define TLY_SEGMENT_WITHIN_MAX (3650LL * 86400000LL)

enum tly_segment_kind { TLY_SEGMENT_STATIC = 1, TLY_SEGMENT_EVENT };

enum tly_segcond_kind { TLY_SEGCOND_ATTRIBUTE = 1, TLY_SEGCOND_BEHAVIOUR };

struct tly_segcond {
    enum tly_segcond_kind kind;
    struct tly_where attr; /* attribute: path into the user's attributes */
    /* behaviour */
    char *event;
    struct tly_where *where;
    int nwhere;
    enum tly_measure measure; /* TLY_MEASURE_COUNT or TLY_MEASURE_SUM */
    struct tly_path property; /* sum */
    enum tly_op op;           /* eq, ne, gt, gte, lt, lte */
    double value;
    int64_t within_ms; /* 0: all time */
    char within[24];   /* as written, canonical ("30d") */
};

struct tly_segment {
    char *id;
    char *name;
    enum tly_segment_kind kind;
    int match_any;
    struct tly_segcond *cond;
    int ncond;
};

/* 0 with *out owned by the caller; TLY_EINVAL / TLY_ETOOBIG with err
 * naming the field; TLY_ENOMEM. */
int tly_segment_parse(const char *json, size_t len, struct tly_segment **out,
                      struct tly_error *err);
void tly_segment_free(struct tly_segment *s);

/* The canonical definition (every field, defaults filled in, fixed member
 * order); parsing it gives an equal segment. */
int tly_segment_to_json(const struct tly_segment *s, struct tly_buf *out);

/* Do the two definitions count the same things (kind, match, conditions)? */
int tly_segment_same_rules(const struct tly_segment *a, const struct tly_segment *b);

/* Does behaviour condition `c` hold for the measured number `x`? */
int tly_segcond_compare(const struct tly_segcond *c, double x);

/* Does an event named `name` with `properties` match behaviour condition
 * `c` (name and every `where`)? */
int tly_segcond_matches(const struct tly_segcond *c, const char *name, const cJSON *properties);

/* The next user id of a CSV upload (README, "Segments"): one id per line,
 * the first column of each line (a field in double quotes may hold commas
 * and "" for a quote), \n or \r\n line ends, blank lines skipped, and a
 * first line that reads user_id, userId or id taken as a header. Reads
 * `buf` from *pos (advanced past the line). 1 with the id copied into
 * out[outsz] (NUL-terminated), 0 at the end, TLY_EINVAL with err naming
 * the line ("line 12: ...") for an id longer than outsz - 1 bytes, one
 * that is not UTF-8, or a broken quote. *line counts lines read. */
int tly_segment_csv_next(const char *buf, size_t len, size_t *pos, size_t *line, char *out,
                         size_t outsz, struct tly_error *err);

#endif
