/* stats.c - see stats.h. */
#include "stats.h"

#include "coding.h"
#include "dtype.h"
#include "elem.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Bytes read from a data file at a time: the memory a tensor costs, whatever its size. Small
 * enough that the block pass finds them in the L2 cache, where the checksum just left them. */
#define STATS_CHUNK (256u << 10)

/* float64 values per block, and decoded values (float16, bfloat16, float8, integers) per pass
 * through a buffer on the stack (16 KiB). */
#define DECODE_BLOCK (CKPT_STATS_BLOCK / 2)

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define NATIVE_LE 1
#else
#define NATIVE_LE 0
#endif

/* What one pass over a block finds: counts, extremes, and the deviations from a centre c. */
typedef struct block_moments {
    uint64_t nan, inf, zeros;
    double min, max; /* over the finite values (+inf / -inf when there is none) */
    double sd, sq;   /* sum of x - c and of (x - c)^2 over the finite values, in float64 */
} block_moments;

/* The block kernels (stats_kernel.h) use GCC/clang vector types: the portable ones 16-byte
 * vectors (SSE2 on x86-64, NEON on arm64: every operation a native one), the AVX2 ones 32-byte
 * vectors in functions built for AVX2. Both sum the same lanes in the same order. */
typedef float f32x4 __attribute__((vector_size(16)));
typedef float f32x8 __attribute__((vector_size(32)));
typedef int32_t i32x4 __attribute__((vector_size(16)));
typedef int32_t i32x8 __attribute__((vector_size(32)));
typedef double f64x2 __attribute__((vector_size(16)));
typedef double f64x4 __attribute__((vector_size(32)));
typedef int64_t i64x2 __attribute__((vector_size(16)));
typedef int64_t i64x4 __attribute__((vector_size(32)));

#define KVF f32x4
#define KVI i32x4
#define KVD f64x2
#define KVL i64x2
#define KERNEL_ATTR
#define KERNEL_F32 f32_portable
#define KERNEL_F64 f64_portable
#include "stats_kernel.h"
#undef KVF
#undef KVI
#undef KVD
#undef KVL
#undef KERNEL_ATTR
#undef KERNEL_F32
#undef KERNEL_F64

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_AVX2_KERNEL 1
#define KVF f32x8
#define KVI i32x8
#define KVD f64x4
#define KVL i64x4
#define KERNEL_ATTR __attribute__((target("avx2")))
#define KERNEL_F32 f32_avx2
#define KERNEL_F64 f64_avx2
#include "stats_kernel.h"
#undef KVF
#undef KVI
#undef KVD
#undef KVL
#undef KERNEL_ATTR
#undef KERNEL_F32
#undef KERNEL_F64

static int have_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
}
#else
#define HAVE_AVX2_KERNEL 0
#endif

static void f32_block(const ckpt_stats *s, const uint8_t *p, size_t k, float c, block_moments *m)
{
#if HAVE_AVX2_KERNEL
    if (s->impl == CKPT_STATS_IMPL_AVX2) {
        f32_avx2(p, k, c, m);
        return;
    }
#else
    (void)s;
#endif
    f32_portable(p, k, c, m);
}

static void f64_block(const ckpt_stats *s, const uint8_t *p, size_t k, double c, block_moments *m)
{
#if HAVE_AVX2_KERNEL
    if (s->impl == CKPT_STATS_IMPL_AVX2) {
        f64_avx2(p, k, c, m);
        return;
    }
#else
    (void)s;
#endif
    f64_portable(p, k, c, m);
}

int ckpt_stats_use(ckpt_stats *s, int impl)
{
    if (impl == CKPT_STATS_IMPL_PORTABLE) {
        s->impl = impl;
        return 0;
    }
#if HAVE_AVX2_KERNEL
    if (impl == CKPT_STATS_IMPL_AVX2 && have_avx2()) {
        s->impl = impl;
        return 0;
    }
#endif
    return CKPT_E_UNSUPPORTED;
}

