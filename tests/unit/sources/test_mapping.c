/*
 * Table-driven tests of the per-tenant mapping overrides and names
 * (sources/settings.h) through the adapters, as the pipeline calls them:
 * split, then map(item, record, cfg). Each case gives a source, a body, a
 * settings document as PUT would take it, and either the fields of the
 * mapped event or the failure (reason and field) the item gets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/json.h"
#include "log/record.h"
#include "sources/adapter.h"
#include "sources/segment.h"
#include "sources/settings.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECEIVED_AT 1773481500000LL /* 2026-03-14T09:45:00.000Z */

struct mcase {
    const char *name;
    int source;
    const char *meta; /* record metadata (webengage, track), or NULL */
    const char *body;
    const char *settings; /* the PUT document */
    size_t item;
    /* "user|name|id|ts ms|properties", or "!reason field" */
    const char *want;
};

static const struct mcase cases[] = {
    /* Defaults first: the same body without a mapping fails, so each
     * override below is what makes the difference. */
    {"segment default: no user", TLY_SOURCE_SEGMENT, NULL,
     "{\"type\":\"track\",\"event\":\"Paid\",\"messageId\":\"m1\",\"timestamp\":"
     "\"2026-03-14T09:00:00Z\",\"traits\":{\"email\":\"a@x.io\",\"a/b\":\"slash\",\"m~n\":"
     "\"tilde\",\"n\":42}}",
     "{}", 0, "!missing_field userId"},
    {"segment user from traits", TLY_SOURCE_SEGMENT, NULL,
     "{\"type\":\"track\",\"event\":\"Paid\",\"messageId\":\"m1\",\"timestamp\":"
     "\"2026-03-14T09:00:00Z\",\"traits\":{\"email\":\"a@x.io\"}}",
     "{\"mapping\":{\"user_id\":\"/traits/email\"}}", 0, "a@x.io|Paid|m1|1773478800000|{}"},
    {"segment ~1 escape", TLY_SOURCE_SEGMENT, NULL,
     "{\"type\":\"track\",\"event\":\"Paid\",\"messageId\":\"m1\",\"traits\":{\"a/b\":\"s\"},"
     "\"timestamp\":\"2026-03-14T09:00:00Z\"}",
     "{\"mapping\":{\"user_id\":\"/traits/a~1b\"}}", 0, "s|Paid|m1|1773478800000|{}"},
    {"segment ~0 escape", TLY_SOURCE_SEGMENT, NULL,
     "{\"type\":\"track\",\"event\":\"Paid\",\"messageId\":\"m1\",\"traits\":{\"m~n\":\"t\"},"
     "\"timestamp\":\"2026-03-14T09:00:00Z\"}",
     "{\"mapping\":{\"user_id\":\"/traits/m~0n\"}}", 0, "t|Paid|m1|1773478800000|{}"},
    {"segment override wins over the default", TLY_SOURCE_SEGMENT, NULL,
     "{\"type\":\"track\",\"event\":\"Paid\",\"userId\":\"u-default\",\"messageId\":\"m1\","
     "\"timestamp\":\"2026-03-14T09:00:00Z\",\"context\":{\"ids\":[\"first\",\"second\"]}}",
     "{\"mapping\":{\"user_id\":\"/context/ids/1\"}}", 0, "second|Paid|m1|1773478800000|{}"},
    {"segment pointer does not resolve", TLY_SOURCE_SEGMENT, NULL,
     "{\"type\":\"track\",\"event\":\"Paid\",\"userId\":\"u\",\"messageId\":\"m1\"}",
     "{\"mapping\":{\"user_id\":\"/traits/email\"}}", 0, "!missing_field /traits/email"},
    {"segment number as user id", TLY_SOURCE_SEGMENT, NULL,
     "{\"type\":\"track\",\"event\":\"Paid\",\"messageId\":\"m1\",\"traits\":{\"n\":42}}",
     "{\"mapping\":{\"user_id\":\"/traits/n\"}}", 0, "!invalid_type /traits/n"},
    {"segment name, id, time, properties", TLY_SOURCE_SEGMENT, NULL,
     "{\"type\":\"track\",\"userId\":\"u\",\"properties\":{\"action\":\"Shipped\",\"oid\":\"o-9\","
     "\"when\":1773478800,\"data\":{\"k\":1}}}",
     "{\"mapping\":{\"event_name\":\"/properties/action\",\"event_id\":\"/properties/oid\","
     "\"timestamp\":\"/properties/when\",\"properties\":\"/properties/data\"}}",
     0, "u|Shipped|o-9|1773478800000|{\"k\":1}"},
    {"segment mapped time, ISO with offset", TLY_SOURCE_SEGMENT, NULL,
     "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"messageId\":\"m\",\"context\":"
     "{\"t\":\"2026-03-14T14:30:00+0530\"}}",
     "{\"mapping\":{\"timestamp\":\"/context/t\"}}", 0, "u|E|m|1773478800000|{}"},
    {"segment mapped time not a time", TLY_SOURCE_SEGMENT, NULL,
     "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"messageId\":\"m\",\"context\":"
     "{\"t\":\"yesterday\"}}",
     "{\"mapping\":{\"timestamp\":\"/context/t\"}}", 0, "!invalid_timestamp /context/t"},
    {"segment mapped time of a wrong type", TLY_SOURCE_SEGMENT, NULL,
     "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"messageId\":\"m\",\"context\":"
     "{\"t\":[1]}}",
     "{\"mapping\":{\"timestamp\":\"/context/t\"}}", 0, "!invalid_type /context/t"},
    {"segment mapped properties not an object", TLY_SOURCE_SEGMENT, NULL,
     "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"messageId\":\"m\",\"context\":"
     "{\"p\":\"x\"}}",
     "{\"mapping\":{\"properties\":\"/context/p\"}}", 0, "!invalid_type /context/p"},
    {"segment mapped properties missing", TLY_SOURCE_SEGMENT, NULL,
     "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"messageId\":\"m\"}",
     "{\"mapping\":{\"properties\":\"/context/p\"}}", 0, "!missing_field /context/p"},
    {"segment mapped event id empty", TLY_SOURCE_SEGMENT, NULL,
     "{\"type\":\"track\",\"event\":\"E\",\"userId\":\"u\",\"properties\":{\"id\":\"\"}}",
     "{\"mapping\":{\"event_id\":\"/properties/id\"}}", 0, "!missing_field /properties/id"},
    {"track batch, second item", TLY_SOURCE_TRACK, NULL,
     "{\"batch\":[{\"type\":\"track\",\"event\":\"A\",\"userId\":\"u1\",\"messageId\":\"b1\"},"
     "{\"type\":\"track\",\"event\":\"B\",\"messageId\":\"b2\",\"context\":{\"uid\":\"u2\"},"
     "\"timestamp\":\"2026-03-14T09:00:00Z\"}]}",
     "{\"mapping\":{\"user_id\":\"/context/uid\"}}", 1, "u2|B|b2|1773478800000|{}"},

    {"moengage default name", TLY_SOURCE_MOENGAGE, NULL,
     "{\"events\":[{\"event_name\":\"Order Placed\",\"event_code\":\"order_placed\","
     "\"event_uuid\":\"e1\",\"event_time\":1773478800,\"uid\":\"u1\"}]}",
     "{}", 0, "u1|Order Placed|e1|1773478800000|{}"},
    {"moengage event_code", TLY_SOURCE_MOENGAGE, NULL,
     "{\"events\":[{\"event_name\":\"Order Placed\",\"event_code\":\"order_placed\","
     "\"event_uuid\":\"e1\",\"event_time\":1773478800,\"uid\":\"u1\"}]}",
     "{\"event_name_field\":\"event_code\"}", 0, "u1|order_placed|e1|1773478800000|{}"},
    {"moengage event_code absent: event_name", TLY_SOURCE_MOENGAGE, NULL,
     "{\"events\":[{\"event_name\":\"Order Placed\",\"event_uuid\":\"e1\",\"event_time\":"
     "1773478800,\"uid\":\"u1\"}]}",
     "{\"event_name_field\":\"event_code\"}", 0, "u1|Order Placed|e1|1773478800000|{}"},
    {"moengage no name at all", TLY_SOURCE_MOENGAGE, NULL,
     "{\"events\":[{\"event_uuid\":\"e1\",\"event_time\":1773478800,\"uid\":\"u1\"}]}",
     "{\"event_name_field\":\"event_code\"}", 0, "!missing_field event_code"},
    {"moengage user from user_attributes", TLY_SOURCE_MOENGAGE, NULL,
     "{\"events\":[{\"event_name\":\"N\",\"event_uuid\":\"e1\",\"event_time\":1773478800,"
     "\"user_attributes\":{\"email\":\"m@x.io\"}}]}",
     "{\"mapping\":{\"user_id\":\"/user_attributes/email\"}}", 0, "m@x.io|N|e1|1773478800000|{}"},

    {"clevertap target name", TLY_SOURCE_CLEVERTAP, NULL,
     "{\"targetId\":1700,\"key_values\":{\"event_name\":\"From KV\"},\"profiles\":"
     "[{\"identity\":\"c1\",\"objectId\":\"o1\"}]}",
     "{\"target_names\":{\"1700\":\"Cart Abandoned\"}}", 0, "c1|Cart Abandoned|*|*|{}"},
    {"clevertap other target: key_values", TLY_SOURCE_CLEVERTAP, NULL,
     "{\"targetId\":1800,\"key_values\":{\"event_name\":\"From KV\"},\"profiles\":"
     "[{\"identity\":\"c1\",\"objectId\":\"o1\"}]}",
     "{\"target_names\":{\"1700\":\"Cart Abandoned\"}}", 0, "c1|From KV|*|*|{}"},
    {"clevertap user from profile email", TLY_SOURCE_CLEVERTAP, NULL,
     "{\"targetId\":1700,\"profiles\":[{\"email\":\"c@x.io\",\"event_properties\":{\"k\":\"v\"}}]}",
     "{\"mapping\":{\"user_id\":\"/profile/email\"}}", 0,
     "c@x.io|clevertap_1700|*|*|{\"k\":\"v\"}"},

    {"webengage id from the body", TLY_SOURCE_WEBENGAGE, "{\"event_type\":\"Purchase\"}",
     "{\"user_id\":\"w1\",\"event_data\":{\"order\":\"o-7\"},\"event_time\":"
     "\"2026-03-14T09:00:00Z\"}",
     "{\"mapping\":{\"event_id\":\"/event_data/order\"}}", 0,
     "w1|Purchase|o-7|1773478800000|{\"order\":\"o-7\"}"},
    {"webengage default: no request id", TLY_SOURCE_WEBENGAGE, "{\"event_type\":\"Purchase\"}",
     "{\"user_id\":\"w1\"}", "{}", 0, "!missing_field x-request-id"},
};

