/*
 * shape.h - tensor shapes: element counts and the text form "[d0, d1]".
 */
#ifndef CKPT_SHAPE_H
#define CKPT_SHAPE_H

#include <stddef.h>
#include <stdint.h>

/* Product of dims into *out; returns -1 on a negative dim or overflow of uint64. */
int ckpt_shape_numel(int rank, const int64_t *dims, uint64_t *out);

/*
 * Write "[d0, d1, ...]" (numpy/Python list style, "[]" for a scalar) without a newline.
 * Returns the length the full text needs (like snprintf).
 */
size_t ckpt_shape_format(int rank, const int64_t *dims, char *buf, size_t size);

#endif
