/*
 * Campaign definitions (see campaign.h): the parser that checks every rule
 * of a definition and fills its defaults, the canonical JSON writer, the
 * change check of an active campaign, and the predicates the engine runs on
 * each event — dot paths, `where` conditions, bounds — with the JSON value
 * equality and value keys they share.
 *
 * One writer of JSON values (put_value) serves both the canonical
 * definition and the value keys of distinct sets: numbers in their
 * shortest round-trip form (so 1 and 1.0 are written alike), object
 * members ordered by name. Equality (json_equal) is exactly "the same
 * key", without building the keys.
 */
#include "engine/campaign.h"
#include "engine/definition.h"
#include "core/json.h"
#include "core/timeparse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHOLE_MAX 9007199254740991.0 /* 2^53 - 1: whole numbers exact in a double */

/* ---- names of the enumerations, in enum order ------------------------- */

static const char *const status_names[] = {NULL, "draft", "active", "paused", "ended"};
static const char *const window_names[] = {"campaign", "day", "week", "month"};
static const char *const measure_names[] = {NULL, "count", "sum", "distinct", "streak"};
static const char *const op_names[] = {NULL,  "eq", "ne",  "gt",     "gte",     "lt",
                                       "lte", "in", "nin", "exists", "contains"};
static const char *const period_names[] = {NULL, "day", "week", "month"};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---- errors ------------------------------------------------------------ */

/* ---- small readers ------------------------------------------------------ */

/* Index of `s` in names[0..n) (NULL entries skipped), or -1. */
static int name_index(const char *const *names, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (names[i] != NULL && strcmp(names[i], s) == 0)
            return i;
    return -1;
}

/* "a, b or c" of names[0..n) without NULLs, into out. */
static void name_list(const char *const *names, int n, char *out, size_t size)
{
    size_t len = 0;
    int k = 0, total = 0;
    for (int i = 0; i < n; i++)
        total += names[i] != NULL;
    out[0] = '\0';
    for (int i = 0; i < n && len < size; i++) {
        if (names[i] == NULL)
            continue;
        const char *sep = k == 0 ? "" : (k == total - 1 ? " or " : ", ");
        int w = snprintf(out + len, size - len, "%s%s", sep, names[i]);
        if (w < 0)
            break;
        len += (size_t)w;
        k++;
    }
}

/* An enumeration member: `dflt` when absent. */
static int get_enum(const cJSON *obj, const char *name, const char *at, const char *const *names,
                    int n, int dflt, int *out, struct tly_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    char f[TLY_DEF_FIELD_SIZE];
    tly_def_field_path(f, at, name);
    if (v == NULL) {
        *out = dflt;
        return 0;
    }
    int i = cJSON_IsString(v) ? name_index(names, n, v->valuestring) : -1;
    if (i < 0) {
        char list[128];
        name_list(names, n, list, sizeof list);
        return tly_def_error(err, f, "expected %s", list);
    }
    *out = i;
    return 0;
}

/* A string member of 1..max bytes (NULL when absent and not required). */
static int get_string(const cJSON *obj, const char *name, const char *at, int required, size_t max,
                      const char **out, struct tly_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    char f[TLY_DEF_FIELD_SIZE];
    tly_def_field_path(f, at, name);
    *out = NULL;
    if (v == NULL) {
        if (required)
            return tly_def_error(err, f, "required");
        return 0;
    }
    if (!cJSON_IsString(v))
        return tly_def_error(err, f, "expected a string, got %s", tly_json_type_name(v));
    size_t n = strlen(v->valuestring);
    if (n == 0)
        return tly_def_error(err, f, "must not be empty");
    if (n > max)
        return tly_def_error(err, f, "at most %zu bytes, got %zu", max, n);
    *out = v->valuestring;
    return 0;
}

/* Are all numbers inside `v` finite? (1e999 parses to infinity.) */
static int all_finite(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return isfinite(v->valuedouble);
    for (const cJSON *c = v->child; c != NULL; c = c->next)
        if (!all_finite(c))
            return 0;
    return 1;
}

/* A whole number in [min, max]. */
static int whole_in(double d, double min, double max)
{
    return d >= min && d <= max && d == floor(d);
}

static int put_str(struct tly_buf *b, const char *s);

/* ---- paths ------------------------------------------------------------- */

static void path_free(struct tly_path *p)
{
    free(p->text);
    free(p->seg);
    memset(p, 0, sizeof *p);
}

