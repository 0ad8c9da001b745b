/*
 * Tenants, key generation and the in-memory key table (see tenants.h).
 */
#include "store/tenants.h"
#include "core/timeparse.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define KEY_RANDOM_BYTES 20

void tly_key_hash(const char *key, size_t len, uint8_t out[32])
{
    unsigned int n = 32;
    EVP_Digest(key, len, out, &n, EVP_sha256(), NULL);
}

static int random_bytes(uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got < 0)
            return TLY_EIO;
        p += got;
        n -= (size_t)got;
    }
    return 0;
}

static int make_key(enum tly_key_kind kind, char out[TLY_KEY_TEXT_MAX])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t raw[KEY_RANDOM_BYTES];
    if (random_bytes(raw, sizeof raw) != 0)
        return TLY_EIO;
    size_t n = (size_t)snprintf(out, TLY_KEY_TEXT_MAX, "%s",
                                kind == TLY_KEY_WRITE ? "tly_wk_" : "tly_ak_");
    for (size_t i = 0; i < sizeof raw; i++) {
        out[n++] = hex[raw[i] >> 4];
        out[n++] = hex[raw[i] & 15];
    }
    out[n] = '\0';
    return 0;
}

static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > TLY_TENANT_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return 0;
    }
    return 1;
}

static int insert_key(sqlite3 *h, uint32_t tenant, enum tly_key_kind kind, const char *key,
                      int64_t now)
{
    uint8_t hash[32];
    tly_key_hash(key, strlen(key), hash);
    char hint[16];
    snprintf(hint, sizeof hint, "%.11s", key); /* "tly_wk_" + 4 characters */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h,
                           "INSERT INTO api_keys (key_hash, tenant_id, kind, hint, created_at) "
                           "VALUES (?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        return TLY_EIO;
    sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, tenant);
    sqlite3_bind_text(st, 3, kind == TLY_KEY_WRITE ? "write" : "admin", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, hint, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 5, now);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : TLY_EIO;
    sqlite3_finalize(st);
    return rc;
}

int tly_tenant_create(struct tly_db *db, const char *name, struct tly_tenant *out,
                      char write_key[TLY_KEY_TEXT_MAX], char admin_key[TLY_KEY_TEXT_MAX],
                      struct tly_error *err)
{
    if (!valid_name(name))
        return tly_error_set(err, TLY_EINVAL, "name",
                             "tenant name must be 1-64 characters of A-Z a-z 0-9 _ . -");
    sqlite3 *h = tly_db_sqlite(db);
    int64_t now = tly_now_ms();
    if (make_key(TLY_KEY_WRITE, write_key) != 0 || make_key(TLY_KEY_ADMIN, admin_key) != 0)
        return tly_error_set(err, TLY_EIO, "", "no randomness available");
    if (sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return tly_error_set(err, TLY_EIO, "", "state.db: %s", sqlite3_errmsg(h));
    sqlite3_stmt *st;
    int rc = TLY_EIO;
    if (sqlite3_prepare_v2(h, "INSERT INTO tenants (name, created_at) VALUES (?, ?)", -1, &st,
                           NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, now);
    int step = sqlite3_step(st);
    sqlite3_finalize(st);
    if (step == SQLITE_CONSTRAINT) {
        rc = tly_error_set(err, TLY_EEXIST, "name", "tenant '%s' already exists", name);
        goto fail;
    }
    if (step != SQLITE_DONE)
        goto fail;
    uint32_t id = (uint32_t)sqlite3_last_insert_rowid(h);
    if (insert_key(h, id, TLY_KEY_WRITE, write_key, now) != 0 ||
        insert_key(h, id, TLY_KEY_ADMIN, admin_key, now) != 0)
        goto fail;
    if (sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        goto fail;
    out->id = id;
    snprintf(out->name, sizeof out->name, "%s", name);
    out->created_at = now;
    return 0;
fail:
    if (rc == TLY_EIO)
        tly_error_set(err, TLY_EIO, "", "state.db: %s", sqlite3_errmsg(h));
    sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int tly_tenant_each(struct tly_db *db, int (*fn)(const struct tly_tenant *t, void *arg), void *arg)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(tly_db_sqlite(db),
                           "SELECT id, name, created_at FROM tenants ORDER BY id", -1, &st,
                           NULL) != SQLITE_OK)
        return TLY_EIO;
    int rc = 0, step;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        struct tly_tenant t;
        t.id = (uint32_t)sqlite3_column_int64(st, 0);
        snprintf(t.name, sizeof t.name, "%s", (const char *)sqlite3_column_text(st, 1));
        t.created_at = sqlite3_column_int64(st, 2);
        rc = fn(&t, arg);
        if (rc != 0)
            break;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = TLY_EIO;
    sqlite3_finalize(st);
    return rc;
}

long tly_tenant_count(struct tly_db *db)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(tly_db_sqlite(db), "SELECT count(*) FROM tenants", -1, &st, NULL) !=
        SQLITE_OK)
        return TLY_EIO;
    long n = sqlite3_step(st) == SQLITE_ROW ? (long)sqlite3_column_int64(st, 0) : TLY_EIO;
    sqlite3_finalize(st);
    return n;
}

