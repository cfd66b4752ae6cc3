/*
 * test_stats.c - the value statistics of reader/stats.h against hand-computed vectors: counts
 * of NaN, infinities and zeros (-0.0 included), min/max over the finite values, mean and
 * population std worked out on paper, exact integer extremes, float16/bfloat16 bit patterns
 * decoded by their definitions, and a spread of 0.5 on values near 1e9 that a sum of squares
 * in float64 would lose.
 */
#include "dtype.h"
#include "stats.h"

#include "check_run.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void f32s(uint8_t *out, const float *v, size_t n)
{
    memcpy(out, v, n * sizeof *v); /* little-endian hosts only, as the reader */
}

START_TEST(float32_basic)
{
    float v[] = {1, 2, 3, 4};
    uint8_t b[sizeof v];
    f32s(b, v, 4);
    ckpt_stats s;
    ckpt_stats_init(&s, CKPT_DT_FLOAT);
    ckpt_stats_add(&s, b, 4);
    ck_assert_int_eq(s.kind, CKPT_STATS_FLOAT);
    ck_assert_uint_eq(s.count, 4);
    ck_assert_uint_eq(s.nan + s.inf + s.zeros, 0);
    ck_assert(s.min == 1 && s.max == 4);
    ck_assert(ckpt_stats_mean(&s) == 2.5);
    /* deviations -1.5 -0.5 0.5 1.5: squares sum 5, / 4 = 1.25 */
    ck_assert(ckpt_stats_std(&s) == sqrt(1.25));
}
END_TEST

START_TEST(float32_nonfinite)
{
    float v[] = {NAN, INFINITY, -INFINITY, -0.0f, 0.0f, 2, 1e-45f /* subnormal */};
    uint8_t b[sizeof v];
    f32s(b, v, 7);
    ckpt_stats s;
    ckpt_stats_init(&s, CKPT_DT_FLOAT);
    /* in two pieces: a tensor arrives in chunks */
    ckpt_stats_add(&s, b, 3);
    ckpt_stats_add(&s, b + 12, 4);
    ck_assert_uint_eq(s.count, 7);
    ck_assert_uint_eq(s.nan, 1);
    ck_assert_uint_eq(s.inf, 2);
    ck_assert_uint_eq(s.zeros, 2);
    ck_assert_uint_eq(s.n, 4);
    ck_assert(s.min == 0 && s.max == 2);
    double sub = ldexp(1, -149);
    ck_assert(ckpt_stats_mean(&s) == (2 + sub) / 4);
}
END_TEST

START_TEST(all_nan_and_empty)
{
    float v[] = {NAN, NAN};
    uint8_t b[sizeof v];
    f32s(b, v, 2);
    ckpt_stats s;
    ckpt_stats_init(&s, CKPT_DT_FLOAT);
    ckpt_stats_add(&s, b, 2);
    ck_assert_uint_eq(s.nan, 2);
    ck_assert_uint_eq(s.n, 0);
    ck_assert(isnan(ckpt_stats_mean(&s)) && isnan(ckpt_stats_std(&s)));
    ckpt_stats_init(&s, CKPT_DT_INT32);
    ckpt_stats_add(&s, b, 0);
    ck_assert_uint_eq(s.count, 0);
    ck_assert(isnan(ckpt_stats_mean(&s)));
}
END_TEST

START_TEST(half_and_bfloat16)
{
    /* float16: +inf 0x7c00, the largest 65504 0x7bff, the least subnormal 2^-24 0x0001,
     * -2.0 0xc000, a NaN 0x7e00 */
    uint8_t h[] = {0x00, 0x7c, 0xff, 0x7b, 0x01, 0x00, 0x00, 0xc0, 0x00, 0x7e};
    ckpt_stats s;
    ckpt_stats_init(&s, CKPT_DT_HALF);
    ckpt_stats_add(&s, h, 5);
    ck_assert_uint_eq(s.inf, 1);
    ck_assert_uint_eq(s.nan, 1);
    ck_assert(s.max == 65504 && s.min == -2);
    ck_assert(ckpt_stats_mean(&s) == (65504 + ldexp(1, -24) - 2) / 3);
    /* bfloat16: 1.0 0x3f80, -3.0 0xc040, -inf 0xff80 */
    uint8_t bf[] = {0x80, 0x3f, 0x40, 0xc0, 0x80, 0xff};
    ckpt_stats_init(&s, CKPT_DT_BFLOAT16);
    ckpt_stats_add(&s, bf, 3);
    ck_assert_uint_eq(s.inf, 1);
    ck_assert(s.min == -3 && s.max == 1 && ckpt_stats_mean(&s) == -1);
    ck_assert(ckpt_stats_std(&s) == 2);
}
END_TEST

