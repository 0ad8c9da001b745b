/*
 * Fuzzes the webhook settings document (PUT /v1/webhooks, a campaign's
 * `webhook` block): tly_webhooks_parse on the input bytes.
 *
 * Invariants checked (abort() if broken), beyond "no crash, no leak":
 *   - a refusal is TLY_EINVAL or TLY_ETOOBIG with a non-empty message;
 *   - what is accepted has 0..TLY_WEBHOOK_ENDPOINTS endpoints, each with an
 *     id, a URL that passes tly_webhook_url_check and at least one kind;
 *   - its stored form (with secrets) parses again to the same bytes, and
 *     the answer form (without) contains no secret;
 *   - every endpoint's template applies to a payload without failing, and
 *     both signatures can be made with every secret.
 */
#include "outbox/webhook.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static const char payload_text[] =
    "{\"campaignId\":\"c\",\"type\":\"points\",\"userId\":\"u\",\"rewardId\":\"r\","
    "\"rewardName\":\"n\",\"rewardAmount\":1,\"details\":{\"eventId\":\"e\",\"a\":{\"b\":[1]}}}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tly_webhooks w;
    struct tly_error err;
    memset(&err, 0, sizeof err);
    int rc = tly_webhooks_parse((const char *)data, size, &w, &err);
    if (rc != 0) {
        CHECK(rc == TLY_EINVAL || rc == TLY_ETOOBIG || rc == TLY_ENOMEM);
        CHECK(err.msg[0] != '\0' || rc == TLY_ENOMEM);
        return 0;
    }
    CHECK(w.n >= 0 && w.n <= TLY_WEBHOOK_ENDPOINTS);
    cJSON *payload = cJSON_Parse(payload_text);
    CHECK(payload != NULL);
    for (int i = 0; i < w.n; i++) {
        char why[128], host[256];
        CHECK(w.ep[i].id != NULL && w.ep[i].events != 0);
        CHECK(tly_webhook_url_check(w.ep[i].url, why, host) == 0);
        if (w.ep[i].template_ != NULL) {
            cJSON *out = tly_template_apply(w.ep[i].template_, payload);
            CHECK(out != NULL);
            cJSON_Delete(out);
        }
        if (w.ep[i].secret != NULL) {
            char cg[41];
            struct tly_buf sig;
            tly_buf_init(&sig, 0);
            CHECK(tly_webhook_sign_cg(w.ep[i].secret, "{}", 2, cg) == 0);
            CHECK(tly_webhook_sign_std(w.ep[i].secret, "msg_x", 1, "{}", 2, &sig) == 0);
            tly_buf_free(&sig);
        }
    }
    cJSON_Delete(payload);
    struct tly_buf stored, again, shown;
    tly_buf_init(&stored, 0);
    tly_buf_init(&again, 0);
    tly_buf_init(&shown, 0);
    CHECK(tly_webhooks_to_json(&w, 1, &stored) == 0);
    CHECK(tly_webhooks_to_json(&w, 0, &shown) == 0);
    /* No endpoint shows its secret (a template may hold the word). */
    cJSON *view = cJSON_ParseWithLength(shown.data, shown.len);
    CHECK(view != NULL);
    const cJSON *ep;
    cJSON_ArrayForEach(ep, cJSON_GetObjectItemCaseSensitive(view, "endpoints"))
        CHECK(cJSON_GetObjectItemCaseSensitive(ep, "secret") == NULL);
    cJSON_Delete(view);
    struct tly_webhooks w2;
    CHECK(tly_webhooks_parse(stored.data, stored.len, &w2, &err) == 0);
    CHECK(tly_webhooks_to_json(&w2, 1, &again) == 0);
    CHECK(again.len == stored.len && memcmp(again.data, stored.data, stored.len) == 0);
    tly_webhooks_free(&w2);
    tly_webhooks_free(&w);
    tly_buf_free(&stored);
    tly_buf_free(&again);
    tly_buf_free(&shown);
    return 0;
}
