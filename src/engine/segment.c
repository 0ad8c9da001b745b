/*
 * Segment definitions (see segment.h): the parser, the canonical writer,
 * the comparisons of behaviour conditions and the CSV reader of uploads.
 *
 * `where` conditions (attribute conditions and a behaviour condition's
 * filters) are parsed, written and judged by campaign.c's functions, so a
 * condition means the same in a campaign and in a segment.
 */
#include "engine/segment.h"
#include "engine/definition.h"
#include "core/json.h"
#include "core/utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const measure_names[] = {NULL, "count", "sum"};

static int parse_within(const cJSON *v, const char *f, struct tly_segcond *c, struct tly_error *err)
{
    if (!cJSON_IsString(v))
        return tly_def_error(err, f, "expected a duration such as \"30d\" (s, m, h, d or w)");
    const char *s = v->valuestring;
    char *end;
    if (s[0] < '1' || s[0] > '9')
        return tly_def_error(err, f, "expected a duration such as \"30d\" (s, m, h, d or w)");
    long long n = strtoll(s, &end, 10);
    int64_t unit = 0;
    if (end[0] != '\0' && end[1] == '\0') {
        switch (end[0]) {
        case 's':
            unit = 1000;
            break;
        case 'm':
            unit = 60000;
            break;
        case 'h':
            unit = 3600000;
            break;
        case 'd':
            unit = 86400000;
            break;
        case 'w':
            unit = 7 * 86400000LL;
            break;
        }
    }
    if (unit == 0)
        return tly_def_error(err, f, "expected a duration such as \"30d\" (s, m, h, d or w)");
    if (n > TLY_SEGMENT_WITHIN_MAX / unit)
        return tly_def_error(err, f, "at most 3650 days");
    c->within_ms = n * unit;
    snprintf(c->within, sizeof c->within, "%lld%c", n, end[0]);
    return 0;
}

static int parse_behaviour(const cJSON *o, const char *at, struct tly_segcond *c,
                           struct tly_error *err)
{
    static const char *const fields[] = {"event", "where", "measure", "property",
                                         "op",    "value", "within",  NULL};
    char f[TLY_DEF_FIELD_SIZE];
    int rc = tly_def_check_members(o, at, fields, err);
    if (rc != 0)
        return rc;
    c->kind = TLY_SEGCOND_BEHAVIOUR;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "event");
    tly_def_field(f, "%s.event", at);
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0' ||
        strlen(v->valuestring) > TLY_DEF_NAME_MAX)
        return tly_def_error(err, f, "expected an event name (1 to %d bytes)", TLY_DEF_NAME_MAX);
    if ((c->event = strdup(v->valuestring)) == NULL)
        return TLY_ENOMEM;

    v = cJSON_GetObjectItemCaseSensitive(o, "where");
    tly_def_field(f, "%s.where", at);
    if (v != NULL) {
        if (!cJSON_IsArray(v))
            return tly_def_error(err, f, "expected an array, got %s", tly_json_type_name(v));
        int n = cJSON_GetArraySize(v);
        if (n > TLY_CAMPAIGN_WHERE)
            return tly_def_error(err, f, "at most %d conditions, got %d", TLY_CAMPAIGN_WHERE, n);
        if (n > 0 && (c->where = calloc((size_t)n, sizeof *c->where)) == NULL)
            return TLY_ENOMEM;
        const cJSON *w;
        cJSON_ArrayForEach(w, v)
        {
            char wf[TLY_DEF_FIELD_SIZE];
            tly_def_field(wf, "%s[%d]", f, c->nwhere);
            if ((rc = tly_where_parse(w, wf, &c->where[c->nwhere++], err)) != 0)
                return rc;
        }
    }

    v = cJSON_GetObjectItemCaseSensitive(o, "measure");
    tly_def_field(f, "%s.measure", at);
    c->measure = TLY_MEASURE_COUNT;
    if (v != NULL) {
        if (cJSON_IsString(v) && strcmp(v->valuestring, "count") == 0)
            c->measure = TLY_MEASURE_COUNT;
        else if (cJSON_IsString(v) && strcmp(v->valuestring, "sum") == 0)
            c->measure = TLY_MEASURE_SUM;
        else
            return tly_def_error(err, f, "expected \"count\" or \"sum\"");
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "property");
    tly_def_field(f, "%s.property", at);
    if (c->measure == TLY_MEASURE_SUM) {
        if (!cJSON_IsString(v))
            return tly_def_error(err, f, "required for measure sum (a dot path)");
        if ((rc = tly_path_parse(v->valuestring, &c->property, f, err)) != 0)
            return rc;
    } else if (v != NULL) {
        return tly_def_error(err, f, "only for measure sum");
    }

    v = cJSON_GetObjectItemCaseSensitive(o, "op");
    tly_def_field(f, "%s.op", at);
    static const enum tly_op ops[] = {TLY_OP_EQ,  TLY_OP_NE, TLY_OP_GT,
                                      TLY_OP_GTE, TLY_OP_LT, TLY_OP_LTE};
    c->op = 0;
    for (size_t i = 0; cJSON_IsString(v) && i < sizeof ops / sizeof ops[0]; i++)
        if (strcmp(v->valuestring, tly_op_name(ops[i])) == 0)
            c->op = ops[i];
    if (c->op == 0)
        return tly_def_error(err, f, "expected one of eq, ne, gt, gte, lt, lte");
    v = cJSON_GetObjectItemCaseSensitive(o, "value");
    tly_def_field(f, "%s.value", at);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return tly_def_error(err, f, "expected a number");
    c->value = v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(o, "within");
    tly_def_field(f, "%s.within", at);
    return v == NULL || cJSON_IsNull(v) ? 0 : parse_within(v, f, c, err);
}

