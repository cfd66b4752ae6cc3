/* bundle_entry.c - see bundle_entry.h. */
#include "bundle_entry.h"

#include "coding.h"

#include <string.h>

enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_FIXED32 = 5 };

/* The unread bytes of one message. */
typedef struct wire {
    const uint8_t *p, *end;
} wire;

/*
 * A varint of at most maxlen bytes; bits past the 64th are dropped. protobuf-c's unpack reads
 * varints this way (a tenth byte may hold any value below 0x80), and every entry it accepted
 * must still load.
 */
static int take_varint_max(wire *w, size_t maxlen, uint64_t *v)
{
    uint64_t x = 0;
    size_t avail = (size_t)(w->end - w->p);
    size_t lim = avail < maxlen ? avail : maxlen;
    for (size_t i = 0; i < lim; i++) {
        uint8_t b = w->p[i];
        x |= (uint64_t)(b & 0x7f) << (7 * i < 64 ? 7 * i : 63);
        if (!(b & 0x80)) {
            w->p += i + 1;
            *v = x;
            return 0;
        }
    }
    return -1;
}

static int take_varint(wire *w, uint64_t *v)
{
    return take_varint_max(w, 10, v);
}

/*
 * The next field's number and wire type. As protobuf-c reads tags: at most 5 bytes (so the
 * number fits 32 bits), and a first byte with no bits of the field number is malformed (a
 * longer encoding of field 0 is then just an unknown field).
 */
static int take_tag(wire *w, uint32_t *field, int *wt)
{
    uint64_t tag;
    if (w->p < w->end && (*w->p & 0xf8) == 0)
        return -1;
    if (take_varint_max(w, 5, &tag))
        return -1;
    *field = (uint32_t)(tag >> 3);
    *wt = (int)(tag & 7);
    return 0;
}

/* A length-delimited value: its bytes as *sub, which must lie inside w. */
static int take_len(wire *w, wire *sub)
{
    uint64_t len;
    if (take_varint(w, &len) || len > (uint64_t)(w->end - w->p))
        return -1;
    sub->p = w->p;
    sub->end = w->p + len;
    w->p += len;
    return 0;
}

static int take_fixed(wire *w, size_t n)
{
    if ((size_t)(w->end - w->p) < n)
        return -1;
    w->p += n;
    return 0;
}

/*
 * Skip the value of a field this decoder does not read. Groups (wire types 3 and 4) are
 * refused, as protobuf-c's unpack refuses them: the decoder accepts what it accepted.
 */
static int skip_value(wire *w, int wt)
{
    uint64_t v;
    wire sub;
    switch (wt) {
    case WT_VARINT: return take_varint(w, &v);
    case WT_FIXED64: return take_fixed(w, 8);
    case WT_LEN: return take_len(w, &sub);
    case WT_FIXED32: return take_fixed(w, 4);
    default: return -1;
    }
}

/*
 * A bool field: true when any byte of its encoded value is non-zero, whatever its wire type.
 * That is how protobuf-c's unpack reads a bool (it checks no wire type there), so an entry it
 * accepted loads, and means, the same.
 */
static int take_bool(wire *w, int wt, uint8_t *out)
{
    const uint8_t *start = w->p;
    if (skip_value(w, wt))
        return -1;
    uint8_t any = 0;
    for (const uint8_t *q = start; q < w->p; q++)
        any |= *q;
    *out = any != 0;
    return 0;
}

/* A scalar varint field: it must come with wire type 0. */
static int varint_field(wire *w, int wt, uint64_t *v)
{
    return wt == WT_VARINT ? take_varint(w, v) : -1;
}

/* One TensorShapeProto.Dim: its size (0 when absent; the last occurrence wins). */
static int decode_dim(wire d, int64_t *size)
{
    *size = 0;
    while (d.p < d.end) {
        uint32_t field;
        int wt;
        uint64_t v;
        wire sub;
        if (take_tag(&d, &field, &wt))
            return -1;
        if (field == 1) {
            if (varint_field(&d, wt, &v))
                return -1;
            *size = (int64_t)v;
        } else if (field == 2) { /* the dim's name: checked for bounds, not kept */
            if (wt != WT_LEN || take_len(&d, &sub))
                return -1;
        } else if (skip_value(&d, wt)) {
            return -1;
        }
    }
    return 0;
}

/*
 * One occurrence of the shape field, merged into e as protobuf-c merges a repeated singular
 * message: dims append, unknown_rank is the last occurrence's (false when it has none).
 */
static int decode_shape(wire s, int64_t *dims, size_t max_dims, ckpt_bundle_entry *e)
{
    e->has_shape = 1;
    e->unknown_rank = 0;
    while (s.p < s.end) {
        uint32_t field;
        int wt;
        wire sub;
        if (take_tag(&s, &field, &wt))
            return -1;
        if (field == 2) {
            int64_t size;
            if (wt != WT_LEN || take_len(&s, &sub) || decode_dim(sub, &size))
                return -1;
            if (e->rank < max_dims)
                dims[e->rank] = size;
            e->rank++;
        } else if (field == 3) {
            if (take_bool(&s, wt, &e->unknown_rank))
                return -1;
        } else if (skip_value(&s, wt)) {
            return -1;
        }
    }
    return 0;
}

/* A field of BundleEntryProto itself. */
static int decode_field(wire *w, uint32_t field, int wt, int64_t *dims, size_t max_dims,
                        ckpt_bundle_entry *e)
{
    uint64_t v = 0;
    wire sub;
    switch (field) {
    case 1: /* enums and int32 keep the low 32 bits of the varint, as protobuf does */
    case 3:
    case 4:
    case 5:
        if (varint_field(w, wt, &v))
            return -1;
        if (field == 1)
            e->dtype = (int32_t)(uint32_t)v;
        else if (field == 3)
            e->shard_id = (int32_t)(uint32_t)v;
        else if (field == 4)
            e->offset = (int64_t)v;
        else
            e->size = (int64_t)v;
        return 0;
    case 2:
        if (wt != WT_LEN || take_len(w, &sub))
            return -1;
        return decode_shape(sub, dims, max_dims, e);
    case 6:
        if (wt != WT_FIXED32 || (size_t)(w->end - w->p) < 4)
            return -1;
        e->crc32c = ckpt_load_le32(w->p);
        w->p += 4;
        return 0;
    case 7: /* a TensorSliceProto: bounds checked here, decoded by the protobuf-c path */
        if (wt != WT_LEN || take_len(w, &sub))
            return -1;
        e->has_slices = 1;
        return 0;
    default: return skip_value(w, wt);
    }
}

int ckpt_bundle_entry_decode(const uint8_t *p, size_t n, int64_t *dims, size_t max_dims,
                             ckpt_bundle_entry *e)
{
    memset(e, 0, sizeof *e);
    if (n && !p)
        return -1;
    /* An empty message may come as a NULL pointer: never do arithmetic on it. */
    wire w = {p, p ? p + n : p};
    while (w.p < w.end) {
        uint32_t field;
        int wt;
        if (take_tag(&w, &field, &wt) || decode_field(&w, field, wt, dims, max_dims, e))
            return -1;
    }
    return 0;
}
