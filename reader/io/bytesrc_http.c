/*
 * bytesrc_http.c - the remote byte source (see net.h): checkpoint files read with HTTP
 * range requests, from http(s):// URLs, S3 and GCS, through a block cache.
 *
 * Few requests: a file the format code must size before reading (the index, V1 tables, the
 * .meta) is probed once with a GET of its first blocks, whose Content-Range gives the size and
 * whose bytes stay cached, so opening then reading the index costs one request. A V2 data
 * shard is opened without any request: its size comes with its first range answer, and a read
 * past its real end fails like a short local file. Every answer's ETag must match the first
 * one seen for that object: an object replaced while open is an error, never mixed bytes.
 *
 * Bounded time: every request, retries (5xx, 429, resets, with backoff) included, is over
 * within the configured time counted from its first attempt, however slowly the server drips
 * its bytes; the caller gets CKPT_E_IO. A range request asks for at most 4 MiB, so the default
 * 30 s asks a server for about 140 KB/s. No global state beyond curl_global_init: each source
 * keeps its own pool of curl handles, handed to whichever thread makes a request.
 *
 * Answers are checked, not trusted: a 206 must carry exactly the range asked for, a 200 to a
 * range request is read through at most SKIP_MAX bytes to reach the range, and only identity
 * encoding is accepted (we ask for it), so a server can fail a read but never put other bytes
 * at the offset asked.
 */
#include "bytesrc_http.h"

#include "archive.h"
#include "blockcache.h"
#include "net.h"
#include "util.h"

#include <ctype.h>
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
/* Error bodies and credentials files are small; bound what we keep of them. */
#define ERR_BODY_MAX 2048
#define INI_MAX (1u << 20)
#define POOL_MAX 16
#define RETRIES_MAX 8
/* A server that ignores Range answers 200 with the whole object: we read through this much of
 * it to reach the range asked for, no more (a small file on a simple server still works). */
#define SKIP_MAX (16u << 20)
/* sha256 of an empty body: what S3 wants in x-amz-content-sha256 for a GET. */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

int ckpt_is_url(const char *s)
{
    return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8) || !strncmp(s, "s3://", 5) ||
           !strncmp(s, "gs://", 5);
}

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

/* --- configuration from the environment -------------------------------------------------- */

/* How requests for one scheme (s3 or gs) are addressed and signed. */
typedef struct store_cfg {
    char *endpoint; /* scheme://host[:port], no trailing slash */
    int path_style; /* ENDPOINT/BUCKET/KEY, else BUCKET.HOST/KEY */
    char *region;
    char *id, *secret, *token; /* NULL id: anonymous */
} store_cfg;

