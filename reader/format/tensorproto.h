/*
 * tensorproto.h - the values of a TensorProto as the bytes a V2 data file would hold.
 *
 * TensorProto carries values either as raw tensor_content or in a typed repeated field chosen
 * by dtype (float_val, int_val for all narrow integers, half_val for float16 and bfloat16, ...).
 * Like TensorFlow, a typed field shorter than the tensor repeats its last value (that is how
 * constants broadcast); an empty one means zeros.
 */
#ifndef CKPT_TENSORPROTO_H
#define CKPT_TENSORPROTO_H

#include "err.h"
#include "tensor.pb-c.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Convert the numel values of t, read as dtype (a fixed-size type), into a new malloc'd buffer
 * of numel * ckpt_dtype_size(dtype) little-endian bytes in C order. With exact set, fewer values
 * than elements is an error instead of a broadcast (checkpoint writers store every value, and
 * a short record must not make a reader allocate what the shape claims).
 */
int ckpt_tensorproto_bytes(const Tensorflow__TensorProto *t, int dtype, uint64_t numel, int exact,
                           uint8_t **out, size_t *len, ckpt_err *err);

#endif
