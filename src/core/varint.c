/*
 * Varints and the bounds-checked reader (see varint.h).
 */
#include "core/varint.h"

#include <string.h>

int tly_varint_put(struct tly_buf *b, uint64_t v)
{
    uint8_t tmp[TLY_VARINT_MAX];
    return tly_buf_append(b, tmp, (size_t)(tly_varint_write(tmp, v) - tmp));
}

uint64_t tly_reader_varint(struct tly_reader *r)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) {
            r->bad = 1;
            return 0;
        }
        uint8_t byte = *r->p++;
        if (shift == 63 && byte > 1) { /* bits past the 64th */
            r->bad = 1;
            return 0;
        }
        v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            return v;
    }
    r->bad = 1;
    return 0;
}

uint8_t tly_reader_byte(struct tly_reader *r)
{
    if (r->p >= r->end) {
        r->bad = 1;
        return 0;
    }
    return *r->p++;
}

double tly_reader_f64(struct tly_reader *r)
{
    double d = 0;
    if (r->end - r->p < (long)sizeof d) {
        r->bad = 1;
        return 0;
    }
    memcpy(&d, r->p, sizeof d);
    r->p += sizeof d;
    return d;
}
