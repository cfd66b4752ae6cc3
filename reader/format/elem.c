/* elem.c - see elem.h. */
#include "elem.h"

#include "coding.h"
#include "dtype.h"

#include <math.h>
#include <string.h>

static uint16_t load_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* A small float format: exponent and mantissa bits, bias; fnuz types have no -0 and one NaN
 * (0x80); fn types have no infinity and NaN only with every other bit set. */
typedef struct minifloat {
    int ebits, mbits, bias, fnuz, fn;
} minifloat;

static const minifloat *minifloat_of(int dtype)
{
    static const minifloat e5m2 = {5, 2, 15, 0, 0}, e4m3fn = {4, 3, 7, 0, 1},
                           e4m3fnuz = {4, 3, 8, 1, 0}, e4m3b11 = {4, 3, 11, 1, 0},
                           e5m2fnuz = {5, 2, 16, 1, 0}, e2m1 = {2, 1, 1, 0, 2};
    switch (dtype) {
    case 24: return &e5m2;
    case 25: return &e4m3fn;
    case 26: return &e4m3fnuz;
    case 27: return &e4m3b11;
    case 28: return &e5m2fnuz;
    case 33: return &e2m1;
    default: return NULL;
    }
}

static double half_to_double(uint16_t h)
{
    int e = (h >> 10) & 0x1f, m = h & 0x3ff;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(m + 1024, e - 25);
    return (h & 0x8000) ? -v : v;
}

static double minifloat_to_double(const minifloat *f, uint8_t b)
{
    int nbits = 1 + f->ebits + f->mbits;
    b &= (uint8_t)((1u << nbits) - 1);
    int sign = b >> (nbits - 1);
    int e = (b >> f->mbits) & ((1 << f->ebits) - 1), m = b & ((1 << f->mbits) - 1);
    int emax = (1 << f->ebits) - 1;
    if (f->fnuz && b == 1u << (nbits - 1))
        return NAN;
    if (f->fn == 1 && e == emax && m == (1 << f->mbits) - 1)
        return NAN;
    if (!f->fnuz && !f->fn && e == emax) /* IEEE-like (e5m2) */
        return m ? NAN : sign ? -INFINITY : INFINITY;
    double v = e == 0 ? ldexp(m, 1 - f->bias - f->mbits)
                      : ldexp(m + (1 << f->mbits), e - f->bias - f->mbits);
    return sign ? -v : v;
}

/* The float32 whose bits are u. */
static float f32_of_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

double ckpt_elem_float(int dtype, const uint8_t *data, uint64_t i, int part)
{
    const uint8_t *p;
    switch (dtype) {
    case CKPT_DT_HALF: return half_to_double(load_le16(data + 2 * i));
    case CKPT_DT_BFLOAT16: /* the top half of a float32 */
        return f32_of_bits((uint32_t)load_le16(data + 2 * i) << 16);
    case CKPT_DT_FLOAT:
    case CKPT_DT_COMPLEX64:
        p = data + (dtype == CKPT_DT_FLOAT ? 4 * i : 8 * i + 4 * (uint64_t)part);
        return f32_of_bits(ckpt_load_le32(p));
    case CKPT_DT_DOUBLE:
    case CKPT_DT_COMPLEX128: {
        p = data + (dtype == CKPT_DT_DOUBLE ? 8 * i : 16 * i + 8 * (uint64_t)part);
        uint64_t u = ckpt_load_le64(p);
        double d;
        memcpy(&d, &u, 8);
        return d;
    }
    default: return minifloat_to_double(minifloat_of(dtype), data[i]);
    }
}

int64_t ckpt_elem_signed(int dtype, const uint8_t *data, uint64_t i)
{
    size_t size = ckpt_dtype_size(dtype);
    switch (size) {
    case 1: {
        int8_t v = (int8_t)data[i];
        if (dtype == 29) /* int4: the low nibble, sign-extended */
            v = (int8_t)((uint8_t)(data[i] << 4)) >> 4;
        else if (dtype == 31)
            v = (int8_t)((uint8_t)(data[i] << 6)) >> 6;
        return v;
    }
    case 2: return (int16_t)load_le16(data + 2 * i);
    case 4: return (int32_t)ckpt_load_le32(data + 4 * i);
    default: return (int64_t)ckpt_load_le64(data + 8 * i);
    }
}

uint64_t ckpt_elem_unsigned(int dtype, const uint8_t *data, uint64_t i)
{
    size_t size = ckpt_dtype_size(dtype);
    switch (size) {
    case 1: return dtype == 30 ? data[i] & 0xf : dtype == 32 ? data[i] & 0x3 : data[i];
    case 2: return load_le16(data + 2 * i);
    case 4: return ckpt_load_le32(data + 4 * i);
    default: return ckpt_load_le64(data + 8 * i);
    }
}

int ckpt_elem_class(int dtype)
{
    switch (dtype) {
    case CKPT_DT_HALF:
    case CKPT_DT_FLOAT:
    case CKPT_DT_BFLOAT16:
    case CKPT_DT_DOUBLE: return CKPT_ELEM_FLOAT;
    case CKPT_DT_COMPLEX64:
    case CKPT_DT_COMPLEX128: return CKPT_ELEM_COMPLEX;
    case CKPT_DT_BOOL: return CKPT_ELEM_BOOL;
    case CKPT_DT_INT8:
    case CKPT_DT_INT16:
    case CKPT_DT_INT32:
    case CKPT_DT_INT64:
    case CKPT_DT_QINT8:
    case CKPT_DT_QINT16:
    case CKPT_DT_QINT32:
    case 29:
    case 31: /* int4, int2 */ return CKPT_ELEM_SIGNED;
    case CKPT_DT_UINT8:
    case CKPT_DT_UINT16:
    case CKPT_DT_UINT32:
    case CKPT_DT_UINT64:
    case CKPT_DT_QUINT8:
    case CKPT_DT_QUINT16:
    case 30:
    case 32: /* uint4, uint2 */ return CKPT_ELEM_UNSIGNED;
    default: return minifloat_of(dtype) ? CKPT_ELEM_FLOAT : CKPT_ELEM_NONE;
    }
}

double ckpt_round_to_half(double x)
{
    if (!isfinite(x) || x == 0)
        return x;
    double a = fabs(x);
    int e;
    frexp(a, &e);                           /* a in [2^(e-1), 2^e) */
    int q = e - 1 < -14 ? -24 : e - 1 - 10; /* the quantum: 10 mantissa bits, subnormals below */
    double r = ldexp(nearbyint(ldexp(a, -q)), q); /* nearbyint: ties to even (default mode) */
    if (r > 65504.0)
        r = INFINITY;
    return x < 0 ? -r : r;
}
