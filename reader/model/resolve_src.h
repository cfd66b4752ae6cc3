/*
 * resolve_src.h - the resolver's rules (resolve_local.h has them for local paths) asked of one
 * byte source: what the user named, inside that source, to the prefix to open.
 */
#ifndef CKPT_RESOLVE_SRC_H
#define CKPT_RESOLVE_SRC_H

#include "bytesrc.h"
#include "err.h"

/* Resolve source to a checkpoint prefix of byte source src: ckpt_resolve_prefix's rules
 * (resolve_local.c) for a source of local names, the same rules asked of src's stat and list
 * for any other (a remote one, an archive). */
int ckpt_resolve_src(const ckpt_bytesrc *src, const char *source, char **prefix, ckpt_err *err);

/*
 * What the user named (source) to a prefix, asking src whether names are files: the rules of
 * ckpt_resolve_prefix for any source (a remote one, an archive). With folders, a training
 * folder resolves to itself and sets *is_folder. Errors name the source: CKPT_E_NOTFOUND for
 * no such checkpoint (or no access), the source's own error for a failing server.
 */
int ckpt_resolve_in(const ckpt_bytesrc *src, const char *source, int folders, char **prefix,
                    int *is_folder, ckpt_err *err);

#endif
