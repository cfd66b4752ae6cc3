/*
 * bytesrc_http.h - what the remote byte source (bytesrc_http.c), its bucket listing
 * (http_list.c) and URL helpers share. Not an API: net.h is.
 */
#ifndef CKPT_BYTESRC_HTTP_H
#define CKPT_BYTESRC_HTTP_H

#include "net.h"
#include "netstore.h" /* ckpt__url_encode, ckpt__ini_get */

#include <stddef.h>

/*
 * Take the user and password out of an http(s) URL (ckpt_url_split) into remote source src,
 * which sends them with requests for names under the URL's site; *shown (malloc'd) is the URL
 * without the password, the name everything shows and opens. A URL without one: *shown is a
 * copy and src is unchanged.
 */
int ckpt__remote_take_auth(ckpt_bytesrc *src, const char *url, char **shown, ckpt_err *err);

/* Non-zero if src is a remote source. */
int ckpt__remote_is(const ckpt_bytesrc *src);

/* The remote source's capabilities (http_list.c): listing for s3:// and gs:// names. */
unsigned ckpt__remote_caps(void *state, const char *name);

/*
 * GET name (a URL as the user names it; query appended, already encoded, may be NULL) whole,
 * at most max bytes: *body (malloc'd, NUL-terminated) and *len. For state files and listings.
 */
int ckpt__http_get_small(ckpt_bytesrc *src, const char *name, const char *query, size_t max,
                         char **body, size_t *len, ckpt_err *err);

/* The remote source's list operation (http_list.c): ListObjectsV2 of an s3:// or gs:// folder;
 * CKPT_E_UNSUPPORTED for http(s)://. */
int ckpt__remote_list(void *state, const char *dir, ckpt_listing *out, ckpt_err *err);

/*
 * Parse one ListObjectsV2 page (body, len bytes) into l (cap its room, ckpt_listing_add): the
 * files directly under the listed prefix, whose length is plen, each without it; folders
 * (<CommonPrefixes>) left out. *token: the continuation (malloc'd), or NULL when the page is
 * the last. 0, or -1 when out of memory. Bounded by len: never reads past body + len.
 */
int ckpt__parse_list_page(const char *body, size_t len, size_t plen, ckpt_listing *l, size_t *cap,
                          char **token);

#endif
