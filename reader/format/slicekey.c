/* slicekey.c - see slicekey.h. */
#include "slicekey.h"

#include <string.h>

size_t ckpt_oc_put_num_increasing(uint8_t *out, uint64_t v)
{
    /* One length byte, then the value big-endian without leading zero bytes. */
    uint8_t be[8];
    int n = 0;
    for (uint64_t x = v; x; x >>= 8)
        n++;
    for (int i = 0; i < n; i++)
        be[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    out[0] = (uint8_t)n;
    memcpy(out + 1, be, (size_t)n);
    return 1 + (size_t)n;
}

size_t ckpt_oc_put_signed_num_increasing(uint8_t *out, int64_t v)
{
    uint64_t x = v < 0 ? ~(uint64_t)v : (uint64_t)v;
    if (x < 64) {
        out[0] = (uint8_t)(0x80 ^ (uint8_t)v);
        return 1;
    }
    /* Length from the bit length: 7 payload bits per byte after the header bits. */
    int bits = 64 - __builtin_clzll(x);
    int len = (bits + 1 + 6) / 7; /* bit-length 7..13 -> 2, 14..20 -> 3, ... 63 -> 10 */
    if (len > 10)
        len = 10;
    /* v as a 10-byte big-endian two's complement number, sign-extended. */
    uint8_t buf[10];
    uint64_t u = (uint64_t)v;
    uint8_t ext = v < 0 ? 0xff : 0x00;
    buf[0] = ext;
    buf[1] = ext;
    for (int i = 0; i < 8; i++)
        buf[2 + i] = (uint8_t)(u >> (8 * (7 - i)));
    uint8_t *p = buf + 10 - len;
    /* Header: len-1 one bits after the sign bit, then a zero, in the leading bits (inverted for
     * negative numbers by the XOR with the sign-extended value). */
    static const uint8_t head[11][2] = {
        {0, 0},       {0x80, 0x00}, {0xc0, 0x00}, {0xe0, 0x00}, {0xf0, 0x00}, {0xf8, 0x00},
        {0xfc, 0x00}, {0xfe, 0x00}, {0xff, 0x00}, {0xff, 0x80}, {0xff, 0xc0},
    };
    memcpy(out, p, (size_t)len);
    out[0] ^= head[len][0];
    if (len > 1)
        out[1] ^= head[len][1];
    return (size_t)len;
}

size_t ckpt_slice_key(const char *name, size_t nlen, int rank, const int64_t *start,
                      const int64_t *length, uint8_t *out)
{
    size_t o = ckpt_oc_put_num_increasing(out, 0);
    for (size_t i = 0; i < nlen; i++) {
        uint8_t c = (uint8_t)name[i];
        out[o++] = c;
        if (c == 0x00)
            out[o++] = 0xff;
        else if (c == 0xff)
            out[o++] = 0x00;
    }
    out[o++] = 0x00;
    out[o++] = 0x01;
    o += ckpt_oc_put_num_increasing(out + o, (uint64_t)rank);
    for (int d = 0; d < rank; d++) {
        o += ckpt_oc_put_signed_num_increasing(out + o, start[d]);
        o += ckpt_oc_put_signed_num_increasing(out + o, length[d]);
    }
    return o;
}
