/*
 * Unit tests for src/engine/campaign.h: every rule of a definition refused
 * with TLY_EINVAL naming the field by its path, the defaults, the canonical
 * JSON and its round trip, the change check of an active campaign, dot
 * paths, every `where` op (missing values and type mismatches included),
 * value keys of distinct sets, and the [starts_at, ends_at) bounds.
 *
 * Definitions are written with ' for " (see J) so the tables stay
 * readable; every definition is parsed from an exact-size heap copy
 * without a terminating NUL, so the ASan variant sees any read past `len`.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/json.h"
#include "engine/campaign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The smallest valid definition, and one activity to put in others. */
#define MIN_ACT   "{'id':'a','event':'e','measure':'count','target':1}"
#define MIN_ACT_B "{'id':'b','event':'e','measure':'count','target':1}"
#define MIN       "{'id':'c1','name':'N','activities':[" MIN_ACT "]}"

/* `s` with every ' turned into ", in a heap block of exactly strlen bytes. */
static char *J(const char *s, size_t *len)
{
    size_t n = strlen(s);
    char *t = malloc(n > 0 ? n : 1);
    assert_non_null(t);
    for (size_t i = 0; i < n; i++)
        t[i] = s[i] == '\'' ? '"' : s[i];
    *len = n;
    return t;
}

static int parse(const char *s, struct tly_campaign **c, struct tly_error *err)
{
    size_t n;
    char *t = J(s, &n);
    memset(err, 0, sizeof *err);
    int rc = tly_campaign_parse(t, n, c, err);
    free(t);
    return rc;
}

static struct tly_campaign *must_parse(const char *s)
{
    struct tly_campaign *c = NULL;
    struct tly_error err;
    int rc = parse(s, &c, &err);
    if (rc != 0)
        print_error("definition %s refused: %s\n", s, err.msg);
    assert_int_equal(rc, 0);
    assert_non_null(c);
    return c;
}

/* The canonical JSON of `c` as a NUL-terminated heap string. */
static char *canon(const struct tly_campaign *c)
{
    struct tly_buf b;
    tly_buf_init(&b, 0);
    assert_int_equal(tly_campaign_to_json(c, &b), 0);
    char *s = strndup(b.data, b.len);
    tly_buf_free(&b);
    assert_non_null(s);
    return s;
}

/* ---- rules: each broken one is TLY_EINVAL naming the field ------------- */

struct reject {
    const char *json;
    const char *field; /* err.field */
    const char *what;  /* part of err.msg */
};

