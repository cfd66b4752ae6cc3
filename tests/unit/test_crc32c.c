/*
 * test_crc32c.c - CRC-32C against published check values (RFC 3720 appendix B.4, the standard
 * "123456789" check value) and TF's mask/unmask against the format doc's worked values.
 */
#include "crc32c.h"

#include "check_run.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

START_TEST(check_value)
{
    ck_assert_uint_eq(ckpt_crc32c("123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(ckpt_crc32c_extend_portable(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(ckpt_crc32c("", 0), 0);
    ck_assert_uint_eq(ckpt_crc32c_extend_portable(0, "", 0), 0);
}
END_TEST

/* RFC 3720 B.4 vectors, checked with both implementations. */
static void rfc_vector(const uint8_t *d, size_t n, uint32_t want)
{
    ck_assert_uint_eq(ckpt_crc32c(d, n), want);
    ck_assert_uint_eq(ckpt_crc32c_extend_portable(0, d, n), want);
}

START_TEST(rfc3720_vectors)
{
    uint8_t b[48];
    memset(b, 0, 32);
    rfc_vector(b, 32, 0x8A9136AAu);
    memset(b, 0xff, 32);
    rfc_vector(b, 32, 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)i;
    rfc_vector(b, 32, 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)(31 - i);
    rfc_vector(b, 32, 0x113FDB5Cu);
    static const uint8_t iscsi_read[48] = {
        0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
        0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    };
    rfc_vector(iscsi_read, 48, 0xD9963A56u);
}
END_TEST

START_TEST(mask_values)
{
    ck_assert_uint_eq(ckpt_crc32c_mask(0), 0xa282ead8u);
    ck_assert_uint_eq(ckpt_crc32c_mask(0xE3069283u), 0xc78ab0e5u);
    ck_assert_uint_eq(ckpt_crc32c_unmask(0xa282ead8u), 0);
    ck_assert_uint_eq(ckpt_crc32c_unmask(0xc78ab0e5u), 0xE3069283u);
    /* unmask inverts mask everywhere */
    srand(7);
    for (int i = 0; i < 10000; i++) {
        uint32_t c = (uint32_t)rand() * 2654435761u ^ (uint32_t)rand();
        ck_assert_uint_eq(ckpt_crc32c_unmask(ckpt_crc32c_mask(c)), c);
    }
}
END_TEST

START_TEST(extend_equals_whole)
{
    const char *s = "123456789";
    for (size_t cut = 0; cut <= 9; cut++) {
        uint32_t a = ckpt_crc32c(s, cut);
        ck_assert_uint_eq(ckpt_crc32c_extend(a, s + cut, 9 - cut), 0xE3069283u);
        uint32_t p = ckpt_crc32c_extend_portable(0, s, cut);
        ck_assert_uint_eq(ckpt_crc32c_extend_portable(p, s + cut, 9 - cut), 0xE3069283u);
    }
    /* longer data, many split points, mixing the two implementations */
    enum { N = 5000 };
    uint8_t *d = malloc(N);
    srand(99);
    for (int i = 0; i < N; i++)
        d[i] = (uint8_t)rand();
    uint32_t whole = ckpt_crc32c_extend_portable(0, d, N);
    for (size_t cut = 0; cut <= N; cut += 37) {
        ck_assert_uint_eq(ckpt_crc32c_extend(ckpt_crc32c(d, cut), d + cut, N - cut), whole);
        ck_assert_uint_eq(ckpt_crc32c_extend_portable(ckpt_crc32c(d, cut), d + cut, N - cut),
                          whole);
    }
    /* byte at a time */
    uint32_t c = 0;
    for (int i = 0; i < N; i++)
        c = ckpt_crc32c_extend(c, d + i, 1);
    ck_assert_uint_eq(c, whole);
    free(d);
}
END_TEST

START_TEST(accelerated_equals_portable)
{
    /* past 3 x 4096 bytes the accelerated one runs three lanes and joins them: lengths up
     * to 100,000 cover one, several and partial blocks of lanes, at every alignment */
    enum { MAX = 100000 };
    /* extra room so every alignment 0..15 can be tried at every length */
    uint8_t *base = malloc(MAX + 16);
    srand(2024);
    for (int i = 0; i < MAX + 16; i++)
        base[i] = (uint8_t)rand();
    for (size_t len = 0; len <= MAX; len = len < 80 ? len + 1 : len * 3 / 2 + 7) {
        for (size_t al = 0; al < 16; al++) {
            uint32_t seed = (uint32_t)(len * 2654435761u + al);
            ck_assert_uint_eq(ckpt_crc32c_extend(seed, base + al, len),
                              ckpt_crc32c_extend_portable(seed, base + al, len));
            ck_assert_uint_eq(ckpt_crc32c(base + al, len),
                              ckpt_crc32c_extend_portable(0, base + al, len));
        }
    }
    /* exactly at and around the block of three lanes */
    static const size_t edges[] = {12287, 12288, 12289, 12295, 24576, 24583, 36864 + 100};
    for (size_t k = 0; k < sizeof edges / sizeof edges[0]; k++)
        for (size_t al = 0; al < 8; al++)
            ck_assert_uint_eq(ckpt_crc32c_extend(7, base + al, edges[k]),
                              ckpt_crc32c_extend_portable(7, base + al, edges[k]));
    free(base);
}
END_TEST

/* Joining the CRCs of two pieces gives the CRC of both, whatever the lengths (zero, odd,
 * powers of two and not, large), checked against the table-driven CRC of the whole. */
START_TEST(combine_joins_pieces)
{
    enum { N = 300000 };
    uint8_t *d = malloc(N);
    srand(7);
    for (int i = 0; i < N; i++)
        d[i] = (uint8_t)rand();
    static const size_t cuts[] = {0, 1, 7, 8, 4096, 12288, 131072, 131073, 299999, 300000};
    static const size_t ends[] = {0, 1, 9, 65536, 131072, 200001, 300000};
    for (size_t a = 0; a < sizeof cuts / sizeof cuts[0]; a++)
        for (size_t b = 0; b < sizeof ends / sizeof ends[0]; b++) {
            size_t cut = cuts[a], end = ends[b];
            if (end < cut)
                continue;
            uint32_t whole = ckpt_crc32c_extend_portable(0, d, end);
            uint32_t ca = ckpt_crc32c_extend_portable(0, d, cut);
            uint32_t cb = ckpt_crc32c_extend_portable(0, d + cut, end - cut);
            ck_assert_uint_eq(ckpt_crc32c_combine(ca, cb, end - cut), whole);
        }
    /* three pieces joined left to right, as the daemon joins reads */
    uint32_t c = ckpt_crc32c_combine(ckpt_crc32c(d, 1000), ckpt_crc32c(d + 1000, 5000), 5000);
    c = ckpt_crc32c_combine(c, ckpt_crc32c(d + 6000, 94000), 94000);
    ck_assert_uint_eq(c, ckpt_crc32c_extend_portable(0, d, 100000));
    /* the check value of "123456789" from two halves */
    ck_assert_uint_eq(ckpt_crc32c_combine(ckpt_crc32c("1234", 4), ckpt_crc32c("56789", 5), 5),
                      0xE3069283u);
    free(d);
}
END_TEST

START_TEST(exact_length_buffers)
{
    /* heap buffers of exactly len bytes: ASan catches any over-read by a wide loop */
    for (size_t len = 1; len < 70; len++) {
        uint8_t *b = malloc(len);
        for (size_t i = 0; i < len; i++)
            b[i] = (uint8_t)(i * 7 + len);
        ck_assert_uint_eq(ckpt_crc32c(b, len), ckpt_crc32c_extend_portable(0, b, len));
        free(b);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crc32c");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, check_value);
    tcase_add_test(tc, rfc3720_vectors);
    tcase_add_test(tc, mask_values);
    tcase_add_test(tc, extend_equals_whole);
    tcase_add_test(tc, accelerated_equals_portable);
    tcase_add_test(tc, exact_length_buffers);
    tcase_add_test(tc, combine_joins_pieces);
    suite_add_tcase(s, tc);
    return ckpt_check_run(s);
}
