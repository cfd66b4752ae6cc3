/*
 * bytesrc_http.c - the remote byte source (see net.h): checkpoint files read with HTTP
 * range requests, from http(s):// URLs, S3 and GCS, through a block cache. Where a name's
 * requests go and how they are signed is netstore.c; one request, its retries and its
 * connections, httpget.c.
 *
 * Few requests: a file the format code must size before reading (the index, V1 tables, the
 * .meta) is probed once with a GET of its first blocks, whose Content-Range gives the size and
 * whose bytes stay cached, so opening then reading the index costs one request. A V2 data
 * shard is opened without any request: its size comes with its first range answer, and a read
 * past its real end fails like a short local file. Every answer's ETag must match the first
 * one seen for that object: an object replaced while open is an error, never mixed bytes.
 *
 * A range request asks for at most 4 MiB (blockcache.c), so the default 30 s of a request
 * asks a server for about 140 KB/s. Its body goes straight into the cache's blocks. No global
 * state beyond curl_global_init: each source keeps its own pool of connections.
 *
 * Answers are checked, not trusted: a 206 must carry exactly the range asked for, a 200 to a
 * range request is read through only up to the range (httpget.c), so a server can fail a read
 * but never put other bytes at the offset asked.
 */
#include "bytesrc_http.h"

#include "archive.h"
#include "blockcache.h"
#include "httpget.h"
#include "net.h"
#include "netstore.h"
#include "util.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Fetch granularity: 1 MiB blocks, up to 4 per request (blockcache.c). */
#define BLOCK_SIZE (1u << 20)
/* The first request for a file that must be sized: most indexes fit whole. */
#define PROBE_BYTES (4u << 20)

void ckpt_net_opts_init(ckpt_net_opts *o)
{
    o->cache_size = CKPT_NET_CACHE_DEFAULT;
    o->cache_dir = NULL;
    o->timeout_sec = CKPT_NET_TIMEOUT_DEFAULT;
    o->cancel = NULL;
    const char *t = getenv("CKPTFS_NET_TIMEOUT");
    char *end;
    unsigned long n = t && *t ? strtoul(t, &end, 10) : 0;
    if (n >= 1 && n <= 86400 && !*end)
        o->timeout_sec = (unsigned)n;
}

void ckpt_net_global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* --- the source --------------------------------------------------------------------------- */

typedef struct remote remote;

/* One remote object, shared by every handle open on it; lives as long as its source. */
typedef struct robj {
    struct robj *next;
    remote *r;
    char *name; /* as the user names it */
    char *url;  /* what is requested */
    int sign;   /* 0 none, 1 s3, 2 gs, 3 the URL's own user and password */
    ckpt_bcfile *bf;
    int probed;         /* the head was fetched (or failed: code, msg) */
    int code;           /* outcome of the probe */
    char *msg;          /* its message when it failed */
    pthread_mutex_t mu; /* etag, mtime */
    char etag[CKPT_FILE_TAG_MAX];
    long mtime;
} robj;

struct remote {
    ckpt_bytesrc src;
    pthread_mutex_t mu; /* protects refs, objs */
    int refs;
    ckpt_net_opts opts;
    char *cache_dir;
    ckpt_blockcache *bc;
    ckpt_netstore store; /* set up before the first request, then only read */
    ckpt_http http;
    robj *objs;
};

int ckpt__http_get_small(ckpt_bytesrc *src, const char *name, const char *query, size_t max,
                         char **body, size_t *len, ckpt_err *err)
{
    remote *r = src->state;
    int sign;
    char *url = ckpt_netstore_url(&r->store, name, query, &sign);
    if (!url)
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: cannot build the request", name);
    ckpt_httpreq *q = calloc(1, sizeof *q);
    int rc = q ? 0 : ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    if (!rc) {
        q->grow = 1;
        q->cap = max;
        rc = ckpt_http_get(&r->http, name, url, sign, NULL, q, err);
    }
    if (!rc && !q->buf)
        q->buf = (uint8_t *)strdup("");
    if (!rc && !q->buf)
        rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    *body = rc ? NULL : (char *)q->buf;
    *len = rc ? 0 : q->len;
    if (rc && q)
        free(q->buf);
    free(q);
    free(url);
    return rc;
}

/* --- objects ------------------------------------------------------------------------------ */

