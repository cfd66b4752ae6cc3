/*
 * test_stats.c - the value statistics of reader/model/stats.h against hand-computed vectors: counts
 * of NaN, infinities and zeros (-0.0 included), min/max over the finite values, mean and
 * population std worked out on paper, exact integer extremes, float16/bfloat16 bit patterns
 * decoded by their definitions, and a spread of 0.5 on values near 1e9 that a sum of squares
 * in float64 would lose. The block kernels (reader/model/stats_kernel.h), each of them (portable,
 * and AVX2 where the CPU has it): the same vectors placed across block boundaries and in the
 * last lanes of a block, all-NaN and all-infinite blocks, a jump in scale between blocks (the
 * re-centred sum), empty input, float16/bfloat16 across the decoding buffer's boundary; and
 * both kernels giving the same bits on pseudo-random data with specials.
 */
#include "dtype.h"
#include "elem.h"
#include "stats.h"

#include "check_run.h"

#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
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

/* The kernels this machine runs: the portable one, and AVX2 when the CPU has it. */
static int kernels(int out[2])
{
    ckpt_stats s;
    ckpt_stats_init(&s, CKPT_DT_FLOAT);
    int k = 0;
    out[k++] = CKPT_STATS_IMPL_PORTABLE;
    if (ckpt_stats_use(&s, CKPT_STATS_IMPL_AVX2) == 0)
        out[k++] = CKPT_STATS_IMPL_AVX2;
    return k;
}

/* The statistics of n elements at data with kernel impl, added in pieces of `piece`. */
static ckpt_stats stats_of(int impl, int dtype, const void *data, uint64_t n, uint64_t piece)
{
    ckpt_stats s;
    ckpt_stats_init(&s, dtype);
    ck_assert_int_eq(ckpt_stats_use(&s, impl), 0);
    size_t es = ckpt_dtype_size(dtype);
    for (uint64_t i = 0; i < n; i += piece)
        ckpt_stats_add(&s, (const uint8_t *)data + i * es, n - i < piece ? n - i : piece);
    return s;
}

static int close_to(double got, double want, double rel)
{
    return fabs(got - want) <= rel * fabs(want);
}

/* 2 * 4096 + 3 float32 values: 2.0 except NaN first, +Inf last of block 0, -Inf first of
 * block 1, -0.0 last of block 1, the least subnormal first of block 2 and 4.0 last of all
 * (a block of 3: lanes past the end). Finite: 8189 twos, 4, -0, 2^-149. */
START_TEST(block_boundaries)
{
    enum { N = 2 * CKPT_STATS_BLOCK + 3 };
    static float v[N];
    for (int i = 0; i < N; i++)
        v[i] = 2;
    v[0] = NAN;
    v[CKPT_STATS_BLOCK - 1] = INFINITY;
    v[CKPT_STATS_BLOCK] = -INFINITY;
    v[2 * CKPT_STATS_BLOCK - 1] = -0.0f;
    v[2 * CKPT_STATS_BLOCK] = 0x1p-149f;
    v[N - 1] = 4;
    double mu = (8189 * 2.0 + 4) / 8192; /* 2^-149 / 8192 is below its ulp */
    double m2 = 8189 * (2 - mu) * (2 - mu) + (4 - mu) * (4 - mu) + 2 * mu * mu;
    int im[2], nk = kernels(im);
    /* whole, and in pieces that cut blocks anywhere (1, 7, 4095, ...) */
    const uint64_t pieces[] = {N, 1, 7, CKPT_STATS_BLOCK - 1, CKPT_STATS_BLOCK + 1};
    for (int j = 0; j < nk; j++)
        for (size_t p = 0; p < sizeof pieces / sizeof *pieces; p++) {
            ckpt_stats s = stats_of(im[j], CKPT_DT_FLOAT, v, N, pieces[p]);
            ck_assert_uint_eq(s.count, N);
            ck_assert_uint_eq(s.nan, 1);
            ck_assert_uint_eq(s.inf, 2);
            ck_assert_uint_eq(s.zeros, 1);
            ck_assert_uint_eq(s.n, 8192);
            ck_assert(s.min == 0 && signbit(s.min) && s.max == 4);
            ck_assert_msg(close_to(ckpt_stats_mean(&s), mu, 1e-15),
                          "kernel %d piece %d: mean %.17g", im[j], (int)pieces[p],
                          ckpt_stats_mean(&s));
            ck_assert_msg(close_to(ckpt_stats_std(&s), sqrt(m2 / 8192), 1e-13),
                          "kernel %d piece %d: std %.17g, want %.17g", im[j], (int)pieces[p],
                          ckpt_stats_std(&s), sqrt(m2 / 8192));
        }
}
END_TEST

