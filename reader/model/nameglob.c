/* nameglob.c - see nameglob.h (moved from fs/cli/glob.c so that a mount can filter too). */
#include "nameglob.h"

#include <stdlib.h>
#include <string.h>

/* Match byte c against the set at *pp (just after '['): 1 or 0, and *pp past the ']'; -1 when
 * the set is not closed (the '[' is then a literal). */
static int match_set(const unsigned char **pp, unsigned char c)
{
    const unsigned char *p = *pp;
    int neg = *p == '!'; /* '^' is literal, as in Python's fnmatch */
    if (neg)
        p++;
    int hit = 0, first = 1;
    while (*p && (*p != ']' || first)) {
        first = 0;
        unsigned char lo = *p++, hi = lo;
        if (*p == '-' && p[1] && p[1] != ']') {
            hi = p[1];
            p += 2;
        }
        hit |= lo <= c && c <= hi;
    }
    if (*p != ']')
        return -1;
    *pp = p + 1;
    return hit != neg;
}

int ckpt_glob_match(const char *pat, const char *name, size_t len)
{
    const unsigned char *p = (const unsigned char *)pat, *s = (const unsigned char *)name;
    const unsigned char *end = s + len;
    /* The last '*' seen and where its run ended: on a mismatch, let it take one more byte. */
    const unsigned char *star = 0, *star_s = 0;
    while (s < end || *p) {
        if (*p == '*') {
            star = ++p;
            star_s = s;
            continue;
        }
        if (s < end && *p) {
            const unsigned char *q = p + 1;
            int ok;
            if (*p == '?') {
                ok = 1;
            } else if (*p == '[') {
                ok = match_set(&q, *s);
                if (ok < 0) { /* unclosed: a literal '[' */
                    ok = *s == '[';
                    q = p + 1;
                }
            } else {
                ok = *p == *s;
            }
            if (ok) {
                p = q;
                s++;
                continue;
            }
        }
        if (!star || star_s >= end)
            return 0;
        p = star;
        s = ++star_s;
    }
    return 1;
}

/* Whether name matches one of the ':'-separated globs of list (empty globs match nothing). */
static int match_list(const char *list, const char *name, size_t len)
{
    char small[256];
    for (const char *p = list; *p;) {
        size_t m = strcspn(p, ":");
        if (m) {
            char *pat = m < sizeof small ? small : malloc(m + 1);
            if (!pat)
                return 0;
            memcpy(pat, p, m);
            pat[m] = 0;
            int hit = ckpt_glob_match(pat, name, len);
            if (pat != small)
                free(pat);
            if (hit)
                return 1;
        }
        p += m + (p[m] == ':');
    }
    return 0;
}

int ckpt_namefilter_add(ckpt_namefilter *f, int include, const char *list)
{
    char **slot = include ? &f->include : &f->exclude;
    size_t old = *slot ? strlen(*slot) : 0, add = strlen(list);
    char *s = realloc(*slot, old + add + 2);
    if (!s)
        return CKPT_E_NOMEM;
    if (old)
        s[old++] = ':';
    memcpy(s + old, list, add + 1);
    *slot = s;
    return 0;
}

int ckpt_namefilter_active(const ckpt_namefilter *f)
{
    return (f->include && *f->include) || (f->exclude && *f->exclude);
}

/* Whether variable i's key, visible path or full_name matches a glob of list. */
static int var_matches(const ckpt_namefilter *f, const char *list, const ckpt_checkpoint *c,
                       size_t i)
{
    size_t kl, pl, fl;
    const char *k = ckpt_name(c, i, &kl);
    if (match_list(list, k, kl))
        return 1;
    const char *p = ckpt_path(c, i, &pl);
    if (pl != kl && match_list(list, p, pl))
        return 1;
    const char *full = ckpt_names_full(f->names, i, &fl);
    return full && match_list(list, full, fl);
}

/*
 * Whether variable i of c is kept (f a ckpt_namefilter; the ckpt_hide callback): a glob
 * matches it when it matches its key, its visible path (ckpt_path) or its full_name (f->names),
 * as `ckptfs ls PATTERN`. Kept: an include glob matches (or there is none) and no exclude glob.
 */
static int ckpt_namefilter_keep_var(void *ctx, const ckpt_checkpoint *c, size_t i)
{
    const ckpt_namefilter *f = ctx;
    if (f->include && *f->include && !var_matches(f, f->include, c, i))
        return 0;
    return !(f->exclude && *f->exclude && var_matches(f, f->exclude, c, i));
}

int ckpt_namefilter_apply(ckpt_namefilter *f, ckpt_checkpoint *c, ckpt_err *err)
{
    ckpt_names *names = NULL;
    ckpt_err ignored;
    if (ckpt_names_load(c, &names, &ignored))
        names = NULL;
    f->names = names;
    int rc = ckpt_hide(c, ckpt_namefilter_keep_var, f, err);
    f->names = NULL;
    ckpt_names_free(names);
    return rc;
}

void ckpt_namefilter_free(ckpt_namefilter *f)
{
    free(f->include);
    free(f->exclude);
    f->include = f->exclude = NULL;
}
