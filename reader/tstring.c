/*
 * tstring.c - see tstring.h.
 */
#include "tstring.h"
#include "utf8.h"

#include "coding.h"
#include "crc32c.h"

#include <stdlib.h>
#include <string.h>

int ckpt_tstring_decode(const uint8_t *buf, size_t len, uint64_t n, ckpt_str **out, uint32_t *crc,
                        ckpt_err *err)
{
    *out = NULL;
    /* Each element needs at least one length byte, so n > len is corrupt before we allocate. */
    if (n > len)
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "string tensor of %llu elements cannot fit in %zu bytes",
                            (unsigned long long)n, len);
    ckpt_str *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory decoding a string tensor");
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
        uint8_t le[8];
        if (l <= 0xffffffffu) {
            ckpt_store_le32(le, (uint32_t)l);
            lcrc = ckpt_crc32c_extend(lcrc, le, 4);
        } else {
            ckpt_store_le32(le, (uint32_t)l);
            ckpt_store_le32(le + 4, (uint32_t)(l >> 32));
            lcrc = ckpt_crc32c_extend(lcrc, le, 8);
        }
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

size_t ckpt_tstring_escape(const uint8_t *s, size_t len, char *dst)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        uint8_t c = s[i];
        const char *esc = NULL;
        switch (c) {
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default: break;
        }
        if (esc) {
            if (dst)
                dst[o] = esc[0], dst[o + 1] = esc[1];
            o += 2;
            i++;
            continue;
        }
        if (c >= 0x20 && c < 0x7f) {
            if (dst)
                dst[o] = (char)c;
            o++;
            i++;
            continue;
        }
        size_t u = c >= 0x80 ? ckpt_utf8_seq(s + i, len - i) : 0;
        if (u) {
            if (dst)
                memcpy(dst + o, s + i, u);
            o += u;
            i += u;
            continue;
        }
        if (dst) {
            dst[o] = '\\', dst[o + 1] = 'x', dst[o + 2] = hex[c >> 4], dst[o + 3] = hex[c & 15];
        }
        o += 4;
        i++;
    }
    return o;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long ckpt_tstring_unescape(char *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '\\') {
            s[o++] = s[i];
            continue;
        }
        if (++i >= len)
            return -1;
        switch (s[i]) {
        case '\\': s[o++] = '\\'; break;
        case 'n': s[o++] = '\n'; break;
        case 'r': s[o++] = '\r'; break;
        case 't': s[o++] = '\t'; break;
        case 'x': {
            if (i + 2 >= len)
                return -1;
            int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            s[o++] = (char)(hi << 4 | lo);
            i += 2;
            break;
        }
        default: return -1;
        }
    }
    return (long)o;
}
