/* util.c - see util.h. */
#include "util.h"

#include <stdlib.h>

int ckpt_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need) {
        if (n > SIZE_MAX / 2)
            return -1;
        n *= 2;
    }
    if (elem && n > SIZE_MAX / elem)
        return -1;
    void *q = realloc(*p, n * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

uint64_t ckpt_hash64(const void *s, size_t len)
{
    const unsigned char *b = s;
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a offset basis and prime */
    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
