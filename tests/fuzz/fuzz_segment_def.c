/*
 * Fuzzes segment definitions (src/engine/segment.h): tly_segment_parse on
 * the input as the body of POST /v1/segments.
 *
 * Invariants (abort() if broken), beyond "no crash, no leak": a refusal is
 * TLY_EINVAL, TLY_ETOOBIG or TLY_ENOMEM with a non-empty message; an
 * accepted definition's canonical JSON parses again to the same bytes and
 * the same rules; attribute conditions run on the input document itself.
 */
#include "core/json.h"
#include "engine/segment.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tly_error err;
    memset(&err, 'x', sizeof err);
    struct tly_segment *s = NULL;
    int rc = tly_segment_parse((const char *)data, size, &s, &err);
    if (rc != 0) {
        CHECK(rc == TLY_EINVAL || rc == TLY_ETOOBIG || rc == TLY_ENOMEM);
        CHECK(s == NULL && err.msg[0] != '\0' && memchr(err.msg, '\0', sizeof err.msg) != NULL);
        return 0;
    }
    struct tly_buf a, b;
    tly_buf_init(&a, 0);
    tly_buf_init(&b, 0);
    CHECK(tly_segment_to_json(s, &a) == 0);
    struct tly_segment *again = NULL;
    CHECK(tly_segment_parse(a.data, a.len, &again, &err) == 0);
    CHECK(tly_segment_to_json(again, &b) == 0);
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    CHECK(tly_segment_same_rules(s, again));
    cJSON *doc = cJSON_ParseWithLength((const char *)data, size);
    for (int i = 0; i < s->ncond; i++) {
        if (s->cond[i].kind == TLY_SEGCOND_ATTRIBUTE)
            (void)tly_where_holds(&s->cond[i].attr, doc);
        else
            (void)tly_segcond_matches(&s->cond[i], s->cond[i].event, doc);
    }
    cJSON_Delete(doc);
    tly_buf_free(&a);
    tly_buf_free(&b);
    tly_segment_free(again);
    tly_segment_free(s);
    return 0;
}
