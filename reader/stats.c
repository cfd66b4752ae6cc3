/* stats.c - see stats.h. */
#include "stats.h"

#include "coding.h"
#include "dtype.h"
#include "elem.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Values are summarized in blocks this long: small enough for the stack, long enough that
 * merging blocks costs little. */
#define STATS_BLOCK 512

/* Bytes read from a data file at a time: the memory a tensor costs, whatever its size. */
#define STATS_CHUNK (4u << 20)

void ckpt_stats_init(ckpt_stats *s, int dtype)
{
    memset(s, 0, sizeof *s);
    s->dtype = dtype;
    switch (ckpt_elem_class(dtype)) {
    case CKPT_ELEM_FLOAT:
        s->kind = CKPT_STATS_FLOAT;
        break;
    case CKPT_ELEM_COMPLEX:
        s->kind = CKPT_STATS_COMPLEX;
        break;
    case CKPT_ELEM_SIGNED:
        s->kind = CKPT_STATS_INT;
        break;
    case CKPT_ELEM_UNSIGNED:
    case CKPT_ELEM_BOOL:
        s->kind = CKPT_STATS_UINT;
        break;
    default:
        s->kind = CKPT_STATS_COUNT;
        break;
    }
    if (ckpt_dtype_size(dtype) == 0) s->kind = CKPT_STATS_COUNT;
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

/* Merge the k finite values v[0..k) into s: an exact two-pass mean and squared deviations of
 * the block, then Chan's pairwise update (no cancellation between a large mean and a small
 * spread, as sum-of-squares would suffer). */
static void merge_block(ckpt_stats *s, const double *v, size_t k)
{
    if (k == 0) return;
    /* The spread is taken of the values minus the first one: a running mean near 1e9 has an
     * ulp of 1e-7, and its roundings, squared at every merge, grow into the spread of values
     * that differ by 1; shifted, the mean is small and exact enough. */
    if (s->n == 0) s->shift = v[0];
    double bs = 0;
    for (size_t j = 0; j < k; j++) {
        bs += v[j] - s->shift;
        sum_add(s, v[j]);
    }
    double bmean = bs / (double)k, bm2 = 0, corr = 0;
    for (size_t j = 0; j < k; j++) {
        double d = (v[j] - s->shift) - bmean;
        bm2 += d * d;
        corr += d;
    }
    /* the corrected two-pass formula: removes the error of bmean itself */
    bm2 -= corr * corr / (double)k;
    bmean += corr / (double)k;
    if (s->n == 0) {
        s->wmean = bmean;
        s->m2 = bm2;
    } else {
        double na = (double)s->n, nb = (double)k, nt = na + nb, delta = bmean - s->wmean;
        s->wmean += delta * nb / nt;
        s->m2 += bm2 + delta * delta * na * nb / nt;
    }
    s->n += k;
}

/* float32 element i: the common case, decoded without elem.h's dispatch per element. */
static inline float f32_at(const uint8_t *data, uint64_t i)
{
    uint32_t u = ckpt_load_le32(data + 4 * i);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static void add_float(ckpt_stats *s, const uint8_t *data, uint64_t n)
{
    double v[STATS_BLOCK];
    int f32 = s->dtype == CKPT_DT_FLOAT;
    for (uint64_t i = 0; i < n;) {
        size_t k = 0;
        uint64_t end = n - i < STATS_BLOCK ? n : i + STATS_BLOCK;
        for (; i < end; i++) {
            double x = f32 ? (double)f32_at(data, i) : ckpt_elem_float(s->dtype, data, i, 0);
            if (isnan(x)) {
                s->nan++;
                continue;
            }
            if (isinf(x)) {
                s->inf++;
                continue;
            }
            if (x == 0) s->zeros++;
            if (s->n + k == 0 || x < s->min) s->min = x;
            if (s->n + k == 0 || x > s->max) s->max = x;
            v[k++] = x;
        }
        merge_block(s, v, k);
    }
}

static void add_int(ckpt_stats *s, const uint8_t *data, uint64_t n)
{
    double v[STATS_BLOCK];
    int sgn = s->kind == CKPT_STATS_INT;
    for (uint64_t i = 0; i < n;) {
        size_t k = 0;
        uint64_t end = n - i < STATS_BLOCK ? n : i + STATS_BLOCK;
        for (; i < end; i++) {
            int first = s->n + k == 0;
            if (sgn) {
                int64_t x = ckpt_elem_signed(s->dtype, data, i);
                s->zeros += x == 0;
                if (first || x < s->imin) s->imin = x;
                if (first || x > s->imax) s->imax = x;
                v[k++] = (double)x;
            } else {
                uint64_t x =
                    s->dtype == CKPT_DT_BOOL ? data[i] != 0 : ckpt_elem_unsigned(s->dtype, data, i);
                s->zeros += x == 0;
                if (first || x < s->umin) s->umin = x;
                if (first || x > s->umax) s->umax = x;
                v[k++] = (double)x;
            }
        }
        merge_block(s, v, k);
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
    case CKPT_STATS_FLOAT:
        add_float(s, data, n);
        break;
    case CKPT_STATS_INT:
    case CKPT_STATS_UINT:
        add_int(s, data, n);
        break;
    case CKPT_STATS_COMPLEX:
        add_complex(s, data, n);
        break;
    default:
        break;
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
    if (!s->n) return NAN;
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
        if (progress) progress(ctx, v.nbytes);
        return 0;
    }
    size_t chunk = STATS_CHUNK - STATS_CHUNK % esize;
    uint8_t *buf = malloc(v.nbytes < chunk ? (v.nbytes ? v.nbytes : 1) : chunk);
    if (!buf) return ckpt_err_set(err, CKPT_E_NOMEM, "variable \"%s\": out of memory", v.name);
    ckpt_crc_state st = {0, 0};
    int rc = 0;
    for (uint64_t off = 0; off < v.nbytes;) {
        size_t want = v.nbytes - off < chunk ? (size_t)(v.nbytes - off) : chunk, got;
        rc = ckpt_read(c, i, buf, want, off, &got, &st, err);
        if (rc) break;
        if (got == 0 || got % esize) {
            rc = ckpt_err_set(err, CKPT_E_CORRUPT,
                              "variable \"%s\": %s ends at byte %" PRIu64 " of %" PRIu64, v.name,
                              ckpt_var_path(c, i), off + got, v.nbytes);
            break;
        }
        ckpt_stats_add(s, buf, got / esize);
        off += got;
        if (progress) progress(ctx, got);
    }
    free(buf);
    return rc;
}
