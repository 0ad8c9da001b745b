/*
 * Growable, bounded byte buffer (see buf.h).
 */
#include "core/buf.h"
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tly_buf_init(struct tly_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void tly_buf_free(struct tly_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void tly_buf_reset(struct tly_buf *b)
{
    b->len = 0;
}

int tly_buf_reserve(struct tly_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1)
        return TLY_ETOOBIG;
    size_t need = b->len + extra;
    if (b->max != 0 && need > b->max)
        return TLY_ETOOBIG;
    if (need + 1 <= b->cap) /* +1 keeps room for a terminating NUL */
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need + 1)
        cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return TLY_ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int tly_buf_append(struct tly_buf *b, const void *p, size_t n)
{
    int rc = tly_buf_reserve(b, n);
    if (rc != 0)
        return rc;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int tly_buf_puts(struct tly_buf *b, const char *s)
{
    return tly_buf_append(b, s, strlen(s));
}

int tly_buf_printf(struct tly_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return TLY_EINVAL;
    if ((size_t)n < sizeof small)
        return tly_buf_append(b, small, (size_t)n);
    int rc = tly_buf_reserve(b, (size_t)n);
    if (rc != 0)
        return rc;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

static int json_escape(struct tly_buf *b, const char *s, size_t n);

int tly_buf_json_escape(struct tly_buf *b, const char *s, size_t n)
{
    size_t len = b->len;
    int rc = json_escape(b, s, n);
    if (rc != 0) {
        b->len = len; /* all or nothing, as every append */
        if (b->data != NULL)
            b->data[len] = '\0';
    }
    return rc;
}

static int json_escape(struct tly_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        int rc = tly_buf_append(b, s + start, i - start);
        if (rc != 0)
            return rc;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t elen = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            elen = 6;
        }
        rc = tly_buf_append(b, esc, elen);
        if (rc != 0)
            return rc;
        start = i + 1;
    }
    return tly_buf_append(b, s + start, n - start);
}

int tly_buf_json_str(struct tly_buf *b, const char *s, size_t n)
{
    size_t len = b->len;
    int rc = tly_buf_append(b, "\"", 1);
    if (rc == 0)
        rc = json_escape(b, s, n);
    if (rc == 0)
        rc = tly_buf_append(b, "\"", 1);
    if (rc != 0) {
        b->len = len;
        if (b->data != NULL)
            b->data[len] = '\0';
    }
    return rc;
}

int tly_buf_base64(struct tly_buf *b, const void *data, size_t n)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    int rc = tly_buf_reserve(b, (n + 2) / 3 * 4);
    for (size_t i = 0; i < n && rc == 0; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char q[4] = {t[v >> 18], t[(v >> 12) & 63], i + 1 < n ? t[(v >> 6) & 63] : '=',
                     i + 2 < n ? t[v & 63] : '='};
        rc = tly_buf_append(b, q, 4);
    }
    return rc;
}
