/*
 * tstring.h - DT_STRING tensors: decoding the stored encoding (their text form is text/strtext.h).
 *
 * Stored encoding (V2): N varint64 lengths, a 4-byte masked CRC-32C of the lengths (each as a
 * uint32 LE, or uint64 LE when >= 2^32), then the N byte strings back to back.
 */
#ifndef CKPT_TSTRING_H
#define CKPT_TSTRING_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

/* One element: a pointer into the buffer given to ckpt_tstring_decode. */
typedef struct ckpt_str {
    const uint8_t *ptr;
    uint64_t len;
} ckpt_str;

/*
 * A malloc'd array (*out, NULL on failure) for the n elements of an encoding of len bytes in
 * which each element takes at least min_bytes: CKPT_E_CORRUPT when they cannot fit (checked
 * before allocating, so a hostile count costs nothing), CKPT_E_NOMEM, or 0. Messages start
 * with what ("string tensor").
 */
int ckpt_str_array(const char *what, uint64_t n, size_t len, size_t min_bytes, ckpt_str **out,
                   ckpt_err *err);

/*
 * Decode n elements from the stored encoding buf[0..len). Verifies the length checksum. When
 * crc is non-NULL it receives the tensor's CRC-32C computed the way TensorFlow defines it for
 * strings (lengths as uint32/uint64 LE, the stored length checksum, then the element bytes),
 * to compare with the entry's stored crc32c. On success *out is a malloc'd array of n ckpt_str
 * pointing into buf. Elements beyond len are an error, never an over-read.
 */
int ckpt_tstring_decode(const uint8_t *buf, size_t len, uint64_t n, ckpt_str **out, uint32_t *crc,
                        ckpt_err *err);

/*
 * Encode n elements as TensorFlow stores a string tensor (the inverse of ckpt_tstring_decode):
 * *out is malloc'd, *len its size. Used to give slices assembled from several pieces (or V1's
 * string_val lists) the one stored form every reader of strings decodes.
 */
int ckpt_tstring_encode(const ckpt_str *el, uint64_t n, uint8_t **out, size_t *len, ckpt_err *err);

#endif
