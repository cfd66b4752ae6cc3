/*
 * render.c - text files of a mount (see render.h).
 */
#include "render.h"

#include "dtype.h"
#include "shape.h"
#include "tstring.h"
#include "strtext.h"
#include "variant.h"
#include "varianttext.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ckfs_buf_put(ckfs_buf *b, const void *p, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->failed = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    if (n) /* an empty append may come with p == NULL and nothing allocated */
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

void ckfs_buf_free(ckfs_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

size_t ckfs_render_shape(const ckpt_var *v, char *buf, size_t size)
{
    size_t n = ckpt_shape_format(v->rank, v->dims, buf, size);
    if (n + 1 < size) {
        buf[n] = '\n';
        buf[n + 1] = '\0';
    }
    return n + 1;
}

size_t ckfs_render_dtype(const ckpt_var *v, char *buf, size_t size)
{
    char tmp[32];
    int n = snprintf(buf, size, "%s\n", ckpt_dtype_name(v->dtype, tmp, sizeof tmp));
    return n < 0 ? 0 : (size_t)n;
}

int ckfs_is_text_var(const ckpt_var *v)
{
    return v->dtype == CKPT_DT_STRING || v->dtype == CKPT_DT_VARIANT;
}

static void put_escaped(ckfs_buf *b, const uint8_t *s, size_t len)
{
    char small[512];
    size_t n = ckpt_tstring_escape(s, len, NULL);
    char *dst = n <= sizeof small ? small : malloc(n);
    if (!dst) {
        b->failed = 1;
        return;
    }
    ckpt_tstring_escape(s, len, dst);
    ckfs_buf_put(b, dst, n);
    if (dst != small)
        free(dst);
}

int ckfs_render_tsv(const ckpt_checkpoint *c, ckfs_buf *out)
{
    static const char header[] = "name\tdtype\tshape\tbytes\tshard\toffset\tcrc32c\n";
    ckfs_buf_put(out, header, sizeof header - 1);
    for (size_t i = 0; i < ckpt_count(c); i++) {
        ckpt_var v;
        ckpt_get(c, i, &v);
        char dt[32], line[256];
        put_escaped(out, (const uint8_t *)v.name, v.name_len);
        int n = snprintf(line, sizeof line, "\t%s\t", ckpt_dtype_name(v.dtype, dt, sizeof dt));
        ckfs_buf_put(out, line, (size_t)n);
        size_t sl = ckpt_shape_format(v.rank, v.dims, line, sizeof line);
        if (sl < sizeof line) {
            ckfs_buf_put(out, line, sl);
        } else {
            char *big = malloc(sl + 1);
            if (!big)
                return -1;
            ckpt_shape_format(v.rank, v.dims, big, sl + 1);
            ckfs_buf_put(out, big, sl);
            free(big);
        }
        if (v.flags & CKPT_VAR_PARTITIONED)
            n = snprintf(line, sizeof line, "\t%" PRIu64 "\t-\t-", v.nbytes);
        else
            n = snprintf(line, sizeof line, "\t%" PRIu64 "\t%" PRId32 "\t%" PRIu64, v.nbytes,
                         v.shard, v.offset);
        ckfs_buf_put(out, line, (size_t)n);
        if (v.flags & CKPT_VAR_HAS_CRC)
            n = snprintf(line, sizeof line, "\t%08x\n", v.crc32c);
        else
            n = snprintf(line, sizeof line, "\t-\n");
        ckfs_buf_put(out, line, (size_t)n);
    }
    return out->failed ? -1 : 0;
}

int ckfs_render_strings(ckpt_checkpoint *c, size_t i, ckfs_buf *out, ckpt_err *err)
{
    uint8_t *raw;
    ckpt_str *el;
    uint64_t n;
    int rc = ckpt_read_strings(c, i, &raw, &el, &n, err);
    if (rc)
        return rc;
    for (uint64_t k = 0; k < n && !out->failed; k++) {
        put_escaped(out, el[k].ptr, el[k].len);
        ckfs_buf_put(out, "\n", 1);
    }
    free(el);
    free(raw);
    if (out->failed)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory rendering a string tensor");
    return 0;
}

static int buf_sink(void *ctx, const char *p, size_t n)
{
    ckfs_buf *b = ctx;
    ckfs_buf_put(b, p, n);
    return b->failed ? CKPT_E_NOMEM : 0;
}

/* A variant tensor's text form (variant.h), checksums verified. */
static int render_variant(ckpt_checkpoint *c, size_t i, const ckpt_var *v, ckfs_buf *out,
                          ckpt_err *err)
{
    int nl = (int)(v->name_len > 300 ? 300 : v->name_len);
    uint64_t count;
    if (v->flags & CKPT_VAR_PARTITIONED)
        return ckpt_err_set(err, CKPT_E_UNSUPPORTED, "variable \"%.*s\": a variant tensor saved "
                            "in slices cannot be shown", nl, v->name);
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
        rc = ckpt_err_set(err, CKPT_E_CORRUPT, "checksum does not match (stored %08x, computed "
                          "%08x)", v->crc32c, crc);
    if (rc == 0)
        rc = ckpt_variant_render(el, count, buf_sink, out, err);
    free(el);
    free(raw);
    if (rc)
        ckpt_err_prefix(err, "%s: variable \"%.*s\"", ckpt_prefix(c), nl, v->name);
    return rc;
}

int ckfs_render_text(ckpt_checkpoint *c, size_t i, ckfs_buf *out, ckpt_err *err)
{
    ckpt_var v;
    ckpt_get(c, i, &v);
    if (v.dtype == CKPT_DT_STRING)
        return ckfs_render_strings(c, i, out, err);
    return render_variant(c, i, &v, out, err);
}
