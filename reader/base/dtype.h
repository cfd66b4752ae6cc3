/*
 * dtype.h - TensorFlow DataType values: names and element sizes.
 */
#ifndef CKPT_DTYPE_H
#define CKPT_DTYPE_H

#include <stddef.h>

enum {
    CKPT_DT_FLOAT = 1,
    CKPT_DT_DOUBLE = 2,
    CKPT_DT_INT32 = 3,
    CKPT_DT_UINT8 = 4,
    CKPT_DT_INT16 = 5,
    CKPT_DT_INT8 = 6,
    CKPT_DT_STRING = 7,
    CKPT_DT_COMPLEX64 = 8,
    CKPT_DT_INT64 = 9,
    CKPT_DT_BOOL = 10,
    CKPT_DT_QINT8 = 11,
    CKPT_DT_QUINT8 = 12,
    CKPT_DT_QINT32 = 13,
    CKPT_DT_BFLOAT16 = 14,
    CKPT_DT_QINT16 = 15,
    CKPT_DT_QUINT16 = 16,
    CKPT_DT_UINT16 = 17,
    CKPT_DT_COMPLEX128 = 18,
    CKPT_DT_HALF = 19,
    CKPT_DT_RESOURCE = 20,
    CKPT_DT_VARIANT = 21,
    CKPT_DT_UINT32 = 22,
    CKPT_DT_UINT64 = 23,
};

/*
 * The name TensorFlow's Python API gives the dtype ("float32", "bfloat16", "string"...).
 * Unknown values are written as "dtype_<n>" into buf (size >= 32) and buf is returned.
 */
const char *ckpt_dtype_name(int dtype, char *buf, size_t size);

/* The C++ enum name ("DT_FLOAT"), or NULL for an unknown value. */
const char *ckpt_dtype_enum_name(int dtype);

/* Bytes per element in a V2 data file; 0 for variable-size (string, variant) or unknown. */
size_t ckpt_dtype_size(int dtype);

#endif