static const struct reject rejects[] = {
    /* the document */
    {"[]", "", "expected a JSON object"},
    {"{'id':'c1',", "", "invalid JSON"},
    {"{'id':'c1','name':'N','activities':[" MIN_ACT "],'colour':'red'}", "colour", "unknown field"},
    {"{'id':'c1','id':'c2','name':'N','activities':[" MIN_ACT "]}", "id", "given twice"},
    /* webhook: the endpoint document of PUT /v1/webhooks */
    {"{'id':'c1','name':'N','activities':[" MIN_ACT "],'webhook':{}}", "webhook.endpoints",
     "required"},
    {"{'id':'c1','name':'N','activities':[" MIN_ACT "],'webhook':[]}", "webhook",
     "expected an object"},
    {"{'id':'c1','name':'N','activities':[" MIN_ACT "],'webhook':{'endpoints':[{'url':"
     "'ftp://x','events':['reward_issued']}]}}",
     "webhook.endpoints[0].url", "http:// or https://"},
    {"{'id':'c1','name':'N','activities':[" MIN_ACT "],'webhook':{'endpoints':[{'url':"
     "'https://x.example','events':['paid']}]}}",
     "webhook.endpoints[0].events[0]", "expected reward_issued"},
    {"{'id':'c1','name':'N','activities':[" MIN_ACT "],'webhook':{'endpoints':[{'url':"
     "'https://x.example','events':['reward_issued'],'template':{'u':'$a..b'}}]}}",
     "webhook.endpoints[0].template", "not a reference"},
    /* id */
    {"{'name':'N','activities':[" MIN_ACT "]}", "id", "required"},
    {"{'id':7,'name':'N','activities':[" MIN_ACT "]}", "id", "expected a string, got number"},
    {"{'id':'','name':'N','activities':[" MIN_ACT "]}", "id", "must not be empty"},
    {"{'id':'Orders','name':'N','activities':[" MIN_ACT "]}", "id", "a-z, 0-9, _ and -"},
    {"{'id':'a b','name':'N','activities':[" MIN_ACT "]}", "id", "a-z, 0-9, _ and -"},
    {"{'id':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','name':'N',"
     "'activities':[" MIN_ACT "]}",
     "id", "1 to 64"},
    /* name */
    {"{'id':'c1','activities':[" MIN_ACT "]}", "name", "required"},
    {"{'id':'c1','name':null,'activities':[" MIN_ACT "]}", "name", "expected a string, got null"},
    {"{'id':'c1','name':'','activities':[" MIN_ACT "]}", "name", "must not be empty"},
    /* status, window, complete_when, enrollment */
    {"{'id':'c1','name':'N','status':'live','activities':[" MIN_ACT "]}", "status",
     "expected draft, active, paused or ended"},
    {"{'id':'c1','name':'N','window':'year','activities':[" MIN_ACT "]}", "window",
     "expected campaign, day, week or month"},
    {"{'id':'c1','name':'N','complete_when':'some','activities':[" MIN_ACT "]}", "complete_when",
     "expected all or any"},
    {"{'id':'c1','name':'N','enrollment':true,'activities':[" MIN_ACT "]}", "enrollment",
     "expected auto or accept"},
    /* timezone */
    {"{'id':'c1','name':'N','timezone':'Mars/Olympus','activities':[" MIN_ACT "]}", "timezone",
     "unknown time zone"},
    {"{'id':'c1','name':'N','timezone':'../etc/passwd','activities':[" MIN_ACT "]}", "timezone",
     "time zone"},
    {"{'id':'c1','name':'N','timezone':5,'activities':[" MIN_ACT "]}", "timezone",
     "expected a string"},
    /* bounds */
    {"{'id':'c1','name':'N','starts_at':'2026-01-01','activities':[" MIN_ACT "]}", "starts_at",
     "starts_at: "},
    {"{'id':'c1','name':'N','starts_at':'1767225600','activities':[" MIN_ACT "]}", "starts_at",
     "ISO-8601"},
    {"{'id':'c1','name':'N','ends_at':1767225600,'activities':[" MIN_ACT "]}", "ends_at",
     "ISO-8601"},
    {"{'id':'c1','name':'N','starts_at':'2026-02-01T00:00:00Z','ends_at':'2026-01-01T00:00:00Z',"
     "'activities':[" MIN_ACT "]}",
     "ends_at", "later than starts_at"},
    {"{'id':'c1','name':'N','starts_at':'2026-01-01T00:00:00Z','ends_at':'2026-01-01T05:30:00+05:"
     "30','activities':[" MIN_ACT "]}",
     "ends_at", "later than starts_at"},
    /* max_completions, segment, count_before_entry */
    {"{'id':'c1','name':'N','max_completions':-1,'activities':[" MIN_ACT "]}", "max_completions",
     "whole number from 0"},
    {"{'id':'c1','name':'N','max_completions':1.5,'activities':[" MIN_ACT "]}", "max_completions",
     "whole number"},
    {"{'id':'c1','name':'N','max_completions':'3','activities':[" MIN_ACT "]}", "max_completions",
     "whole number"},
    {"{'id':'c1','name':'N','segment':'VIP users','activities':[" MIN_ACT "]}", "segment",
     "segment id"},
    {"{'id':'c1','name':'N','segment':3,'activities':[" MIN_ACT "]}", "segment", "segment id"},
    {"{'id':'c1','name':'N','count_before_entry':1,'activities':[" MIN_ACT "]}",
     "count_before_entry", "expected true or false"},
    /* activities */
    {"{'id':'c1','name':'N'}", "activities", "required"},
    {"{'id':'c1','name':'N','activities':{}}", "activities", "expected an array"},
    {"{'id':'c1','name':'N','activities':[]}", "activities", "1 to 32 activities, got 0"},
    {"{'id':'c1','name':'N','activities':[3]}", "activities[0]", "expected an object"},
    {"{'id':'c1','name':'N','activities':[" MIN_ACT ",{'id':'a','event':'e','measure':'count',"
     "'target':2}]}",
     "activities[1].id", "also the id of activities[0]"},
    {"{'id':'c1','name':'N','activities':[{'event':'e','measure':'count','target':1}]}",
     "activities[0].id", "required"},
    {"{'id':'c1','name':'N','activities':[{'id':'A','event':'e','measure':'count','target':1}]}",
     "activities[0].id", "a-z"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','measure':'count','target':1}]}",
     "activities[0].event", "required"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'','measure':'count','target':1}]}",
     "activities[0].event", "must not be empty"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','measure':'count','target':1,"
     "'label':'x'}]}",
     "activities[0].label", "unknown field"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','target':1}]}",
     "activities[0].measure", "required"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','measure':'avg','target':1}]}",
     "activities[0].measure", "expected count, sum, distinct or streak"},
    /* property */
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','measure':'sum','target':1}]}",
     "activities[0].property", "required"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','measure':'distinct','target':1}]}",
     "activities[0].property", "required"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','measure':'count','property':'x',"
     "'target':1}]}",
     "activities[0].property", "only for measure sum or distinct"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','measure':'streak','property':'x',"
     "'target':1}]}",
     "activities[0].property", "only for measure sum or distinct"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','measure':'sum','property':'a..b',"
     "'target':1}]}",
     "activities[0].property", "empty segment"},
    /* target */
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','measure':'count'}]}",
     "activities[0].target", "required"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','measure':'count','target':0}]}",
     "activities[0].target", "greater than 0"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','measure':'sum','property':'x',"
     "'target':-5}]}",
     "activities[0].target", "greater than 0"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','measure':'count','target':'3'}]}",
     "activities[0].target", "expected a number"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','measure':'count','target':2.5}]}",
     "activities[0].target", "whole number for measure count"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','measure':'distinct','property':'"
     "x','target':1.5}]}",
     "activities[0].target", "whole number for measure distinct"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','measure':'streak','target':0.5}]}",
     "activities[0].target", "whole number for measure streak"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','measure':'sum','property':'x',"
     "'target':1e999}]}",
     "activities[0].target", "greater than 0"},
    /* period and streak */
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','measure':'count','target':1,"
     "'period':'day'}]}",
     "activities[0].period", "only for measure streak"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','measure':'streak','target':3,"
     "'period':'month'}]}",
     "activities[0].period", "expected day or week"},
    {"{'id':'c1','name':'N','window':'week','activities':[" MIN_ACT ",{'id':'s','event':'e',"
     "'measure':'streak','target':3}]}",
     "window", "activities[1] is a streak"},
    /* where */
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','where':{},'measure':'count',"
     "'target':1}]}",
     "activities[0].where", "expected an array"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','where':['x'],'measure':'count',"
     "'target':1}]}",
     "activities[0].where[0]", "expected an object"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','where':[{'op':'eq','value':1}],"
     "'measure':'count','target':1}]}",
     "activities[0].where[0].path", "required"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','where':[{'path':'','op':'eq',"
     "'value':1}],'measure':'count','target':1}]}",
     "activities[0].where[0].path", "must not be empty"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','where':[{'path':'a.','op':'eq',"
     "'value':1}],'measure':'count','target':1}]}",
     "activities[0].where[0].path", "empty segment"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','where':[{'path':'.a','op':'eq',"
     "'value':1}],'measure':'count','target':1}]}",
     "activities[0].where[0].path", "empty segment"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','where':[{'path':'a.b.c.d.e.f.g."
     "h.i','op':'eq','value':1}],'measure':'count','target':1}]}",
     "activities[0].where[0].path", "at most 8 segments"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','where':[{'path':'a','value':1}],"
     "'measure':'count','target':1}]}",
     "activities[0].where[0].op", "required"},
    {"{'id':'c1','name':'N','activities':[" MIN_ACT ",{'id':'b','event':'e','where':[{'path':'a',"
     "'op':'eq','value':1},{'path':'a','op':'like','value':1}],'measure':'count','target':1}]}",
     "activities[1].where[1].op", "expected eq, ne, gt, gte, lt, lte, in, nin, exists or contains"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','where':[{'path':'a','op':'eq'}],"
     "'measure':'count','target':1}]}",
     "activities[0].where[0].value", "required"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','where':[{'path':'a','op':'gt',"
     "'value':'5'}],'measure':'count','target':1}]}",
     "activities[0].where[0].value", "gt needs a number, got string"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','where':[{'path':'a','op':'lte',"
     "'value':null}],'measure':'count','target':1}]}",
     "activities[0].where[0].value", "lte needs a number, got null"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','where':[{'path':'a','op':'in',"
     "'value':1}],'measure':'count','target':1}]}",
     "activities[0].where[0].value", "in needs an array"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','where':[{'path':'a','op':'nin',"
     "'value':'x'}],'measure':'count','target':1}]}",
     "activities[0].where[0].value", "nin needs an array"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','where':[{'path':'a','op':"
     "'exists','value':1}],'measure':'count','target':1}]}",
     "activities[0].where[0].value", "exists needs true or false"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','where':[{'path':'a','op':"
     "'contains','value':5}],'measure':'count','target':1}]}",
     "activities[0].where[0].value", "contains needs a string"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','where':[{'path':'a','op':'eq',"
     "'value':[1,1e999]}],'measure':'count','target':1}]}",
     "activities[0].where[0].value", "number out of range"},
    {"{'id':'c1','name':'N','activities':[{'id':'a','event':'e','where':[{'path':'a','op':'eq',"
     "'value':1,'note':1}],'measure':'count','target':1}]}",
     "activities[0].where[0].note", "unknown field"},
    /* reward */
    {"{'id':'c1','name':'N','activities':[" MIN_ACT "],'reward':'coins'}", "reward",
     "expected an object"},
    {"{'id':'c1','name':'N','activities':[" MIN_ACT "],'reward':{'name':'x'}}", "reward.type",
     "required"},
    {"{'id':'c1','name':'N','activities':[" MIN_ACT "],'reward':{'type':'points','amount':'1'}}",
     "reward.amount", "expected a number"},
    {"{'id':'c1','name':'N','activities':[" MIN_ACT "],'reward':{'type':'points','code':7}}",
     "reward.code", "expected a string"},
    {"{'id':'c1','name':'N','activities':[" MIN_ACT "],'reward':{'type':'points','url':'x'}}",
     "reward.url", "unknown field"},
};

