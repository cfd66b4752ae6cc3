/*
 * table.c - see table.h.
 *
 * The index block is loaded at open and kept (it is one entry per data block, so small). Data
 * blocks are loaded one at a time while iterating. Keys inside a block are prefix-compressed:
 * each entry stores how many bytes it shares with the previous key, so the reader rebuilds keys
 * in a growing buffer; restart points are only needed for seeking, which we do not rely on
 * (lookup scans the one candidate block).
 */
#include "table.h"

#include "coding.h"
#include "crc32c.h"
#include "util.h"

#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

#define FOOTER_SIZE CKPT_TABLE_FOOTER_SIZE
/* The footer: two block handles padded to this size, then the 8-byte magic. */
#define FOOTER_HANDLES_SIZE (FOOTER_SIZE - 8)
#define TRAILER_SIZE 5
/* Block trailer compression types. */
enum { BLOCK_RAW = 0, BLOCK_SNAPPY = 1 };
/* Snappy cannot expand data by more than ~22x (a 3-byte copy makes at most 64 bytes); a claim
 * beyond this bound is a lie that would only make us allocate. */
#define SNAPPY_MAX_RATIO 32
/* And never more than this: TF cuts blocks at about 256 KiB and stores big V1 values in raw
 * blocks, so a compressed block this large is a file made to make us allocate (docs/format.md,
 * "Tables"). */
#define SNAPPY_BLOCK_MAX (64u << 20)

typedef struct block_handle {
    uint64_t offset, size;
} block_handle;

typedef struct block {
    uint8_t *owned; /* malloc'd contents, or NULL when data points into the mem table */
    const uint8_t *data;
    size_t size;
} block;

struct ckpt_table {
    const uint8_t *mem; /* whole file, or NULL */
    ckpt_file *file;    /* read through it when mem is NULL */
    int owns_file;      /* a handle ckpt_table_open_fd made, closed with the table */
    uint64_t size;
    char *name;
    block index;
    size_t nblocks;
};

/* A decoded block plus its entry region, restarts excluded. */
typedef struct block_view {
    const uint8_t *p, *end;
} block_view;

static int corrupt(ckpt_err *err, const ckpt_table *t, const char *what)
{
    return ckpt_err_set(err, CKPT_E_CORRUPT, "%s: corrupt table: %s", t->name, what);
}

static const uint8_t *decode_handle(const uint8_t *p, const uint8_t *end, block_handle *h)
{
    p = ckpt_get_varint64(p, end, &h->offset);
    return p ? ckpt_get_varint64(p, end, &h->size) : NULL;
}

static int read_at(ckpt_table *t, uint64_t off, size_t n, uint8_t *dst, ckpt_err *err)
{
    if (t->mem) {
        memcpy(dst, t->mem + off, n);
        return 0;
    }
    int rc = ckpt_file_pread(t->file, dst, n, off, err);
    return rc == CKPT_E_CORRUPT ? corrupt(err, t, "truncated block read") : rc;
}

static void block_free(block *b)
{
    free(b->owned);
    b->owned = NULL;
    b->data = NULL;
    b->size = 0;
}

