/*
 * Fuzzes the server API body checks: tly_json_check and tly_json_parse
 * (src/core/json.h) on the input, then tly_server_event_check on the
 * document as a single event, and tly_server_batch_envelope +
 * tly_server_event_check on every item as a batch (src/sources/server.h) —
 * what ingest does for POST /server/v4 and its batch endpoint.
 *
 * Invariants checked (abort() if broken), beyond "no crash, no leak":
 *   - every failure returns TLY_EINVAL (nothing else) with a non-empty,
 *     NUL-terminated message and a NUL-terminated field name; the struct is
 *     pre-filled with junk, so a failure that forgets to fill it is caught;
 *   - "invalid JSON at byte N" names a byte within the input;
 *   - tly_json_parse gives a tree exactly when tly_json_check accepts the
 *     text (the strict check is the only judge; cJSON must build every
 *     document it lets through), and that tree nests at most
 *     TLY_JSON_MAX_DEPTH objects/arrays deep;
 *   - an event check failure names "" or one of the event's fields;
 *   - an accepted event has event_id, event_name and user_id as non-empty
 *     strings within their limits, event_properties an object, and a
 *     timestamp within 1970-01-01T00:00:00.000Z..9999-12-31T23:59:59.999Z;
 *   - an accepted envelope returns its "events" array with
 *     1..TLY_BATCH_MAX items.
 */
#include "core/json.h"
#include "sources/server.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MS 253402300799999LL

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static void junk(struct tly_error *err)
{
    memset(err, 'X', sizeof *err);
}

static void check_error(const struct tly_error *err)
{
    CHECK(memchr(err->field, '\0', sizeof err->field) != NULL);
    CHECK(memchr(err->msg, '\0', sizeof err->msg) != NULL);
    CHECK(err->msg[0] != '\0');
}

/* "invalid JSON at byte N: …" must point inside the input (N <= len). */
static void check_position(const struct tly_error *err, size_t len)
{
    static const char prefix[] = "invalid JSON at byte ";
    if (strncmp(err->msg, prefix, sizeof prefix - 1) != 0)
        return;
    const char *p = err->msg + sizeof prefix - 1;
    size_t pos = 0;
    CHECK(*p >= '0' && *p <= '9');
    for (; *p >= '0' && *p <= '9'; p++) {
        pos = pos * 10 + (size_t)(*p - '0');
        CHECK(pos <= len);
    }
}

/* Containers on the deepest path: [] is 1, [[]] is 2. */
static int depth(const cJSON *v)
{
    if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
        return 0;
    int d = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, v)
    {
        int k = depth(c);
        if (k > d)
            d = k;
    }
    return d + 1;
}

static void check_string_field(const cJSON *ev, const char *name, size_t max)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(ev, name);
    CHECK(cJSON_IsString(v));
    size_t n = strlen(v->valuestring);
    CHECK(n > 0 && n <= max);
}

static void check_event(const cJSON *ev)
{
    struct tly_error err;
    junk(&err);
    int64_t ts = -1;
    int rc = tly_server_event_check(ev, &ts, &err);
    if (rc != 0) {
        CHECK(rc == TLY_EINVAL);
        check_error(&err);
        static const char *const fields[] = {"",        "event_id",  "event_name",
                                             "user_id", "timestamp", "event_properties"};
        int known = 0;
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
            known |= strcmp(err.field, fields[i]) == 0;
        CHECK(known);
        return;
    }
    CHECK(cJSON_IsObject(ev));
    check_string_field(ev, "event_id", TLY_EVENT_ID_MAX);
    check_string_field(ev, "event_name", TLY_EVENT_NAME_MAX);
    check_string_field(ev, "user_id", TLY_USER_ID_MAX);
    CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(ev, "event_properties")));
    CHECK(ts >= 0 && ts <= MAX_MS);
    /* The same verdict without the out-parameters. */
    CHECK(tly_server_event_check(ev, NULL, NULL) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* tly_json_parse wants a NUL after the text, as struct tly_buf has. */
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    if (size > 0)
        memcpy(text, data, size);
    text[size] = '\0';

    struct tly_error err;
    junk(&err);
    int valid = tly_json_check(text, size, &err);
    if (valid != 0) {
        CHECK(valid == TLY_EINVAL);
        check_error(&err);
        check_position(&err, size);
    }

    junk(&err);
    cJSON *root = tly_json_parse(text, size, &err);
    if (root == NULL) {
        check_error(&err);
        check_position(&err, size);
        CHECK(valid != 0); /* accepted by the check, so cJSON must build it */
        free(text);
        return 0;
    }
    CHECK(valid == 0);
    CHECK(depth(root) <= TLY_JSON_MAX_DEPTH);

    check_event(root); /* as a single event */

    const cJSON *events = NULL;
    junk(&err);
    int rc = tly_server_batch_envelope(root, &events, &err);
    if (rc != 0) {
        CHECK(rc == TLY_EINVAL);
        check_error(&err);
    } else {
        CHECK(cJSON_IsArray(events));
        CHECK(events == cJSON_GetObjectItemCaseSensitive(root, "events"));
        int n = cJSON_GetArraySize(events);
        CHECK(n >= 1 && n <= TLY_BATCH_MAX);
        const cJSON *item;
        cJSON_ArrayForEach(item, events)
        {
            check_event(item);
        }
    }
    cJSON_Delete(root);
    free(text);
    return 0;
}
