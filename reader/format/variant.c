/* variant.c - see variant.h. */
#include "variant.h"

#include "coding.h"
#include "crc32c.h"

#include "tensor.pb-c.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The running CRC over one element: its length as 8 bytes little-endian, then its bytes. */
static uint32_t extend_elem(uint32_t run, const uint8_t *p, uint64_t n)
{
    uint8_t le[8];
    ckpt_store_le32(le, (uint32_t)n);
    ckpt_store_le32(le + 4, (uint32_t)(n >> 32));
    run = ckpt_crc32c_extend(run, le, 8);
    return ckpt_crc32c_extend(run, p, (size_t)n);
}

int ckpt_variant_decode(const uint8_t *buf, size_t len, uint64_t count, ckpt_str **elems,
                        uint32_t *crc, ckpt_err *err)
{
    const uint8_t *p = buf, *end = buf + len;
    uint32_t run = 0; /* the checksum of lengths and bytes so far */
    /* Every element takes at least 5 bytes (a 1-byte length and the checksum). */
    int rc = ckpt_str_array("variant tensor", count, len, 5, elems, err);
    if (rc)
        return rc;
    ckpt_str *e = *elems;
    *elems = NULL;
    for (uint64_t k = 0; k < count; k++) {
        uint64_t n;
        const uint8_t *q = ckpt_get_varint64(p, end, &n);
        if (!q || n > (uint64_t)(end - q) || (uint64_t)(end - q) - n < 4) {
            free(e);
            return ckpt_err_set(err, CKPT_E_CORRUPT, "variant element %" PRIu64 " is truncated", k);
        }
        run = extend_elem(run, q, n);
        const uint8_t *c = q + n;
        if (ckpt_crc32c_unmask(ckpt_load_le32(c)) != run) {
            free(e);
            return ckpt_err_set(err, CKPT_E_CORRUPT,
                                "the checksum after variant element %" PRIu64 " does not match", k);
        }
        run = ckpt_crc32c_extend(run, c, 4);
        e[k].ptr = q;
        e[k].len = n;
        p = c + 4;
    }
    if (p != end) {
        free(e);
        return ckpt_err_set(err, CKPT_E_CORRUPT, "%zu bytes follow the last variant element",
                            (size_t)(end - p));
    }
    if (crc)
        *crc = run;
    *elems = e;
    return 0;
}

int ckpt_variant_encode(const ckpt_str *el, uint64_t count, uint8_t **out, size_t *len,
                        uint32_t *crc, ckpt_err *err)
{
    *out = NULL;
    *len = 0;
    size_t total = 0;
    for (uint64_t k = 0; k < count; k++) {
        if (el[k].len > SIZE_MAX - total - 14)
            return ckpt_err_set(err, CKPT_E_NOMEM, "variant tensor too large to hold in memory");
        total += 14 + (size_t)el[k].len;
    }
    uint8_t *buf = malloc(total ? total : 1);
    if (!buf)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    size_t o = 0;
    uint32_t run = 0;
    for (uint64_t k = 0; k < count; k++) {
        o += (size_t)ckpt_put_varint64(buf + o, el[k].len);
        if (el[k].len)
            memcpy(buf + o, el[k].ptr, (size_t)el[k].len);
        run = extend_elem(run, buf + o, el[k].len);
        o += (size_t)el[k].len;
        ckpt_store_le32(buf + o, ckpt_crc32c_mask(run));
        run = ckpt_crc32c_extend(run, buf + o, 4);
        o += 4;
    }
    if (crc)
        *crc = run;
    *out = buf;
    *len = o;
    return 0;
}
