/*
 * archive_tar.c - a tar's members, from its 512-byte headers (docs/archives.md).
 *
 * Headers are POSIX ustar (name split into prefix and name), with the extensions Python's
 * tarfile and GNU tar write for what ustar cannot hold: a pax 'x' record before a member
 * (path=, size=) and GNU 'L' long names. Only regular files and directories are members; links
 * and devices are skipped. Each header's checksum is checked, so a truncated or damaged tar,
 * or a file that is no tar, stops with the offset named.
 */
#include "archive_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 512u

/* An octal field (spaces and NULs around it allowed), or GNU's base-256 when its top bit is
 * set. -1 when it is neither. */
static int field_num(const uint8_t *f, size_t n, uint64_t *v)
{
    *v = 0;
    if (f[0] & 0x80) {
        if (f[0] != 0x80) /* negative, or too large for 64 bits */
            return -1;
        for (size_t i = 1; i < n; i++) {
            if (*v >> 56)
                return -1;
            *v = *v << 8 | f[i];
        }
        return 0;
    }
    size_t i = 0;
    while (i < n && f[i] == ' ')
        i++;
    int digits = 0;
    for (; i < n && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
        if (*v >> 61)
            return -1;
        *v = *v << 3 | (uint64_t)(f[i] - '0');
    }
    for (; i < n; i++)
        if (f[i] != ' ' && f[i] != 0)
            return -1;
    return 0;
}

int ckpt__tar_is_header(const uint8_t *h)
{
    uint64_t want;
    if (field_num(h + 148, 8, &want))
        return 0;
    uint64_t sum = 0;
    for (size_t i = 0; i < BLOCK; i++)
        sum += i >= 148 && i < 156 ? ' ' : h[i];
    return sum == want;
}

static int all_zero(const uint8_t *h)
{
    for (size_t i = 0; i < BLOCK; i++)
        if (h[i])
            return 0;
    return 1;
}

/* The value of key in pax records rec[0..n) (malloc'd), or NULL. "LEN key=value\n" each. */
static char *pax_value(const char *rec, size_t n, const char *key, size_t *vlen)
{
    size_t p = 0, kl = strlen(key);
    while (p < n) {
        size_t len = 0, q = p;
        while (q < n && rec[q] >= '0' && rec[q] <= '9' && len < n)
            len = len * 10 + (size_t)(rec[q++] - '0');
        if (q >= n || rec[q] != ' ' || len <= q - p || len > n - p)
            return NULL;
        const char *kv = rec + q + 1, *end = rec + p + len - 1; /* end: the '\n' */
        if ((size_t)(end - kv) > kl && !memcmp(kv, key, kl) && kv[kl] == '=') {
            *vlen = (size_t)(end - kv) - kl - 1;
            return strndup(kv + kl + 1, *vlen);
        }
        p += len;
    }
    return NULL;
}

/* A header's name: ustar's prefix "/" name, each NUL-terminated within its field. */
static size_t ustar_name(const uint8_t *h, char *out)
{
    size_t nl = strnlen((const char *)h, 100), pl = 0, o = 0;
    if (!memcmp(h + 257, "ustar", 5))
        pl = strnlen((const char *)h + 345, 155);
    if (pl) {
        memcpy(out, h + 345, pl);
        out[pl] = '/';
        o = pl + 1;
    }
    memcpy(out + o, h, nl);
    return o + nl;
}

/* Whether the member at off, whose data of msize bytes starts at data, fits in an archive of
 * size bytes (CKPT_ZSEEK_UNKNOWN: not known yet); 0, or CKPT_E_CORRUPT with the message. */
static int check_extent(const char *name, uint64_t off, uint64_t data, uint64_t msize,
                        uint64_t size, ckpt_err *err)
{
    if (msize > UINT64_MAX - data - BLOCK || (size != CKPT_ZSEEK_UNKNOWN && msize > size - data))
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: tar member at offset %llu claims %llu bytes, past the "
                            "archive's end: truncated?",
                            name, (unsigned long long)off, (unsigned long long)msize);
    return 0;
}

/* What extended headers ('L': a GNU long name, 'x': pax records) said of the next member. */
typedef struct pending {
    char *name;      /* its name (malloc'd), or NULL: the ustar header's */
    size_t name_len; /* bytes of name */
    uint64_t size;   /* its size, when have_size (pax "size": past the header field's 8 GiB) */
    int have_size;
} pending;

