/*
 * Campaign definitions: parsing, validation, canonical JSON, and the pure
 * predicates the engine evaluates on each event (conditions, bounds).
 *
 * A definition is the JSON document of POST /v1/campaigns (README,
 * "Campaigns"). tly_campaign_parse checks every rule and fills the defaults
 * (status active, timezone UTC, window campaign, complete_when all,
 * max_completions 1, enrollment auto, period day); a broken rule is
 * TLY_EINVAL with `err` naming the field by its path, e.g.
 * "activities[1].where[0].value". Unknown fields are refused.
 *
 * A parsed campaign is immutable and owns everything it points to.
 */
#ifndef TLY_ENGINE_CAMPAIGN_H
#define TLY_ENGINE_CAMPAIGN_H

#include "core/buf.h"
#include "core/err.h"
#include "core/tz.h"
#include "outbox/webhook.h"

#include <cjson/cJSON.h>
#include <stdint.h>

#define TLY_CAMPAIGN_ID_MAX     64          /* [a-z0-9_-]{1,64} */
#define TLY_CAMPAIGN_JSON_MAX   (64 * 1024) /* bytes of a definition */
#define TLY_CAMPAIGN_ACTIVITIES 32          /* activities per campaign */
#define TLY_CAMPAIGN_WHERE      16          /* conditions per activity */
#define TLY_CAMPAIGN_IN_VALUES  256         /* values of an in/nin list */
#define TLY_PATH_DEPTH          8           /* segments of a dot path */

enum tly_campaign_status {
    TLY_CAMPAIGN_DRAFT = 1,
    TLY_CAMPAIGN_ACTIVE,
    TLY_CAMPAIGN_PAUSED,
    TLY_CAMPAIGN_ENDED,
};

/* The campaign-level window; the calendar ones share tly_period's values. */
enum tly_window {
    TLY_WINDOW_CAMPAIGN = 0,
    TLY_WINDOW_DAY = TLY_PERIOD_DAY,
    TLY_WINDOW_WEEK = TLY_PERIOD_WEEK,
    TLY_WINDOW_MONTH = TLY_PERIOD_MONTH,
};

enum tly_measure {
    TLY_MEASURE_COUNT = 1,
    TLY_MEASURE_SUM,
    TLY_MEASURE_DISTINCT,
    TLY_MEASURE_STREAK
};

enum tly_op {
    TLY_OP_EQ = 1,
    TLY_OP_NE,
    TLY_OP_GT,
    TLY_OP_GTE,
    TLY_OP_LT,
    TLY_OP_LTE,
    TLY_OP_IN,
    TLY_OP_NIN,
    TLY_OP_EXISTS,
    TLY_OP_CONTAINS,
};

/* A dot path into an event's properties ("order.amount"): non-empty
 * segments, at most TLY_PATH_DEPTH. */
struct tly_path {
    char *text;
    char **seg;
    int n;
};

struct tly_where {
    struct tly_path path;
    enum tly_op op;
    cJSON *value; /* owned; exists: a bool; in/nin: an array; gt…lte: a number;
                     contains: a string; eq/ne: any JSON value */
};

struct tly_activity {
    char *id; /* [a-z0-9_-]{1,64}, unique in the campaign */
    char *event;
    struct tly_where *where;
    int nwhere;
    enum tly_measure measure;
    struct tly_path property; /* sum and distinct; n == 0 otherwise */
    double target;            /* > 0; a whole number for count, distinct, streak */
    enum tly_period period;   /* streak: TLY_PERIOD_DAY or TLY_PERIOD_WEEK */
};

struct tly_campaign {
    char *id;
    char *name;
    enum tly_campaign_status status;
    struct tly_tz *tz;
    int64_t starts_at; /* ms; INT64_MIN when not bounded */
    int64_t ends_at;   /* ms, exclusive; INT64_MAX when not bounded */
    enum tly_window window;
    int complete_any;        /* complete_when: "any" (1) or "all" (0) */
    int64_t max_completions; /* 0 = unlimited */
    int accept;              /* enrollment: "accept" (1) or "auto" (0) */
    char *segment;           /* NULL when none */
    int count_before_entry;
    struct tly_activity *act;
    int nact;
    cJSON *reward; /* owned canonical reward object, or NULL */
    /* Owned; NULL when the campaign has no `webhook` block. Its endpoints
     * replace the tenant's for this campaign's webhooks. In the canonical
     * JSON it comes last, with its secrets (the API hides them). */
    struct tly_webhooks *webhook;
};

/* Parses and validates a definition. 0 with *out owned by the caller;
 * TLY_EINVAL / TLY_ETOOBIG with err naming the field; TLY_ENOMEM; TLY_EIO
 * when the time zone's file exists but cannot be read. */
int tly_campaign_parse(const char *json, size_t len, struct tly_campaign **out,
                       struct tly_error *err);
void tly_campaign_free(struct tly_campaign *c);

/* The canonical definition: every field, defaults filled in, times as
 * ISO-8601 UTC strings, in a fixed member order. Parsing it gives an equal
 * campaign. */
int tly_campaign_to_json(const struct tly_campaign *c, struct tly_buf *out);

/* May `next` replace `cur`? While `cur` is active, activities, window and
 * timezone may not change: TLY_ECONFLICT naming the field; else 0. */
int tly_campaign_check_change(const struct tly_campaign *cur, const struct tly_campaign *next,
                              struct tly_error *err);

/* The value at `p` inside `obj`, or NULL when any segment is missing or a
 * non-object is in the way. */
const cJSON *tly_path_get(const struct tly_path *p, const cJSON *obj);

/* Does condition `w` hold for `properties`? (the rules of the README:
 * numbers compare numerically, strings exactly, gt…lte only between
 * numbers; a missing value fails every op except ne, nin, exists:false). */
int tly_where_holds(const struct tly_where *w, const cJSON *properties);

/* The test of tly_where_holds on a value already found (NULL: missing). */
int tly_where_test(const struct tly_where *w, const cJSON *v);

/* Parses one condition {"path","op","value"} (the rules above); `at` names
 * it in errors ("activities[0].where[1]"). On failure *w may hold parts:
 * tly_where_free it either way. */
int tly_where_parse(const cJSON *o, const char *at, struct tly_where *w, struct tly_error *err);
void tly_where_free(struct tly_where *w);
/* Appends the canonical {"path","op","value"} of `w`. */
int tly_where_to_json(const struct tly_where *w, struct tly_buf *out);
const char *tly_op_name(enum tly_op op);
/* Appends a number as the canonical writer does (shortest exact form). */
int tly_number_to_json(struct tly_buf *out, double d);

/* Splits a dot path (errors name `field`); tly_path_free frees it. */
int tly_path_parse(const char *s, struct tly_path *p, const char *field, struct tly_error *err);
void tly_path_free(struct tly_path *p);

/* Does an event named `name` with `properties` match `a` (name and every
 * condition)? */
int tly_activity_matches(const struct tly_activity *a, const char *name, const cJSON *properties);

/* Does `ts` lie in [starts_at, ends_at)? */
int tly_campaign_in_bounds(const struct tly_campaign *c, int64_t ts);

/* A key for `v` such that two values get the same key exactly when they are
 * equal as JSON values ("1" and 1 differ; 1 and 1.0 do not). Appended to
 * `out`. For distinct sets. */
int tly_json_value_key(const cJSON *v, struct tly_buf *out);

#endif
