/*
 * The adapter registry, failure reasons and the item list (see adapter.h).
 */
#include "sources/adapter.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct tly_adapter tly_server_adapter;
extern const struct tly_adapter tly_segment_adapter;
extern const struct tly_adapter tly_track_adapter;
extern const struct tly_adapter tly_moengage_adapter;
extern const struct tly_adapter tly_webengage_adapter;
extern const struct tly_adapter tly_clevertap_adapter;

static const char *const reason_names[TLY_FAIL_REASON_COUNT] = {
    [TLY_FAIL_INVALID_JSON] = "invalid_json",
    [TLY_FAIL_MISSING_FIELD] = "missing_field",
    [TLY_FAIL_INVALID_TYPE] = "invalid_type",
    [TLY_FAIL_INVALID_TIMESTAMP] = "invalid_timestamp",
    [TLY_FAIL_TOO_LARGE] = "too_large",
    [TLY_FAIL_INVALID_UTF8] = "invalid_utf8",
    [TLY_FAIL_UNKNOWN_TYPE] = "unknown_type",
    [TLY_FAIL_UNKNOWN_USER] = "unknown_user",
    [TLY_FAIL_TIMESTAMP_IN_FUTURE] = "timestamp_in_future",
    [TLY_FAIL_TIMESTAMP_TOO_OLD] = "timestamp_too_old",
    [TLY_FAIL_UNKNOWN_SOURCE] = "unknown_source",
};

const char *tly_fail_reason_name(int reason)
{
    if (reason <= 0 || reason >= TLY_FAIL_REASON_COUNT)
        return "unknown";
    return reason_names[reason];
}

int tly_fail_reason_parse(const char *name, size_t len)
{
    for (int r = 1; r < TLY_FAIL_REASON_COUNT; r++)
        if (strlen(reason_names[r]) == len && memcmp(reason_names[r], name, len) == 0)
            return r;
    return 0;
}

int tly_fail(struct tly_failure *f, int reason, const char *field, const char *fmt, ...)
{
    f->reason = reason;
    snprintf(f->field, sizeof f->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
    return -1;
}

void tly_items_init(struct tly_items *it)
{
    memset(it, 0, sizeof *it);
}

void tly_items_reset(struct tly_items *it)
{
    cJSON_Delete(it->root);
    it->root = NULL;
    it->n = 0;
}

void tly_items_free(struct tly_items *it)
{
    tly_items_reset(it);
    free(it->item);
    it->item = NULL;
    it->cap = 0;
}

int tly_items_push(struct tly_items *it, const cJSON *item)
{
    if (it->n == it->cap) {
        size_t cap = it->cap ? it->cap * 2 : 16;
        const cJSON **p = realloc(it->item, cap * sizeof *p);
        if (p == NULL)
            return TLY_ENOMEM;
        it->item = p;
        it->cap = cap;
    }
    it->item[it->n++] = item;
    return 0;
}

const struct tly_adapter *tly_adapter_for(int source)
{
    switch (source) {
    case TLY_SOURCE_SERVER:
        return &tly_server_adapter;
    case TLY_SOURCE_SEGMENT:
        return &tly_segment_adapter;
    case TLY_SOURCE_TRACK:
        return &tly_track_adapter;
    case TLY_SOURCE_MOENGAGE:
        return &tly_moengage_adapter;
    case TLY_SOURCE_WEBENGAGE:
        return &tly_webengage_adapter;
    case TLY_SOURCE_CLEVERTAP:
        return &tly_clevertap_adapter;
    }
    return NULL;
}
