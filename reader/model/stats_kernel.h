/*
 * stats_kernel.h - the block kernels of stats.c, written once and compiled there once per
 * instruction set. Not a header of its own: stats.c defines KERNEL_F32, KERNEL_F64 (the
 * functions' names), KERNEL_ATTR (their target attribute) and KVF, KVI, KVD, KVL (vector
 * types of float, int32, double, int64, all of one width: 16 bytes or 32), then includes it. No
 * include guard, on purpose.
 *
 * A step takes 8 float32 (or 4 float64) values. Each lane's class comes from comparisons, not
 * branches: x != x is NaN, |x| == inf an infinity, |x| < inf finite, x == 0 a zero (-0.0 too).
 * A non-finite value stands in as +inf for the min, -inf for the max and the centre c for the
 * sums, so its deviation is exactly 0. Deviations are summed in float64 in 8 (float32) or 4
 * (float64) lanes whatever the width, each lane always holding the same elements, and the
 * lanes are added in one fixed order: both compilations give the same bits.
 */

KERNEL_ATTR static void KERNEL_F32(const uint8_t *p, size_t k, float c, block_moments *m)
{
    enum { NF = 32 / sizeof(KVF) }; /* float vectors per step of 8 */
    KVI cnan[NF], cinf[NF], czero[NF];
    KVF vmin[NF], vmax[NF];
    const KVF cv = (KVF){0} + c, pinf = (KVF){0} + INFINITY, ninf = (KVF){0} - INFINITY;
    const f64x4 cd = (f64x4){0} + (double)c;
    f64x4 sd[2] = {{0}}, sq[2] = {{0}};
    for (int h = 0; h < NF; h++) {
        cnan[h] = cinf[h] = czero[h] = (KVI){0};
        vmin[h] = pinf;
        vmax[h] = ninf;
    }
    float tail[8];
    for (size_t i = 0; i < k; i += 8) {
        const uint8_t *q = p + 4 * i;
        if (k - i < 8) { /* the last few: NaN past the end, taken off the count below */
            for (int j = 0; j < 8; j++)
                tail[j] = NAN;
            memcpy(tail, q, 4 * (k - i));
            q = (const uint8_t *)tail;
        }
        KVF x[NF], xr[NF];
        memcpy(x, q, sizeof x);
        for (int h = 0; h < NF; h++) {
            KVF ax = (KVF)((KVI)x[h] & 0x7fffffff);
            KVI fin = ax < INFINITY;
            cnan[h] -= x[h] != x[h];
            cinf[h] -= ax == INFINITY;
            czero[h] -= x[h] == 0;
            KVF lo = (KVF)(((KVI)x[h] & fin) | ((KVI)pinf & ~fin));
            KVF hi = (KVF)(((KVI)x[h] & fin) | ((KVI)ninf & ~fin));
            KVI lt = lo<vmin[h], gt = hi> vmax[h];
            vmin[h] = (KVF)(((KVI)lo & lt) | ((KVI)vmin[h] & ~lt));
            vmax[h] = (KVF)(((KVI)hi & gt) | ((KVI)vmax[h] & ~gt));
            xr[h] = (KVF)(((KVI)x[h] & fin) | ((KVI)cv & ~fin));
        }
        f32x4 half[2];
        memcpy(half, xr, sizeof half);
        for (int h = 0; h < 2; h++) {
            f64x4 d = __builtin_convertvector(half[h], f64x4) - cd;
            sd[h] += d;
            sq[h] += d * d;
        }
    }
    int32_t nan[8], inf[8], zero[8];
    float mn[8], mx[8];
    double a[8], b[8];
    memcpy(nan, cnan, sizeof nan);
    memcpy(inf, cinf, sizeof inf);
    memcpy(zero, czero, sizeof zero);
    memcpy(mn, vmin, sizeof mn);
    memcpy(mx, vmax, sizeof mx);
    memcpy(a, sd, sizeof a);
    memcpy(b, sq, sizeof b);
    m->nan = m->inf = m->zeros = 0;
    float lo = INFINITY, hi = -INFINITY;
    for (int j = 0; j < 8; j++) {
        m->nan += (uint32_t)nan[j];
        m->inf += (uint32_t)inf[j];
        m->zeros += (uint32_t)zero[j];
        if (mn[j] < lo)
            lo = mn[j];
        if (mx[j] > hi)
            hi = mx[j];
    }
    m->nan -= k % 8 ? 8 - k % 8 : 0;
    m->min = lo;
    m->max = hi;
    m->sd = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    m->sq = ((b[0] + b[1]) + (b[2] + b[3])) + ((b[4] + b[5]) + (b[6] + b[7]));
}

