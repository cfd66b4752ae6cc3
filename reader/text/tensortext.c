/* tensortext.c - the text form of string and variant tensors (see render.h). */
#include "render.h"

#include "dtype.h"
#include "shape.h"
#include "strtext.h"
#include "tstring.h"
#include "variant.h"
#include "varianttext.h"

#include <stdlib.h>

/* Variable names in error messages are cut here: a hostile index may hold huge names. */
enum { ERR_NAME_MAX = 300 };

int ckpt_is_text_var(const ckpt_var *v)
{
    return v->dtype == CKPT_DT_STRING || v->dtype == CKPT_DT_VARIANT;
}

/* The text form of string variable i (strtext.h): one escaped element per line. Appends to
 * out; 0 or a CKPT_E_* code. */
static int ckpt_render_strings(ckpt_checkpoint *c, size_t i, ckpt_strbuf *out, ckpt_err *err)
{
    uint8_t *raw;
    ckpt_str *el;
    uint64_t n;
    int rc = ckpt_read_strings(c, i, &raw, &el, &n, err);
    if (rc)
        return rc;
    for (uint64_t k = 0; k < n && !out->failed; k++) {
        ckpt_tstring_put_escaped(out, el[k].ptr, el[k].len);
        ckpt_strbuf_put(out, "\n", 1);
    }
    free(el);
    free(raw);
    if (out->failed)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory rendering a string tensor");
    return 0;
}

/* A variant tensor's text form (varianttext.h), checksums verified. */
static int render_variant(ckpt_checkpoint *c, size_t i, const ckpt_var *v, ckpt_strbuf *out,
                          ckpt_err *err)
{
    int nl = (int)(v->name_len > ERR_NAME_MAX ? ERR_NAME_MAX : v->name_len);
    uint64_t count;
    if (ckpt_shape_numel(v->rank, v->dims, &count))
        return ckpt_err_set(err, CKPT_E_CORRUPT, "variable \"%.*s\": invalid shape", nl, v->name);
    uint8_t *raw;
    size_t len;
    int rc = ckpt_read_all(c, i, &raw, &len, err);
    if (rc)
        return rc;
    ckpt_str *el = NULL;
    uint32_t crc;
    rc = ckpt_variant_decode(raw, len, count, &el, &crc, err);
    if (rc == 0 && (v->flags & CKPT_VAR_HAS_CRC) && crc != v->crc32c)
        rc = ckpt_err_set(err, CKPT_E_CORRUPT,
                          "checksum does not match (stored %08x, computed "
                          "%08x)",
                          v->crc32c, crc);
    if (rc == 0)
        rc = ckpt_variant_render(el, count, ckpt_strbuf_sink, out, err);
    free(el);
    free(raw);
    if (rc)
        ckpt_err_prefix(err, "%s: variable \"%.*s\"", ckpt_prefix(c), nl, v->name);
    return rc;
}

int ckpt_render_text(ckpt_checkpoint *c, size_t i, ckpt_strbuf *out, ckpt_err *err)
{
    ckpt_var v;
    ckpt_get(c, i, &v);
    if (v.dtype == CKPT_DT_STRING)
        return ckpt_render_strings(c, i, out, err);
    return render_variant(c, i, &v, out, err);
}