static void test_rejects(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rejects / sizeof rejects[0]; i++) {
        const struct reject *r = &rejects[i];
        struct tly_campaign *c = NULL;
        struct tly_error err;
        int rc = parse(r->json, &c, &err);
        if (rc != TLY_EINVAL || strcmp(err.field, r->field) != 0 ||
            strstr(err.msg, r->what) == NULL)
            print_error("case %zu %s: rc %d field \"%s\" msg \"%s\"; want field \"%s\", \"%s\"\n",
                        i, r->json, rc, err.field, err.msg, r->field, r->what);
        assert_int_equal(rc, TLY_EINVAL);
        assert_null(c);
        assert_string_equal(err.field, r->field);
        assert_non_null(strstr(err.msg, r->what));
        /* The message opens with the field it names. */
        if (r->field[0] != '\0') {
            assert_true(strncmp(err.msg, r->field, strlen(r->field)) == 0);
            assert_true(strncmp(err.msg + strlen(r->field), ": ", 2) == 0);
        }
    }
}

/* Limits: 32 activities and 16 conditions pass, one more does not; an
 * in list of 256 values passes, 257 not; 64 KB of definition. */
static char *many(const char *head, const char *item, int n, const char *tail)
{
    size_t il = strlen(item), size = strlen(head) + (size_t)n * (il + 8) + strlen(tail) + 1;
    char *s = malloc(size);
    assert_non_null(s);
    size_t len = (size_t)snprintf(s, size, "%s", head);
    for (int i = 0; i < n; i++) {
        int w = snprintf(s + len, size - len, i ? "," : "");
        len += (size_t)w;
        w = snprintf(s + len, size - len, item, i);
        len += (size_t)w;
    }
    snprintf(s + len, size - len, "%s", tail);
    return s;
}

static void expect_limit(const char *head, const char *item, int ok, const char *tail,
                         const char *field)
{
    char *s = many(head, item, ok, tail);
    tly_campaign_free(must_parse(s));
    free(s);
    s = many(head, item, ok + 1, tail);
    struct tly_campaign *c = NULL;
    struct tly_error err;
    assert_int_equal(parse(s, &c, &err), TLY_EINVAL);
    assert_string_equal(err.field, field);
    free(s);
}