/* Splits `s` at dots: 1..TLY_PATH_DEPTH non-empty segments. */
static int path_parse(const char *s, struct tly_path *p, const char *f, struct tly_error *err)
{
    size_t len = strlen(s);
    int n = 1;
    for (size_t i = 0; i < len; i++)
        n += s[i] == '.';
    if (len == 0)
        return tly_def_error(err, f, "must not be empty");
    if (n > TLY_PATH_DEPTH)
        return tly_def_error(err, f, "at most %d segments, got %d", TLY_PATH_DEPTH, n);
    int prev_dot = 1;
    for (size_t i = 0; i <= len; i++) {
        int dot = i == len || s[i] == '.';
        if (dot && prev_dot)
            return tly_def_error(err, f, "empty segment at byte %zu", i);
        prev_dot = dot && i < len;
    }
    /* One block: the segment pointers, then a copy of the text with NULs
     * for the dots. */
    char **seg = malloc((size_t)n * sizeof(char *) + len + 1);
    char *text = strdup(s);
    if (seg == NULL || text == NULL) {
        free(seg);
        free(text);
        return TLY_ENOMEM;
    }
    char *copy = (char *)(seg + n);
    memcpy(copy, s, len + 1);
    int k = 0;
    seg[k++] = copy;
    for (size_t i = 0; i < len; i++)
        if (copy[i] == '.') {
            copy[i] = '\0';
            seg[k++] = copy + i + 1;
        }
    p->text = text;
    p->seg = seg;
    p->n = n;
    return 0;
}

const cJSON *tly_path_get(const struct tly_path *p, const cJSON *obj)
{
    const cJSON *v = obj;
    if (p == NULL || p->n == 0)
        return NULL;
    for (int i = 0; i < p->n; i++) {
        if (!cJSON_IsObject(v))
            return NULL;
        v = cJSON_GetObjectItemCaseSensitive(v, p->seg[i]);
    }
    return v;
}

/* ---- JSON values: writing, keys, equality ------------------------------ */

/* The shortest of %.15g..%.17g that reads back as `d`; whole numbers below
 * 2^53 as integers (so -0 as 0); infinities as ±1e999 (which read back as
 * them). */
static int put_num(struct tly_buf *b, double d)
{
    if (isinf(d))
        return tly_buf_puts(b, d > 0 ? "1e999" : "-1e999");
    if (fabs(d) <= WHOLE_MAX && d == floor(d))
        return tly_buf_printf(b, "%lld", (long long)d);
    char s[32];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(s, sizeof s, "%.*g", prec, d);
        if (strtod(s, NULL) == d)
            break;
    }
    return tly_buf_puts(b, s);
}

static int member_before(const cJSON *a, const cJSON *b)
{
    return strcmp(a->string, b->string) < 0;
}

/* Writes `v` as JSON: object members ordered by name (stable, so repeated
 * names keep their order), numbers by put_num, strings escaped. */
static int put_value(struct tly_buf *b, const cJSON *v)
{
    int rc = 0;
    if (cJSON_IsNull(v))
        return tly_buf_puts(b, "null");
    if (cJSON_IsTrue(v))
        return tly_buf_puts(b, "true");
    if (cJSON_IsFalse(v))
        return tly_buf_puts(b, "false");
    if (cJSON_IsNumber(v))
        return put_num(b, v->valuedouble);
    if (cJSON_IsString(v))
        return tly_buf_json_str(b, v->valuestring, strlen(v->valuestring));
    if (cJSON_IsArray(v)) {
        rc = tly_buf_puts(b, "[");
        for (const cJSON *c = v->child; c != NULL && rc == 0; c = c->next) {
            if (c != v->child)
                rc = tly_buf_puts(b, ",");
            if (rc == 0)
                rc = put_value(b, c);
        }
        return rc != 0 ? rc : tly_buf_puts(b, "]");
    }
    if (!cJSON_IsObject(v))
        return TLY_EINVAL;
    int n = cJSON_GetArraySize(v);
    const cJSON **m = malloc((size_t)(n > 0 ? n : 1) * sizeof *m);
    if (m == NULL)
        return TLY_ENOMEM;
    int k = 0;
    for (const cJSON *c = v->child; c != NULL; c = c->next) { /* insertion sort */
        int j = k++;
        while (j > 0 && member_before(c, m[j - 1])) {
            m[j] = m[j - 1];
            j--;
        }
        m[j] = c;
    }
    rc = tly_buf_puts(b, "{");
    for (int i = 0; i < k && rc == 0; i++) {
        if (i > 0)
            rc = tly_buf_puts(b, ",");
        if (rc == 0)
            rc = tly_buf_json_str(b, m[i]->string, strlen(m[i]->string));
        if (rc == 0)
            rc = tly_buf_puts(b, ":");
        if (rc == 0)
            rc = put_value(b, m[i]);
    }
    free(m);
    return rc != 0 ? rc : tly_buf_puts(b, "}");
}

int tly_json_value_key(const cJSON *v, struct tly_buf *out)
{
    if (v == NULL)
        return TLY_EINVAL;
    size_t len = out->len;
    int rc = put_value(out, v);
    if (rc != 0) {
        out->len = len;
        if (out->data != NULL)
            out->data[len] = '\0';
    }
    return rc;
}

