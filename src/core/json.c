/*
 * JSON parsing for request bodies (see json.h).
 *
 * cJSON builds the tree but is lenient (leading zeros, raw control bytes in
 * strings, \u0000 silently cutting a string short) and its error positions
 * can be a byte off. So a body first goes through a strict RFC 8259 syntax
 * check that finds the exact byte of the first error and says what is wrong
 * there; only a body that passes is handed to cJSON.
 */
#include "core/json.h"

#include <stdio.h>
#include <string.h>

struct check {
    const char *s;
    size_t n, i;
    const char *why;
    int depth;
};

static int fail(struct check *c, const char *why)
{
    c->why = why;
    return -1;
}

static void skip_ws(struct check *c)
{
    while (c->i < c->n &&
           (c->s[c->i] == ' ' || c->s[c->i] == '\t' || c->s[c->i] == '\n' || c->s[c->i] == '\r'))
        c->i++;
}

static int is_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

static int is_hex4(const char *s)
{
    return is_hex(s[0]) && is_hex(s[1]) && is_hex(s[2]) && is_hex(s[3]);
}

/* The value of four hex digits (checked by the caller). */
static unsigned hex4(const char *s)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char ch = s[k];
        v = v * 16 + (unsigned)(ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10);
    }
    return v;
}

static int check_string(struct check *c)
{
    c->i++; /* opening quote */
    while (c->i < c->n) {
        unsigned char ch = (unsigned char)c->s[c->i];
        if (ch == '"') {
            c->i++;
            return 0;
        }
        if (ch < 0x20)
            return fail(c, "control character in string (escape it)");
        if (ch != '\\') {
            c->i++;
            continue;
        }
        if (c->i + 1 >= c->n)
            break;
        char e = c->s[c->i + 1];
        if (e == 'u') {
            if (c->i + 6 > c->n)
                break;
            for (int k = 2; k < 6; k++)
                if (!is_hex(c->s[c->i + k]))
                    return fail(c, "invalid \\u escape");
            if (memcmp(c->s + c->i + 2, "0000", 4) == 0)
                return fail(c, "\\u0000 (NUL) is not allowed in strings");
            unsigned cp = hex4(c->s + c->i + 2);
            if (cp >= 0xdc00 && cp <= 0xdfff)
                return fail(c, "unpaired UTF-16 surrogate escape (low half without a high half)");
            if (cp >= 0xd800 && cp <= 0xdbff) {
                /* Must be followed by \uDC00..\uDFFF to form one character. */
                if (c->i + 12 > c->n || c->s[c->i + 6] != '\\' || c->s[c->i + 7] != 'u' ||
                    !is_hex4(c->s + c->i + 8) || hex4(c->s + c->i + 8) < 0xdc00 ||
                    hex4(c->s + c->i + 8) > 0xdfff)
                    return fail(c,
                                "unpaired UTF-16 surrogate escape (high half without a low half)");
                c->i += 6;
            }
            c->i += 6;
        } else if (strchr("\"\\/bfnrt", e) != NULL && e != '\0') {
            c->i += 2;
        } else {
            return fail(c, "invalid escape in string");
        }
    }
    return fail(c, "unterminated string");
}

static int check_number(struct check *c)
{
    size_t start = c->i;
    if (c->s[c->i] == '-')
        c->i++;
    if (c->i < c->n && c->s[c->i] == '0') {
        c->i++;
    } else if (c->i < c->n && c->s[c->i] >= '1' && c->s[c->i] <= '9') {
        while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9')
            c->i++;
    } else {
        c->i = start;
        return fail(c, "invalid number");
    }
    if (c->i < c->n && c->s[c->i] == '.') {
        c->i++;
        if (c->i >= c->n || c->s[c->i] < '0' || c->s[c->i] > '9')
            return fail(c, "expected digits after '.'");
        while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9')
            c->i++;
    }
    if (c->i < c->n && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
        c->i++;
        if (c->i < c->n && (c->s[c->i] == '+' || c->s[c->i] == '-'))
            c->i++;
        if (c->i >= c->n || c->s[c->i] < '0' || c->s[c->i] > '9')
            return fail(c, "expected digits in exponent");
        while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9')
            c->i++;
    }
    return 0;
}

static int check_literal(struct check *c, const char *word)
{
    size_t len = strlen(word);
    if (c->n - c->i < len || memcmp(c->s + c->i, word, len) != 0)
        return fail(c, "unexpected character");
    c->i += len;
    return 0;
}

static int check_value(struct check *c);

/* Object or array; `close` is '}' or ']'. */
static int check_container(struct check *c, char close)
{
    if (++c->depth > TLY_JSON_MAX_DEPTH)
        return fail(c, "nested too deeply");
    c->i++;
    skip_ws(c);
    if (c->i < c->n && c->s[c->i] == close) {
        c->i++;
        c->depth--;
        return 0;
    }
    for (;;) {
        if (close == '}') {
            if (c->i >= c->n)
                break;
            if (c->s[c->i] != '"')
                return fail(c, "expected a string key");
            if (check_string(c) != 0)
                return -1;
            skip_ws(c);
            if (c->i >= c->n)
                break;
            if (c->s[c->i] != ':')
                return fail(c, "expected ':' after key");
            c->i++;
        }
        if (check_value(c) != 0)
            return -1;
        skip_ws(c);
        if (c->i >= c->n)
            break;
        if (c->s[c->i] == close) {
            c->i++;
            c->depth--;
            return 0;
        }
        if (c->s[c->i] != ',')
            return fail(c, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
        c->i++;
        skip_ws(c);
    }
    return fail(c, "unexpected end of input");
}

static int check_value(struct check *c)
{
    skip_ws(c);
    if (c->i >= c->n)
        return fail(c, "unexpected end of input");
    switch (c->s[c->i]) {
    case '{':
        return check_container(c, '}');
    case '[':
        return check_container(c, ']');
    case '"':
        return check_string(c);
    case 't':
        return check_literal(c, "true");
    case 'f':
        return check_literal(c, "false");
    case 'n':
        return check_literal(c, "null");
    default:
        return check_number(c);
    }
}

int tly_json_check(const char *text, size_t len, struct tly_error *err)
{
    if (len == 0)
        return tly_error_set(err, TLY_EINVAL, "", "empty body: expected a JSON object");
    struct check c = {text, len, 0, NULL, 0};
    if (check_value(&c) == 0) {
        skip_ws(&c);
        if (c.i == len)
            return 0;
        c.why = "unexpected data after the JSON value";
    }
    return tly_error_set(err, TLY_EINVAL, "", "invalid JSON at byte %zu: %s", c.i, c.why);
}

cJSON *tly_json_parse(const char *text, size_t len, struct tly_error *err)
{
    if (tly_json_check(text, len, err) != 0)
        return NULL;
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (root == NULL) /* valid JSON, so only allocation can fail here */
        tly_error_set(err, TLY_ENOMEM, "", "out of memory while parsing JSON");
    return root;
}

const char *tly_json_type_name(const cJSON *v)
{
    if (v == NULL)
        return "nothing";
    if (cJSON_IsString(v))
        return "string";
    if (cJSON_IsNumber(v))
        return "number";
    if (cJSON_IsObject(v))
        return "object";
    if (cJSON_IsArray(v))
        return "array";
    if (cJSON_IsBool(v))
        return "boolean";
    if (cJSON_IsNull(v))
        return "null";
    return "invalid";
}
