/*
 * arraytext.c - see arraytext.h. The rules are numpy's (arrayprint.py: FloatingFormat,
 * IntegerFormat, BoolFormat, ComplexFloatingFormat and _formatArray), restated here for C.
 */
#include "arraytext.h"

#include "dtype.h"
#include "elem.h"
#include "strtext.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LINE_WIDTH 75

/* --- element types -------------------------------------------------------------------------- */

enum kind { K_FLOAT, K_SIGNED, K_UNSIGNED, K_BOOL, K_COMPLEX, K_STRING };

typedef struct elemtype {
    enum kind kind;
    int width; /* bits of the float type that decides "shortest": 16, 32 or 64 */
    size_t size;
} elemtype;

static int type_of(int dtype, elemtype *t)
{
    static const enum kind kinds[] = {
        [CKPT_ELEM_FLOAT] = K_FLOAT,   [CKPT_ELEM_COMPLEX] = K_COMPLEX,
        [CKPT_ELEM_SIGNED] = K_SIGNED, [CKPT_ELEM_UNSIGNED] = K_UNSIGNED,
        [CKPT_ELEM_BOOL] = K_BOOL,
    };
    int cls = ckpt_elem_class(dtype);
    t->size = ckpt_dtype_size(dtype);
    /* the float type whose shortest decimals are printed: small floats print as float32 */
    t->width = dtype == CKPT_DT_HALF                                    ? 16
               : dtype == CKPT_DT_DOUBLE || dtype == CKPT_DT_COMPLEX128 ? 64
                                                                        : 32;
    if (dtype == CKPT_DT_STRING) {
        t->kind = K_STRING;
        return 0;
    }
    if (cls == CKPT_ELEM_NONE)
        return -1;
    t->kind = kinds[cls];
    return 0;
}

int ckpt_array_text_supported(int dtype)
{
    elemtype t;
    return type_of(dtype, &t) == 0 && t.kind != K_STRING;
}

/* --- shortest decimals --------------------------------------------------------------------- */

/* Whether the decimal text s reads back as x in a float of width bits. */
static int reads_back(const char *s, double x, int width)
{
    if (width == 64)
        return strtod(s, NULL) == x;
    if (width == 32)
        return strtof(s, NULL) == (float)x;
    /* float16 has no strtof16; a decimal of at most 5 digits is never so close to a midpoint
     * between two halves that going through double rounds it the other way. */
    return ckpt_round_to_half(strtod(s, NULL)) == x;
}

/* A finite value's shortest round-trip decimal: digits (no trailing zeros) and the exponent of
 * the first one (x = d.ddd * 10^exp10). Zero gives "0", exponent 0. */
typedef struct decimal {
    char digits[24];
    int nd;
    int exp10;
    int neg;
} decimal;

static void shortest(double x, int width, decimal *d)
{
    d->neg = signbit(x) != 0;
    if (x == 0) {
        strcpy(d->digits, "0");
        d->nd = 1;
        d->exp10 = 0;
        return;
    }
    char buf[40];
    int maxp = width == 16 ? 5 : width == 32 ? 9 : 17;
    for (int p = 1; p <= maxp; p++) {
        snprintf(buf, sizeof buf, "%.*e", p - 1, fabs(x));
        if (p == maxp || reads_back(buf, fabs(x), width))
            break;
    }
    /* buf is "D.DDDDe+XX" (or "De+XX") */
    char *e = strchr(buf, 'e');
    d->exp10 = atoi(e + 1);
    int n = 0;
    for (char *c = buf; c < e; c++)
        if (*c != '.')
            d->digits[n++] = *c;
    while (n > 1 && d->digits[n - 1] == '0')
        n--;
    d->digits[n] = '\0';
    d->nd = n;
}

/* --- FloatingFormat ------------------------------------------------------------------------ */

typedef struct floatfmt {
    int dtype, width, part;
    int plus; /* sign '+': every finite value and nan carry a sign (complex imaginary) */
    int exp_format;
    int pad_left, pad_right;
    int precision; /* exp_format: digits after the point */
    int exp_size;  /* exp_format: exponent digits */
} floatfmt;

/* Integer and fraction parts of d in positional notation, numpy's unique trim='.' form. */
static void positional_parts(const decimal *d, int plus, char *ip, char *fp)
{
    char *o = ip;
    if (d->neg)
        *o++ = '-';
    else if (plus)
        *o++ = '+';
    if (d->exp10 < 0) {
        *o++ = '0';
        *o = '\0';
        int z = -d->exp10 - 1;
        memset(fp, '0', (size_t)z);
        memcpy(fp + z, d->digits, (size_t)d->nd + 1);
        if (d->nd == 1 && d->digits[0] == '0')
            fp[0] = '\0';
        return;
    }
    for (int k = 0; k <= d->exp10; k++)
        *o++ = k < d->nd ? d->digits[k] : '0';
    *o = '\0';
    if (d->nd > d->exp10 + 1)
        memcpy(fp, d->digits + d->exp10 + 1, (size_t)(d->nd - d->exp10));
    else
        fp[0] = '\0';
}

