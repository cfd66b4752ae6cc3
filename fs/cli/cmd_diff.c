/* cmd_diff.c - `ckptfs diff` (see cli.h). */
#include "cli.h"
#include "prefix.h"

#include "dtype.h"
#include "elem.h"
#include "exitcodes.h"
#include "shape.h"
#include "strtext.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* `ckptfs diff SOURCE1 SOURCE2`: what changed between two checkpoints. */
static int cli_diff(int argc, char **argv);

const cli_command cli_diff_command = {
    "diff",
    cli_diff,
    "compare two checkpoints variable by variable",
    "usage: ckptfs diff [--atol A] [--rtol R] [--equal-nan] [--summary DEPTH] SOURCE1 SOURCE2\n"
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
    "  --atol A, --rtol R, --equal-nan   a tensor is the same when every element whose bytes\n"
    "            differ is close: numpy.isclose(new, old, rtol=R, atol=A, equal_nan=...), i.e.\n"
    "            |new - old| <= A + R * |old| (old from SOURCE1; an option not given is 0).\n"
    "            Changed lines then add not_close N (elements outside the tolerance), and the\n"
    "            summary line says how many of the same were within tolerance.\n"
    "  --summary DEPTH   before the summary, one line per name prefix of DEPTH components:\n"
    "            # PREFIX<TAB>same N<TAB>changed N<TAB>added N<TAB>removed N<TAB>max_abs_diff X\n"
    "            (X the largest max_abs_diff of its tensors that were compared value by value,\n"
    "            within tolerance or not; nan if one held a NaN on one side only; '-' if none).\n"
    "Exit status: 0 identical, 1 different, 2 or more trouble (as listed in ckptfs(1)).\n",
};

/* Read in pieces of this size: a tensor is never held whole. */
#define DIFF_CHUNK (4u << 20)

typedef struct diffstats {
    uint64_t same_skipped, same_read, changed, added, removed;
    uint64_t within; /* of same_read: differ only within the tolerance */
} diffstats;

/* --atol/--rtol/--equal-nan: on when any was given. */
typedef struct tolerance {
    int on, equal_nan;
    double atol, rtol;
} tolerance;

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
    uint64_t not_close; /* with a tolerance: elements outside it */
} maxdiff;

/*
 * numpy.isclose(new=b, old=a): NaN only with equal_nan and NaN on both sides, infinities only
 * when equal, else |b - a| <= atol + rtol * |a| (complex: moduli, as numpy).
 */
static int is_close(const tolerance *t, int cls, double ar, double ai, double br, double bi)
{
    int an = isnan(ar) || isnan(ai), bn = isnan(br) || isnan(bi);
    if (an || bn)
        return t->equal_nan && an && bn;
    if (ar == br && ai == bi)
        return 1;
    if (isinf(ar) || isinf(ai) || isinf(br) || isinf(bi))
        return 0;
    double d = cls == CKPT_ELEM_COMPLEX ? hypot(br - ar, bi - ai) : fabs(br - ar);
    double mag = cls == CKPT_ELEM_COMPLEX ? hypot(ar, ai) : fabs(ar);
    return d <= t->atol + t->rtol * mag;
}

static void compare_values(int dtype, const uint8_t *a, const uint8_t *b, uint64_t n, maxdiff *m,
                           const tolerance *t)
{
    int cls = ckpt_elem_class(dtype);
    size_t esize = ckpt_dtype_size(dtype);
    for (uint64_t i = 0; i < n; i++) {
        double ar, ai, br, bi;
        value(dtype, cls, a, i, &ar, &ai);
        value(dtype, cls, b, i, &br, &bi);
        /* an element stored alike is unchanged whatever it holds (a NaN that stayed NaN) */
        if (t->on && memcmp(a + i * esize, b + i * esize, esize) != 0 &&
            !is_close(t, cls, ar, ai, br, bi))
            m->not_close++;
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
                       const ckpt_var *v, maxdiff *m, const tolerance *t, ckpt_err *err)
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
            compare_values(v->dtype, a, b, ga / esize, m, t);
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

/* What a comparison found, for --summary. */
enum { DIFF_SAME, DIFF_CHANGED, DIFF_TROUBLE };

/*
 * One variable present in both: print its difference, if any; the trouble exit status or 0.
 * *kind says what it was; *abs the max_abs_diff of changed values (NaN when a NaN appeared on
 * one side only), -1 when no values were compared.
 */
static int diff_one(const char *const src[2], ckpt_checkpoint *c[2], size_t i1, size_t i2,
                    const tolerance *t, diffstats *st, int *kind, double *abs)
{
    *kind = DIFF_CHANGED;
    *abs = -1;
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
        *kind = DIFF_SAME;
        return 0;
    }
    maxdiff m = {0, 0, 0, 0};
    ckpt_err err;
    ckpt_err_clear(&err);
    int rc = compare_var(c[0], i1, c[1], i2, &a, &m, t, &err);
    if (rc == 1 && t->on && ckpt_elem_class(a.dtype) != CKPT_ELEM_NONE && m.not_close == 0) {
        st->within++;
        *abs = m.abs;
        st->same_read++;
        *kind = DIFF_SAME;
        return 0;
    }
    if (rc < 0) {
        *kind = DIFF_TROUBLE;
        /* which side failed is in the message: it names the shard or the file */
        cli_error(src[0], err.msg);
        return rc == CKPT_E_MISSING   ? CKPTFS_EXIT_SHARD
               : rc == CKPT_E_CORRUPT ? CKPTFS_EXIT_CORRUPT
                                      : CKPTFS_EXIT_READ;
    }
    if (rc == 0) {
        st->same_read++;
        *kind = DIFF_SAME;
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
    if (t->on)
        printf("\tnot_close %" PRIu64, m.not_close);
    putchar('\n');
    *abs = m.nan ? NAN : m.abs;
    return 0;
}

/* A tolerance: a finite number >= 0. */
static int parse_tol(const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(*out) || *out < 0)
        return cli_usage_error(&cli_diff_command, "%s takes a number >= 0, not '%s'", opt, s);
    return 0;
}