/* The blockcache's fetch: one range request, its identity checked against the first one. */
static int obj_fetch(void *ctx, uint64_t off, uint8_t *const *bufs, size_t bs, size_t n,
                     size_t *got, uint64_t *total, ckpt_err *err)
{
    robj *o = ctx;
    ckpt_httpreq *q = calloc(1, sizeof *q);
    if (!q)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    q->bufs = bufs;
    q->bs = bs;
    q->cap = n;
    q->skip = off; /* used only if the server answers 200 with the whole object */
    char range[64];
    snprintf(range, sizeof range, "%llu-%llu", (unsigned long long)off,
             (unsigned long long)(off + n - 1));
    int rc = ckpt_http_get(&o->r->http, o->name, o->url, o->sign, range, q, err);
    if (rc == CKPT_E_CORRUPT) {
        /* Nothing at off: the object is shorter (the cache says so to the reader). */
        *got = 0;
        *total = q->total;
        free(q);
        return 0;
    }
    if (rc == 0 && q->status == 206 && !q->ranged)
        rc = ckpt_err_set(err, CKPT_E_IO, "%s: a partial answer without Content-Range", o->name);
    /* Exactly the range asked for, or its part up to the object's end: never bytes from
     * elsewhere served as these. */
    uint64_t last = off + n - 1;
    if (rc == 0 && q->status == 206 && q->total != CKPT_SIZE_UNKNOWN && q->total <= last)
        last = q->total - 1;
    if (rc == 0 && q->status == 206 &&
        (q->rfirst != off || q->rlast != last || q->len != last - off + 1))
        rc = ckpt_err_set(err, CKPT_E_IO,
                          "%s: asked for bytes %llu-%llu, the server answered bytes %llu-%llu "
                          "(%zu bytes sent)",
                          o->name, (unsigned long long)off, (unsigned long long)last,
                          (unsigned long long)q->rfirst, (unsigned long long)q->rlast, q->len);
    if (rc == 0 && q->status == 200)
        q->skip = 0;
    if (rc == 0) {
        pthread_mutex_lock(&o->mu);
        if (!o->etag[0] && q->etag[0]) {
            snprintf(o->etag, sizeof o->etag, "%s", q->etag);
            o->mtime = q->mtime;
        } else if (o->etag[0] && q->etag[0] && strcmp(o->etag, q->etag) != 0) {
            rc = ckpt_err_set(err, CKPT_E_IO,
                              "%s: the object changed while in use (ETag %s, now %s); "
                              "remount or reopen to read the new version",
                              o->name, o->etag, q->etag);
        }
        uint64_t known = ckpt_bcfile_size(o->bf);
        if (!rc && known != CKPT_SIZE_UNKNOWN && q->total != CKPT_SIZE_UNKNOWN && known != q->total)
            rc = ckpt_err_set(err, CKPT_E_IO,
                              "%s: the object changed while in use (%llu bytes, now %llu)", o->name,
                              (unsigned long long)known, (unsigned long long)q->total);
        if (!rc && o->etag[0]) {
            char ident[CKPT_FILE_TAG_MAX + 4096];
            snprintf(ident, sizeof ident, "%s\n%s", o->name, o->etag);
            ckpt_bcfile_set_identity(o->bf, ident);
        }
        pthread_mutex_unlock(&o->mu);
    }
    if (rc == 0) {
        *got = q->len;
        *total = q->total;
        ckpt_bcfile_note_timing(o->bf, q->wait_s, q->total_s, q->len);
    }
    free(q);
    return rc;
}

/* Whether name is a V2 data shard, opened without asking the server anything; or an archive,
 * whose reader asks first for its end, not its head (archive.c). */
static int lazy_name(const char *name)
{
    const char *d = strstr(name, ".data-");
    unsigned a, b;
    char tail;
    return (d && sscanf(d, ".data-%5u-of-%5u%c", &a, &b, &tail) == 2) ||
           ckpt_archive_split(name, NULL, NULL) == 1;
}

