/*
 * Record framing and checksum (layout in record.h).
 */
#include "log/record.h"
#include "core/crc32c.h"

#include <string.h>

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

const char *tly_source_name(int source)
{
    switch (source) {
    case TLY_SOURCE_SERVER:
        return "server";
    case TLY_SOURCE_SEGMENT:
        return "segment";
    case TLY_SOURCE_MOENGAGE:
        return "moengage";
    case TLY_SOURCE_CLEVERTAP:
        return "clevertap";
    case TLY_SOURCE_WEBENGAGE:
        return "webengage";
    case TLY_SOURCE_TRACK:
        return "track";
    case TLY_SOURCE_INTERNAL:
        return "internal";
    }
    return "unknown";
}

int tly_source_parse(const char *name)
{
    for (int s = TLY_SOURCE_SERVER; s <= TLY_SOURCE_TRACK; s++)
        if (strcmp(tly_source_name(s), name) == 0)
            return s;
    return -1;
}

const char *tly_kind_name(int kind)
{
    switch (kind) {
    case TLY_KIND_SINGLE:
        return "single";
    case TLY_KIND_BATCH:
        return "batch";
    case TLY_KIND_REPLAY:
        return "replay";
    }
    return "unknown";
}

size_t tly_record_size(size_t meta_len, size_t body_len)
{
    return TLY_RECORD_HEADER + meta_len + body_len;
}

void tly_record_encode(const struct tly_record *r, uint8_t *out)
{
    size_t total = tly_record_size(r->meta_len, r->body_len);
    put_u32(out, (uint32_t)(total - TLY_RECORD_PREFIX));
    out[8] = TLY_RECORD_VERSION;
    out[9] = r->source;
    out[10] = r->kind;
    out[11] = r->flags;
    put_u32(out + 12, r->tenant);
    put_u64(out + 16, (uint64_t)r->received_at);
    memcpy(out + 24, r->request_id, 16);
    put_u16(out + 40, (uint16_t)r->meta_len);
    put_u16(out + 42, 0);
    if (r->meta_len > 0)
        memcpy(out + TLY_RECORD_HEADER, r->meta, r->meta_len);
    if (r->body_len > 0)
        memcpy(out + TLY_RECORD_HEADER + r->meta_len, r->body, r->body_len);
    uint32_t crc = tly_crc32c(0, out, 4);
    crc = tly_crc32c(crc, out + TLY_RECORD_PREFIX, total - TLY_RECORD_PREFIX);
    put_u32(out + 4, crc);
}

long tly_record_decode(const uint8_t *p, size_t avail, struct tly_record *r)
{
    if (avail < TLY_RECORD_PREFIX)
        return 0;
    uint32_t len = get_u32(p);
    if (len < TLY_RECORD_HEADER - TLY_RECORD_PREFIX || len > TLY_RECORD_MAX_LEN)
        return TLY_ECORRUPT;
    if (avail - TLY_RECORD_PREFIX < len)
        return 0;
    uint32_t crc = tly_crc32c(0, p, 4);
    crc = tly_crc32c(crc, p + TLY_RECORD_PREFIX, len);
    if (crc != get_u32(p + 4))
        return TLY_ECORRUPT;
    if (p[8] != TLY_RECORD_VERSION)
        return TLY_ECORRUPT;
    uint16_t meta_len = get_u16(p + 40);
    if ((size_t)meta_len > len - (TLY_RECORD_HEADER - TLY_RECORD_PREFIX))
        return TLY_ECORRUPT;
    r->source = p[9];
    r->kind = p[10];
    r->flags = p[11];
    r->tenant = get_u32(p + 12);
    r->received_at = (int64_t)get_u64(p + 16);
    memcpy(r->request_id, p + 24, 16);
    r->meta = (const char *)p + TLY_RECORD_HEADER;
    r->meta_len = meta_len;
    r->body = r->meta + meta_len;
    r->body_len = len - (TLY_RECORD_HEADER - TLY_RECORD_PREFIX) - meta_len;
    return (long)(TLY_RECORD_PREFIX + len);
}

void tly_request_id_hex(const uint8_t id[16], char out[33])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[id[i] >> 4];
        out[2 * i + 1] = hex[id[i] & 15];
    }
    out[32] = '\0';
}