static struct tly_record record_for(const struct mcase *c)
{
    struct tly_record r;
    memset(&r, 0, sizeof r);
    r.tenant = 7;
    r.received_at = RECEIVED_AT;
    r.source = (uint8_t)c->source;
    r.kind = c->source == TLY_SOURCE_MOENGAGE || c->source == TLY_SOURCE_CLEVERTAP ||
                     c->source == TLY_SOURCE_TRACK
                 ? TLY_KIND_BATCH
                 : TLY_KIND_SINGLE;
    r.meta = c->meta;
    r.meta_len = c->meta ? strlen(c->meta) : 0;
    r.body = c->body;
    r.body_len = strlen(c->body);
    return r;
}

static void describe(const struct tly_event *ev, char *out, size_t n)
{
    char *props = cJSON_PrintUnformatted(ev->properties);
    snprintf(out, n, "%s|%s|%s|%" PRId64 "|%s", ev->user_id, ev->event_name, ev->event_id,
             ev->timestamp, props);
    cJSON_free(props);
}

/* want with "*" fields matching anything. */
static int matches(const char *want, const char *got)
{
    while (*want && *got) {
        if (*want == '*') {
            want++;
            while (*got && *got != '|')
                got++;
            continue;
        }
        if (*want++ != *got++)
            return 0;
    }
    return *want == '\0' && *got == '\0';
}

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct mcase *c = &cases[i];
        cJSON *stored;
        struct tly_error err;
        if (tly_source_settings_parse(c->source, c->settings, strlen(c->settings), NULL, &stored,
                                      &err) != 0)
            fail_msg("%s: settings refused: %s", c->name, err.msg);
        struct tly_source_config cfg;
        tly_source_config_init(&cfg, stored);
        struct tly_record rec = record_for(c);
        const struct tly_adapter *a = tly_adapter_for(c->source);
        struct tly_items items;
        tly_items_init(&items);
        struct tly_failure f;
        if (a->split(&rec, &items, &f) != 0 || items.n <= c->item)
            fail_msg("%s: split: %s", c->name, f.message);
        struct tly_event ev;
        char got[512];
        if (a->map(items.item[c->item], &rec, &cfg, &ev, &f) == 0)
            describe(&ev, got, sizeof got);
        else
            snprintf(got, sizeof got, "!%s %s", tly_fail_reason_name(f.reason), f.field);
        if (!matches(c->want, got))
            fail_msg("%s:\n got  %s\n want %s", c->name, got, c->want);
        tly_items_free(&items);
        tly_source_config_free(&cfg);
    }
}

