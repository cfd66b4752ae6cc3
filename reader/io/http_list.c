/*
 * http_list.c - the remote source's listing (bytesrc_http.h): ListObjectsV2 of an s3:// or
 * gs:// folder, page by page, and the parse of one page's XML. A web server cannot be listed.
 */
#include "bytesrc_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* One listing page of S3 is about 1,000 keys. */
#define LIST_PAGE_MAX (8u << 20)
#define LIST_PAGES_MAX 1000

/* Decode the five XML entities of text [a, b) into a new string. */
static char *xml_text(const char *a, const char *b)
{
    static const struct {
        const char *ent;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    char *out = malloc((size_t)(b - a) + 1), *o = out;
    if (!out)
        return NULL;
    while (a < b) {
        size_t k = 0;
        for (; *a == '&' && k < sizeof ents / sizeof ents[0]; k++) {
            size_t el = strlen(ents[k].ent);
            if ((size_t)(b - a) >= el && !memcmp(a, ents[k].ent, el))
                break;
        }
        if (*a == '&' && k < sizeof ents / sizeof ents[0]) {
            *o++ = ents[k].c;
            a += strlen(ents[k].ent);
        } else {
            *o++ = *a++;
        }
    }
    *o = '\0';
    return out;
}

/* The text of the next <tag>...</tag> at or after *p in [*p, end); advances *p past it. */
static char *next_elem(const char **p, const char *end, const char *tag)
{
    char open[64], close[64];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *a = memmem(*p, (size_t)(end - *p), open, strlen(open));
    if (!a)
        return NULL;
    a += strlen(open);
    const char *b = memmem(a, (size_t)(end - a), close, strlen(close));
    if (!b)
        return NULL;
    *p = b + strlen(close);
    return xml_text(a, b);
}

/* Seconds since the epoch of an ISO 8601 UTC time as S3 writes it ("2026-11-27T10:00:00.000Z"),
 * or 0 when it is not one. */
static int64_t iso_time(const char *s)
{
    struct tm tm = {0};
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    return end ? (int64_t)timegm(&tm) : 0;
}

/* One <Contents> element of a listing into l when its key is a file directly under the listed
 * prefix (plen bytes). 0 or -1 (out of memory). */
static int add_contents(const char *a, const char *b, size_t plen, ckpt_listing *l, size_t *cap)
{
    const char *p = a;
    char *key = next_elem(&p, b, "Key");
    int rc = 0;
    if (key && strlen(key) > plen && !strchr(key + plen, '/')) {
        ckpt_file_id id;
        memset(&id, 0, sizeof id);
        p = a;
        char *size = next_elem(&p, b, "Size");
        p = a;
        char *mtime = next_elem(&p, b, "LastModified");
        p = a;
        char *etag = next_elem(&p, b, "ETag");
        id.size = size ? strtoull(size, NULL, 10) : 0;
        id.mtime_sec = iso_time(mtime);
        if (etag)
            snprintf(id.tag, sizeof id.tag, "%s", etag);
        rc = ckpt_listing_add(l, cap, key + plen, &id);
        free(size);
        free(mtime);
        free(etag);
    }
    free(key);
    return rc;
}

int ckpt__parse_list_page(const char *body, size_t len, size_t plen, ckpt_listing *l, size_t *cap,
                          char **token)
{
    const char *end = body + len;
    const char *p = body;
    for (;;) {
        const char *a = memmem(p, (size_t)(end - p), "<Contents>", 10);
        const char *b = a ? memmem(a, (size_t)(end - a), "</Contents>", 11) : NULL;
        if (!b)
            break;
        if (add_contents(a, b, plen, l, cap))
            return -1;
        p = b + 11;
    }
    p = body;
    char *trunc = next_elem(&p, end, "IsTruncated");
    *token = NULL;
    if (trunc && !strcmp(trunc, "true")) {
        p = body;
        *token = next_elem(&p, end, "NextContinuationToken");
    }
    free(trunc);
    return 0;
}

/* "s3://bucket" and "key/" of the folder URL dir (s3:// or gs://), malloc'd; -1 when out of
 * memory. */
static int split_bucket(const char *dir, char **root, char **key)
{
    const char *bucket = dir + 5, *slash = strchr(bucket, '/');
    size_t blen = slash ? (size_t)(slash - bucket) : strlen(bucket);
    *root = strndup(dir, (size_t)(bucket - dir) + blen);
    *key = slash ? malloc(strlen(slash + 1) + 2) : strdup("");
    if (*key && slash)
        sprintf(*key, "%s/", slash + 1);
    if (*root && *key)
        return 0;
    free(*root);
    free(*key);
    *root = *key = NULL;
    return -1;
}

unsigned ckpt__remote_caps(void *state, const char *name)
{
    (void)state;
    return strncmp(name, "s3://", 5) && strncmp(name, "gs://", 5) ? 0 : CKPT_CAN_LIST;
}

int ckpt__remote_list(void *state, const char *dir, ckpt_listing *out, ckpt_err *err)
{
    /* The remote source's state is the source itself (bytesrc_http.c). */
    ckpt_bytesrc *src = state;
    memset(out, 0, sizeof *out);
    if (strncmp(dir, "s3://", 5) && strncmp(dir, "gs://", 5))
        return ckpt_err_set(err, CKPT_E_UNSUPPORTED,
                            "%s: an HTTP server cannot be listed; name a checkpoint, or a "
                            "folder with a `checkpoint` state file",
                            dir);
    char *root, *key;
    if (split_bucket(dir, &root, &key))
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    /* '/' stays literal in the query: libcurl 7.88's SigV4 encodes it for the canonical
     * query itself, and signs "%2F" wrongly (S3 then answers SignatureDoesNotMatch). */
    char *ekey = ckpt__url_encode(key, 1);
    int rc = ekey ? 0 : ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    size_t cap = 0, plen = strlen(key);
    char *token = NULL;
    for (int page = 0; !rc && page < LIST_PAGES_MAX; page++) {
        /* Parameters in sorted order: the order SigV4 signs them in. */
        char *etok = token ? ckpt__url_encode(token, 0) : NULL;
        size_t qn = strlen(ekey) + (etok ? strlen(etok) : 0) + 96;
        char *query = malloc(qn);
        if (query)
            snprintf(query, qn, "%s%s%sdelimiter=/&list-type=2&prefix=%s",
                     etok ? "continuation-token=" : "", etok ? etok : "", etok ? "&" : "", ekey);
        free(etok);
        free(token);
        token = NULL;
        char *body = NULL;
        size_t blen = 0;
        rc = query ? ckpt__http_get_small(src, root, query, LIST_PAGE_MAX, &body, &blen, err)
                   : ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
        free(query);
        if (!rc && ckpt__parse_list_page(body, blen, plen, out, &cap, &token))
            rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
        free(body);
        if (!token)
            break;
    }
    free(token);
    free(root);
    free(key);
    free(ekey);
    if (rc)
        ckpt_listing_free(out);
    ckpt_listing_sort(out);
    return rc;
}