static char *env_dup(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? strdup(v) : NULL;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

char *ckpt__ini_get(const char *path, const char *section, const char *key)
{
    FILE *fp = path ? fopen(path, "re") : NULL;
    if (!fp)
        return NULL;
    char line[4096], *found = NULL;
    int in = 0;
    size_t total = 0;
    while (!found && total < INI_MAX && fgets(line, sizeof line, fp)) {
        total += strlen(line);
        line[strcspn(line, "\n")] = '\0';
        char *l = trim(line);
        if (*l == '[') {
            char *e = strchr(l, ']');
            if (e)
                *e = '\0';
            in = !strcmp(trim(l + 1), section);
            continue;
        }
        char *eq = strchr(l, '=');
        if (!in || !eq)
            continue;
        *eq = '\0';
        if (!strcmp(trim(l), key))
            found = strdup(trim(eq + 1));
    }
    fclose(fp);
    return found;
}

/* ~/.aws/NAME, or the file the override variable names (malloc'd). */
static char *aws_file(const char *override, const char *name)
{
    char *p = env_dup(override);
    if (p)
        return p;
    const char *home = getenv("HOME");
    if (!home)
        return NULL;
    size_t n = strlen(home) + strlen(name) + 8;
    p = malloc(n);
    if (p)
        snprintf(p, n, "%s/.aws/%s", home, name);
    return p;
}

static char *strip_slash(char *s)
{
    size_t n = s ? strlen(s) : 0;
    while (n && s[n - 1] == '/')
        s[--n] = '\0';
    return s;
}

static void s3_config(store_cfg *c)
{
    const char *profile = getenv("AWS_PROFILE");
    if (!profile || !*profile)
        profile = "default";
    char *creds = aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    char *conf = aws_file("AWS_CONFIG_FILE", "config");
    char conf_section[300];
    snprintf(conf_section, sizeof conf_section, strcmp(profile, "default") ? "profile %s" : "%s",
             profile);
    c->id = env_dup("AWS_ACCESS_KEY_ID");
    if (c->id) {
        c->secret = env_dup("AWS_SECRET_ACCESS_KEY");
        c->token = env_dup("AWS_SESSION_TOKEN");
    } else if ((c->id = ckpt__ini_get(creds, profile, "aws_access_key_id"))) {
        c->secret = ckpt__ini_get(creds, profile, "aws_secret_access_key");
        c->token = ckpt__ini_get(creds, profile, "aws_session_token");
    }
    if (c->id && !c->secret) {
        free(c->id);
        c->id = NULL;
    }
    if (!(c->region = env_dup("AWS_REGION")) && !(c->region = env_dup("AWS_DEFAULT_REGION")) &&
        !(c->region = ckpt__ini_get(conf, conf_section, "region")))
        c->region = strdup("us-east-1");
    if (!(c->endpoint = env_dup("AWS_ENDPOINT_URL_S3")))
        c->endpoint = env_dup("AWS_ENDPOINT_URL");
    c->path_style = c->endpoint != NULL;
    if (!c->endpoint && c->region) {
        size_t n = strlen(c->region) + 40;
        if ((c->endpoint = malloc(n)))
            snprintf(c->endpoint, n, "https://s3.%s.amazonaws.com", c->region);
    }
    strip_slash(c->endpoint);
    free(creds);
    free(conf);
}

static void gs_config(store_cfg *c)
{
    if (!(c->endpoint = env_dup("CKPTFS_GCS_ENDPOINT")))
        c->endpoint = strdup("https://storage.googleapis.com");
    strip_slash(c->endpoint);
    c->path_style = 1;
    c->region = strdup("auto");
    c->id = env_dup("GS_ACCESS_KEY_ID");
    c->secret = env_dup("GS_SECRET_ACCESS_KEY");
    if (!c->id || !c->secret) {
        free(c->id);
        free(c->secret);
        c->id = c->secret = NULL;
    }
}

static void store_free(store_cfg *c)
{
    free(c->endpoint);
    free(c->region);
    free(c->id);
    free(c->secret);
    free(c->token);
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
    int probed;     /* the head was fetched (or failed: code, msg) */
    int code;       /* outcome of the probe */
    char *msg;      /* its message when it failed */
    pthread_mutex_t mu; /* etag, mtime */
    char etag[CKPT_FILE_TAG_MAX];
    long mtime;
} robj;

struct remote {
    ckpt_bytesrc src;
    pthread_mutex_t mu; /* refs, objs, pool */
    int refs;
    ckpt_net_opts opts;
    char *cache_dir;
    ckpt_blockcache *bc;
    store_cfg s3, gs;
    robj *objs;
    /* user and password taken out of an http(s) URL: sent (as Basic auth) only to names
     * under auth_site ("scheme://user@host[:port]"), never shown */
    char *auth_site, *auth_user, *auth_pass;
    CURL *pool[POOL_MAX];
    int npool;
};

char *ckpt__url_encode(const char *k, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(3 * strlen(k) + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)k; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~' || (keep_slash && *p == '/')) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

/*
 * The request URL for name (an s3:// or gs:// URL becomes an endpoint URL of the bucket and
 * key; http(s) stays) plus query (already encoded, may be NULL), and how to sign it.
 */
static char *request_url(remote *r, const char *name, const char *query, int *sign)
{
    *sign = 0;
    int s3 = !strncmp(name, "s3://", 5), gs = !strncmp(name, "gs://", 5);
    if (!s3 && !gs) {
        size_t sl = r->auth_site ? strlen(r->auth_site) : 0;
        if (sl && !strncmp(name, r->auth_site, sl) && (!name[sl] || name[sl] == '/'))
            *sign = 3;
        /* The user name shown in names is not part of the request: curl would send it with
         * an empty password. */
        const char *scheme_end = strstr(name, "://"), *host = scheme_end ? scheme_end + 3 : name;
        const char *at = strchr(host, '@'), *path = strchr(host, '/');
        size_t cut = at && (!path || at < path) ? (size_t)(at + 1 - host) : 0;
        size_t hl = (size_t)(host - name);
        size_t n = strlen(name) + (query ? strlen(query) + 2 : 1);
        char *u = malloc(n);
        if (u)
            snprintf(u, n, "%.*s%s%s%s", (int)hl, name, host + cut, query ? "?" : "",
                     query ? query : "");
        return u;
    }
    const store_cfg *c = s3 ? &r->s3 : &r->gs;
    if (!c->endpoint)
        return NULL;
    const char *bucket = name + 5, *slash = strchr(bucket, '/');
    size_t blen = slash ? (size_t)(slash - bucket) : strlen(bucket);
    char *key = ckpt__url_encode(slash ? slash + 1 : "", 1);
    if (!key)
        return NULL;
    /* Dotted bucket names do not match AWS's wildcard certificate: address them by path. */
    int by_path = c->path_style || memchr(bucket, '.', blen) != NULL;
    const char *scheme_end = strstr(c->endpoint, "://");
    size_t n = strlen(c->endpoint) + blen + strlen(key) + (query ? strlen(query) : 0) + 8;
    char *u = malloc(n);
    if (u && by_path)
        snprintf(u, n, "%s/%.*s/%s%s%s", c->endpoint, (int)blen, bucket, key, query ? "?" : "",
                 query ? query : "");
    else if (u)
        snprintf(u, n, "%.*s%.*s.%s/%s%s%s", (int)(scheme_end + 3 - c->endpoint), c->endpoint,
                 (int)blen, bucket, scheme_end + 3, key, query ? "?" : "", query ? query : "");
    free(key);
    *sign = c->id ? (s3 ? 1 : 2) : 0;
    return u;
}

/* --- requests ----------------------------------------------------------------------------- */

/* One GET: where its body goes and what its headers said. */
typedef struct req {
    long status;
    uint64_t total;       /* object size from Content-Range / Content-Length, or unknown */
    int ranged;           /* the answer is a 206 with a Content-Range */
    uint64_t rfirst, rlast; /* the Content-Range's first and last byte */
    char encoding[40];    /* a Content-Encoding other than identity: the answer is refused */
    int noranges;         /* a 200 to a range request too far into the object: refused */
    char etag[CKPT_FILE_TAG_MAX];
    long mtime;           /* Last-Modified, -1 if none */
    uint8_t *buf;         /* body destination */
    size_t cap, len;      /* room and bytes stored */
    int grow;             /* buf is malloc'd and may grow up to cap */
    size_t alloc;         /* bytes allocated at buf when grow */
    uint64_t skip;        /* bytes of a 200 answer to drop before the asked-for range */
    int enough;           /* stopped on purpose once cap was reached */
    char errbody[ERR_BODY_MAX];
    size_t errlen;
} req;

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    req *q = ud;
    size_t n = size * nmemb;
    char line[512];
    size_t m = n < sizeof line - 1 ? n : sizeof line - 1;
    memcpy(line, p, m);
    line[m] = '\0';
    line[strcspn(line, "\r\n")] = '\0';
    if (!strncmp(line, "HTTP/", 5)) {
        /* A new answer (after a redirect or a 100): forget the previous one's headers. */
        const char *sp = strchr(line, ' ');
        q->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        q->total = CKPT_SIZE_UNKNOWN;
        q->ranged = 0;
        q->encoding[0] = '\0';
        q->etag[0] = '\0';
        q->mtime = -1;
        return n;
    }
    char *colon = strchr(line, ':');
    if (!colon)
        return n;
    *colon = '\0';
    char *v = trim(colon + 1);
    if (!strcasecmp(line, "content-range")) {
        const char *slash = strchr(v, '/');
        if (slash && slash[1] != '*')
            q->total = strtoull(slash + 1, NULL, 10);
        unsigned long long a, b;
        q->ranged = sscanf(v, "bytes %llu-%llu/", &a, &b) == 2 && a <= b;
        q->rfirst = q->ranged ? a : 0;
        q->rlast = q->ranged ? b : 0;
    } else if (!strcasecmp(line, "content-encoding")) {
        if (*v && strcasecmp(v, "identity"))
            snprintf(q->encoding, sizeof q->encoding, "%s", v);
    } else if (!strcasecmp(line, "content-length")) {
        if (q->status == 200)
            q->total = strtoull(v, NULL, 10);
    } else if (!strcasecmp(line, "etag")) {
        snprintf(q->etag, sizeof q->etag, "%s", v);
    } else if (!strcasecmp(line, "last-modified")) {
        q->mtime = (long)curl_getdate(v, NULL);
    }
    return n;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    req *q = ud;
    size_t n = size * nmemb, all = n;
    if (q->status < 200 || q->status > 299) {
        size_t m = ERR_BODY_MAX - 1 - q->errlen < n ? ERR_BODY_MAX - 1 - q->errlen : n;
        memcpy(q->errbody + q->errlen, p, m);
        q->errlen += m;
        q->errbody[q->errlen] = '\0';
        return all;
    }
    if (q->encoding[0])
        return 0; /* encoded bytes are not the object's: refused in perform */
    if (q->skip > SKIP_MAX && q->status == 200) {
        q->noranges = 1;
        return 0;
    }
    if (q->skip && q->status == 200) {
        size_t s = q->skip < n ? (size_t)q->skip : n;
        p += s, n -= s, q->skip -= s;
    }
    if (q->grow && q->len + n > q->cap)
        return 0; /* a listing or state file larger than we accept */
    if (q->grow && q->len + n + 1 > q->alloc) {
        size_t want = (q->len + n + 1 + 65535) & ~(size_t)65535;
        uint8_t *nb = realloc(q->buf, want);
        if (!nb)
            return 0;
        q->buf = nb;
        q->alloc = want;
    }
    size_t m = q->cap - q->len < n ? q->cap - q->len : n;
    memcpy(q->buf + q->len, p, m);
    q->len += m;
    if (q->grow)
        q->buf[q->len] = '\0';
    if (m < n) {
        /* A server that ignored the Range sends the rest of the object: we have ours. */
        q->enough = 1;
        return 0;
    }
    return all;
}

static CURL *take_handle(remote *r)
{
    pthread_mutex_lock(&r->mu);
    CURL *h = r->npool ? r->pool[--r->npool] : NULL;
    pthread_mutex_unlock(&r->mu);
    return h ? h : curl_easy_init();
}

static void give_handle(remote *r, CURL *h)
{
    pthread_mutex_lock(&r->mu);
    if (r->npool < POOL_MAX) {
        r->pool[r->npool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&r->mu);
    if (h)
        curl_easy_cleanup(h);
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* An S3/GCS error body's <Code>, for messages ("NoSuchKey", "AccessDenied"). */
static const char *xml_code(const req *q, char *out, size_t outsz)
{
    const char *a = strstr(q->errbody, "<Code>"), *b = a ? strstr(a, "</Code>") : NULL;
    if (!b || (size_t)(b - a - 6) >= outsz)
        return NULL;
    snprintf(out, outsz, "%.*s", (int)(b - a - 6), a + 6);
    return out;
}

/* Whether the source's owner gave up on every request (a daemon whose mount is gone). */
static int cancelled(const remote *r)
{
    return r->opts.cancel && atomic_load(r->opts.cancel);
}

/* curl's progress callback, called about once a second even while nothing arrives: a
 * non-zero return aborts the transfer. */
static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    return cancelled(ud);
}

/* Configure h for one attempt of q at url, with at most left seconds to go. */
static struct curl_slist *setup(remote *r, CURL *h, const char *url, int sign, const char *range,
                                req *q, double left)
{
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
    curl_easy_setopt(h, CURLOPT_USERAGENT, "ckptfs");
    curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, NULL);
    long ms = (long)(left * 1000) > 1 ? (long)(left * 1000) : 1;
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, ms);
    /* The whole request, not a rate over a window: a server dripping a byte a second keeps
     * any rate window satisfied for days (docs/mount.md, "URL sources"). */
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, ms);
    if (r->opts.cancel) {
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, r);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    }
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    /* Big reads per syscall: the default 16 KiB makes range transfers CPU-bound. */
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, q);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, q);
    if (range)
        curl_easy_setopt(h, CURLOPT_RANGE, range);
    /* Compressed answers would put other bytes at our offsets: ask for none, refuse any. */
    struct curl_slist *hdrs = curl_slist_append(NULL, "Accept-Encoding: identity");
    if (sign == 3) {
        curl_easy_setopt(h, CURLOPT_USERNAME, r->auth_user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, r->auth_pass);
    } else if (sign) {
        const store_cfg *c = sign == 1 ? &r->s3 : &r->gs;
        char param[200], hdr[4200];
        snprintf(param, sizeof param, "aws:amz:%s:s3", c->region);
        curl_easy_setopt(h, CURLOPT_AWS_SIGV4, param);
        curl_easy_setopt(h, CURLOPT_USERNAME, c->id);
        curl_easy_setopt(h, CURLOPT_PASSWORD, c->secret);
        hdrs = curl_slist_append(hdrs, "x-amz-content-sha256: " EMPTY_SHA256);
        if (c->token && strlen(c->token) < sizeof hdr - 32) {
            snprintf(hdr, sizeof hdr, "x-amz-security-token: %s", c->token);
            hdrs = curl_slist_append(hdrs, hdr);
        }
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    return hdrs;
}