/* Open addressing on the first 8 bytes of the hash; load factor <= 1/2. */
struct key_slot {
    uint8_t hash[32];
    uint32_t tenant;
    uint8_t kind; /* 0 = empty */
};

struct tly_keystore {
    struct key_slot *slots;
    size_t mask; /* capacity - 1 */
    size_t count;
};

static size_t slot_index(const uint8_t hash[32], size_t mask)
{
    uint64_t v;
    memcpy(&v, hash, sizeof v);
    return (size_t)v & mask;
}

static void keystore_put(struct tly_keystore *ks, const uint8_t hash[32], uint32_t tenant,
                         uint8_t kind)
{
    size_t i = slot_index(hash, ks->mask);
    while (ks->slots[i].kind != 0)
        i = (i + 1) & ks->mask;
    memcpy(ks->slots[i].hash, hash, 32);
    ks->slots[i].tenant = tenant;
    ks->slots[i].kind = kind;
    ks->count++;
}

int tly_keystore_load(struct tly_keystore **out, struct tly_db *db)
{
    sqlite3 *h = tly_db_sqlite(db);
    sqlite3_stmt *st;
    long n = 0;
    if (sqlite3_prepare_v2(h, "SELECT count(*) FROM api_keys", -1, &st, NULL) != SQLITE_OK)
        return TLY_EIO;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);

    struct tly_keystore *ks = calloc(1, sizeof *ks);
    if (ks == NULL)
        return TLY_ENOMEM;
    size_t cap = 16;
    while (cap < (size_t)n * 2 + 2)
        cap *= 2;
    ks->slots = calloc(cap, sizeof *ks->slots);
    if (ks->slots == NULL) {
        free(ks);
        return TLY_ENOMEM;
    }
    ks->mask = cap - 1;
    if (sqlite3_prepare_v2(h, "SELECT key_hash, tenant_id, kind FROM api_keys", -1, &st, NULL) !=
        SQLITE_OK) {
        tly_keystore_free(ks);
        return TLY_EIO;
    }
    while (sqlite3_step(st) == SQLITE_ROW && ks->count < (size_t)n) {
        if (sqlite3_column_bytes(st, 0) != 32)
            continue;
        const char *kind = (const char *)sqlite3_column_text(st, 2);
        keystore_put(ks, sqlite3_column_blob(st, 0), (uint32_t)sqlite3_column_int64(st, 1),
                     strcmp(kind, "write") == 0 ? TLY_KEY_WRITE : TLY_KEY_ADMIN);
    }
    sqlite3_finalize(st);
    *out = ks;
    return 0;
}

int tly_keystore_lookup(const struct tly_keystore *ks, const char *key, size_t len,
                        enum tly_key_kind kind, uint32_t *tenant)
{
    uint8_t hash[32];
    tly_key_hash(key, len, hash);
    size_t i = slot_index(hash, ks->mask);
    for (; ks->slots[i].kind != 0; i = (i + 1) & ks->mask) {
        if (CRYPTO_memcmp(ks->slots[i].hash, hash, 32) == 0) {
            if (ks->slots[i].kind != kind)
                return TLY_ENOENT;
            *tenant = ks->slots[i].tenant;
            return 0;
        }
    }
    return TLY_ENOENT;
}

size_t tly_keystore_size(const struct tly_keystore *ks)
{
    return ks->count;
}

void tly_keystore_free(struct tly_keystore *ks)
{
    if (ks == NULL)
        return;
    free(ks->slots);
    free(ks);
}

int64_t tly_keys_fingerprint(struct tly_db *db)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(tly_db_sqlite(db), "SELECT n FROM key_generation", -1, &st, NULL) !=
        SQLITE_OK)
        return TLY_EIO;
    int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : TLY_EIO;
    sqlite3_finalize(st);
    return v;
}