static void test_limits(void **state)
{
    (void)state;
    expect_limit("{'id':'c1','name':'N','activities':[",
                 "{'id':'a%d','event':'e','measure':'count','target':1}", 32, "]}", "activities");
    expect_limit("{'id':'c1','name':'N','activities':[{'id':'a','event':'e','where':[",
                 "{'path':'p%d','op':'exists','value':true}", 16,
                 "],'measure':'count','target':1}]}", "activities[0].where");
    expect_limit("{'id':'c1','name':'N','activities':[{'id':'a','event':'e','where':[{'path':'p',"
                 "'op':'in','value':[",
                 "%d", 256, "]}],'measure':'count','target':1}]}", "activities[0].where[0].value");

    /* Exactly 8 path segments, 64 bytes of id, 256 of name. */
    struct tly_campaign *c = must_parse(
        "{'id':'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','name':'N',"
        "'activities':[{'id':'a','event':'e','measure':'sum','property':'a.b.c.d.e.f.g.h',"
        "'target':1}]}");
    assert_int_equal(c->act[0].property.n, 8);
    assert_string_equal(c->act[0].property.seg[7], "h");
    tly_campaign_free(c);

    char name[300];
    memset(name, 'x', sizeof name);
    char def[700];
    snprintf(def, sizeof def, "{'id':'c1','name':'%.256s','activities':[" MIN_ACT "]}", name);
    tly_campaign_free(must_parse(def));
    snprintf(def, sizeof def, "{'id':'c1','name':'%.257s','activities':[" MIN_ACT "]}", name);
    struct tly_error err;
    assert_int_equal(parse(def, &c, &err), TLY_EINVAL);
    assert_string_equal(err.field, "name");
    assert_non_null(strstr(err.msg, "at most 256 bytes"));

    /* Over TLY_CAMPAIGN_JSON_MAX bytes: TLY_ETOOBIG before any parsing. */
    size_t n = TLY_CAMPAIGN_JSON_MAX + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    memcpy(big, "{}", 2);
    assert_int_equal(tly_campaign_parse(big, n, &c, &err), TLY_ETOOBIG);
    assert_null(c);
    /* ... and exactly the limit is parsed (here: refused for what it says). */
    assert_int_equal(tly_campaign_parse(big, n - 1, &c, &err), TLY_EINVAL);
    assert_string_equal(err.field, "id");
    free(big);
}

/* ---- defaults and what a parse keeps ------------------------------------ */

static void test_defaults(void **state)
{
    (void)state;
    struct tly_campaign *c =
        must_parse("{'id':'c1','name':'N','activities':[" MIN_ACT ",{'id':'s','event':'open',"
                   "'measure':'streak','target':5}]}");
    assert_string_equal(c->id, "c1");
    assert_string_equal(c->name, "N");
    assert_int_equal(c->status, TLY_CAMPAIGN_ACTIVE);
    assert_string_equal(tly_tz_name(c->tz), "UTC");
    assert_true(c->starts_at == INT64_MIN);
    assert_true(c->ends_at == INT64_MAX);
    assert_int_equal(c->window, TLY_WINDOW_CAMPAIGN);
    assert_int_equal(c->complete_any, 0);
    assert_int_equal(c->max_completions, 1);
    assert_int_equal(c->accept, 0);
    assert_null(c->segment);
    assert_int_equal(c->count_before_entry, 0);
    assert_null(c->reward);
    assert_int_equal(c->nact, 2);
    assert_int_equal(c->act[0].nwhere, 0);
    assert_int_equal(c->act[0].measure, TLY_MEASURE_COUNT);
    assert_int_equal(c->act[0].property.n, 0);
    assert_int_equal(c->act[1].measure, TLY_MEASURE_STREAK);
    assert_int_equal(c->act[1].period, TLY_PERIOD_DAY);
    tly_campaign_free(c);
}

static const char ISSUE_EXAMPLE[] =
    "{'id':'orders-week','name':'3 orders this week','status':'active',"
    "'timezone':'Asia/Kolkata','starts_at':'2026-01-01T00:00:00Z',"
    "'ends_at':'2027-01-01T00:00:00Z','window':'week','complete_when':'all',"
    "'max_completions':0,'enrollment':'auto','segment':null,"
    "'activities':["
    "{'id':'orders','event':'order_placed','where':[{'path':'amount','op':'gte','value':100}],"
    "'measure':'count','target':3},"
    "{'id':'spend','event':'order_placed','measure':'sum','property':'amount','target':1000}],"
    "'reward':{'type':'points','name':'100 coins','amount':100}}";

static void test_issue_example(void **state)
{
    (void)state;
    struct tly_campaign *c = must_parse(ISSUE_EXAMPLE);
    assert_string_equal(tly_tz_name(c->tz), "Asia/Kolkata");
    assert_true(c->starts_at == 1767225600000LL);
    assert_true(c->ends_at == 1798761600000LL);
    assert_int_equal(c->window, TLY_WINDOW_WEEK);
    assert_int_equal(c->max_completions, 0);
    assert_int_equal(c->act[0].nwhere, 1);
    assert_int_equal(c->act[0].where[0].op, TLY_OP_GTE);
    assert_string_equal(c->act[0].where[0].path.text, "amount");
    assert_true(c->act[0].target == 3);
    assert_int_equal(c->act[1].measure, TLY_MEASURE_SUM);
    assert_string_equal(c->act[1].property.text, "amount");
    assert_non_null(c->reward);
    char *s = canon(c);
    size_t n;
    char *want = J("{'id':'orders-week','name':'3 orders this week','status':'active',"
                   "'timezone':'Asia/Kolkata','starts_at':'2026-01-01T00:00:00.000Z',"
                   "'ends_at':'2027-01-01T00:00:00.000Z','window':'week','complete_when':'all',"
                   "'max_completions':0,'enrollment':'auto','segment':null,"
                   "'count_before_entry':false,'activities':["
                   "{'id':'orders','event':'order_placed','where':[{'path':'amount','op':'gte',"
                   "'value':100}],'measure':'count','target':3},"
                   "{'id':'spend','event':'order_placed','where':[],'measure':'sum',"
                   "'property':'amount','target':1000}],"
                   "'reward':{'type':'points','name':'100 coins','amount':100}}",
                   &n);
    assert_int_equal(strlen(s), n);
    assert_memory_equal(s, want, n);
    free(want);
    free(s);
    tly_campaign_free(c);
}

/* ---- canonical JSON round trip ----------------------------------------- */

