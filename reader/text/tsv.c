/* tsv.c - variables.tsv, the table `ckptfs ls` prints (see render.h). */
#include "render.h"

#include "dtype.h"
#include "shape.h"
#include "strtext.h"

#include <inttypes.h>
#include <stdio.h>

/* Room for one formatted numeric column group of a line ("\t<bytes>\t<shard>\t<offset>"). */
enum { TSV_FIELDS_BUF = 96 };

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

static void put_line(ckpt_strbuf *out, const ckpt_var *v)
{
    char dt[CKPT_DTYPE_NAME_BUF], line[TSV_FIELDS_BUF];
    ckpt_tstring_put_escaped(out, (const uint8_t *)v->name, v->name_len);
    ckpt_strbuf_puts(out, "\t");
    ckpt_strbuf_puts(out, ckpt_dtype_name(v->dtype, dt, sizeof dt));
    ckpt_strbuf_puts(out, "\t");
    put_shape(out, v);
    if (v->flags & CKPT_VAR_PARTITIONED)
        snprintf(line, sizeof line, "\t%" PRIu64 "\t-\t-", v->nbytes);
    else
        snprintf(line, sizeof line, "\t%" PRIu64 "\t%" PRId32 "\t%" PRIu64, v->nbytes, v->shard,
                 v->offset);
    ckpt_strbuf_puts(out, line);
    if (v->flags & CKPT_VAR_HAS_CRC)
        snprintf(line, sizeof line, "\t%08x\n", v->crc32c);
    else
        snprintf(line, sizeof line, "\t-\n");
    ckpt_strbuf_puts(out, line);
}

int ckpt_render_tsv(const ckpt_checkpoint *c, ckpt_strbuf *out)
{
    ckpt_strbuf_puts(out, "name\tdtype\tshape\tbytes\tshard\toffset\tcrc32c\n");
    for (size_t i = 0; i < ckpt_count(c) && !out->failed; i++) {
        ckpt_var v;
        ckpt_get(c, i, &v);
        put_line(out, &v);
    }
    return out->failed ? -1 : 0;
}