/* Load, verify and (if needed) decompress the block at h. */
static int read_block(ckpt_table *t, block_handle h, block *out, ckpt_err *err)
{
    memset(out, 0, sizeof *out);
    uint64_t limit = t->size - FOOTER_SIZE;
    if (h.offset > limit || h.size > limit - h.offset || TRAILER_SIZE > limit - h.offset - h.size)
        return corrupt(err, t, "block handle points outside the file");
    size_t n = (size_t)h.size + TRAILER_SIZE;
    const uint8_t *raw;
    uint8_t *buf = NULL;
    if (t->mem) {
        raw = t->mem + h.offset;
    } else {
        buf = malloc(n ? n : 1);
        if (!buf)
            return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory reading a block", t->name);
        int rc = read_at(t, h.offset, n, buf, err);
        if (rc) {
            free(buf);
            return rc;
        }
        raw = buf;
    }
    uint8_t type = raw[h.size];
    uint32_t stored = ckpt_crc32c_unmask(ckpt_load_le32(raw + h.size + 1));
    uint32_t actual = ckpt_crc32c(raw, (size_t)h.size + 1);
    if (stored != actual) {
        free(buf);
        return corrupt(err, t, "block checksum mismatch");
    }
    if (type == BLOCK_RAW) {
        out->owned = buf;
        out->data = raw;
        out->size = (size_t)h.size;
        return 0;
    }
    if (type != BLOCK_SNAPPY) {
        free(buf);
        return corrupt(err, t, "bad block type");
    }
    size_t ulen;
    if (snappy_uncompressed_length((const char *)raw, (size_t)h.size, &ulen) != SNAPPY_OK) {
        free(buf);
        return corrupt(err, t, "corrupted compressed block contents");
    }
    if (ulen / SNAPPY_MAX_RATIO > h.size + 64 || ulen > SNAPPY_BLOCK_MAX) {
        free(buf);
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: corrupt table: a compressed block of %llu bytes at offset %llu "
                            "claims %zu bytes uncompressed, more than %s",
                            t->name, (unsigned long long)h.size, (unsigned long long)h.offset, ulen,
                            ulen > SNAPPY_BLOCK_MAX ? "the 64 MiB a block may hold"
                                                    : "Snappy can expand it to");
    }
    uint8_t *u = malloc(ulen ? ulen : 1);
    if (!u) {
        free(buf);
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory decompressing a block", t->name);
    }
    size_t got = ulen;
    snappy_status s = snappy_uncompress((const char *)raw, (size_t)h.size, (char *)u, &got);
    free(buf);
    if (s != SNAPPY_OK || got != ulen) {
        free(u);
        return corrupt(err, t, "corrupted compressed block contents");
    }
    out->owned = u;
    out->data = u;
    out->size = ulen;
    return 0;
}

/* Find where the entries of a block end (the restart array begins). */
static int block_entries(const ckpt_table *t, const block *b, block_view *v, ckpt_err *err)
{
    if (b->size < 4)
        return corrupt(err, t, "bad block contents");
    uint32_t nrestarts = ckpt_load_le32(b->data + b->size - 4);
    if (nrestarts > (b->size - 4) / 4)
        return corrupt(err, t, "bad block contents (restart count)");
    v->p = b->data;
    v->end = b->data + b->size - 4 - 4 * (size_t)nrestarts;
    return 0;
}

/* Growing key buffer shared by one iteration. */
typedef struct keybuf {
    uint8_t *p;
    size_t len, cap;
} keybuf;

/*
 * Decode the next entry of v into key (rebuilt from the previous key) and *val and *vlen.
 * Returns 1 on an entry, 0 at the end of the block, negative on corruption.
 */
static int next_entry(const ckpt_table *t, block_view *v, keybuf *key, const uint8_t **val,
                      size_t *vlen, ckpt_err *err)
{
    if (v->p >= v->end)
        return 0;
    uint32_t shared, non_shared, value_len;
    const uint8_t *p = ckpt_get_varint32(v->p, v->end, &shared);
    if (p)
        p = ckpt_get_varint32(p, v->end, &non_shared);
    if (p)
        p = ckpt_get_varint32(p, v->end, &value_len);
    if (!p || shared > key->len || (size_t)(v->end - p) < (size_t)non_shared ||
        (size_t)(v->end - p) - non_shared < value_len)
        return corrupt(err, t, "bad entry in block");
    size_t need = (size_t)shared + non_shared;
    if (ckpt_grow((void **)&key->p, &key->cap, need, 1))
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", t->name);
    if (non_shared) /* the empty first key leaves the buffer unallocated */
        memcpy(key->p + shared, p, non_shared);
    key->len = need;
    *val = p + non_shared;
    *vlen = value_len;
    v->p = p + non_shared + value_len;
    return 1;
}