/* The k-th (from 0) member of `obj` named `name`, or NULL. */
static const cJSON *nth_member(const cJSON *obj, const char *name, int k)
{
    for (const cJSON *c = obj->child; c != NULL; c = c->next)
        if (strcmp(c->string, name) == 0 && k-- == 0)
            return c;
    return NULL;
}

/* Equal as JSON values, exactly when tly_json_value_key gives the same key:
 * numbers numerically, strings bytewise, arrays item by item, objects as
 * the same members whatever their order (the k-th member named x of one
 * against the k-th named x of the other). No allocation. */
static int json_equal(const cJSON *a, const cJSON *b)
{
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
        return a->valuedouble == b->valuedouble;
    if (cJSON_IsString(a) && cJSON_IsString(b))
        return strcmp(a->valuestring, b->valuestring) == 0;
    if ((a->type & 0xff) != (b->type & 0xff))
        return 0;
    if (cJSON_IsArray(a)) {
        const cJSON *x = a->child, *y = b->child;
        for (; x != NULL && y != NULL; x = x->next, y = y->next)
            if (!json_equal(x, y))
                return 0;
        return x == NULL && y == NULL;
    }
    if (cJSON_IsObject(a)) {
        if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
            return 0;
        for (const cJSON *x = a->child; x != NULL; x = x->next) {
            int k = 0;
            for (const cJSON *p = a->child; p != x; p = p->next)
                k += strcmp(p->string, x->string) == 0;
            const cJSON *y = nth_member(b, x->string, k);
            if (y == NULL || !json_equal(x, y))
                return 0;
        }
        return 1;
    }
    return 1; /* null, true, false */
}

/* ---- predicates -------------------------------------------------------- */

static int in_list(const cJSON *list, const cJSON *v)
{
    for (const cJSON *c = list->child; c != NULL; c = c->next)
        if (json_equal(c, v))
            return 1;
    return 0;
}

int tly_where_holds(const struct tly_where *w, const cJSON *properties)
{
    return tly_where_test(w, tly_path_get(&w->path, properties));
}

int tly_where_test(const struct tly_where *w, const cJSON *v)
{
    if (v == NULL) {
        switch (w->op) {
        case TLY_OP_NE:
        case TLY_OP_NIN:
            return 1;
        case TLY_OP_EXISTS:
            return cJSON_IsFalse(w->value);
        default:
            return 0;
        }
    }
    double x, y;
    switch (w->op) {
    case TLY_OP_EQ:
        return json_equal(v, w->value);
    case TLY_OP_NE:
        return !json_equal(v, w->value);
    case TLY_OP_GT:
    case TLY_OP_GTE:
    case TLY_OP_LT:
    case TLY_OP_LTE:
        if (!cJSON_IsNumber(v) || !cJSON_IsNumber(w->value))
            return 0;
        x = v->valuedouble;
        y = w->value->valuedouble;
        return w->op == TLY_OP_GT    ? x > y
               : w->op == TLY_OP_GTE ? x >= y
               : w->op == TLY_OP_LT  ? x < y
                                     : x <= y;
    case TLY_OP_IN:
        return in_list(w->value, v);
    case TLY_OP_NIN:
        return !in_list(w->value, v);
    case TLY_OP_EXISTS:
        return cJSON_IsTrue(w->value);
    case TLY_OP_CONTAINS:
        return cJSON_IsString(v) && cJSON_IsString(w->value) &&
               strstr(v->valuestring, w->value->valuestring) != NULL;
    }
    return 0;
}

int tly_activity_matches(const struct tly_activity *a, const char *name, const cJSON *properties)
{
    if (name == NULL || strcmp(name, a->event) != 0)
        return 0;
    for (int i = 0; i < a->nwhere; i++)
        if (!tly_where_holds(&a->where[i], properties))
            return 0;
    return 1;
}

int tly_campaign_in_bounds(const struct tly_campaign *c, int64_t ts)
{
    return ts >= c->starts_at && ts < c->ends_at;
}

/* ---- parsing ----------------------------------------------------------- */

