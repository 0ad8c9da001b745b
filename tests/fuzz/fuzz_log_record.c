/*
 * Fuzzes the event log record codec (src/log/record.h) two ways.
 *
 * Decode: the input is read as a sequence of frames, as the log reader does:
 * tly_record_decode at the current position, advance by the returned size,
 * stop at 0 (need more bytes) or an error. Checked for each frame:
 *   - the result is > 0, 0 or TLY_ECORRUPT, and a size is at least
 *     TLY_RECORD_HEADER and at most the bytes available;
 *   - meta and body lie inside the frame, back to back, and fill it
 *     (tly_record_size(meta_len, body_len) is the size);
 *   - re-encoding the decoded record gives the same bytes (except the
 *     checksum and the reserved bytes, which decode does not look at);
 *   - every shorter prefix of a good frame decodes as 0 (a torn tail is
 *     never mistaken for corruption or for a smaller frame).
 *
 * Encode: a record is built from the input (header fields from the first
 * 32 bytes, then meta of a length taken from them, then the body), encoded
 * and decoded again. Checked: decode returns exactly the encoded size and
 * the same fields, meta and body, also with junk after the frame; every
 * prefix returns 0; a single flipped bit (position from the input) is
 * caught: TLY_ECORRUPT, or 0 when it made the length field claim more.
 */
#include "log/record.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static int is_reserved_or_crc(size_t i)
{
    return (i >= 4 && i < 8) || i == 11 || i == 42 || i == 43;
}

/* Checks every prefix length in a few spots: 0..8, around the header and
 * the end, and one position `k` from the input. */
static void check_prefixes(const uint8_t *p, size_t n, size_t k)
{
    struct tly_record r;
    size_t spots[] = {0,     1,     4,    7, 8, 9, TLY_RECORD_HEADER - 1, TLY_RECORD_HEADER,
                      n / 2, n - 1, k % n};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++)
        if (spots[i] < n)
            CHECK(tly_record_decode(p, spots[i], &r) == 0);
}

static void decode_stream(const uint8_t *data, size_t size)
{
    size_t off = 0;
    while (off < size) {
        struct tly_record r;
        const uint8_t *p = data + off;
        size_t avail = size - off;
        long n = tly_record_decode(p, avail, &r);
        if (n == 0)
            break;
        if (n < 0) {
            CHECK(n == TLY_ECORRUPT);
            break;
        }
        size_t sz = (size_t)n;
        CHECK(sz >= TLY_RECORD_HEADER && sz <= avail);
        const char *frame = (const char *)p;
        CHECK(r.meta == frame + TLY_RECORD_HEADER);
        CHECK(r.meta_len <= sz - TLY_RECORD_HEADER);
        CHECK(r.body == r.meta + r.meta_len);
        CHECK(r.body + r.body_len == frame + sz);
        CHECK(tly_record_size(r.meta_len, r.body_len) == sz);

        uint8_t *again = malloc(sz);
        CHECK(again != NULL);
        tly_record_encode(&r, again);
        for (size_t i = 0; i < sz; i++)
            if (!is_reserved_or_crc(i))
                CHECK(again[i] == p[i]);
        free(again);

        check_prefixes(p, sz, off);
        off += sz;
    }
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void roundtrip(const uint8_t *data, size_t size)
{
    if (size < 34)
        return;
    struct tly_record in;
    memset(&in, 0, sizeof in);
    in.source = data[0];
    in.kind = data[1];
    in.tenant = get_u32(data + 2);
    in.received_at = (int64_t)((uint64_t)get_u32(data + 6) | (uint64_t)get_u32(data + 10) << 32);
    memcpy(in.request_id, data + 14, 16);
    size_t flip = (size_t)data[30] | (size_t)data[31] << 8;
    size_t rest = size - 34;
    size_t meta_len = ((size_t)data[32] | (size_t)data[33] << 8) % (rest + 1);
    in.meta = (const char *)data + 34;
    in.meta_len = meta_len;
    in.body = in.meta + meta_len;
    in.body_len = rest - meta_len;

    size_t n = tly_record_size(in.meta_len, in.body_len);
    CHECK(n == TLY_RECORD_HEADER + rest);
    uint8_t *buf = malloc(n + 16);
    CHECK(buf != NULL);
    tly_record_encode(&in, buf);
    memset(buf + n, 0xA5, 16);

    struct tly_record out;
    for (size_t extra = 0; extra <= 16; extra += 16) {
        memset(&out, 0, sizeof out);
        CHECK(tly_record_decode(buf, n + extra, &out) == (long)n);
        CHECK(out.source == in.source && out.kind == in.kind && out.tenant == in.tenant);
        CHECK(out.received_at == in.received_at);
        CHECK(memcmp(out.request_id, in.request_id, 16) == 0);
        CHECK(out.meta_len == in.meta_len && out.body_len == in.body_len);
        CHECK(out.meta == (const char *)buf + TLY_RECORD_HEADER);
        CHECK(out.body == out.meta + out.meta_len);
        CHECK(memcmp(out.meta, in.meta, in.meta_len) == 0);
        CHECK(memcmp(out.body, in.body, in.body_len) == 0);
    }
    check_prefixes(buf, n, flip);

    size_t bit = flip % (n * 8);
    buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    long got = tly_record_decode(buf, n, &out);
    if (bit / 8 < 4)
        CHECK(got == TLY_ECORRUPT || got == 0);
    else
        CHECK(got == TLY_ECORRUPT);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_stream(data, size);
    roundtrip(data, size);
    return 0;
}
