/*
 * Source adapters: a record's raw body → canonical events or typed failures.
 *
 * Every source is two pure functions, so items can be judged one by one and
 * replayed on their own:
 *   split(record)            parses the body and lists its items (a single
 *                            event is one item, a batch many); a body that
 *                            cannot be split fails as a whole;
 *   map(item, record, cfg)   turns one item into a canonical event, or says
 *                            exactly why not (reason code + field + message);
 *                            `cfg` is the tenant's settings for the source
 *                            (sources/settings.h: mapping overrides, names),
 *                            NULL for the defaults.
 * Nothing downstream knows the source except through `event.source`.
 *
 * A failed item keeps its raw JSON text so that it can be mapped again later
 * (replay), with the settings in force then.
 */
#ifndef TLY_SOURCES_ADAPTER_H
#define TLY_SOURCES_ADAPTER_H

#include "log/record.h"
#include "sources/settings.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* Why an item did not count. Stable names, used in the API and metrics. */
enum tly_fail_reason {
    TLY_FAIL_INVALID_JSON = 1,
    TLY_FAIL_MISSING_FIELD,
    TLY_FAIL_INVALID_TYPE,
    TLY_FAIL_INVALID_TIMESTAMP,
    TLY_FAIL_TOO_LARGE,
    TLY_FAIL_INVALID_UTF8,
    TLY_FAIL_UNKNOWN_TYPE,
    TLY_FAIL_UNKNOWN_USER,
    TLY_FAIL_TIMESTAMP_IN_FUTURE,
    TLY_FAIL_TIMESTAMP_TOO_OLD,
    TLY_FAIL_UNKNOWN_SOURCE,
    TLY_FAIL_REASON_COUNT /* keep last */
};

/* "invalid_json", "missing_field", …; "unknown" outside the enum. */
const char *tly_fail_reason_name(int reason);
/* The enum value of a name, or 0. */
int tly_fail_reason_parse(const char *name, size_t len);

struct tly_failure {
    int reason;
    char field[64];
    char message[192];
};

/* Fills `f`; returns -1 so adapters can `return tly_fail(...)`. */
int tly_fail(struct tly_failure *f, int reason, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

enum tly_event_kind {
    TLY_EVENT_TRACK = 1,   /* counts as an activity */
    TLY_EVENT_PROFILE = 2, /* updates user attributes: `traits` merged into them */
    TLY_EVENT_ALIAS = 3,   /* links `previous_id` to `user_id` (identity link) */
};

/* The canonical event (ARCHITECTURE.md). Strings and JSON are borrowed
 * from the item's parse tree. */
struct tly_event {
    int kind;
    uint32_t tenant;
    uint8_t source;
    const char *event_id;
    const char *event_name;
    const char *user_id;
    int64_t timestamp;   /* ms since the epoch, UTC, as sent */
    int64_t received_at; /* ms, ingest time */
    const cJSON *properties;
    const cJSON *context; /* may be NULL */
    /* TLY_EVENT_PROFILE (and a TLY_EVENT_TRACK that carries the user's
     * attributes, NULL otherwise): the traits object to merge into the user's
     * attributes; with `group_id` set they go under attributes.groups[id]. */
    const cJSON *traits;
    const char *group_id;
    const char *previous_id; /* TLY_EVENT_ALIAS: the id being linked */
};

/* The items of one record. `root` owns the parse tree. */
struct tly_items {
    cJSON *root;
    const cJSON **item;
    size_t n, cap;
};

void tly_items_init(struct tly_items *it);
void tly_items_reset(struct tly_items *it); /* frees the tree, keeps the array */
void tly_items_free(struct tly_items *it);
int tly_items_push(struct tly_items *it, const cJSON *item);

struct tly_adapter {
    uint8_t source;
    /* 0 with items listed, or -1 with `f` saying why the body is unusable. */
    int (*split)(const struct tly_record *rec, struct tly_items *out, struct tly_failure *f);
    /* 0 with `ev` filled (every field, unused ones NULL), or -1 with `f`
     * filled. `cfg` (NULL: defaults) is borrowed for the call; a field it
     * maps to a pointer of its own is read from there instead of the
     * adapter's default place (tly_mapping_apply). */
    int (*map)(const cJSON *item, const struct tly_record *rec, const struct tly_source_config *cfg,
               struct tly_event *ev, struct tly_failure *f);
    /* The item's event id if it has a usable one (for failed items), else NULL. */
    const char *(*event_id_of)(const cJSON *item);
};

/* The adapter of a source, or NULL. */
const struct tly_adapter *tly_adapter_for(int source);

#endif
