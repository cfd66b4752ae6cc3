/* pbwire.c - see pbwire.h. */
#include "pbwire.h"

#include "coding.h"
#include "util.h"

#include <stdlib.h>

void ckpt_pb_iter_init(ckpt_pb_iter *it, const ckpt_pb_seg *segs, size_t nseg, ckpt_err *err)
{
    it->segs = segs;
    it->nseg = nseg;
    it->si = 0;
    /* An empty piece may come with a NULL pointer: never do arithmetic on it. */
    it->p = nseg ? segs[0].p : NULL;
    it->end = nseg && segs[0].p ? segs[0].p + segs[0].n : it->p;
    it->err = err;
}

int ckpt_pb_corrupt(ckpt_err *err, const char *what)
{
    return ckpt_err_set(err, CKPT_E_CORRUPT, "malformed protobuf: %s", what);
}

/* Skip a group whose start tag (field) was just read. */
static int skip_group(const uint8_t **pp, const uint8_t *end, uint32_t field, ckpt_err *err)
{
    uint32_t stack[CKPT_PB_MAX_DEPTH];
    int depth = 0;
    stack[depth++] = field;
    const uint8_t *p = *pp;
    while (depth) {
        uint64_t tag, v;
        if (ckpt_take_varint64(&p, end, &tag) || tag > UINT32_MAX || (tag >> 3) == 0)
            return ckpt_pb_corrupt(err, "bad tag in group");
        int wt = (int)(tag & 7);
        uint32_t f = (uint32_t)(tag >> 3);
        switch (wt) {
        case 0:
            if (ckpt_take_varint64(&p, end, &v))
                return ckpt_pb_corrupt(err, "truncated varint");
            break;
        case 1:
            if (end - p < 8)
                return ckpt_pb_corrupt(err, "truncated fixed64");
            p += 8;
            break;
        case 5:
            if (end - p < 4)
                return ckpt_pb_corrupt(err, "truncated fixed32");
            p += 4;
            break;
        case 2:
            if (ckpt_take_varint64(&p, end, &v) || v > (uint64_t)(end - p))
                return ckpt_pb_corrupt(err, "length past the end");
            p += v;
            break;
        case 3:
            if (depth >= CKPT_PB_MAX_DEPTH)
                return ckpt_pb_corrupt(err, "groups nested too deep");
            stack[depth++] = f;
            break;
        case 4:
            if (stack[depth - 1] != f)
                return ckpt_pb_corrupt(err, "mismatched end-group");
            depth--;
            break;
        default: return ckpt_pb_corrupt(err, "invalid wire type");
        }
    }
    *pp = p;
    return 0;
}

int ckpt_pb_iter_next(ckpt_pb_iter *it, ckpt_pb_field *o)
{
    while (it->p == it->end) {
        if (it->si + 1 >= it->nseg)
            return 0;
        it->si++;
        it->p = it->segs[it->si].p;
        it->end = it->p ? it->p + it->segs[it->si].n : it->p;
    }
    uint64_t tag;
    if (ckpt_take_varint64(&it->p, it->end, &tag) || tag > UINT32_MAX || (tag >> 3) == 0)
        return ckpt_pb_corrupt(it->err, "bad tag");
    o->field = (uint32_t)(tag >> 3);
    o->wt = (int)(tag & 7);
    switch (o->wt) {
    case 0:
        if (ckpt_take_varint64(&it->p, it->end, &o->v))
            return ckpt_pb_corrupt(it->err, "truncated varint");
        break;
    case 1:
        if (it->end - it->p < 8)
            return ckpt_pb_corrupt(it->err, "truncated fixed64");
        o->v = 0;
        for (int i = 7; i >= 0; i--)
            o->v = (o->v << 8) | it->p[i];
        it->p += 8;
        break;
    case 5:
        if (it->end - it->p < 4)
            return ckpt_pb_corrupt(it->err, "truncated fixed32");
        o->v = (uint64_t)it->p[0] | (uint64_t)it->p[1] << 8 | (uint64_t)it->p[2] << 16 |
               (uint64_t)it->p[3] << 24;
        it->p += 4;
        break;
    case 2: {
        uint64_t len;
        if (ckpt_take_varint64(&it->p, it->end, &len) || len > (uint64_t)(it->end - it->p))
            return ckpt_pb_corrupt(it->err, "length past the end");
        o->p = it->p;
        o->n = (size_t)len;
        it->p += len;
        break;
    }
    case 3: {
        int r = skip_group(&it->p, it->end, o->field, it->err);
        if (r)
            return r;
        break;
    }
    case 4: return ckpt_pb_corrupt(it->err, "unexpected end-group");
    default: return ckpt_pb_corrupt(it->err, "invalid wire type");
    }
    return 1;
}

int ckpt_pb_field_segs(const ckpt_pb_seg *segs, size_t nseg, uint32_t field, long index,
                       ckpt_pb_seg **out, size_t *nout, ckpt_err *err)
{
    ckpt_pb_iter it;
    ckpt_pb_field v;
    size_t n = 0, cap = 0;
    long k = 0;
    ckpt_pb_seg *arr = NULL;
    int r;
    ckpt_pb_iter_init(&it, segs, nseg, err);
    while ((r = ckpt_pb_iter_next(&it, &v)) > 0) {
        if (v.field != field || v.wt != 2)
            continue;
        if (index >= 0 && k++ != index)
            continue;
        if (ckpt_grow((void **)&arr, &cap, n + 1, sizeof *arr)) {
            free(arr);
            return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
        }
        arr[n].p = v.p;
        arr[n].n = v.n;
        n++;
        if (index >= 0)
            break;
    }
    if (r < 0) {
        free(arr);
        return r;
    }
    *out = arr;
    *nout = n;
    return 0;
}

static int pb_validate_at(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t n,
                          int depth, int max_depth, ckpt_err *err)
{
    if (depth > max_depth)
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "malformed protobuf: messages nested deeper than %d", max_depth);
    ckpt_pb_seg seg = {p, n};
    ckpt_pb_iter it;
    ckpt_pb_field w;
    int r;
    ckpt_pb_iter_init(&it, &seg, 1, err);
    while ((r = ckpt_pb_iter_next(&it, &w)) > 0) {
        if (w.wt != 2)
            continue;
        const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field(desc, w.field);
        if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if ((r = pb_validate_at(f->descriptor, w.p, w.n, depth + 1, max_depth, err)))
            return r;
    }
    return r;
}

int ckpt_pb_validate(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t n,
                     int max_depth, ckpt_err *err)
{
    if (!desc || (n && !p))
        return ckpt_err_set(err, CKPT_E_INVALID, "ckpt_pb_validate: no descriptor or data");
    return pb_validate_at(desc, p, n, 0, max_depth, err);
}
