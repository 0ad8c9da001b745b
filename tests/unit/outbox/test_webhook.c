/*
 * Unit tests for outbox/webhook.h: both signature schemes against fixed
 * vectors (the Standard Webhooks specification's own example; Segment's
 * documented HMAC-SHA1 example, the same construction as X-CG-SIGNATURE;
 * a plain secret computed independently with Python's hmac), template
 * substitution, the retry schedule, Retry-After in its three date forms
 * and seconds, and the endpoint settings parser (fields named in errors,
 * secrets left out of answers, round trip).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/json.h"
#include "outbox/webhook.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_sign_cg_vector(void **state)
{
    (void)state;
    char out[41];
    const char body[] = "{\"cool\":true}";
    assert_int_equal(tly_webhook_sign_cg("abc123", body, strlen(body), out), 0);
    assert_string_equal(out, "5099cab379b3be52908387457007040cc934ef86");
    assert_int_equal(tly_webhook_sign_cg("abc124", body, strlen(body), out), 0);
    assert_string_not_equal(out, "5099cab379b3be52908387457007040cc934ef86");
}

static void test_sign_std_vectors(void **state)
{
    (void)state;
    struct tly_buf b;
    tly_buf_init(&b, 0);
    const char body[] = "{\"test\": 2432232314}";
    assert_int_equal(tly_webhook_sign_std("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                          "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body,
                                          strlen(body), &b),
                     0);
    assert_string_equal(b.data, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    tly_buf_reset(&b);
    /* any other secret is its raw bytes */
    assert_int_equal(tly_webhook_sign_std("plain-secret", "msg_1", 5, "{}", 2, &b), 0);
    assert_string_equal(b.data, "v1,ZOA6I2ri46/9sEb20I5iRyNN2q2j84c37WjsqMYLqZ8=");
    tly_buf_reset(&b);
    assert_int_equal(tly_webhook_sign_std("whsec_***", "m", 1, "", 0, &b), TLY_EINVAL);
    assert_int_equal(tly_webhook_sign_std("whsec_", "m", 1, "", 0, &b), TLY_EINVAL);
    tly_buf_free(&b);
}

static char *apply(const char *tmpl, const char *payload)
{
    cJSON *t = cJSON_Parse(tmpl), *p = cJSON_Parse(payload);
    assert_non_null(t);
    assert_non_null(p);
    cJSON *out = tly_template_apply(t, p);
    assert_non_null(out);
    char *s = cJSON_PrintUnformatted(out);
    cJSON_Delete(t);
    cJSON_Delete(p);
    cJSON_Delete(out);
    return s;
}

static void test_template(void **state)
{
    (void)state;
    const char *payload = "{\"userId\":\"u1\",\"rewardAmount\":100,\"details\":{\"orderId\":\"o7\","
                          "\"tags\":[1,2]}}";
    char *s = apply("{\"user\":\"$userId\",\"order\":\"$details.orderId\",\"n\":\"$rewardAmount\","
                    "\"tags\":\"$details.tags\",\"gone\":\"$details.nope.x\",\"lit\":\"$$userId\","
                    "\"plain\":\"userId\",\"list\":[\"$userId\",true,null,{\"$userId\":1}]}",
                    payload);
    assert_string_equal(s,
                        "{\"user\":\"u1\",\"order\":\"o7\",\"n\":100,\"tags\":[1,2],\"gone\":null,"
                        "\"lit\":\"$userId\",\"plain\":\"userId\",\"list\":[\"u1\",true,null,"
                        "{\"$userId\":1}]}");
    cJSON_free(s);
    /* a path through a non-object is null */
    s = apply("[\"$userId.x\",\"$details.tags.0\"]", payload);
    assert_string_equal(s, "[null,null]");
    cJSON_free(s);

    struct tly_error err;
    const char *bad[] = {"{\"a\":\"$\"}", "{\"a\":\"$x..y\"}", "[\"$.x\"]", "[\"$x.\"]",
                         "[\"$a.b.c.d.e.f.g.h.i\"]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cJSON *t = cJSON_Parse(bad[i]);
        assert_int_equal(tly_template_check(t, "template", &err), TLY_EINVAL);
        assert_string_equal(err.field, "template");
        cJSON_Delete(t);
    }
    cJSON *t = cJSON_Parse("{\"a\":[\"$x.y\",\"$$\",\"$$.\",\"plain $\"]}");
    assert_int_equal(tly_template_check(t, "template", &err), 0);
    cJSON_Delete(t);
}