static int parse_condition(const cJSON *o, const char *at, struct tly_segcond *c,
                           struct tly_error *err)
{
    if (!cJSON_IsObject(o))
        return tly_def_error(err, at, "expected an object, got %s", tly_json_type_name(o));
    if (cJSON_GetObjectItemCaseSensitive(o, "event") != NULL)
        return parse_behaviour(o, at, c, err);
    if (cJSON_GetObjectItemCaseSensitive(o, "path") == NULL)
        return tly_def_error(err, at,
                             "expected an attribute condition {path, op, value} or a behaviour "
                             "condition {event, measure, op, value, ...}");
    c->kind = TLY_SEGCOND_ATTRIBUTE;
    return tly_where_parse(o, at, &c->attr, err);
}

static int parse_root(const cJSON *root, struct tly_segment *s, struct tly_error *err)
{
    static const char *const fields[] = {"id", "name", "type", "match", "conditions", NULL};
    if (!cJSON_IsObject(root))
        return tly_def_error(err, "", "expected a JSON object, got %s", tly_json_type_name(root));
    int rc = tly_def_check_members(root, "", fields, err);
    if (rc != 0)
        return rc;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "id");
    if (v == NULL)
        return tly_def_error(err, "id", "required");
    if (!cJSON_IsString(v) || !tly_def_is_id(v->valuestring))
        return tly_def_error(err, "id", "expected 1 to %d of a-z, 0-9, _ and -",
                             TLY_CAMPAIGN_ID_MAX);
    if ((s->id = strdup(v->valuestring)) == NULL)
        return TLY_ENOMEM;
    v = cJSON_GetObjectItemCaseSensitive(root, "name");
    if (v != NULL && (!cJSON_IsString(v) || strlen(v->valuestring) > TLY_DEF_NAME_MAX))
        return tly_def_error(err, "name", "expected a string of at most %d bytes",
                             TLY_DEF_NAME_MAX);
    if ((s->name = strdup(v != NULL ? v->valuestring : s->id)) == NULL)
        return TLY_ENOMEM;
    v = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (v == NULL)
        return tly_def_error(err, "type", "required");
    if (cJSON_IsString(v) && strcmp(v->valuestring, "static") == 0)
        s->kind = TLY_SEGMENT_STATIC;
    else if (cJSON_IsString(v) && strcmp(v->valuestring, "event") == 0)
        s->kind = TLY_SEGMENT_EVENT;
    else
        return tly_def_error(err, "type", "expected \"static\" or \"event\"");
    v = cJSON_GetObjectItemCaseSensitive(root, "match");
    if (v != NULL) {
        if (s->kind == TLY_SEGMENT_STATIC)
            return tly_def_error(err, "match", "only for type event");
        if (cJSON_IsString(v) && strcmp(v->valuestring, "any") == 0)
            s->match_any = 1;
        else if (!cJSON_IsString(v) || strcmp(v->valuestring, "all") != 0)
            return tly_def_error(err, "match", "expected \"all\" or \"any\"");
    }
    v = cJSON_GetObjectItemCaseSensitive(root, "conditions");
    if (s->kind == TLY_SEGMENT_STATIC) {
        if (v != NULL)
            return tly_def_error(err, "conditions", "only for type event");
        return 0;
    }
    if (v == NULL)
        return tly_def_error(err, "conditions", "required for type event");
    if (!cJSON_IsArray(v))
        return tly_def_error(err, "conditions", "expected an array, got %s", tly_json_type_name(v));
    int n = cJSON_GetArraySize(v);
    if (n < 1 || n > TLY_SEGMENT_CONDITIONS)
        return tly_def_error(err, "conditions", "expected 1 to %d conditions, got %d",
                             TLY_SEGMENT_CONDITIONS, n);
    if ((s->cond = calloc((size_t)n, sizeof *s->cond)) == NULL)
        return TLY_ENOMEM;
    const cJSON *c;
    cJSON_ArrayForEach(c, v)
    {
        char f[TLY_DEF_FIELD_SIZE];
        tly_def_field(f, "conditions[%d]", s->ncond);
        if ((rc = parse_condition(c, f, &s->cond[s->ncond++], err)) != 0)
            return rc;
    }
    return 0;
}

