/*
 * zseek.c - see zseek.h. One decoder per stream, under a lock: it stays where the last read
 * stopped, because readers of a member mostly go forward, and a restart costs up to a span.
 */
#include "zseek.h"

#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define WIN CKPT_ZSEEK_WINDOW
/* The output ring: larger than a window, so that zlib writes long runs per call. */
#define RING (8 * WIN)
#define INBUF (64u << 10)
/* Points kept at most (32 KiB each): at the bound every other one goes and the span doubles,
 * so a stream of any length (a "zip bomb" too) is covered within 64 MiB. */
#define POINTS_MAX 2048

struct ckpt_zseek {
    pthread_mutex_t mu;
    ckpt_file *base;
    uint64_t coff, clen;
    ckpt_zseek_kind kind;
    uint64_t usize; /* CKPT_ZSEEK_UNKNOWN until learnt */
    int has_crc;
    uint32_t crc;
    uint64_t span;
    char *name;
    uint64_t *inflated;
    ckpt_zpoint *pts;
    size_t npts, cap;
    /* The decoder where the last read left it. */
    int live;
    z_stream s;
    int raw;        /* decoding raw deflate (a zip member, or a .gz restarted at a point) */
    int ended;      /* the stream's last member ended at `out` */
    int from_start; /* run_crc covers every byte from 0 to out */
    uint32_t run_crc;
    uint64_t out;    /* output offset of the next byte decoded */
    uint64_t in_fed; /* input offset just past what was handed to zlib */
    uint8_t *win;    /* the last RING bytes of output, at out % RING */
    uint8_t *inbuf;
};

int ckpt_zseek_new(ckpt_file *base, uint64_t coff, uint64_t clen, ckpt_zseek_kind kind,
                   uint64_t usize, int has_crc, uint32_t crc, uint64_t span, const char *name,
                   uint64_t *inflated, ckpt_zseek **out, ckpt_err *err)
{
    *out = NULL;
    ckpt_zseek *z = calloc(1, sizeof *z);
    if (!z || !(z->name = strdup(name)) || !(z->win = malloc(RING)) ||
        !(z->inbuf = malloc(INBUF))) {
        if (z) {
            free(z->name);
            free(z->win);
        }
        free(z);
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", name);
    }
    pthread_mutex_init(&z->mu, NULL);
    z->base = base;
    z->coff = coff;
    z->clen = clen;
    z->kind = kind;
    z->usize = usize;
    z->has_crc = has_crc;
    z->crc = crc;
    /* Enough points to cover a known size within the bound. */
    if (usize != CKPT_ZSEEK_UNKNOWN && usize / POINTS_MAX > span)
        span = usize / POINTS_MAX + 1;
    z->span = span < 2 * WIN ? 2 * WIN : span;
    z->inflated = inflated;
    *out = z;
    return 0;
}

static void end_live(ckpt_zseek *z)
{
    if (z->live)
        inflateEnd(&z->s);
    z->live = 0;
}

void ckpt_zseek_free(ckpt_zseek *z)
{
    if (!z)
        return;
    end_live(z);
    for (size_t i = 0; i < z->npts; i++)
        free(z->pts[i].window);
    free(z->pts);
    free(z->win);
    free(z->inbuf);
    free(z->name);
    pthread_mutex_destroy(&z->mu);
    free(z);
}

uint64_t ckpt_zseek_size(ckpt_zseek *z)
{
    pthread_mutex_lock(&z->mu);
    uint64_t s = z->usize;
    pthread_mutex_unlock(&z->mu);
    return s;
}

const ckpt_zpoint *ckpt_zseek_points(ckpt_zseek *z, size_t *n)
{
    *n = z->npts;
    return z->pts;
}

/* The WIN bytes of output before out, from the ring into w. */
static void ring_get(const ckpt_zseek *z, uint64_t out, uint8_t *w)
{
    size_t start = (size_t)((out - WIN) % RING), first = RING - start < WIN ? RING - start : WIN;
    memcpy(w, z->win + start, first);
    memcpy(w + first, z->win, WIN - first);
}

/* w, the WIN bytes of output before out, into the ring. */
static void ring_put(ckpt_zseek *z, uint64_t out, const uint8_t *w)
{
    size_t start = (size_t)((out - WIN) % RING), first = RING - start < WIN ? RING - start : WIN;
    memcpy(z->win + start, w, first);
    memcpy(z->win, w + first, WIN - first);
}

/* Keep a point (w: its window, malloc'd, taken over). -1 when out of memory. */
static int push_point(ckpt_zseek *z, uint64_t out, uint64_t in, unsigned bits, uint8_t *w)
{
    if (z->npts >= POINTS_MAX) {
        size_t k = 0;
        for (size_t i = 0; i < z->npts; i++) {
            if (i % 2 == 0)
                free(z->pts[i].window);
            else
                z->pts[k++] = z->pts[i];
        }
        z->npts = k;
        z->span *= 2;
    }
    if (ckpt_grow((void **)&z->pts, &z->cap, z->npts + 1, sizeof *z->pts)) {
        free(w);
        return -1;
    }
    z->pts[z->npts++] = (ckpt_zpoint){out, in, (uint8_t)bits, w};
    return 0;
}

