/*
 * The event log record: framing, header and checksum.
 *
 * One record per accepted request. Little-endian layout:
 *
 *   0  u32 len        bytes after this 8-byte prefix (header + meta + body)
 *   4  u32 crc        CRC-32C over bytes 0..3 (len) and all `len` bytes after
 *   8  u8  version    TLY_RECORD_VERSION
 *   9  u8  source     enum tly_source
 *  10  u8  kind       source-specific shape (e.g. single event or batch)
 *  11  u8  flags      TLY_RECORD_* bits (0 in records of older versions)
 *  12  u32 tenant     tenant id
 *  16  i64 received   receive time, ms since the epoch (UTC)
 *  24  u8[16] request_id
 *  40  u16 meta_len   bytes of request metadata that follow (JSON object text,
 *                     e.g. query parameters an adapter needs; no secrets)
 *  42  u16 reserved   0
 *  44  meta, then body (len - 36 - meta_len bytes)
 *
 * The length sits inside the checksum, so a flipped bit in it is caught as
 * corruption rather than read as a different frame.
 */
#ifndef TLY_LOG_RECORD_H
#define TLY_LOG_RECORD_H

#include "core/err.h"

#include <stddef.h>
#include <stdint.h>

#define TLY_RECORD_VERSION 1
#define TLY_RECORD_PREFIX  8
#define TLY_RECORD_HEADER  44          /* prefix + fixed header, before meta */
#define TLY_RECORD_MAX_LEN (64u << 20) /* a frame claiming more is corrupt */

enum tly_source {
    TLY_SOURCE_INTERNAL = 0, /* records tally writes itself (replays) */
    TLY_SOURCE_SERVER = 1,
    TLY_SOURCE_SEGMENT = 2,
    TLY_SOURCE_MOENGAGE = 3,
    TLY_SOURCE_CLEVERTAP = 4,
    TLY_SOURCE_WEBENGAGE = 5,
    TLY_SOURCE_TRACK = 6,
};

/* The body passed tly_json_check (strict JSON) before it was appended, so
 * a reader may parse it without checking it again. */
#define TLY_RECORD_BODY_CHECKED 0x01

enum tly_record_kind {
    TLY_KIND_SINGLE = 1, /* body is one event */
    TLY_KIND_BATCH = 2,  /* body holds several events */
    TLY_KIND_REPLAY = 3, /* source 0: {"ids":[…]} failed events to process again */
};

const char *tly_source_name(int source); /* "server", …; "unknown" otherwise */
int tly_source_parse(const char *name);  /* the enum value of a name, or -1 */
const char *tly_kind_name(int kind);

struct tly_record {
    uint8_t source;
    uint8_t kind;
    uint8_t flags; /* TLY_RECORD_* */
    uint32_t tenant;
    int64_t received_at;
    uint8_t request_id[16];
    const char *meta; /* borrowed from the frame */
    size_t meta_len;
    const char *body; /* borrowed from the frame */
    size_t body_len;
};

/* Bytes a record with these meta and body lengths takes on disk. */
size_t tly_record_size(size_t meta_len, size_t body_len);

/* Encodes `r` (meta and body included) into `out`, which must hold
 * tly_record_size(r->meta_len, r->body_len) bytes. */
void tly_record_encode(const struct tly_record *r, uint8_t *out);

/* Decodes the frame at `p` with `avail` bytes available.
 * Returns the frame size (> 0) and fills `r` with pointers into `p`;
 * 0 when `avail` holds only part of a frame (more bytes are needed, or the
 * file ends there: a torn tail); TLY_ECORRUPT for a bad checksum, version or
 * length. Never reads past `avail`. */
long tly_record_decode(const uint8_t *p, size_t avail, struct tly_record *r);

/* Writes the 16-byte request id as 32 lowercase hex characters + NUL. */
void tly_request_id_hex(const uint8_t id[16], char out[33]);

#endif
