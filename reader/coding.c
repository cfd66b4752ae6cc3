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
    uint32_t result = 0;
    for (unsigned shift = 0; shift < 35 && p < end; shift += 7) {
        uint32_t byte = *p++;
        if (shift == 28 && byte > 0x0f)
            return NULL;
        result |= (byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *v = result;
            return p;
        }
    }
    return NULL;
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
