/*
 * remote.h - checkpoints where they live: http(s)://, s3:// and gs:// sources, and the one
 * resolver that turns any SOURCE string (a local path or a URL) into the byte source that reads
 * it and the prefix to open.
 *
 * Every command and the mount call ckpt_source_resolve / ckpt_open_any, so a URL works wherever
 * a path does. The remote byte source (bytesrc_http.c) reads with HTTP range requests through a
 * block cache (blockcache.h); the format code above the seam does not know the difference.
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
 */
#ifndef CKPT_REMOTE_H
#define CKPT_REMOTE_H

#include "bytesrc.h"
#include "checkpoint.h"
#include "err.h"

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Defaults of ckpt_net_opts. */
#define CKPT_NET_CACHE_DEFAULT (64ull << 20)
#define CKPT_NET_TIMEOUT_DEFAULT 30

/* How remote sources behave (mount options cache_size=, cache_dir=, net_timeout=). */
typedef struct ckpt_net_opts {
    uint64_t cache_size;   /* bytes of file blocks kept in memory */
    const char *cache_dir; /* keep fetched blocks here too (NULL: memory only) */
    unsigned timeout_sec;  /* a request not done in this long fails (EIO), retries included */
    const _Atomic int *cancel; /* non-zero: every request gives up at once (NULL: never) */
} ckpt_net_opts;

/* The defaults: 64 MiB in memory, no disk cache, 30 s (or CKPTFS_NET_TIMEOUT), no cancel. */
void ckpt_net_opts_init(ckpt_net_opts *o);

/* Set up the HTTP library; call once from main() before any thread starts. */
void ckpt_net_global_init(void);

/* Non-zero if s is a URL this reader serves (http://, https://, s3://, gs://). */
int ckpt_is_url(const char *s);

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

/* Drop the creator's reference of a remote source, or of an archive's (archive.h): every
 * source ckpt_source_resolve owns. NULL is fine. */
void ckpt_bytesrc_remote_release(ckpt_bytesrc *src);

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

/* Resolve source and open its checkpoint (ckpt_open for paths and URLs alike). */
int ckpt_open_any(const char *source, const ckpt_net_opts *opts, unsigned flags,
                  ckpt_checkpoint **out, ckpt_err *err);

/*
 * The whole file at URL in a mapped memory file, releasable with munmap(*map, *len): what
 * ckpt_map_file does for a URL (the .meta, saved_model.pb).
 */
int ckpt_remote_map(const char *url, void **map, size_t *len, ckpt_err *err);

#endif
