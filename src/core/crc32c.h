/*
 * CRC-32C (Castagnoli), the checksum of every event log record.
 *
 * Uses the SSE4.2 crc32 instruction when the CPU has it, a table otherwise;
 * both give the same value (RFC 3720 test vectors in the unit tests).
 */
#ifndef TLY_CORE_CRC32C_H
#define TLY_CORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Continues a CRC: start with crc = 0. */
uint32_t tly_crc32c(uint32_t crc, const void *data, size_t len);

#endif
