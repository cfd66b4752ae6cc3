/*
 * pbwire.h - the protobuf wire format, read without unpacking: a field iterator over a message
 * that may come in several pieces, the pieces of one field, and a depth check to run before a
 * protobuf-c unpack. Every length is bounds-checked against its piece; malformed data is
 * CKPT_E_CORRUPT. The text printer (text/pbtext.h) and the V1 decoder both read through this.
 */
#ifndef CKPT_PBWIRE_H
#define CKPT_PBWIRE_H

#include "err.h"

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest message nesting accepted (upb's and TensorFlow's parser limit). */
#define CKPT_PB_MAX_DEPTH 100

/* A piece of serialized message; a message made of several pieces is their concatenation. */
typedef struct ckpt_pb_seg {
    const uint8_t *p;
    size_t n;
} ckpt_pb_seg;

/* One field occurrence read from the wire. */
typedef struct ckpt_pb_field {
    uint32_t field;   /* field number */
    int wt;           /* wire type: 0 varint, 1 fixed64, 2 length-delimited, 3 group, 5 fixed32 */
    uint64_t v;       /* the value for wire types 0, 1 and 5 */
    const uint8_t *p; /* the payload for wire type 2 (points into the input) */
    size_t n;
} ckpt_pb_field;

/* Walks the fields of a (possibly segmented) message in wire order. */
typedef struct ckpt_pb_iter {
    const ckpt_pb_seg *segs;
    size_t nseg, si;
    const uint8_t *p, *end;
    ckpt_err *err;
} ckpt_pb_iter;

void ckpt_pb_iter_init(ckpt_pb_iter *it, const ckpt_pb_seg *segs, size_t nseg, ckpt_err *err);

/* 1 and *out for the next field, 0 at the end, CKPT_E_CORRUPT on malformed wire data (groups
 * are skipped whole and reported with wt 3). */
int ckpt_pb_iter_next(ckpt_pb_iter *it, ckpt_pb_field *out);

/*
 * Check, before handing p[0..n) to a protobuf-c unpack of type desc, that the unpack cannot
 * recurse deeper than max_depth messages (protobuf-c itself has no limit: a small, deeply
 * nested input overflows the stack) and that the wire data is well-formed at every level it
 * would descend into. Only message-typed fields (length-delimited occurrences) are entered;
 * unknown fields and scalars are skipped. Returns 0, CKPT_E_CORRUPT (message in err), or
 * CKPT_E_INVALID for a NULL descriptor. Use CKPT_PB_MAX_DEPTH as max_depth (the limit
 * TensorFlow's parser applies; the check itself recurses once per level).
 */
int ckpt_pb_validate(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t n,
                     int max_depth, ckpt_err *err);

/*
 * The pieces of field number `field` of the message in segs, as a message value: index < 0
 * collects every occurrence (a singular message field, merged as protobuf does), index k >= 0
 * only the k-th occurrence (an element of a repeated field). Only length-delimited occurrences
 * count. *out is malloc'd (free it), *nout may be 0 (field absent: an empty message).
 */
int ckpt_pb_field_segs(const ckpt_pb_seg *segs, size_t nseg, uint32_t field, long index,
                       ckpt_pb_seg **out, size_t *nout, ckpt_err *err);

/* Set err to CKPT_E_CORRUPT "malformed protobuf: what"; returns CKPT_E_CORRUPT. */
int ckpt_pb_corrupt(ckpt_err *err, const char *what);

#endif
