/* statstext.c - see statstext.h. */
#include "statstext.h"

#include "dtype.h"
#include "pbtext.h"
#include "render.h"
#include "strtext.h"
#include "util.h"

#include <math.h>
#include <string.h>

void ckpt_stats_put_header(ckpt_strbuf *out)
{
    ckpt_strbuf_puts(out, "name\tdtype\tcount\tnan\tinf\tzeros\tmin\tmax\tmean\tstd\n");
}

/* Whether the row has a value in the nan and inf columns (numeric dtypes). */
static int has_counts(const ckpt_stats *s)
{
    return s->kind != CKPT_STATS_COUNT;
}

/* One column: its separator (a tab, or ", \"key\": "), then the value or the absent mark. */
static void put_key(ckpt_strbuf *out, int json, const char *key)
{
    if (!json) {
        ckpt_strbuf_put(out, "\t", 1);
        return;
    }
    ckpt_strbuf_puts(out, ", \"");
    ckpt_strbuf_puts(out, key);
    ckpt_strbuf_puts(out, "\": ");
}

static void put_absent(ckpt_strbuf *out, int json)
{
    ckpt_strbuf_puts(out, json ? "null" : "-");
}

static void put_u64(ckpt_strbuf *out, uint64_t x)
{
    char b[CKPT_DEC_MAX];
    ckpt_strbuf_put(out, b, ckpt_fmt_u64(b, x));
}

static void put_i64(ckpt_strbuf *out, int64_t x)
{
    char b[CKPT_DEC_MAX];
    ckpt_strbuf_put(out, b, ckpt_fmt_i64(b, x));
}

/* A float64: JSON has no infinity or NaN, so those (a mean whose sum overflowed) are null. */
static void put_double(ckpt_strbuf *out, int json, double x)
{
    char b[40];
    if (json && !isfinite(x)) {
        put_absent(out, json);
        return;
    }
    ckpt_strbuf_put(out, b, ckpt_pbtext_format_double(x, b));
}

void ckpt_stats_put_row(ckpt_strbuf *out, const ckpt_var *v, const ckpt_stats *s, int json)
{
    char dt[CKPT_DTYPE_NAME_BUF];
    const char *dname = ckpt_dtype_name(v->dtype, dt, sizeof dt);
    if (json) {
        ckpt_strbuf_puts(out, "{\"name\": ");
        ckpt_json_put_string(out, (const uint8_t *)v->name, v->name_len);
        ckpt_strbuf_puts(out, ", \"dtype\": \"");
        ckpt_strbuf_puts(out, dname);
        ckpt_strbuf_puts(out, "\"");
    } else {
        ckpt_tstring_put_escaped(out, (const uint8_t *)v->name, v->name_len);
        ckpt_strbuf_put(out, "\t", 1);
        ckpt_strbuf_puts(out, dname);
    }
    put_key(out, json, "count");
    put_u64(out, s->count);
    static const char *const counts[] = {"nan", "inf", "zeros"};
    const uint64_t cv[] = {s->nan, s->inf, s->zeros};
    for (int k = 0; k < 3; k++) {
        put_key(out, json, counts[k]);
        if (has_counts(s))
            put_u64(out, cv[k]);
        else
            put_absent(out, json);
    }
    int values = s->n > 0 && (s->kind == CKPT_STATS_FLOAT || s->kind == CKPT_STATS_INT ||
                              s->kind == CKPT_STATS_UINT);
    put_key(out, json, "min");
    if (!values)
        put_absent(out, json);
    else if (s->kind == CKPT_STATS_INT)
        put_i64(out, s->imin);
    else if (s->kind == CKPT_STATS_UINT)
        put_u64(out, s->umin);
    else
        put_double(out, json, s->min);
    put_key(out, json, "max");
    if (!values)
        put_absent(out, json);
    else if (s->kind == CKPT_STATS_INT)
        put_i64(out, s->imax);
    else if (s->kind == CKPT_STATS_UINT)
        put_u64(out, s->umax);
    else
        put_double(out, json, s->max);
    put_key(out, json, "mean");
    if (values)
        put_double(out, json, ckpt_stats_mean(s));
    else
        put_absent(out, json);
    put_key(out, json, "std");
    if (values)
        put_double(out, json, ckpt_stats_std(s));
    else
        put_absent(out, json);
    ckpt_strbuf_puts(out, json ? "}\n" : "\n");
}

int ckpt_render_stats_tsv(ckpt_checkpoint *c, ckpt_strbuf *out, ckpt_err *err)
{
    ckpt_stats_put_header(out);
    for (size_t i = 0; i < ckpt_count(c) && !out->failed; i++) {
        ckpt_var v;
        ckpt_get(c, i, &v);
        if (v.flags & CKPT_VAR_SHARD_MISSING)
            continue;
        ckpt_stats s;
        int rc = ckpt_stats_var(c, i, &s, NULL, NULL, err);
        if (rc == CKPT_E_MISSING) /* a partitioned variable with one slice's shard gone */
            continue;
        if (rc)
            return rc;
        ckpt_stats_put_row(out, &v, &s, 0);
    }
    return out->failed ? ckpt_err_set(err, CKPT_E_NOMEM, "out of memory") : 0;
}
