/* tsv.c - variables.tsv, the table `ckptfs ls` prints (see render.h). */
#include "render.h"

#include "dtype.h"
#include "shape.h"
#include "strtext.h"
#include "util.h"

/* The shape as "[d0, d1]", formatted in place (a shape's text has no length limit). */
static void put_shape(ckpt_strbuf *out, const ckpt_var *v)
{
    size_t n = ckpt_shape_format(v->rank, v->dims, NULL, 0);
    char *at = ckpt_strbuf_extend(out, n + 1); /* + 1: the formatter's NUL, dropped below */
    if (!at)
        return;
    ckpt_shape_format(v->rank, v->dims, at, n + 1);
    out->len--;
}

/* "\t" and x in decimal. */
static void put_num(ckpt_strbuf *out, int64_t x)
{
    char d[CKPT_DEC_MAX + 1];
    d[0] = '\t';
    ckpt_fmt_i64(d + 1, x);
    ckpt_strbuf_puts(out, d);
}

/* One row. Numbers are formatted by hand, not by printf: sizing variables.tsv at first stat
 * renders every row, and printf was most of that cost. */
static void put_line(ckpt_strbuf *out, const ckpt_var *v, const ckpt_names *names, size_t i)
{
    char dt[CKPT_DTYPE_NAME_BUF];
    ckpt_tstring_put_escaped(out, (const uint8_t *)v->name, v->name_len);
    ckpt_strbuf_puts(out, "\t");
    ckpt_strbuf_puts(out, ckpt_dtype_name(v->dtype, dt, sizeof dt));
    ckpt_strbuf_puts(out, "\t");
    put_shape(out, v);
    char d[CKPT_DEC_MAX + 1];
    d[0] = '\t';
    ckpt_fmt_u64(d + 1, v->nbytes);
    ckpt_strbuf_puts(out, d);
    if (v->flags & CKPT_VAR_PARTITIONED) {
        ckpt_strbuf_puts(out, "\t-\t-");
    } else {
        put_num(out, v->shard);
        ckpt_fmt_u64(d + 1, v->offset);
        ckpt_strbuf_puts(out, d);
    }
    if (v->flags & CKPT_VAR_HAS_CRC) {
        static const char hex[] = "0123456789abcdef";
        char h[11] = {'\t'};
        for (int k = 0; k < 8; k++)
            h[1 + k] = hex[(v->crc32c >> (28 - 4 * k)) & 0xf];
        h[9] = '\0';
        ckpt_strbuf_puts(out, h);
    } else {
        ckpt_strbuf_puts(out, "\t-");
    }
    if (names) {
        size_t fl;
        const char *f = ckpt_names_full(names, i, &fl);
        ckpt_strbuf_puts(out, "\t");
        if (f)
            ckpt_tstring_put_escaped(out, (const uint8_t *)f, fl);
        else
            ckpt_strbuf_puts(out, "-");
    }
    ckpt_strbuf_puts(out, "\n");
}

int ckpt_render_tsv(const ckpt_checkpoint *c, const ckpt_names *names, ckpt_strbuf *out)
{
    ckpt_strbuf_puts(out, names ? "name\tdtype\tshape\tbytes\tshard\toffset\tcrc32c\tfull_name\n"
                                : "name\tdtype\tshape\tbytes\tshard\toffset\tcrc32c\n");
    for (size_t i = 0; i < ckpt_count(c) && !out->failed; i++) {
        ckpt_var v;
        ckpt_get(c, i, &v);
        put_line(out, &v, names, i);
    }
    return out->failed ? -1 : 0;
}
