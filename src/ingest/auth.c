/*
 * Key checks for requests and live reload of the key table (see auth.h).
 *
 * The key table holds SHA-256 hashes, so a lookup hashes the presented key.
 * Most requests present a key that was verified moments ago, so a small
 * cache of verified keys comes first: a slot is picked by a cheap hash of
 * the key text, and a hit needs the whole text, compared in constant time,
 * and the same kind. Only keys the table accepted enter the cache, and
 * every reload of the table empties it (and wipes the key text), so a key
 * removed from state.db stops working at the same moment it did before the
 * cache: when the reload timer notices the change. Failures are never
 * cached; they take the full lookup. The cache holds key text in memory as
 * the request buffers do; it is never logged.
 *
 * The Segment signing secrets (store/sources.h) are held here too, read
 * again whenever state.db changed (a few rows): a secret set or removed
 * through the API applies within a second. They are wiped from memory when
 * replaced and never logged.
 */
#include "ingest/auth.h"
#include "store/sources.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RELOAD_CHECK_MS 1000
#define KEY_CACHE_SLOTS 16 /* a power of two */

/* A verified key; len 0 = empty. */
struct cached_key {
    char text[TLY_KEY_TEXT_MAX];
    uint8_t len;
    uint8_t kind;
    uint32_t tenant;
};

/* A tenant's Segment signing secret. */
struct secret {
    uint32_t tenant;
    size_t len;
    char text[TLY_SOURCE_SECRET_MAX];
};

struct tly_auth {
    struct tly_db *db;
    struct secret *secrets; /* owned; sorted by nothing, few */
    size_t nsecrets;
    struct secret *webengage; /* owned: MD5 hex + license code per tenant */
    size_t nwebengage;
    struct tly_keystore *keys;
    int64_t fingerprint; /* of the key table when it was loaded */
    long seen_version;   /* state.db's data_version at the last look */
    uv_timer_t timer;
    const struct tly_logger *lg;
    uint64_t failures;
    struct cached_key cache[KEY_CACHE_SLOTS]; /* loop thread; emptied by reload */
};

static void cache_clear(struct tly_auth *a)
{
    OPENSSL_cleanse(a->cache, sizeof a->cache);
}

/* FNV-1a: spreads keys over the slots; not a secret, not a check. */
static struct cached_key *cache_slot(struct tly_auth *a, const char *key, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)key[i]) * 16777619u;
    return &a->cache[h & (KEY_CACHE_SLOTS - 1)];
}

static void reload(struct tly_auth *a)
{
    struct tly_keystore *ks;
    if (tly_keystore_load(&ks, a->db) != 0) {
        tly_log_error(a->lg, "cannot reload API keys; keeping the previous set", "%s", "");
        return;
    }
    tly_keystore_free(a->keys);
    a->keys = ks;
    cache_clear(a);
    tly_log_info(a->lg, "API keys loaded", "keys=%zu", tly_keystore_size(ks));
}

static void free_secrets(struct secret *s, size_t n)
{
    if (s != NULL)
        OPENSSL_cleanse(s, n * sizeof *s);
    free(s);
}

struct secret_list {
    struct secret *s;
    size_t n, cap;
};

static int add_secret(void *arg, uint32_t tenant, const char *text, size_t len)
{
    struct secret_list *l = arg;
    if (len == 0 || len > TLY_SOURCE_SECRET_MAX)
        return 0; /* the API never stores one; ignore rather than fail */
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        struct secret *p = calloc(cap, sizeof *p);
        if (p == NULL)
            return TLY_ENOMEM;
        if (l->n > 0)
            memcpy(p, l->s, l->n * sizeof *p);
        free_secrets(l->s, l->cap);
        l->s = p;
        l->cap = cap;
    }
    l->s[l->n].tenant = tenant;
    l->s[l->n].len = len;
    memcpy(l->s[l->n].text, text, len);
    l->n++;
    return 0;
}

/* Reads the Segment secrets again; keeps the old set on failure. */
static void reload_secrets(struct tly_auth *a)
{
    struct secret_list l = {NULL, 0, 0};
    if (tly_source_secrets_each(tly_db_sqlite(a->db), "segment", add_secret, &l) != 0) {
        free_secrets(l.s, l.cap);
        tly_log_error(a->lg, "cannot read source secrets; keeping the previous set", "%s", "");
        return;
    }
    free_secrets(a->secrets, a->nsecrets);
    a->secrets = l.s;
    a->nsecrets = l.n;
    struct secret_list w = {NULL, 0, 0};
    if (tly_source_secrets_each(tly_db_sqlite(a->db), "webengage", add_secret, &w) != 0) {
        free_secrets(w.s, w.cap);
        tly_log_error(a->lg, "cannot read WebEngage accounts; keeping the previous set", "%s", "");
        return;
    }
    free_secrets(a->webengage, a->nwebengage);
    a->webengage = w.s;
    a->nwebengage = w.n;
}

