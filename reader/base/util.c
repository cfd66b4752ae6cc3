/* util.c - see util.h. */
#include "util.h"

#include <stdlib.h>
#include <string.h>

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

int ckpt_insertion_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *),
                        size_t budget)
{
    unsigned char x[CKPT_ISORT_ITEM_MAX], *b = base;
    if (size > sizeof x)
        return -1;
    for (size_t i = 1; i < n; i++) {
        memcpy(x, b + i * size, size);
        size_t j = i;
        while (j > 0 && cmp(b + (j - 1) * size, x) > 0) {
            memcpy(b + j * size, b + (j - 1) * size, size);
            j--;
            if (budget && --budget == 0) {
                memcpy(b + j * size, x, size);
                return -1;
            }
        }
        memcpy(b + j * size, x, size);
    }
    return 0;
}

size_t ckpt_fmt_u64(char *buf, uint64_t x)
{
    char tmp[CKPT_DEC_MAX];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + x % 10);
        x /= 10;
    } while (x);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = '\0';
    return n;
}

size_t ckpt_fmt_i64(char *buf, int64_t x)
{
    if (x >= 0)
        return ckpt_fmt_u64(buf, (uint64_t)x);
    buf[0] = '-';
    /* -(x + 1) + 1 is |x| without overflowing on INT64_MIN */
    return 1 + ckpt_fmt_u64(buf + 1, (uint64_t)(-(x + 1)) + 1);
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

char *ckpt_trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

int ckpt_ends_with_n(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

int ckpt_ends_with(const char *s, const char *suffix)
{
    return ckpt_ends_with_n(s, strlen(s), suffix);
}
