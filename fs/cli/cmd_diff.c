/* cmd_diff.c - `ckptfs diff` (see cli.h). */
#include "cli.h"

#include "dtype.h"
#include "elem.h"
#include "exitcodes.h"
#include "shape.h"
#include "strtext.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const cli_command cli_diff_command = {
    "diff", cli_diff, "compare two checkpoints variable by variable",
    "usage: ckptfs diff SOURCE1 SOURCE2\n"
    "Compare two checkpoints (e.g. two steps of one training run; a folder means its latest\n"
    "checkpoint). One line per difference, tab after the name, names escaped as in ls:\n"
    "  - NAME<TAB>DTYPE<TAB>SHAPE          only in SOURCE1 (removed)\n"
    "  + NAME<TAB>DTYPE<TAB>SHAPE          only in SOURCE2 (added)\n"
    "  ~ NAME<TAB>dtype A -> B             dtype changed\n"
    "  ~ NAME<TAB>shape [..] -> [..]       shape changed\n"
    "  ~ NAME<TAB>max_abs_diff X<TAB>max_rel_diff Y   numeric values changed\n"
    "  ~ NAME<TAB>values differ            string, variant or resource values changed\n"
    "then a summary line starting with '='. X is the largest |b - a| over the elements,\n"
    "Y the largest |b - a| / |a| over the elements that differ (a from SOURCE1; inf where\n"
    "a is 0), both computed in float64 (complex: moduli); a NaN on one side only makes\n"
    "them nan. Numbers are the shortest decimals that read back to the float64.\n"
    "Tensors whose stored crc32c and byte size are equal on both sides are taken as equal\n"
    "without being read (so two steps of one run read only what changed); the others are\n"
    "read, checksums verified.\n"
    "Exit status: 0 identical, 1 different, 2 or more trouble (as listed in ckptfs(1)).\n",
};

/* Read in pieces of this size: a tensor is never held whole. */
#define DIFF_CHUNK (4u << 20)

typedef struct diffstats {
    uint64_t same_skipped, same_read, changed, added, removed;
} diffstats;

/* The shortest decimal that reads back to x (as Python's repr). */
static void put_double(double x)
{
    char b[40];
    if (isnan(x)) {
        fputs("nan", stdout);
        return;
    }
    if (isinf(x)) {
        fputs(x < 0 ? "-inf" : "inf", stdout);
        return;
    }
    if (x == floor(x) && fabs(x) < 1e16) { /* "10", not "1e+01" */
        printf("%.0f", x);
        return;
    }
    for (int p = 1; p <= 17; p++) {
        snprintf(b, sizeof b, "%.*g", p, x);
        if (strtod(b, NULL) == x)
            break;
    }
    fputs(b, stdout);
}

static void put_name(const ckpt_var *v)
{
    size_t n = ckpt_tstring_escape((const uint8_t *)v->name, v->name_len, NULL);
    char *e = malloc(n + 1);
    if (e) {
        ckpt_tstring_escape((const uint8_t *)v->name, v->name_len, e);
        fwrite(e, 1, n, stdout);
        free(e);
    }
}

static void put_shape(const ckpt_var *v)
{
    size_t n = ckpt_shape_format(v->rank, v->dims, NULL, 0);
    char *s = malloc(n + 1);
    if (s) {
        ckpt_shape_format(v->rank, v->dims, s, n + 1);
        fputs(s, stdout);
        free(s);
    }
}

static void line_only(char mark, const ckpt_var *v)
{
    char dt[32];
    printf("%c ", mark);
    put_name(v);
    printf("\t%s\t", ckpt_dtype_name(v->dtype, dt, sizeof dt));
    put_shape(v);
    putchar('\n');
}

/* Element i as a complex double (imaginary part 0 for real types). */
static void value(int dtype, int cls, const uint8_t *p, uint64_t i, double *re, double *im)
{
    *im = 0;
    switch (cls) {
    case CKPT_ELEM_FLOAT: *re = ckpt_elem_float(dtype, p, i, 0); break;
    case CKPT_ELEM_COMPLEX:
        *re = ckpt_elem_float(dtype, p, i, 0);
        *im = ckpt_elem_float(dtype, p, i, 1);
        break;
    case CKPT_ELEM_SIGNED: *re = (double)ckpt_elem_signed(dtype, p, i); break;
    default: *re = (double)ckpt_elem_unsigned(dtype, p, i); break;
    }
}