/* Rounded to the data's own float type, as numpy compares max/min in that type. */
static double in_width(double x, int width)
{
    return width == 64 ? x : width == 32 ? (double)(float)x : ckpt_round_to_half(x);
}

static void floatfmt_fill(floatfmt *f, const uint8_t *data, uint64_t n)
{
    double maxv = 0, minv = INFINITY;
    int any_finite = 0, any_nonfinite = 0, any_neginf = 0;
    for (uint64_t i = 0; i < n; i++) {
        double x = ckpt_elem_float(f->dtype, data, i, f->part);
        if (!isfinite(x)) {
            any_nonfinite = 1;
            any_neginf |= isinf(x) && x < 0;
            continue;
        }
        any_finite = 1;
        double a = fabs(x);
        if (a != 0) {
            maxv = a > maxv ? a : maxv;
            minv = a < minv ? a : minv;
        }
    }
    f->exp_format = 0;
    if (minv != INFINITY &&
        (maxv >= 1e8 || minv < 0.0001 || in_width(maxv / minv, f->width) > 1000.))
        f->exp_format = 1;
    f->pad_left = f->pad_right = f->precision = 0;
    f->exp_size = -1;
    if (any_finite) {
        char ip[400], fp[400];
        for (uint64_t i = 0; i < n; i++) {
            double x = ckpt_elem_float(f->dtype, data, i, f->part);
            if (!isfinite(x))
                continue;
            decimal d;
            shortest(x, f->width, &d);
            int il, fl;
            if (f->exp_format) {
                il = 1 + (d.neg || f->plus);
                fl = d.nd - 1;
                int ex = abs(d.exp10), ed = ex >= 100 ? 3 : 2;
                f->exp_size = ed > f->exp_size ? ed : f->exp_size;
            } else {
                positional_parts(&d, f->plus, ip, fp);
                il = (int)strlen(ip);
                fl = (int)strlen(fp);
            }
            f->pad_left = il > f->pad_left ? il : f->pad_left;
            if (f->exp_format)
                f->precision = fl > f->precision ? fl : f->precision;
            else
                f->pad_right = fl > f->pad_right ? fl : f->pad_right;
        }
        if (f->exp_format)
            f->pad_right = f->exp_size + 2 + f->precision;
    }
    if (any_nonfinite) {
        int neginf = f->plus || any_neginf;
        int off = f->pad_right + 1;
        f->pad_left = 3 - off > f->pad_left ? 3 - off : f->pad_left;
        f->pad_left = 3 + neginf - off > f->pad_left ? 3 + neginf - off : f->pad_left;
    }
}

/* Format x into out (room for 450 bytes); returns the length. */
static int floatfmt_format(const floatfmt *f, double x, char *out)
{
    if (!isfinite(x)) {
        const char *s = isnan(x)  ? (f->plus ? "+nan" : "nan")
                        : x < 0   ? "-inf"
                        : f->plus ? "+inf"
                                  : "inf";
        int w = f->pad_left + f->pad_right + 1, l = (int)strlen(s);
        return sprintf(out, "%*s%s", w - l > 0 ? w - l : 0, "", s);
    }
    decimal d;
    shortest(x, f->width, &d);
    if (f->exp_format) {
        /* Every value gets `precision` digits after the point: the shortest ones, then further
         * digits of the exact binary value (numpy's min_digits), which is printf's rounding. */
        char m[400];
        snprintf(m, sizeof m, "%.*e", f->precision, fabs(x));
        char *e = strchr(m, 'e');
        int ex = atoi(e + 1);
        *e = '\0';
        char sign = d.neg ? '-' : f->plus ? '+' : 0;
        int n = sprintf(out, "%*s", f->pad_left - 1 - (sign != 0), "");
        if (sign)
            out[n++] = sign;
        n += sprintf(out + n, "%s%se%c%0*d", m, f->precision ? "" : ".", ex < 0 ? '-' : '+',
                     f->exp_size, abs(ex));
        return n;
    }
    char ip[400], fp[400];
    positional_parts(&d, f->plus, ip, fp);
    return sprintf(out, "%*s.%-*s", f->pad_left, ip, f->pad_right, fp);
}

/* --- the layout (numpy's _formatArray with separator ' ') ---------------------------------- */