/* Whether an attempt that ended with curl code cc and HTTP status st is worth repeating. */
static int transient(CURLcode cc, long st)
{
    if (cc == CURLE_OK)
        return st >= 500 || st == 429 || st == 408;
    return cc == CURLE_COULDNT_CONNECT || cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR ||
           cc == CURLE_GOT_NOTHING || cc == CURLE_PARTIAL_FILE ||
           cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_HTTP2 || cc == CURLE_HTTP2_STREAM;
}

/* The final verdict on an answer that is not a success. */
static int http_error(const req *q, const char *name, ckpt_err *err)
{
    char code[64];
    const char *c = xml_code(q, code, sizeof code);
    if (q->status == 404)
        return ckpt_err_set(err, CKPT_E_NOTFOUND, "%s: not found (HTTP 404%s%s)", name,
                            c ? " " : "", c ? c : "");
    if (q->status == 403 || q->status == 401)
        return ckpt_err_set(err, CKPT_E_NOTFOUND,
                            "%s: access denied (HTTP %ld%s%s); check the credentials "
                            "(AWS_ACCESS_KEY_ID, AWS_PROFILE, GS_ACCESS_KEY_ID) and the "
                            "object's permissions",
                            name, q->status, c ? " " : "", c ? c : "");
    return ckpt_err_set(err, CKPT_E_IO, "%s: the server answered HTTP %ld%s%s", name, q->status,
                        c ? " " : "", c ? c : "");
}

