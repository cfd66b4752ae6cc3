/*
 * slicekey.h - the table key under which TensorFlow stores one slice of a partitioned tensor
 * (EncodeTensorNameSlice: OrderedCode of 0, the name, the rank, then start and length of every
 * dimension, a whole dimension being start 0, length -1).
 *
 * Readers find a slice by re-encoding the slice described in the full tensor's entry and
 * looking the key up, exactly as TensorFlow does; decoding keys is never needed.
 */
#ifndef CKPT_SLICEKEY_H
#define CKPT_SLICEKEY_H

#include <stddef.h>
#include <stdint.h>

/* Bytes needed to encode a key for a name of nlen bytes and the given rank. */
static inline size_t ckpt_slice_key_max(size_t nlen, int rank)
{
    return 1 + 2 * nlen + 2 + 9 + (size_t)rank * 20;
}

/*
 * Encode the key into out (ckpt_slice_key_max bytes of room); returns its length. start[d] and
 * length[d] are the TensorSlice values (length -1 for a whole dimension).
 */
size_t ckpt_slice_key(const char *name, size_t nlen, int rank, const int64_t *start,
                      const int64_t *length, uint8_t *out);

/* OrderedCode pieces, exposed for tests. Each returns the number of bytes written. */
size_t ckpt_oc_put_num_increasing(uint8_t *out, uint64_t v);
size_t ckpt_oc_put_signed_num_increasing(uint8_t *out, int64_t v);

#endif
