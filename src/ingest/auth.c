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
 * The credentials of the source settings (store/sources.h,
 * sources/settings.h) are held here too: Segment signing secrets, WebEngage
 * accounts and Basic pairs, read again whenever state.db changed (a few
 * rows): a change through the API applies within a second. They are wiped
 * from memory when replaced and never logged.
 */
#include "ingest/auth.h"
#include "log/record.h"
#include "sources/settings.h"
#include "sources/webengage.h"
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

/* A tenant's Segment signing secret, or WebEngage MD5 hex + license code. */
struct secret {
    uint32_t tenant;
    size_t len;
    char text[TLY_WEBENGAGE_SECRET_HEX + TLY_SOURCE_SECRET_MAX];
};

/* A Basic pair of a tenant's source settings. */
struct basic_pair {
    uint32_t tenant;
    int source;
    char user[TLY_BASIC_USER_MAX + 1];
    unsigned char sha256[32];
};

struct tly_auth {
    struct tly_db *db;
    struct secret *secrets; /* owned; sorted by nothing, few */
    size_t nsecrets;
    struct secret *webengage; /* owned: MD5 hex + license code per tenant */
    size_t nwebengage;
    struct basic_pair *pairs; /* owned */
    size_t npairs;
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

/* The credentials read from the source settings, while they are read. */
struct creds {
    struct secret *s, *w; /* Segment secrets, WebEngage accounts */
    size_t ns, nw, caps, capw;
    struct basic_pair *p;
    size_t np, capp;
};

static void free_creds(struct creds *c)
{
    free_secrets(c->s, c->caps);
    free_secrets(c->w, c->capw);
    if (c->p != NULL)
        OPENSSL_cleanse(c->p, c->capp * sizeof *c->p);
    free(c->p);
}

/* Makes room for one more element of `size` bytes in *v (n used, *cap
 * allocated); the old array is wiped. */
static int grow(void **v, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? *cap * 2 : 8;
    void *p = calloc(c, size);
    if (p == NULL)
        return TLY_ENOMEM;
    if (n > 0)
        memcpy(p, *v, n * size);
    if (*v != NULL)
        OPENSSL_cleanse(*v, *cap * size);
    free(*v);
    *v = p;
    *cap = c;
    return 0;
}

static int add_secret(struct secret **s, size_t *n, size_t *cap, uint32_t tenant, const char *a,
                      const char *b)
{
    size_t la = strlen(a), lb = b ? strlen(b) : 0;
    if (la + lb == 0 || la + lb > sizeof(*s)->text)
        return 0; /* the API never stores one; ignore rather than fail */
    if (grow((void **)s, *n, cap, sizeof **s) != 0)
        return TLY_ENOMEM;
    struct secret *e = &(*s)[(*n)++];
    e->tenant = tenant;
    e->len = la + lb;
    memcpy(e->text, a, la);
    if (lb > 0)
        memcpy(e->text + la, b, lb);
    return 0;
}

static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int add_pairs(struct creds *c, uint32_t tenant, int source, const cJSON *list)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, list)
    {
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(e, "username");
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(e, "password_sha256");
        if (!cJSON_IsString(u) || !cJSON_IsString(h) ||
            strlen(u->valuestring) > TLY_BASIC_USER_MAX || strlen(h->valuestring) != 64)
            continue;
        if (grow((void **)&c->p, c->np, &c->capp, sizeof *c->p) != 0)
            return TLY_ENOMEM;
        struct basic_pair *p = &c->p[c->np];
        p->tenant = tenant;
        p->source = source;
        snprintf(p->user, sizeof p->user, "%s", u->valuestring);
        int ok = 1;
        for (int i = 0; i < 32; i++) {
            int hi = hex_value(h->valuestring[2 * i]), lo = hex_value(h->valuestring[2 * i + 1]);
            ok &= hi >= 0 && lo >= 0;
            p->sha256[i] = (unsigned char)((hi << 4) | (lo & 15));
        }
        if (ok)
            c->np++;
    }
    return 0;
}