void ckpt_stats_init(ckpt_stats *s, int dtype)
{
    memset(s, 0, sizeof *s);
    s->dtype = dtype;
    switch (ckpt_elem_class(dtype)) {
    case CKPT_ELEM_FLOAT: s->kind = CKPT_STATS_FLOAT; break;
    case CKPT_ELEM_COMPLEX: s->kind = CKPT_STATS_COMPLEX; break;
    case CKPT_ELEM_SIGNED: s->kind = CKPT_STATS_INT; break;
    case CKPT_ELEM_UNSIGNED:
    case CKPT_ELEM_BOOL: s->kind = CKPT_STATS_UINT; break;
    default: s->kind = CKPT_STATS_COUNT; break;
    }
    if (ckpt_dtype_size(dtype) == 0)
        s->kind = CKPT_STATS_COUNT;
    s->impl = CKPT_STATS_IMPL_PORTABLE;
    (void)ckpt_stats_use(s, CKPT_STATS_IMPL_AVX2);
}

/* Neumaier's compensated addition: the rounding error of every step is kept in comp, so the
 * sum of n values is within a few ulps of the exact sum instead of n of them. */
static void sum_add(ckpt_stats *s, double x)
{
    double t = s->sum + x;
    if (fabs(s->sum) >= fabs(x))
        s->comp += (s->sum - t) + x;
    else
        s->comp += (x - t) + s->sum;
    s->sum = t;
}

/* Whether the block's mean lies so far from the centre that sq - sd^2/k, its squared
 * deviations, would lose more than a few bits to cancellation: then it is summed again about
 * its own mean. With the running mean as centre that is the first block and those after a
 * jump (rows of very different scale), not the common case. */
static int far_from_centre(const block_moments *m, uint64_t kf)
{
    return isfinite(m->sq) && m->sd * m->sd > 0.125 * (double)kf * m->sq;
}

/* The block's mean about centre c, kept inside its extremes (a centre must be finite). */
static double block_mean(const block_moments *m, uint64_t kf, double c)
{
    double mu = c + m->sd / (double)kf;
    return mu >= m->min ? (mu <= m->max ? mu : m->max) : m->min;
}

/* The centre for the next block: the running mean (0 before the first finite value). */
static double centre(const ckpt_stats *s)
{
    double c = s->n ? s->shift + s->wmean : 0;
    return isfinite(c) ? c : s->shift;
}

/* Merge block m of k elements summed about centre c into s: the counts, the extremes, the
 * sum (compensated), and the spread by Chan's pairwise update, whose means are kept relative
 * to the first centre (a running mean near 1e9 has an ulp of 1e-7, whose roundings, squared at
 * every merge, would grow into the spread of values that differ by 1). */
static void merge(ckpt_stats *s, const block_moments *m, uint64_t k, double c)
{
    s->nan += m->nan;
    s->inf += m->inf;
    s->zeros += m->zeros;
    uint64_t kf = k - m->nan - m->inf;
    if (kf == 0)
        return;
    if (s->n == 0 || m->min < s->min)
        s->min = m->min;
    if (s->n == 0 || m->max > s->max)
        s->max = m->max;
    double nb = (double)kf;
    sum_add(s, nb * c);
    sum_add(s, m->sd);
    double bm2 = m->sq;
    if (isfinite(bm2))
        bm2 -= m->sd * (m->sd / nb);
    if (bm2 < 0)
        bm2 = 0;
    if (s->n == 0)
        s->shift = c;
    double bmean = (c - s->shift) + m->sd / nb;
    if (s->n == 0) {
        s->wmean = bmean;
        s->m2 = bm2;
    } else {
        double na = (double)s->n, nt = na + nb, delta = bmean - s->wmean;
        s->wmean += delta * nb / nt;
        s->m2 += bm2 + delta * delta * na * nb / nt;
    }
    s->n += kf;
}

/* k (at most CKPT_STATS_BLOCK) float32 values at p, host order. */
static void add_f32_block(ckpt_stats *s, const uint8_t *p, size_t k)
{
    float c = (float)centre(s);
    if (!isfinite(c))
        c = 0;
    block_moments m;
    f32_block(s, p, k, c, &m);
    uint64_t kf = k - m.nan - m.inf;
    if (kf && far_from_centre(&m, kf)) {
        c = (float)block_mean(&m, kf, c);
        f32_block(s, p, k, c, &m);
    }
    merge(s, &m, k, c);
}