/* Every tail length (1..9 values, fewer than a step's 8 lanes and more): the lanes past the
 * end are neither counted nor summed. Values 1..k, then a NaN. */
START_TEST(tails)
{
    int im[2], nk = kernels(im);
    for (int j = 0; j < nk; j++)
        for (int k = 1; k <= 9; k++) {
            float f[10];
            double d[10];
            for (int i = 0; i < k; i++)
                f[i] = (float)(d[i] = i + 1);
            f[k] = NAN;
            d[k] = NAN;
            double mu = (k + 1) / 2.0, var = ((double)k * k - 1) / 12; /* 1..k uniform */
            ckpt_stats s = stats_of(im[j], CKPT_DT_FLOAT, f, (uint64_t)k + 1, 64);
            ckpt_stats t = stats_of(im[j], CKPT_DT_DOUBLE, d, (uint64_t)k + 1, 64);
            ckpt_stats *both[] = {&s, &t};
            for (int b = 0; b < 2; b++) {
                ck_assert_uint_eq(both[b]->nan, 1);
                ck_assert_uint_eq(both[b]->n, (uint64_t)k);
                ck_assert(both[b]->min == 1 && both[b]->max == k);
                ck_assert(ckpt_stats_mean(both[b]) == mu);
                ck_assert(close_to(ckpt_stats_std(both[b]), sqrt(var), 1e-15));
            }
        }
}
END_TEST

/* Blocks of nothing but NaN, then of infinities, then one finite block: the empty blocks add
 * counts only; a tensor of NaN alone has no min..std. */
START_TEST(all_nan_blocks)
{
    enum { N = 4 * CKPT_STATS_BLOCK };
    static float v[N];
    static double d[N];
    for (int i = 0; i < N; i++) {
        int blk = i / CKPT_STATS_BLOCK;
        v[i] = blk < 2 ? NAN : blk == 2 ? (i % 2 ? INFINITY : -INFINITY) : (float)(i % 4);
        d[i] = v[i];
    }
    int im[2], nk = kernels(im);
    for (int j = 0; j < nk; j++) {
        ckpt_stats s = stats_of(im[j], CKPT_DT_FLOAT, v, N, N);
        ckpt_stats t = stats_of(im[j], CKPT_DT_DOUBLE, d, N, 1000);
        ckpt_stats *both[] = {&s, &t};
        for (int b = 0; b < 2; b++) {
            ckpt_stats *x = both[b];
            ck_assert_uint_eq(x->nan, 2 * CKPT_STATS_BLOCK);
            ck_assert_uint_eq(x->inf, CKPT_STATS_BLOCK);
            ck_assert_uint_eq(x->n, CKPT_STATS_BLOCK);
            ck_assert_uint_eq(x->zeros, CKPT_STATS_BLOCK / 4);
            ck_assert(x->min == 0 && x->max == 3);
            /* 0 1 2 3 repeated: mean 1.5, variance (0 + 1 + 4 + 9) / 4 - 2.25 = 1.25 */
            ck_assert(ckpt_stats_mean(x) == 1.5);
            ck_assert(ckpt_stats_std(x) == sqrt(1.25));
        }
        s = stats_of(im[j], CKPT_DT_FLOAT, v, 2 * CKPT_STATS_BLOCK, 999);
        ck_assert_uint_eq(s.nan, 2 * CKPT_STATS_BLOCK);
        ck_assert_uint_eq(s.n, 0);
        ck_assert(isnan(ckpt_stats_mean(&s)) && isnan(ckpt_stats_std(&s)));
    }
}
END_TEST

/* A jump in scale between blocks: 1e7 + (i & 1) for a block, then (i & 1) for a block (and
 * the other way round). Each half has variance 0.25 about its own mean, the means 1e7 apart:
 * mean 5e6 + 0.5, variance 0.25 + (5e6)^2. The block after the jump is far from the running
 * mean and is summed again about its own. */