/* One stored settings document: its credentials into `arg`. */
static int add_creds(void *arg, uint32_t tenant, const char *source, const char *json, size_t len)
{
    struct creds *c = arg;
    int src = tly_source_parse(source);
    cJSON *doc = cJSON_ParseWithLength(json, len);
    if (doc == NULL)
        return 0; /* the API never stores one; ignore rather than fail */
    int rc = 0;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "shared_secret");
    if (src == TLY_SOURCE_SEGMENT && cJSON_IsString(v))
        rc = add_secret(&c->s, &c->ns, &c->caps, tenant, v->valuestring, NULL);
    const cJSON *md5 = cJSON_GetObjectItemCaseSensitive(doc, "secret_md5");
    const cJSON *lic = cJSON_GetObjectItemCaseSensitive(doc, "license_code");
    if (rc == 0 && src == TLY_SOURCE_WEBENGAGE && cJSON_IsString(md5) && cJSON_IsString(lic) &&
        strlen(md5->valuestring) == TLY_WEBENGAGE_SECRET_HEX)
        rc = add_secret(&c->w, &c->nw, &c->capw, tenant, md5->valuestring, lic->valuestring);
    if (rc == 0)
        rc = add_pairs(c, tenant, src, cJSON_GetObjectItemCaseSensitive(doc, "basic_auth"));
    tly_source_settings_free(doc);
    return rc;
}

/* Reads the credentials again; keeps the old set on failure. */
static void reload_secrets(struct tly_auth *a)
{
    struct creds c;
    memset(&c, 0, sizeof c);
    if (tly_source_settings_each(tly_db_sqlite(a->db), NULL, add_creds, &c) != 0) {
        free_creds(&c);
        tly_log_error(a->lg, "cannot read source settings; keeping the previous credentials", "%s",
                      "");
        return;
    }
    struct creds old = {.s = a->secrets,
                        .caps = a->nsecrets,
                        .w = a->webengage,
                        .capw = a->nwebengage,
                        .p = a->pairs,
                        .capp = a->npairs};
    free_creds(&old);
    a->secrets = c.s;
    a->nsecrets = c.ns;
    a->webengage = c.w;
    a->nwebengage = c.nw;
    a->pairs = c.p;
    a->npairs = c.np;
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

/* The tenant of a configured Basic pair of `source` whose user name is
 * user[0..ulen): 1 with *tenant when the password matches (SHA-256,
 * compared in constant time), -1 when it does not, 0 when no pair has
 * that user name. */
static int basic_pair(const struct tly_auth *a, int source, const unsigned char *user, size_t ulen,
                      const unsigned char *pass, size_t plen, uint32_t *tenant)
{
    for (size_t i = 0; i < a->npairs; i++) {
        const struct basic_pair *p = &a->pairs[i];
        if (p->source != source || strlen(p->user) != ulen || memcmp(p->user, user, ulen) != 0)
            continue;
        unsigned char md[32];
        unsigned int n = 0;
        int ok = EVP_Digest(pass, plen, md, &n, EVP_sha256(), NULL) == 1 && n == 32 &&
                 CRYPTO_memcmp(md, p->sha256, 32) == 0;
        OPENSSL_cleanse(md, sizeof md);
        if (!ok)
            return -1;
        *tenant = p->tenant;
        return 1;
    }
    return 0;
}

int tly_auth_basic_write(struct tly_auth *a, const struct tly_http_req *req, int source,
                         uint32_t *tenant, const char **why)
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
    /* Key text or user name, ':' and a password: a generous bound. */
    unsigned char plain[3 * 512 / 4 + 1];
    if (n == 0 || n > 512 || n % 4 != 0)
        goto bad;
    int len = EVP_DecodeBlock(plain, (const unsigned char *)v, (int)n);
    if (len < 0)
        goto bad;
    len -= (v[n - 1] == '=') + (v[n - 2] == '=');
    const unsigned char *colon = memchr(plain, ':', (size_t)len);
    size_t user_len = colon ? (size_t)(colon - plain) : (size_t)len;
    int rc = 0;
    int pair = colon != NULL ? basic_pair(a, source, plain, user_len, colon + 1,
                                          (size_t)len - user_len - 1, tenant)
                             : 0;
    if (pair < 0) {
        a->failures++;
        *why = "invalid Basic credentials";
        rc = TLY_ENOENT;
    } else if (pair == 0) {
        rc = tly_auth_key(a, (const char *)plain, user_len, TLY_KEY_WRITE, tenant, why);
    }
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
    if (a->pairs != NULL)
        OPENSSL_cleanse(a->pairs, a->npairs * sizeof *a->pairs);
    free(a->pairs);
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
