/*
 * Table-driven tests of the source settings document (sources/settings.h):
 * what a PUT body may hold per source and which field a refusal names, the
 * stored form (secrets hashed), the GET view (no secret in it), keeping a
 * secret with "…_set": true, the cross-tenant conflicts, and the adapters'
 * config read back from a stored document.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/buf.h"
#include "log/record.h"
#include "sources/settings.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WE_MD5 "898a718502d3758de46e97c6f53a385d" /* md5 of "~2024c5a1:we-secret-key-7f3a" */

static cJSON *parse_ok(int source, const char *body, const cJSON *prev)
{
    cJSON *stored = NULL;
    struct tly_error err;
    int rc = tly_source_settings_parse(source, body, strlen(body), prev, &stored, &err);
    if (rc != 0)
        fail_msg("%s %s: refused (%s: %s)", tly_source_name(source), body, err.field, err.msg);
    return stored;
}

static char *public_of(int source, const cJSON *stored)
{
    struct tly_buf b;
    tly_buf_init(&b, 1 << 20);
    assert_int_equal(tly_source_settings_public(source, stored, &b), 0);
    tly_buf_append(&b, "", 1);
    char *s = strdup((const char *)b.data);
    tly_buf_free(&b);
    return s;
}

static void test_refused(void **state)
{
    (void)state;
    static const struct {
        int source;
        const char *body;
        const char *field;
    } cases[] = {
        {TLY_SOURCE_SEGMENT, "[]", ""},
        {TLY_SOURCE_SEGMENT, "{", ""},
        {TLY_SOURCE_SEGMENT, "{\"secret\":\"x\"}", "secret"},
        {TLY_SOURCE_SEGMENT, "{\"shared_secret\":\"\"}", "shared_secret"},
        {TLY_SOURCE_SEGMENT, "{\"shared_secret\":5}", "shared_secret"},
        {TLY_SOURCE_SEGMENT, "{\"shared_secret\":\"a\",\"shared_secret\":\"b\"}", "shared_secret"},
        {TLY_SOURCE_SEGMENT, "{\"shared_secret_set\":true}", "shared_secret"},
        {TLY_SOURCE_SEGMENT, "{\"shared_secret_set\":1}", "shared_secret_set"},
        {TLY_SOURCE_SEGMENT, "{\"basic_auth\":[]}", "basic_auth"},
        {TLY_SOURCE_SEGMENT, "{\"source\":\"moengage\"}", "source"},
        {TLY_SOURCE_SEGMENT, "{\"mapping\":{\"user_id\":\"traits/email\"}}", "mapping.user_id"},
        {TLY_SOURCE_SEGMENT, "{\"mapping\":{\"user_id\":\"/a~2\"}}", "mapping.user_id"},
        {TLY_SOURCE_SEGMENT, "{\"mapping\":{\"user_id\":\"\"}}", "mapping.user_id"},
        {TLY_SOURCE_SEGMENT, "{\"mapping\":{\"user_id\":5}}", "mapping.user_id"},
        {TLY_SOURCE_SEGMENT, "{\"mapping\":{\"userid\":\"/a\"}}", "mapping.userid"},
        {TLY_SOURCE_SEGMENT, "{\"mapping\":[]}", "mapping"},
        {TLY_SOURCE_SERVER, "{\"mapping\":{\"user_id\":\"/a\"}}", "mapping"},
        {TLY_SOURCE_SERVER, "{\"shared_secret\":\"x\"}", "shared_secret"},
        {TLY_SOURCE_WEBENGAGE, "{\"license_code\":\"lic\"}", "secret_key"},
        {TLY_SOURCE_WEBENGAGE, "{\"secret_key\":\"k\"}", "license_code"},
        {TLY_SOURCE_WEBENGAGE, "{\"license_code\":\"\",\"secret_key\":\"k\"}", "license_code"},
        {TLY_SOURCE_WEBENGAGE, "{\"license_code\":\"a b\",\"secret_key\":\"k\"}", "license_code"},
        {TLY_SOURCE_WEBENGAGE, "{\"license_code\":\"lic\",\"secret_key\":5}", "secret_key"},
        {TLY_SOURCE_WEBENGAGE, "{\"license_code\":\"lic\",\"secret_set\":true}", "secret_key"},
        {TLY_SOURCE_MOENGAGE, "{\"event_name_field\":\"code\"}", "event_name_field"},
        {TLY_SOURCE_MOENGAGE, "{\"event_name_field\":null}", "event_name_field"},
        {TLY_SOURCE_MOENGAGE, "{\"target_names\":{}}", "target_names"},
        {TLY_SOURCE_MOENGAGE, "{\"basic_auth\":{}}", "basic_auth"},
        {TLY_SOURCE_MOENGAGE, "{\"basic_auth\":[5]}", "basic_auth[0]"},
        {TLY_SOURCE_MOENGAGE, "{\"basic_auth\":[{\"username\":\"u\"}]}", "basic_auth[0]"},
        {TLY_SOURCE_MOENGAGE, "{\"basic_auth\":[{\"username\":\"u:x\",\"password\":\"p\"}]}",
         "basic_auth[0]"},
        {TLY_SOURCE_MOENGAGE, "{\"basic_auth\":[{\"username\":\"u\",\"password\":\"\"}]}",
         "basic_auth[0]"},
        {TLY_SOURCE_MOENGAGE,
         "{\"basic_auth\":[{\"username\":\"u\",\"password\":\"p\",\"role\":\"x\"}]}",
         "basic_auth[0]"},
        {TLY_SOURCE_MOENGAGE,
         "{\"basic_auth\":[{\"username\":\"u\",\"password\":\"p\"},{\"username\":\"v\","
         "\"password\":\"p\"},{\"username\":\"u\",\"password\":\"q\"}]}",
         "basic_auth[2]"},
        {TLY_SOURCE_MOENGAGE, "{\"basic_auth\":[{\"username\":\"u\",\"password_set\":true}]}",
         "basic_auth[0]"},
        {TLY_SOURCE_CLEVERTAP, "{\"target_names\":[]}", "target_names"},
        {TLY_SOURCE_CLEVERTAP, "{\"target_names\":{\"1\":5}}", "target_names.1"},
        {TLY_SOURCE_CLEVERTAP, "{\"target_names\":{\"1\":\"\"}}", "target_names.1"},
        {TLY_SOURCE_CLEVERTAP, "{\"target_names\":{\"1\":\"\xde\"}}", "target_names.1"},
        {TLY_SOURCE_SEGMENT, "{\"mapping\":{\"user_id\":\"/\xff\"}}", "mapping.user_id"},
        {TLY_SOURCE_CLEVERTAP, "{\"event_name_field\":\"event_code\"}", "event_name_field"},
        {TLY_SOURCE_TRACK, "{\"shared_secret\":\"x\"}", "shared_secret"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *stored = NULL;
        struct tly_error err;
        int rc = tly_source_settings_parse(cases[i].source, cases[i].body, strlen(cases[i].body),
                                           NULL, &stored, &err);
        if (rc != TLY_EINVAL)
            fail_msg("%s %s: got %d, want TLY_EINVAL", tly_source_name(cases[i].source),
                     cases[i].body, rc);
        assert_null(stored);
        if (strcmp(err.field, cases[i].field) != 0)
            fail_msg("%s %s: field \"%s\" (%s), want \"%s\"", tly_source_name(cases[i].source),
                     cases[i].body, err.field, err.msg, cases[i].field);
    }
}

static void test_accepted(void **state)
{
    (void)state;
    static const struct {
        int source;
        const char *body;
        const char *stored; /* printed stored document */
        const char *view;   /* the GET members */
    } cases[] = {
        {TLY_SOURCE_SERVER, "{}", "{}", ""},
        {TLY_SOURCE_SEGMENT, "{\"shared_secret\":\"abc123\"}", "{\"shared_secret\":\"abc123\"}",
         ",\"shared_secret_set\":true,\"mapping\":{}"},
        {TLY_SOURCE_SEGMENT, "{\"shared_secret\":null,\"updated_at\":\"x\",\"source\":\"segment\"}",
         "{}", ",\"shared_secret_set\":false,\"mapping\":{}"},
        {TLY_SOURCE_SEGMENT, "{\"mapping\":{\"user_id\":\"/traits/email\",\"timestamp\":null}}",
         "{\"mapping\":{\"user_id\":\"/traits/email\"}}",
         ",\"shared_secret_set\":false,\"mapping\":{\"user_id\":\"/traits/email\"}"},
        {TLY_SOURCE_WEBENGAGE, "{\"license_code\":\"~2024c5a1\",\"secret_key\":\"we-secret-key\"}",
         NULL, ",\"license_code\":\"~2024c5a1\",\"secret_set\":true,\"mapping\":{}"},
        {TLY_SOURCE_MOENGAGE,
         "{\"basic_auth\":[{\"username\":\"moe\",\"password\":\"pw-1\"}],"
         "\"event_name_field\":\"event_code\",\"mapping\":{\"user_id\":\"/user_attributes/"
         "email\"}}",
         NULL,
         ",\"basic_auth\":[{\"username\":\"moe\",\"password_set\":true}],"
         "\"mapping\":{\"user_id\":\"/user_attributes/"
         "email\"},\"event_name_field\":\"event_code\""},
        {TLY_SOURCE_CLEVERTAP, "{\"target_names\":{\"1700\":\"Cart Abandoned\"}}",
         "{\"target_names\":{\"1700\":\"Cart Abandoned\"}}",
         ",\"basic_auth\":[],\"mapping\":{},\"target_names\":{\"1700\":\"Cart Abandoned\"}"},
        {TLY_SOURCE_TRACK, "{}", "{}", ",\"basic_auth\":[],\"mapping\":{}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *stored = parse_ok(cases[i].source, cases[i].body, NULL);
        char *text = cJSON_PrintUnformatted(stored);
        if (cases[i].stored != NULL && strcmp(text, cases[i].stored) != 0)
            fail_msg("%s: stored %s, want %s", cases[i].body, text, cases[i].stored);
        char *view = public_of(cases[i].source, stored);
        if (strcmp(view, cases[i].view) != 0)
            fail_msg("%s: view %s, want %s", cases[i].body, view, cases[i].view);
        /* No password or secret key in either form. */
        assert_null(strstr(view, "pw-1"));
        assert_null(strstr(text, "pw-1"));
        assert_null(strstr(text, "we-secret-key"));
        assert_null(strstr(view, "abc123"));
        cJSON_free(text);
        free(view);
        tly_source_settings_free(stored);
    }
}

static void test_hashes(void **state)
{
    (void)state;
    cJSON *s =
        parse_ok(TLY_SOURCE_WEBENGAGE,
                 "{\"license_code\":\"~2024c5a1\",\"secret_key\":\"we-secret-key-7f3a\"}", NULL);
    /* What WebEngage sends as `secret`: MD5 of "<license>:<key>" (computed
     * with md5sum). */
    assert_string_equal(cJSON_GetObjectItem(s, "secret_md5")->valuestring, WE_MD5);
    tly_source_settings_free(s);
    s = parse_ok(TLY_SOURCE_TRACK, "{\"basic_auth\":[{\"username\":\"u\",\"password\":\"abc\"}]}",
                 NULL);
    const cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(s, "basic_auth"), 0);
    /* SHA-256("abc"), FIPS 180-2 appendix B.1. */
    assert_string_equal(cJSON_GetObjectItem(p, "password_sha256")->valuestring,
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    tly_source_settings_free(s);
}

static void test_keep(void **state)
{
    (void)state;
    cJSON *prev = parse_ok(TLY_SOURCE_SEGMENT, "{\"shared_secret\":\"abc123\"}", NULL);
    cJSON *s = parse_ok(TLY_SOURCE_SEGMENT,
                        "{\"shared_secret_set\":true,\"mapping\":{\"event_id\":\"/id\"}}", prev);
    assert_string_equal(cJSON_GetObjectItem(s, "shared_secret")->valuestring, "abc123");
    tly_source_settings_free(s);
    s = parse_ok(TLY_SOURCE_SEGMENT, "{\"shared_secret_set\":false}", prev);
    assert_null(cJSON_GetObjectItem(s, "shared_secret"));
    tly_source_settings_free(s);
    tly_source_settings_free(prev);

    prev = parse_ok(TLY_SOURCE_WEBENGAGE, "{\"license_code\":\"lic\",\"secret_key\":\"k\"}", NULL);
    s = parse_ok(TLY_SOURCE_WEBENGAGE, "{\"license_code\":\"lic\",\"secret_set\":true}", prev);
    assert_string_equal(cJSON_GetObjectItem(s, "secret_md5")->valuestring,
                        cJSON_GetObjectItem(prev, "secret_md5")->valuestring);
    tly_source_settings_free(s);
    /* Another license code: the old MD5 covers the old one; refused. */
    struct tly_error err;
    const char *other = "{\"license_code\":\"lic2\",\"secret_set\":true}";
    assert_int_equal(
        tly_source_settings_parse(TLY_SOURCE_WEBENGAGE, other, strlen(other), prev, &s, &err),
        TLY_EINVAL);
    assert_string_equal(err.field, "secret_key");
    tly_source_settings_free(prev);

    prev = parse_ok(TLY_SOURCE_MOENGAGE,
                    "{\"basic_auth\":[{\"username\":\"a\",\"password\":\"pa\"},"
                    "{\"username\":\"b\",\"password\":\"pb\"}]}",
                    NULL);
    s = parse_ok(TLY_SOURCE_MOENGAGE,
                 "{\"basic_auth\":[{\"username\":\"b\",\"password_set\":true},"
                 "{\"username\":\"c\",\"password\":\"pc\"}]}",
                 prev);
    const cJSON *list = cJSON_GetObjectItem(s, "basic_auth");
    assert_int_equal(cJSON_GetArraySize(list), 2);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(list, 0), "password_sha256")->valuestring,
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(prev, "basic_auth"), 1),
                            "password_sha256")
            ->valuestring);
    /* The GET view of s, sent back, keeps both. */
    char *view = public_of(TLY_SOURCE_MOENGAGE, s);
    char body[512];
    snprintf(body, sizeof body, "{\"source\":\"moengage\"%s,\"updated_at\":null}", view);
    cJSON *again = parse_ok(TLY_SOURCE_MOENGAGE, body, s);
    char *a = cJSON_PrintUnformatted(again), *b = cJSON_PrintUnformatted(s);
    assert_string_equal(a, b);
    cJSON_free(a);
    cJSON_free(b);
    free(view);
    tly_source_settings_free(again);
    tly_source_settings_free(s);
    tly_source_settings_free(prev);
}

