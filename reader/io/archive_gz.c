/*
 * archive_gz.c - the index of a .tar.gz kept in cache_dir= (docs/archives.md), so that only
 * the first mount decompresses the whole stream.
 *
 * Layout, little-endian: "CKPTTGZ1"; u32 key length and the key (the archive's name, size,
 * mtime or ETag: another version of the archive never matches); u64 point count, each point
 * u64 output offset, u64 input offset, u8 bits and its 32 KiB window; u64 member count, each
 * u32 name length, the name, u64 offset, u64 size, u8 directory; u32 CRC-32C of everything
 * before it. Decoding checks every count against the bytes left before allocating.
 */
#include "archive_internal.h"

#include "crc32c.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define MAGIC "CKPTTGZ1"
#define MAGIC_LEN 8u

typedef struct wbuf {
    uint8_t *p;
    size_t n, cap;
    int oom;
} wbuf;

static void put(wbuf *w, const void *d, size_t n)
{
    if (w->oom || ckpt_grow((void **)&w->p, &w->cap, w->n + n, 1)) {
        w->oom = 1;
        return;
    }
    memcpy(w->p + w->n, d, n);
    w->n += n;
}

static void put64(wbuf *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put(w, b, 8);
}

static void put32(wbuf *w, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    put(w, b, 4);
}

int ckpt__tgz_index_encode(ckpt_zseek *z, const ckpt_ar_table *t, const char *key, uint8_t **out,
                           size_t *len, ckpt_err *err)
{
    wbuf w = {0};
    put(&w, MAGIC, MAGIC_LEN);
    put32(&w, (uint32_t)strlen(key));
    put(&w, key, strlen(key));
    size_t np;
    const ckpt_zpoint *pts = ckpt_zseek_points(z, &np);
    put64(&w, np);
    for (size_t i = 0; i < np; i++) {
        put64(&w, pts[i].out);
        put64(&w, pts[i].in);
        put(&w, &pts[i].bits, 1);
        put(&w, pts[i].window, CKPT_ZSEEK_WINDOW);
    }
    put64(&w, t->n);
    for (size_t i = 0; i < t->n; i++) {
        const ckpt_ar_member *m = &t->m[i];
        uint8_t d = (uint8_t)m->dir;
        put32(&w, (uint32_t)strlen(m->name));
        put(&w, m->name, strlen(m->name));
        put64(&w, m->off);
        put64(&w, m->usize);
        put(&w, &d, 1);
    }
    put32(&w, w.oom ? 0 : ckpt_crc32c(w.p, w.n));
    if (w.oom) {
        free(w.p);
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    }
    *out = w.p;
    *len = w.n;
    return 0;
}

typedef struct rbuf {
    const uint8_t *p;
    size_t left;
} rbuf;

static int get(rbuf *r, void *d, size_t n)
{
    if (r->left < n)
        return -1;
    memcpy(d, r->p, n);
    r->p += n;
    r->left -= n;
    return 0;
}

static int get64(rbuf *r, uint64_t *v)
{
    uint8_t b[8];
    if (get(r, b, 8))
        return -1;
    *v = 0;
    for (int i = 7; i >= 0; i--)
        *v = *v << 8 | b[i];
    return 0;
}

static int get32(rbuf *r, uint32_t *v)
{
    uint8_t b[4];
    if (get(r, b, 4))
        return -1;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 0;
}

int ckpt__tgz_index_decode(const uint8_t *buf, size_t len, const char *key, ckpt_zseek *z,
                           ckpt_ar_table *t, ckpt_err *err)
{
    if (len < MAGIC_LEN + 4 + 4 || memcmp(buf, MAGIC, MAGIC_LEN))
        return ckpt_err_set(err, CKPT_E_CORRUPT, "not a kept .tar.gz index");
    uint32_t want = (uint32_t)buf[len - 4] | (uint32_t)buf[len - 3] << 8 |
                    (uint32_t)buf[len - 2] << 16 | (uint32_t)buf[len - 1] << 24;
    if (ckpt_crc32c(buf, len - 4) != want)
        return ckpt_err_set(err, CKPT_E_CORRUPT, "a kept .tar.gz index fails its checksum");
    rbuf r = {buf + MAGIC_LEN, len - MAGIC_LEN - 4};
    uint32_t kl;
    if (get32(&r, &kl) || kl > r.left)
        return ckpt_err_set(err, CKPT_E_CORRUPT, "a kept .tar.gz index is truncated");
    if (kl != strlen(key) || memcmp(r.p, key, kl))
        return ckpt_err_set(err, CKPT_E_NOTFOUND, "the kept index is another archive's");
    r.p += kl;
    r.left -= kl;
    uint64_t np;
    if (get64(&r, &np) || np > r.left / (17 + CKPT_ZSEEK_WINDOW))
        return ckpt_err_set(err, CKPT_E_CORRUPT, "a kept .tar.gz index is truncated");
    for (uint64_t i = 0; i < np; i++) {
        ckpt_zpoint p;
        if (get64(&r, &p.out) || get64(&r, &p.in) || get(&r, &p.bits, 1))
            return ckpt_err_set(err, CKPT_E_CORRUPT, "a kept .tar.gz index is truncated");
        p.window = (uint8_t *)r.p;
        r.p += CKPT_ZSEEK_WINDOW;
        r.left -= CKPT_ZSEEK_WINDOW;
        int rc = ckpt_zseek_add_point(z, &p, err);
        if (rc)
            return rc;
    }
    uint64_t nm;
    if (get64(&r, &nm) || nm > r.left / 21 || nm > CKPT_AR_MEMBERS_MAX)
        return ckpt_err_set(err, CKPT_E_CORRUPT, "a kept .tar.gz index is truncated");
    for (uint64_t i = 0; i < nm; i++) {
        uint32_t nl;
        ckpt_ar_member m = {0};
        uint8_t d;
        if (get32(&r, &nl) || nl > r.left || nl > CKPT_AR_NAME_MAX)
            return ckpt_err_set(err, CKPT_E_CORRUPT, "a kept .tar.gz index is truncated");
        const char *name = (const char *)r.p;
        r.p += nl;
        r.left -= nl;
        if (get64(&r, &m.off) || get64(&r, &m.usize) || get(&r, &d, 1) ||
            m.usize > UINT64_MAX - m.off)
            return ckpt_err_set(err, CKPT_E_CORRUPT, "a kept .tar.gz index is truncated");
        m.dir = d != 0;
        m.csize = m.usize;
        m.method = CKPT_AR_STORED;
        int rc = ckpt__ar_add(t, name, nl, &m, err);
        if (rc)
            return rc;
    }
    return r.left ? ckpt_err_set(err, CKPT_E_CORRUPT, "a kept .tar.gz index has trailing bytes")
                  : 0;
}
