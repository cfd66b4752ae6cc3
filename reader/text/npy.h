/*
 * npy.h - the NPY file header numpy writes for an array, so a tensor's stored bytes (C order,
 * little-endian) become a file numpy.load can map.
 *
 * The header is exactly numpy's (numpy.lib.format, write_array_header_1_0/2_0): magic
 * "\x93NUMPY", version 1.0 (2.0 only when the dict exceeds 65535 bytes), the little-endian
 * header length, then "{'descr': ..., 'fortran_order': False, 'shape': (...), }", the spare
 * spaces numpy leaves for growing the first axis, and padding with spaces plus a final '\n' to
 * a multiple of 64 bytes.
 *
 * descr: numpy's own type when it has one ('<f4', '|b1', '<c8', ...); TF's quantized types as
 * the plain integers they are stored as (qint8 '|i1', quint16 '<u2', ...); types numpy lacks
 * (bfloat16, float8_*, float4_e2m1fn, int4/uint4/int2/uint2 - one byte per element) as raw
 * void of their element size ('<V2', '<V1'), which is what numpy.save writes for an ml_dtypes
 * array of those types; `.view(ml_dtypes.bfloat16)` gives the values back.
 */
#ifndef CKPT_NPY_H
#define CKPT_NPY_H

#include <stddef.h>
#include <stdint.h>

/* The descr string for a TF DataType value, or NULL when there is no fixed-size element. */
const char *ckpt_npy_descr(int dtype);

/*
 * Write the header for an array of dtype and shape into buf (size bytes) and return its full
 * length (a multiple of 64); if that is more than size, nothing useful is in buf (call again
 * with a larger one). Returns 0 when the dtype has no descr or rank is negative.
 */
size_t ckpt_npy_header(int dtype, int rank, const int64_t *dims, char *buf, size_t size);

#endif
