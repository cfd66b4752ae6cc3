/*
 * tstring.c - see tstring.h.
 */
#include "tstring.h"

#include "coding.h"
#include "crc32c.h"

#include <stdlib.h>
#include <string.h>

int ckpt_str_array(const char *what, uint64_t n, size_t len, size_t min_bytes, ckpt_str **out,
                   ckpt_err *err)
{
    *out = NULL;
    if (n > len / min_bytes)
        return ckpt_err_set(err, CKPT_E_CORRUPT, "%s: %llu elements cannot fit in %zu bytes", what,
                            (unsigned long long)n, len);
    *out = malloc((n ? n : 1) * sizeof **out);
    if (!*out)
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory for %llu elements", what,
                            (unsigned long long)n);
    return 0;
}

/* A length as TF checksums it: 4 bytes little-endian when it fits, else 8. */
static uint32_t extend_len(uint32_t crc, uint64_t l)
{
    uint8_t le[8];
    ckpt_store_le32(le, (uint32_t)l);
    ckpt_store_le32(le + 4, (uint32_t)(l >> 32));
    return ckpt_crc32c_extend(crc, le, l > 0xffffffffu ? 8 : 4);
}

int ckpt_tstring_decode(const uint8_t *buf, size_t len, uint64_t n, ckpt_str **out, uint32_t *crc,
                        ckpt_err *err)
{
    /* Each element needs at least one length byte. */
    int rc = ckpt_str_array("string tensor", n, len, 1, out, err);
    if (rc)
        return rc;
    ckpt_str *v = *out;
    *out = NULL;
    const uint8_t *p = buf, *end = buf + len;
    uint32_t lcrc = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t l;
        p = ckpt_get_varint64(p, end, &l);
        if (!p) {
            free(v);
            return ckpt_err_set(err, CKPT_E_CORRUPT, "string tensor: bad length of element %llu",
                                (unsigned long long)i);
        }
        v[i].len = l;
        /* TF checksums each length as a uint32 when it fits, else as a uint64 (old format). */
        lcrc = extend_len(lcrc, l);
    }
    if ((size_t)(end - p) < 4) {
        free(v);
        return ckpt_err_set(err, CKPT_E_CORRUPT, "string tensor: truncated length checksum");
    }
    uint32_t stored = ckpt_crc32c_unmask(ckpt_load_le32(p));
    if (stored != lcrc) {
        free(v);
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "string tensor: the length checksum does not match (stored %08x, "
                            "computed %08x)",
                            stored, lcrc);
    }
    /* The tensor CRC continues from the length CRC over the stored checksum and the bytes. */
    uint32_t tcrc = ckpt_crc32c_extend(lcrc, p, 4);
    p += 4;
    for (uint64_t i = 0; i < n; i++) {
        if ((uint64_t)(end - p) < v[i].len) {
            free(v);
            return ckpt_err_set(err, CKPT_E_CORRUPT,
                                "string tensor: element %llu runs past the tensor's bytes",
                                (unsigned long long)i);
        }
        v[i].ptr = p;
        if (crc)
            tcrc = ckpt_crc32c_extend(tcrc, p, (size_t)v[i].len);
        p += v[i].len;
    }
    if (crc)
        *crc = tcrc;
    *out = v;
    return 0;
}

int ckpt_tstring_encode(const ckpt_str *el, uint64_t n, uint8_t **out, size_t *len, ckpt_err *err)
{
    *out = NULL;
    *len = 0;
    size_t total = 4;
    for (uint64_t i = 0; i < n; i++) {
        if (el[i].len > SIZE_MAX - total - 10)
            return ckpt_err_set(err, CKPT_E_NOMEM, "string tensor too large to hold in memory");
        total += 10 + (size_t)el[i].len;
    }
    uint8_t *buf = malloc(total);
    if (!buf)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory encoding a string tensor");
    size_t o = 0;
    uint32_t lcrc = 0;
    for (uint64_t i = 0; i < n; i++) {
        o += (size_t)ckpt_put_varint64(buf + o, el[i].len);
        lcrc = extend_len(lcrc, el[i].len);
    }
    ckpt_store_le32(buf + o, ckpt_crc32c_mask(lcrc));
    o += 4;
    for (uint64_t i = 0; i < n; i++) {
        if (el[i].len)
            memcpy(buf + o, el[i].ptr, (size_t)el[i].len);
        o += (size_t)el[i].len;
    }
    *out = buf;
    *len = o;
    return 0;
}
