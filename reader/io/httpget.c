/*
 * httpget.c - see httpget.h.
 *
 * Bounded time: every request, retries (5xx, 429, resets, with backoff) included, is over
 * within the configured time counted from its first attempt, however slowly the server drips
 * its bytes; the caller gets CKPT_E_IO. Connections are reused: a handle goes back to the
 * client's pool after each request with its connection open (HTTP keep-alive), and the next
 * request of any thread takes it, so ranges do not pay a connect (or a TLS handshake) each.
 *
 * Answers are checked, not trusted: only identity encoding is accepted (we ask for it), a 200
 * to a range request is read through at most SKIP_MAX bytes to reach the range, and the body
 * goes where the request says and no further.
 */
#include "httpget.h"

#include "blockcache.h"
#include "net.h"
#include "util.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define RETRIES_MAX 8
/* A server that ignores Range answers 200 with the whole object: we read through this much of
 * it to reach the range asked for, no more (a small file on a simple server still works). */
#define SKIP_MAX (16u << 20)
/* sha256 of an empty body: what S3 wants in x-amz-content-sha256 for a GET. */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

void ckpt_http_init(ckpt_http *c, const ckpt_net_opts *opts, const ckpt_netstore *store)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    c->opts = opts;
    c->store = store;
}

void ckpt_http_free(ckpt_http *c)
{
    for (int i = 0; i < c->npool; i++)
        curl_easy_cleanup(c->pool[i]);
    c->npool = 0;
    pthread_mutex_destroy(&c->mu);
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    ckpt_httpreq *q = ud;
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
    char *v = ckpt_trim(colon + 1);
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
    ckpt_httpreq *q = ud;
    size_t n = size * nmemb, all = n;
    if (q->status < 200 || q->status > 299) {
        size_t m =
            CKPT_HTTP_ERR_BODY_MAX - 1 - q->errlen < n ? CKPT_HTTP_ERR_BODY_MAX - 1 - q->errlen : n;
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
    if (q->grow) {
        memcpy(q->buf + q->len, p, m);
        q->len += m;
        q->buf[q->len] = '\0';
    } else {
        /* Straight into the cache's blocks: the only copy of the bytes in user space. */
        for (size_t done = 0; done < m;) {
            size_t at = q->len % q->bs, k = q->bs - at < m - done ? q->bs - at : m - done;
            memcpy(q->bufs[q->len / q->bs] + at, p + done, k);
            q->len += k;
            done += k;
        }
    }
    if (m < n) {
        /* A server that ignored the Range sends the rest of the object: we have ours. */
        q->enough = 1;
        return 0;
    }
    return all;
}

static CURL *take_handle(ckpt_http *r)
{
    pthread_mutex_lock(&r->mu);
    CURL *h = r->npool ? r->pool[--r->npool] : NULL;
    pthread_mutex_unlock(&r->mu);
    return h ? h : curl_easy_init();
}

static void give_handle(ckpt_http *r, CURL *h)
{
    pthread_mutex_lock(&r->mu);
    if (r->npool < CKPT_HTTP_POOL_MAX) {
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
static const char *xml_code(const ckpt_httpreq *q, char *out, size_t outsz)
{
    const char *a = strstr(q->errbody, "<Code>"), *b = a ? strstr(a, "</Code>") : NULL;
    if (!b || (size_t)(b - a - 6) >= outsz)
        return NULL;
    snprintf(out, outsz, "%.*s", (int)(b - a - 6), a + 6);
    return out;
}

/* Whether the source's owner gave up on every request (a daemon whose mount is gone). */
static int cancelled(const ckpt_http *r)
{
    return r->opts->cancel && atomic_load(r->opts->cancel);
}

/* curl's progress callback, called about once a second even while nothing arrives: a
 * non-zero return aborts the transfer. */
static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    return cancelled(ud);
}

/* Configure h for one attempt of q at url, with at most left seconds to go. */
static struct curl_slist *setup(ckpt_http *r, CURL *h, const char *url, int sign, const char *range,
                                ckpt_httpreq *q, double left)
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
    if (r->opts->cancel) {
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
    if (sign == CKPT_SIGN_BASIC) {
        curl_easy_setopt(h, CURLOPT_USERNAME, r->store->auth_user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, r->store->auth_pass);
    } else if (sign != CKPT_SIGN_NONE) {
        const ckpt_store_cfg *c = sign == CKPT_SIGN_S3 ? &r->store->s3 : &r->store->gs;
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
           cc == CURLE_GOT_NOTHING || cc == CURLE_PARTIAL_FILE || cc == CURLE_OPERATION_TIMEDOUT ||
           cc == CURLE_HTTP2 || cc == CURLE_HTTP2_STREAM;
}

/* The final verdict on an answer that is not a success. */
static int http_error(const ckpt_httpreq *q, const char *name, ckpt_err *err)
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

int ckpt_http_get(ckpt_http *r, const char *name, const char *url, int sign, const char *range,
                  ckpt_httpreq *q, ckpt_err *err)
{
    double limit = r->opts->timeout_sec ? r->opts->timeout_sec : CKPT_NET_TIMEOUT_DEFAULT;
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
        curl_off_t first_us = 0, total_us = 0;
        curl_easy_getinfo(h, CURLINFO_STARTTRANSFER_TIME_T, &first_us);
        curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &total_us);
        q->wait_s = (double)first_us / 1e6;
        q->total_s = (double)total_us / 1e6;
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
                return ckpt_err_set(err, CKPT_E_IO, "%s: the answer is larger than expected", name);
            return ckpt_err_set(err, CKPT_E_IO, "%s: %s", name,
                                cerr[0] ? cerr : curl_easy_strerror(cc));
        }
        double left = deadline - now_sec();
        if (left <= backoff || attempt + 1 >= RETRIES_MAX) {
            if (cc == CURLE_OK)
                return ckpt_err_set(err, CKPT_E_IO,
                                    "%s: the server answered HTTP %ld, %d attempts in %.0f s", name,
                                    q->status, attempt + 1, limit);
            return ckpt_err_set(err, CKPT_E_IO, "%s: no answer (%s) after %d attempts in %.0f s",
                                name, cerr[0] ? cerr : curl_easy_strerror(cc), attempt + 1, limit);
        }
        struct timespec ts = {(time_t)backoff, (long)((backoff - (time_t)backoff) * 1e9)};
        nanosleep(&ts, NULL);
        backoff = backoff * 2 < 2.0 ? backoff * 2 : 2.0;
    }
}
