/*
 * schemes.h - the URL schemes the reader serves: one line each in CKPT_SCHEMES, the scheme's
 * prefix and the function that opens its byte source (its signature is ckpt_scheme_open_fn).
 * A new scheme is one file defining that function and one line here; nothing else in the
 * reader or the daemon asks for a scheme (scheme.h).
 */
#ifndef CKPT_SCHEMES_H
#define CKPT_SCHEMES_H

#include "bytesrc.h"
#include "err.h"
#include "net.h"

/* Open a byte source for source (which starts with the scheme's prefix); *name is source as
 * the new source names it (malloc'd). See ckpt_bytesrc_for. */
typedef int ckpt_scheme_open_fn(const char *source, const ckpt_net_opts *opts, ckpt_bytesrc **src,
                                char **name, ckpt_err *err);

#define CKPT_SCHEMES(X)                                                                            \
    X("http://", ckpt__remote_scheme_open)                                                         \
    X("https://", ckpt__remote_scheme_open)                                                        \
    X("s3://", ckpt__remote_scheme_open)                                                           \
    X("gs://", ckpt__remote_scheme_open)                                                           \
    X("file://", ckpt__file_scheme_open)                                                           \
    /* (the list's end: a new scheme is one line above this one) */

/* Each opener's declaration. */
#define CKPT_SCHEME_DECLARE(prefix, fn) ckpt_scheme_open_fn fn;
CKPT_SCHEMES(CKPT_SCHEME_DECLARE)
#undef CKPT_SCHEME_DECLARE

#endif
