/*
 * bytesrc_file.c - file:// URLs (RFC 8089): file:///PATH and file://localhost/PATH name the
 * local path /PATH (percent-escapes decoded), read by the local byte source, so everything a
 * local path can do (listing, following a folder, splice) a file URL does too.
 */
#include "schemes.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int ckpt__file_scheme_open(const char *source, const ckpt_net_opts *opts, ckpt_bytesrc **src,
                           char **name, ckpt_err *err)
{
    (void)opts;
    const char *p = source + strlen("file://");
    if (!strncmp(p, "localhost/", strlen("localhost/")))
        p += strlen("localhost");
    if (*p != '/')
        return ckpt_err_set(err, CKPT_E_INVALID,
                            "%s: a file URL names a local absolute path: file:///PATH", source);
    char *path = malloc(strlen(p) + 1), *o = path;
    if (!path)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    for (; *p; p++) {
        char hex[3] = {0};
        if (p[0] == '%' && p[1] && p[2])
            memcpy(hex, p + 1, 2);
        long c = isxdigit((unsigned char)hex[0]) && isxdigit((unsigned char)hex[1])
                     ? strtol(hex, NULL, 16)
                     : -1;
        if (c > 0) { /* %00 would cut the path short: kept as written */
            *o++ = (char)c;
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    *src = (ckpt_bytesrc *)ckpt_bytesrc_local();
    *name = path;
    return 0;
}
