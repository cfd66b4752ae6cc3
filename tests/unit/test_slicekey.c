/*
 * test_slicekey.c - slice keys (EncodeTensorNameSlice) and their OrderedCode pieces against
 * bytes worked out by hand from the format's rules (docs: tf-checkpoint-format.md, 6.3), not
 * produced by the code under test.
 *
 * WriteSignedNumIncreasing by hand: x = v, or ~v when negative; its bit length picks len
 * (0-6 -> 1, 7-13 -> 2, ..., 63 -> 10); take the last len bytes of v as a sign-extended 10-byte
 * big-endian number and XOR the first two with len's header (80, c0, e0, ..., ff 80, ff c0).
 */
#include "slicekey.h"

#include "check_run.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void expect_bytes(const uint8_t *got, size_t n, const uint8_t *want, size_t wn,
                         const char *what)
{
    ck_assert_msg(n == wn, "%s: %zu bytes, want %zu", what, n, wn);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(got[i] == want[i], "%s: byte %zu is %02x, want %02x", what, i, got[i],
                      want[i]);
}

/* put is one of the OrderedCode writers; the bytes it writes for v must be exactly these. */
#define EXPECT_PUT(put, v, ...)                                                                    \
    do {                                                                                           \
        static const uint8_t want_[] = {__VA_ARGS__};                                              \
        uint8_t out_[16];                                                                          \
        size_t n_ = put(out_, (v));                                                                \
        expect_bytes(out_, n_, want_, sizeof want_, #v);                                           \
    } while (0)
#define EXPECT_SIGNED(v, ...) EXPECT_PUT(ckpt_oc_put_signed_num_increasing, v, __VA_ARGS__)
#define EXPECT_UNSIGNED(v, ...) EXPECT_PUT(ckpt_oc_put_num_increasing, v, __VA_ARGS__)

START_TEST(num_increasing)
{
    /* A length byte, then the value big-endian without leading zero bytes. */
    EXPECT_UNSIGNED(0, 0x00);
    EXPECT_UNSIGNED(2, 0x01, 0x02);
    EXPECT_UNSIGNED(255, 0x01, 0xff);
    EXPECT_UNSIGNED(256, 0x02, 0x01, 0x00);
    EXPECT_UNSIGNED(300, 0x02, 0x01, 0x2c);
    EXPECT_UNSIGNED(0x0102030405060708ull, 0x08, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08);
    EXPECT_UNSIGNED(UINT64_MAX, 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
}
END_TEST

START_TEST(signed_one_byte)
{
    /* |x| < 64: the single byte 0x80 ^ v. */
    EXPECT_SIGNED(0, 0x80);
    EXPECT_SIGNED(5, 0x85);
    EXPECT_SIGNED(50, 0xb2);
    EXPECT_SIGNED(63, 0xbf);
    EXPECT_SIGNED(-1, 0x7f);
    EXPECT_SIGNED(-64, 0x40);
}
END_TEST

START_TEST(signed_length_boundaries)
{
    /* 64: bit length 7 -> 2 bytes 00 40, ^ c0. */
    EXPECT_SIGNED(64, 0xc0, 0x40);
    EXPECT_SIGNED(100, 0xc0, 0x64);
    /* -65: ~v = 64 -> 2 bytes ff bf, ^ c0. */
    EXPECT_SIGNED(-65, 0x3f, 0xbf);
    EXPECT_SIGNED(-100, 0x3f, 0x9c);
    /* 8191: bit length 13, still 2 bytes: 1f ff ^ c0. */
    EXPECT_SIGNED(8191, 0xdf, 0xff);
    /* 8192: bit length 14 -> 3 bytes 00 20 00 ^ e0. */
    EXPECT_SIGNED(8192, 0xe0, 0x20, 0x00);
    /* -8192: ~v = 8191 -> 2 bytes e0 00 ^ c0; -8193: ~v = 8192 -> ff df ff ^ e0. */
    EXPECT_SIGNED(-8192, 0x20, 0x00);
    EXPECT_SIGNED(-8193, 0x1f, 0xdf, 0xff);
    EXPECT_SIGNED(1000000, 0xef, 0x42, 0x40);
    /* 2^55 - 1: bit length 55 -> 8 bytes 00 7f ff.. ^ ff 00. */
    EXPECT_SIGNED((INT64_C(1) << 55) - 1, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    /* 2^55: bit length 56 -> 9 bytes 00 00 80 00.. ^ ff 80. */
    EXPECT_SIGNED(INT64_C(1) << 55, 0xff, 0x80, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
    /* The extremes take all 10 bytes, header ff c0. */
    EXPECT_SIGNED(INT64_MAX, 0xff, 0xc0, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
    EXPECT_SIGNED(INT64_MIN, 0x00, 0x3f, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00);
}
END_TEST

START_TEST(signed_preserves_order)
{
    /* The point of the encoding: bytewise order of keys is numeric order. */
    static const int64_t v[] = {
        INT64_MIN, -8193, -8192, -65, -64, -1, 0, 63, 64, 8191, 8192, INT64_C(1) << 55, INT64_MAX};
    uint8_t a[16], b[16];
    for (size_t i = 0; i + 1 < sizeof v / sizeof *v; i++) {
        size_t na = ckpt_oc_put_signed_num_increasing(a, v[i]);
        size_t nb = ckpt_oc_put_signed_num_increasing(b, v[i + 1]);
        size_t m = na < nb ? na : nb;
        int c = memcmp(a, b, m);
        ck_assert_msg(c < 0 || (c == 0 && na < nb), "%lld does not sort before %lld",
                      (long long)v[i], (long long)v[i + 1]);
    }
}
END_TEST

START_TEST(keys_from_the_format_doc)
{
    uint8_t out[128];
    /* "var", rank 2, slice 0,50:- (a whole dim is start 0, length -1). */
    static const int64_t st1[] = {0, 0}, ln1[] = {50, -1};
    static const uint8_t k1[] = {0x00, 'v',  'a',  'r',  0x00, 0x01,
                                 0x01, 0x02, 0x80, 0xb2, 0x80, 0x7f};
    size_t n = ckpt_slice_key("var", 3, 2, st1, ln1, out);
    expect_bytes(out, n, k1, sizeof k1, "var 0,50:-");
    /* "emb", rank 2, slice 50,50:0,64. */
    static const int64_t st2[] = {50, 0}, ln2[] = {50, 64};
    static const uint8_t k2[] = {0x00, 'e',  'm',  'b',  0x00, 0x01, 0x01,
                                 0x02, 0xb2, 0xb2, 0x80, 0xc0, 0x40};
    n = ckpt_slice_key("emb", 3, 2, st2, ln2, out);
    expect_bytes(out, n, k2, sizeof k2, "emb 50,50:0,64");
    /* A scalar (V1 writes rank-0 keys): no extents after the rank. */
    static const uint8_t k3[] = {0x00, 'b', 'e', 't', 'a',  '1',  '_', 'p',
                                 'o',  'w', 'e', 'r', 0x00, 0x01, 0x00};
    n = ckpt_slice_key("beta1_power", 11, 0, NULL, NULL, out);
    expect_bytes(out, n, k3, sizeof k3, "beta1_power scalar");
}
END_TEST

START_TEST(name_escaping)
{
    /* 0x00 in a name becomes 00 ff, 0xff becomes ff 00; the name ends with 00 01. */
    uint8_t out[64];
    static const int64_t st[] = {-1}, ln[] = {-1};
    static const uint8_t want[] = {0x00, 'a',  0x00, 0xff, 'b',  0xff, 0x00,
                                   0x00, 0x01, 0x01, 0x01, 0x7f, 0x7f};
    size_t n = ckpt_slice_key("a\0b\xff", 4, 1, st, ln, out);
    expect_bytes(out, n, want, sizeof want, "escaped name");
}
END_TEST

START_TEST(key_max_bounds_the_worst_case)
{
    /* Every byte escaped, the largest rank and the longest numbers. */
    enum { NLEN = 40, RANK = 254 };
    char name[NLEN];
    memset(name, 0xff, sizeof name);
    int64_t st[RANK], ln[RANK];
    for (int d = 0; d < RANK; d++)
        st[d] = INT64_MIN, ln[d] = INT64_MAX;
    size_t max = ckpt_slice_key_max(NLEN, RANK);
    uint8_t *out = malloc(max + 64);
    ck_assert_ptr_nonnull(out);
    memset(out, 0xa5, max + 64);
    size_t n = ckpt_slice_key(name, NLEN, RANK, st, ln, out);
    /* 1 + 2*40 + 2 + (1 + 1 for rank 254) + 254 * 20 */
    ck_assert_uint_eq(n, 1 + 2 * NLEN + 2 + 2 + (size_t)RANK * 20);
    ck_assert_uint_le(n, max);
    for (size_t i = max; i < max + 64; i++)
        ck_assert_uint_eq(out[i], 0xa5);
    free(out);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("slicekey");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, num_increasing);
    tcase_add_test(tc, signed_one_byte);
    tcase_add_test(tc, signed_length_boundaries);
    tcase_add_test(tc, signed_preserves_order);
    tcase_add_test(tc, keys_from_the_format_doc);
    tcase_add_test(tc, name_escaping);
    tcase_add_test(tc, key_max_bounds_the_worst_case);
    suite_add_tcase(s, tc);
    return ckpt_check_run(s);
}
