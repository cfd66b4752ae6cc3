/* coding.c - see coding.h. */
#include "coding.h"

#include <stddef.h>

const uint8_t *ckpt_get_varint64(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
    uint64_t result = 0;
    for (unsigned shift = 0; shift < 70 && p < end; shift += 7) {
        uint64_t byte = *p++;
        /* The tenth byte may only carry the top bit of a 64-bit value. */
        if (shift == 63 && byte > 1)
            return NULL;
        result |= (byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *v = result;
            return p;
        }
    }
    return NULL;
}

const uint8_t *ckpt_get_varint32(const uint8_t *p, const uint8_t *end, uint32_t *v)
{
    /* A varint32 is at most 5 bytes: decode it as a 64-bit one confined to those. */
    const uint8_t *lim = end - p > 5 ? p + 5 : end;
    uint64_t x;
    const uint8_t *q = ckpt_get_varint64(p, lim, &x);
    if (!q || x > UINT32_MAX)
        return NULL;
    *v = (uint32_t)x;
    return q;
}

int ckpt_put_varint64(uint8_t *dst, uint64_t v)
{
    int n = 0;
    while (v >= 0x80) {
        dst[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    dst[n++] = (uint8_t)v;
    return n;
}
