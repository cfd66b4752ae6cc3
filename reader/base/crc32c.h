/*
 * crc32c.h - CRC-32C (Castagnoli) as TensorFlow stores it, with its masking.
 *
 * TensorFlow never stores a raw CRC: it stores mask(crc) so that a CRC computed over data that
 * itself contains CRCs stays well distributed. Computation uses the SSE4.2 crc32 instruction when
 * the CPU has it and a table-driven fallback otherwise; both give identical results.
 */
#ifndef CKPT_CRC32C_H
#define CKPT_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC of A||B given crc = CRC of A. */
uint32_t ckpt_crc32c_extend(uint32_t crc, const void *data, size_t n);

/* CRC of data. */
static inline uint32_t ckpt_crc32c(const void *data, size_t n)
{
    return ckpt_crc32c_extend(0, data, n);
}

/*
 * CRC of A||B from crc_a = CRC of A, crc_b = CRC of B and B's length, without B's bytes: what
 * lets pieces of a file checksummed in any order be joined into the whole file's CRC.
 */
uint32_t ckpt_crc32c_combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

/* The portable implementation, exposed so tests can compare it with the accelerated one. */
uint32_t ckpt_crc32c_extend_portable(uint32_t crc, const void *data, size_t n);

/* Masked form as stored on disk, and its inverse. */
static inline uint32_t ckpt_crc32c_mask(uint32_t crc)
{
    return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

static inline uint32_t ckpt_crc32c_unmask(uint32_t masked)
{
    uint32_t r = masked - 0xa282ead8u;
    return (r >> 17) | (r << 15);
}

#endif
