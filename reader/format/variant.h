/*
 * variant.h - DT_VARIANT tensors of a V2 checkpoint, decoded (their text form: text/varianttext.h).
 *
 * Stored encoding (tensor_bundle.cc Write/ReadVariantTensor): per element, a varint64 length,
 * that many bytes of a serialized VariantTensorDataProto (type_name = 1, metadata = 2,
 * tensors = 3), then 4 bytes holding Mask(running CRC-32C). The running CRC starts at 0 and is
 * extended, per element, with the length as an 8-byte little-endian uint64, the element's
 * bytes, and after the check with the 4 stored bytes; the entry's crc32c is Mask of its final
 * value.
 */
#ifndef CKPT_VARIANT_H
#define CKPT_VARIANT_H

#include "err.h"
#include "tstring.h"

#include <stddef.h>
#include <stdint.h>

/*
 * Split the stored encoding buf[0..len) of a variant tensor of count elements into *elems
 * (malloc'd, pointing into buf), verifying every element's checksum; *crc (may be NULL) gets
 * the unmasked final running CRC to compare with the entry's. CKPT_E_CORRUPT on a truncated or
 * overlong encoding or a checksum mismatch.
 */
int ckpt_variant_decode(const uint8_t *buf, size_t len, uint64_t count, ckpt_str **elems,
                        uint32_t *crc, ckpt_err *err);

/*
 * Encode count elements as TensorFlow stores a variant tensor (the inverse of
 * ckpt_variant_decode, checksums computed afresh): *out malloc'd, *len its size, *crc (may be
 * NULL) the unmasked final running CRC. For tensors assembled from several stored slices.
 */
int ckpt_variant_encode(const ckpt_str *el, uint64_t count, uint8_t **out, size_t *len,
                        uint32_t *crc, ckpt_err *err);

#endif
