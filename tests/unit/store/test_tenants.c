/*
 * Unit tests for the state store (store/db.h) and tenants and keys
 * (store/tenants.h): schema migrations and the refusal of newer files,
 * tenant creation and name validation, the promise that key text is never
 * stored (only its SHA-256), the in-memory key table (kinds, near misses,
 * isolation between tenants, a thousand tenants), PRAGMA data_version as
 * the signal that another process created a tenant, and tenant listing.
 *
 * Every test gets a fresh directory from mkdtemp under /tmp, removed by the
 * teardown.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "store/db.h"
#include "store/tenants.h"

#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* db.c has one migration today; bump this when a migration is added. */
#define EXPECTED_SCHEMA_VERSION tly_db_latest_version()

struct fx {
    char dir[64];
    char path[128];
    struct tly_db *db;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/tally-test-tenants-XXXXXX");
    if (mkdtemp(f->dir) == NULL) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof f->path, "%s/state.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tly_db_close(f->db);
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
        unlink(p);
    }
    int rc = rmdir(f->dir);
    free(f);
    return rc == 0 ? 0 : -1;
}

static struct tly_db *open_db(struct fx *f)
{
    struct tly_error err = {{0}};
    int rc = tly_db_open(&f->db, f->path, &err);
    if (rc != 0)
        fail_msg("tly_db_open: %d %s", rc, err.msg);
    return f->db;
}

static void create(struct tly_db *db, const char *name, struct tly_tenant *t,
                   char wk[TLY_KEY_TEXT_MAX], char ak[TLY_KEY_TEXT_MAX])
{
    struct tly_error err = {{0}};
    int rc = tly_tenant_create(db, name, t, wk, ak, &err);
    if (rc != 0)
        fail_msg("tly_tenant_create(%s): %d %s", name, rc, err.msg);
}

static void sha256(const char *s, size_t n, uint8_t out[32])
{
    unsigned int len = 32;
    assert_int_equal(EVP_Digest(s, n, out, &len, EVP_sha256(), NULL), 1);
    assert_int_equal(len, 32);
}

/* Reads a whole file; *n = 0 and NULL if it does not exist. */
static char *slurp(const char *path, size_t *n)
{
    *n = 0;
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    char *data = NULL;
    size_t cap = 0;
    for (;;) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 65536;
            data = realloc(data, cap);
            assert_non_null(data);
        }
        size_t got = fread(data + *n, 1, cap - *n, fp);
        if (got == 0)
            break;
        *n += got;
    }
    fclose(fp);
    return data;
}

/* Whether `needle` occurs in state.db or state.db-wal as raw bytes. */
static int on_disk(const struct fx *f, const void *needle, size_t len)
{
    int found = 0;
    static const char *const suffixes[] = {"", "-wal"};
    for (size_t i = 0; i < 2; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s%s", f->path, suffixes[i]);
        size_t n;
        char *data = slurp(p, &n);
        if (data != NULL && memmem(data, n, needle, len) != NULL)
            found = 1;
        free(data);
    }
    return found;
}

static int user_version_of(sqlite3 *h)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int has_table(sqlite3 *h, const char *name)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
                                        "AND name = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int is_key_text(const char *k, const char *prefix)
{
    if (strlen(k) != 7 + 40 || strncmp(k, prefix, 7) != 0)
        return 0;
    for (size_t i = 7; i < 47; i++)
        if (!((k[i] >= '0' && k[i] <= '9') || (k[i] >= 'a' && k[i] <= 'f')))
            return 0;
    return 1;
}

/* --- db.h --------------------------------------------------------------- */

static void test_open_new_applies_migrations(void **state)
{
    struct fx *f = *state;
    struct tly_db *db = open_db(f);
    assert_int_equal(tly_db_schema_version(db), EXPECTED_SCHEMA_VERSION);
    sqlite3 *h = tly_db_sqlite(db);
    assert_non_null(h);
    assert_int_equal(user_version_of(h), EXPECTED_SCHEMA_VERSION);
    assert_int_equal(has_table(h, "tenants"), 1);
    assert_int_equal(has_table(h, "api_keys"), 1);
    assert_int_equal(tly_tenant_count(db), 0);

    /* WAL mode, as db.h says. */
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
}

