/*
 * elem.h - the value of one element of a fixed-size tensor, from its stored little-endian bytes.
 *
 * For the tools that look at values (text rendering, comparing checkpoints): every dtype a
 * checkpoint can hold, including those C has no type for (bfloat16, float16, float8_*,
 * float4_e2m1fn: exactly as doubles; int4/uint4/int2/uint2: stored one per byte, the value in
 * the low bits).
 */
#ifndef CKPT_ELEM_H
#define CKPT_ELEM_H

#include <stddef.h>
#include <stdint.h>

/* How a dtype's elements are read. */
enum {
    CKPT_ELEM_NONE,     /* not fixed-size numbers: string, variant, resource, unknown */
    CKPT_ELEM_FLOAT,    /* ckpt_elem_float */
    CKPT_ELEM_COMPLEX,  /* ckpt_elem_float, part 0 real, 1 imaginary */
    CKPT_ELEM_SIGNED,   /* ckpt_elem_signed (the quantized qint types included) */
    CKPT_ELEM_UNSIGNED, /* ckpt_elem_unsigned */
    CKPT_ELEM_BOOL,     /* one byte, non-zero is true */
};

int ckpt_elem_class(int dtype);

/* Element i of a FLOAT or COMPLEX tensor (part: 0 real, 1 imaginary) as a double (exact). */
double ckpt_elem_float(int dtype, const uint8_t *data, uint64_t i, int part);

/* Element i of a SIGNED / UNSIGNED (or BOOL) tensor. */
int64_t ckpt_elem_signed(int dtype, const uint8_t *data, uint64_t i);
uint64_t ckpt_elem_unsigned(int dtype, const uint8_t *data, uint64_t i);

/* x rounded to the nearest float16 (ties to even), as a double; overflow gives infinity. */
double ckpt_round_to_half(double x);

#endif