static const char *const round_trips[] = {
    MIN,
    ISSUE_EXAMPLE,
    "{'reward':{'code':'X1','amount':2.5,'type':'coupon','name':'2.50 off'},"
    "'activities':[{'target':3,'measure':'distinct','property':'shop.id','event':'order',"
    "'id':'shops','where':[{'value':{'b':[1,2.50,'x'],'a':null},'op':'eq','path':'meta'},"
    "{'path':'tags','op':'nin','value':['a',1.0,true,null,{}]},"
    "{'path':'n','op':'lt','value':-0.1},{'path':'s','op':'contains','value':'\\u00e9\\n\\\"'},"
    "{'path':'x.y','op':'exists','value':false}]},"
    "{'id':'days','event':'open','measure':'streak','period':'week','target':4}],"
    "'count_before_entry':true,'segment':'vip','enrollment':'accept','max_completions':12,"
    "'complete_when':'any','window':'campaign','ends_at':'2026-06-30T23:59:59.999-05:00',"
    "'starts_at':'2026-03-01T10:00:00+05:30','timezone':'Europe/Berlin','status':'paused',"
    "'name':'Caf\\u00e9 \\ud83d\\ude00','id':'x_-9'}",
    "{'id':'c1','name':'N','status':'draft','starts_at':null,'ends_at':'9999-12-31T23:59:59.999Z',"
    "'reward':null,'activities':[{'id':'a','event':'e','measure':'sum','property':'p',"
    "'target':0.1}]}",
    "{'id':'c2','name':'N','activities':[" MIN_ACT "],'webhook':{'endpoints':[{'url':"
    "'https://crm.example/hook','secret':'s3cr\u00e9t','events':['campaign_completed',"
    "'reward_issued'],'template':{'user':'$userId','o':['$details.eventId','$$lit',1]}},"
    "{'id':'ops','url':'http://[::1]:8080/x?y=1','events':['segment_exited']}]}}",
};

static void test_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof round_trips / sizeof round_trips[0]; i++) {
        struct tly_campaign *c = must_parse(round_trips[i]);
        char *one = canon(c);
        struct tly_campaign *d = NULL;
        struct tly_error err;
        int rc = tly_campaign_parse(one, strlen(one), &d, &err);
        if (rc != 0)
            print_error("canonical %s refused: %s\n", one, err.msg);
        assert_int_equal(rc, 0);
        char *two = canon(d);
        assert_string_equal(one, two);
        /* Parsed again it is the same campaign, field by field. */
        assert_int_equal(c->status, d->status);
        assert_true(c->starts_at == d->starts_at && c->ends_at == d->ends_at);
        assert_int_equal(c->window, d->window);
        assert_int_equal(c->max_completions, d->max_completions);
        assert_int_equal(c->nact, d->nact);
        for (int k = 0; k < c->nact; k++) {
            assert_true(c->act[k].target == d->act[k].target);
            assert_int_equal(c->act[k].nwhere, d->act[k].nwhere);
            for (int w = 0; w < c->act[k].nwhere; w++) {
                struct tly_buf a, b;
                tly_buf_init(&a, 0);
                tly_buf_init(&b, 0);
                assert_int_equal(tly_json_value_key(c->act[k].where[w].value, &a), 0);
                assert_int_equal(tly_json_value_key(d->act[k].where[w].value, &b), 0);
                assert_int_equal(a.len, b.len);
                assert_memory_equal(a.data, b.data, a.len);
                tly_buf_free(&a);
                tly_buf_free(&b);
            }
        }
        /* The canonical form is a JSON object tly_json_parse accepts. */
        cJSON *root = tly_json_parse(one, strlen(one), &err);
        assert_non_null(root);
        cJSON_Delete(root);
        free(one);
        free(two);
        tly_campaign_free(c);
        tly_campaign_free(d);
    }
}

static void test_canonical_details(void **state)
{
    (void)state;
    struct tly_campaign *c = must_parse(round_trips[2]);
    char *s = canon(c);
    /* Offsets become UTC with milliseconds; objects inside values are
     * ordered by member name; 2.50 and 1.0 are written 2.5 and 1; the
     * reward's members in the order type, name, amount, code. */
    assert_non_null(strstr(s, "\"starts_at\":\"2026-03-01T04:30:00.000Z\""));
    assert_non_null(strstr(s, "\"ends_at\":\"2026-07-01T04:59:59.999Z\""));
    assert_non_null(strstr(s, "\"value\":{\"a\":null,\"b\":[1,2.5,\"x\"]}"));
    assert_non_null(strstr(s, "\"value\":[\"a\",1,true,null,{}]"));
    assert_non_null(strstr(s, "\"value\":-0.1"));
    assert_non_null(strstr(s, "\"reward\":{\"type\":\"coupon\",\"name\":\"2.50 off\",\"amount\":"
                              "2.5,\"code\":\"X1\"}"));
    assert_non_null(strstr(s, "\"measure\":\"streak\",\"target\":4,\"period\":\"week\""));
    assert_non_null(strstr(s, "\"value\":\"\xc3\xa9\\n\\\"\""));
    const char *head =
        "{\"id\":\"x_-9\",\"name\":\"Caf\xc3\xa9 \xf0\x9f\x98\x80\",\"status\":\"paused\","
        "\"timezone\":\"Europe/Berlin\",";
    assert_true(strncmp(s, head, strlen(head)) == 0);
    free(s);
    tly_campaign_free(c);

    /* Appended: what is in the buffer stays. */
    c = must_parse(MIN);
    struct tly_buf b;
    tly_buf_init(&b, 0);
    assert_int_equal(tly_buf_puts(&b, "x"), 0);
    assert_int_equal(tly_campaign_to_json(c, &b), 0);
    assert_true(strncmp(b.data, "x{\"id\":\"c1\"", 11) == 0);
    tly_buf_free(&b);
    /* A bounded buffer too small: TLY_ETOOBIG and the buffer as it was. */
    tly_buf_init(&b, 16);
    assert_int_equal(tly_buf_puts(&b, "x"), 0);
    assert_int_equal(tly_campaign_to_json(c, &b), TLY_ETOOBIG);
    assert_int_equal(b.len, 1);
    tly_buf_free(&b);
    tly_campaign_free(c);
}

/* ---- change check ------------------------------------------------------ */

