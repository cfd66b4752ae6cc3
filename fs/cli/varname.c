/* varname.c - variable names as the commands take them (see varname.h). */
#include "varname.h"

#include "cli.h"
#include "glob.h"
#include "strtext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_find_var(const ckpt_checkpoint *c, const ckpt_names *names, const char *name, size_t len,
                 int exact, size_t *idx)
{
    if (ckpt_find(c, name, len, idx) == 0)
        return 0;
    if (!exact && len > 2 && !memcmp(name + len - 2, ":0", 2) &&
        ckpt_find(c, name, len - 2, idx) == 0)
        return 0;
    if (ckpt_find_path(c, name, len, idx) == 0)
        return 0;
    size_t count;
    return ckpt_names_find(names, name, len, idx, &count);
}

/* Candidates longer than this are not compared: the distance is for typos, not essays. */
enum { CMP_MAX = 256, SUGGEST = 3 };

/* Edit distance of a and b, or limit + 1 when it exceeds limit (a banded computation). */
static size_t distance(const char *a, size_t al, const char *b, size_t bl, size_t limit)
{
    if (al > CMP_MAX || bl > CMP_MAX || (al > bl ? al - bl : bl - al) > limit)
        return limit + 1;
    size_t row[CMP_MAX + 1];
    for (size_t j = 0; j <= bl; j++)
        row[j] = j;
    for (size_t i = 1; i <= al; i++) {
        size_t diag = row[0], best = row[0] = i;
        for (size_t j = 1; j <= bl; j++) {
            size_t up = row[j];
            size_t v = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < v)
                v = up + 1;
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            row[j] = v;
            diag = up;
            if (v < best)
                best = v;
        }
        if (best > limit)
            return limit + 1;
    }
    return row[bl];
}

typedef struct pick {
    size_t dist, var;
    int what; /* 0 key, 1 visible path, 2 full_name */
} pick;

static void consider(pick *best, size_t *nbest, size_t dist, size_t var, int what)
{
    for (size_t k = 0; k < *nbest; k++)
        if (best[k].var == var) {
            if (dist < best[k].dist)
                best[k] = (pick){dist, var, what};
            return;
        }
    size_t at;
    if (*nbest < SUGGEST)
        at = (*nbest)++;
    else if (best[SUGGEST - 1].dist > dist)
        at = SUGGEST - 1;
    else
        return;
    best[at] = (pick){dist, var, what};
    for (size_t k = at; k > 0 && best[k].dist < best[k - 1].dist; k--) {
        pick t = best[k];
        best[k] = best[k - 1];
        best[k - 1] = t;
    }
}

static void put_escaped(char *buf, size_t size, size_t *o, const char *s, size_t len)
{
    size_t n = ckpt_tstring_escape((const uint8_t *)s, len, NULL);
    char *esc = malloc(n + 1);
    if (!esc)
        return;
    esc[ckpt_tstring_escape((const uint8_t *)s, len, esc)] = 0;
    int w = snprintf(buf + *o, size - *o, "%.200s", esc);
    if (w > 0)
        *o = *o + (size_t)w < size ? *o + (size_t)w : size - 1;
    free(esc);
}

static void append(char *buf, size_t size, size_t *o, const char *s)
{
    put_escaped(buf, size, o, s, strlen(s));
}

void cli_no_such_var(const char *source, const ckpt_checkpoint *c, const ckpt_names *names,
                     const char *name, size_t len)
{
    char msg[1536];
    size_t o = 0;
    append(msg, sizeof msg, &o, "no variable named \"");
    put_escaped(msg, sizeof msg, &o, name, len);
    size_t idx, count;
    if (ckpt_names_find(names, name, len, &idx, &count) == CKPT_E_INVALID) {
        int w = snprintf(msg + o, sizeof msg - o,
                         "\": %zu variables have that full_name; name one by key or as "
                         "by_name/ does (",
                         count);
        o += w > 0 ? (size_t)w : 0;
        size_t shown = 0;
        for (size_t j = 0; j < ckpt_names_links(names) && shown < 4 && o < sizeof msg - 64; j++) {
            size_t ll, var, fl;
            const char *ln = ckpt_names_link(names, j, &ll, &var);
            const char *fn = ckpt_names_full(names, var, &fl);
            if (fn && fl == len && memcmp(fn, name, len) == 0) {
                append(msg, sizeof msg, &o, shown++ ? ", " : "");
                put_escaped(msg, sizeof msg, &o, ln, ll);
            }
        }
        append(msg, sizeof msg, &o, ")");
        cli_error(source, msg);
        return;
    }
    pick best[SUGGEST];
    size_t nbest = 0, limit = len / 3 + 2;
    for (size_t i = 0; i < ckpt_count(c); i++) {
        size_t kl, pl, fl;
        const char *k = ckpt_name(c, i, &kl);
        const char *p = ckpt_path(c, i, &pl);
        const char *f = ckpt_names_full(names, i, &fl);
        size_t cap = nbest == SUGGEST ? best[SUGGEST - 1].dist : limit;
        size_t d = distance(name, len, k, kl, cap);
        if (d <= cap)
            consider(best, &nbest, d, i, 0);
        if (pl != kl && (d = distance(name, len, p, pl, cap)) <= cap)
            consider(best, &nbest, d, i, 1);
        if (f && (d = distance(name, len, f, fl, cap)) <= cap)
            consider(best, &nbest, d, i, 2);
    }
    if (nbest == 0) {
        append(msg, sizeof msg, &o, "\" (ckptfs ls lists them)");
    } else {
        append(msg, sizeof msg, &o, "\"; did you mean ");
        for (size_t k = 0; k < nbest; k++) {
            size_t l;
            const char *s = best[k].what == 0   ? ckpt_name(c, best[k].var, &l)
                            : best[k].what == 1 ? ckpt_path(c, best[k].var, &l)
                                                : ckpt_names_full(names, best[k].var, &l);
            append(msg, sizeof msg, &o, k ? ", \"" : "\"");
            put_escaped(msg, sizeof msg, &o, s, l);
            append(msg, sizeof msg, &o, "\"");
        }
        append(msg, sizeof msg, &o, "?");
    }
    cli_error(source, msg);
}

int cli_var_matches(const char *pat, const ckpt_checkpoint *c, const ckpt_names *names, size_t i)
{
    size_t kl, pl, fl;
    const char *k = ckpt_name(c, i, &kl);
    if (cli_glob_match(pat, k, kl))
        return 1;
    const char *p = ckpt_path(c, i, &pl);
    if (pl != kl && cli_glob_match(pat, p, pl))
        return 1;
    const char *f = ckpt_names_full(names, i, &fl);
    return f && cli_glob_match(pat, f, fl);
}

ckpt_names *cli_load_names(const char *source, ckpt_checkpoint *c)
{
    ckpt_names *n = NULL;
    ckpt_err err;
    if (ckpt_names_load(c, &n, &err)) {
        char msg[CKPT_ERR_MSG_MAX + 64];
        snprintf(msg, sizeof msg, "warning: %s (full names not shown)", err.msg);
        cli_error(source, msg);
        return NULL;
    }
    return n;
}
