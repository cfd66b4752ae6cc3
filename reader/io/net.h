/*
 * net.h - the network byte sources: http(s)://, s3:// and gs:// objects read with HTTP range
 * requests through a block cache (blockcache.h), their options and the handling of URLs.
 *
 * Names: a remote file is named by its URL as the user writes it ("s3://bucket/run/model.ckpt
 * .index"); the source maps it to a request URL. Configuration, all from the environment users
 * already have:
 *   s3://BUCKET/KEY   AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, else the
 *                     profile AWS_PROFILE (or "default") of ~/.aws/credentials
 *                     (AWS_SHARED_CREDENTIALS_FILE), else unsigned requests; AWS_REGION,
 *                     AWS_DEFAULT_REGION or the profile's region in ~/.aws/config
 *                     (AWS_CONFIG_FILE), else us-east-1; AWS_ENDPOINT_URL_S3 or
 *                     AWS_ENDPOINT_URL (path-style ENDPOINT/BUCKET/KEY), else AWS's
 *                     virtual-hosted https://BUCKET.s3.REGION.amazonaws.com/KEY.
 *   gs://BUCKET/KEY   GCS's S3-compatible XML API at CKPTFS_GCS_ENDPOINT (default
 *                     https://storage.googleapis.com), path-style; anonymous unless HMAC keys
 *                     are in GS_ACCESS_KEY_ID / GS_SECRET_ACCESS_KEY (signed like S3, region
 *                     "auto").
 *   http(s)://...     plain GETs with Range headers; HTTPS verifies certificates.
 * Nothing here knows what a checkpoint is: turning a SOURCE into one is the model's resolver
 * (model/resolve.h).
 */
#ifndef CKPT_NET_H
#define CKPT_NET_H

#include "bytesrc.h"
#include "err.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Defaults of ckpt_net_opts. */
#define CKPT_NET_CACHE_DEFAULT (64ull << 20)
#define CKPT_NET_TIMEOUT_DEFAULT 30

/* How remote sources behave (mount options cache_size=, cache_dir=, net_timeout=). */
typedef struct ckpt_net_opts {
    uint64_t cache_size;       /* bytes of file blocks kept in memory */
    const char *cache_dir;     /* keep fetched blocks here too (NULL: memory only) */
    unsigned timeout_sec;      /* a request not done in this long fails (EIO), retries included */
    const _Atomic int *cancel; /* non-zero: every request gives up at once (NULL: never) */
} ckpt_net_opts;

/* The defaults: 64 MiB in memory, no disk cache, 30 s (or CKPTFS_NET_TIMEOUT), no cancel. */
void ckpt_net_opts_init(ckpt_net_opts *o);

/* Set up the HTTP library; call once from main() before any thread starts. */
void ckpt_net_global_init(void);

/* Where the user information of a URL (scheme://USER[:PASS]@HOST/...) lies in it. */
typedef struct ckpt_url_parts {
    const char *user;     /* first byte of USER */
    const char *pass;     /* first byte of PASS, or NULL when there is no ':' */
    const char *at;       /* the '@' */
    const char *host_end; /* end of HOST[:PORT] */
} ckpt_url_parts;

/* Whether url has user information; *u says where. */
int ckpt_url_split(const char *url, ckpt_url_parts *u);

/*
 * url without the password of its user information (malloc'd): what messages, /proc/mounts,
 * xattrs and logs show. Credentials belong in the environment or ~/.aws (README.md, "Remote
 * checkpoints"); a password in a URL still works, but is never shown.
 */
char *ckpt_url_redact(const char *url);

/* Overwrite the password of a URL's user information with '*' in place (a process's argv,
 * which /proc/PID/cmdline shows to everyone). Non-zero if there was one. */
int ckpt_url_hide_password(char *url);

/*
 * A new remote byte source (opts NULL: the defaults). It is reference-counted: each file it
 * opens holds it, so drop the creator's reference with ckpt_bytesrc_remote_release as soon as
 * the checkpoint is open; the rest goes when the last file closes.
 */
int ckpt_bytesrc_remote_new(const ckpt_net_opts *opts, ckpt_bytesrc **out, ckpt_err *err);

/* Drop the creator's reference of a remote source, or of an archive's (archive.h). NULL is
 * fine. */
void ckpt_bytesrc_remote_release(ckpt_bytesrc *src);

#endif
