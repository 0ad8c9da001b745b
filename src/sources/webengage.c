/*
 * The WebEngage webhook adapter and its secret check (see webengage.h for
 * the mapping, adapter.h for the contract).
 *
 * The adapter is pure: record in, one item and a canonical event or a typed
 * failure out. Strings and objects of the event borrow from the item's parse
 * tree; an absent `event_data` borrows a static empty object.
 */
#include "sources/webengage.h"
#include "core/json.h"
#include "core/timeparse.h"
#include "sources/adapter.h"
#include "sources/fields.h"
#include "sources/server.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <string.h>

/* ---- the secret ---- */

int tly_webengage_secret_hash(const char *license_code, size_t license_len, const char *secret_key,
                              size_t secret_len, char out[TLY_WEBENGAGE_SECRET_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new(); /* owned here, freed below */
    int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_md5(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, license_code, license_len) == 1 &&
             EVP_DigestUpdate(ctx, ":", 1) == 1 &&
             EVP_DigestUpdate(ctx, secret_key, secret_len) == 1 &&
             EVP_DigestFinal_ex(ctx, md, &n) == 1 && n == TLY_WEBENGAGE_SECRET_HEX / 2;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
        OPENSSL_cleanse(md, sizeof md);
        out[0] = '\0';
        return -1;
    }
    for (unsigned int i = 0; i < n; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[TLY_WEBENGAGE_SECRET_HEX] = '\0';
    OPENSSL_cleanse(md, sizeof md);
    return 0;
}

int tly_webengage_secret_ok(const char *stored, const char *given, size_t given_len)
{
    if (given_len != TLY_WEBENGAGE_SECRET_HEX)
        return 0;
    char low[TLY_WEBENGAGE_SECRET_HEX];
    for (size_t i = 0; i < TLY_WEBENGAGE_SECRET_HEX; i++) {
        char c = given[i];
        low[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    int ok = CRYPTO_memcmp(low, stored, TLY_WEBENGAGE_SECRET_HEX) == 0;
    OPENSSL_cleanse(low, sizeof low);
    return ok;
}

/* ---- split: the body (one event) plus the record's metadata ---- */

static int webengage_split(const struct tly_record *rec, struct tly_items *out,
                           struct tly_failure *f)
{
    struct tly_error err;
    out->root = rec->flags & TLY_RECORD_BODY_CHECKED
                    ? tly_json_parse_checked(rec->body, rec->body_len, &err)
                    : tly_json_parse(rec->body, rec->body_len, &err);
    if (out->root == NULL)
        return tly_fail(f, TLY_FAIL_INVALID_JSON, "", "%s", err.msg);
    if (!cJSON_IsObject(out->root))
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, "", "expected a WebEngage event object, got %s",
                        tly_json_type_name(out->root));
    cJSON_DeleteItemFromObjectCaseSensitive(out->root, TLY_WEBENGAGE_META);
    cJSON *meta = rec->meta_len > 0 ? cJSON_ParseWithLength(rec->meta, rec->meta_len) : NULL;
    if (meta != NULL && !cJSON_IsObject(meta)) {
        cJSON_Delete(meta);
        meta = NULL;
    }
    /* The tree takes ownership of `meta`. */
    if (meta != NULL && !cJSON_AddItemToObject(out->root, TLY_WEBENGAGE_META, meta)) {
        cJSON_Delete(meta);
        return tly_fail(f, TLY_FAIL_TOO_LARGE, "", "out of memory attaching the metadata");
    }
    if (tly_items_push(out, out->root) != 0)
        return tly_fail(f, TLY_FAIL_TOO_LARGE, "", "out of memory listing items");
    return 0;
}

/* ---- map ---- */

static const cJSON *member(const cJSON *o, const char *name)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, name) : NULL;
}

static int map_user(const cJSON *item, const char **user, struct tly_failure *f)
{
    static const char *const fields[] = {"user_id", "cuid", "luid", "anonymous_id"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (tly_opt_string(member(item, fields[i]), fields[i], TLY_USER_ID_MAX, user, f) != 0)
            return -1;
        if (*user != NULL)
            return 0;
    }
    return tly_fail(f, TLY_FAIL_MISSING_FIELD, "user_id",
                    "user_id: required, or cuid, luid or anonymous_id");
}

