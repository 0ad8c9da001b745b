/*
 * Fuzzes campaign definitions (src/engine/campaign.h): tly_campaign_parse
 * on the input as the body of POST /v1/campaigns, and, on what it accepts,
 * the canonical JSON and the predicates.
 *
 * Invariants checked (abort() if broken), beyond "no crash, no leak":
 *   - a refusal is TLY_EINVAL, TLY_ETOOBIG (only past
 *     TLY_CAMPAIGN_JSON_MAX bytes), TLY_EIO (an unreadable zone file) or
 *     TLY_ENOMEM, with a NUL-terminated
 *     field and a non-empty message that opens with "<field>: " when a
 *     field is named; the struct is pre-filled with junk, so a failure that
 *     forgets to fill it is caught;
 *   - an accepted definition has 1..TLY_CAMPAIGN_ACTIVITIES activities,
 *     starts_at < ends_at, and targets > 0;
 *   - its canonical JSON parses again, to a campaign whose canonical JSON
 *     is the same bytes, and tly_campaign_check_change between the two
 *     finds no change;
 *   - every activity's conditions run against the input document itself
 *     as the event's properties (and tly_activity_matches agrees with them);
 *   - when the input is any JSON document, its value key is JSON that
 *     parses to a value with the same key.
 */
#include "core/json.h"
#include "engine/campaign.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static void check_error(const struct tly_error *err)
{
    CHECK(memchr(err->field, '\0', sizeof err->field) != NULL);
    CHECK(memchr(err->msg, '\0', sizeof err->msg) != NULL);
    CHECK(err->msg[0] != '\0');
    size_t fl = strlen(err->field);
    if (fl > 0 && fl < sizeof err->field - 1)
        CHECK(strncmp(err->msg, err->field, fl) == 0 && strncmp(err->msg + fl, ": ", 2) == 0);
}

static void check_campaign(const struct tly_campaign *c, const char *data, size_t size)
{
    CHECK(c->nact >= 1 && c->nact <= TLY_CAMPAIGN_ACTIVITIES);
    CHECK(c->starts_at < c->ends_at);
    CHECK(c->tz != NULL);

    struct tly_buf one, two;
    tly_buf_init(&one, 0);
    tly_buf_init(&two, 0);
    CHECK(tly_campaign_to_json(c, &one) == 0);
    struct tly_campaign *d = NULL;
    struct tly_error err;
    memset(&err, 'X', sizeof err);
    CHECK(tly_campaign_parse(one.data, one.len, &d, &err) == 0);
    CHECK(tly_campaign_to_json(d, &two) == 0);
    CHECK(one.len == two.len && memcmp(one.data, two.data, one.len) == 0);
    CHECK(tly_campaign_check_change(c, d, &err) == 0);
    tly_campaign_free(d);
    tly_buf_free(&one);
    tly_buf_free(&two);

    cJSON *props = tly_json_parse(data, size, &err);
    CHECK(props != NULL);
    for (int i = 0; i < c->nact; i++) {
        const struct tly_activity *a = &c->act[i];
        CHECK(a->target > 0);
        int all = 1;
        for (int j = 0; j < a->nwhere; j++)
            all &= tly_where_holds(&a->where[j], props) != 0;
        CHECK((tly_activity_matches(a, a->event, props) != 0) == all);
        if (a->property.n > 0)
            (void)tly_path_get(&a->property, props);
    }
    CHECK(tly_campaign_in_bounds(c, c->starts_at));
    CHECK(!tly_campaign_in_bounds(c, c->ends_at));
    cJSON_Delete(props);
}

/* The key of any JSON document reads back as a value with the same key. */
static void check_value_key(const char *data, size_t size)
{
    struct tly_error err;
    cJSON *v = tly_json_parse(data, size, &err);
    if (v == NULL)
        return;
    struct tly_buf k1, k2;
    tly_buf_init(&k1, 0);
    tly_buf_init(&k2, 0);
    CHECK(tly_json_value_key(v, &k1) == 0);
    cJSON *w = tly_json_parse(k1.data, k1.len, &err);
    CHECK(w != NULL);
    CHECK(tly_json_value_key(w, &k2) == 0);
    CHECK(k1.len == k2.len && memcmp(k1.data, k2.data, k1.len) == 0);
    cJSON_Delete(v);
    cJSON_Delete(w);
    tly_buf_free(&k1);
    tly_buf_free(&k2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct tly_campaign *c = NULL;
    struct tly_error err;
    memset(&err, 'X', sizeof err);
    int rc = tly_campaign_parse(s, size, &c, &err);
    if (rc != 0) {
        CHECK(c == NULL);
        CHECK(rc == TLY_EINVAL || rc == TLY_ENOMEM || rc == TLY_EIO ||
              (rc == TLY_ETOOBIG && size > TLY_CAMPAIGN_JSON_MAX));
        if (rc != TLY_ENOMEM)
            check_error(&err);
    } else {
        CHECK(c != NULL);
        check_campaign(c, s, size);
        tly_campaign_free(c);
    }
    if (size <= TLY_CAMPAIGN_JSON_MAX)
        check_value_key(s, size);
    return 0;
}