/* MoEngage keeps the name it did not use in the event's context. */
static void test_moengage_context(void **state)
{
    (void)state;
    const char *body = "{\"events\":[{\"event_name\":\"Order Placed\",\"event_code\":"
                       "\"order_placed\",\"event_uuid\":\"e1\",\"event_time\":1773478800,"
                       "\"uid\":\"u1\",\"device_attributes\":{\"os\":\"android\"}}]}";
    struct mcase c = {"ctx", TLY_SOURCE_MOENGAGE, NULL, body, "{}", 0, ""};
    struct tly_record rec = record_for(&c);
    const struct tly_adapter *a = tly_adapter_for(TLY_SOURCE_MOENGAGE);
    for (int code = 0; code < 2; code++) {
        const char *doc = code ? "{\"event_name_field\":\"event_code\"}" : "{}";
        cJSON *stored;
        struct tly_error err;
        assert_int_equal(
            tly_source_settings_parse(TLY_SOURCE_MOENGAGE, doc, strlen(doc), NULL, &stored, &err),
            0);
        struct tly_source_config cfg;
        tly_source_config_init(&cfg, stored);
        struct tly_items items;
        tly_items_init(&items);
        struct tly_failure f;
        assert_int_equal(a->split(&rec, &items, &f), 0);
        struct tly_event ev;
        assert_int_equal(a->map(items.item[0], &rec, &cfg, &ev, &f), 0);
        assert_string_equal(ev.event_name, code ? "order_placed" : "Order Placed");
        const cJSON *other = cJSON_GetObjectItem(ev.context, code ? "event_name" : "event_code");
        assert_true(cJSON_IsString(other));
        assert_string_equal(other->valuestring, code ? "Order Placed" : "order_placed");
        assert_string_equal(cJSON_GetObjectItem(ev.context, "os")->valuestring, "android");
        tly_items_free(&items);
        tly_source_config_free(&cfg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_moengage_context),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
