/*
 * escape.c - display names for variable-name components (see escape.h for the rules).
 */
#include "escape.h"
#include "gen.h"
#include "util.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Largest cut <= max that does not split a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t max)
{
    size_t n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    return n;
}

/* Whether a plain display of s could be taken for a generated name beside a variable
 * (NAME.raw, sidecars) or, at the top, for a generated root file; or ends in the mark that
 * escapes those. */
static int looks_generated(const char *s, size_t len, int top)
{
    static const char *const suffixes[] = {".raw", ".shape", ".dtype", ".npy", ".stats"};
    char last = len > 0 ? s[len - 1] : '\0';
    if (last == '%')
        return 1;
    /* Every suffix ends in 'w', 'e', 'y' or 's': the last byte settles most names at once,
     * which matters when a mount shows a million of them. */
    for (size_t k = 0; (last == 'w' || last == 'e' || last == 'y' || last == 's') &&
                       k < sizeof suffixes / sizeof *suffixes;
         k++)
        if (ckpt_ends_with_n(s, len, suffixes[k]))
            return 1;
    for (int g = 0; top && g < CKFS_NGEN; g++)
        if (strlen(ckfs_gen_names[g]) == len && memcmp(ckfs_gen_names[g], s, len) == 0)
            return 1;
    if (top && len == 7 && memcmp(s, "by_name", 7) == 0)
        return 1;
    if (top && len == 2 && memcmp(s, "tf", 2) == 0)
        return 1;
    return 0;
}

size_t ckfs_escape_component_at(const char *s, size_t len, unsigned flags, char *out)
{
    int top = (flags & CKFS_ESC_TOP) != 0;
    int has_nul = memchr(s, '\0', len) != NULL;
    if (len > CKFS_NAME_KEEP || has_nul) {
        int n = snprintf(out, CKFS_DISPLAY_MAX + 1, "%%~%016llx~",
                         (unsigned long long)ckpt_hash64(s, len));
        size_t room = CKFS_DISPLAY_MAX - (size_t)n;
        /* Keep the start readable; the hash makes the name unique. */
        size_t keep = len > CKFS_HASHED_KEEP ? utf8_cut(s, CKFS_HASHED_KEEP) : len;
        if (keep > room)
            keep = room;
        for (size_t i = 0; i < keep; i++)
            out[n + i] = s[i] ? s[i] : '?';
        out[n + keep] = '\0';
        return (size_t)n + keep;
    }
    int lead = len == 0 || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.') ||
               s[0] == '%' || ((flags & CKFS_ESC_DOTS) && s[0] == '.');
    int trail = len > 0 && looks_generated(s, len, top);
    if (!lead && !trail)
        return 0;
    size_t o = 0;
    if (lead)
        out[o++] = '%';
    memcpy(out + o, s, len);
    o += len;
    if (trail)
        out[o++] = '%';
    out[o] = '\0';
    return o;
}

size_t ckfs_escape_component(const char *s, size_t len, char *out)
{
    return ckfs_escape_component_at(s, len, 0, out);
}