int ckpt_zseek_add_point(ckpt_zseek *z, const ckpt_zpoint *p, ckpt_err *err)
{
    pthread_mutex_lock(&z->mu);
    int bad = p->out < WIN || p->bits > 7 || p->in > z->clen || (p->bits && p->in == 0) ||
              (z->npts && (p->out <= z->pts[z->npts - 1].out || p->in < z->pts[z->npts - 1].in)) ||
              (z->usize != CKPT_ZSEEK_UNKNOWN && p->out > z->usize);
    uint8_t *w = bad ? NULL : malloc(WIN);
    if (w)
        memcpy(w, p->window, WIN);
    int rc = bad ? ckpt_err_set(err, CKPT_E_CORRUPT,
                                "%s: a kept seek point is out of order or "
                                "outside the stream",
                                z->name)
             : !w || push_point(z, p->out, p->in, p->bits, w)
                 ? ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", z->name)
                 : 0;
    pthread_mutex_unlock(&z->mu);
    return rc;
}

static int zfail(ckpt_zseek *z, ckpt_err *err, const char *what)
{
    int rc = ckpt_err_set(err, CKPT_E_CORRUPT,
                          "%s: compressed data damaged near output offset "
                          "%llu (%s)",
                          z->name, (unsigned long long)z->out, what);
    end_live(z);
    return rc;
}

/* More input for zlib; 0 at the end of the compressed bytes (nothing added). */
static int refill(ckpt_zseek *z, int *added, ckpt_err *err)
{
    *added = 0;
    uint64_t left = z->clen - z->in_fed;
    if (!left)
        return 0;
    size_t n = left < INBUF ? (size_t)left : INBUF;
    int rc = ckpt_file_pread(z->base, z->inbuf, n, z->coff + z->in_fed, err);
    if (rc) {
        end_live(z);
        return rc;
    }
    z->s.next_in = z->inbuf;
    z->s.avail_in = (uInt)n;
    z->in_fed += n;
    *added = 1;
    return 0;
}

/* Start decoding at point p, or at the stream's start when p is NULL. */
static int restart(ckpt_zseek *z, const ckpt_zpoint *p, ckpt_err *err)
{
    end_live(z);
    memset(&z->s, 0, sizeof z->s);
    /* 47: a gzip header, checked; -15: raw deflate (a zip member, or a restart). */
    int wbits = !p && z->kind == CKPT_ZSEEK_GZIP ? 47 : -15;
    if (inflateInit2(&z->s, wbits) != Z_OK)
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", z->name);
    z->live = 1;
    z->ended = 0;
    z->raw = p || z->kind == CKPT_ZSEEK_RAW;
    if (!p) {
        z->out = 0;
        z->in_fed = 0;
        z->from_start = 1;
        z->run_crc = (uint32_t)crc32(0, Z_NULL, 0);
        return 0;
    }
    z->out = p->out;
    z->in_fed = p->in;
    z->from_start = 0;
    if (p->bits) {
        uint8_t b;
        int rc = ckpt_file_pread(z->base, &b, 1, z->coff + p->in - 1, err);
        if (rc) {
            end_live(z);
            return rc;
        }
        inflatePrime(&z->s, p->bits, b >> (8 - p->bits));
    }
    inflateSetDictionary(&z->s, p->window, WIN);
    ring_put(z, p->out, p->window);
    return 0;
}

/* Consume n input bytes (a gzip trailer); 0 when the input ran out first. */
static int skip_input(ckpt_zseek *z, size_t n, int *ok, ckpt_err *err)
{
    *ok = 0;
    while (n) {
        if (!z->s.avail_in) {
            int added, rc = refill(z, &added, err);
            if (rc)
                return rc;
            if (!added)
                return 0;
        }
        size_t k = n < z->s.avail_in ? n : z->s.avail_in;
        z->s.next_in += k;
        z->s.avail_in -= (uInt)k;
        n -= k;
    }
    *ok = 1;
    return 0;
}

/* After a gzip member's end: whether another member follows (it then decodes next). */
static int next_member(ckpt_zseek *z, int *more, ckpt_err *err)
{
    *more = 0;
    int ok = 1, rc = 0;
    if (z->raw) /* a restart decodes raw deflate: the 8-byte trailer is still ahead */
        rc = skip_input(z, 8, &ok, err);
    if (rc || !ok)
        return rc;
    if (!z->s.avail_in) {
        int added;
        if ((rc = refill(z, &added, err)) || !added)
            return rc;
    }
    if (z->s.avail_in < 2) {
        /* Two magic bytes may straddle a refill; a single trailing byte ends the stream. */
        if (z->in_fed < z->clen) {
            uint8_t two[2];
            if ((rc = ckpt_file_pread(z->base, two, 2, z->coff + z->in_fed - 1, err)))
                return rc;
            *more = two[0] == 0x1f && two[1] == 0x8b;
        }
    } else {
        *more = z->s.next_in[0] == 0x1f && z->s.next_in[1] == 0x8b;
    }
    if (*more) {
        inflateReset2(&z->s, 47);
        z->raw = 0;
    }
    return 0;
}