static int open_common(ckpt_table *t, ckpt_table **out, ckpt_err *err)
{
    int rc;
    if (t->size < FOOTER_SIZE) {
        rc = corrupt(err, t, "file is too short to be an sstable");
        goto fail;
    }
    uint8_t footer[FOOTER_SIZE];
    rc = read_at(t, t->size - FOOTER_SIZE, FOOTER_SIZE, footer, err);
    if (rc)
        goto fail;
    uint64_t magic = ckpt_load_le64(footer + FOOTER_HANDLES_SIZE);
    if (magic != CKPT_TABLE_MAGIC) {
        rc = corrupt(err, t, "not an sstable (bad magic number)");
        goto fail;
    }
    block_handle meta, index;
    const uint8_t *p = decode_handle(footer, footer + FOOTER_HANDLES_SIZE, &meta);
    if (!p || !decode_handle(p, footer + FOOTER_HANDLES_SIZE, &index)) {
        rc = corrupt(err, t, "bad block handle in footer");
        goto fail;
    }
    rc = read_block(t, index, &t->index, err);
    if (rc)
        goto fail;
    block_view v;
    rc = block_entries(t, &t->index, &v, err);
    if (rc)
        goto fail;
    keybuf key = {0};
    const uint8_t *val;
    size_t vlen;
    /* Data blocks are written one after another: requiring each handle to start past the end
     * of the previous one bounds the work of a scan by the file size, where a hostile index
     * could otherwise point every entry at the same huge block. */
    uint64_t next_free = 0;
    while ((rc = next_entry(t, &v, &key, &val, &vlen, err)) > 0) {
        block_handle h;
        if (!decode_handle(val, val + vlen, &h)) {
            rc = corrupt(err, t, "bad block handle in index");
            break;
        }
        if (h.offset < next_free || h.size > t->size || h.offset > t->size - h.size) {
            rc = corrupt(err, t, "index block handles overlap or leave the file");
            break;
        }
        next_free = h.offset + h.size + TRAILER_SIZE;
        t->nblocks++;
    }
    free(key.p);
    if (rc < 0)
        goto fail;
    *out = t;
    return 0;
fail:
    ckpt_table_close(t);
    *out = NULL;
    return rc;
}

static ckpt_table *table_new(const char *name)
{
    ckpt_table *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->name = strdup(name ? name : "(table)");
    if (!t->name) {
        free(t);
        return NULL;
    }
    return t;
}

int ckpt_table_open_mem(const uint8_t *data, uint64_t size, const char *name, ckpt_table **out,
                        ckpt_err *err)
{
    ckpt_table *t = table_new(name);
    if (!t)
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", name);
    t->mem = data;
    t->size = size;
    return open_common(t, out, err);
}

int ckpt_table_open_file(ckpt_file *f, ckpt_table **out, ckpt_err *err)
{
    ckpt_table *t = table_new(f->name);
    if (!t)
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", f->name);
    t->file = f;
    t->size = f->size;
    return open_common(t, out, err);
}

int ckpt_table_open_fd(int fd, uint64_t size, const char *name, ckpt_table **out, ckpt_err *err)
{
    ckpt_file *f;
    *out = NULL;
    int rc = ckpt_file_wrap_fd(fd, name ? name : "(table)", &f, err);
    if (rc)
        return rc;
    f->size = size; /* the caller's word, as before: a shorter file fails as truncated */
    rc = ckpt_table_open_file(f, out, err);
    if (rc)
        ckpt_file_close(f);
    else
        (*out)->owns_file = 1;
    return rc;
}

int ckpt_table_probe(ckpt_file *f)
{
    uint8_t magic[8];
    return f->size >= FOOTER_SIZE && ckpt_file_pread(f, magic, 8, f->size - 8, NULL) == 0 &&
           ckpt_load_le64(magic) == CKPT_TABLE_MAGIC;
}

