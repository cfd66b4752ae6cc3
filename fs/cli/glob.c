/* glob.c - see glob.h. */
#include "glob.h"

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

int cli_glob_match(const char *pat, const char *name, size_t len)
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
