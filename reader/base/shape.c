/* shape.c - see shape.h. */
#include "shape.h"

#include "util.h"

#include <inttypes.h>
#include <stdio.h>

int ckpt_shape_numel(int rank, const int64_t *dims, uint64_t *out)
{
    uint64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return -1;
        if (dims[i] == 0) {
            n = 0;
            continue;
        }
        if (n && (uint64_t)dims[i] > UINT64_MAX / n)
            return -1;
        n *= (uint64_t)dims[i];
    }
    *out = n;
    return 0;
}

size_t ckpt_shape_format(int rank, const int64_t *dims, char *buf, size_t size)
{
    size_t len = 0;
    char tmp[CKPT_DEC_MAX + 2];
#define PUT(s)                                                                                     \
    do {                                                                                           \
        for (const char *q_ = (s); *q_; q_++, len++)                                               \
            if (len + 1 < size)                                                                    \
                buf[len] = *q_;                                                                    \
    } while (0)
    PUT("[");
    for (int i = 0; i < rank; i++) {
        if (i)
            PUT(", ");
        ckpt_fmt_i64(tmp, dims[i]);
        PUT(tmp);
    }
    PUT("]");
#undef PUT
    if (size)
        buf[len < size ? len : size - 1] = '\0';
    return len;
}
