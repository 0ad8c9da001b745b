/*
 * WebEngage webhook ingest endpoint: `POST /webengage/v4?eventType=…&
 * licenseCode=…&secret=…` (see sources/webengage.h for the mapping).
 *
 * The tenant is the one whose license code is `licenseCode`
 * (PUT /v1/sources/webengage); `secret` must equal the stored MD5 hex of
 * "<licenseCode>:<secret key>", compared in constant time. An unknown
 * license code or a wrong or missing secret is 401 and nothing is stored.
 * The body must be a JSON object (else 400: it can never succeed). It is
 * appended as one SINGLE record whose metadata holds the event type, the
 * license code and the request id (x-request-id, else a random 32-hex id)
 * — never the secret — and answered exactly 200 {"success":true} once
 * durable (WebEngage counts only 200 as success).
 */
#include "api/api.h"
#include "sources/settings.h"
#include "ingest/ingest.h"
#include "log/record.h"
#include "sources/server.h"
#include "core/json.h"
#include "sources/webengage.h"

#include <llhttp.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <cjson/cJSON.h>
#include <string.h>

static const char ok[] = "{\"success\":true}";

#define QUERY_VALUE_MAX 512

/* The tenant of the license code when the secret matches. 0, or -1 with
 * the 401 sent. */
static int authenticate(struct tly_ingest *ing, struct tly_http_req *req, const char *q, size_t qn,
                        char *license, size_t license_cap, uint32_t *tenant)
{
    char secret[TLY_WEBENGAGE_SECRET_HEX + 2];
    const char *why = "licenseCode: unknown WebEngage license code";
    const char *stored;
    int lr = tly_query_get(q, qn, "licenseCode", license, license_cap);
    int sr = tly_query_get(q, qn, "secret", secret, sizeof secret);
    if (lr != 1 || license[0] == '\0') {
        why = "licenseCode: required query parameter is missing";
    } else if (!tly_auth_webengage(tly_ingest_auth(ing), license, strlen(license), tenant,
                                   &stored)) {
        /* why as set */
    } else if (sr != 1 || !tly_webengage_secret_ok(stored, secret, strlen(secret))) {
        why = "secret: missing or wrong for this license code";
    } else {
        OPENSSL_cleanse(secret, sizeof secret);
        return 0;
    }
    OPENSSL_cleanse(secret, sizeof secret);
    tly_auth_reject(req, why);
    return -1;
}

static void handle_webhook(struct tly_http_req *req, void *arg)
{
    struct tly_ingest *ing = arg;
    size_t qn;
    const char *q = tly_http_query(req, &qn);
    char license[TLY_WEBENGAGE_LICENSE_MAX + 2];
    uint32_t tenant;
    if (authenticate(ing, req, q, qn, license, sizeof license, &tenant) != 0)
        return;
    size_t len;
    const char *body = tly_http_body(req, &len);
    struct tly_error err;
    if (tly_json_check(body, len, &err) != 0) {
        tly_ingest_count(ing, 0, 1);
        tly_http_respond_error(req, 400, "invalid_request", err.field, err.msg);
        return;
    }
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
        i++;
    if (i == len || body[i] != '{') {
        tly_ingest_count(ing, 0, 1);
        tly_http_respond_error(req, 400, "invalid_request", "",
                               "expected a WebEngage event object {\"event_data\":{...},...}");
        return;
    }
    char event_type[QUERY_VALUE_MAX];
    if (tly_query_get(q, qn, "eventType", event_type, sizeof event_type) != 1)
        event_type[0] = '\0';
    char request_id[TLY_EVENT_ID_MAX + 2];
    size_t rn = 0;
    const char *rid = tly_http_header(req, "x-request-id", &rn);
    if (rid != NULL && rn > 0 && rn < sizeof request_id) {
        memcpy(request_id, rid, rn);
        request_id[rn] = '\0';
    } else {
        uint8_t raw[16];
        if (RAND_bytes(raw, sizeof raw) != 1) {
            tly_http_respond_error(req, 503, "unavailable", NULL, "cannot make a request id");
            return;
        }
        tly_request_id_hex(raw, request_id);
    }
    /* Metadata: what the adapter needs, never the secret. Owned here. */
    cJSON *meta = cJSON_CreateObject();
    char *text = NULL;
    if (meta != NULL &&
        (event_type[0] == '\0' ||
         cJSON_AddStringToObject(meta, "event_type", event_type) != NULL) &&
        cJSON_AddStringToObject(meta, "license_code", license) != NULL &&
        cJSON_AddStringToObject(meta, "request_id", request_id) != NULL)
        text = cJSON_PrintUnformatted(meta);
    cJSON_Delete(meta);
    if (text == NULL) {
        tly_http_respond_error(req, 503, "unavailable", NULL, "out of memory");
        return;
    }
    tly_ingest_count(ing, 1, 0);
    tly_ingest_append_meta(ing, req, tenant, TLY_SOURCE_WEBENGAGE, TLY_KIND_SINGLE,
                           TLY_RECORD_BODY_CHECKED, text, strlen(text), body, len, ok,
                           sizeof ok - 1);
    cJSON_free(text);
}

int tly_ingest_webengage_routes(struct tly_ingest *ing, struct tly_router *r)
{
    return tly_router_add(r, HTTP_POST, "/webengage/v4", handle_webhook, ing) ? TLY_ENOMEM : 0;
}
