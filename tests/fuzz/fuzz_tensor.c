/*
 * fuzz_tensor.c - string and variant tensor encodings: the first byte picks the kind, the next
 * two the element count; the rest is the stored encoding, decoded and rendered as text.
 */
#include "fuzz.h"
#include "strtext.h"
#include "textbuf.h"
#include "tstring.h"
#include "variant.h"
#include "varianttext.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    uint64_t n = (uint64_t)data[1] | (uint64_t)data[2] << 8;
    const uint8_t *p = data + 3;
    size_t len = size - 3;
    ckpt_str *el = NULL;
    uint32_t crc;
    ckpt_err err;
    ckpt_err_clear(&err);
    ckpt_strbuf b = {0};
    if (data[0] & 1) {
        if (ckpt_variant_decode(p, len, n, &el, &crc, &err) == 0)
            ckpt_variant_render(el, n, ckpt_strbuf_sink, &b, &err);
    } else if (ckpt_tstring_decode(p, len, n, &el, &crc, &err) == 0) {
        for (uint64_t i = 0; i < n; i++)
            ckpt_tstring_put_escaped(&b, el[i].ptr, (size_t)el[i].len);
        if (b.data)
            ckpt_tstring_unescape(b.data, b.len);
    }
    free(el);
    ckpt_strbuf_free(&b);
    return 0;
}
