/*
 * A growable byte buffer with an upper bound.
 *
 * Used for request bodies, encoded log records and response text. The buffer
 * owns `data`; tly_buf_free releases it and leaves an empty buffer. Appends
 * that would pass `max` fail with TLY_ETOOBIG and leave the buffer unchanged,
 * so a client cannot grow memory past its configured limit.
 */
#ifndef TLY_CORE_BUF_H
#define TLY_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct tly_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max; /* 0 = no bound */
};

void tly_buf_init(struct tly_buf *b, size_t max);
void tly_buf_free(struct tly_buf *b);
void tly_buf_reset(struct tly_buf *b); /* len = 0, keeps the allocation */
int tly_buf_reserve(struct tly_buf *b, size_t extra);
int tly_buf_append(struct tly_buf *b, const void *p, size_t n);
int tly_buf_puts(struct tly_buf *b, const char *s);
int tly_buf_printf(struct tly_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends `s` (length n) as the inside of a JSON string: quotes, backslash and
 * control bytes escaped; other bytes copied as they are. */
int tly_buf_json_escape(struct tly_buf *b, const char *s, size_t n);
/* Appends the standard base64 encoding (with padding) of p[0..n). */
int tly_buf_base64(struct tly_buf *b, const void *p, size_t n);

/* Appends a quoted JSON string. */
int tly_buf_json_str(struct tly_buf *b, const char *s, size_t n);

#endif
