/*
 * bytesrc_http.h - what the remote byte source (bytesrc_http.c) and the remote resolver
 * (remote.c) share. Not an API: remote.h is.
 */
#ifndef CKPT_BYTESRC_HTTP_H
#define CKPT_BYTESRC_HTTP_H

#include "bytesrc.h"

#include <stddef.h>

/*
 * GET name (a URL as the user names it; query appended, already encoded, may be NULL) whole,
 * at most max bytes: *body (malloc'd, NUL-terminated) and *len. For state files and listings.
 */
int ckpt__http_get_small(ckpt_bytesrc *src, const char *name, const char *query, size_t max,
                         char **body, size_t *len, ckpt_err *err);

/*
 * What the user named (source) to a prefix, asking src whether names are files (remote.c):
 * the rules of ckpt_resolve_prefix for any source that is not the local one (a remote one, an
 * archive). With folders, a training folder resolves to itself and sets *is_folder.
 */
int ckpt__resolve_in(const ckpt_bytesrc *src, const char *source, int folders, char **prefix,
                     int *is_folder, ckpt_err *err);

/* The remote source's resolve operation (remote.c): a URL to a prefix. */
int ckpt__remote_resolve(void *state, const char *source, char **prefix, ckpt_err *err);

/* The remote source's list operation (remote.c): ListObjectsV2 of an s3:// or gs:// folder;
 * CKPT_E_UNSUPPORTED for http(s)://. */
int ckpt__remote_list(void *state, const char *dir, ckpt_listing *out, ckpt_err *err);

/* s percent-encoded for a URL (malloc'd): all but RFC 3986's unreserved characters, and '/'
 * when keep_slash (S3 keys in paths); uppercase hex, as SigV4 wants. */
char *ckpt__url_encode(const char *s, int keep_slash);

/* Non-zero if src is a remote source. */
int ckpt__remote_is(const ckpt_bytesrc *src);

#endif