static void test_reopen_keeps_version_and_data(void **state)
{
    struct fx *f = *state;
    struct tly_db *db = open_db(f);
    struct tly_tenant t;
    char wk[TLY_KEY_TEXT_MAX], ak[TLY_KEY_TEXT_MAX];
    create(db, "acme", &t, wk, ak);
    tly_db_close(db);
    f->db = NULL;

    db = open_db(f);
    assert_int_equal(tly_db_schema_version(db), EXPECTED_SCHEMA_VERSION);
    assert_int_equal(tly_tenant_count(db), 1);
    tly_db_close(db);
    f->db = NULL;

    /* And a third time: migrations do not run again (they would fail on
     * CREATE TABLE of an existing table). */
    db = open_db(f);
    assert_int_equal(tly_db_schema_version(db), EXPECTED_SCHEMA_VERSION);
    struct tly_keystore *ks;
    assert_int_equal(tly_keystore_load(&ks, db), 0);
    uint32_t tid = 0;
    assert_int_equal(tly_keystore_lookup(ks, wk, strlen(wk), TLY_KEY_WRITE, &tid), 0);
    assert_int_equal(tid, t.id);
    tly_keystore_free(ks);
}

static void test_newer_schema_is_refused(void **state)
{
    struct fx *f = *state;
    sqlite3 *h;
    assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", EXPECTED_SCHEMA_VERSION + 1);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);

    struct tly_error err = {{0}};
    struct tly_db *db = NULL;
    int rc = tly_db_open(&db, f->path, &err);
    assert_true(rc < 0);
    assert_null(db);
    char want[64];
    snprintf(want, sizeof want, "schema version %d", EXPECTED_SCHEMA_VERSION + 1);
    assert_non_null(strstr(err.msg, want));

    /* The file was left alone: still version 2, no tables added. */
    assert_int_equal(sqlite3_open(f->path, &h), SQLITE_OK);
    assert_int_equal(user_version_of(h), EXPECTED_SCHEMA_VERSION + 1);
    assert_int_equal(has_table(h, "tenants"), 0);
    sqlite3_close(h);
}

static void test_open_unwritable_path_fails(void **state)
{
    struct fx *f = *state;
    char p[200];
    snprintf(p, sizeof p, "%s/no/such/dir/state.db", f->dir);
    struct tly_error err = {{0}};
    struct tly_db *db = NULL;
    assert_int_equal(tly_db_open(&db, p, &err), TLY_EIO);
    assert_null(db);
    assert_true(err.msg[0] != '\0');
}

/* --- tenant creation ------------------------------------------------------ */

static void test_key_hash_is_sha256(void **state)
{
    (void)state;
    /* FIPS 180-2 test vector for "abc". */
    static const uint8_t abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                    0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                    0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                    0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    uint8_t out[32];
    tly_key_hash("abcdef", 3, out);
    assert_memory_equal(out, abc, 32);
}

static void test_create_keys_and_ids(void **state)
{
    struct fx *f = *state;
    struct tly_db *db = open_db(f);
    const char *names[] = {"acme", "Beta-2", "c.d_e"};
    uint32_t prev = 0;
    char seen[6][TLY_KEY_TEXT_MAX];
    for (int i = 0; i < 3; i++) {
        struct tly_tenant t;
        char wk[TLY_KEY_TEXT_MAX], ak[TLY_KEY_TEXT_MAX];
        memset(&t, 0, sizeof t);
        int64_t before = (int64_t)time(NULL) * 1000 - 1000;
        create(db, names[i], &t, wk, ak);
        int64_t after = (int64_t)time(NULL) * 1000 + 1000;
        assert_true(is_key_text(wk, "tly_wk_"));
        assert_true(is_key_text(ak, "tly_ak_"));
        assert_string_not_equal(wk + 7, ak + 7);
        assert_true(t.id > prev);
        prev = t.id;
        assert_string_equal(t.name, names[i]);
        assert_true(t.created_at >= before && t.created_at <= after);
        for (int j = 0; j < 2 * i; j++) {
            assert_string_not_equal(seen[j], wk);
            assert_string_not_equal(seen[j], ak);
        }
        snprintf(seen[2 * i], TLY_KEY_TEXT_MAX, "%s", wk);
        snprintf(seen[2 * i + 1], TLY_KEY_TEXT_MAX, "%s", ak);
    }
    assert_int_equal(tly_tenant_count(db), 3);
}

