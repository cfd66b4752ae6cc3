/*
 * variant.h - DT_VARIANT tensors of a V2 checkpoint, decoded and shown as text.
 *
 * Stored encoding (tensor_bundle.cc Write/ReadVariantTensor): per element, a varint64 length,
 * that many bytes of a serialized VariantTensorDataProto (type_name = 1, metadata = 2,
 * tensors = 3), then 4 bytes holding Mask(running CRC-32C). The running CRC starts at 0 and is
 * extended, per element, with the length as an 8-byte little-endian uint64, the element's
 * bytes, and after the check with the 4 stored bytes; the entry's crc32c is Mask of its final
 * value.
 *
 * Text form (what a mount shows for a variant tensor): per element, a line "# element K" (K
 * counts from 0 in C order) followed by the element's VariantTensorDataProto exactly as
 * protobuf's text_format.MessageToString prints it (type_name, metadata as an escaped bytes
 * literal, each tensor as a TensorProto block, nested variants included). It is lossless and
 * can be compared with what TensorFlow's own protobuf classes print.
 */
#ifndef CKPT_VARIANT_H
#define CKPT_VARIANT_H

#include "err.h"
#include "pbtext.h"
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

/* Write the text form of the decoded elements through write(ctx, ...) (pbtext.h sink). */
int ckpt_variant_render(const ckpt_str *elems, uint64_t count, ckpt_pbtext_write_fn write,
                        void *ctx, ckpt_err *err);

#endif