int tly_where_parse(const cJSON *o, const char *at, struct tly_where *w, struct tly_error *err)
{
    static const char *const fields[] = {"path", "op", "value", NULL};
    char f[TLY_DEF_FIELD_SIZE];
    if (!cJSON_IsObject(o))
        return tly_def_error(err, at, "expected an object, got %s", tly_json_type_name(o));
    int rc = tly_def_check_members(o, at, fields, err);
    const char *path;
    if (rc == 0)
        rc = get_string(o, "path", at, 1, SIZE_MAX, &path, err);
    if (rc != 0)
        return rc;
    tly_def_field_path(f, at, "path");
    if ((rc = path_parse(path, &w->path, f, err)) != 0)
        return rc;

    tly_def_field_path(f, at, "op");
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(o, "op");
    if (op == NULL)
        return tly_def_error(err, f, "required");
    int i = cJSON_IsString(op) ? name_index(op_names, COUNT(op_names), op->valuestring) : -1;
    if (i < 0) {
        char list[128];
        name_list(op_names, COUNT(op_names), list, sizeof list);
        return tly_def_error(err, f, "expected %s", list);
    }
    w->op = (enum tly_op)i;

    tly_def_field_path(f, at, "value");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "value");
    if (v == NULL)
        return tly_def_error(err, f, "required");
    switch (w->op) {
    case TLY_OP_EQ:
    case TLY_OP_NE:
        break;
    case TLY_OP_GT:
    case TLY_OP_GTE:
    case TLY_OP_LT:
    case TLY_OP_LTE:
        if (!cJSON_IsNumber(v))
            return tly_def_error(err, f, "%s needs a number, got %s", op_names[i],
                                 tly_json_type_name(v));
        break;
    case TLY_OP_IN:
    case TLY_OP_NIN:
        if (!cJSON_IsArray(v))
            return tly_def_error(err, f, "%s needs an array, got %s", op_names[i],
                                 tly_json_type_name(v));
        if (cJSON_GetArraySize(v) > TLY_CAMPAIGN_IN_VALUES)
            return tly_def_error(err, f, "at most %d values, got %d", TLY_CAMPAIGN_IN_VALUES,
                                 cJSON_GetArraySize(v));
        break;
    case TLY_OP_EXISTS:
        if (!cJSON_IsBool(v))
            return tly_def_error(err, f, "exists needs true or false, got %s",
                                 tly_json_type_name(v));
        break;
    case TLY_OP_CONTAINS:
        if (!cJSON_IsString(v))
            return tly_def_error(err, f, "contains needs a string, got %s", tly_json_type_name(v));
        break;
    }
    if (!all_finite(v))
        return tly_def_error(err, f, "number out of range");
    w->value = cJSON_Duplicate(v, 1);
    return w->value == NULL ? TLY_ENOMEM : 0;
}

static int parse_activity(const cJSON *o, const char *at, struct tly_activity *a,
                          struct tly_error *err)
{
    static const char *const fields[] = {"id",       "event",  "where",  "measure",
                                         "property", "target", "period", NULL};
    char f[TLY_DEF_FIELD_SIZE];
    if (!cJSON_IsObject(o))
        return tly_def_error(err, at, "expected an object, got %s", tly_json_type_name(o));
    int rc = tly_def_check_members(o, at, fields, err);
    if (rc != 0)
        return rc;

    const char *s;
    if ((rc = get_string(o, "id", at, 1, SIZE_MAX, &s, err)) != 0)
        return rc;
    tly_def_field_path(f, at, "id");
    if (!tly_def_is_id(s))
        return tly_def_error(err, f, "expected 1 to %d of a-z, 0-9, _ and -", TLY_CAMPAIGN_ID_MAX);
    if ((a->id = strdup(s)) == NULL)
        return TLY_ENOMEM;

    if ((rc = get_string(o, "event", at, 1, TLY_DEF_NAME_MAX, &s, err)) != 0)
        return rc;
    if ((a->event = strdup(s)) == NULL)
        return TLY_ENOMEM;

    const cJSON *where = cJSON_GetObjectItemCaseSensitive(o, "where");
    tly_def_field_path(f, at, "where");
    if (where != NULL) {
        if (!cJSON_IsArray(where))
            return tly_def_error(err, f, "expected an array, got %s", tly_json_type_name(where));
        int n = cJSON_GetArraySize(where);
        if (n > TLY_CAMPAIGN_WHERE)
            return tly_def_error(err, f, "at most %d conditions, got %d", TLY_CAMPAIGN_WHERE, n);
        if (n > 0 && (a->where = calloc((size_t)n, sizeof *a->where)) == NULL)
            return TLY_ENOMEM;
        const cJSON *c;
        cJSON_ArrayForEach(c, where)
        {
            char wf[TLY_DEF_FIELD_SIZE];
            tly_def_field(wf, "%s[%d]", f, a->nwhere);
            rc = tly_where_parse(c, wf, &a->where[a->nwhere++], err);
            if (rc != 0)
                return rc;
        }
    }

    int m;
    tly_def_field_path(f, at, "measure");
    if (cJSON_GetObjectItemCaseSensitive(o, "measure") == NULL)
        return tly_def_error(err, f, "required");
    if ((rc = get_enum(o, "measure", at, measure_names, COUNT(measure_names), 0, &m, err)) != 0)
        return rc;
    a->measure = (enum tly_measure)m;

