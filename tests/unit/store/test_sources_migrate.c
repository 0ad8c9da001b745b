/*
 * Unit test of the source settings migration (store/db.c) on a state.db
 * as tallyd wrote it at schema version 6 (tests/fixtures/state/
 * state-v6-sources.sql): the Segment secrets and the WebEngage account of
 * source_secrets become source settings documents with the same times,
 * source_secrets is gone, and the documents read back as ingest and the
 * API read them (store/sources.h, sources/settings.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/buf.h"
#include "log/record.h"
#include "sources/settings.h"
#include "store/db.h"
#include "store/sources.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* The stored document of (tenant, source) and its time. */
static cJSON *doc_of(sqlite3 *h, uint32_t tenant, const char *source, int64_t *at)
{
    char *text;
    assert_int_equal(tly_source_settings_load(h, tenant, source, &text, at), 0);
    assert_non_null(text);
    cJSON *doc = cJSON_Parse(text);
    free(text);
    assert_non_null(doc);
    return doc;
}

static void test_v6_to_latest(void **state)
{
    (void)state;
    char dir[] = "/tmp/tally-test-sources-XXXXXX", path[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/state.db", dir);
    const char *sql = read_file(TALLY_FIXTURES "/state/state-v6-sources.sql");
    assert_non_null(sql);
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);

    struct tly_db *db;
    struct tly_error err = {{0}};
    assert_int_equal(tly_db_open(&db, path, &err), 0);
    sqlite3 *h = tly_db_sqlite(db);
    assert_int_equal(tly_db_schema_version(db), tly_db_latest_version());
    sqlite3_stmt *st;
    assert_int_not_equal(sqlite3_prepare_v2(h, "SELECT 1 FROM source_secrets", -1, &st, NULL),
                         SQLITE_OK);

    int64_t at;
    cJSON *d = doc_of(h, 1, "segment", &at);
    assert_string_equal(cJSON_GetObjectItem(d, "shared_secret")->valuestring, "s3cr3t \"quoted\"");
    assert_int_equal(at, 1717243300000LL);
    cJSON_Delete(d);
    d = doc_of(h, 2, "segment", &at);
    assert_string_equal(cJSON_GetObjectItem(d, "shared_secret")->valuestring, "abc123");
    cJSON_Delete(d);
    d = doc_of(h, 1, "webengage", &at);
    assert_string_equal(cJSON_GetObjectItem(d, "license_code")->valuestring, "~2024c5a1");
    assert_string_equal(cJSON_GetObjectItem(d, "secret_md5")->valuestring,
                        "898a718502d3758de46e97c6f53a385d");
    assert_int_equal(at, 1717243400000LL);
    /* The GET view of the migrated account. */
    struct tly_buf b;
    tly_buf_init(&b, 1 << 16);
    assert_int_equal(tly_source_settings_public(TLY_SOURCE_WEBENGAGE, d, &b), 0);
    tly_buf_append(&b, "", 1);
    assert_string_equal((const char *)b.data,
                        ",\"license_code\":\"~2024c5a1\",\"secret_set\":true,\"mapping\":{}");
    tly_buf_free(&b);
    cJSON_Delete(d);
    char *none;
    assert_int_equal(tly_source_settings_load(h, 2, "webengage", &none, &at), 0);
    assert_null(none);
    assert_int_equal(at, 0);

    tly_db_close(db);
    unlink(path);
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v6_to_latest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
