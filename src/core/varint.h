/*
 * The pieces of tally's compact binary encodings (campaign progress,
 * segment state): protobuf-style varints, zigzag for signed values,
 * IEEE-754 doubles in host order (little-endian), and a bounds-checked
 * reader that never reads past its end: a short or overlong input sets
 * `bad` and reads as zeros from then on.
 */
#ifndef TLY_CORE_VARINT_H
#define TLY_CORE_VARINT_H

#include "core/buf.h"

#include <stddef.h>
#include <stdint.h>

static inline uint64_t tly_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t tly_unzigzag(uint64_t v)
{
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

#define TLY_VARINT_MAX 10 /* bytes of the longest varint */

/* Writes v as a varint at p (room for TLY_VARINT_MAX bytes); the end. */
static inline uint8_t *tly_varint_write(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Appends v as a varint (1 to 10 bytes). 0 or TLY_ENOMEM. */
int tly_varint_put(struct tly_buf *b, uint64_t v);

struct tly_reader {
    const uint8_t *p, *end;
    int bad; /* read past the end, or a varint longer than 64 bits */
};

static inline void tly_reader_init(struct tly_reader *r, const void *data, size_t len)
{
    r->p = data;
    r->end = r->p + len;
    r->bad = 0;
}

uint64_t tly_reader_varint(struct tly_reader *r);
uint8_t tly_reader_byte(struct tly_reader *r);
double tly_reader_f64(struct tly_reader *r);

#endif
