/* sidecar.c - NAME.shape and NAME.dtype (see render.h). */
#include "render.h"

#include "dtype.h"
#include "shape.h"

#include <stdio.h>

size_t ckpt_render_shape(const ckpt_var *v, char *buf, size_t size)
{
    size_t n = ckpt_shape_format(v->rank, v->dims, buf, size);
    if (n + 1 < size) {
        buf[n] = '\n';
        buf[n + 1] = '\0';
    }
    return n + 1;
}

size_t ckpt_render_dtype(const ckpt_var *v, char *buf, size_t size)
{
    char tmp[CKPT_DTYPE_NAME_BUF];
    int n = snprintf(buf, size, "%s\n", ckpt_dtype_name(v->dtype, tmp, sizeof tmp));
    return n < 0 ? 0 : (size_t)n;
}