/* k (at most CKPT_STATS_BLOCK) float64 values at p, host order. */
static void add_f64_block(ckpt_stats *s, const uint8_t *p, size_t k)
{
    double c = centre(s);
    block_moments m;
    f64_block(s, p, k, c, &m);
    uint64_t kf = k - m.nan - m.inf;
    if (kf && far_from_centre(&m, kf)) {
        c = block_mean(&m, kf, c);
        f64_block(s, p, k, c, &m);
    }
    merge(s, &m, k, c);
}

/* The float32 bits of float16 h, exactly: a bfloat16 is the top half of a float32 already,
 * a float16 widens its exponent (bias 15 to 127) and mantissa (10 bits to 23). */
static uint32_t half_to_f32_bits(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, e = (h >> 10) & 0x1f, m = h & 0x3ffu;
    if (e == 31) /* infinity, NaN */
        return sign | 0x7f800000u | m << 13;
    if (e)
        return sign | (e + 112) << 23 | m << 13;
    float f = (float)m * 0x1p-24f; /* zero and subnormals: m * 2^-24, normal in float32 */
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return sign | u;
}

static void add_float(ckpt_stats *s, const uint8_t *data, uint64_t n)
{
    if (s->dtype == CKPT_DT_FLOAT && NATIVE_LE) {
        for (uint64_t i = 0; i < n; i += CKPT_STATS_BLOCK)
            add_f32_block(s, data + 4 * i, n - i < CKPT_STATS_BLOCK ? n - i : CKPT_STATS_BLOCK);
        return;
    }
    if (s->dtype == CKPT_DT_DOUBLE && NATIVE_LE) {
        for (uint64_t i = 0; i < n; i += DECODE_BLOCK)
            add_f64_block(s, data + 8 * i, n - i < DECODE_BLOCK ? n - i : DECODE_BLOCK);
        return;
    }
    if (s->dtype == CKPT_DT_HALF || s->dtype == CKPT_DT_BFLOAT16) {
        int bf = s->dtype == CKPT_DT_BFLOAT16;
        uint32_t fb[DECODE_BLOCK];
        for (uint64_t i = 0; i < n;) {
            size_t k = n - i < DECODE_BLOCK ? (size_t)(n - i) : DECODE_BLOCK;
            const uint8_t *p = data + 2 * i;
            for (size_t j = 0; j < k; j++) {
                uint16_t h = (uint16_t)(p[2 * j] | p[2 * j + 1] << 8);
                fb[j] = bf ? (uint32_t)h << 16 : half_to_f32_bits(h);
            }
            add_f32_block(s, (const uint8_t *)fb, k);
            i += k;
        }
        return;
    }
    /* Every other float dtype converts exactly: to float32 (float8, float4), float64 to
     * itself (on a big-endian host). */
    int wide = s->dtype == CKPT_DT_DOUBLE;
    double dv[DECODE_BLOCK];
    float fv[DECODE_BLOCK];
    for (uint64_t i = 0; i < n;) {
        size_t k = n - i < DECODE_BLOCK ? (size_t)(n - i) : DECODE_BLOCK;
        for (size_t j = 0; j < k; j++) {
            double x = ckpt_elem_float(s->dtype, data, i + j, 0);
            if (wide)
                dv[j] = x;
            else
                fv[j] = (float)x;
        }
        if (wide)
            add_f64_block(s, (const uint8_t *)dv, k);
        else
            add_f32_block(s, (const uint8_t *)fv, k);
        i += k;
    }
}

