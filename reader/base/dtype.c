/*
 * dtype.c - see dtype.h. Names follow TensorFlow's Python DType.name; element sizes are those of
 * the V2 data file (int4/uint4 take one byte each, unpacked).
 */
#include "dtype.h"

#include <stdio.h>

typedef struct dtype_info {
    const char *name;
    const char *enum_name;
    unsigned char size;
} dtype_info;

static const dtype_info infos[] = {
    [1] = {"float32", "DT_FLOAT", 4},
    [2] = {"float64", "DT_DOUBLE", 8},
    [3] = {"int32", "DT_INT32", 4},
    [4] = {"uint8", "DT_UINT8", 1},
    [5] = {"int16", "DT_INT16", 2},
    [6] = {"int8", "DT_INT8", 1},
    [7] = {"string", "DT_STRING", 0},
    [8] = {"complex64", "DT_COMPLEX64", 8},
    [9] = {"int64", "DT_INT64", 8},
    [10] = {"bool", "DT_BOOL", 1},
    [11] = {"qint8", "DT_QINT8", 1},
    [12] = {"quint8", "DT_QUINT8", 1},
    [13] = {"qint32", "DT_QINT32", 4},
    [14] = {"bfloat16", "DT_BFLOAT16", 2},
    [15] = {"qint16", "DT_QINT16", 2},
    [16] = {"quint16", "DT_QUINT16", 2},
    [17] = {"uint16", "DT_UINT16", 2},
    [18] = {"complex128", "DT_COMPLEX128", 16},
    [19] = {"float16", "DT_HALF", 2},
    [20] = {"resource", "DT_RESOURCE", 0},
    [21] = {"variant", "DT_VARIANT", 0},
    [22] = {"uint32", "DT_UINT32", 4},
    [23] = {"uint64", "DT_UINT64", 8},
    [24] = {"float8_e5m2", "DT_FLOAT8_E5M2", 1},
    [25] = {"float8_e4m3fn", "DT_FLOAT8_E4M3FN", 1},
    [26] = {"float8_e4m3fnuz", "DT_FLOAT8_E4M3FNUZ", 1},
    [27] = {"float8_e4m3b11fnuz", "DT_FLOAT8_E4M3B11FNUZ", 1},
    [28] = {"float8_e5m2fnuz", "DT_FLOAT8_E5M2FNUZ", 1},
    [29] = {"int4", "DT_INT4", 1},
    [30] = {"uint4", "DT_UINT4", 1},
    [31] = {"int2", "DT_INT2", 1},
    [32] = {"uint2", "DT_UINT2", 1},
    [33] = {"float4_e2m1fn", "DT_FLOAT4_E2M1FN", 1},
};

#define NINFO ((int)(sizeof infos / sizeof infos[0]))

static const dtype_info *lookup(int dtype)
{
    if (dtype > 0 && dtype < NINFO && infos[dtype].name)
        return &infos[dtype];
    return NULL;
}

const char *ckpt_dtype_name(int dtype, char *buf, size_t size)
{
    const dtype_info *d = lookup(dtype);
    if (d)
        return d->name;
    /* Reference types (base + 100) only occur in graphs, never in bundles; name them as TF. */
    d = lookup(dtype - 100);
    if (d)
        snprintf(buf, size, "%s_ref", d->name);
    else
        snprintf(buf, size, "dtype_%d", dtype);
    return buf;
}

const char *ckpt_dtype_enum_name(int dtype)
{
    const dtype_info *d = lookup(dtype);
    return d ? d->enum_name : NULL;
}

size_t ckpt_dtype_size(int dtype)
{
    const dtype_info *d = lookup(dtype);
    return d ? d->size : 0;
}