static void test_conflict(void **state)
{
    (void)state;
    cJSON *a = parse_ok(TLY_SOURCE_MOENGAGE,
                        "{\"basic_auth\":[{\"username\":\"x\",\"password\":\"1\"},"
                        "{\"username\":\"shared\",\"password\":\"2\"}]}",
                        NULL);
    cJSON *b = parse_ok(TLY_SOURCE_MOENGAGE,
                        "{\"basic_auth\":[{\"username\":\"shared\",\"password\":\"3\"}]}", NULL);
    cJSON *c = parse_ok(TLY_SOURCE_MOENGAGE,
                        "{\"basic_auth\":[{\"username\":\"other\",\"password\":\"3\"}]}", NULL);
    struct tly_error err;
    assert_int_equal(tly_source_settings_conflict(a, b, &err), TLY_ECONFLICT);
    assert_string_equal(err.field, "basic_auth[1].username");
    assert_int_equal(tly_source_settings_conflict(a, c, &err), 0);
    assert_int_equal(tly_source_settings_conflict(a, NULL, &err), 0);
    cJSON *w1 =
        parse_ok(TLY_SOURCE_WEBENGAGE, "{\"license_code\":\"L\",\"secret_key\":\"1\"}", NULL);
    cJSON *w2 =
        parse_ok(TLY_SOURCE_WEBENGAGE, "{\"license_code\":\"L\",\"secret_key\":\"2\"}", NULL);
    assert_int_equal(tly_source_settings_conflict(w1, w2, &err), TLY_ECONFLICT);
    assert_string_equal(err.field, "license_code");
    tly_source_settings_free(a);
    tly_source_settings_free(b);
    tly_source_settings_free(c);
    tly_source_settings_free(w1);
    tly_source_settings_free(w2);
}

static void test_config(void **state)
{
    (void)state;
    struct tly_source_config cfg;
    tly_source_config_init(&cfg, NULL);
    for (int i = 0; i < TLY_MAP_FIELD_COUNT; i++)
        assert_null(cfg.pointer[i]);
    tly_source_config_free(&cfg);
    tly_source_config_init(&cfg, parse_ok(TLY_SOURCE_MOENGAGE,
                                          "{\"event_name_field\":\"event_code\",\"mapping\":"
                                          "{\"timestamp\":\"/t\",\"properties\":\"/p\"}}",
                                          NULL));
    assert_true(cfg.name_from_code);
    assert_string_equal(cfg.pointer[TLY_MAP_TIMESTAMP], "/t");
    assert_string_equal(cfg.pointer[TLY_MAP_PROPERTIES], "/p");
    assert_null(cfg.pointer[TLY_MAP_USER_ID]);
    tly_source_config_free(&cfg);
    tly_source_config_free(&cfg); /* zeroed: no-op */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused),  cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_hashes),   cmocka_unit_test(test_keep),
        cmocka_unit_test(test_conflict), cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
