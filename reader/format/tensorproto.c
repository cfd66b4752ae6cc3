/* tensorproto.c - see tensorproto.h. Assumes a little-endian host, like the rest of libckpt. */
#include "tensorproto.h"

#include "dtype.h"

#include <stdlib.h>
#include <string.h>

/* Where the typed values of a dtype live: base pointer, count, bytes per value in the field,
 * and values per element (2 for complex numbers). */
typedef struct field_view {
    const void *base;
    size_t count;
    size_t width;
    size_t per_elem;
} field_view;

static int typed_field(const Tensorflow__TensorProto *t, int dtype, field_view *f)
{
    f->per_elem = 1;
    switch (dtype) {
    case CKPT_DT_FLOAT: f->base = t->float_val, f->count = t->n_float_val, f->width = 4; break;
    case CKPT_DT_DOUBLE: f->base = t->double_val, f->count = t->n_double_val, f->width = 8; break;
    case CKPT_DT_INT32:
    case CKPT_DT_INT16:
    case CKPT_DT_INT8:
    case CKPT_DT_UINT8:
    case CKPT_DT_UINT16:
    case CKPT_DT_QINT8:
    case CKPT_DT_QUINT8:
    case CKPT_DT_QINT16:
    case CKPT_DT_QUINT16:
    case CKPT_DT_QINT32:
    case 29:
    case 30:
    case 31:
    case 32: f->base = t->int_val, f->count = t->n_int_val, f->width = 4; break;
    case CKPT_DT_INT64: f->base = t->int64_val, f->count = t->n_int64_val, f->width = 8; break;
    case CKPT_DT_BOOL:
        f->base = t->bool_val, f->count = t->n_bool_val, f->width = sizeof(protobuf_c_boolean);
        break;
    case CKPT_DT_HALF:
    case CKPT_DT_BFLOAT16: f->base = t->half_val, f->count = t->n_half_val, f->width = 4; break;
    case CKPT_DT_COMPLEX64:
        f->base = t->scomplex_val, f->count = t->n_scomplex_val, f->width = 4, f->per_elem = 2;
        break;
    case CKPT_DT_COMPLEX128:
        f->base = t->dcomplex_val, f->count = t->n_dcomplex_val, f->width = 8, f->per_elem = 2;
        break;
    case CKPT_DT_UINT32: f->base = t->uint32_val, f->count = t->n_uint32_val, f->width = 4; break;
    case CKPT_DT_UINT64: f->base = t->uint64_val, f->count = t->n_uint64_val, f->width = 8; break;
    case 24:
    case 25:
    case 26:
    case 27:
    case 28:
    case 33: f->base = t->float8_val.data, f->count = t->float8_val.len, f->width = 1; break;
    default: return -1;
    }
    return 0;
}

int ckpt_tensorproto_bytes(const Tensorflow__TensorProto *t, int dtype, uint64_t numel, int exact,
                           uint8_t **out, size_t *len, ckpt_err *err)
{
    *out = NULL;
    *len = 0;
    size_t es = ckpt_dtype_size(dtype);
    if (!es)
        return ckpt_err_set(err, CKPT_E_UNSUPPORTED, "values of dtype %d cannot be converted",
                            dtype);
    if (numel > (SIZE_MAX - 1) / es)
        return ckpt_err_set(err, CKPT_E_CORRUPT, "tensor of %llu elements is too large",
                            (unsigned long long)numel);
    size_t total = (size_t)numel * es;
    field_view f = {NULL, 0, 1, 1};
    if (t->tensor_content.len > 0) {
        if (t->tensor_content.len != total)
            return ckpt_err_set(err, CKPT_E_CORRUPT, "tensor_content holds %zu bytes, %zu expected",
                                t->tensor_content.len, total);
    } else {
        if (typed_field(t, dtype, &f))
            return ckpt_err_set(err, CKPT_E_UNSUPPORTED, "no value field for dtype %d", dtype);
        uint64_t have = f.count / f.per_elem;
        if (f.count % f.per_elem || have > numel || (exact && have != numel))
            return ckpt_err_set(err, CKPT_E_CORRUPT, "%zu values for a tensor of %llu elements",
                                f.count, (unsigned long long)numel);
    }
    uint8_t *buf = calloc(1, total ? total : 1);
    if (!buf)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory converting a tensor");
    if (t->tensor_content.len > 0) {
        memcpy(buf, t->tensor_content.data, total);
    } else {
        size_t have = f.count / f.per_elem;
        size_t part = es / f.per_elem; /* bytes of one value in the output */
        const uint8_t *src = f.base;
        for (size_t i = 0; i < have; i++)
            for (size_t k = 0; k < f.per_elem; k++)
                memcpy(buf + i * es + k * part, src + (i * f.per_elem + k) * f.width, part);
        /* Fewer values than elements: the last one repeats. */
        for (size_t i = have; have > 0 && i < numel; i++)
            memcpy(buf + i * es, buf + (have - 1) * es, es);
    }
    *out = buf;
    *len = total;
    return 0;
}