int ckpt_table_file_is(const ckpt_bytesrc *src, const char *name)
{
    /* Any table file is taken for a V1 checkpoint by its callers (its footer magic says
     * "table"), so that a damaged one is reported by the loader as damaged rather than as
     * "not a checkpoint". */
    ckpt_file *f;
    if (ckpt_file_open(src, name, &f, NULL) != 0)
        return 0;
    int yes = ckpt_table_probe(f);
    ckpt_file_close(f);
    return yes;
}

void ckpt_table_close(ckpt_table *t)
{
    if (!t)
        return;
    block_free(&t->index);
    if (t->owns_file)
        ckpt_file_close(t->file);
    free(t->name);
    free(t);
}

size_t ckpt_table_num_blocks(const ckpt_table *t)
{
    return t->nblocks;
}

static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/*
 * Walk data blocks in order. When target is non-NULL only the first block whose index key is
 * >= target is visited (the only block that can hold it).
 */
static int walk(ckpt_table *t, const uint8_t *target, size_t tlen, ckpt_table_visit_fn fn,
                void *ctx, ckpt_err *err)
{
    block_view iv;
    int rc = block_entries(t, &t->index, &iv, err);
    if (rc)
        return rc;
    keybuf ikey = {0}, key = {0}, prev = {0};
    int have_prev = 0;
    const uint8_t *ival;
    size_t ivlen;
    while ((rc = next_entry(t, &iv, &ikey, &ival, &ivlen, err)) > 0) {
        if (target && key_cmp(ikey.p, ikey.len, target, tlen) < 0)
            continue;
        block_handle h;
        decode_handle(ival, ival + ivlen, &h); /* validated at open */
        block b;
        rc = read_block(t, h, &b, err);
        if (rc)
            break;
        block_view v;
        rc = block_entries(t, &b, &v, err);
        key.len = 0;
        const uint8_t *val;
        size_t vlen;
        while (rc == 0 && (rc = next_entry(t, &v, &key, &val, &vlen, err)) > 0) {
            if (have_prev && key_cmp(prev.p, prev.len, key.p, key.len) >= 0) {
                rc = corrupt(err, t, "keys out of order");
                break;
            }
            rc = fn(ctx, key.p, key.len, val, vlen, err);
            if (rc)
                break;
            if (ckpt_grow((void **)&prev.p, &prev.cap, key.len, 1)) {
                rc = ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", t->name);
                break;
            }
            if (key.len)
                memcpy(prev.p, key.p, key.len);
            prev.len = key.len;
            have_prev = 1;
        }
        block_free(&b);
        if (rc || target)
            break;
    }
    free(ikey.p);
    free(key.p);
    free(prev.p);
    return rc < 0 ? rc : 0;
}

int ckpt_table_foreach(ckpt_table *t, ckpt_table_visit_fn fn, void *ctx, ckpt_err *err)
{
    return walk(t, NULL, 0, fn, ctx, err);
}

typedef struct get_ctx {
    const uint8_t *key;
    size_t klen;
    uint8_t *val;
    size_t vlen;
    int found;
} get_ctx;

static int get_visit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                     ckpt_err *err)
{
    get_ctx *g = ctx;
    int c = key_cmp(key, klen, g->key, g->klen);
    if (c < 0)
        return 0;
    if (c == 0) {
        g->val = malloc(vlen ? vlen : 1);
        if (!g->val)
            return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
        memcpy(g->val, val, vlen);
        g->vlen = vlen;
        g->found = 1;
    }
    return 1;
}

int ckpt_table_get(ckpt_table *t, const uint8_t *key, size_t klen, uint8_t **val, size_t *vlen,
                   ckpt_err *err)
{
    get_ctx g = {key, klen, NULL, 0, 0};
    int rc = walk(t, key, klen, get_visit, &g, err);
    if (rc)
        return rc;
    if (!g.found)
        return ckpt_err_set(err, CKPT_E_NOTFOUND, "%s: key not found", t->name);
    *val = g.val;
    *vlen = g.vlen;
    return 0;
}