/* Decode forward until the output reaches `to` (or the stream ends), copying what falls in
 * [off, off + n) to buf. */
static int decode(ckpt_zseek *z, uint8_t *buf, size_t n, uint64_t off, ckpt_err *err)
{
    uint64_t to = off + n;
    while (z->out < to) {
        if (z->ended)
            return ckpt_err_set(err, CKPT_E_CORRUPT,
                                "%s: the compressed stream ends at %llu bytes, before %llu",
                                z->name, (unsigned long long)z->out, (unsigned long long)to);
        if (!z->s.avail_in) {
            int added, rc = refill(z, &added, err);
            if (rc)
                return rc;
            if (!added)
                return zfail(z, err, "the compressed bytes end before the stream does");
        }
        size_t wp = (size_t)(z->out % RING);
        uInt room = (uInt)(RING - wp);
        if (z->usize != CKPT_ZSEEK_UNKNOWN && z->usize - z->out < room)
            room = (uInt)(z->usize - z->out);
        uint64_t last = z->npts ? z->pts[z->npts - 1].out : 0;
        int want_point = z->out >= last + z->span;
        z->s.next_out = z->win + wp;
        z->s.avail_out = room;
        int ret = inflate(&z->s, want_point ? Z_BLOCK : Z_NO_FLUSH);
        size_t got = room - z->s.avail_out;
        if (ret == Z_NEED_DICT || ret == Z_DATA_ERROR || ret == Z_MEM_ERROR ||
            ret == Z_STREAM_ERROR)
            return zfail(z, err, z->s.msg ? z->s.msg : "inflate failed");
        if (got) {
            uint64_t a = z->out, b = z->out + got;
            uint64_t lo = a > off ? a : off, hi = b < to ? b : to;
            if (lo < hi)
                memcpy(buf + (lo - off), z->win + wp + (lo - a), (size_t)(hi - lo));
            if (z->from_start && z->has_crc)
                z->run_crc = (uint32_t)crc32(z->run_crc, z->win + wp, (uInt)got);
            if (z->inflated)
                __atomic_add_fetch(z->inflated, got, __ATOMIC_RELAXED);
            z->out = b;
        }
        if (z->usize != CKPT_ZSEEK_UNKNOWN && z->out == z->usize) {
            if (z->from_start && z->has_crc && z->run_crc != z->crc)
                return ckpt_err_set(err, CKPT_E_CORRUPT,
                                    "%s: CRC-32 mismatch (the archive says %08x, the data "
                                    "give %08x)",
                                    z->name, z->crc, z->run_crc);
            z->ended = 1;
            continue;
        }
        if (ret == Z_STREAM_END) {
            int more = 0;
            if (z->kind == CKPT_ZSEEK_GZIP) {
                int rc = next_member(z, &more, err);
                if (rc)
                    return rc;
            }
            if (!more) {
                z->ended = 1;
                if (z->usize == CKPT_ZSEEK_UNKNOWN)
                    z->usize = z->out;
            }
            continue;
        }
        if (want_point && (z->s.data_type & 128) && !(z->s.data_type & 64) && z->out >= WIN) {
            uint64_t in = z->in_fed - z->s.avail_in;
            /* A gzip stream decoded from its start counts its header in `in` too; restarts
             * decode raw deflate from the same offsets, so the points agree either way. */
            uint8_t *w = malloc(WIN);
            if (w)
                ring_get(z, z->out, w);
            if (!w || push_point(z, z->out, in, (unsigned)(z->s.data_type & 7), w))
                return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", z->name);
        }
        if (ret == Z_BUF_ERROR && !got && z->s.avail_in)
            return zfail(z, err, "no progress");
    }
    return 0;
}

int ckpt_zseek_read(ckpt_zseek *z, void *buf, size_t n, uint64_t off, ckpt_err *err)
{
    if (!n)
        return 0;
    pthread_mutex_lock(&z->mu);
    int rc = 0;
    if (z->usize != CKPT_ZSEEK_UNKNOWN && (off > z->usize || n > z->usize - off)) {
        rc = ckpt_err_set(err, CKPT_E_CORRUPT, "%s: %zu bytes at %llu lie beyond its end (%llu)",
                          z->name, n, (unsigned long long)off, (unsigned long long)z->usize);
        goto out;
    }
    /* The nearest point at or before off (binary search: points are in output order). */
    const ckpt_zpoint *p = NULL;
    size_t lo = 0, hi = z->npts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->pts[mid].out <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo)
        p = &z->pts[lo - 1];
    int carry_on = z->live && z->out <= off && (!p || p->out <= z->out);
    if (!carry_on)
        rc = restart(z, p, err);
    if (!rc)
        rc = decode(z, buf, n, off, err);
    if (rc)
        end_live(z);
out:
    pthread_mutex_unlock(&z->mu);
    return rc;
}
