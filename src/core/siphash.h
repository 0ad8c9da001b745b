/*
 * SipHash-2-4 (Aumasson and Bernstein): a keyed 64-bit hash. With a secret
 * random key, nobody who cannot see the key can choose inputs that
 * collide, so in-memory hash tables keyed by client-chosen strings cannot
 * be flooded.
 */
#ifndef TLY_CORE_SIPHASH_H
#define TLY_CORE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t tly_siphash24(const uint8_t key[16], const void *data, size_t len);

#endif