static void expect_change(const char *cur, const char *next, int want, const char *field)
{
    struct tly_campaign *a = must_parse(cur), *b = must_parse(next);
    struct tly_error err = {{0}};
    int rc = tly_campaign_check_change(a, b, &err);
    if (rc != want)
        print_error("%s -> %s: rc %d (%s)\n", cur, next, rc, err.msg);
    assert_int_equal(rc, want);
    if (want != 0) {
        assert_string_equal(err.field, field);
        assert_non_null(strstr(err.msg, "may not change while the campaign is active"));
    }
    tly_campaign_free(a);
    tly_campaign_free(b);
}

static void test_check_change(void **state)
{
    (void)state;
#define DEF(head, act) "{'id':'c1','name':'N'" head ",'activities':[" act "]}"
#define ACT2           "{'id':'a','event':'e','measure':'count','target':2}"
    /* Active: activities, window and timezone are fixed. */
    expect_change(DEF("", MIN_ACT), DEF("", MIN_ACT), 0, "");
    expect_change(DEF("", MIN_ACT), DEF("", ACT2), TLY_ECONFLICT, "activities");
    expect_change(DEF("", MIN_ACT), DEF("", MIN_ACT "," MIN_ACT_B), TLY_ECONFLICT, "activities");
    expect_change(DEF("", MIN_ACT), DEF(",'window':'day'", MIN_ACT), TLY_ECONFLICT, "window");
    expect_change(DEF("", MIN_ACT), DEF(",'timezone':'Asia/Kolkata'", MIN_ACT), TLY_ECONFLICT,
                  "timezone");
    /* ... the same activities written differently are no change ... */
    expect_change(DEF("", "{'id':'a','event':'e','where':[{'path':'x','op':'in','value':[1]}],"
                          "'measure':'count','target':1}"),
                  DEF("", "{'target':1.0,'measure':'count','where':[{'value':[1.0],'op':'in',"
                          "'path':'x'}],'event':'e','id':'a'}"),
                  0, "");
    /* ... and status, name, reward and ends_at may change. */
    expect_change(DEF("", MIN_ACT),
                  DEF(",'status':'paused','ends_at':'2030-01-01T00:00:00Z','reward':{'type':"
                      "'points'}",
                      MIN_ACT),
                  0, "");
    expect_change(DEF("", MIN_ACT), "{'id':'c1','name':'Other','activities':[" MIN_ACT "]}", 0, "");
    /* Not active: anything may change. */
    expect_change(DEF(",'status':'draft'", MIN_ACT), DEF(",'window':'month'", ACT2), 0, "");
    expect_change(DEF(",'status':'paused'", MIN_ACT), DEF(",'timezone':'Europe/Berlin'", ACT2), 0,
                  "");
#undef DEF
#undef ACT2
}

/* ---- paths and conditions ---------------------------------------------- */

static cJSON *props(const char *s)
{
    size_t n;
    char *t = J(s, &n);
    struct tly_error err;
    cJSON *v = tly_json_parse(t, n, &err);
    free(t);
    assert_non_null(v);
    return v;
}

static void test_path_get(void **state)
{
    (void)state;
    struct tly_campaign *c =
        must_parse("{'id':'c1','name':'N','activities':[{'id':'a','event':'e','measure':'sum',"
                   "'property':'order.total.amount','target':1}]}");
    const struct tly_path *p = &c->act[0].property;
    assert_int_equal(p->n, 3);
    assert_string_equal(p->text, "order.total.amount");
    cJSON *v = props("{'order':{'total':{'amount':12.5}}}");
    const cJSON *got = tly_path_get(p, v);
    assert_non_null(got);
    assert_true(cJSON_IsNumber(got) && got->valuedouble == 12.5);
    cJSON_Delete(v);
    const char *missing[] = {"{}",
                             "{'order':null}",
                             "{'order':{'total':[1]}}",
                             "{'order':{'total':'x'}}",
                             "{'order':{'Total':{'amount':1}}}",
                             "{'order.total.amount':1}"};
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        v = props(missing[i]);
        assert_null(tly_path_get(p, v));
        cJSON_Delete(v);
    }
    v = props("[1]");
    assert_null(tly_path_get(p, v));
    cJSON_Delete(v);
    tly_campaign_free(c);
}

struct cond {
    const char *where; /* one condition, ' for " */
    const char *props; /* the event's properties */
    int holds;
};

