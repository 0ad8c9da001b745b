/*
 * CRC-32C: hardware path on x86-64 with SSE4.2, portable table otherwise.
 * The portable path builds its table on the stack per call rather than in a
 * mutable global; it exists for other CPUs and is not on any hot path here.
 */
#include "core/crc32c.h"

#include <string.h>

/* Table for the reflected polynomial 0x82F63B78, one byte at a time. */
static uint32_t table_entry(uint32_t i)
{
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
        c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    return c;
}

static uint32_t crc32c_sw(uint32_t crc, const unsigned char *p, size_t len)
{
    uint32_t table[256];
    for (uint32_t i = 0; i < 256; i++)
        table[i] = table_entry(i);
    crc = ~crc;
    for (size_t i = 0; i < len; i++)
        crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
    return ~crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const unsigned char *p,
                                                            size_t len)
{
    uint64_t c = ~crc;
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len > 0) {
        c32 = __builtin_ia32_crc32qi(c32, *p++);
        len--;
    }
    return ~c32;
}
#endif

uint32_t tly_crc32c(uint32_t crc, const void *data, size_t len)
{
#if defined(__x86_64__)
    if (__builtin_cpu_supports("sse4.2"))
        return crc32c_hw(crc, data, len);
#endif
    return crc32c_sw(crc, data, len);
}