KERNEL_ATTR static void KERNEL_F64(const uint8_t *p, size_t k, double c, block_moments *m)
{
    enum { ND = 32 / sizeof(KVD) }; /* double vectors per step of 4 */
    KVL cnan[ND], cinf[ND], czero[ND];
    KVD vmin[ND], vmax[ND], sd[ND], sq[ND];
    const KVD cv = (KVD){0} + c, pinf = (KVD){0} + INFINITY, ninf = (KVD){0} - INFINITY;
    for (int h = 0; h < ND; h++) {
        cnan[h] = cinf[h] = czero[h] = (KVL){0};
        vmin[h] = pinf;
        vmax[h] = ninf;
        sd[h] = sq[h] = (KVD){0};
    }
    double tail[4];
    for (size_t i = 0; i < k; i += 4) {
        const uint8_t *q = p + 8 * i;
        if (k - i < 4) {
            for (int j = 0; j < 4; j++)
                tail[j] = NAN;
            memcpy(tail, q, 8 * (k - i));
            q = (const uint8_t *)tail;
        }
        KVD x[ND];
        memcpy(x, q, sizeof x);
        for (int h = 0; h < ND; h++) {
            KVD ax = (KVD)((KVL)x[h] & INT64_MAX);
            KVL fin = ax < INFINITY;
            cnan[h] -= x[h] != x[h];
            cinf[h] -= ax == INFINITY;
            czero[h] -= x[h] == 0;
            KVD lo = (KVD)(((KVL)x[h] & fin) | ((KVL)pinf & ~fin));
            KVD hi = (KVD)(((KVL)x[h] & fin) | ((KVL)ninf & ~fin));
            KVL lt = lo<vmin[h], gt = hi> vmax[h];
            vmin[h] = (KVD)(((KVL)lo & lt) | ((KVL)vmin[h] & ~lt));
            vmax[h] = (KVD)(((KVL)hi & gt) | ((KVL)vmax[h] & ~gt));
            KVD d = (KVD)(((KVL)x[h] & fin) | ((KVL)cv & ~fin)) - cv;
            sd[h] += d;
            sq[h] += d * d;
        }
    }
    int64_t nan[4], inf[4], zero[4];
    double mn[4], mx[4], a[4], b[4];
    memcpy(nan, cnan, sizeof nan);
    memcpy(inf, cinf, sizeof inf);
    memcpy(zero, czero, sizeof zero);
    memcpy(mn, vmin, sizeof mn);
    memcpy(mx, vmax, sizeof mx);
    memcpy(a, sd, sizeof a);
    memcpy(b, sq, sizeof b);
    m->nan = m->inf = m->zeros = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (int j = 0; j < 4; j++) {
        m->nan += (uint64_t)nan[j];
        m->inf += (uint64_t)inf[j];
        m->zeros += (uint64_t)zero[j];
        if (mn[j] < lo)
            lo = mn[j];
        if (mx[j] > hi)
            hi = mx[j];
    }
    m->nan -= k % 4 ? 4 - k % 4 : 0;
    m->min = lo;
    m->max = hi;
    m->sd = (a[0] + a[1]) + (a[2] + a[3]);
    m->sq = (b[0] + b[1]) + (b[2] + b[3]);
}
