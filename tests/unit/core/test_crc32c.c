/*
 * Unit tests for src/core/crc32c.h: the RFC 3720 (iSCSI) CRC-32C test
 * vectors, the standard "123456789" check value, that a CRC continued over
 * two chunks equals one call at every split point, and agreement with a
 * bit-at-a-time reference over many lengths and alignments (the hardware
 * path handles 8-byte words and a byte tail separately).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "core/crc32c.h"

#include <string.h>

/* Bit-at-a-time CRC-32C (reflected polynomial 0x82F63B78), continuing `crc`. */
static uint32_t reference_crc32c(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    }
    return ~crc;
}

static void test_rfc3720_vectors(void **state)
{
    (void)state;
    uint8_t buf[32];

    memset(buf, 0x00, sizeof buf);
    assert_int_equal(tly_crc32c(0, buf, sizeof buf), 0x8A9136AAu);

    memset(buf, 0xFF, sizeof buf);
    assert_int_equal(tly_crc32c(0, buf, sizeof buf), 0x62A8AB43u);

    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    assert_int_equal(tly_crc32c(0, buf, sizeof buf), 0x46DD794Eu);

    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    assert_int_equal(tly_crc32c(0, buf, sizeof buf), 0x113FDB5Cu);
}

static void test_check_value(void **state)
{
    (void)state;
    assert_int_equal(tly_crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(reference_crc32c(0, (const uint8_t *)"123456789", 9), 0xE3069283u);
}

static void test_empty_input_keeps_crc(void **state)
{
    (void)state;
    assert_int_equal(tly_crc32c(0, "", 0), 0);
    assert_int_equal(tly_crc32c(0xE3069283u, "", 0), 0xE3069283u);
}

/* crc(a || b) == crc(crc(a), b) for every split of each vector. */
static void test_two_chunks_equal_one_call(void **state)
{
    (void)state;
    uint8_t v[4][32];
    memset(v[0], 0x00, 32);
    memset(v[1], 0xFF, 32);
    for (int i = 0; i < 32; i++) {
        v[2][i] = (uint8_t)i;
        v[3][i] = (uint8_t)(31 - i);
    }
    for (int k = 0; k < 4; k++) {
        uint32_t whole = tly_crc32c(0, v[k], 32);
        for (size_t split = 0; split <= 32; split++) {
            uint32_t c = tly_crc32c(0, v[k], split);
            c = tly_crc32c(c, v[k] + split, 32 - split);
            assert_int_equal(c, whole);
        }
    }
    const char *s = "123456789";
    for (size_t split = 0; split <= 9; split++) {
        uint32_t c = tly_crc32c(tly_crc32c(0, s, split), s + split, 9 - split);
        assert_int_equal(c, 0xE3069283u);
    }
}

/* Every length 0..300 at every alignment 0..7, whole and in three chunks. */
static void test_matches_reference(void **state)
{
    (void)state;
    static uint8_t data[320];
    uint32_t x = 0x12345678u;
    for (size_t i = 0; i < sizeof data; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (uint8_t)(x >> 16);
    }
    for (size_t align = 0; align < 8; align++) {
        for (size_t len = 0; len <= 300; len++) {
            const uint8_t *p = data + align;
            uint32_t want = reference_crc32c(0, p, len);
            assert_int_equal(tly_crc32c(0, p, len), want);
            size_t a = len / 3, b = len / 2;
            uint32_t c = tly_crc32c(0, p, a);
            c = tly_crc32c(c, p + a, b - a);
            c = tly_crc32c(c, p + b, len - b);
            assert_int_equal(c, want);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc3720_vectors),
        cmocka_unit_test(test_check_value),
        cmocka_unit_test(test_empty_input_keeps_crc),
        cmocka_unit_test(test_two_chunks_equal_one_call),
        cmocka_unit_test(test_matches_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