typedef struct maxdiff {
    double abs, rel;
    int nan;
} maxdiff;

static void compare_values(int dtype, const uint8_t *a, const uint8_t *b, uint64_t n, maxdiff *m)
{
    int cls = ckpt_elem_class(dtype);
    for (uint64_t i = 0; i < n; i++) {
        double ar, ai, br, bi;
        value(dtype, cls, a, i, &ar, &ai);
        value(dtype, cls, b, i, &br, &bi);
        int an = isnan(ar) || isnan(ai), bn = isnan(br) || isnan(bi);
        if (an || bn) {
            m->nan |= an != bn;
            continue;
        }
        if (ar == br && ai == bi)
            continue;
        double d = cls == CKPT_ELEM_COMPLEX ? hypot(br - ar, bi - ai) : fabs(br - ar);
        double mag = cls == CKPT_ELEM_COMPLEX ? hypot(ar, ai) : fabs(ar);
        double r = d / mag; /* inf when a is 0 */
        if (d > m->abs || isnan(d))
            m->abs = d;
        if (r > m->rel || isnan(r))
            m->rel = r;
    }
}

/*
 * Compare variable i1 of c1 with i2 of c2 (same dtype and shape): 0 equal, 1 different, or a
 * negative CKPT_E_* with err set.
 */
static int compare_var(ckpt_checkpoint *c1, size_t i1, ckpt_checkpoint *c2, size_t i2,
                       const ckpt_var *v, maxdiff *m, ckpt_err *err)
{
    int cls = ckpt_elem_class(v->dtype);
    size_t esize = ckpt_dtype_size(v->dtype);
    if (cls == CKPT_ELEM_NONE || esize == 0) {
        /* strings, variants: their stored encodings, both checksums verified by the read */
        uint8_t *a = NULL, *b = NULL;
        size_t la, lb;
        int rc = ckpt_read_all(c1, i1, &a, &la, err);
        if (!rc)
            rc = ckpt_read_all(c2, i2, &b, &lb, err);
        if (!rc)
            rc = la != lb || memcmp(a, b, la) != 0;
        free(a);
        free(b);
        return rc;
    }
    size_t chunk = DIFF_CHUNK - DIFF_CHUNK % esize;
    uint8_t *a = malloc(chunk), *b = malloc(chunk);
    int rc = a && b ? 0 : ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    ckpt_crc_state sa = {0, 0}, sb = {0, 0};
    int differ = 0;
    for (uint64_t off = 0; !rc && off < v->nbytes;) {
        size_t ga, gb;
        rc = ckpt_read(c1, i1, a, chunk, off, &ga, &sa, err);
        if (!rc)
            rc = ckpt_read(c2, i2, b, chunk, off, &gb, &sb, err);
        if (rc)
            break;
        if (ga != gb || ga == 0 || ga % esize) {
            rc = ckpt_err_set(err, CKPT_E_IO, "short read at offset %" PRIu64, off);
            break;
        }
        if (memcmp(a, b, ga) != 0) {
            differ = 1;
            compare_values(v->dtype, a, b, ga / esize, m);
        }
        off += ga;
    }
    free(a);
    free(b);
    return rc ? rc : differ;
}

