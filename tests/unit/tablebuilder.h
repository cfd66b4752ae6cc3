/*
 * tablebuilder.h - a tiny table (SSTable) WRITER for tests only.
 *
 * Written from the format description (docs: tf-checkpoint-format.md section 2), not from
 * reader/format/table.c, so that the reader is checked against an independent producer. It has its
 * own bitwise CRC-32C for the same reason. Besides a normal builder (tb_table_*) it exposes the raw
 * pieces (tb_block_*, tb_write_block, tb_finish_file) so tests can assemble deliberately broken
 * files whose block checksums are still valid and whose damage therefore reaches the parser.
 *
 * Everything aborts on allocation failure: this is test scaffolding.
 */
#ifndef CKPT_TEST_TABLEBUILDER_H
#define CKPT_TEST_TABLEBUILDER_H

#include <snappy-c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- growable byte buffer ---- */

typedef struct tb_buf {
    uint8_t *p;
    size_t n, cap;
} tb_buf;

static inline void tb_reserve(tb_buf *b, size_t more)
{
    if (b->n + more <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + more)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        abort();
    b->p = p;
    b->cap = cap;
}

static inline void tb_put(tb_buf *b, const void *d, size_t n)
{
    tb_reserve(b, n + 1);
    if (n)
        memcpy(b->p + b->n, d, n);
    b->n += n;
}

static inline void tb_put_u8(tb_buf *b, uint8_t v)
{
    tb_put(b, &v, 1);
}

static inline void tb_put_fixed32(tb_buf *b, uint32_t v)
{
    uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    tb_put(b, x, 4);
}