    const cJSON *prop = cJSON_GetObjectItemCaseSensitive(o, "property");
    tly_def_field_path(f, at, "property");
    if (a->measure == TLY_MEASURE_SUM || a->measure == TLY_MEASURE_DISTINCT) {
        if ((rc = get_string(o, "property", at, 1, SIZE_MAX, &s, err)) != 0)
            return rc;
        if ((rc = path_parse(s, &a->property, f, err)) != 0)
            return rc;
    } else if (prop != NULL) {
        return tly_def_error(err, f, "only for measure sum or distinct");
    }

    tly_def_field_path(f, at, "target");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "target");
    if (t == NULL)
        return tly_def_error(err, f, "required");
    if (!cJSON_IsNumber(t))
        return tly_def_error(err, f, "expected a number, got %s", tly_json_type_name(t));
    double d = t->valuedouble;
    if (!(d > 0) || !isfinite(d))
        return tly_def_error(err, f, "must be a number greater than 0");
    if (a->measure != TLY_MEASURE_SUM && !whole_in(d, 1, WHOLE_MAX))
        return tly_def_error(err, f, "must be a whole number for measure %s",
                             measure_names[a->measure]);
    a->target = d;

    tly_def_field_path(f, at, "period");
    if (a->measure == TLY_MEASURE_STREAK) {
        int p;
        if ((rc = get_enum(o, "period", at, period_names, COUNT(period_names) - 1, TLY_PERIOD_DAY,
                           &p, err)) != 0)
            return rc;
        a->period = (enum tly_period)p;
    } else if (cJSON_GetObjectItemCaseSensitive(o, "period") != NULL) {
        return tly_def_error(err, f, "only for measure streak");
    }
    return 0;
}

/* starts_at / ends_at: absent or null = unbounded, else an ISO-8601
 * date-time with an offset (epoch strings are refused here). */
static int parse_bound(const cJSON *root, const char *name, int64_t dflt, int64_t *out,
                       struct tly_error *err)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);
    *out = dflt;
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    const char *what = "expected an ISO-8601 date-time such as \"2026-01-01T00:00:00Z\"";
    if (!cJSON_IsString(v))
        return tly_def_error(err, name, "%s", what);
    size_t n = strlen(v->valuestring);
    if (n < 5 || v->valuestring[4] != '-')
        return tly_def_error(err, name, "%s", what);
    return tly_time_parse(v->valuestring, n, out, name, err);
}

static int parse_reward(const cJSON *v, cJSON **out, struct tly_error *err)
{
    static const char *const fields[] = {"type", "name", "amount", "code", NULL};
    *out = NULL;
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsObject(v))
        return tly_def_error(err, "reward", "expected an object, got %s", tly_json_type_name(v));
    int rc = tly_def_check_members(v, "reward", fields, err);
    const char *type = NULL, *name = NULL, *code = NULL;
    if (rc == 0)
        rc = get_string(v, "type", "reward", 1, TLY_DEF_NAME_MAX, &type, err);
    if (rc == 0)
        rc = get_string(v, "name", "reward", 0, TLY_DEF_NAME_MAX, &name, err);
    if (rc == 0)
        rc = get_string(v, "code", "reward", 0, TLY_DEF_NAME_MAX, &code, err);
    if (rc != 0)
        return rc;
    const cJSON *amount = cJSON_GetObjectItemCaseSensitive(v, "amount");
    if (amount != NULL && (!cJSON_IsNumber(amount) || !isfinite(amount->valuedouble)))
        return tly_def_error(err, "reward.amount", "expected a number, got %s",
                             tly_json_type_name(amount));

    cJSON *r = cJSON_CreateObject();
    int ok = r != NULL && cJSON_AddStringToObject(r, "type", type) != NULL;
    if (ok && name != NULL)
        ok = cJSON_AddStringToObject(r, "name", name) != NULL;
    if (ok && amount != NULL)
        ok = cJSON_AddNumberToObject(r, "amount", amount->valuedouble) != NULL;
    if (ok && code != NULL)
        ok = cJSON_AddStringToObject(r, "code", code) != NULL;
    if (!ok) {
        cJSON_Delete(r);
        return TLY_ENOMEM;
    }
    *out = r;
    return 0;
}

