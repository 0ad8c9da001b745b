/*
 * Segment ingest endpoints (see ingest/segment.h and sources/segment.h).
 *
 * Each endpoint authenticates, bounds and checks the body's shape with the
 * allocation-free scan (tly_segment_scan: strict JSON, shape, 32 KB per
 * event, 500 KB per batch), checks the signature when the tenant set a
 * secret, and appends the raw body as one record; the answer is sent once
 * the record is durable. The events themselves are judged by the pipeline,
 * one by one, so one bad event never refuses the others.
 */
#include "ingest/segment.h"
#include "ingest/ingest.h"
#include "log/record.h"
#include "core/json_scan.h"
#include "sources/segment.h"

#include <llhttp.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

static const char ok[] = "{\"success\":true}";

int tly_segment_signature_ok(const char *secret, size_t secret_len, const char *data, size_t len,
                             const char *sig, size_t sig_len)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (sig == NULL || sig_len != TLY_SEGMENT_SIGNATURE_HEX || secret_len > (size_t)INT32_MAX)
        return 0;
    if (HMAC(EVP_sha1(), secret, (int)secret_len, (const unsigned char *)data, len, mac,
             &mac_len) == NULL ||
        mac_len * 2 != TLY_SEGMENT_SIGNATURE_HEX)
        return 0;
    static const char hex[] = "0123456789abcdef";
    char want[TLY_SEGMENT_SIGNATURE_HEX];
    for (unsigned int i = 0; i < mac_len; i++) {
        want[2 * i] = hex[mac[i] >> 4];
        want[2 * i + 1] = hex[mac[i] & 15];
    }
    return CRYPTO_memcmp(want, sig, TLY_SEGMENT_SIGNATURE_HEX) == 0;
}

static void bad_request(struct tly_ingest *ing, struct tly_http_req *req,
                        const struct tly_error *err)
{
    tly_ingest_count(ing, 0, 1);
    tly_http_respond_error(req, 400, "invalid_request", err->field, err->msg);
}

/* With a secret configured, X-Signature must sign the first event. */
static int check_signature(struct tly_ingest *ing, struct tly_http_req *req, uint32_t tenant,
                           const struct tly_segment_body *b)
{
    const char *secret;
    size_t secret_len;
    if (!tly_auth_segment_secret(tly_ingest_auth(ing), tenant, &secret, &secret_len))
        return 0;
    size_t n;
    const char *sig = tly_http_header(req, "x-signature", &n);
    if (sig == NULL) {
        tly_auth_reject(req, "missing X-Signature header (this tenant set a Segment signing "
                             "secret)");
        return -1;
    }
    if (!tly_segment_signature_ok(secret, secret_len, b->first, b->first_len, sig, n)) {
        tly_auth_reject(req, "X-Signature does not match the body (HMAC-SHA1 of the first "
                             "event with the Segment signing secret)");
        return -1;
    }
    return 0;
}

/* POST /segment/v4: an event object or an array of them. */
static void handle_webhook(struct tly_http_req *req, void *arg)
{
    struct tly_ingest *ing = arg;
    uint32_t tenant;
    const char *why;
    if (tly_auth_write(tly_ingest_auth(ing), req, &tenant, &why) != 0) {
        tly_auth_reject(req, why);
        return;
    }
    size_t len;
    const char *body = tly_http_body(req, &len);
    struct tly_segment_body b;
    struct tly_error err;
    if (tly_segment_scan(body, len, TLY_SEGMENT_WEBHOOK, &b, &err) != 0) {
        bad_request(ing, req, &err);
        return;
    }
    if (check_signature(ing, req, tenant, &b) != 0)
        return;
    tly_ingest_count(ing, b.items, 0);
    tly_ingest_append(ing, req, tenant, TLY_SOURCE_SEGMENT,
                      b.is_array ? TLY_KIND_BATCH : TLY_KIND_SINGLE, TLY_RECORD_BODY_CHECKED, body,
                      len, ok, sizeof ok - 1);
}

/* The tracking API's credentials: Basic auth, or without an Authorization
 * header the body's "writeKey" (what analytics-node 2.x sends). 0, or -1
 * with the 401 sent. */
