/*
 * Fuzzes the source settings document (sources/settings.h) and the JSON
 * Pointer resolver (core/json_pointer.h) behind the mapping overrides.
 *
 * Input: byte 0 picks the source (1 + byte % 6: server, segment, moengage,
 * clevertap, webengage, track); the bytes after it up to the first NUL are
 * the PUT body; the bytes after that NUL, if any, are an item (JSON) that
 * the mapping is applied to.
 *
 * Invariants checked (abort() if broken), beyond "no crash, no leak":
 *   - tly_source_settings_parse gives 0 with a document, or TLY_EINVAL
 *     with a non-empty message and no document;
 *   - the GET view of an accepted document is JSON, has no secret member
 *     ("shared_secret", "secret_key", "secret_md5" at its top; each Basic
 *     pair only "username" and "password_set"; mapping and target_names
 *     hold the tenant's own names), and sent back as a PUT with the document as the
 *     stored one gives the same document again (the round trip GET → PUT);
 *   - every pointer of the config read from it passes the syntax check;
 *   - the body, when it passes the syntax check as a pointer, resolves
 *     in the item to nothing or to a node of the item;
 *   - tly_mapping_apply fails only with a known reason and a field.
 */
#include "core/buf.h"
#include "core/json.h"
#include "core/json_pointer.h"
#include "log/record.h"
#include "sources/adapter.h"
#include "sources/fields.h"
#include "sources/settings.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* The view holds no secret: see the invariants above. */
static void check_view(const cJSON *view)
{
    static const char *const secret[] = {"shared_secret", "secret_key", "secret_md5"};
    for (size_t i = 0; i < sizeof secret / sizeof secret[0]; i++)
        CHECK(cJSON_GetObjectItemCaseSensitive(view, secret[i]) == NULL);
    const cJSON *pair;
    cJSON_ArrayForEach(pair, cJSON_GetObjectItemCaseSensitive(view, "basic_auth"))
    {
        const cJSON *m;
        cJSON_ArrayForEach(m, pair)
        {
            CHECK(strcmp(m->string, "username") == 0 || strcmp(m->string, "password_set") == 0);
        }
    }
}

static int contains(const cJSON *root, const cJSON *node)
{
    for (const cJSON *v = root; v != NULL; v = v->next)
        if (v == node || contains(v->child, node))
            return 1;
    return 0;
}

static void round_trip(int source, const cJSON *stored)
{
    struct tly_buf b;
    tly_buf_init(&b, 1 << 22);
    CHECK(tly_buf_printf(&b, "{\"source\":\"%s\"", tly_source_name(source)) == 0);
    CHECK(tly_source_settings_public(source, stored, &b) == 0);
    CHECK(tly_buf_puts(&b, ",\"updated_at\":null}") == 0);
    struct tly_error err;
    cJSON *view = tly_json_parse((const char *)b.data, b.len, &err);
    CHECK(view != NULL);
    check_view(view);
    cJSON_Delete(view);
    cJSON *again = NULL;
    int rc = tly_source_settings_parse(source, (const char *)b.data, b.len, stored, &again, &err);
    CHECK(rc == 0 || rc == TLY_ENOMEM);
    if (rc == 0) {
        char *x = cJSON_PrintUnformatted(stored), *y = cJSON_PrintUnformatted(again);
        CHECK(x != NULL && y != NULL && strcmp(x, y) == 0);
        cJSON_free(x);
        cJSON_free(y);
    }
    tly_source_settings_free(again);
    tly_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int source = 1 + data[0] % 6;
    const char *body = (const char *)data + 1;
    const char *nul = memchr(body, '\0', size - 1);
    size_t blen = nul ? (size_t)(nul - body) : size - 1;
    const char *item_text = nul ? nul + 1 : "{\"a\":{\"b\":[1,\"x\"]},\"t\":1773478800}";
    size_t ilen = nul ? size - 2 - blen : strlen(item_text);

    cJSON *stored = NULL;
    struct tly_error err;
    memset(&err, 0, sizeof err);
    int rc = tly_source_settings_parse(source, body, blen, NULL, &stored, &err);
    CHECK(rc == 0 || rc == TLY_EINVAL || rc == TLY_ENOMEM);
    if (rc != 0) {
        CHECK(stored == NULL);
        CHECK(rc != TLY_EINVAL || (err.msg[0] != '\0' && memchr(err.msg, '\0', sizeof err.msg)));
    } else {
        CHECK(stored != NULL);
        round_trip(source, stored);
    }
    struct tly_source_config cfg;
    tly_source_config_init(&cfg, stored);
    for (int i = 0; i < TLY_MAP_FIELD_COUNT; i++)
        CHECK(cfg.pointer[i] == NULL ||
              tly_json_pointer_check(cfg.pointer[i], strlen(cfg.pointer[i]), "p", &err) == 0);

    cJSON *item = tly_json_parse(item_text, ilen, &err);
    if (item != NULL) {
        char ptr[TLY_JSON_POINTER_MAX + 1];
        if (blen <= TLY_JSON_POINTER_MAX && tly_json_pointer_check(body, blen, "p", &err) == 0) {
            memcpy(ptr, body, blen);
            ptr[blen] = '\0';
            const cJSON *v = tly_json_pointer_get(item, ptr);
            CHECK(v == NULL || v == item || contains(item->child, v));
        }
        struct tly_event ev;
        memset(&ev, 0, sizeof ev);
        struct tly_failure f;
        if (tly_mapping_apply(&cfg, item, &ev, &f) != 0)
            CHECK(f.reason > 0 && f.reason < TLY_FAIL_REASON_COUNT && f.field[0] != '\0');
        cJSON_Delete(item);
    }
    tly_source_config_free(&cfg);
    return 0;
}
