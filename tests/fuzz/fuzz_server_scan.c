/*
 * Differential fuzzing of the two ways the server API checks a body: the
 * scanner ingest uses (tly_server_scan_event, tly_server_scan_batch; no
 * tree) against the reference it must agree with, tly_json_parse + the
 * cJSON checks (tly_server_event_check, tly_server_batch_envelope, then
 * tly_server_event_check on every item). The input is a request body; both
 * are run on it as a single event and as a batch.
 *
 * Invariants checked (abort() if broken), beyond "no crash, no leak":
 *   - single event: the same return code, the same err.field and err.msg
 *     byte for byte, and on success the same timestamp;
 *   - batch: the same return code and error for the body as a whole; when
 *     it passes, the same number of items and, item by item in order, the
 *     same verdict, field, message and timestamp;
 *   - a failing batch scan reported each item at most once, in order.
 * The scanner gets the body in a buffer of exactly its size (no NUL after
 * it), so a read past the end is an ASan error; the reference gets a copy
 * with a NUL after it, as struct tly_buf has.
 */
#include "core/json.h"
#include "sources/server.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

struct verdict {
    int rc;
    int64_t ts;
    struct tly_error err;
};

struct verdicts {
    struct verdict v[TLY_BATCH_MAX];
    int n;
};

static void same_error(const struct tly_error *a, const struct tly_error *b)
{
    CHECK(strcmp(a->field, b->field) == 0);
    CHECK(strcmp(a->msg, b->msg) == 0);
}

static void reference_item(const cJSON *ev, struct verdict *out)
{
    memset(out, 0, sizeof *out);
    out->rc = tly_server_event_check(ev, &out->ts, &out->err);
    if (out->rc != 0)
        out->ts = 0;
}

static void on_item(void *arg, int index, int64_t ts_ms, const struct tly_error *err)
{
    struct verdicts *s = arg;
    CHECK(index == s->n); /* in order, each once */
    CHECK(index < TLY_BATCH_MAX);
    struct verdict *v = &s->v[s->n++];
    memset(v, 0, sizeof *v);
    v->rc = err == NULL ? 0 : TLY_EINVAL;
    v->ts = err == NULL ? ts_ms : 0;
    if (err != NULL)
        v->err = *err;
}

static void single(const char *text, const char *textz, size_t size)
{
    struct tly_error ref, got;
    memset(&ref, 0, sizeof ref);
    memset(&got, 0, sizeof got);
    int64_t ref_ts = -1, got_ts = -1;
    cJSON *root = tly_json_parse(textz, size, &ref);
    int ref_rc = root == NULL ? TLY_EINVAL : tly_server_event_check(root, &ref_ts, &ref);
    cJSON_Delete(root);
    int got_rc = tly_server_scan_event(text, size, &got_ts, &got);
    CHECK(ref_rc == got_rc);
    if (ref_rc != 0)
        same_error(&ref, &got);
    else
        CHECK(ref_ts == got_ts);
}

static void batch(const char *text, const char *textz, size_t size)
{
    static struct verdicts ref, got; /* large: not on the stack */
    ref.n = got.n = 0;
    struct tly_error ref_err, got_err;
    memset(&ref_err, 0, sizeof ref_err);
    memset(&got_err, 0, sizeof got_err);
    cJSON *root = tly_json_parse(textz, size, &ref_err);
    const cJSON *events = NULL;
    int ref_rc = root == NULL ? TLY_EINVAL : tly_server_batch_envelope(root, &events, &ref_err);
    if (ref_rc == 0) {
        const cJSON *ev;
        cJSON_ArrayForEach(ev, events)
        {
            CHECK(ref.n < TLY_BATCH_MAX);
            reference_item(ev, &ref.v[ref.n++]);
        }
    }
    cJSON_Delete(root);

    int got_rc = tly_server_scan_batch(text, size, on_item, &got, &got_err);
    CHECK(ref_rc == got_rc);
    if (ref_rc != 0) {
        same_error(&ref_err, &got_err);
        return;
    }
    CHECK(ref.n == got.n);
    for (int i = 0; i < ref.n; i++) {
        CHECK(ref.v[i].rc == got.v[i].rc);
        CHECK(ref.v[i].ts == got.v[i].ts);
        if (ref.v[i].rc != 0)
            same_error(&ref.v[i].err, &got.v[i].err);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size > 0 ? size : 1), *textz = malloc(size + 1);
    if (text != NULL && textz != NULL) {
        if (size > 0) {
            memcpy(text, data, size);
            memcpy(textz, data, size);
        }
        textz[size] = '\0';
        single(text, textz, size);
        batch(text, textz, size);
    }
    free(text);
    free(textz);
    return 0;
}