/* Read the extended header of the given type at off, msize bytes of data after its block,
 * into p; 0, or an error code with the message. */
static int read_extended(ckpt_ar_read_fn rd, void *ctx, const char *name, char type, uint64_t off,
                         uint64_t msize, pending *p, ckpt_err *err)
{
    if (msize > CKPT_AR_EXT_MAX)
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: tar extended header at offset %llu is %llu bytes long", name,
                            (unsigned long long)off, (unsigned long long)msize);
    char *rec = malloc((size_t)msize + 1);
    if (!rec)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    int rc = rd(ctx, rec, (size_t)msize, off + BLOCK, err);
    if (rc) {
        free(rec);
        return rc;
    }
    rec[msize] = '\0';
    if (type == 'L') {
        free(p->name);
        p->name = rec;
        p->name_len = strnlen(rec, (size_t)msize);
        return 0;
    }
    size_t vl;
    char *path = pax_value(rec, (size_t)msize, "path", &vl);
    if (path) {
        free(p->name);
        p->name = path;
        p->name_len = strlen(path); /* a NUL in the value ends it */
    }
    char *sz = pax_value(rec, (size_t)msize, "size", &vl);
    if (sz) {
        char *endp;
        p->size = strtoull(sz, &endp, 10);
        p->have_size = *endp == '\0' && vl > 0;
    }
    free(sz);
    free(rec);
    return 0;
}

int ckpt__tar_read(ckpt_ar_read_fn rd, void *ctx, uint64_t size, const char *name, ckpt_ar_table *t,
                   ckpt_err *err)
{
    uint8_t h[BLOCK];
    uint64_t off = 0;
    pending ext = {NULL, 0, 0, 0};
    int rc = 0;
    for (;;) {
        if (size != CKPT_ZSEEK_UNKNOWN && size - off < BLOCK)
            break; /* no end blocks: the members so far are all there is */
        ckpt_err e;
        ckpt_err_clear(&e);
        int r = rd(ctx, h, BLOCK, off, &e);
        if (r == CKPT_E_NOTFOUND && size == CKPT_ZSEEK_UNKNOWN)
            break; /* the stream ended between members (rd's way of saying so) */
        if (r) {
            rc = ckpt_err_set(err, r, "%s", e.msg);
            break;
        }
        if (all_zero(h))
            break; /* the end-of-archive blocks */
        if (!ckpt__tar_is_header(h)) {
            rc = ckpt_err_set(err, CKPT_E_CORRUPT,
                              "%s: no tar header at offset %llu (bad checksum): damaged, or "
                              "not a tar",
                              name, (unsigned long long)off);
            break;
        }
        uint64_t msize;
        if (field_num(h + 124, 12, &msize)) {
            rc = ckpt_err_set(err, CKPT_E_CORRUPT, "%s: tar header at offset %llu: bad size", name,
                              (unsigned long long)off);
            break;
        }
        char type = (char)h[156];
        uint64_t data = off + BLOCK;
        if ((rc = check_extent(name, off, data, msize, size, err)))
            break;
        uint64_t next = data + (msize + BLOCK - 1) / BLOCK * BLOCK;
        if (type == 'x' || type == 'L') {
            if ((rc = read_extended(rd, ctx, name, type, off, msize, &ext, err)))
                break;
            off = next;
            continue;
        }
        if (ext.have_size) {
            msize = ext.size;
            if ((rc = check_extent(name, off, data, msize, size, err)))
                break;
            next = data + (msize + BLOCK - 1) / BLOCK * BLOCK;
        }
        if (type == '0' || type == '\0' || type == '7' || type == '5') {
            char buf[256 + 1];
            const char *nm = ext.name;
            size_t nl = ext.name_len;
            if (!nm) {
                nl = ustar_name(h, buf);
                nm = buf;
            }
            ckpt_ar_member m = {0};
            m.method = CKPT_AR_STORED;
            m.dir = type == '5';
            m.off = data;
            m.csize = m.usize = m.dir ? 0 : msize;
            if (nl > CKPT_AR_NAME_MAX)
                rc = ckpt_err_set(err, CKPT_E_CORRUPT, "%s: a tar member's name is %zu bytes", name,
                                  nl);
            else
                rc = ckpt__ar_add(t, nm, nl, &m, err);
            if (rc)
                break;
        }
        free(ext.name);
        ext = (pending){NULL, 0, 0, 0};
        off = next;
    }
    free(ext.name);
    return rc;
}
