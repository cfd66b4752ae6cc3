/*
 * netstore.h - where a remote name's requests go and how they are signed: the S3 and GCS
 * configuration taken from the environment and the AWS files (net.h lists the variables),
 * the user and password of an http(s) URL, and the request URL of a name. Not an API of the
 * reader: the remote source (bytesrc_http.c) and its transfers (httpget.c) share it.
 */
#ifndef CKPT_NETSTORE_H
#define CKPT_NETSTORE_H

#include "err.h"

/* How a request is signed. */
enum { CKPT_SIGN_NONE, CKPT_SIGN_S3, CKPT_SIGN_GS, CKPT_SIGN_BASIC };

/* How requests for one scheme (s3 or gs) are addressed and signed. */
typedef struct ckpt_store_cfg {
    char *endpoint; /* scheme://host[:port], no trailing slash */
    int path_style; /* ENDPOINT/BUCKET/KEY, else BUCKET.HOST/KEY */
    char *region;
    char *id, *secret, *token; /* NULL id: anonymous */
} ckpt_store_cfg;

/* Everything a source needs to address and sign its requests; set up once, then only read
 * (ckpt_netstore_take_auth runs before any request). */
typedef struct ckpt_netstore {
    ckpt_store_cfg s3, gs;
    /* user and password taken out of an http(s) URL: sent (as Basic auth) only to names
     * under auth_site ("scheme://user@host[:port]"), never shown */
    char *auth_site, *auth_user, *auth_pass;
} ckpt_netstore;

/* Read the S3 and GCS configuration from the environment and the AWS files into st. */
void ckpt_netstore_init(ckpt_netstore *st);

/* Free what st holds (the password overwritten first). */
void ckpt_netstore_free(ckpt_netstore *st);

/*
 * The request URL for name (an s3:// or gs:// URL becomes an endpoint URL of the bucket and
 * key; http(s) stays, without the user shown in names) plus query (already encoded, may be
 * NULL), malloc'd, and *sign, how to sign it (CKPT_SIGN_*). NULL when out of memory or when
 * the scheme has no endpoint.
 */
char *ckpt_netstore_url(const ckpt_netstore *st, const char *name, const char *query, int *sign);

/*
 * Take the user and password out of an http(s) URL (ckpt_url_split) into st, which then signs
 * requests for names under the URL's site with them; *shown (malloc'd) is the URL without the
 * password, the name everything shows and opens. A URL without one: *shown is a copy and st
 * is unchanged.
 */
int ckpt_netstore_take_auth(ckpt_netstore *st, const char *url, char **shown, ckpt_err *err);

/* s percent-encoded for a URL (malloc'd): all but RFC 3986's unreserved characters, and '/'
 * when keep_slash (S3 keys in paths); uppercase hex, as SigV4 wants. */
char *ckpt__url_encode(const char *s, int keep_slash);

/* key's value in [section] of the INI file at path (AWS's config and credentials files;
 * malloc'd), or NULL. Reads at most 1 MiB of the file. */
char *ckpt__ini_get(const char *path, const char *section, const char *key);

#endif