typedef struct layout {
    ckpt_outbuf out;
    int rank;
    const int64_t *dims;
    /* the element formatter: writes element i into *word (growing it), returns its length */
    size_t (*word)(struct layout *l, uint64_t i);
    char *wbuf;
    size_t wcap;
    char *line; /* the current line of a last-axis row, after its prefix */
    size_t llen, lcap;
    int failed;
    /* per dtype */
    int dtype;
    elemtype t;
    const uint8_t *data;
    const ckpt_str *elems;
    floatfmt re, im;
    int int_width;
    int bool_space;
} layout;

static int grow(char **p, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 256;
    while (n < need)
        n *= 2;
    char *q = realloc(*p, n);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static void put(layout *l, const char *s, size_t n)
{
    if (!l->failed && ckpt_outbuf_put(&l->out, s, n))
        l->failed = 1;
}

static void spaces(layout *l, int n)
{
    for (int k = 0; k < n; k++)
        put(l, " ", 1);
}

static void line_add(layout *l, const char *s, size_t n)
{
    if (grow(&l->line, &l->lcap, l->llen + n)) {
        l->failed = 1;
        return;
    }
    memcpy(l->line + l->llen, s, n);
    l->llen += n;
}

/* Elements [first, first + count) of one last-axis row at depth (its hanging indent is
 * depth + 1 spaces), wrapped as numpy's _extendLine does. */
static void row(layout *l, int depth, uint64_t first, uint64_t count)
{
    size_t hang = (size_t)depth + 1;
    size_t elem_width = (size_t)(LINE_WIDTH - depth) - 1;
    put(l, "[", 1);
    l->llen = 0;
    for (uint64_t j = 0; j < count && !l->failed; j++) {
        size_t wl = l->word(l, first + j);
        if (l->failed)
            return;
        if (hang + l->llen + wl > elem_width && l->llen > 0) {
            size_t keep = l->llen;
            while (keep > 0 && l->line[keep - 1] == ' ')
                keep--;
            put(l, l->line, keep);
            put(l, "\n", 1);
            spaces(l, (int)hang);
            l->llen = 0;
        }
        line_add(l, l->wbuf, wl);
        if (j + 1 < count)
            line_add(l, " ", 1);
    }
    put(l, l->line, l->llen);
    put(l, "]", 1);
}

static void nest(layout *l, int depth, uint64_t first)
{
    uint64_t inner = 1;
    for (int d = depth + 1; d < l->rank; d++)
        inner *= (uint64_t)l->dims[d];
    if (depth == l->rank - 1) {
        row(l, depth, first, (uint64_t)l->dims[depth]);
        return;
    }
    put(l, "[", 1);
    int blank = l->rank - depth - 1; /* newlines between sub-arrays */
    for (int64_t k = 0; k < l->dims[depth] && !l->failed; k++) {
        if (k > 0) {
            for (int b = 0; b < blank; b++)
                put(l, "\n", 1);
            spaces(l, depth + 1);
        }
        nest(l, depth + 1, first + (uint64_t)k * inner);
    }
    put(l, "]", 1);
}

/* --- element formatters ---------------------------------------------------------------------- */

static size_t word_reserve(layout *l, size_t n)
{
    if (grow(&l->wbuf, &l->wcap, n)) {
        l->failed = 1;
        return 0;
    }
    return n;
}

static size_t word_float(layout *l, uint64_t i)
{
    if (!word_reserve(l, 1024))
        return 0;
    int n = floatfmt_format(&l->re, ckpt_elem_float(l->dtype, l->data, i, 0), l->wbuf);
    if (l->t.kind == K_COMPLEX) {
        int m = floatfmt_format(&l->im, ckpt_elem_float(l->dtype, l->data, i, 1), l->wbuf + n);
        /* the 'j' goes before the imaginary part's right padding */
        int sp = m;
        while (sp > 0 && l->wbuf[n + sp - 1] == ' ')
            sp--;
        memmove(l->wbuf + n + sp + 1, l->wbuf + n + sp, (size_t)(m - sp));
        l->wbuf[n + sp] = 'j';
        n += m + 1;
    }
    return (size_t)n;
}

static size_t word_int(layout *l, uint64_t i)
{
    if (!word_reserve(l, 64))
        return 0;
    int n =
        l->t.kind == K_SIGNED
            ? sprintf(l->wbuf, "%*" PRId64, l->int_width, ckpt_elem_signed(l->dtype, l->data, i))
            : sprintf(l->wbuf, "%*" PRIu64, l->int_width, ckpt_elem_unsigned(l->dtype, l->data, i));
    return (size_t)n;
}

static size_t word_bool(layout *l, uint64_t i)
{
    if (!word_reserve(l, 8))
        return 0;
    const char *s = l->data[i] ? (l->bool_space ? " True" : "True") : "False";
    size_t n = strlen(s);
    memcpy(l->wbuf, s, n);
    return n;
}

static size_t word_string(layout *l, uint64_t i)
{
    const ckpt_str *e = &l->elems[i];
    size_t esc = ckpt_tstring_escape(e->ptr, e->len, NULL);
    size_t quotes = 0;
    for (uint64_t k = 0; k < e->len; k++)
        quotes += e->ptr[k] == '"';
    if (!word_reserve(l, esc + quotes + 3))
        return 0;
    /* escape into the tail, then copy forward adding \" */
    char *tmp = l->wbuf + quotes + 2;
    ckpt_tstring_escape(e->ptr, e->len, tmp);
    size_t o = 0;
    l->wbuf[o++] = '"';
    for (size_t k = 0; k < esc; k++) {
        if (tmp[k] == '"')
            l->wbuf[o++] = '\\';
        l->wbuf[o++] = tmp[k];
    }
    l->wbuf[o++] = '"';
    return o;
}

/* --- entry points ---------------------------------------------------------------------------- */

static int numel_of(int rank, const int64_t *dims, uint64_t *n)
{
    uint64_t m = 1;
    for (int d = 0; d < rank; d++) {
        if (dims[d] < 0 || (dims[d] && m > UINT64_MAX / (uint64_t)dims[d]))
            return -1;
        m *= (uint64_t)dims[d];
    }
    *n = m;
    return 0;
}

static int run(layout *l, uint64_t n, ckpt_err *err)
{
    if (n == 0) {
        put(l, "[]", 2);
    } else if (l->rank == 0) {
        size_t wl = l->word(l, 0);
        put(l, l->wbuf, wl);
    } else {
        nest(l, 0, 0);
    }
    put(l, "\n", 1);
    if (!l->failed && ckpt_outbuf_flush(&l->out))
        l->failed = 1;
    free(l->wbuf);
    free(l->line);
    if (l->failed)
        return err && err->code ? err->code
                                : ckpt_err_set(err, CKPT_E_IO, "writing the text failed");
    return 0;
}

int ckpt_array_text(int dtype, int rank, const int64_t *dims, const uint8_t *data, size_t len,
                    ckpt_write_fn write, void *ctx, ckpt_err *err)
{
    layout *l = calloc(1, sizeof *l);
    if (!l)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    uint64_t n = 0;
    int rc = 0;
    if (type_of(dtype, &l->t) || l->t.kind == K_STRING) {
        char b[32];
        rc = ckpt_err_set(err, CKPT_E_UNSUPPORTED, "%s tensors have no numeric text form",
                          ckpt_dtype_name(dtype, b, sizeof b));
    } else if (numel_of(rank, dims, &n) || n > len / l->t.size || n * l->t.size != len) {
        rc = ckpt_err_set(err, CKPT_E_INVALID, "%zu bytes do not match the shape", len);
    }
    if (rc) {
        free(l);
        return rc;
    }
    ckpt_outbuf_init(&l->out, write, ctx, err);
    l->rank = rank, l->dims = dims, l->dtype = dtype, l->data = data;
    switch (l->t.kind) {
    case K_FLOAT:
    case K_COMPLEX:
        l->re = (floatfmt){.dtype = dtype, .width = l->t.width, .part = 0};
        floatfmt_fill(&l->re, data, n);
        l->im = (floatfmt){.dtype = dtype, .width = l->t.width, .part = 1, .plus = 1};
        if (l->t.kind == K_COMPLEX)
            floatfmt_fill(&l->im, data, n);
        l->word = word_float;
        break;
    case K_SIGNED:
    case K_UNSIGNED: {
        char b[32];
        for (uint64_t i = 0; i < n; i++) {
            int w = l->t.kind == K_SIGNED
                        ? snprintf(b, sizeof b, "%" PRId64, ckpt_elem_signed(dtype, data, i))
                        : snprintf(b, sizeof b, "%" PRIu64, ckpt_elem_unsigned(dtype, data, i));
            l->int_width = w > l->int_width ? w : l->int_width;
        }
        l->word = word_int;
        break;
    }
    default: l->bool_space = rank > 0; l->word = word_bool;
    }
    rc = run(l, n, err);
    free(l);
    return rc;
}

int ckpt_array_text_strings(int rank, const int64_t *dims, const ckpt_str *elems, uint64_t n,
                            ckpt_write_fn write, void *ctx, ckpt_err *err)
{
    uint64_t want;
    if (numel_of(rank, dims, &want) || want != n)
        return ckpt_err_set(err, CKPT_E_INVALID, "%" PRIu64 " elements do not match the shape", n);
    layout *l = calloc(1, sizeof *l);
    if (!l)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    ckpt_outbuf_init(&l->out, write, ctx, err);
    l->rank = rank, l->dims = dims, l->elems = elems;
    l->t.kind = K_STRING;
    l->word = word_string;
    int rc = run(l, n, err);
    free(l);
    return rc;
}