START_TEST(integer_extremes)
{
    int64_t v[] = {INT64_MIN, INT64_MAX, 0};
    ckpt_stats s;
    ckpt_stats_init(&s, CKPT_DT_INT64);
    ckpt_stats_add(&s, (const uint8_t *)v, 3);
    ck_assert_int_eq(s.kind, CKPT_STATS_INT);
    ck_assert(s.imin == INT64_MIN && s.imax == INT64_MAX);
    ck_assert_uint_eq(s.zeros, 1);
    /* in float64: -2^63 + 2^63 + 0 = 0 */
    ck_assert(ckpt_stats_mean(&s) == 0);
    uint64_t u[] = {UINT64_MAX, 7};
    ckpt_stats_init(&s, CKPT_DT_UINT64);
    ckpt_stats_add(&s, (const uint8_t *)u, 2);
    ck_assert(s.umin == 7 && s.umax == UINT64_MAX);
    uint8_t i8[] = {0x80, 0x7f}; /* -128, 127 */
    ckpt_stats_init(&s, CKPT_DT_INT8);
    ckpt_stats_add(&s, i8, 2);
    ck_assert(s.imin == -128 && s.imax == 127);
    ck_assert(ckpt_stats_mean(&s) == -0.5 && ckpt_stats_std(&s) == 127.5);
    uint8_t bo[] = {1, 0, 2, 0}; /* any non-zero byte is true */
    ckpt_stats_init(&s, CKPT_DT_BOOL);
    ckpt_stats_add(&s, bo, 4);
    ck_assert(s.umin == 0 && s.umax == 1 && s.zeros == 2);
    ck_assert(ckpt_stats_mean(&s) == 0.5);
}
END_TEST

START_TEST(complex_parts)
{
    float v[] = {0, 0, 1, NAN, INFINITY, 1, 0, -0.0f, 3, 4};
    ckpt_stats s;
    ckpt_stats_init(&s, CKPT_DT_COMPLEX64);
    ckpt_stats_add(&s, (const uint8_t *)v, 5);
    ck_assert_int_eq(s.kind, CKPT_STATS_COMPLEX);
    ck_assert_uint_eq(s.count, 5);
    ck_assert_uint_eq(s.nan, 1);
    ck_assert_uint_eq(s.inf, 1);
    ck_assert_uint_eq(s.zeros, 2);
    ck_assert_uint_eq(s.n, 0);
}
END_TEST

START_TEST(strings_count_only)
{
    ckpt_stats s;
    ckpt_stats_init(&s, CKPT_DT_STRING);
    ck_assert_int_eq(s.kind, CKPT_STATS_COUNT);
    ckpt_stats_add_count(&s, 12);
    ck_assert_uint_eq(s.count, 12);
}
END_TEST

/* 10^6 values 1e9 and 1e9 + 1 alternating: mean 1e9 + 0.5, std exactly 0.5. A float64 sum of
 * squares (1e18 each) has an ulp of 128 and gives nonsense; the merged blocks must not. */
START_TEST(large_offset_small_spread)
{
    enum { N = 1000000 };
    double *v = malloc(N * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (int i = 0; i < N; i++)
        v[i] = 1e9 + (i & 1);
    ckpt_stats s;
    ckpt_stats_init(&s, CKPT_DT_DOUBLE);
    for (int i = 0; i < N; i += 99991) /* odd pieces: blocks cut anywhere */
        ckpt_stats_add(&s, (const uint8_t *)(v + i), (uint64_t)(N - i < 99991 ? N - i : 99991));
    ck_assert_uint_eq(s.count, N);
    ck_assert(fabs(ckpt_stats_mean(&s) - (1e9 + 0.5)) <= 1e-9 * 1e9 * 1e-6);
    ck_assert(fabs(ckpt_stats_std(&s) - 0.5) <= 1e-12);
    free(v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("all");
    tcase_add_test(tc, float32_basic);
    tcase_add_test(tc, float32_nonfinite);
    tcase_add_test(tc, all_nan_and_empty);
    tcase_add_test(tc, half_and_bfloat16);
    tcase_add_test(tc, integer_extremes);
    tcase_add_test(tc, complex_parts);
    tcase_add_test(tc, strings_count_only);
    tcase_add_test(tc, large_offset_small_spread);
    suite_add_tcase(s, tc);
    return ckpt_check_run(s);
}