int tly_auth_webengage(const struct tly_auth *a, const char *license, size_t len, uint32_t *tenant,
                       const char **md5_hex)
{
    for (size_t i = 0; i < a->nwebengage; i++) {
        const struct secret *s = &a->webengage[i];
        if (s->len == 32 + len && len > 0 && memcmp(s->text + 32, license, len) == 0) {
            *tenant = s->tenant;
            *md5_hex = s->text;
            return 1;
        }
    }
    return 0;
}

int tly_auth_segment_secret(const struct tly_auth *a, uint32_t tenant, const char **secret,
                            size_t *len)
{
    for (size_t i = 0; i < a->nsecrets; i++) {
        if (a->secrets[i].tenant == tenant) {
            *secret = a->secrets[i].text;
            *len = a->secrets[i].len;
            return 1;
        }
    }
    return 0;
}

static void on_timer(uv_timer_t *t)
{
    struct tly_auth *a = t->data;
    /* data_version would be cheaper, but it moves with every commit of the
     * pipeline; the fingerprint moves only when keys do. */
    if (tly_db_data_version(a->db) == a->seen_version)
        return;
    a->seen_version = tly_db_data_version(a->db);
    reload_secrets(a);
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
    reload_secrets(a);
    uv_timer_init(loop, &a->timer);
    a->timer.data = a;
    uv_timer_start(&a->timer, on_timer, RELOAD_CHECK_MS, RELOAD_CHECK_MS);
    uv_unref((uv_handle_t *)&a->timer);
    *out = a;
    return 0;
}

int tly_auth_key(struct tly_auth *a, const char *key, size_t len, enum tly_key_kind kind,
                 uint32_t *tenant, const char **why)
{
    if (len == 0 || len >= TLY_KEY_TEXT_MAX)
        goto fail;
    struct cached_key *c = cache_slot(a, key, len);
    if (c->len == len && c->kind == kind && CRYPTO_memcmp(c->text, key, len) == 0) {
        *tenant = c->tenant;
        return 0;
    }
    if (tly_keystore_lookup(a->keys, key, len, kind, tenant) != 0)
        goto fail;
    memcpy(c->text, key, len);
    c->len = (uint8_t)len;
    c->kind = (uint8_t)kind;
    c->tenant = *tenant;
    return 0;
fail:
    a->failures++;
    *why = kind == TLY_KEY_WRITE ? "invalid write key" : "invalid admin key";
    return TLY_ENOENT;
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
    return tly_auth_key(a, key, n, TLY_KEY_WRITE, tenant, why);
}

int tly_auth_basic_write(struct tly_auth *a, const struct tly_http_req *req, uint32_t *tenant,
                         const char **why)
{
    size_t n;
    const char *v = tly_http_header(req, "authorization", &n);
    if (v == NULL || n < 6 || strncasecmp(v, "Basic ", 6) != 0) {
        a->failures++;
        *why = "missing Authorization: Basic <base64 of write key + ':'>";
        return TLY_ENOENT;
    }
    v += 6;
    n -= 6;
    while (n > 0 && *v == ' ') {
        v++;
        n--;
    }
    while (n > 0 && v[n - 1] == ' ')
        n--;
    /* Key text, ':' and a password (ignored): a generous bound. */
    unsigned char plain[3 * 512 / 4 + 1];
    if (n == 0 || n > 512 || n % 4 != 0)
        goto bad;
    int len = EVP_DecodeBlock(plain, (const unsigned char *)v, (int)n);
    if (len < 0)
        goto bad;
    len -= (v[n - 1] == '=') + (v[n - 2] == '=');
    const unsigned char *colon = memchr(plain, ':', (size_t)len);
    size_t user_len = colon ? (size_t)(colon - plain) : (size_t)len;
    int rc = tly_auth_key(a, (const char *)plain, user_len, TLY_KEY_WRITE, tenant, why);
    OPENSSL_cleanse(plain, sizeof plain);
    return rc;
bad:
    a->failures++;
    *why = "malformed Basic credentials: expected base64 of <write key>:";
    return TLY_ENOENT;
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
    return tly_auth_key(a, v, n, TLY_KEY_ADMIN, tenant, why);
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
    cache_clear(a);
    free_secrets(a->secrets, a->nsecrets);
    free_secrets(a->webengage, a->nwebengage);
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
