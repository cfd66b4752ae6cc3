/*
 * escape.c - display names for variable-name components (see escape.h for the rules).
 */
#include "escape.h"
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

size_t ckfs_escape_component(const char *s, size_t len, char *out)
{
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
    if (len == 0 || (len == 1 && s[0] == '.') || (len == 2 && s[0] == '.' && s[1] == '.') ||
        s[0] == '%') {
        out[0] = '%';
        memcpy(out + 1, s, len);
        out[len + 1] = '\0';
        return len + 1;
    }
    return 0;
}
