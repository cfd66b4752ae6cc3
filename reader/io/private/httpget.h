/*
 * httpget.h - one GET of a remote object, whole or a range, with retries within the source's
 * time limit, over a pool of reused connections. Not an API of the reader: the remote source
 * (bytesrc_http.c) uses it for its range requests and small files.
 */
#ifndef CKPT_HTTPGET_H
#define CKPT_HTTPGET_H

#include "bytesrc.h"
#include "netstore.h"
#include "net.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Error bodies are small: what a request keeps of one (S3's <Code> for messages). */
#define CKPT_HTTP_ERR_BODY_MAX 2048
/* Idle connections a client keeps. */
#define CKPT_HTTP_POOL_MAX 16

/* A source's requests: its options, where names go, and idle connections (curl handles). */
typedef struct ckpt_http {
    pthread_mutex_t mu; /* protects pool and npool */
    void *pool[CKPT_HTTP_POOL_MAX];
    int npool;
    const ckpt_net_opts *opts;  /* timeout_sec, cancel: read only */
    const ckpt_netstore *store; /* credentials and endpoints: read only */
} ckpt_http;

/* One GET: where its body goes, set by the caller, and what the answer's headers said. */
typedef struct ckpt_httpreq {
    long status;
    uint64_t total;         /* object size from Content-Range / Content-Length, or unknown */
    int ranged;             /* the answer is a 206 with a Content-Range */
    uint64_t rfirst, rlast; /* the Content-Range's first and last byte */
    char encoding[40];      /* a Content-Encoding other than identity: the answer is refused */
    int noranges;           /* a 200 to a range request too far into the object: refused */
    char etag[CKPT_FILE_TAG_MAX];
    long mtime;           /* Last-Modified, -1 if none */
    uint8_t *buf;         /* body destination when grow, else NULL: bufs */
    uint8_t *const *bufs; /* else the blocks the body goes to, bs bytes each (blockcache.h) */
    size_t bs;
    size_t cap, len; /* room and bytes stored */
    int grow;        /* buf is malloc'd here and may grow up to cap */
    size_t alloc;    /* bytes allocated at buf when grow */
    uint64_t skip;   /* bytes of a 200 answer to drop before the asked-for range */
    int enough;      /* stopped on purpose once cap was reached */
    char errbody[CKPT_HTTP_ERR_BODY_MAX];
    size_t errlen;
    double wait_s, total_s; /* the last attempt: seconds to its first byte, and in all */
} ckpt_httpreq;

/* A client with no connection yet; opts and store must outlive it. */
void ckpt_http_init(ckpt_http *c, const ckpt_net_opts *opts, const ckpt_netstore *store);

/* Close c's connections. */
void ckpt_http_free(ckpt_http *c);

/*
 * GET url (name in messages; sign a CKPT_SIGN_*) with an optional Range ("FIRST-LAST") into q,
 * retrying what may pass until the source's time is up. 0 on a 2xx answer (q filled), 416 as
 * CKPT_E_CORRUPT (nothing there), else an error naming name. Safe from several threads.
 */
int ckpt_http_get(ckpt_http *c, const char *name, const char *url, int sign, const char *range,
                  ckpt_httpreq *q, ckpt_err *err);

#endif