static int parse_root(const cJSON *root, struct tly_campaign *c, struct tly_error *err)
{
    static const char *const fields[] = {"id",         "name",          "status",
                                         "timezone",   "starts_at",     "ends_at",
                                         "window",     "complete_when", "max_completions",
                                         "enrollment", "segment",       "count_before_entry",
                                         "activities", "reward",        "webhook",
                                         NULL};
    static const char *const complete_names[] = {"all", "any"};
    static const char *const enroll_names[] = {"auto", "accept"};
    if (!cJSON_IsObject(root))
        return tly_def_error(err, "", "expected a JSON object, got %s", tly_json_type_name(root));
    int rc = tly_def_check_members(root, "", fields, err);
    if (rc != 0)
        return rc;

    const char *s;
    if ((rc = get_string(root, "id", "", 1, SIZE_MAX, &s, err)) != 0)
        return rc;
    if (!tly_def_is_id(s))
        return tly_def_error(err, "id", "expected 1 to %d of a-z, 0-9, _ and -",
                             TLY_CAMPAIGN_ID_MAX);
    if ((c->id = strdup(s)) == NULL)
        return TLY_ENOMEM;
    if ((rc = get_string(root, "name", "", 1, TLY_DEF_NAME_MAX, &s, err)) != 0)
        return rc;
    if ((c->name = strdup(s)) == NULL)
        return TLY_ENOMEM;

    int e;
    if ((rc = get_enum(root, "status", "", status_names, COUNT(status_names), TLY_CAMPAIGN_ACTIVE,
                       &e, err)) != 0)
        return rc;
    c->status = (enum tly_campaign_status)e;

    const char *zone = "UTC";
    if ((rc = get_string(root, "timezone", "", 0, SIZE_MAX, &s, err)) != 0)
        return rc;
    if (s != NULL)
        zone = s;
    struct tly_error tzerr = {{0}};
    rc = tly_tz_load(zone, &c->tz, &tzerr);
    if (rc == TLY_ENOMEM)
        return rc;
    if (rc == TLY_EIO) /* the zone's file is there but unreadable: not the client's fault */
        return tly_error_set(err, rc, "timezone", "timezone: %.150s", tzerr.msg);
    if (rc == TLY_ENOENT)
        return tly_def_error(err, "timezone", "unknown time zone \"%.64s\"", zone);
    if (rc != 0)
        return tly_def_error(err, "timezone", "unusable time zone \"%.64s\" (%.64s)", zone,
                             tzerr.msg);

    if ((rc = parse_bound(root, "starts_at", INT64_MIN, &c->starts_at, err)) != 0 ||
        (rc = parse_bound(root, "ends_at", INT64_MAX, &c->ends_at, err)) != 0)
        return rc;
    if (c->starts_at >= c->ends_at)
        return tly_def_error(err, "ends_at", "must be later than starts_at");

    if ((rc = get_enum(root, "window", "", window_names, COUNT(window_names), 0, &e, err)) != 0)
        return rc;
    c->window = (enum tly_window)e;
    if ((rc = get_enum(root, "complete_when", "", complete_names, 2, 0, &c->complete_any, err)) !=
        0)
        return rc;

    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "max_completions");
    c->max_completions = 1;
    if (v != NULL) {
        if (!cJSON_IsNumber(v) || !whole_in(v->valuedouble, 0, WHOLE_MAX))
            return tly_def_error(err, "max_completions",
                                 "expected a whole number from 0 (unlimited) to %.0f", WHOLE_MAX);
        c->max_completions = (int64_t)v->valuedouble;
    }
    if ((rc = get_enum(root, "enrollment", "", enroll_names, 2, 0, &c->accept, err)) != 0)
        return rc;

    v = cJSON_GetObjectItemCaseSensitive(root, "segment");
    if (v != NULL && !cJSON_IsNull(v)) {
        if (!cJSON_IsString(v) || !tly_def_is_id(v->valuestring))
            return tly_def_error(err, "segment",
                                 "expected null or a segment id (1 to %d of a-z, 0-9, _ and -)",
                                 TLY_CAMPAIGN_ID_MAX);
        if ((c->segment = strdup(v->valuestring)) == NULL)
            return TLY_ENOMEM;
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "count_before_entry");
    if (v != NULL && !cJSON_IsBool(v))
        return tly_def_error(err, "count_before_entry", "expected true or false, got %s",
                             tly_json_type_name(v));
    c->count_before_entry = cJSON_IsTrue(v);

    v = cJSON_GetObjectItemCaseSensitive(root, "activities");
    if (v == NULL)
        return tly_def_error(err, "activities", "required");
    if (!cJSON_IsArray(v))
        return tly_def_error(err, "activities", "expected an array, got %s", tly_json_type_name(v));
    int n = cJSON_GetArraySize(v);
    if (n < 1 || n > TLY_CAMPAIGN_ACTIVITIES)
        return tly_def_error(err, "activities", "expected 1 to %d activities, got %d",
                             TLY_CAMPAIGN_ACTIVITIES, n);
    if ((c->act = calloc((size_t)n, sizeof *c->act)) == NULL)
        return TLY_ENOMEM;
    const cJSON *a;
    cJSON_ArrayForEach(a, v)
    {
        char f[TLY_DEF_FIELD_SIZE];
        int i = c->nact++;
        tly_def_field(f, "activities[%d]", i);
        if ((rc = parse_activity(a, f, &c->act[i], err)) != 0)
            return rc;
        for (int j = 0; j < i; j++)
            if (strcmp(c->act[j].id, c->act[i].id) == 0) {
                tly_def_field(f, "activities[%d].id", i);
                return tly_def_error(err, f, "\"%s\" is also the id of activities[%d]",
                                     c->act[i].id, j);
            }
        if (c->act[i].measure == TLY_MEASURE_STREAK && c->window != TLY_WINDOW_CAMPAIGN)
            return tly_def_error(err, "window", "must be campaign: activities[%d] is a streak", i);
    }
    if ((rc = parse_reward(cJSON_GetObjectItemCaseSensitive(root, "reward"), &c->reward, err)) != 0)
        return rc;
    v = cJSON_GetObjectItemCaseSensitive(root, "webhook");
    if (v == NULL || cJSON_IsNull(v))
        return 0;
    if ((c->webhook = calloc(1, sizeof *c->webhook)) == NULL)
        return TLY_ENOMEM;
    return tly_webhooks_from_json(v, "webhook", c->webhook, err);
}