/*
 * GET url (name in messages) with an optional Range into q, retrying what may pass until the
 * source's time is up. 0 on a 2xx answer (q filled), 416 as CKPT_E_CORRUPT (nothing there),
 * else an error naming name.
 */
static int perform(remote *r, const char *name, const char *url, int sign, const char *range,
                   req *q, ckpt_err *err)
{
    double limit = r->opts.timeout_sec ? r->opts.timeout_sec : CKPT_NET_TIMEOUT_DEFAULT;
    double deadline = now_sec() + limit, backoff = 0.1;
    for (int attempt = 0;; attempt++) {
        if (cancelled(r))
            return ckpt_err_set(err, CKPT_E_IO, "%s: given up: the mount is gone", name);
        q->status = 0;
        q->len = 0;
        q->enough = 0;
        q->errlen = 0;
        q->errbody[0] = '\0';
        uint64_t skip = q->skip;
        CURL *h = take_handle(r);
        if (!h)
            return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", name);
        char cerr[CURL_ERROR_SIZE] = "";
        struct curl_slist *hdrs = setup(r, h, url, sign, range, q, deadline - now_sec());
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
        CURLcode cc = curl_easy_perform(h);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
        curl_slist_free_all(hdrs);
        give_handle(r, h);
        if (cancelled(r))
            return ckpt_err_set(err, CKPT_E_IO, "%s: given up: the mount is gone", name);
        if (q->encoding[0] && q->status >= 200 && q->status <= 299)
            return ckpt_err_set(err, CKPT_E_IO,
                                "%s: the server sent the bytes encoded (Content-Encoding: %s) "
                                "though asked for identity; ckptfs reads only the bytes as "
                                "stored",
                                name, q->encoding);
        if (q->noranges)
            return ckpt_err_set(err, CKPT_E_IO,
                                "%s: the server ignores Range requests (HTTP 200 to a request "
                                "for bytes from %llu): ckptfs reads through at most %u MiB of "
                                "such an answer",
                                name, (unsigned long long)q->skip, SKIP_MAX >> 20);
        q->skip = skip;
        if (cc == CURLE_WRITE_ERROR && q->enough)
            cc = CURLE_OK;
        if (cc == CURLE_OK && q->status >= 200 && q->status <= 299)
            return 0;
        if (cc == CURLE_OK && q->status == 416)
            return ckpt_err_set(err, CKPT_E_CORRUPT, "%s: the range asked for lies past its end",
                                name);
        if (cc == CURLE_OK && !transient(cc, q->status))
            return http_error(q, name, err);
        if (cc != CURLE_OK && !transient(cc, 0)) {
            if (cc == CURLE_WRITE_ERROR)
                return ckpt_err_set(err, CKPT_E_IO, "%s: the answer is larger than expected",
                                    name);
            return ckpt_err_set(err, CKPT_E_IO, "%s: %s", name,
                                cerr[0] ? cerr : curl_easy_strerror(cc));
        }
        double left = deadline - now_sec();
        if (left <= backoff || attempt + 1 >= RETRIES_MAX) {
            if (cc == CURLE_OK)
                return ckpt_err_set(err, CKPT_E_IO,
                                    "%s: the server answered HTTP %ld, %d attempts in %.0f s",
                                    name, q->status, attempt + 1, limit);
            return ckpt_err_set(err, CKPT_E_IO, "%s: no answer (%s) after %d attempts in %.0f s",
                                name, cerr[0] ? cerr : curl_easy_strerror(cc), attempt + 1,
                                limit);
        }
        struct timespec ts = {(time_t)backoff, (long)((backoff - (time_t)backoff) * 1e9)};
        nanosleep(&ts, NULL);
        backoff = backoff * 2 < 2.0 ? backoff * 2 : 2.0;
    }
}

