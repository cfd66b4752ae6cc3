/*
 * bundlewriter.c - see bundlewriter.h. The table layout is LevelDB's as docs/format.md gives it.
 */
#include "bundlewriter.h"

#include "coding.h"
#include "crc32c.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define BLOCK_TARGET (256u << 10) /* TF's table block size */
#define RESTART_INTERVAL 16
#define TABLE_MAGIC 0xdb4775248b80fb57ull

/* A growing byte buffer; a failed allocation sets failed and makes later appends no-ops. */
typedef struct wbuf {
    uint8_t *p;
    size_t len, cap;
    int failed;
} wbuf;

static void put(wbuf *b, const void *s, size_t n)
{
    if (b->failed || !n)
        return;
    if (ckpt_grow((void **)&b->p, &b->cap, b->len + n, 1)) {
        b->failed = 1;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void put_varint(wbuf *b, uint64_t v)
{
    uint8_t tmp[10];
    put(b, tmp, (size_t)ckpt_put_varint64(tmp, v));
}

static void put_fixed32(wbuf *b, uint32_t v)
{
    uint8_t tmp[4];
    ckpt_store_le32(tmp, v);
    put(b, tmp, 4);
}

/* One block being built: entries with shared key prefixes, restart points every interval. */
typedef struct block {
    wbuf b;
    uint32_t *restarts;
    size_t nrestarts, restarts_cap;
    int since_restart, interval;
    wbuf last; /* the last key added */
    int failed;
} block;

static void block_reset(block *k, int interval)
{
    k->b.len = 0;
    k->nrestarts = 0;
    k->since_restart = 0;
    k->interval = interval;
    k->last.len = 0;
}

static void block_add(block *k, const char *key, size_t klen, const uint8_t *val, size_t vlen)
{
    size_t shared = 0;
    if (k->since_restart < k->interval && k->b.len) {
        while (shared < klen && shared < k->last.len && k->last.p[shared] == (uint8_t)key[shared])
            shared++;
    } else {
        if (ckpt_grow((void **)&k->restarts, &k->restarts_cap, k->nrestarts + 1,
                      sizeof *k->restarts))
            k->failed = 1;
        else
            k->restarts[k->nrestarts++] = (uint32_t)k->b.len;
        k->since_restart = 0;
    }
    put_varint(&k->b, shared);
    put_varint(&k->b, klen - shared);
    put_varint(&k->b, vlen);
    put(&k->b, key + shared, klen - shared);
    put(&k->b, val, vlen);
    k->last.len = 0;
    put(&k->last, key, klen);
    k->since_restart++;
}

/* Append block k (restart array, count, trailer) to out; its handle is (*off, *size). */
static void block_flush(block *k, wbuf *out, uint64_t *off, uint64_t *size)
{
    if (!k->nrestarts) {
        /* an empty block still has one restart point, at 0 (LevelDB's builder) */
        put_fixed32(&k->b, 0);
        put_fixed32(&k->b, 1);
    } else {
        for (size_t i = 0; i < k->nrestarts; i++)
            put_fixed32(&k->b, k->restarts[i]);
        put_fixed32(&k->b, (uint32_t)k->nrestarts);
    }
    *off = out->len;
    *size = k->b.len;
    put(out, k->b.p, k->b.len);
    uint8_t type = 0; /* uncompressed */
    uint32_t crc = ckpt_crc32c_extend(ckpt_crc32c(k->b.p, k->b.len), &type, 1);
    put(out, &type, 1);
    put_fixed32(out, ckpt_crc32c_mask(crc));
    k->failed |= k->b.failed || k->last.failed;
}

static void block_free(block *k)
{
    free(k->b.p);
    free(k->restarts);
    free(k->last.p);
}

/* BundleEntryProto of e (docs/format.md: zero values absent, the shape always present). */
static void encode_entry(wbuf *v, const ckpt_wentry *e)
{
    v->len = 0;
    if (e->dtype) {
        put_varint(v, 1 << 3 | 0);
        put_varint(v, (uint64_t)e->dtype);
    }
    wbuf shape = {0};
    for (int d = 0; d < e->rank; d++) {
        uint8_t dim[16];
        size_t n = 0;
        if (e->dims[d]) {
            dim[n++] = 1 << 3 | 0;
            n += (size_t)ckpt_put_varint64(dim + n, (uint64_t)e->dims[d]);
        }
        put_varint(&shape, 2 << 3 | 2);
        put_varint(&shape, n);
        put(&shape, dim, n);
    }
    put_varint(v, 2 << 3 | 2);
    put_varint(v, shape.len);
    put(v, shape.p, shape.len);
    v->failed |= shape.failed;
    free(shape.p);
    if (e->offset) {
        put_varint(v, 4 << 3 | 0);
        put_varint(v, e->offset);
    }
    if (e->size) {
        put_varint(v, 5 << 3 | 0);
        put_varint(v, e->size);
    }
    uint32_t masked = ckpt_crc32c_mask(e->crc);
    if (masked) {
        put_varint(v, 6 << 3 | 5);
        put_fixed32(v, masked);
    }
}

/* Whether a sorts strictly before b, bytewise with a prefix first. */
static int key_less(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c < 0 || (c == 0 && an < bn);
}

int ckpt_bundle_index(const ckpt_wentry *e, size_t n, uint8_t **out, size_t *len, ckpt_err *err)
{
    *out = NULL;
    *len = 0;
    for (size_t i = 0; i < n; i++)
        if (!e[i].key_len ||
            (i && !key_less(e[i - 1].key, e[i - 1].key_len, e[i].key, e[i].key_len)))
            return ckpt_err_set(err, CKPT_E_INVALID, "bundle keys not in increasing order at %zu",
                                i);
    wbuf file = {0}, val = {0}, handle = {0};
    block data = {0}, index = {0};
    block_reset(&data, RESTART_INTERVAL);
    block_reset(&index, 1);
    /* The header: one shard, little-endian, version producer 1. */
    static const uint8_t header[] = {0x08, 0x01, 0x1a, 0x02, 0x08, 0x01};
    block_add(&data, "", 0, header, sizeof header);
    for (size_t i = 0; i <= n; i++) {
        if (i < n) {
            encode_entry(&val, &e[i]);
            block_add(&data, e[i].key, e[i].key_len, val.p, val.len);
        }
        if ((i == n || data.b.len >= BLOCK_TARGET) && data.b.len) {
            /* The index keeps the block's last key itself: a valid separator. */
            wbuf last = {0};
            put(&last, data.last.p, data.last.len);
            uint64_t off, size;
            block_flush(&data, &file, &off, &size);
            handle.len = 0;
            put_varint(&handle, off);
            put_varint(&handle, size);
            block_add(&index, (const char *)last.p, last.len, handle.p, handle.len);
            index.failed |= last.failed || data.failed;
            free(last.p);
            block_reset(&data, RESTART_INTERVAL);
        }
    }
    block meta = {0};
    block_reset(&meta, RESTART_INTERVAL);
    uint64_t moff, msize, ioff, isize;
    block_flush(&meta, &file, &moff, &msize);
    block_flush(&index, &file, &ioff, &isize);
    uint8_t footer[48] = {0};
    size_t f = 0;
    f += (size_t)ckpt_put_varint64(footer + f, moff);
    f += (size_t)ckpt_put_varint64(footer + f, msize);
    f += (size_t)ckpt_put_varint64(footer + f, ioff);
    f += (size_t)ckpt_put_varint64(footer + f, isize);
    ckpt_store_le32(footer + 40, (uint32_t)TABLE_MAGIC);
    ckpt_store_le32(footer + 44, (uint32_t)(TABLE_MAGIC >> 32));
    put(&file, footer, sizeof footer);
    int failed =
        file.failed || val.failed || handle.failed || data.failed || index.failed || meta.failed;
    free(val.p);
    free(handle.p);
    block_free(&data);
    block_free(&index);
    block_free(&meta);
    if (failed) {
        free(file.p);
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory building a checkpoint index");
    }
    *out = file.p;
    *len = file.len;
    return 0;
}