int tly_campaign_parse(const char *json, size_t len, struct tly_campaign **out,
                       struct tly_error *err)
{
    *out = NULL;
    cJSON *root;
    int rc = tly_def_parse_json(json, len, TLY_CAMPAIGN_JSON_MAX, &root, err);
    if (rc != 0)
        return rc;
    struct tly_campaign *c = calloc(1, sizeof *c);
    if (c == NULL) {
        cJSON_Delete(root);
        return TLY_ENOMEM;
    }
    rc = parse_root(root, c, err);
    cJSON_Delete(root);
    if (rc != 0) {
        tly_campaign_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void tly_where_free(struct tly_where *w)
{
    path_free(&w->path);
    cJSON_Delete(w->value);
    w->value = NULL;
}

int tly_where_to_json(const struct tly_where *w, struct tly_buf *b)
{
    int rc = tly_buf_puts(b, "{\"path\":");
    rc = rc ? rc : put_str(b, w->path.text);
    rc = rc ? rc : tly_buf_printf(b, ",\"op\":\"%s\",\"value\":", op_names[w->op]);
    rc = rc ? rc : put_value(b, w->value);
    return rc ? rc : tly_buf_puts(b, "}");
}

int tly_path_parse(const char *s, struct tly_path *p, const char *field, struct tly_error *err)
{
    return path_parse(s, p, field, err);
}

void tly_path_free(struct tly_path *p)
{
    path_free(p);
}

int tly_number_to_json(struct tly_buf *b, double d)
{
    return put_num(b, d);
}

const char *tly_op_name(enum tly_op op)
{
    return op >= TLY_OP_EQ && op <= TLY_OP_CONTAINS ? op_names[op] : "";
}

void tly_campaign_free(struct tly_campaign *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < c->nact; i++) {
        struct tly_activity *a = &c->act[i];
        for (int j = 0; j < a->nwhere; j++)
            tly_where_free(&a->where[j]);
        free(a->where);
        path_free(&a->property);
        free(a->id);
        free(a->event);
    }
    free(c->act);
    tly_tz_free(c->tz);
    free(c->id);
    free(c->name);
    free(c->segment);
    cJSON_Delete(c->reward);
    tly_webhooks_free(c->webhook);
    free(c->webhook);
    free(c);
}

/* ---- canonical JSON ---------------------------------------------------- */

static int put_str(struct tly_buf *b, const char *s)
{
    return tly_buf_json_str(b, s, strlen(s));
}

static int put_time(struct tly_buf *b, int64_t ms, int64_t unbounded)
{
    if (ms == unbounded)
        return tly_buf_puts(b, "null");
    char t[25];
    tly_time_format(ms, t);
    return tly_buf_printf(b, "\"%s\"", t);
}

static int put_activity(struct tly_buf *b, const struct tly_activity *a)
{
    int rc = tly_buf_puts(b, "{\"id\":");
    rc = rc ? rc : put_str(b, a->id);
    rc = rc ? rc : tly_buf_puts(b, ",\"event\":");
    rc = rc ? rc : put_str(b, a->event);
    rc = rc ? rc : tly_buf_puts(b, ",\"where\":[");
    for (int i = 0; i < a->nwhere && rc == 0; i++) {
        rc = i > 0 ? tly_buf_puts(b, ",") : 0;
        rc = rc ? rc : tly_where_to_json(&a->where[i], b);
    }
    rc = rc ? rc : tly_buf_printf(b, "],\"measure\":\"%s\"", measure_names[a->measure]);
    if (a->property.n > 0) {
        rc = rc ? rc : tly_buf_puts(b, ",\"property\":");
        rc = rc ? rc : put_str(b, a->property.text);
    }
    rc = rc ? rc : tly_buf_puts(b, ",\"target\":");
    rc = rc ? rc : put_num(b, a->target);
    if (a->measure == TLY_MEASURE_STREAK)
        rc = rc ? rc : tly_buf_printf(b, ",\"period\":\"%s\"", period_names[a->period]);
    return rc ? rc : tly_buf_puts(b, "}");
}

static int put_activities(struct tly_buf *b, const struct tly_campaign *c)
{
    int rc = tly_buf_puts(b, "[");
    for (int i = 0; i < c->nact && rc == 0; i++) {
        if (i > 0)
            rc = tly_buf_puts(b, ",");
        rc = rc ? rc : put_activity(b, &c->act[i]);
    }
    return rc ? rc : tly_buf_puts(b, "]");
}

static int put_campaign(struct tly_buf *b, const struct tly_campaign *c)
{
    int rc = tly_buf_puts(b, "{\"id\":");
    rc = rc ? rc : put_str(b, c->id);
    rc = rc ? rc : tly_buf_puts(b, ",\"name\":");
    rc = rc ? rc : put_str(b, c->name);
    rc = rc ? rc : tly_buf_printf(b, ",\"status\":\"%s\",\"timezone\":", status_names[c->status]);
    rc = rc ? rc : put_str(b, tly_tz_name(c->tz));
    rc = rc ? rc : tly_buf_puts(b, ",\"starts_at\":");
    rc = rc ? rc : put_time(b, c->starts_at, INT64_MIN);
    rc = rc ? rc : tly_buf_puts(b, ",\"ends_at\":");
    rc = rc ? rc : put_time(b, c->ends_at, INT64_MAX);
    rc = rc ? rc
            : tly_buf_printf(b,
                             ",\"window\":\"%s\",\"complete_when\":\"%s\","
                             "\"max_completions\":%lld,\"enrollment\":\"%s\",\"segment\":",
                             window_names[c->window], c->complete_any ? "any" : "all",
                             (long long)c->max_completions, c->accept ? "accept" : "auto");
    rc = rc ? rc : (c->segment ? put_str(b, c->segment) : tly_buf_puts(b, "null"));
    rc = rc ? rc
            : tly_buf_printf(b, ",\"count_before_entry\":%s,\"activities\":",
                             c->count_before_entry ? "true" : "false");
    rc = rc ? rc : put_activities(b, c);
    rc = rc ? rc : tly_buf_puts(b, ",\"reward\":");
    if (c->reward == NULL) {
        rc = rc ? rc : tly_buf_puts(b, "null");
    } else { /* members in the order parse_reward added them */
        rc = rc ? rc : tly_buf_puts(b, "{");
        for (const cJSON *m = c->reward->child; m != NULL && rc == 0; m = m->next) {
            if (m != c->reward->child)
                rc = tly_buf_puts(b, ",");
            rc = rc ? rc : put_str(b, m->string);
            rc = rc ? rc : tly_buf_puts(b, ":");
            rc = rc ? rc : put_value(b, m);
        }
        rc = rc ? rc : tly_buf_puts(b, "}");
    }
    if (c->webhook != NULL) { /* secrets included: this is what is stored */
        rc = rc ? rc : tly_buf_puts(b, ",\"webhook\":");
        rc = rc ? rc : tly_webhooks_to_json(c->webhook, 1, b);
    }
    return rc ? rc : tly_buf_puts(b, "}");
}

/* Passes `rc` on; when it is an error, cuts `out` back to `len` bytes. */
static int put_all_or_nothing(struct tly_buf *out, int rc, size_t len)
{
    if (rc != 0) {
        out->len = len;
        if (out->data != NULL)
            out->data[len] = '\0';
    }
    return rc;
}

int tly_campaign_to_json(const struct tly_campaign *c, struct tly_buf *out)
{
    size_t len = out->len;
    return put_all_or_nothing(out, put_campaign(out, c), len);
}

int tly_campaign_check_change(const struct tly_campaign *cur, const struct tly_campaign *next,
                              struct tly_error *err)
{
    if (cur->status != TLY_CAMPAIGN_ACTIVE)
        return 0;
    struct tly_buf a, b;
    tly_buf_init(&a, 0);
    tly_buf_init(&b, 0);
    int rc = put_activities(&a, cur);
    rc = rc ? rc : put_activities(&b, next);
    int same = rc == 0 && a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
    tly_buf_free(&a);
    tly_buf_free(&b);
    if (rc != 0)
        return rc;
    const char *what = "may not change while the campaign is active";
    if (!same)
        return tly_error_set(err, TLY_ECONFLICT, "activities", "activities: %s", what);
    if (cur->window != next->window)
        return tly_error_set(err, TLY_ECONFLICT, "window", "window: %s", what);
    if (strcmp(tly_tz_name(cur->tz), tly_tz_name(next->tz)) != 0)
        return tly_error_set(err, TLY_ECONFLICT, "timezone", "timezone: %s", what);
    return 0;
}
