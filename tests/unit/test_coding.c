/*
 * test_coding.c - varints and fixed-width integers against hand-encoded bytes.
 *
 * Expected encodings are written out by hand from the base-128 rule (7 bits per byte, low
 * group first, high bit = more), not produced by the code under test.
 */
#include "coding.h"
#include "util.h"

#include "check_run.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

/* Decode exactly these bytes as varint64; check value and that all bytes were consumed. */
static void expect64(const uint8_t *b, size_t n, uint64_t want)
{
    uint64_t v = 0xdeadbeef;
    const uint8_t *q = ckpt_get_varint64(b, b + n, &v);
    ck_assert_ptr_nonnull(q);
    ck_assert_ptr_eq(q, b + n);
    ck_assert_uint_eq(v, want);
}

static void expect32(const uint8_t *b, size_t n, uint32_t want)
{
    uint32_t v = 0xdeadbeef;
    const uint8_t *q = ckpt_get_varint32(b, b + n, &v);
    ck_assert_ptr_nonnull(q);
    ck_assert_ptr_eq(q, b + n);
    ck_assert_uint_eq(v, want);
}

START_TEST(known_encodings64)
{
    static const struct {
        uint8_t b[10];
        size_t n;
        uint64_t v;
    } cases[] = {
        {{0x00}, 1, 0},
        {{0x01}, 1, 1},
        {{0x7f}, 1, 127},
        {{0x80, 0x01}, 2, 128},
        {{0xac, 0x02}, 2, 300},
        {{0xff, 0x7f}, 2, 16383},
        {{0x80, 0x80, 0x01}, 3, 16384},
        {{0xff, 0xff, 0xff, 0xff, 0x0f}, 5, 0xffffffffu},
        {{0x80, 0x80, 0x80, 0x80, 0x10}, 5, 0x100000000ull},
        /* 2^63: nine 0x80 then 0x01 */
        {{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, 10, 0x8000000000000000ull},
        /* UINT64_MAX: nine 0xff then 0x01 (only one payload bit left in byte 10) */
        {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10, UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        expect64(cases[i].b, cases[i].n, cases[i].v);
}
END_TEST

START_TEST(known_encodings32)
{
    static const uint8_t a[] = {0x00}, b[] = {0x96, 0x01}, c[] = {0xff, 0xff, 0xff, 0xff, 0x0f},
                         d[] = {0x80, 0x80, 0x80, 0x80, 0x08};
    expect32(a, 1, 0);
    expect32(b, 2, 150);
    expect32(c, 5, UINT32_MAX);
    expect32(d, 5, 0x80000000u);
}
END_TEST

START_TEST(put_matches_hand_encoding)
{
    uint8_t buf[16];
    static const uint8_t e300[] = {0xac, 0x02};
    ck_assert_int_eq(ckpt_put_varint64(buf, 300), 2);
    ck_assert_mem_eq(buf, e300, 2);
    ck_assert_int_eq(ckpt_put_varint64(buf, 0), 1);
    ck_assert_uint_eq(buf[0], 0);
    ck_assert_int_eq(ckpt_put_varint64(buf, 127), 1);
    ck_assert_int_eq(ckpt_put_varint64(buf, 128), 2);
    static const uint8_t emax[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    ck_assert_int_eq(ckpt_put_varint64(buf, UINT64_MAX), 10);
    ck_assert_mem_eq(buf, emax, 10);
}
END_TEST

/* Length of the varint of v, by the rule: ceil(bits/7), at least 1. */
static int ref_len(uint64_t v)
{
    int n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

START_TEST(round_trip64)
{
    uint64_t vals[400];
    size_t nv = 0;
    for (int s = 0; s < 64; s++) {
        uint64_t p = 1ull << s;
        vals[nv++] = p;
        vals[nv++] = p - 1;
        vals[nv++] = p + 1;
        vals[nv++] = ~p;
    }
    vals[nv++] = UINT64_MAX;
    srand(1234);
    while (nv < sizeof vals / sizeof vals[0])
        vals[nv++] = (uint64_t)rand() << 40 ^ (uint64_t)rand() << 20 ^ (uint64_t)rand();
    for (size_t i = 0; i < nv; i++) {
        uint8_t buf[10];
        int n = ckpt_put_varint64(buf, vals[i]);
        ck_assert_int_eq(n, ref_len(vals[i]));
        uint64_t back;
        ck_assert_ptr_eq(ckpt_get_varint64(buf, buf + n, &back), buf + n);
        ck_assert_uint_eq(back, vals[i]);
        /* every proper prefix is a truncated varint */
        for (int k = 0; k < n; k++)
            ck_assert_ptr_null(ckpt_get_varint64(buf, buf + k, &back));
        if (vals[i] <= UINT32_MAX) {
            uint32_t b32;
            ck_assert_ptr_eq(ckpt_get_varint32(buf, buf + n, &b32), buf + n);
            ck_assert_uint_eq(b32, (uint32_t)vals[i]);
        } else {
            uint32_t b32;
            ck_assert_ptr_null(ckpt_get_varint32(buf, buf + n, &b32));
        }
    }
}
END_TEST

START_TEST(stops_at_end_of_varint)
{
    /* trailing bytes after the varint are not consumed */
    static const uint8_t b[] = {0xac, 0x02, 0xff, 0xff};
    uint64_t v;
    ck_assert_ptr_eq(ckpt_get_varint64(b, b + 4, &v), b + 2);
    ck_assert_uint_eq(v, 300);
    uint32_t w;
    ck_assert_ptr_eq(ckpt_get_varint32(b, b + 4, &w), b + 2);
    ck_assert_uint_eq(w, 300);
}
END_TEST

START_TEST(bad_varints64)
{
    uint64_t v;
    /* empty input */
    static const uint8_t one[] = {0x05};
    ck_assert_ptr_null(ckpt_get_varint64(one, one, &v));
    /* truncated: continuation bit set on the last available byte */
    static const uint8_t trunc[] = {0x80, 0x80};
    ck_assert_ptr_null(ckpt_get_varint64(trunc, trunc + 2, &v));
    /* 11 bytes: longer than any varint64 */
    static const uint8_t lng[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    ck_assert_ptr_null(ckpt_get_varint64(lng, lng + sizeof lng, &v));
    /* 10 bytes all with continuation, more data available but the 10th says "more" */
    static const uint8_t lng2[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0x01};
    ck_assert_ptr_null(ckpt_get_varint64(lng2, lng2 + sizeof lng2, &v));
    /* 10 bytes whose last byte carries bits beyond bit 63 */
    static const uint8_t ovf[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    ck_assert_ptr_null(ckpt_get_varint64(ovf, ovf + sizeof ovf, &v));
    static const uint8_t ovf2[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x7f};
    ck_assert_ptr_null(ckpt_get_varint64(ovf2, ovf2 + sizeof ovf2, &v));
}
END_TEST

START_TEST(bad_varints32)
{
    uint32_t v;
    /* 5th byte carries bits beyond bit 31 */
    static const uint8_t ovf[] = {0xff, 0xff, 0xff, 0xff, 0x1f};
    ck_assert_ptr_null(ckpt_get_varint32(ovf, ovf + 5, &v));
    static const uint8_t ovf2[] = {0x80, 0x80, 0x80, 0x80, 0x10};
    ck_assert_ptr_null(ckpt_get_varint32(ovf2, ovf2 + 5, &v));
    /* 6 bytes */
    static const uint8_t lng[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    ck_assert_ptr_null(ckpt_get_varint32(lng, lng + 6, &v));
    /* truncated */
    static const uint8_t trunc[] = {0xff, 0xff, 0xff};
    ck_assert_ptr_null(ckpt_get_varint32(trunc, trunc + 3, &v));
    ck_assert_ptr_null(ckpt_get_varint32(trunc, trunc, &v));
}
END_TEST

START_TEST(truncation_never_reads_past_end)
{
    /* A heap copy of exactly n bytes: ASan flags any read past it. */
    static const uint8_t src[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    for (size_t n = 0; n <= sizeof src; n++) {
        uint8_t *b = malloc(n ? n : 1);
        memcpy(b, src, n);
        uint64_t v;
        uint32_t w;
        ck_assert_ptr_null(ckpt_get_varint64(b, b + n, &v));
        ck_assert_ptr_null(ckpt_get_varint32(b, b + n, &w));
        free(b);
    }
}
END_TEST

START_TEST(fixed_width)
{
    static const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
    ck_assert_uint_eq(ckpt_load_le32(b), 0x04030201u);
    ck_assert_uint_eq(ckpt_load_le64(b), 0x0807060504030201ull);
    static const uint8_t m[] = {0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb};
    ck_assert_uint_eq(ckpt_load_le64(m), 0xdb4775248b80fb57ull); /* the table magic */
    static const uint8_t hi[] = {0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x80};
    ck_assert_uint_eq(ckpt_load_le32(hi), 0xffffffffu);
    ck_assert_uint_eq(ckpt_load_le64(hi), 0x80000000ffffffffull);
    uint8_t out[4];
    ckpt_store_le32(out, 0xa282ead8u);
    static const uint8_t want[] = {0xd8, 0xea, 0x82, 0xa2};
    ck_assert_mem_eq(out, want, 4);
    ckpt_store_le32(out, 0xdeadbeefu);
    ck_assert_uint_eq(ckpt_load_le32(out), 0xdeadbeefu);
}
END_TEST

/* Decimal numbers by hand (util.h), against the digits written out here. */
START_TEST(decimal_numbers)
{
    char b[CKPT_DEC_MAX];
    ck_assert_uint_eq(ckpt_fmt_i64(b, 0), 1);
    ck_assert_str_eq(b, "0");
    ck_assert_uint_eq(ckpt_fmt_i64(b, -1), 2);
    ck_assert_str_eq(b, "-1");
    ck_assert_uint_eq(ckpt_fmt_i64(b, 784), 3);
    ck_assert_str_eq(b, "784");
    ck_assert_uint_eq(ckpt_fmt_i64(b, INT64_MIN), 20);
    ck_assert_str_eq(b, "-9223372036854775808");
    ck_assert_uint_eq(ckpt_fmt_i64(b, INT64_MAX), 19);
    ck_assert_str_eq(b, "9223372036854775807");
    ck_assert_uint_eq(ckpt_fmt_u64(b, UINT64_MAX), 20);
    ck_assert_str_eq(b, "18446744073709551615");
    ck_assert_uint_eq(ckpt_fmt_u64(b, 1000000), 7);
    ck_assert_str_eq(b, "1000000");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("coding");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, known_encodings64);
    tcase_add_test(tc, known_encodings32);
    tcase_add_test(tc, put_matches_hand_encoding);
    tcase_add_test(tc, round_trip64);
    tcase_add_test(tc, stops_at_end_of_varint);
    tcase_add_test(tc, bad_varints64);
    tcase_add_test(tc, bad_varints32);
    tcase_add_test(tc, truncation_never_reads_past_end);
    tcase_add_test(tc, fixed_width);
    tcase_add_test(tc, decimal_numbers);
    suite_add_tcase(s, tc);
    return ckpt_check_run(s);
}
