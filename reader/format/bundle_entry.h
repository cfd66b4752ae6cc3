/*
 * bundle_entry.h - a BundleEntryProto (the value of each variable's key in a V2 .index) decoded
 * straight from its wire bytes, with no allocation: an index of a million variables would
 * otherwise cost several mallocs per entry in protobuf-c's unpack (the entry, its shape, each
 * dim). Entries that name slices (a partitioned variable's full entry, rare) are only flagged;
 * their caller unpacks them with protobuf-c, which keeps the slice handling in one place.
 *
 * Field numbers and types (docs/format.md, proto/tensor_bundle.proto): dtype 1 (enum, varint),
 * shape 2 (TensorShapeProto: dim 2 {size 1 int64, name 2 string}, unknown_rank 3 bool),
 * shard_id 3 (int32), offset 4 (int64), size 5 (int64), crc32c 6 (fixed32), slices 7. As in
 * protobuf: a repeated occurrence of a scalar field replaces the earlier one, occurrences of
 * the singular message `shape` merge (their dims add up), unknown fields of any wire type but
 * groups are skipped, and a known field with the wrong wire type is malformed.
 */
#ifndef CKPT_BUNDLE_ENTRY_H
#define CKPT_BUNDLE_ENTRY_H

#include <stddef.h>
#include <stdint.h>

/* The fields of one BundleEntryProto, slices excepted. */
typedef struct ckpt_bundle_entry {
    int32_t dtype; /* the DataType number as written (low 32 bits of the varint) */
    int32_t shard_id;
    int64_t offset;
    int64_t size;
    uint32_t crc32c;   /* masked, as stored */
    uint8_t has_shape; /* a shape field was present (an empty one is a scalar) */
    uint8_t unknown_rank;
    uint8_t has_slices; /* at least one slices field: decode the entry with protobuf-c */
    size_t rank;        /* dims over every shape occurrence (may exceed max_dims) */
} ckpt_bundle_entry;

/*
 * Decode the n bytes at p into *e, and the sizes of the first min(rank, max_dims) dims into
 * dims (which may be NULL when max_dims is 0). Every length is checked against the bytes
 * given. Returns 0, or -1 when the bytes are not a well-formed BundleEntryProto (the caller
 * names the index and the entry in its message).
 */
int ckpt_bundle_entry_decode(const uint8_t *p, size_t n, int64_t *dims, size_t max_dims,
                             ckpt_bundle_entry *e);

#endif
