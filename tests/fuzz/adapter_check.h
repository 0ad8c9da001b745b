/*
 * The checks every source adapter's fuzz target (fuzz_*_adapter.c) runs on
 * what the adapter produced, in one place: failures with a known reason and
 * a message, and a mapped event that is well formed whatever its source
 * (non-empty id, name and user within their byte limits, the record's
 * tenant, source and receive time, an object of properties, context NULL or
 * an object, event_id_of agreeing), that validates or fails with a known
 * reason under the default settings, and renders as JSON. A target adds
 * what is particular to its source through the `extra` callback of
 * check_adapter_record.
 *
 * Included by one target each (static functions); calls abort() when an
 * invariant breaks, which libFuzzer and the replay driver report.
 */
#ifndef TLY_FUZZ_ADAPTER_CHECK_H
#define TLY_FUZZ_ADAPTER_CHECK_H

#include "core/json.h"
#include "pipeline/lookup.h"
#include "pipeline/profile.h"
#include "pipeline/validate.h"
#include "sources/adapter.h"
#include "sources/server.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* A split or map failure: a known reason, a non-empty message, both fields
 * NUL-terminated within their arrays (the caller fills `f` with 'x' first). */
static inline void check_failure(const struct tly_failure *f)
{
    CHECK(f->reason > 0 && f->reason < TLY_FAIL_REASON_COUNT);
    CHECK(memchr(f->message, '\0', sizeof f->message) != NULL && f->message[0] != '\0');
    CHECK(memchr(f->field, '\0', sizeof f->field) != NULL);
}

/* A non-empty string of at most `max` bytes. */
static inline void check_string(const char *s, size_t max)
{
    CHECK(s != NULL && s[0] != '\0' && strlen(s) <= max);
}

/* Merging the event's traits (under its group, if any) into an empty
 * profile twice changes nothing the second time. */
static inline void check_merge(const struct tly_event *ev)
{
    cJSON *attrs = cJSON_CreateObject(), *times = cJSON_CreateObject();
    int changed;
    if (attrs != NULL && times != NULL &&
        tly_profile_merge(attrs, times, ev->traits, ev->group_id, ev->timestamp, &changed) == 0) {
        /* Compared as text: cJSON_Compare fails on equal objects that
         * repeat a key. */
        char *before = cJSON_PrintUnformatted(attrs);
        if (before != NULL && tly_profile_merge(attrs, times, ev->traits, ev->group_id,
                                                ev->timestamp, &changed) == 0) {
            char *after = cJSON_PrintUnformatted(attrs);
            CHECK(after == NULL || strcmp(before, after) == 0);
            cJSON_free(after);
        }
        cJSON_free(before);
    }
    cJSON_Delete(attrs);
    cJSON_Delete(times);
}

/* What every mapped event must be, whatever its source (see the top). */
static inline void check_mapped_event(const struct tly_adapter *a, const cJSON *item,
                                      const struct tly_record *rec, const struct tly_event *ev)
{
    check_string(ev->event_id, TLY_EVENT_ID_MAX);
    check_string(ev->event_name, TLY_EVENT_NAME_MAX);
    check_string(ev->user_id, TLY_USER_ID_MAX);
    CHECK(ev->tenant == rec->tenant && ev->source == rec->source);
    CHECK(ev->received_at == rec->received_at);
    CHECK(cJSON_IsObject(ev->properties));
    CHECK(ev->context == NULL || cJSON_IsObject(ev->context));
    const char *id = a->event_id_of(item);
    CHECK(id != NULL && strcmp(id, ev->event_id) == 0);
    struct tly_tenant_settings settings;
    tly_settings_default(&settings);
    struct tly_failure f;
    memset(&f, 'x', sizeof f);
    if (tly_validate_event(ev, &settings, &f) != 0)
        check_failure(&f);
    struct tly_buf out;
    tly_buf_init(&out, 0);
    CHECK(tly_event_to_json(ev, &out) == 0);
    struct tly_error err;
    CHECK(tly_json_check(out.data, out.len, &err) == 0);
    tly_buf_free(&out);
}

/* A target's own checks of one mapped event, after the common ones. */
typedef void (*check_extra_fn)(const struct tly_adapter *a, const cJSON *item,
                               const struct tly_record *rec, const struct tly_event *ev);

/* Runs `rec` through its source's adapter as the pipeline does (split, then
 * map of every item) and checks every failure and every mapped event (then
 * `extra`, may be NULL). Returns the number of items split, or -1 when
 * split failed. */
static inline long check_adapter_record(const struct tly_record *rec, check_extra_fn extra)
{
    const struct tly_adapter *a = tly_adapter_for(rec->source);
    CHECK(a != NULL);
    struct tly_items items;
    tly_items_init(&items);
    struct tly_failure f;
    memset(&f, 'x', sizeof f);
    long n = -1;
    if (a->split(rec, &items, &f) != 0) {
        check_failure(&f);
    } else {
        n = (long)items.n;
        for (size_t i = 0; i < items.n; i++) {
            struct tly_event ev;
            memset(&f, 'x', sizeof f);
            if (a->map(items.item[i], rec, &ev, &f) != 0) {
                check_failure(&f);
                continue;
            }
            check_mapped_event(a, items.item[i], rec, &ev);
            if (extra != NULL)
                extra(a, items.item[i], rec, &ev);
        }
    }
    tly_items_free(&items);
    return n;
}

#endif
