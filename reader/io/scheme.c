/*
 * scheme.c - see scheme.h: the one table of schemes (built from schemes.h, immutable), and
 * the opener of the remote schemes.
 */
#include "scheme.h"

#include "bytesrc_http.h"
#include "schemes.h"

#include <stdlib.h>
#include <string.h>

typedef struct scheme {
    const char *prefix;
    ckpt_scheme_open_fn *open;
} scheme;

#define CKPT_SCHEME_ENTRY(prefix, fn) {prefix, fn},
static const scheme schemes[] = {CKPT_SCHEMES(CKPT_SCHEME_ENTRY)};
#undef CKPT_SCHEME_ENTRY

/* The scheme whose prefix starts name, or NULL. */
static const scheme *scheme_of(const char *name)
{
    for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++)
        if (!strncmp(name, schemes[i].prefix, strlen(schemes[i].prefix)))
            return &schemes[i];
    return NULL;
}

int ckpt_name_is_local(const char *name)
{
    return scheme_of(name) == NULL;
}

int ckpt_name_is_site_root(const char *name)
{
    const char *rest = scheme_of(name) ? strstr(name, "://") : NULL;
    if (!rest)
        return 0;
    rest += 3;
    size_t n = strlen(rest);
    while (n && rest[n - 1] == '/')
        n--;
    return memchr(rest, '/', n) == NULL;
}

int ckpt_bytesrc_for(const char *source, const ckpt_net_opts *opts, ckpt_bytesrc **src, char **name,
                     ckpt_err *err)
{
    *src = NULL;
    *name = NULL;
    const scheme *s = scheme_of(source);
    if (s)
        return s->open(source, opts, src, name, err);
    if (!(*name = strdup(source)))
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    *src = (ckpt_bytesrc *)ckpt_bytesrc_local(); /* not owned: its release does nothing */
    return 0;
}

int ckpt__remote_scheme_open(const char *source, const ckpt_net_opts *opts, ckpt_bytesrc **src,
                             char **name, ckpt_err *err)
{
    int rc = ckpt_bytesrc_remote_new(opts, src, err);
    /* From here on the URL has no password: every name, message and xattr derives from it. */
    if (!rc && (rc = ckpt__remote_take_auth(*src, source, name, err)) != 0) {
        ckpt_bytesrc_remote_release(*src);
        *src = NULL;
    }
    return rc;
}