static void test_create_duplicate_name(void **state)
{
    struct fx *f = *state;
    struct tly_db *db = open_db(f);
    struct tly_tenant t, t2;
    char wk[TLY_KEY_TEXT_MAX], ak[TLY_KEY_TEXT_MAX];
    char wk2[TLY_KEY_TEXT_MAX], ak2[TLY_KEY_TEXT_MAX];
    create(db, "acme", &t, wk, ak);

    struct tly_error err = {{0}};
    assert_int_equal(tly_tenant_create(db, "acme", &t2, wk2, ak2, &err), TLY_EEXIST);
    assert_string_equal(err.field, "name");
    assert_non_null(strstr(err.msg, "acme"));
    assert_int_equal(tly_tenant_count(db), 1);

    /* Nothing of the failed attempt was kept, and the connection still works
     * (the transaction was rolled back). */
    struct tly_keystore *ks;
    assert_int_equal(tly_keystore_load(&ks, db), 0);
    assert_int_equal(tly_keystore_size(ks), 2);
    uint32_t tid;
    assert_int_equal(tly_keystore_lookup(ks, wk2, strlen(wk2), TLY_KEY_WRITE, &tid), TLY_ENOENT);
    tly_keystore_free(ks);
    create(db, "acme2", &t2, wk2, ak2);
    assert_true(t2.id > t.id);
    assert_int_equal(tly_tenant_count(db), 2);
}

static void test_create_invalid_names(void **state)
{
    struct fx *f = *state;
    struct tly_db *db = open_db(f);
    char n65[66], n64[65];
    memset(n65, 'a', 65);
    n65[65] = '\0';
    memset(n64, 'b', 64);
    n64[64] = '\0';
    const char *bad[] = {"",     n65,   "a b", "a/b",     "caf\xc3\xa9", "\xe2\x82\xac",
                         "a\tb", "a:b", "a\n", "tenant!", "x'y",         "a\\b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tly_tenant t;
        char wk[TLY_KEY_TEXT_MAX], ak[TLY_KEY_TEXT_MAX];
        struct tly_error err = {{0}};
        int rc = tly_tenant_create(db, bad[i], &t, wk, ak, &err);
        if (rc != TLY_EINVAL)
            fail_msg("name #%zu '%s': rc %d, expected TLY_EINVAL", i, bad[i], rc);
        assert_string_equal(err.field, "name");
        assert_true(err.msg[0] != '\0');
    }
    assert_int_equal(tly_tenant_count(db), 0);

    /* The boundaries that are fine: 64 characters, every allowed class. */
    struct tly_tenant t;
    char wk[TLY_KEY_TEXT_MAX], ak[TLY_KEY_TEXT_MAX];
    create(db, n64, &t, wk, ak);
    assert_string_equal(t.name, n64);
    create(db, "Az09_.-", &t, wk, ak);
    create(db, "x", &t, wk, ak);
    assert_int_equal(tly_tenant_count(db), 3);
}

/* --- keys at rest --------------------------------------------------------- */

static void check_key_at_rest(struct fx *f, const char *key, const char *kind, uint32_t tenant)
{
    sqlite3 *h = tly_db_sqlite(f->db);
    uint8_t hash[32];
    sha256(key, strlen(key), hash);

    /* One row carries its hash, with the right tenant, kind and hint. */
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT tenant_id, kind, hint FROM api_keys "
                                        "WHERE key_hash = ?",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), tenant);
    assert_string_equal((const char *)sqlite3_column_text(st, 1), kind);
    const char *hint = (const char *)sqlite3_column_text(st, 2);
    assert_int_equal(strlen(hint), 11);
    assert_memory_equal(hint, key, 11);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);

    /* No column of any row of either table contains the key text (nor its
     * random part). */
    static const char *const tables[] = {"SELECT * FROM api_keys", "SELECT * FROM tenants"};
    for (int t = 0; t < 2; t++) {
        assert_int_equal(sqlite3_prepare_v2(h, tables[t], -1, &st, NULL), SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW) {
            for (int c = 0; c < sqlite3_column_count(st); c++) {
                const void *v = sqlite3_column_blob(st, c);
                int n = sqlite3_column_bytes(st, c);
                if (v != NULL && n > 0)
                    assert_null(memmem(v, (size_t)n, key + 7, 40));
            }
        }
        sqlite3_finalize(st);
    }

    /* Neither the database file nor the WAL holds the key text, in full or
     * past the hint; the hash is there. */
    assert_false(on_disk(f, key, strlen(key)));
    assert_false(on_disk(f, key + 11, strlen(key) - 11));
    assert_true(on_disk(f, hash, 32));
    /* The search does see stored text: the hint is there. */
    assert_true(on_disk(f, key, 11));
}