static inline void tb_put_varint(tb_buf *b, uint64_t v)
{
    while (v >= 0x80) {
        tb_put_u8(b, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    tb_put_u8(b, (uint8_t)v);
}

static inline void tb_buf_free(tb_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

/* ---- CRC-32C, bitwise (reflected polynomial 0x82F63B78), and TF's masking ---- */

static inline uint32_t tb_crc32c(uint32_t crc, const uint8_t *d, size_t n)
{
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= d[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static inline uint32_t tb_mask(uint32_t c)
{
    return ((c >> 15) | (c << 17)) + 0xa282ead8u;
}

/* ---- block builder: prefix-compressed entries + restart array ---- */

typedef struct tb_block {
    tb_buf buf;
    uint32_t *restarts;
    size_t nrestarts, rcap;
    int interval; /* entries per restart */
    int counter;  /* entries since the last restart */
    tb_buf last;  /* previous key */
    size_t entries;
} tb_block;

static inline void tb_block_init(tb_block *bl, int interval)
{
    memset(bl, 0, sizeof *bl);
    bl->interval = interval;
}

static inline void tb_block_reset(tb_block *bl)
{
    bl->buf.n = 0;
    bl->nrestarts = 0;
    bl->counter = 0;
    bl->last.n = 0;
    bl->entries = 0;
}

static inline void tb_block_free(tb_block *bl)
{
    tb_buf_free(&bl->buf);
    tb_buf_free(&bl->last);
    free(bl->restarts);
    memset(bl, 0, sizeof *bl);
}

static inline void tb_block_push_restart(tb_block *bl, uint32_t off)
{
    if (bl->nrestarts == bl->rcap) {
        bl->rcap = bl->rcap ? bl->rcap * 2 : 16;
        bl->restarts = realloc(bl->restarts, bl->rcap * sizeof *bl->restarts);
        if (!bl->restarts)
            abort();
    }
    bl->restarts[bl->nrestarts++] = off;
}

/* Append an entry with an explicit `shared` count (no validation: tests use it to break
 * things). The key suffix written is key[shared..klen). */
static inline void tb_block_add_raw(tb_block *bl, uint32_t shared, const uint8_t *key, size_t klen,
                                    const uint8_t *val, size_t vlen)
{
    tb_put_varint(&bl->buf, shared);
    tb_put_varint(&bl->buf, klen - shared);
    tb_put_varint(&bl->buf, vlen);
    tb_put(&bl->buf, key + shared, klen - shared);
    tb_put(&bl->buf, val, vlen);
    bl->last.n = 0;
    tb_put(&bl->last, key, klen);
    bl->entries++;
}

/* Append an entry, sharing a prefix with the previous key unless a restart is due. */
static inline void tb_block_add(tb_block *bl, const void *key, size_t klen, const void *val,
                                size_t vlen)
{
    const uint8_t *k = key;
    uint32_t shared = 0;
    if (bl->entries == 0 || bl->counter >= bl->interval) {
        tb_block_push_restart(bl, (uint32_t)bl->buf.n);
        bl->counter = 0;
    } else {
        size_t m = bl->last.n < klen ? bl->last.n : klen;
        while (shared < m && bl->last.p[shared] == k[shared])
            shared++;
    }
    tb_block_add_raw(bl, shared, k, klen, val, vlen);
    bl->counter++;
}

/* Size the finished contents will have. */
static inline size_t tb_block_estimate(const tb_block *bl)
{
    size_t nr = bl->nrestarts ? bl->nrestarts : 1;
    return bl->buf.n + 4 * nr + 4;
}

/* Append the restart array and count; an empty block gets one restart at 0 (as TF writes). */
static inline void tb_block_finish(tb_block *bl)
{
    if (bl->nrestarts == 0)
        tb_block_push_restart(bl, 0);
    for (size_t i = 0; i < bl->nrestarts; i++)
        tb_put_fixed32(&bl->buf, bl->restarts[i]);
    tb_put_fixed32(&bl->buf, (uint32_t)bl->nrestarts);
}

/* ---- blocks in a file ---- */

typedef struct tb_handle {
    uint64_t offset, size;
} tb_handle;

/* Append contents (stored as given) + trailer {type, masked crc(contents||type)} to out. */
static inline tb_handle tb_write_block(tb_buf *out, const uint8_t *contents, size_t n, uint8_t type)
{
    tb_handle h = {out->n, n};
    tb_put(out, contents, n);
    uint32_t crc = tb_crc32c(0, contents, n);
    crc = tb_crc32c(crc, &type, 1);
    tb_put_u8(out, type);
    tb_put_fixed32(out, tb_mask(crc));
    return h;
}

/* Write a block, snappy-compressed (type 1) when compress is set, whatever the saving. */
static inline tb_handle tb_write_block_c(tb_buf *out, const uint8_t *contents, size_t n,
                                         int compress)
{
    if (!compress)
        return tb_write_block(out, contents, n, 0);
    size_t clen = snappy_max_compressed_length(n);
    char *c = malloc(clen + 1);
    if (!c || snappy_compress((const char *)contents, n, c, &clen) != SNAPPY_OK)
        abort();
    tb_handle h = tb_write_block(out, (const uint8_t *)c, clen, 1);
    free(c);
    return h;
}

static inline void tb_encode_handle(tb_buf *b, tb_handle h)
{
    tb_put_varint(b, h.offset);
    tb_put_varint(b, h.size);
}

/* 48-byte footer: two handles, zero padding to 40 bytes, magic. */
static inline void tb_write_footer(tb_buf *out, tb_handle meta, tb_handle index)
{
    tb_buf f = {0};
    tb_encode_handle(&f, meta);
    tb_encode_handle(&f, index);
    while (f.n < 40)
        tb_put_u8(&f, 0);
    tb_put_fixed32(&f, 0x8b80fb57u);
    tb_put_fixed32(&f, 0xdb477524u);
    tb_put(out, f.p, f.n);
    tb_buf_free(&f);
}

/* After the data blocks: empty metaindex, the given (unfinished) index block, footer. */
static inline void tb_finish_file(tb_buf *out, tb_block *index, int compress_index)
{
    tb_block meta;
    tb_block_init(&meta, 1);
    tb_block_finish(&meta);
    tb_handle mh = tb_write_block(out, meta.buf.p, meta.buf.n, 0);
    tb_block_free(&meta);
    tb_block_finish(index);
    tb_handle ih = tb_write_block_c(out, index->buf.p, index->buf.n, compress_index);
    tb_write_footer(out, mh, ih);
}

/* ---- separators (FindShortestSeparator / FindShortSuccessor as the doc describes) ---- */

/* Shortest S with a <= S < b (b > a), into s. */
static inline void tb_separator(tb_buf *s, const tb_buf *a, const uint8_t *b, size_t blen)
{
    s->n = 0;
    size_t m = a->n < blen ? a->n : blen, i = 0;
    while (i < m && a->p[i] == b[i])
        i++;
    if (i < m && a->p[i] < 0xff && a->p[i] + 1 < b[i]) {
        tb_put(s, a->p, i);
        tb_put_u8(s, (uint8_t)(a->p[i] + 1));
        return;
    }
    tb_put(s, a->p, a->n);
}

/* Short S >= a: bump the first non-0xff byte and cut after it. */
static inline void tb_successor(tb_buf *s, const tb_buf *a)
{
    s->n = 0;
    for (size_t i = 0; i < a->n; i++) {
        if (a->p[i] != 0xff) {
            tb_put(s, a->p, i);
            tb_put_u8(s, (uint8_t)(a->p[i] + 1));
            return;
        }
    }
    tb_put(s, a->p, a->n);
}

/* ---- whole-table builder ---- */

typedef struct tb_table {
    tb_buf out; /* the file being written */
    tb_block data, index;
    size_t block_size;   /* flush a data block once its estimate reaches this */
    int compress;        /* snappy for data blocks and the index block */
    int pending;         /* a data block was flushed; its index entry waits for the next key */
    tb_buf pending_last; /* last key of that block */
    tb_handle pending_h;
    size_t nblocks;
    size_t nentries;
} tb_table;

static inline void tb_table_init(tb_table *t, size_t block_size, int restart_interval, int compress)
{
    memset(t, 0, sizeof *t);
    tb_block_init(&t->data, restart_interval);
    tb_block_init(&t->index, 1);
    t->block_size = block_size;
    t->compress = compress;
}

static inline void tb_table_add_index(tb_table *t, const tb_buf *sep, tb_handle h)
{
    tb_buf v = {0};
    tb_encode_handle(&v, h);
    tb_block_add(&t->index, sep->p, sep->n, v.p, v.n);
    tb_buf_free(&v);
}

static inline void tb_table_flush(tb_table *t)
{
    if (t->data.entries == 0)
        return;
    t->pending_last.n = 0;
    tb_put(&t->pending_last, t->data.last.p, t->data.last.n);
    tb_block_finish(&t->data);
    t->pending_h = tb_write_block_c(&t->out, t->data.buf.p, t->data.buf.n, t->compress);
    tb_block_reset(&t->data);
    t->pending = 1;
    t->nblocks++;
}

/* Add an entry; keys must be given in strictly increasing bytewise order. */
static inline void tb_table_add(tb_table *t, const void *key, size_t klen, const void *val,
                                size_t vlen)
{
    if (t->pending) {
        tb_buf sep = {0};
        tb_separator(&sep, &t->pending_last, key, klen);
        tb_table_add_index(t, &sep, t->pending_h);
        tb_buf_free(&sep);
        t->pending = 0;
    }
    tb_block_add(&t->data, key, klen, val, vlen);
    t->nentries++;
    if (tb_block_estimate(&t->data) >= t->block_size)
        tb_table_flush(t);
}

static inline void tb_table_adds(tb_table *t, const char *key, const char *val)
{
    tb_table_add(t, key, strlen(key), val, strlen(val));
}

/* Finish the file; t->out then holds it (free with tb_table_free). */
static inline void tb_table_finish(tb_table *t)
{
    tb_table_flush(t);
    if (t->pending) {
        tb_buf sep = {0};
        tb_successor(&sep, &t->pending_last);
        tb_table_add_index(t, &sep, t->pending_h);
        tb_buf_free(&sep);
        t->pending = 0;
    }
    tb_finish_file(&t->out, &t->index, t->compress);
}

static inline void tb_table_free(tb_table *t)
{
    tb_buf_free(&t->out);
    tb_block_free(&t->data);
    tb_block_free(&t->index);
    tb_buf_free(&t->pending_last);
}

/*
 * A table with one data block whose contents are given verbatim (valid trailer CRC), of the
 * given block type, indexed under index_key. For feeding malformed blocks to the parser.
 */
static inline void tb_single_block_file(tb_buf *out, const uint8_t *contents, size_t n,
                                        uint8_t type, const char *index_key)
{
    out->n = 0;
    tb_handle h = tb_write_block(out, contents, n, type);
    tb_block index;
    tb_block_init(&index, 1);
    tb_buf v = {0};
    tb_encode_handle(&v, h);
    tb_block_add(&index, index_key, strlen(index_key), v.p, v.n);
    tb_buf_free(&v);
    tb_finish_file(out, &index, 0);
    tb_block_free(&index);
}

/* Write buf to a new file at path; returns 0 on success. */
static inline int tb_write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = n ? fwrite(p, 1, n, f) : 0;
    int rc = fclose(f);
    return (w == n && rc == 0) ? 0 : -1;
}

#endif