int ckpt__http_get_small(ckpt_bytesrc *src, const char *name, const char *query, size_t max,
                         char **body, size_t *len, ckpt_err *err)
{
    remote *r = src->state;
    int sign;
    char *url = request_url(r, name, query, &sign);
    if (!url)
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: cannot build the request", name);
    req *q = calloc(1, sizeof *q);
    int rc = q ? 0 : ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    if (!rc) {
        q->grow = 1;
        q->cap = max;
        rc = perform(r, name, url, sign, NULL, q, err);
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
static int obj_fetch(void *ctx, uint64_t off, void *buf, size_t n, size_t *got, uint64_t *total,
                     ckpt_err *err)
{
    robj *o = ctx;
    req *q = calloc(1, sizeof *q);
    if (!q)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    q->buf = buf;
    q->cap = n;
    q->skip = off; /* used only if the server answers 200 with the whole object */
    char range[64];
    snprintf(range, sizeof range, "%llu-%llu", (unsigned long long)off,
             (unsigned long long)(off + n - 1));
    int rc = perform(o->r, o->name, o->url, o->sign, range, q, err);
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
        if (!rc && known != CKPT_SIZE_UNKNOWN && q->total != CKPT_SIZE_UNKNOWN &&
            known != q->total)
            rc = ckpt_err_set(err, CKPT_E_IO,
                              "%s: the object changed while in use (%llu bytes, now %llu)",
                              o->name, (unsigned long long)known,
                              (unsigned long long)q->total);
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
    if (!o || !(o->name = strdup(name)) || !(o->url = request_url(r, name, NULL, &o->sign))) {
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

static const ckpt_file_ops rhandle_ops = {rh_pread, rh_read_all, rh_close, NULL};

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
    for (int i = 0; i < r->npool; i++)
        curl_easy_cleanup(r->pool[i]);
    store_free(&r->s3);
    store_free(&r->gs);
    free(r->auth_site);
    free(r->auth_user);
    if (r->auth_pass)
        memset(r->auth_pass, 0, strlen(r->auth_pass));
    free(r->auth_pass);
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
    s3_config(&r->s3);
    gs_config(&r->gs);
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

/* %XX escapes of a URL's user or password decoded (curl decodes them in a URL too). */
static char *pct_decode(const char *a, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (a[i] == '%' && i + 2 < n && isxdigit((unsigned char)a[i + 1]) &&
            isxdigit((unsigned char)a[i + 2]) && sscanf(a + i + 1, "%2x", &v) == 1) {
            *o++ = (char)v;
            i += 2;
        } else {
            *o++ = a[i];
        }
    }
    *o = '\0';
    return out;
}

int ckpt__remote_take_auth(ckpt_bytesrc *src, const char *url, char **shown, ckpt_err *err)
{
    remote *r = src->state;
    ckpt_url_parts u;
    *shown = ckpt_url_redact(url);
    if (!*shown)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    if (strncmp(url, "http", 4) || !ckpt_url_split(url, &u) || !u.pass)
        return 0;
    size_t site_len = (size_t)(u.pass - 1 - url);
    char *site = malloc(site_len + (size_t)(u.host_end - u.at) + 1);
    char *user = pct_decode(u.user, (size_t)(u.pass - 1 - u.user));
    char *pass = pct_decode(u.pass, (size_t)(u.at - u.pass));
    if (!site || !user || !pass) {
        free(site);
        free(user);
        free(pass);
        free(*shown);
        *shown = NULL;
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    }
    /* The site as names show it: scheme://user@host[:port] */
    snprintf(site, site_len + (size_t)(u.host_end - u.at) + 1, "%.*s%.*s", (int)site_len, url,
             (int)(u.host_end - u.at), u.at);
    free(r->auth_site);
    free(r->auth_user);
    free(r->auth_pass);
    r->auth_site = site;
    r->auth_user = user;
    r->auth_pass = pass;
    return 0;
}

int ckpt__remote_is(const ckpt_bytesrc *src)
{
    return src && src->ops == &remote_ops;
}
