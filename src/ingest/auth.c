/*
 * Key checks for requests and live reload of the key table (see auth.h).
 */
#include "ingest/auth.h"

#include <stdlib.h>
#include <strings.h>

#define RELOAD_CHECK_MS 1000

struct tly_auth {
    struct tly_db *db;
    struct tly_keystore *keys;
    int64_t fingerprint; /* of the key table when it was loaded */
    long seen_version;   /* state.db's data_version at the last look */
    uv_timer_t timer;
    const struct tly_logger *lg;
    uint64_t failures;
};

static void reload(struct tly_auth *a)
{
    struct tly_keystore *ks;
    if (tly_keystore_load(&ks, a->db) != 0) {
        tly_log_error(a->lg, "cannot reload API keys; keeping the previous set", "%s", "");
        return;
    }
    tly_keystore_free(a->keys);
    a->keys = ks;
    tly_log_info(a->lg, "API keys loaded", "keys=%zu", tly_keystore_size(ks));
}

static void on_timer(uv_timer_t *t)
{
    struct tly_auth *a = t->data;
    /* data_version would be cheaper, but it moves with every commit of the
     * pipeline; the fingerprint moves only when keys do. */
    if (tly_db_data_version(a->db) == a->seen_version)
        return;
    a->seen_version = tly_db_data_version(a->db);
    int64_t v = tly_keys_fingerprint(a->db);
    if (v >= 0 && v != a->fingerprint) {
        a->fingerprint = v;
        reload(a);
    }
}

int tly_auth_open(struct tly_auth **out, uv_loop_t *loop, const char *db_path,
                  const struct tly_logger *lg)
{
    struct tly_auth *a = calloc(1, sizeof *a);
    if (a == NULL)
        return TLY_ENOMEM;
    a->lg = lg;
    struct tly_error err;
    int rc = tly_db_open(&a->db, db_path, &err);
    if (rc != 0) {
        tly_log_error(lg, "cannot open state store", "error=\"%s\"", err.msg);
        free(a);
        return rc;
    }
    a->seen_version = tly_db_data_version(a->db);
    a->fingerprint = tly_keys_fingerprint(a->db);
    rc = tly_keystore_load(&a->keys, a->db);
    if (rc != 0) {
        tly_db_close(a->db);
        free(a);
        return rc;
    }
    uv_timer_init(loop, &a->timer);
    a->timer.data = a;
    uv_timer_start(&a->timer, on_timer, RELOAD_CHECK_MS, RELOAD_CHECK_MS);
    uv_unref((uv_handle_t *)&a->timer);
    *out = a;
    return 0;
}

static int lookup(struct tly_auth *a, const char *key, size_t len, enum tly_key_kind kind,
                  uint32_t *tenant, const char **why)
{
    if (len == 0 || len >= TLY_KEY_TEXT_MAX ||
        tly_keystore_lookup(a->keys, key, len, kind, tenant) != 0) {
        a->failures++;
        *why = kind == TLY_KEY_WRITE ? "invalid write key" : "invalid admin key";
        return TLY_ENOENT;
    }
    return 0;
}

int tly_auth_write(struct tly_auth *a, const struct tly_http_req *req, uint32_t *tenant,
                   const char **why)
{
    size_t n;
    const char *key = tly_http_header(req, "x-api-key", &n);
    if (key == NULL) {
        a->failures++;
        *why = "missing X-API-KEY header";
        return TLY_ENOENT;
    }
    return lookup(a, key, n, TLY_KEY_WRITE, tenant, why);
}

int tly_auth_admin(struct tly_auth *a, const struct tly_http_req *req, uint32_t *tenant,
                   const char **why)
{
    size_t n;
    const char *v = tly_http_header(req, "authorization", &n);
    if (v == NULL || n < 7 || strncasecmp(v, "Bearer ", 7) != 0) {
        a->failures++;
        *why = "missing Authorization: Bearer <admin key>";
        return TLY_ENOENT;
    }
    v += 7;
    n -= 7;
    while (n > 0 && *v == ' ') {
        v++;
        n--;
    }
    return lookup(a, v, n, TLY_KEY_ADMIN, tenant, why);
}

void tly_auth_reject(struct tly_http_req *req, const char *why)
{
    tly_http_respond_error(req, 401, "unauthorized", NULL, why);
}

uint64_t tly_auth_failures(const struct tly_auth *a)
{
    return a->failures;
}

static void on_closed(uv_handle_t *h)
{
    struct tly_auth *a = h->data;
    tly_keystore_free(a->keys);
    tly_db_close(a->db);
    free(a);
}

void tly_auth_close(struct tly_auth *a)
{
    if (a == NULL)
        return;
    uv_timer_stop(&a->timer);
    uv_close((uv_handle_t *)&a->timer, on_closed);
}