START_TEST(jump_in_scale)
{
    enum { N = 2 * CKPT_STATS_BLOCK };
    static float up[N], down[N];
    for (int i = 0; i < N; i++) {
        float small = (float)(i & 1), large = 1e7f + (float)(i & 1);
        up[i] = i < CKPT_STATS_BLOCK ? small : large;
        down[i] = i < CKPT_STATS_BLOCK ? large : small;
    }
    int im[2], nk = kernels(im);
    for (int j = 0; j < nk; j++)
        for (int w = 0; w < 2; w++) {
            ckpt_stats s = stats_of(im[j], CKPT_DT_FLOAT, w ? up : down, N, N);
            ck_assert(s.min == 0 && s.max == 1e7 + 1);
            ck_assert(close_to(ckpt_stats_mean(&s), 5e6 + 0.5, 1e-15));
            ck_assert_msg(close_to(ckpt_stats_std(&s), sqrt(0.25 + 2.5e13), 1e-14), "std %.17g",
                          ckpt_stats_std(&s));
        }
    /* the large half alone: the first block is centred on 0 before any mean is known, and
     * its squares (1e14 each, summed past 2^53) would bury a spread of 0.5 without the second sum
     */
    for (int j = 0; j < nk; j++) {
        ckpt_stats s = stats_of(im[j], CKPT_DT_FLOAT, up + CKPT_STATS_BLOCK, CKPT_STATS_BLOCK,
                                CKPT_STATS_BLOCK);
        ck_assert(ckpt_stats_mean(&s) == 1e7 + 0.5);
        ck_assert_msg(fabs(ckpt_stats_std(&s) - 0.5) <= 1e-12, "std %.17g", ckpt_stats_std(&s));
    }
}
END_TEST

/* Nothing added: counts 0, no mean or std, for each kind of kernel input. */
START_TEST(empty_input)
{
    const int dts[] = {CKPT_DT_FLOAT,    CKPT_DT_DOUBLE, CKPT_DT_HALF,
                       CKPT_DT_BFLOAT16, CKPT_DT_INT64,  CKPT_DT_BOOL};
    uint8_t none[1] = {0};
    int im[2], nk = kernels(im);
    for (int j = 0; j < nk; j++)
        for (size_t d = 0; d < sizeof dts / sizeof *dts; d++) {
            ckpt_stats s;
            ckpt_stats_init(&s, dts[d]);
            ck_assert_int_eq(ckpt_stats_use(&s, im[j]), 0);
            ckpt_stats_add(&s, none, 0);
            ck_assert_uint_eq(s.count + s.nan + s.inf + s.zeros + s.n, 0);
            ck_assert(isnan(ckpt_stats_mean(&s)) && isnan(ckpt_stats_std(&s)));
        }
}
END_TEST

/* float64: NaN, both infinities, -0.0, the least subnormal 2^-1074 and 2^-1022, 1.5, -2.25.
 * Finite: -0, 2^-1074, 2^-1022, 1.5, -2.25: mean -0.75 / 5 (the tiny ones below its ulp),
 * squares 2.25 + 5.0625 = 7.3125, variance 7.3125 / 5 - 0.0225. DBL_MAX: its deviations
 * overflow, so the std is infinite, as numpy's. */
START_TEST(float64_specials)
{
    double v[] = {NAN, INFINITY, -INFINITY, -0.0, 0x1p-1074, 0x1p-1022, 1.5, -2.25};
    int im[2], nk = kernels(im);
    for (int j = 0; j < nk; j++) {
        ckpt_stats s = stats_of(im[j], CKPT_DT_DOUBLE, v, 8, 3);
        ck_assert_uint_eq(s.nan, 1);
        ck_assert_uint_eq(s.inf, 2);
        ck_assert_uint_eq(s.zeros, 1);
        ck_assert_uint_eq(s.n, 5);
        ck_assert(s.min == -2.25 && s.max == 1.5);
        ck_assert(close_to(ckpt_stats_mean(&s), -0.15, 1e-15));
        ck_assert(close_to(ckpt_stats_std(&s), sqrt(7.3125 / 5 - 0.0225), 1e-15));
        double w[] = {1.5, DBL_MAX, -2.25};
        s = stats_of(im[j], CKPT_DT_DOUBLE, w, 3, 3);
        ck_assert(s.max == DBL_MAX && s.min == -2.25);
        ck_assert(close_to(ckpt_stats_mean(&s), DBL_MAX / 3, 1e-15));
        ck_assert(isinf(ckpt_stats_std(&s)));
    }
}
END_TEST

