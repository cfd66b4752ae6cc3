/* npy.c - see npy.h. */
#include "npy.h"

#include "dtype.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* numpy.lib.format: alignment of the data, and room left to grow the first axis in place. */
#define ARRAY_ALIGN 64
#define GROWTH_AXIS_MAX_DIGITS 21
#define MAGIC_LEN 6

const char *ckpt_npy_descr(int dtype)
{
    switch (dtype) {
    case CKPT_DT_FLOAT: return "<f4";
    case CKPT_DT_DOUBLE: return "<f8";
    case CKPT_DT_HALF: return "<f2";
    case CKPT_DT_INT8:
    case CKPT_DT_QINT8: return "|i1";
    case CKPT_DT_INT16:
    case CKPT_DT_QINT16: return "<i2";
    case CKPT_DT_INT32:
    case CKPT_DT_QINT32: return "<i4";
    case CKPT_DT_INT64: return "<i8";
    case CKPT_DT_UINT8:
    case CKPT_DT_QUINT8: return "|u1";
    case CKPT_DT_UINT16:
    case CKPT_DT_QUINT16: return "<u2";
    case CKPT_DT_UINT32: return "<u4";
    case CKPT_DT_UINT64: return "<u8";
    case CKPT_DT_BOOL: return "|b1";
    case CKPT_DT_COMPLEX64: return "<c8";
    case CKPT_DT_COMPLEX128: return "<c16";
    case CKPT_DT_BFLOAT16: return "<V2";
    default:
        /* float8_*, float4_e2m1fn, int4, uint4, int2, uint2: one byte each (dtype.h). */
        if (dtype >= 24 && dtype <= 33 && ckpt_dtype_size(dtype) == 1)
            return "<V1";
        return NULL;
    }
}

/* Append s to buf at *pos, counting what would not fit. */
static void put(char *buf, size_t size, size_t *pos, const char *s, size_t n)
{
    if (*pos < size)
        memcpy(buf + *pos, s, *pos + n <= size ? n : size - *pos);
    *pos += n;
}

size_t ckpt_npy_header(int dtype, int rank, const int64_t *dims, char *buf, size_t size)
{
    const char *descr = ckpt_npy_descr(dtype);
    if (!descr || rank < 0)
        return 0;
    /* The dict text starts after the 10- or 12-byte prefix; build it in place. */
    char num[32];
    size_t dict = 0;
    /* First pass measures the dict, second writes it where the version says it goes. */
    for (int pass = 0; pass < 2; pass++) {
        /* Version 1.0 (2-byte length) unless the padded header does not fit in it. */
        size_t prefix = dict + 1 + (ARRAY_ALIGN - (10 + dict + 1) % ARRAY_ALIGN) <= 65535 ? 10 : 12;
        size_t pos = pass ? prefix : 0;
        char *out = pass ? buf : NULL;
        size_t cap = pass ? size : 0;
        const char *a = "{'descr': '";
        put(out, cap, &pos, a, strlen(a));
        put(out, cap, &pos, descr, strlen(descr));
        a = "', 'fortran_order': False, 'shape': (";
        put(out, cap, &pos, a, strlen(a));
        size_t first_len = 0;
        for (int k = 0; k < rank; k++) {
            int n = snprintf(num, sizeof num, "%s%" PRId64, k ? ", " : "", dims[k]);
            if (k == 0)
                first_len = (size_t)n;
            put(out, cap, &pos, num, (size_t)n);
        }
        if (rank == 1)
            put(out, cap, &pos, ",", 1);
        put(out, cap, &pos, "), }", 4);
        if (rank > 0 && first_len < GROWTH_AXIS_MAX_DIGITS)
            for (size_t k = first_len; k < GROWTH_AXIS_MAX_DIGITS; k++)
                put(out, cap, &pos, " ", 1);
        if (!pass) {
            dict = pos;
            continue;
        }
        /* numpy: hlen = len(dict) + 1 (the '\n'); padlen = 64 - (prefix + hlen) % 64, so
         * there is always at least one space (64 of them when already aligned). */
        size_t hlen = dict + 1;
        size_t padlen = ARRAY_ALIGN - (prefix + hlen) % ARRAY_ALIGN;
        for (size_t k = 0; k < padlen; k++)
            put(out, cap, &pos, " ", 1);
        put(out, cap, &pos, "\n", 1);
        size_t total = pos;
        if (size >= prefix) {
            uint64_t h = hlen + padlen;
            memcpy(buf, "\x93NUMPY", MAGIC_LEN);
            buf[6] = prefix == 10 ? 1 : 2;
            buf[7] = 0;
            for (size_t k = 0; k < prefix - 8; k++)
                buf[8 + k] = (char)((h >> (8 * k)) & 0xff);
        }
        return total;
    }
    return 0;
}