static const struct cond conds[] = {
    /* eq / ne: numbers numerically, strings exactly, types apart */
    {"{'path':'n','op':'eq','value':1}", "{'n':1}", 1},
    {"{'path':'n','op':'eq','value':1}", "{'n':1.0}", 1},
    {"{'path':'n','op':'eq','value':1}", "{'n':1e0}", 1},
    {"{'path':'n','op':'eq','value':0}", "{'n':-0}", 1},
    {"{'path':'n','op':'eq','value':1}", "{'n':'1'}", 0},
    {"{'path':'n','op':'eq','value':'1'}", "{'n':1}", 0},
    {"{'path':'n','op':'eq','value':'a'}", "{'n':'a'}", 1},
    {"{'path':'n','op':'eq','value':'a'}", "{'n':'A'}", 0},
    {"{'path':'n','op':'eq','value':'a'}", "{'n':'a '}", 0},
    {"{'path':'n','op':'eq','value':true}", "{'n':true}", 1},
    {"{'path':'n','op':'eq','value':true}", "{'n':1}", 0},
    {"{'path':'n','op':'eq','value':false}", "{'n':true}", 0},
    {"{'path':'n','op':'eq','value':null}", "{'n':null}", 1},
    {"{'path':'n','op':'eq','value':null}", "{}", 0},
    {"{'path':'n','op':'eq','value':[1,'a']}", "{'n':[1.0,'a']}", 1},
    {"{'path':'n','op':'eq','value':[1,'a']}", "{'n':['a',1]}", 0},
    {"{'path':'n','op':'eq','value':[1]}", "{'n':[1,1]}", 0},
    {"{'path':'n','op':'eq','value':{'a':1,'b':[2]}}", "{'n':{'b':[2.0],'a':1}}", 1},
    {"{'path':'n','op':'eq','value':{'a':1}}", "{'n':{'a':1,'b':2}}", 0},
    {"{'path':'n','op':'eq','value':{'a':1}}", "{'n':{'a':'1'}}", 0},
    {"{'path':'n','op':'eq','value':{}}", "{'n':[]}", 0},
    {"{'path':'n','op':'eq','value':1}", "{}", 0},
    {"{'path':'n','op':'ne','value':1}", "{'n':1.0}", 0},
    {"{'path':'n','op':'ne','value':1}", "{'n':'1'}", 1},
    {"{'path':'n','op':'ne','value':1}", "{}", 1},
    {"{'path':'n','op':'ne','value':null}", "{}", 1},
    /* gt … lte: only between two numbers */
    {"{'path':'n','op':'gt','value':100}", "{'n':100.5}", 1},
    {"{'path':'n','op':'gt','value':100}", "{'n':100}", 0},
    {"{'path':'n','op':'gte','value':100}", "{'n':100.0}", 1},
    {"{'path':'n','op':'gte','value':100}", "{'n':99.99}", 0},
    {"{'path':'n','op':'lt','value':-1}", "{'n':-2}", 1},
    {"{'path':'n','op':'lt','value':-1}", "{'n':-1}", 0},
    {"{'path':'n','op':'lte','value':-1}", "{'n':-1}", 1},
    {"{'path':'n','op':'lte','value':-1}", "{'n':0}", 0},
    {"{'path':'n','op':'gt','value':1}", "{'n':'5'}", 0},
    {"{'path':'n','op':'lte','value':1}", "{'n':'0'}", 0},
    {"{'path':'n','op':'lt','value':1}", "{'n':null}", 0},
    {"{'path':'n','op':'gte','value':0}", "{'n':true}", 0},
    {"{'path':'n','op':'lt','value':1}", "{'n':[0]}", 0},
    {"{'path':'n','op':'gt','value':1}", "{}", 0},
    {"{'path':'n','op':'lte','value':1}", "{}", 0},
    /* in / nin: membership with the same equality */
    {"{'path':'n','op':'in','value':[1,'a',null]}", "{'n':1.0}", 1},
    {"{'path':'n','op':'in','value':[1,'a',null]}", "{'n':'a'}", 1},
    {"{'path':'n','op':'in','value':[1,'a',null]}", "{'n':null}", 1},
    {"{'path':'n','op':'in','value':[1,'a',null]}", "{'n':'1'}", 0},
    {"{'path':'n','op':'in','value':[[1],{'k':2}]}", "{'n':{'k':2.0}}", 1},
    {"{'path':'n','op':'in','value':[]}", "{'n':1}", 0},
    {"{'path':'n','op':'in','value':[1]}", "{}", 0},
    {"{'path':'n','op':'nin','value':[1,'a']}", "{'n':2}", 1},
    {"{'path':'n','op':'nin','value':[1,'a']}", "{'n':1.0}", 0},
    {"{'path':'n','op':'nin','value':[1,'a']}", "{'n':'1'}", 1},
    {"{'path':'n','op':'nin','value':[1]}", "{}", 1},
    {"{'path':'n','op':'nin','value':[]}", "{'n':1}", 1},
    /* exists: present (null included) or not */
    {"{'path':'n','op':'exists','value':true}", "{'n':0}", 1},
    {"{'path':'n','op':'exists','value':true}", "{'n':null}", 1},
    {"{'path':'n','op':'exists','value':true}", "{}", 0},
    {"{'path':'n','op':'exists','value':false}", "{}", 1},
    {"{'path':'n','op':'exists','value':false}", "{'n':false}", 0},
    {"{'path':'a.b','op':'exists','value':false}", "{'a':5}", 1},
    {"{'path':'a.b','op':'exists','value':true}", "{'a':{'b':{}}}", 1},
    /* contains: substring of a string */
    {"{'path':'n','op':'contains','value':'pizza'}", "{'n':'large pizza box'}", 1},
    {"{'path':'n','op':'contains','value':'pizza'}", "{'n':'Pizza'}", 0},
    {"{'path':'n','op':'contains','value':''}", "{'n':'x'}", 1},
    {"{'path':'n','op':'contains','value':'1'}", "{'n':12}", 0},
    {"{'path':'n','op':'contains','value':'a'}", "{'n':['a']}", 0},
    {"{'path':'n','op':'contains','value':'a'}", "{}", 0},
    /* dot paths */
    {"{'path':'order.city','op':'eq','value':'BLR'}", "{'order':{'city':'BLR'}}", 1},
    {"{'path':'order.city','op':'eq','value':'BLR'}", "{'order':'BLR'}", 0},
    {"{'path':'order.city','op':'ne','value':'BLR'}", "{'order':[]}", 1},
};

static void test_where_ops(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof conds / sizeof conds[0]; i++) {
        char def[512];
        snprintf(def, sizeof def,
                 "{'id':'c1','name':'N','activities':[{'id':'a','event':'e','where':[%s],"
                 "'measure':'count','target':1}]}",
                 conds[i].where);
        struct tly_campaign *c = must_parse(def);
        cJSON *p = props(conds[i].props);
        int got = tly_where_holds(&c->act[0].where[0], p);
        if (got != conds[i].holds)
            print_error("case %zu: %s on %s gave %d\n", i, conds[i].where, conds[i].props, got);
        assert_int_equal(got, conds[i].holds);
        /* An activity of that one condition matches exactly when it holds. */
        assert_int_equal(tly_activity_matches(&c->act[0], "e", p), conds[i].holds);
        assert_int_equal(tly_activity_matches(&c->act[0], "E", p), 0);
        cJSON_Delete(p);
        tly_campaign_free(c);
    }
}