static void test_retry_schedule(void **state)
{
    (void)state;
    struct tly_retry_policy p = {1000, 3600000, 86400000};
    /* equal jitter: [d/2, d) for rnd in [0, 1) */
    assert_int_equal(tly_retry_delay(&p, 1, 0), 500);
    assert_int_equal(tly_retry_delay(&p, 1, 0.999999), 999);
    assert_int_equal(tly_retry_delay(&p, 2, 0), 1000);
    assert_int_equal(tly_retry_delay(&p, 3, 0.5), 3000);
    assert_int_equal(tly_retry_delay(&p, 12, 0), 1024000);
    /* 2^12 s > 1 h: capped */
    assert_int_equal(tly_retry_delay(&p, 13, 0), 1800000);
    assert_int_equal(tly_retry_delay(&p, 1000, 0.999999), 3599998);
    int64_t prev = 0;
    for (int a = 1; a < 40; a++) {
        int64_t d = tly_retry_delay(&p, a, 0);
        assert_true(d >= prev);
        prev = d;
    }
}

static void test_retry_after(void **state)
{
    (void)state;
    int64_t d;
    const int64_t now = 784111777000LL; /* Sun, 06 Nov 1994 08:49:37 GMT */
    assert_int_equal(tly_retry_after_parse("120", 3, now, &d), 0);
    assert_int_equal(d, 120000);
    assert_int_equal(tly_retry_after_parse(" 0 ", 3, now, &d), 0);
    assert_int_equal(d, 0);
    const char *imf = "Sun, 06 Nov 1994 08:50:37 GMT";
    assert_int_equal(tly_retry_after_parse(imf, strlen(imf), now, &d), 0);
    assert_int_equal(d, 60000);
    const char *rfc850 = "Sunday, 06-Nov-94 08:49:47 GMT";
    assert_int_equal(tly_retry_after_parse(rfc850, strlen(rfc850), now, &d), 0);
    assert_int_equal(d, 10000);
    const char *asc = "Sun Nov  6 08:49:39 1994";
    assert_int_equal(tly_retry_after_parse(asc, strlen(asc), now, &d), 0);
    assert_int_equal(d, 2000);
    const char *past = "Sat, 05 Nov 1994 08:49:37 GMT";
    assert_int_equal(tly_retry_after_parse(past, strlen(past), now, &d), 0);
    assert_int_equal(d, 0);
    const char *bad[] = {"",
                         "-1",
                         "1.5",
                         "soon",
                         "Sun, 06 Nov 1994 08:49:37 UTC",
                         "Sun, 32 Nov 1994 08:49:37 GMT",
                         "Sun, 06 Foo 1994 08:49:37 GMT",
                         "Sun, 06 Nov 1994 25:49:37 GMT",
                         "99999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(tly_retry_after_parse(bad[i], strlen(bad[i]), now, &d), TLY_EINVAL);
}

static void test_settings(void **state)
{
    (void)state;
    struct tly_webhooks w;
    struct tly_error err;
    static const struct {
        const char *doc, *field;
    } bad[] = {
        {"[]", ""},
        {"{}", "endpoints"},
        {"{\"endpoints\":{}}", "endpoints"},
        {"{\"endpoints\":[{\"events\":[\"reward_issued\"]}]}", "endpoints[0].url"},
        {"{\"endpoints\":[{\"url\":\"https://a\",\"events\":[\"reward_issued\"]},"
         "{\"url\":\"mailto:x\",\"events\":[\"reward_issued\"]}]}",
         "endpoints[1].url"},
        {"{\"endpoints\":[{\"url\":\"https://a:0/\",\"events\":[\"reward_issued\"]}]}",
         "endpoints[0].url"},
        {"{\"endpoints\":[{\"url\":\"https://a b\",\"events\":[\"reward_issued\"]}]}",
         "endpoints[0].url"},
        {"{\"endpoints\":[{\"url\":\"https:///x\",\"events\":[\"reward_issued\"]}]}",
         "endpoints[0].url"},
        {"{\"endpoints\":[{\"url\":\"https://a\"}]}", "endpoints[0].events"},
        {"{\"endpoints\":[{\"url\":\"https://a\",\"events\":[\"reward_issued\",7]}]}",
         "endpoints[0].events[1]"},
        {"{\"endpoints\":[{\"url\":\"https://a\",\"events\":[\"reward_issued\"],\"secret\":\"\"}]}",
         "endpoints[0].secret"},
        {"{\"endpoints\":[{\"id\":\"A\",\"url\":\"https://a\",\"events\":[\"reward_issued\"]}]}",
         "endpoints[0].id"},
        {"{\"endpoints\":[{\"id\":\"x\",\"url\":\"https://a\",\"events\":[\"reward_issued\"]},"
         "{\"id\":\"x\",\"url\":\"https://b\",\"events\":[\"reward_issued\"]}]}",
         "endpoints[1].id"},
        {"{\"endpoints\":[{\"url\":\"https://a\",\"events\":[\"reward_issued\"],\"template\":3}]}",
         "endpoints[0].template"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = tly_webhooks_parse(bad[i].doc, strlen(bad[i].doc), &w, &err);
        if (rc != TLY_EINVAL || strcmp(err.field, bad[i].field) != 0)
            fail_msg("%s: rc %d field '%s' (%s), want '%s'", bad[i].doc, rc, err.field, err.msg,
                     bad[i].field);
    }
    const char *doc =
        "{\"endpoints\":[{\"url\":\"http://[::1]:8080/h?x=1\",\"secret\":\"k\","
        "\"events\":[\"segment_exited\",\"reward_issued\"],"
        "\"template\":{\"u\":\"$userId\"}},{\"id\":\"b\",\"url\":\"https://b.example\","
        "\"events\":[\"campaign_completed\"]}]}";
    assert_int_equal(tly_webhooks_parse(doc, strlen(doc), &w, &err), 0);
    assert_int_equal(w.n, 2);
    assert_string_equal(w.ep[0].id, "endpoint-1");
    assert_int_equal(w.ep[0].events, TLY_WEBHOOK_REWARD_ISSUED | TLY_WEBHOOK_SEGMENT_EXITED);
    struct tly_buf a, b;
    tly_buf_init(&a, 0);
    tly_buf_init(&b, 0);
    assert_int_equal(tly_webhooks_to_json(&w, 0, &a), 0);
    assert_null(strstr(a.data, "\"k\""));
    assert_non_null(strstr(a.data, "\"secret_set\":true"));
    assert_int_equal(tly_webhooks_to_json(&w, 1, &b), 0);
    tly_webhooks_free(&w);
    /* the stored form parses back to the same */
    assert_int_equal(tly_webhooks_parse(b.data, b.len, &w, &err), 0);
    tly_buf_reset(&a);
    assert_int_equal(tly_webhooks_to_json(&w, 1, &a), 0);
    assert_string_equal(a.data, b.data);
    tly_webhooks_free(&w);
    tly_buf_free(&a);
    tly_buf_free(&b);

    char why[128], host[256];
    assert_int_equal(tly_webhook_url_check("https://Example.com:443/p", why, host), 0);
    assert_string_equal(host, "Example.com");
    assert_int_equal(tly_webhook_url_check("http://[fe80::1]/", why, host), 0);
    assert_string_equal(host, "fe80::1");
    assert_int_equal(tly_webhook_url_check("http://a:99999/", why, host), TLY_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_cg_vector), cmocka_unit_test(test_sign_std_vectors),
        cmocka_unit_test(test_template),       cmocka_unit_test(test_retry_schedule),
        cmocka_unit_test(test_retry_after),    cmocka_unit_test(test_settings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