static int names_cmp(const ckpt_var *a, const ckpt_var *b)
{
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(a->name, b->name, n);
    return c ? c : (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

static int same_shape(const ckpt_var *a, const ckpt_var *b)
{
    if (a->rank != b->rank)
        return 0;
    for (int d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d])
            return 0;
    return 1;
}

/* One variable present in both: print its difference, if any; the trouble exit status or 0. */
static int diff_one(const char *const src[2], ckpt_checkpoint *c[2], size_t i1, size_t i2,
                    diffstats *st)
{
    ckpt_var a, b;
    ckpt_get(c[0], i1, &a);
    ckpt_get(c[1], i2, &b);
    char d1[32], d2[32];
    if (a.dtype != b.dtype) {
        printf("~ ");
        put_name(&a);
        printf("\tdtype %s -> %s\n", ckpt_dtype_name(a.dtype, d1, sizeof d1),
               ckpt_dtype_name(b.dtype, d2, sizeof d2));
        st->changed++;
        return 0;
    }
    if (!same_shape(&a, &b)) {
        printf("~ ");
        put_name(&a);
        printf("\tshape ");
        put_shape(&a);
        printf(" -> ");
        put_shape(&b);
        putchar('\n');
        st->changed++;
        return 0;
    }
    if ((a.flags & b.flags & CKPT_VAR_HAS_CRC) && a.crc32c == b.crc32c && a.nbytes == b.nbytes) {
        st->same_skipped++;
        return 0;
    }
    maxdiff m = {0, 0, 0};
    ckpt_err err;
    ckpt_err_clear(&err);
    int rc = compare_var(c[0], i1, c[1], i2, &a, &m, &err);
    if (rc < 0) {
        /* which side failed is in the message: it names the shard or the file */
        cli_error(src[0], err.msg);
        return rc == CKPT_E_MISSING ? CKPTFS_EXIT_SHARD
               : rc == CKPT_E_CORRUPT ? CKPTFS_EXIT_CORRUPT : CKPTFS_EXIT_READ;
    }
    if (rc == 0) {
        st->same_read++;
        return 0;
    }
    st->changed++;
    printf("~ ");
    put_name(&a);
    if (ckpt_elem_class(a.dtype) == CKPT_ELEM_NONE) {
        printf("\tvalues differ\n");
        return 0;
    }
    printf("\tmax_abs_diff ");
    put_double(m.nan ? NAN : m.abs);
    printf("\tmax_rel_diff ");
    put_double(m.nan ? NAN : m.rel);
    putchar('\n');
    return 0;
}

int cli_diff(int argc, char **argv)
{
    if (cli_wants_help(argc, argv))
        return cli_help(&cli_diff_command);
    const char *src[2] = {NULL, NULL};
    int npos = 0;
    int rc = cli_parse_args(&cli_diff_command, argc, argv, NULL, src, 2, &npos);
    if (rc)
        return rc;
    if (npos != 2)
        return cli_usage_error(&cli_diff_command, "expected SOURCE1 and SOURCE2");
    ckpt_checkpoint *c[2] = {NULL, NULL};
    rc = cli_open_source(src[0], &c[0]);
    if (!rc)
        rc = cli_open_source(src[1], &c[1]);
    if (rc) {
        ckpt_close(c[0]);
        return rc;
    }
    diffstats st = {0, 0, 0, 0, 0};
    int trouble = 0;
    size_t i = 0, j = 0, n1 = ckpt_count(c[0]), n2 = ckpt_count(c[1]);
    while (i < n1 || j < n2) {
        ckpt_var a, b;
        if (i < n1)
            ckpt_get(c[0], i, &a);
        if (j < n2)
            ckpt_get(c[1], j, &b);
        int cmp = i >= n1 ? 1 : j >= n2 ? -1 : names_cmp(&a, &b);
        if (cmp < 0) {
            line_only('-', &a);
            st.removed++;
            i++;
        } else if (cmp > 0) {
            line_only('+', &b);
            st.added++;
            j++;
        } else {
            int t = diff_one(src, c, i, j, &st);
            if (t && !trouble)
                trouble = t;
            i++, j++;
        }
    }
    printf("= %" PRIu64 " same (%" PRIu64 " by equal crc32c and size, not read; %" PRIu64
           " read), %" PRIu64 " changed, %" PRIu64 " added, %" PRIu64 " removed\n",
           st.same_skipped + st.same_read, st.same_skipped, st.same_read, st.changed, st.added,
           st.removed);
    ckpt_close(c[0]);
    ckpt_close(c[1]);
    if (fflush(stdout) != 0) {
        cli_error(src[1], "writing to stdout failed");
        return CKPTFS_EXIT_READ;
    }
    if (trouble)
        return trouble;
    return st.changed || st.added || st.removed ? 1 : 0;
}
