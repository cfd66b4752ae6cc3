/*
 * resolve.h - the one resolver: it turns any SOURCE string (a local path, a URL, an archive
 * or a place inside one) into the byte source that reads it and the prefix to open.
 *
 * Every command and the mount call ckpt_source_resolve / ckpt_open_any, so a URL works wherever
 * a path does. The byte sources themselves (local, remote: io/net.h, archives: io/archive.h)
 * know files, not checkpoints; the format code above the seam does not know the difference.
 */
#ifndef CKPT_RESOLVE_H
#define CKPT_RESOLVE_H

#include "bytesrc.h"
#include "checkpoint.h"
#include "err.h"
#include "net.h"
#include "scheme.h"

/* What a SOURCE string resolved to. */
typedef struct ckpt_source {
    const ckpt_bytesrc *src; /* reads every file of the checkpoint */
    char *prefix;            /* what ckpt_open_src opens: for a URL the V2 prefix or V1 file
                                it resolved to; for a path the path (checked to resolve);
                                with folder set, the training folder (folder.h) */
    int folder;              /* CKPT_RESOLVE_FOLDER found a training folder */
    char *saved_model;       /* the saved_model.pb when SOURCE is a SavedModel, else NULL */
    int remote;              /* src is a remote or archive source (owned: see
                                ckpt_source_free) */
    int waiting;             /* a folder that holds no checkpoint yet (EMPTY_FOLDER) */
} ckpt_source;

/* ckpt_source_resolve's flags: a training folder (a `checkpoint` state file, or for a bucket
 * more than one *.index; not a SavedModel) resolves to itself, not to its latest checkpoint. */
#define CKPT_RESOLVE_FOLDER 1u
/* With CKPT_RESOLVE_FOLDER: a local directory holding no checkpoint yet (a run before its
 * first save) is a training folder too, and out->waiting says so. For the mount only: a
 * command has nothing to show there. */
#define CKPT_RESOLVE_EMPTY_FOLDER 2u

/*
 * Resolve source, a local path or a URL, as ckpt_resolve_prefix does for paths: a prefix, any
 * of its files, a folder with a `checkpoint` state file (its latest), a SavedModel directory
 * (variables/variables), or for s3:// and gs:// a folder holding exactly one *.index. opts:
 * remote behaviour (NULL: defaults). Errors name the source: CKPT_E_NOTFOUND for no such
 * object (HTTP 404) and no access (403), CKPT_E_IO for a failing or silent server.
 */
int ckpt_source_resolve(const char *source, const ckpt_net_opts *opts, unsigned flags,
                        ckpt_source *out, ckpt_err *err);

/* Release what ckpt_source_resolve filled in (the remote source's creator reference). */
void ckpt_source_free(ckpt_source *s);

/* ckpt_open with remote behaviour opts (NULL: defaults), e.g. a cancel flag a command's
 * signal handler sets so that a stalled server does not hold up its exit. */
int ckpt_open_net(const char *source, const ckpt_net_opts *opts, unsigned flags,
                  ckpt_checkpoint **out, ckpt_err *err);

/* Resolve source and open its checkpoint (ckpt_open for paths and URLs alike). */
int ckpt_open_any(const char *source, const ckpt_net_opts *opts, unsigned flags,
                  ckpt_checkpoint **out, ckpt_err *err);

#endif
