/*
 * Segment definitions (src/engine/segment.h): every rule's 400 with its
 * field, defaults, the canonical round trip, behaviour comparisons and the
 * CSV reader (header, quotes, CRLF, blank lines, errors with their line).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "engine/segment.h"

#include <string.h>

static int parse_err(const char *json, char *field)
{
    struct tly_segment *s = NULL;
    struct tly_error err = {{0}};
    int rc = tly_segment_parse(json, strlen(json), &s, &err);
    strcpy(field, err.field);
    tly_segment_free(s);
    return rc;
}

static void test_rules_name_their_field(void **state)
{
    (void)state;
    static const struct {
        const char *json, *field;
    } cases[] = {
        {"{\"type\":\"static\"}", "id"},
        {"{\"id\":\"A\",\"type\":\"static\"}", "id"},
        {"{\"id\":\"a\"}", "type"},
        {"{\"id\":\"a\",\"type\":\"static\",\"conditions\":[]}", "conditions"},
        {"{\"id\":\"a\",\"type\":\"event\"}", "conditions"},
        {"{\"id\":\"a\",\"type\":\"event\",\"match\":\"most\",\"conditions\":[]}", "match"},
        {"{\"id\":\"a\",\"type\":\"event\",\"conditions\":[{\"path\":\"x\",\"op\":\"gt\","
         "\"value\":\"s\"}]}",
         "conditions[0].value"},
        {"{\"id\":\"a\",\"type\":\"event\",\"conditions\":[{\"event\":\"e\",\"op\":\"in\","
         "\"value\":1}]}",
         "conditions[0].op"},
        {"{\"id\":\"a\",\"type\":\"event\",\"conditions\":[{\"event\":\"e\",\"measure\":\"sum\","
         "\"op\":\"gte\",\"value\":1}]}",
         "conditions[0].property"},
        {"{\"id\":\"a\",\"type\":\"event\",\"conditions\":[{\"event\":\"e\",\"op\":\"gte\","
         "\"value\":1,\"within\":\"0d\"}]}",
         "conditions[0].within"},
        {"{\"id\":\"a\",\"type\":\"static\",\"extra\":1}", "extra"},
    };
    char field[64];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(parse_err(cases[i].json, field), TLY_EINVAL);
        assert_string_equal(field, cases[i].field);
    }
}

static void test_round_trip_and_defaults(void **state)
{
    (void)state;
    const char *in = "{\"id\":\"b\",\"type\":\"event\",\"conditions\":[{\"path\":\"plan\","
                     "\"op\":\"eq\",\"value\":\"gold\"},{\"event\":\"o\",\"op\":\"gte\","
                     "\"value\":3,\"within\":\"30d\"}]}";
    struct tly_segment *s, *t;
    struct tly_error err;
    assert_int_equal(tly_segment_parse(in, strlen(in), &s, &err), 0);
    assert_string_equal(s->name, "b");
    assert_int_equal(s->match_any, 0);
    assert_int_equal(s->cond[1].measure, TLY_MEASURE_COUNT);
    assert_true(s->cond[1].within_ms == 30LL * 86400000);
    struct tly_buf b;
    tly_buf_init(&b, 0);
    assert_int_equal(tly_segment_to_json(s, &b), 0);
    assert_int_equal(tly_segment_parse(b.data, b.len, &t, &err), 0);
    assert_true(tly_segment_same_rules(s, t));
    assert_true(tly_segcond_compare(&s->cond[1], 3));
    assert_false(tly_segcond_compare(&s->cond[1], 2));
    assert_true(tly_segcond_matches(&s->cond[1], "o", NULL));
    assert_false(tly_segcond_matches(&s->cond[1], "p", NULL));
    tly_buf_free(&b);
    tly_segment_free(s);
    tly_segment_free(t);
}

static void test_csv(void **state)
{
    (void)state;
    const char *csv = "user_id\r\nu1\r\n\"u,2\"\n\nu3,other\n\"a\"\"b\"";
    const char *want[] = {"u1", "u,2", "u3", "a\"b"};
    size_t pos = 0, line = 0;
    char id[257];
    struct tly_error err;
    for (int i = 0; i < 4; i++) {
        assert_int_equal(tly_segment_csv_next(csv, strlen(csv), &pos, &line, id, sizeof id, &err),
                         1);
        assert_string_equal(id, want[i]);
    }
    assert_int_equal(tly_segment_csv_next(csv, strlen(csv), &pos, &line, id, sizeof id, &err), 0);
    const char *bad = "ok\n\"open\n";
    pos = line = 0;
    assert_int_equal(tly_segment_csv_next(bad, strlen(bad), &pos, &line, id, sizeof id, &err), 1);
    assert_int_equal(tly_segment_csv_next(bad, strlen(bad), &pos, &line, id, sizeof id, &err),
                     TLY_EINVAL);
    assert_non_null(strstr(err.msg, "line 2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules_name_their_field),
        cmocka_unit_test(test_round_trip_and_defaults),
        cmocka_unit_test(test_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