static void test_activity_matches(void **state)
{
    (void)state;
    struct tly_campaign *c = must_parse(ISSUE_EXAMPLE);
    cJSON *big = props("{'amount':250}"), *small = props("{'amount':99}"), *none = props("{}");
    assert_true(tly_activity_matches(&c->act[0], "order_placed", big));
    assert_false(tly_activity_matches(&c->act[0], "order_placed", small));
    assert_false(tly_activity_matches(&c->act[0], "order_placed", none));
    assert_false(tly_activity_matches(&c->act[0], "order_placed_", big));
    assert_false(tly_activity_matches(&c->act[0], NULL, big));
    /* No conditions: the name alone decides. */
    assert_true(tly_activity_matches(&c->act[1], "order_placed", none));
    assert_true(tly_activity_matches(&c->act[1], "order_placed", small));
    cJSON_Delete(big);
    cJSON_Delete(small);
    cJSON_Delete(none);
    tly_campaign_free(c);
}

/* ---- value keys -------------------------------------------------------- */

static char *key_of(const char *json)
{
    cJSON *v = props(json);
    struct tly_buf b;
    tly_buf_init(&b, 0);
    assert_int_equal(tly_json_value_key(v, &b), 0);
    char *s = strndup(b.data, b.len);
    tly_buf_free(&b);
    cJSON_Delete(v);
    return s;
}

static void test_value_keys(void **state)
{
    (void)state;
    /* Pairs with one key (and equal by eq), then pairs with two. */
    static const char *const same[][2] = {
        {"1", "1.0"},
        {"1", "1e0"},
        {"100", "1e2"},
        {"0", "-0"},
        {"0.1", "1e-1"},
        {"-2.5", "-2.50"},
        {"'a'", "'\\u0061'"},
        {"[1,'x']", "[1.0,'x']"},
        {"{'a':1,'b':2}", "{'b':2,'a':1.0}"},
        {"null", "null"},
        {"true", "true"},
        {"1e999", "2e999"}, /* both infinite */
    };
    static const char *const differ[][2] = {
        {"1", "'1'"},           {"1", "true"},
        {"0", "false"},         {"null", "'null'"},
        {"0", "null"},          {"[]", "{}"},
        {"[1,2]", "[2,1]"},     {"'a'", "'A'"},
        {"''", "null"},         {"{'a':1}", "{'a':'1'}"},
        {"[[1]]", "[1]"},       {"1", "1.0000000000000002"},
        {"'a,b'", "['a','b']"}, {"{'a':{}}", "{'a':[]}"},
    };
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        char *a = key_of(same[i][0]), *b = key_of(same[i][1]);
        if (strcmp(a, b) != 0)
            print_error("%s -> %s, %s -> %s\n", same[i][0], a, same[i][1], b);
        assert_string_equal(a, b);
        free(a);
        free(b);
    }
    for (size_t i = 0; i < sizeof differ / sizeof differ[0]; i++) {
        char *a = key_of(differ[i][0]), *b = key_of(differ[i][1]);
        if (strcmp(a, b) == 0)
            print_error("%s and %s share the key %s\n", differ[i][0], differ[i][1], a);
        assert_string_not_equal(a, b);
        free(a);
        free(b);
    }
    /* Keys are readable JSON: numbers shortest, members by name. */
    char *k = key_of("{'z':[1.50,'s'],'a':{'y':true,'x':null}}");
    assert_string_equal(k, "{\"a\":{\"x\":null,\"y\":true},\"z\":[1.5,\"s\"]}");
    free(k);
    k = key_of("0.30000000000000004");
    assert_string_equal(k, "0.30000000000000004");
    free(k);
    k = key_of("12345678901234567890");
    assert_string_equal(k, "1.2345678901234567e+19");
    free(k);
    /* Appended to what is there; NULL refused. */
    struct tly_buf b;
    tly_buf_init(&b, 0);
    assert_int_equal(tly_buf_puts(&b, "k:"), 0);
    cJSON *v = props("7.0");
    assert_int_equal(tly_json_value_key(v, &b), 0);
    assert_string_equal(b.data, "k:7");
    assert_int_equal(tly_json_value_key(NULL, &b), TLY_EINVAL);
    cJSON_Delete(v);
    tly_buf_free(&b);
}

/* ---- bounds ------------------------------------------------------------ */

static void test_bounds(void **state)
{
    (void)state;
    struct tly_campaign *c = must_parse(ISSUE_EXAMPLE);
    const int64_t start = 1767225600000LL, end = 1798761600000LL;
    assert_false(tly_campaign_in_bounds(c, start - 1));
    assert_true(tly_campaign_in_bounds(c, start));
    assert_true(tly_campaign_in_bounds(c, end - 1));
    assert_false(tly_campaign_in_bounds(c, end));
    assert_false(tly_campaign_in_bounds(c, INT64_MIN));
    tly_campaign_free(c);

    /* One bound only; none. */
    c = must_parse(
        "{'id':'c1','name':'N','ends_at':'2026-01-01T05:30:00+05:30','activities':[" MIN_ACT "]}");
    assert_true(tly_campaign_in_bounds(c, 0));
    assert_true(tly_campaign_in_bounds(c, start - 1));
    assert_false(tly_campaign_in_bounds(c, start));
    tly_campaign_free(c);
    c = must_parse(MIN);
    assert_true(tly_campaign_in_bounds(c, INT64_MIN));
    assert_true(tly_campaign_in_bounds(c, 0));
    assert_true(tly_campaign_in_bounds(c, INT64_MAX - 1));
    tly_campaign_free(c);
}

static void test_free_null(void **state)
{
    (void)state;
    tly_campaign_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rejects),      cmocka_unit_test(test_limits),
        cmocka_unit_test(test_defaults),     cmocka_unit_test(test_issue_example),
        cmocka_unit_test(test_round_trip),   cmocka_unit_test(test_canonical_details),
        cmocka_unit_test(test_check_change), cmocka_unit_test(test_path_get),
        cmocka_unit_test(test_where_ops),    cmocka_unit_test(test_activity_matches),
        cmocka_unit_test(test_value_keys),   cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_free_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
