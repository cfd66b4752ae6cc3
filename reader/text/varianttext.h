/*
 * varianttext.h - DT_VARIANT tensors as text.
 *
 * Text form (what a mount shows for a variant tensor): per element, a line "# element K" (K
 * counts from 0 in C order) followed by the element's VariantTensorDataProto exactly as
 * protobuf's text_format.MessageToString prints it (type_name, metadata as an escaped bytes
 * literal, each tensor as a TensorProto block, nested variants included). It is lossless and
 * can be compared with what TensorFlow's own protobuf classes print.
 */
#ifndef CKPT_VARIANTTEXT_H
#define CKPT_VARIANTTEXT_H

#include "pbtext.h"
#include "tstring.h"

#include <stdint.h>

/* Write the text form of the decoded elements (variant.h) through write(ctx, ...). */
int ckpt_variant_render(const ckpt_str *elems, uint64_t count, ckpt_write_fn write, void *ctx,
                        ckpt_err *err);

#endif