static int map_time(const cJSON *item, int64_t received_at, int64_t *ts, struct tly_failure *f)
{
    const char *field = "event_time";
    const cJSON *v = member(item, field);
    if (v == NULL || cJSON_IsNull(v)) {
        field = "timestamp";
        v = member(item, field);
    }
    if (v == NULL || cJSON_IsNull(v)) {
        *ts = received_at;
        return 0;
    }
    struct tly_error err;
    int rc;
    if (cJSON_IsString(v))
        rc = tly_time_parse(v->valuestring, strlen(v->valuestring), ts, field, &err);
    else if (cJSON_IsNumber(v))
        rc = tly_time_from_number(v->valuedouble, ts, field, &err);
    else
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, field,
                        "%s: expected epoch number or ISO-8601 string, got %s", field,
                        tly_json_type_name(v));
    if (rc != 0)
        return tly_fail(f, TLY_FAIL_INVALID_TIMESTAMP, field, "%s", err.msg);
    return 0;
}

static int webengage_map(const cJSON *item, const struct tly_record *rec,
                         const struct tly_source_config *cfg, struct tly_event *ev,
                         struct tly_failure *f)
{
    memset(ev, 0, sizeof *ev);
    if (!cJSON_IsObject(item))
        return tly_fail(f, TLY_FAIL_INVALID_TYPE, "", "expected a WebEngage event object, got %s",
                        tly_json_type_name(item));
    const cJSON *meta = member(item, TLY_WEBENGAGE_META);
    ev->kind = TLY_EVENT_TRACK;
    ev->tenant = rec->tenant;
    ev->source = TLY_SOURCE_WEBENGAGE;
    ev->received_at = rec->received_at;
    if (!tly_mapped(cfg, TLY_MAP_EVENT_ID)) {
        if (tly_opt_string(member(meta, "request_id"), "x-request-id", TLY_EVENT_ID_MAX,
                           &ev->event_id, f) != 0)
            return -1;
        if (ev->event_id == NULL)
            return tly_fail(f, TLY_FAIL_MISSING_FIELD, "x-request-id",
                            "x-request-id: the request carried no id");
    }
    if (!tly_mapped(cfg, TLY_MAP_EVENT_NAME)) {
        if (tly_opt_string(member(meta, "event_type"), "eventType", TLY_EVENT_NAME_MAX,
                           &ev->event_name, f) != 0)
            return -1;
        if (ev->event_name == NULL && tly_opt_string(member(item, "event_name"), "event_name",
                                                     TLY_EVENT_NAME_MAX, &ev->event_name, f) != 0)
            return -1;
        if (ev->event_name == NULL)
            return tly_fail(f, TLY_FAIL_MISSING_FIELD, "eventType",
                            "eventType: required (query parameter), or event_name in the body");
    }
    if ((!tly_mapped(cfg, TLY_MAP_USER_ID) && map_user(item, &ev->user_id, f) != 0) ||
        (!tly_mapped(cfg, TLY_MAP_TIMESTAMP) &&
         map_time(item, rec->received_at, &ev->timestamp, f) != 0))
        return -1;
    if (!tly_mapped(cfg, TLY_MAP_PROPERTIES)) {
        const cJSON *data = member(item, "event_data");
        if (data == NULL || cJSON_IsNull(data))
            data = &tly_empty_object;
        else if (!cJSON_IsObject(data))
            return tly_fail(f, TLY_FAIL_INVALID_TYPE, "event_data",
                            "event_data: expected object, got %s", tly_json_type_name(data));
        ev->properties = data;
    }
    const cJSON *sys = member(item, "system_data");
    ev->context = cJSON_IsObject(sys) ? sys : NULL;
    return tly_mapping_apply(cfg, item, ev, f);
}

static const char *webengage_event_id_of(const cJSON *item)
{
    const cJSON *v = member(member(item, TLY_WEBENGAGE_META), "request_id");
    return cJSON_IsString(v) && v->valuestring[0] != '\0' ? v->valuestring : NULL;
}

const struct tly_adapter tly_webengage_adapter = {
    .source = TLY_SOURCE_WEBENGAGE,
    .split = webengage_split,
    .map = webengage_map,
    .event_id_of = webengage_event_id_of,
};
