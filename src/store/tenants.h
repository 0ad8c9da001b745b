/*
 * Tenants and their API keys.
 *
 * A tenant has a numeric id (carried in every log record) and a unique name.
 * Each tenant gets a write key (ingest, X-API-KEY) and an admin key
 * (management, Authorization: Bearer). Keys are 160 random bits, shown once
 * at creation and stored only as SHA-256 hashes, with a short hint (the
 * prefix and first 4 characters) so operators can tell keys apart.
 *
 * The key table (struct tly_keystore) is an in-memory copy of the hashes for
 * the ingest path, which must not touch the database per request. Lookups
 * hash the presented key and compare full hashes in constant time.
 */
#ifndef TLY_STORE_TENANTS_H
#define TLY_STORE_TENANTS_H

#include "core/err.h"
#include "store/db.h"

#include <stddef.h>
#include <stdint.h>

enum tly_key_kind { TLY_KEY_WRITE = 1, TLY_KEY_ADMIN = 2 };

#define TLY_TENANT_NAME_MAX 64
#define TLY_KEY_TEXT_MAX    64 /* "tly_wk_" + 40 hex + NUL fits */

struct tly_tenant {
    uint32_t id;
    char name[TLY_TENANT_NAME_MAX + 1];
    int64_t created_at; /* ms since the epoch */
};

/* Creates tenant `name` ([A-Za-z0-9_.-]{1,64}) with a fresh write and admin
 * key, returned in plain text in write_key/admin_key (never stored).
 * TLY_EEXIST if the name is taken, TLY_EINVAL for a bad name. */
int tly_tenant_create(struct tly_db *db, const char *name, struct tly_tenant *out,
                      char write_key[TLY_KEY_TEXT_MAX], char admin_key[TLY_KEY_TEXT_MAX],
                      struct tly_error *err);

/* Calls `fn` for each tenant, ordered by id. Stops at a non-zero return. */
int tly_tenant_each(struct tly_db *db, int (*fn)(const struct tly_tenant *t, void *arg), void *arg);

/* Number of tenants, or a negative error. */
long tly_tenant_count(struct tly_db *db);

void tly_key_hash(const char *key, size_t len, uint8_t out[32]);

struct tly_keystore;

/* Loads every key hash from the database into a new table. */
int tly_keystore_load(struct tly_keystore **out, struct tly_db *db);

/* Finds the tenant of `key` if it is a key of `kind`. 0 = found;
 * TLY_ENOENT otherwise (unknown key, or a key of the other kind). */
int tly_keystore_lookup(const struct tly_keystore *ks, const char *key, size_t len,
                        enum tly_key_kind kind, uint32_t *tenant);

size_t tly_keystore_size(const struct tly_keystore *ks);

/* Changes whenever keys are added or removed (cheap: for polling). Negative
 * on error. */
int64_t tly_keys_fingerprint(struct tly_db *db);

void tly_keystore_free(struct tly_keystore *ks);

#endif