static int authenticate_tracking(struct tly_ingest *ing, struct tly_http_req *req,
                                 const struct tly_segment_body *b, uint32_t *tenant)
{
    struct tly_auth *a = tly_ingest_auth(ing);
    const char *why;
    size_t n;
    int rc;
    if (tly_http_header(req, "authorization", &n) == NULL && b->write_key != NULL) {
        char key[TLY_KEY_TEXT_MAX];
        size_t len = tly_json_string_decode(b->write_key, b->write_key_len, key, sizeof key);
        rc = tly_auth_key(a, key, len < sizeof key ? len : 0, TLY_KEY_WRITE, tenant, &why);
        OPENSSL_cleanse(key, sizeof key);
    } else {
        rc = tly_auth_basic_write(a, req, TLY_SOURCE_TRACK, tenant, &why);
    }
    if (rc != 0) {
        tly_http_add_header(req, "WWW-Authenticate", "Basic realm=\"tally\"");
        tly_auth_reject(req, why);
        return -1;
    }
    return 0;
}

/* The tracking API: `type` NULL for /v1/batch. */
static void handle_tracking(struct tly_ingest *ing, struct tly_http_req *req, const char *type)
{
    size_t len;
    const char *body = tly_http_body(req, &len);
    struct tly_segment_body b;
    struct tly_error err;
    int scanned =
        tly_segment_scan(body, len, type ? TLY_SEGMENT_CALL : TLY_SEGMENT_BATCH, &b, &err);
    uint32_t tenant;
    if (authenticate_tracking(ing, req, &b, &tenant) != 0)
        return;
    if (scanned != 0) {
        bad_request(ing, req, &err);
        return;
    }
    tly_ingest_count(ing, b.items, 0);
    const char *meta = type ? tly_segment_meta(type) : NULL;
    /* A write key in the body is masked before the body is stored. */
    char *copy = NULL;
    if (b.write_key != NULL && (copy = malloc(len + 1)) != NULL) {
        memcpy(copy, body, len + 1);
        memset(copy + (b.write_key - body), '*', b.write_key_len);
    } else if (b.write_key != NULL) {
        tly_http_add_header(req, "Retry-After", "1");
        tly_http_respond_error(req, 503, "unavailable", NULL, "out of memory; retry shortly");
        return;
    }
    tly_ingest_append_meta(ing, req, tenant, TLY_SOURCE_TRACK,
                           type ? TLY_KIND_SINGLE : TLY_KIND_BATCH, TLY_RECORD_BODY_CHECKED, meta,
                           meta ? strlen(meta) : 0, copy ? copy : body, len, ok, sizeof ok - 1);
    free(copy);
}

static void handle_track(struct tly_http_req *req, void *arg)
{
    handle_tracking(arg, req, "track");
}

static void handle_identify(struct tly_http_req *req, void *arg)
{
    handle_tracking(arg, req, "identify");
}

static void handle_page(struct tly_http_req *req, void *arg)
{
    handle_tracking(arg, req, "page");
}

static void handle_screen(struct tly_http_req *req, void *arg)
{
    handle_tracking(arg, req, "screen");
}

static void handle_alias(struct tly_http_req *req, void *arg)
{
    handle_tracking(arg, req, "alias");
}

static void handle_batch(struct tly_http_req *req, void *arg)
{
    handle_tracking(arg, req, NULL);
}

int tly_ingest_segment_routes(struct tly_ingest *ing, struct tly_router *r)
{
    int rc = tly_router_add(r, HTTP_POST, "/segment/v4", handle_webhook, ing);
    rc |= tly_router_add(r, HTTP_POST, "/v1/track", handle_track, ing);
    rc |= tly_router_add(r, HTTP_POST, "/v1/identify", handle_identify, ing);
    rc |= tly_router_add(r, HTTP_POST, "/v1/page", handle_page, ing);
    rc |= tly_router_add(r, HTTP_POST, "/v1/screen", handle_screen, ing);
    rc |= tly_router_add(r, HTTP_POST, "/v1/alias", handle_alias, ing);
    rc |= tly_router_add(r, HTTP_POST, "/v1/batch", handle_batch, ing);
    return rc ? TLY_ENOMEM : 0;
}