/* float16 and bfloat16 across the decoding buffer's boundary (2048 values) and a block's:
 * 4096 + 5 values of 1.0 with NaN at 2047, -Inf at 2048, -0.0 at 4095, the least subnormal
 * at 4096 (float16 2^-24, bfloat16 2^-133) and the largest finite last (65504; 0x7f7f =
 * (2 - 2^-7) * 2^127). */
START_TEST(half_bfloat16_boundaries)
{
    enum { N = CKPT_STATS_BLOCK + 5 };
    static uint8_t h[2 * N], b[2 * N];
    for (int i = 0; i < N; i++) {
        uint16_t hv = 0x3c00, bv = 0x3f80; /* 1.0 */
        if (i == 2047)
            hv = 0x7e00, bv = 0x7fc0;
        else if (i == 2048)
            hv = 0xfc00, bv = 0xff80;
        else if (i == 4095)
            hv = 0x8000, bv = 0x8000;
        else if (i == 4096)
            hv = 0x0001, bv = 0x0001;
        else if (i == N - 1)
            hv = 0x7bff, bv = 0x7f7f;
        h[2 * i] = (uint8_t)hv, h[2 * i + 1] = (uint8_t)(hv >> 8);
        b[2 * i] = (uint8_t)bv, b[2 * i + 1] = (uint8_t)(bv >> 8);
    }
    const double big[2] = {65504, ldexp(2 - ldexp(1, -7), 127)};
    const double tiny[2] = {ldexp(1, -24), ldexp(1, -133)};
    int im[2], nk = kernels(im);
    for (int j = 0; j < nk; j++)
        for (int w = 0; w < 2; w++) {
            ckpt_stats s = stats_of(im[j], w ? CKPT_DT_BFLOAT16 : CKPT_DT_HALF, w ? b : h, N, N);
            ck_assert_uint_eq(s.nan, 1);
            ck_assert_uint_eq(s.inf, 1);
            ck_assert_uint_eq(s.zeros, 1);
            ck_assert_uint_eq(s.n, N - 2);
            ck_assert(s.min == 0 && s.max == big[w]);
            /* N - 5 ones, 0, tiny, big */
            double k = N - 2, mu = (N - 5 + tiny[w] + big[w]) / k;
            double m2 = (N - 5) * (1 - mu) * (1 - mu) + mu * mu + (tiny[w] - mu) * (tiny[w] - mu) +
                        (big[w] - mu) * (big[w] - mu);
            ck_assert_msg(close_to(ckpt_stats_mean(&s), mu, 1e-14), "%d: mean %.17g, want %.17g", w,
                          ckpt_stats_mean(&s), mu);
            ck_assert_msg(close_to(ckpt_stats_std(&s), sqrt(m2 / k), 1e-12),
                          "%d: std %.17g, want %.17g", w, ckpt_stats_std(&s), sqrt(m2 / k));
        }
}
END_TEST

/* Every float16 and bfloat16 bit pattern, one element each: NaN and infinities counted, any
 * other value the min and max, equal to what elem.h decodes (by the formats' definitions, with
 * ldexp: not the bit widening the statistics use). */
START_TEST(every_16bit_pattern)
{
    int im[2], nk = kernels(im);
    const int dts[] = {CKPT_DT_HALF, CKPT_DT_BFLOAT16};
    for (int j = 0; j < nk; j++)
        for (int d = 0; d < 2; d++)
            for (uint32_t u = 0; u < 0x10000; u++) {
                uint8_t b[2] = {(uint8_t)u, (uint8_t)(u >> 8)};
                double want = ckpt_elem_float(dts[d], b, 0, 0);
                ckpt_stats s;
                ckpt_stats_init(&s, dts[d]);
                ck_assert_int_eq(ckpt_stats_use(&s, im[j]), 0);
                ckpt_stats_add(&s, b, 1);
                ck_assert_uint_eq(s.nan, isnan(want) ? 1 : 0);
                ck_assert_uint_eq(s.inf, isinf(want) ? 1 : 0);
                ck_assert_uint_eq(s.zeros, want == 0 ? 1 : 0);
                if (isfinite(want))
                    ck_assert_msg(s.n == 1 && s.min == want && s.max == want &&
                                      signbit(s.min) == signbit(want) &&
                                      ckpt_stats_mean(&s) == want,
                                  "dtype %d bits %04x: %.17g, want %.17g", dts[d], u, s.min, want);
            }
}
END_TEST