int tly_segment_parse(const char *json, size_t len, struct tly_segment **out, struct tly_error *err)
{
    *out = NULL;
    cJSON *root;
    int rc = tly_def_parse_json(json, len, TLY_SEGMENT_JSON_MAX, &root, err);
    if (rc != 0)
        return rc;
    struct tly_segment *s = calloc(1, sizeof *s);
    if (s == NULL) {
        cJSON_Delete(root);
        return TLY_ENOMEM;
    }
    rc = parse_root(root, s, err);
    cJSON_Delete(root);
    if (rc != 0) {
        tly_segment_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void tly_segment_free(struct tly_segment *s)
{
    if (s == NULL)
        return;
    for (int i = 0; i < s->ncond; i++) {
        struct tly_segcond *c = &s->cond[i];
        tly_where_free(&c->attr);
        for (int j = 0; j < c->nwhere; j++)
            tly_where_free(&c->where[j]);
        free(c->where);
        tly_path_free(&c->property);
        free(c->event);
    }
    free(s->cond);
    free(s->id);
    free(s->name);
    free(s);
}

static int put_cond(struct tly_buf *b, const struct tly_segcond *c)
{
    if (c->kind == TLY_SEGCOND_ATTRIBUTE)
        return tly_where_to_json(&c->attr, b);
    int rc = tly_buf_puts(b, "{\"event\":");
    rc = rc ? rc : tly_buf_json_str(b, c->event, strlen(c->event));
    rc = rc ? rc : tly_buf_puts(b, ",\"where\":[");
    for (int i = 0; i < c->nwhere && rc == 0; i++) {
        rc = i > 0 ? tly_buf_puts(b, ",") : 0;
        rc = rc ? rc : tly_where_to_json(&c->where[i], b);
    }
    rc = rc ? rc : tly_buf_printf(b, "],\"measure\":\"%s\"", measure_names[c->measure]);
    if (c->measure == TLY_MEASURE_SUM) {
        rc = rc ? rc : tly_buf_puts(b, ",\"property\":");
        rc = rc ? rc : tly_buf_json_str(b, c->property.text, strlen(c->property.text));
    }
    rc = rc ? rc : tly_buf_printf(b, ",\"op\":\"%s\",\"value\":", tly_op_name(c->op));
    rc = rc ? rc : tly_number_to_json(b, c->value);
    rc = rc ? rc : tly_buf_puts(b, ",\"within\":");
    if (c->within_ms > 0)
        rc = rc ? rc : tly_buf_printf(b, "\"%s\"", c->within);
    else
        rc = rc ? rc : tly_buf_puts(b, "null");
    return rc ? rc : tly_buf_puts(b, "}");
}

static int put_rules(struct tly_buf *b, const struct tly_segment *s)
{
    int rc =
        tly_buf_printf(b, "\"type\":\"%s\"", s->kind == TLY_SEGMENT_STATIC ? "static" : "event");
    if (s->kind == TLY_SEGMENT_STATIC)
        return rc;
    rc = rc ? rc
            : tly_buf_printf(b, ",\"match\":\"%s\",\"conditions\":[", s->match_any ? "any" : "all");
    for (int i = 0; i < s->ncond && rc == 0; i++) {
        rc = i > 0 ? tly_buf_puts(b, ",") : 0;
        rc = rc ? rc : put_cond(b, &s->cond[i]);
    }
    return rc ? rc : tly_buf_puts(b, "]");
}

int tly_segment_to_json(const struct tly_segment *s, struct tly_buf *out)
{
    size_t len = out->len;
    int rc = tly_buf_puts(out, "{\"id\":");
    rc = rc ? rc : tly_buf_json_str(out, s->id, strlen(s->id));
    rc = rc ? rc : tly_buf_puts(out, ",\"name\":");
    rc = rc ? rc : tly_buf_json_str(out, s->name, strlen(s->name));
    rc = rc ? rc : tly_buf_puts(out, ",");
    rc = rc ? rc : put_rules(out, s);
    rc = rc ? rc : tly_buf_puts(out, "}");
    if (rc != 0) {
        out->len = len;
        if (out->data != NULL)
            out->data[len] = '\0';
    }
    return rc;
}

int tly_segment_same_rules(const struct tly_segment *a, const struct tly_segment *b)
{
    struct tly_buf x, y;
    tly_buf_init(&x, 0);
    tly_buf_init(&y, 0);
    int rc = put_rules(&x, a);
    rc = rc ? rc : put_rules(&y, b);
    int same = rc == 0 && x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
    tly_buf_free(&x);
    tly_buf_free(&y);
    return same;
}

int tly_segcond_compare(const struct tly_segcond *c, double x)
{
    switch (c->op) {
    case TLY_OP_EQ:
        return x == c->value;
    case TLY_OP_NE:
        return x != c->value;
    case TLY_OP_GT:
        return x > c->value;
    case TLY_OP_GTE:
        return x >= c->value;
    case TLY_OP_LT:
        return x < c->value;
    case TLY_OP_LTE:
        return x <= c->value;
    default:
        return 0;
    }
}

int tly_segcond_matches(const struct tly_segcond *c, const char *name, const cJSON *properties)
{
    if (c->kind != TLY_SEGCOND_BEHAVIOUR || strcmp(c->event, name) != 0)
        return 0;
    for (int i = 0; i < c->nwhere; i++)
        if (!tly_where_holds(&c->where[i], properties))
            return 0;
    return 1;
}

/* ---- CSV --------------------------------------------------------------- */

int tly_segment_csv_next(const char *buf, size_t len, size_t *pos, size_t *line, char *out,
                         size_t outsz, struct tly_error *err)
{
    while (*pos < len) {
        size_t i = *pos, n = 0;
        (*line)++;
        int quoted = i < len && buf[i] == '"', too_long = 0;
        if (quoted) {
            for (i++;; i++) {
                if (i >= len)
                    return tly_error_set(err, TLY_EINVAL, "", "line %zu: unterminated quote",
                                         *line);
                if (buf[i] == '"') {
                    if (i + 1 < len && buf[i + 1] == '"')
                        i++;
                    else
                        break;
                }
                if (n + 1 < outsz)
                    out[n++] = buf[i];
                else
                    too_long = 1;
            }
            i++;
            if (i < len && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r')
                return tly_error_set(err, TLY_EINVAL, "", "line %zu: text after the closing quote",
                                     *line);
        } else {
            for (; i < len && buf[i] != ',' && buf[i] != '\n' && buf[i] != '\r'; i++) {
                if (n + 1 < outsz)
                    out[n++] = buf[i];
                else
                    too_long = 1;
            }
        }
        /* The rest of the line (other columns) is skipped. */
        while (i < len && buf[i] != '\n')
            i++;
        *pos = i < len ? i + 1 : len;
        out[n] = '\0';
        if (too_long)
            return tly_error_set(err, TLY_EINVAL, "", "line %zu: a user id is at most %zu bytes",
                                 *line, outsz - 1);
        if (n == 0 && !quoted)
            continue; /* blank line */
        if (n == 0 || memchr(out, '\0', n) != NULL || !tly_utf8_valid(out, n))
            return tly_error_set(err, TLY_EINVAL, "",
                                 "line %zu: a user id must be non-empty UTF-8 text", *line);
        if (*line == 1 && !quoted &&
            (strcmp(out, "user_id") == 0 || strcmp(out, "userId") == 0 || strcmp(out, "id") == 0))
            continue; /* header */
        return 1;
    }
    return 0;
}