static void add_int(ckpt_stats *s, const uint8_t *data, uint64_t n)
{
    double v[DECODE_BLOCK];
    int sgn = s->kind == CKPT_STATS_INT;
    for (uint64_t i = 0; i < n;) {
        size_t k = n - i < DECODE_BLOCK ? (size_t)(n - i) : DECODE_BLOCK;
        for (size_t j = 0; j < k; j++, i++) {
            int first = s->n + j == 0;
            if (sgn) {
                int64_t x = ckpt_elem_signed(s->dtype, data, i);
                if (first || x < s->imin)
                    s->imin = x;
                if (first || x > s->imax)
                    s->imax = x;
                v[j] = (double)x;
            } else {
                uint64_t x =
                    s->dtype == CKPT_DT_BOOL ? data[i] != 0 : ckpt_elem_unsigned(s->dtype, data, i);
                if (first || x < s->umin)
                    s->umin = x;
                if (first || x > s->umax)
                    s->umax = x;
                v[j] = (double)x;
            }
        }
        add_f64_block(s, (const uint8_t *)v, k);
    }
    if (s->n) {
        s->min = sgn ? (double)s->imin : (double)s->umin;
        s->max = sgn ? (double)s->imax : (double)s->umax;
    }
}

static void add_complex(ckpt_stats *s, const uint8_t *data, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        double re = ckpt_elem_float(s->dtype, data, i, 0),
               im = ckpt_elem_float(s->dtype, data, i, 1);
        if (isnan(re) || isnan(im))
            s->nan++;
        else if (isinf(re) || isinf(im))
            s->inf++;
        else if (re == 0 && im == 0)
            s->zeros++;
    }
}

void ckpt_stats_add(ckpt_stats *s, const uint8_t *data, uint64_t n)
{
    s->count += n;
    switch (s->kind) {
    case CKPT_STATS_FLOAT: add_float(s, data, n); break;
    case CKPT_STATS_INT:
    case CKPT_STATS_UINT: add_int(s, data, n); break;
    case CKPT_STATS_COMPLEX: add_complex(s, data, n); break;
    default: break;
    }
}

void ckpt_stats_add_count(ckpt_stats *s, uint64_t n)
{
    s->count += n;
}

double ckpt_stats_mean(const ckpt_stats *s)
{
    return s->n ? (s->sum + s->comp) / (double)s->n : NAN;
}

double ckpt_stats_std(const ckpt_stats *s)
{
    if (!s->n)
        return NAN;
    double var = s->m2 / (double)s->n;
    return var > 0 ? sqrt(var) : 0;
}

/* Elements of variable v from its shape (a string tensor's count without decoding it). */
static uint64_t elements(const ckpt_var *v)
{
    uint64_t n = 1;
    for (int d = 0; d < v->rank; d++)
        n *= v->dims[d] > 0 ? (uint64_t)v->dims[d] : 0;
    return n;
}

int ckpt_stats_var(ckpt_checkpoint *c, size_t i, ckpt_stats *s, ckpt_stats_progress_fn progress,
                   void *ctx, ckpt_err *err)
{
    ckpt_var v;
    ckpt_get(c, i, &v);
    ckpt_stats_init(s, v.dtype);
    size_t esize = ckpt_dtype_size(v.dtype);
    if (s->kind == CKPT_STATS_COUNT) {
        ckpt_stats_add_count(s, elements(&v));
        if (progress)
            progress(ctx, v.nbytes);
        return 0;
    }
    size_t chunk = STATS_CHUNK - STATS_CHUNK % esize;
    uint8_t *buf = malloc(v.nbytes < chunk ? (v.nbytes ? v.nbytes : 1) : chunk);
    if (!buf)
        return ckpt_err_set(err, CKPT_E_NOMEM, "variable \"%s\": out of memory", v.name);
    ckpt_crc_state st = {0, 0};
    int rc = 0;
    for (uint64_t off = 0; off < v.nbytes;) {
        size_t want = v.nbytes - off < chunk ? (size_t)(v.nbytes - off) : chunk, got;
        rc = ckpt_read(c, i, buf, want, off, &got, &st, err);
        if (rc)
            break;
        if (got == 0 || got % esize) {
            rc = ckpt_err_set(err, CKPT_E_CORRUPT,
                              "variable \"%s\": %s ends at byte %" PRIu64 " of %" PRIu64, v.name,
                              ckpt_var_path(c, i), off + got, v.nbytes);
            break;
        }
        ckpt_stats_add(s, buf, got / esize);
        off += got;
        if (progress)
            progress(ctx, got);
    }
    free(buf);
    return rc;
}
