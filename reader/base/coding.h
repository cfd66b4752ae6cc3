/*
 * coding.h - the primitive encodings of TensorFlow's files: little-endian fixed-width integers
 * and protobuf-style base-128 varints. Every decoder takes the end of the buffer and never reads
 * past it.
 */
#ifndef CKPT_CODING_H
#define CKPT_CODING_H

#include <stdint.h>

/* Little-endian 32-bit value at p (4 readable bytes). */
static inline uint32_t ckpt_load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Little-endian 64-bit value at p (8 readable bytes). */
static inline uint64_t ckpt_load_le64(const uint8_t *p)
{
    return (uint64_t)ckpt_load_le32(p) | (uint64_t)ckpt_load_le32(p + 4) << 32;
}

/* Store v little-endian at p. */
static inline void ckpt_store_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16),
    p[3] = (uint8_t)(v >> 24);
}

/*
 * Decode a varint of at most 10 bytes from [p, end) into *v. Returns the byte after it, or NULL
 * when the varint is truncated, longer than 10 bytes, or overflows 64 bits.
 */
const uint8_t *ckpt_get_varint64(const uint8_t *p, const uint8_t *end, uint64_t *v);

/* Same for a varint32 (at most 5 bytes, value must fit 32 bits). */
const uint8_t *ckpt_get_varint32(const uint8_t *p, const uint8_t *end, uint32_t *v);

/* Decode a varint64 at *pp (before end) and advance *pp past it: 0, or -1 when malformed. */
static inline int ckpt_take_varint64(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    const uint8_t *q = ckpt_get_varint64(*pp, end, v);
    if (!q)
        return -1;
    *pp = q;
    return 0;
}

/* Encode v as a varint at dst (10 bytes room); returns the number of bytes written. */
int ckpt_put_varint64(uint8_t *dst, uint64_t v);

#endif