/* Count a variable's outcome in its group of --summary. abs: see diff_one. */
static int summarize(cli_prefixes *t, int depth, const ckpt_var *v, char mark, double abs)
{
    cli_prefix *g = cli_prefixes_get(t, v->name, cli_prefix_len(v->name, v->name_len, depth));
    if (!g)
        return -1;
    switch (mark) {
    case '-': g->removed++; break;
    case '+': g->added++; break;
    case '=': g->same++; break;
    default: g->changed++; break;
    }
    if (abs < 0) /* no values compared: skipped by checksum, dtype, shape, strings */
        return 0;
    /* a NaN on one side only says more than any number: it stays */
    if (!g->has_max)
        g->max_abs = abs;
    else if (!isnan(g->max_abs) && (isnan(abs) || abs > g->max_abs))
        g->max_abs = abs;
    g->has_max = 1;
    return 0;
}

static void put_summary(cli_prefixes *t)
{
    cli_prefixes_sort_by_name(t);
    for (size_t k = 0; k < t->n; k++) {
        const cli_prefix *g = &t->items[k];
        size_t n = ckpt_tstring_escape((const uint8_t *)g->name, g->len, NULL);
        char *e = malloc(n + 1);
        if (!e)
            continue;
        ckpt_tstring_escape((const uint8_t *)g->name, g->len, e);
        printf("# %.*s\tsame %" PRIu64 "\tchanged %" PRIu64 "\tadded %" PRIu64 "\tremoved %" PRIu64
               "\tmax_abs_diff ",
               (int)n, e, g->same, g->changed, g->added, g->removed);
        free(e);
        if (g->has_max)
            put_double(g->max_abs);
        else
            putchar('-');
        putchar('\n');
    }
}

static int cli_diff(int argc, char **argv)
{
    if (cli_wants_help(argc, argv))
        return cli_help(&cli_diff_command);
    const char *src[2] = {NULL, NULL};
    const char *atol_s = NULL, *rtol_s = NULL, *summary_s = NULL;
    tolerance tol = {0, 0, 0, 0};
    int npos = 0;
    const cli_opt opts[] = {{"--atol", NULL, &atol_s},
                            {"--rtol", NULL, &rtol_s},
                            {"--equal-nan", &tol.equal_nan, NULL},
                            {"--summary", NULL, &summary_s},
                            {NULL, NULL, NULL}};
    int rc = cli_parse_args(&cli_diff_command, argc, argv, opts, src, 2, &npos);
    if (rc)
        return rc;
    if (npos != 2)
        return cli_usage_error(&cli_diff_command, "expected SOURCE1 and SOURCE2");
    if ((atol_s && (rc = parse_tol("--atol", atol_s, &tol.atol))) ||
        (rtol_s && (rc = parse_tol("--rtol", rtol_s, &tol.rtol))))
        return rc;
    tol.on = atol_s || rtol_s || tol.equal_nan;
    long depth = -1;
    if (summary_s) {
        char *end;
        errno = 0;
        depth = strtol(summary_s, &end, 10);
        if (errno || end == summary_s || *end || depth < 1 || depth > 1000000)
            return cli_usage_error(&cli_diff_command, "--summary takes a depth >= 1, not '%s'",
                                   summary_s);
    }
    cli_prefixes groups = {0};
    int nomem = 0;
    ckpt_checkpoint *c[2] = {NULL, NULL};
    rc = cli_open_source(src[0], &c[0]);
    if (!rc)
        rc = cli_open_source(src[1], &c[1]);
    if (rc) {
        ckpt_close(c[0]);
        return rc;
    }
    diffstats st = {0, 0, 0, 0, 0, 0};
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
            if (depth >= 0)
                nomem |= summarize(&groups, (int)depth, &a, '-', -1);
            i++;
        } else if (cmp > 0) {
            line_only('+', &b);
            st.added++;
            if (depth >= 0)
                nomem |= summarize(&groups, (int)depth, &b, '+', -1);
            j++;
        } else {
            int kind;
            double abs;
            int t = diff_one(src, c, i, j, &tol, &st, &kind, &abs);
            if (t && !trouble)
                trouble = t;
            if (depth >= 0 && kind != DIFF_TROUBLE)
                nomem |= summarize(&groups, (int)depth, &a, kind == DIFF_SAME ? '=' : '~', abs);
            i++, j++;
        }
    }
    if (depth >= 0 && !nomem)
        put_summary(&groups);
    printf("= %" PRIu64 " same (%" PRIu64 " by equal crc32c and size, not read; %" PRIu64
           " read), %" PRIu64 " changed, %" PRIu64 " added, %" PRIu64 " removed",
           st.same_skipped + st.same_read, st.same_skipped, st.same_read, st.changed, st.added,
           st.removed);
    if (tol.on)
        printf("; %" PRIu64 " of the same within tolerance", st.within);
    putchar('\n');
    cli_prefixes_free(&groups);
    ckpt_close(c[0]);
    ckpt_close(c[1]);
    if (nomem) {
        cli_error(src[1], "out of memory");
        return CKPTFS_EXIT_READ;
    }
    if (fflush(stdout) != 0) {
        cli_error(src[1], "writing to stdout failed");
        return CKPTFS_EXIT_READ;
    }
    if (trouble)
        return trouble;
    return st.changed || st.added || st.removed ? 1 : 0;
}