/* The object named name, created on first use. Called with r->mu held. */
static robj *object(remote *r, const char *name, ckpt_err *err)
{
    for (robj *o = r->objs; o; o = o->next)
        if (!strcmp(o->name, name))
            return o;
    robj *o = calloc(1, sizeof *o);
    if (!o || !(o->name = strdup(name)) ||
        !(o->url = ckpt_netstore_url(&r->store, name, NULL, &o->sign))) {
        if (o)
            free(o->name);
        free(o);
        ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", name);
        return NULL;
    }
    o->r = r;
    o->mtime = -1;
    pthread_mutex_init(&o->mu, NULL);
    if (ckpt_bcfile_new(r->bc, name, CKPT_SIZE_UNKNOWN, obj_fetch, o, NULL, &o->bf, err)) {
        pthread_mutex_destroy(&o->mu);
        free(o->url);
        free(o->name);
        free(o);
        return NULL;
    }
    o->next = r->objs;
    r->objs = o;
    return o;
}

/* Probe o once: its head fetched into the cache, its size and identity learnt. */
static int probe(robj *o, ckpt_err *err)
{
    remote *r = o->r;
    pthread_mutex_lock(&r->mu);
    int done = o->probed, code = o->code;
    pthread_mutex_unlock(&r->mu);
    if (done)
        return code ? ckpt_err_set(err, code, "%s", o->msg ? o->msg : o->name) : 0;
    ckpt_err e;
    ckpt_err_clear(&e);
    int rc = ckpt_bcfile_load_head(o->bf, PROBE_BYTES, &e);
    pthread_mutex_lock(&r->mu);
    if (!o->probed) {
        o->probed = 1;
        o->code = rc;
        o->msg = rc ? strdup(e.msg) : NULL;
    }
    pthread_mutex_unlock(&r->mu);
    if (rc && err)
        *err = e;
    return rc;
}

static int remote_stat(void *state, const char *name, ckpt_err *err)
{
    remote *r = state;
    pthread_mutex_lock(&r->mu);
    robj *o = object(r, name, err);
    pthread_mutex_unlock(&r->mu);
    return o ? probe(o, err) : CKPT_E_NOMEM;
}

/* --- handles ------------------------------------------------------------------------------ */

typedef struct rhandle {
    ckpt_file f;
    robj *o;
} rhandle;

static void remote_unref(remote *r);

static int rh_pread(ckpt_file *f, void *buf, size_t n, uint64_t off, ckpt_err *err)
{
    return ckpt_bcfile_read(((rhandle *)f)->o->bf, buf, n, off, err);
}

static void rh_free_bytes(ckpt_bytes *b)
{
    if (b->data)
        munmap((void *)b->data, b->len);
}

static int rh_read_all(ckpt_file *f, ckpt_bytes *out, ckpt_err *err)
{
    robj *o = ((rhandle *)f)->o;
    int rc = probe(o, err);
    if (rc)
        return rc;
    uint64_t size = ckpt_bcfile_size(o->bf);
    if (size == 0)
        return 0;
    if (size == CKPT_SIZE_UNKNOWN || size > SIZE_MAX)
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: too large to hold", f->name);
    /* A shared mapping of a memory file, not anonymous memory: ckpt_map_file's callers munmap
     * it like a mapped file and may madvise(MADV_DONTNEED) it, which would zero anonymous
     * pages but only drops these from the page tables. */
    int fd = memfd_create("ckptfs-remote", MFD_CLOEXEC);
    void *m = MAP_FAILED;
    if (fd >= 0 && ftruncate(fd, (off_t)size) == 0)
        m = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (fd >= 0)
        close(fd);
    if (m == MAP_FAILED)
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", f->name);
    rc = ckpt_bcfile_read(o->bf, m, (size_t)size, 0, err);
    if (rc) {
        munmap(m, (size_t)size);
        return rc;
    }
    out->data = m;
    out->len = (size_t)size;
    out->release = rh_free_bytes;
    return 0;
}

static void rh_close(ckpt_file *f)
{
    rhandle *h = (rhandle *)f;
    remote *r = h->o->r;
    free(f->name);
    free(h);
    remote_unref(r);
}

static int rh_borrow(ckpt_file *f, uint64_t off, size_t n, struct iovec *iov, int maxiov, int *niov,
                     ckpt_err *err)
{
    return ckpt_bcfile_borrow(((rhandle *)f)->o->bf, off, n, iov, maxiov, niov, err);
}

static void rh_release(ckpt_file *f, uint64_t off, size_t n)
{
    ckpt_bcfile_release(((rhandle *)f)->o->bf, off, n);
}

static const ckpt_file_ops rhandle_ops = {rh_pread, rh_read_all, rh_close,
                                          NULL,     rh_borrow,   rh_release};

