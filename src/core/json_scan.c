/*
 * The strict JSON syntax walk and string helpers (see json_scan.h).
 *
 * Every byte is looked at once; the walk keeps no state beyond its
 * position and the nesting depth, so a caller steering it (a member
 * callback) sees the same errors at the same bytes as tly_json_check.
 */
#include "core/json_scan.h"
#include "core/json.h"

#include <stdio.h>
#include <string.h>

static int fail(struct tly_json_scan *c, const char *why)
{
    c->why = why;
    return -1;
}

static void skip_ws(struct tly_json_scan *c)
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

static int check_string(struct tly_json_scan *c)
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

static int check_number(struct tly_json_scan *c)
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

static int check_literal(struct tly_json_scan *c, const char *word)
{
    size_t len = strlen(word);
    if (c->n - c->i < len || memcmp(c->s + c->i, word, len) != 0)
        return fail(c, "unexpected character");
    c->i += len;
    return 0;
}

int tly_json_scan_container(struct tly_json_scan *c, tly_json_member_fn fn, void *arg)
{
    char close = c->s[c->i] == '{' ? '}' : ']';
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
        const char *key = NULL;
        size_t key_len = 0;
        if (close == '}') {
            if (c->i >= c->n)
                break;
            if (c->s[c->i] != '"')
                return fail(c, "expected a string key");
            size_t start = c->i + 1;
            if (check_string(c) != 0)
                return -1;
            key = c->s + start;
            key_len = c->i - 1 - start;
            skip_ws(c);
            if (c->i >= c->n)
                break;
            if (c->s[c->i] != ':')
                return fail(c, "expected ':' after key");
            c->i++;
        }
        if ((fn != NULL ? fn(c, arg, key, key_len) : tly_json_scan_value(c)) != 0)
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

enum tly_json_kind tly_json_scan_peek(struct tly_json_scan *c)
{
    skip_ws(c);
    if (c->i >= c->n)
        return TLY_JSON_ABSENT;
    switch (c->s[c->i]) {
    case '{':
        return TLY_JSON_OBJECT;
    case '[':
        return TLY_JSON_ARRAY;
    case '"':
        return TLY_JSON_STRING;
    case 't':
    case 'f':
        return TLY_JSON_BOOLEAN;
    case 'n':
        return TLY_JSON_NULL;
    default:
        return TLY_JSON_NUMBER;
    }
}

int tly_json_scan_value(struct tly_json_scan *c)
{
    skip_ws(c);
    if (c->i >= c->n)
        return fail(c, "unexpected end of input");
    switch (c->s[c->i]) {
    case '{':
    case '[':
        return tly_json_scan_container(c, NULL, NULL);
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

void tly_json_scan_init(struct tly_json_scan *c, const char *text, size_t len)
{
    c->s = text;
    c->n = len;
    c->i = 0;
    c->why = NULL;
    c->depth = 0;
}

int tly_json_scan_finish(struct tly_json_scan *c)
{
    skip_ws(c);
    return c->i == c->n ? 0 : fail(c, "unexpected data after the JSON value");
}

int tly_json_scan_error(const struct tly_json_scan *c, struct tly_error *err)
{
    if (c->n == 0)
        return tly_error_set(err, TLY_EINVAL, "", "empty body: expected a JSON object");
    return tly_error_set(err, TLY_EINVAL, "", "invalid JSON at byte %zu: %s", c->i, c->why);
}

const char *tly_json_kind_name(enum tly_json_kind k)
{
    switch (k) {
    case TLY_JSON_ABSENT:
        return "nothing";
    case TLY_JSON_STRING:
        return "string";
    case TLY_JSON_NUMBER:
        return "number";
    case TLY_JSON_OBJECT:
        return "object";
    case TLY_JSON_ARRAY:
        return "array";
    case TLY_JSON_BOOLEAN:
        return "boolean";
    case TLY_JSON_NULL:
        return "null";
    case TLY_JSON_INVALID:
        break;
    }
    return "invalid";
}

/* --- strings ---------------------------------------------------------------- */

/* Writes code point `cp` as UTF-8 where it fits in out[at..cap); returns its
 * length. */
static size_t put_utf8(unsigned long cp, char *out, size_t at, size_t cap)
{
    unsigned char b[4];
    size_t len;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        len = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xc0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3f));
        len = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xe0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (unsigned char)(0x80 | (cp & 0x3f));
        len = 3;
    } else {
        b[0] = (unsigned char)(0xf0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (unsigned char)(0x80 | (cp & 0x3f));
        len = 4;
    }
    for (size_t k = 0; k < len && at + k < cap; k++)
        out[at + k] = (char)b[k];
    return len;
}

/* The escapes are known to be well formed: the walk accepted the string. */
size_t tly_json_string_decode(const char *raw, size_t n, char *out, size_t cap)
{
    size_t len = 0;
    for (size_t i = 0; i < n;) {
        if (raw[i] != '\\') {
            if (len < cap)
                out[len] = raw[i];
            len++;
            i++;
            continue;
        }
        char e = raw[i + 1];
        if (e == 'u') {
            unsigned long cp = hex4(raw + i + 2);
            i += 6;
            if (cp >= 0xd800 && cp <= 0xdbff) { /* the low half follows */
                cp = 0x10000 + ((cp - 0xd800) << 10) + (hex4(raw + i + 2) - 0xdc00);
                i += 6;
            }
            len += put_utf8(cp, out, len, cap);
            continue;
        }
        char ch = e == 'b'   ? '\b'
                  : e == 'f' ? '\f'
                  : e == 'n' ? '\n'
                  : e == 'r' ? '\r'
                  : e == 't' ? '\t'
                             : e;
        if (len < cap)
            out[len] = ch;
        len++;
        i += 2;
    }
    return len;
}

size_t tly_json_string_len(const char *raw, size_t n)
{
    if (memchr(raw, '\\', n) == NULL)
        return n;
    return tly_json_string_decode(raw, n, NULL, 0);
}

int tly_json_string_is(const char *raw, size_t n, const char *name, size_t name_len)
{
    if (memchr(raw, '\\', n) == NULL)
        return n == name_len && memcmp(raw, name, n) == 0;
    if (n < name_len) /* an escape never decodes to more bytes than it takes */
        return 0;
    char buf[64];
    if (name_len > sizeof buf)
        return 0;
    size_t len = tly_json_string_decode(raw, n, buf, sizeof buf);
    return len == name_len && memcmp(buf, name, len) == 0;
}
