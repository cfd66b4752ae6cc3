/*
 * scheme.h - from a SOURCE name to the byte source that reads it: a URL goes to the source its
 * scheme is registered with (io/private/schemes.h, one line per scheme), anything else is a
 * path of the local file system. Callers ask this, and the source's capabilities
 * (ckpt_bytesrc_caps), never whether a name "is a URL".
 */
#ifndef CKPT_SCHEME_H
#define CKPT_SCHEME_H

#include "bytesrc.h"
#include "err.h"
#include "net.h"

/*
 * The byte source that reads the files of source, and *name, source as that byte source names
 * it (malloc'd): a URL's scheme makes a new source with opts (NULL: the defaults), which may
 * rewrite the name (a password taken out, file:///p to /p); a local path gives the local
 * source and a copy. Give the source back with ckpt_bytesrc_release. Errors name source.
 */
int ckpt_bytesrc_for(const char *source, const ckpt_net_opts *opts, ckpt_bytesrc **src, char **name,
                     ckpt_err *err);

/* Non-zero if name is a path of the local file system as the user wrote it: no registered
 * scheme claims it (an archive's ARCHIVE//PATH counts when ARCHIVE does). */
int ckpt_name_is_local(const char *name);

/* Non-zero if name is a URL with nothing after its host or bucket ("s3://bucket/"): a folder,
 * there being no file to name. */
int ckpt_name_is_site_root(const char *name);

#endif