static int remote_open(void *state, const char *name, ckpt_file **out, ckpt_err *err)
{
    remote *r = state;
    pthread_mutex_lock(&r->mu);
    robj *o = object(r, name, err);
    pthread_mutex_unlock(&r->mu);
    if (!o)
        return CKPT_E_NOMEM;
    int rc = lazy_name(name) ? 0 : probe(o, err);
    if (rc)
        return rc;
    rhandle *h = calloc(1, sizeof *h);
    if (!h || !(h->f.name = strdup(name))) {
        free(h);
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", name);
    }
    h->o = o;
    ckpt_file *f = &h->f;
    f->ops = &rhandle_ops;
    f->state = h;
    f->fd = -1;
    f->size = ckpt_bcfile_size(o->bf);
    pthread_mutex_lock(&o->mu);
    snprintf(f->id.tag, sizeof f->id.tag, "%s", o->etag);
    f->id.mtime_sec = o->mtime > 0 ? o->mtime : 0;
    pthread_mutex_unlock(&o->mu);
    f->id.size = f->size;
    /* What a mount shows for the checkpoint: read-only files of whoever mounted it. */
    f->attr.st_mode = S_IFREG | 0444;
    f->attr.st_nlink = 1;
    f->attr.st_uid = getuid();
    f->attr.st_gid = getgid();
    f->attr.st_size = f->size == CKPT_SIZE_UNKNOWN ? 0 : (off_t)f->size;
    f->attr.st_mtim.tv_sec = f->attr.st_ctim.tv_sec = f->attr.st_atim.tv_sec =
        (time_t)f->id.mtime_sec;
    pthread_mutex_lock(&r->mu);
    r->refs++;
    pthread_mutex_unlock(&r->mu);
    *out = f;
    return 0;
}

/* --- lifetime ----------------------------------------------------------------------------- */

static void remote_unref(remote *r)
{
    pthread_mutex_lock(&r->mu);
    int last = --r->refs == 0;
    pthread_mutex_unlock(&r->mu);
    if (!last)
        return;
    while (r->objs) {
        robj *o = r->objs;
        r->objs = o->next;
        ckpt_bcfile_close(o->bf);
        pthread_mutex_destroy(&o->mu);
        free(o->msg);
        free(o->url);
        free(o->name);
        free(o);
    }
    ckpt_blockcache_unref(r->bc);
    ckpt_http_free(&r->http);
    ckpt_netstore_free(&r->store);
    pthread_mutex_destroy(&r->mu);
    free(r->cache_dir);
    free(r);
}

static const ckpt_bytesrc_ops remote_ops = {
    .open = remote_open,
    .stat = remote_stat,
    .list = ckpt__remote_list,
    .caps = ckpt__remote_caps,
    .release = ckpt_bytesrc_remote_release,
};

int ckpt_bytesrc_remote_new(const ckpt_net_opts *opts, ckpt_bytesrc **out, ckpt_err *err)
{
    *out = NULL;
    remote *r = calloc(1, sizeof *r);
    if (!r)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    if (opts)
        r->opts = *opts;
    else
        ckpt_net_opts_init(&r->opts);
    if (r->opts.cache_dir && !(r->cache_dir = strdup(r->opts.cache_dir))) {
        free(r);
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    }
    r->opts.cache_dir = r->cache_dir;
    int rc = ckpt_blockcache_new(r->opts.cache_size, BLOCK_SIZE, r->cache_dir, &r->bc, err);
    if (rc) {
        free(r->cache_dir);
        free(r);
        return rc;
    }
    pthread_mutex_init(&r->mu, NULL);
    r->refs = 1;
    ckpt_netstore_init(&r->store);
    ckpt_http_init(&r->http, &r->opts, &r->store);
    r->src.ops = &remote_ops;
    r->src.state = r;
    *out = &r->src;
    return 0;
}

void ckpt_bytesrc_remote_release(ckpt_bytesrc *src)
{
    if (ckpt_archive_is(src)) /* an archive's source is owned the same way (net.h) */
        ckpt_archive_release(src);
    else if (src)
        remote_unref(src->state);
}

int ckpt__remote_take_auth(ckpt_bytesrc *src, const char *url, char **shown, ckpt_err *err)
{
    return ckpt_netstore_take_auth(&((remote *)src->state)->store, url, shown, err);
}

int ckpt__remote_is(const ckpt_bytesrc *src)
{
    return src && src->ops == &remote_ops;
}
