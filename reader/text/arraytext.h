/*
 * arraytext.h - a tensor's values as numpy prints them: every value, aligned, never an ellipsis.
 *
 * The text is exactly what numpy 2.x prints for
 *     numpy.array2string(x, threshold=sys.maxsize, floatmode='unique')
 * (separator ' ', 75 columns, a trailing newline added), where x is the tensor as numpy holds
 * it, except for the dtypes numpy has no type of its own for:
 *   - bfloat16, float8_*, float4_e2m1fn: printed as x.astype(float32) (every value of theirs is
 *     exactly a float32, so nothing is rounded);
 *   - int4, uint4, int2, uint2: as x.astype(int8) / x.astype(uint8);
 *   - qint8, quint8, qint16, quint16, qint32: as the integers they are stored as;
 *   - strings: each element in double quotes, escaped as the mount's string files are
 *     (strtext.h) plus \" for a double quote, unpadded, in numpy's layout.
 * floatmode='unique' means each float is the shortest decimal that reads back to the same value
 * of its own width (float16, float32 or float64), so the text is lossless.
 */
#ifndef CKPT_ARRAYTEXT_H
#define CKPT_ARRAYTEXT_H

#include "err.h"
#include "textbuf.h"
#include "tstring.h"

#include <stddef.h>
#include <stdint.h>

/* Whether dtype has a numeric text form here (everything fixed-size but resource). */
int ckpt_array_text_supported(int dtype);

/*
 * Write the text of a fixed-size tensor (dtype, rank dims, its stored little-endian bytes
 * data[0..len)) to write(ctx, ...). CKPT_E_UNSUPPORTED for a dtype without a text form,
 * CKPT_E_INVALID when len does not match the shape.
 */
int ckpt_array_text(int dtype, int rank, const int64_t *dims, const uint8_t *data, size_t len,
                    ckpt_write_fn write, void *ctx, ckpt_err *err);

/* The same for a string tensor's n decoded elements. */
int ckpt_array_text_strings(int rank, const int64_t *dims, const ckpt_str *elems, uint64_t n,
                            ckpt_write_fn write, void *ctx, ckpt_err *err);

#endif