static void test_key_text_not_stored_only_hash(void **state)
{
    struct fx *f = *state;
    struct tly_db *db = open_db(f);
    struct tly_tenant t;
    char wk[TLY_KEY_TEXT_MAX], ak[TLY_KEY_TEXT_MAX];
    create(db, "acme", &t, wk, ak);

    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2(tly_db_sqlite(db), "SELECT count(*) FROM api_keys", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 2);
    sqlite3_finalize(st);

    check_key_at_rest(f, wk, "write", t.id);
    check_key_at_rest(f, ak, "admin", t.id);

    /* After a checkpoint into the main file and a clean close, still none. */
    assert_int_equal(
        sqlite3_exec(tly_db_sqlite(db), "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL),
        SQLITE_OK);
    check_key_at_rest(f, wk, "write", t.id);
    tly_db_close(db);
    f->db = NULL;
    assert_false(on_disk(f, wk, strlen(wk)));
    assert_false(on_disk(f, ak, strlen(ak)));
    uint8_t hash[32];
    sha256(wk, strlen(wk), hash);
    assert_true(on_disk(f, hash, 32));
}

/* --- the key table -------------------------------------------------------- */

static void test_keystore_kinds(void **state)
{
    struct fx *f = *state;
    struct tly_db *db = open_db(f);
    struct tly_tenant t;
    char wk[TLY_KEY_TEXT_MAX], ak[TLY_KEY_TEXT_MAX];
    create(db, "acme", &t, wk, ak);
    struct tly_keystore *ks;
    assert_int_equal(tly_keystore_load(&ks, db), 0);
    assert_int_equal(tly_keystore_size(ks), 2);

    uint32_t tid = 999;
    assert_int_equal(tly_keystore_lookup(ks, wk, strlen(wk), TLY_KEY_WRITE, &tid), 0);
    assert_int_equal(tid, t.id);
    tid = 999;
    assert_int_equal(tly_keystore_lookup(ks, wk, strlen(wk), TLY_KEY_ADMIN, &tid), TLY_ENOENT);
    assert_int_equal(tid, 999);
    assert_int_equal(tly_keystore_lookup(ks, ak, strlen(ak), TLY_KEY_ADMIN, &tid), 0);
    assert_int_equal(tid, t.id);
    tid = 999;
    assert_int_equal(tly_keystore_lookup(ks, ak, strlen(ak), TLY_KEY_WRITE, &tid), TLY_ENOENT);
    assert_int_equal(tid, 999);
    tly_keystore_free(ks);
}

static void expect_miss(const struct tly_keystore *ks, const char *k, size_t n)
{
    uint32_t tid = 12345;
    assert_int_equal(tly_keystore_lookup(ks, k, n, TLY_KEY_WRITE, &tid), TLY_ENOENT);
    assert_int_equal(tly_keystore_lookup(ks, k, n, TLY_KEY_ADMIN, &tid), TLY_ENOENT);
    assert_int_equal(tid, 12345);
}

static void test_keystore_near_misses(void **state)
{
    struct fx *f = *state;
    struct tly_db *db = open_db(f);
    struct tly_tenant t;
    char wk[TLY_KEY_TEXT_MAX], ak[TLY_KEY_TEXT_MAX];
    create(db, "acme", &t, wk, ak);
    struct tly_keystore *ks;
    assert_int_equal(tly_keystore_load(&ks, db), 0);
    size_t n = strlen(wk);

    /* Unknown key of the right shape. */
    expect_miss(ks, "tly_wk_0000000000000000000000000000000000000000", 47);
    /* Every single character changed in turn. */
    for (size_t i = 0; i < n; i++) {
        char k[TLY_KEY_TEXT_MAX];
        memcpy(k, wk, n + 1);
        k[i] = k[i] == '0' ? '1' : '0';
        expect_miss(ks, k, n);
    }
    /* Upper case, and the other kind's prefix on the same random part. */
    char k[TLY_KEY_TEXT_MAX];
    memcpy(k, wk, n + 1);
    k[0] = 'T';
    expect_miss(ks, k, n);
    memcpy(k, wk, n + 1);
    k[4] = 'a';
    expect_miss(ks, k, n);
    /* Empty, every proper prefix, one byte too many, trailing newline. */
    expect_miss(ks, "", 0);
    for (size_t i = 1; i < n; i++)
        expect_miss(ks, wk, i);
    char longer[TLY_KEY_TEXT_MAX + 2];
    snprintf(longer, sizeof longer, "%s0", wk);
    expect_miss(ks, longer, n + 1);
    snprintf(longer, sizeof longer, "%s\n", wk);
    expect_miss(ks, longer, n + 1);
    /* The hint alone is not a key. */
    expect_miss(ks, wk, 11);

    /* The real key still works after all that. */
    uint32_t tid;
    assert_int_equal(tly_keystore_lookup(ks, wk, n, TLY_KEY_WRITE, &tid), 0);
    assert_int_equal(tid, t.id);
    tly_keystore_free(ks);
}

static void test_keystore_isolation(void **state)
{
    struct fx *f = *state;
    struct tly_db *db = open_db(f);
    struct tly_tenant t[3];
    char wk[3][TLY_KEY_TEXT_MAX], ak[3][TLY_KEY_TEXT_MAX];
    create(db, "one", &t[0], wk[0], ak[0]);
    create(db, "two", &t[1], wk[1], ak[1]);
    create(db, "three", &t[2], wk[2], ak[2]);
    assert_true(t[0].id != t[1].id && t[1].id != t[2].id && t[0].id != t[2].id);

    struct tly_keystore *ks;
    assert_int_equal(tly_keystore_load(&ks, db), 0);
    assert_int_equal(tly_keystore_size(ks), 6);
    for (int i = 0; i < 3; i++) {
        uint32_t tid = 0;
        assert_int_equal(tly_keystore_lookup(ks, wk[i], strlen(wk[i]), TLY_KEY_WRITE, &tid), 0);
        assert_int_equal(tid, t[i].id);
        tid = 0;
        assert_int_equal(tly_keystore_lookup(ks, ak[i], strlen(ak[i]), TLY_KEY_ADMIN, &tid), 0);
        assert_int_equal(tid, t[i].id);
    }
    tly_keystore_free(ks);
}

static void test_keystore_thousand_tenants(void **state)
{
    struct fx *f = *state;
    struct tly_db *db = open_db(f);
    enum { N = 1000 };
    char(*wk)[TLY_KEY_TEXT_MAX] = calloc(N, TLY_KEY_TEXT_MAX);
    char(*ak)[TLY_KEY_TEXT_MAX] = calloc(N, TLY_KEY_TEXT_MAX);
    uint32_t *ids = calloc(N, sizeof *ids);
    assert_non_null(wk);
    assert_non_null(ak);
    assert_non_null(ids);
    for (int i = 0; i < N; i++) {
        char name[32];
        struct tly_tenant t;
        snprintf(name, sizeof name, "tenant-%04d", i);
        create(db, name, &t, wk[i], ak[i]);
        ids[i] = t.id;
    }
    assert_int_equal(tly_tenant_count(db), N);

    struct tly_keystore *ks;
    assert_int_equal(tly_keystore_load(&ks, db), 0);
    assert_int_equal(tly_keystore_size(ks), 2 * N);
    for (int i = 0; i < N; i++) {
        uint32_t tid = 0;
        if (tly_keystore_lookup(ks, wk[i], strlen(wk[i]), TLY_KEY_WRITE, &tid) != 0 ||
            tid != ids[i])
            fail_msg("write key of tenant %d not found (tid %u)", i, tid);
        tid = 0;
        if (tly_keystore_lookup(ks, ak[i], strlen(ak[i]), TLY_KEY_ADMIN, &tid) != 0 ||
            tid != ids[i])
            fail_msg("admin key of tenant %d not found (tid %u)", i, tid);
        assert_int_equal(tly_keystore_lookup(ks, wk[i], strlen(wk[i]), TLY_KEY_ADMIN, &tid),
                         TLY_ENOENT);
    }
    /* Misses still terminate and miss in a well-filled table. */
    for (int i = 0; i < 200; i++) {
        char k[TLY_KEY_TEXT_MAX];
        snprintf(k, sizeof k, "tly_wk_%040d", i);
        expect_miss(ks, k, strlen(k));
    }
    tly_keystore_free(ks);
    free(wk);
    free(ak);
    free(ids);
}

static void test_keystore_empty(void **state)
{
    struct fx *f = *state;
    struct tly_db *db = open_db(f);
    struct tly_keystore *ks;
    assert_int_equal(tly_keystore_load(&ks, db), 0);
    assert_int_equal(tly_keystore_size(ks), 0);
    expect_miss(ks, "tly_wk_0123456789012345678901234567890123456789", 47);
    tly_keystore_free(ks);
    tly_keystore_free(NULL);
}

/* --- change detection ----------------------------------------------------- */

static void test_data_version_sees_other_connection(void **state)
{
    struct fx *f = *state;
    struct tly_db *daemon = open_db(f);
    struct tly_error err = {{0}};
    struct tly_db *cli;
    assert_int_equal(tly_db_open(&cli, f->path, &err), 0);

    long v0 = tly_db_data_version(daemon);
    assert_true(v0 >= 0);
    assert_int_equal(tly_db_data_version(daemon), v0); /* nothing happened */

    struct tly_keystore *ks;
    assert_int_equal(tly_keystore_load(&ks, daemon), 0);
    assert_int_equal(tly_keystore_size(ks), 0);
    tly_keystore_free(ks);

    struct tly_tenant t;
    char wk[TLY_KEY_TEXT_MAX], ak[TLY_KEY_TEXT_MAX];
    create(cli, "from-cli", &t, wk, ak);

    long v1 = tly_db_data_version(daemon);
    assert_true(v1 >= 0);
    assert_true(v1 != v0);
    assert_int_equal(tly_db_data_version(daemon), v1); /* stable until the next commit */

    /* A reload after the change finds the new tenant's keys. */
    assert_int_equal(tly_keystore_load(&ks, daemon), 0);
    assert_int_equal(tly_keystore_size(ks), 2);
    uint32_t tid = 0;
    assert_int_equal(tly_keystore_lookup(ks, wk, strlen(wk), TLY_KEY_WRITE, &tid), 0);
    assert_int_equal(tid, t.id);
    tly_keystore_free(ks);

    /* A second commit from the other side changes it again. */
    create(cli, "from-cli-2", &t, wk, ak);
    long v2 = tly_db_data_version(daemon);
    assert_true(v2 != v1);
    tly_db_close(cli);
}

/* --- listing -------------------------------------------------------------- */

struct collected {
    int n, stop_at;
    struct tly_tenant t[8];
};

static int collect(const struct tly_tenant *t, void *arg)
{
    struct collected *c = arg;
    if (c->n < 8)
        c->t[c->n] = *t;
    c->n++;
    return c->n == c->stop_at ? 42 : 0;
}

static void test_each_and_count(void **state)
{
    struct fx *f = *state;
    struct tly_db *db = open_db(f);
    struct collected c = {0};
    assert_int_equal(tly_tenant_each(db, collect, &c), 0);
    assert_int_equal(c.n, 0);
    assert_int_equal(tly_tenant_count(db), 0);

    const char *names[] = {"zeta", "alpha", "mid"};
    struct tly_tenant made[3];
    for (int i = 0; i < 3; i++) {
        char wk[TLY_KEY_TEXT_MAX], ak[TLY_KEY_TEXT_MAX];
        create(db, names[i], &made[i], wk, ak);
        assert_int_equal(tly_tenant_count(db), i + 1);
    }

    /* Ordered by id (creation order here), not by name. */
    memset(&c, 0, sizeof c);
    assert_int_equal(tly_tenant_each(db, collect, &c), 0);
    assert_int_equal(c.n, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(c.t[i].id, made[i].id);
        assert_string_equal(c.t[i].name, names[i]);
        assert_true(c.t[i].created_at == made[i].created_at);
    }

    /* A non-zero return stops the walk and is passed back. */
    memset(&c, 0, sizeof c);
    c.stop_at = 2;
    assert_int_equal(tly_tenant_each(db, collect, &c), 42);
    assert_int_equal(c.n, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_new_applies_migrations, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_keeps_version_and_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_unwritable_path_fails, setup, teardown),
        cmocka_unit_test(test_key_hash_is_sha256),
        cmocka_unit_test_setup_teardown(test_create_keys_and_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_duplicate_name, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_invalid_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_text_not_stored_only_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keystore_kinds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keystore_near_misses, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keystore_isolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keystore_thousand_tenants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keystore_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_version_sees_other_connection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_each_and_count, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