/* xorshift64: the same pseudo-random values on every machine. */
static uint64_t next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* The portable and the AVX2 kernel give the same bits: counts, extremes, the sum and its
 * compensation, the running mean and squared deviations, on float32 and float64 values of
 * mixed scale with NaN, infinities, zeros and subnormals sprinkled in, at every length around
 * a step and a block, added whole and in pieces. */
START_TEST(kernels_agree)
{
    int im[2], nk = kernels(im);
    if (nk < 2) {
        printf("note: no AVX2 on this CPU: only the portable kernel is checked\n");
        return;
    }
    enum { N = 3 * CKPT_STATS_BLOCK + 13 };
    static float f[N];
    static double d[N];
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < N; i++) {
        uint64_t r = next(&x);
        double u = (double)(r >> 11) * 0x1p-53 - 0.25;
        switch (r % 97) {
        case 0: u = NAN; break;
        case 1: u = INFINITY; break;
        case 2: u = -INFINITY; break;
        case 3: u = -0.0; break;
        case 4: u = 0x1p-140; break;
        case 5: u = 0x1p-1070; break;
        default: u *= (i / 1000) % 3 == 0 ? 1e4 : 1; break; /* a change of scale now and then */
        }
        d[i] = u;
        f[i] = (float)u;
    }
    const uint64_t lens[] = {
        0, 1, 7, 8, 9, CKPT_STATS_BLOCK - 1, CKPT_STATS_BLOCK, CKPT_STATS_BLOCK + 1, N};
    const uint64_t pieces[] = {N, 5, 4097};
    for (size_t l = 0; l < sizeof lens / sizeof *lens; l++)
        for (size_t p = 0; p < sizeof pieces / sizeof *pieces; p++)
            for (int w = 0; w < 2; w++) {
                int dt = w ? CKPT_DT_DOUBLE : CKPT_DT_FLOAT;
                const void *data = w ? (const void *)d : (const void *)f;
                ckpt_stats a = stats_of(im[0], dt, data, lens[l], pieces[p]);
                ckpt_stats b = stats_of(im[1], dt, data, lens[l], pieces[p]);
                ck_assert_uint_eq(a.nan, b.nan);
                ck_assert_uint_eq(a.inf, b.inf);
                ck_assert_uint_eq(a.zeros, b.zeros);
                ck_assert_uint_eq(a.n, b.n);
                const double va[] = {a.min, a.max, a.sum, a.comp, a.shift, a.wmean, a.m2};
                const double vb[] = {b.min, b.max, b.sum, b.comp, b.shift, b.wmean, b.m2};
                ck_assert_msg(a.n == 0 || memcmp(va, vb, sizeof va) == 0,
                              "dtype %d, %d values in pieces of %d: the kernels differ", dt,
                              (int)lens[l], (int)pieces[p]);
            }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("all");
    /* check's default is 4 s a test; the 65,536 patterns of every_16bit_pattern take about 10 s
     * in the sanitizer build (Debug, ASan+UBSan). */
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, float32_basic);
    tcase_add_test(tc, float32_nonfinite);
    tcase_add_test(tc, all_nan_and_empty);
    tcase_add_test(tc, half_and_bfloat16);
    tcase_add_test(tc, integer_extremes);
    tcase_add_test(tc, complex_parts);
    tcase_add_test(tc, strings_count_only);
    tcase_add_test(tc, large_offset_small_spread);
    tcase_add_test(tc, block_boundaries);
    tcase_add_test(tc, tails);
    tcase_add_test(tc, all_nan_blocks);
    tcase_add_test(tc, jump_in_scale);
    tcase_add_test(tc, empty_input);
    tcase_add_test(tc, float64_specials);
    tcase_add_test(tc, half_bfloat16_boundaries);
    tcase_add_test(tc, every_16bit_pattern);
    tcase_add_test(tc, kernels_agree);
    suite_add_tcase(s, tc);
    return ckpt_check_run(s);
}
