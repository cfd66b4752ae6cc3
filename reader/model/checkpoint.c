/*
 * checkpoint.c - the common core of an opened checkpoint (see checkpoint.h): resolving the
 * source, the compact variable index, lookups, and reads (plain ones here; assembled from
 * slices in partition.c).
 *
 * Memory layout: one fixed-size record per variable plus arenas (all names back to back, all
 * dims back to back). No allocation per variable, so 100,000 variables cost about 48 bytes each
 * beyond their names and dims, and the records are in name order, which makes lookups a binary
 * search and makes a variable's position a stable identity.
 */
#include "ckpt_internal.h"

#include "blockcache.h"
#include "crc32c.h"
#include "dtype.h"
#include "bytesrc_local.h"
#include "objnames.h"
#include "shape.h"
#include "resolve_local.h"
#include "table.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int ckpt__find_rec(const ckpt_checkpoint *c, const var_rec *arr, size_t n, const void *key,
                   size_t klen, size_t *idx)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const var_rec *r = &arr[mid];
        size_t m = r->name_len < klen ? r->name_len : klen;
        int cmp = m ? memcmp(c->names + r->name_off, key, m) : 0;
        if (cmp == 0)
            cmp = r->name_len < klen ? -1 : r->name_len > klen;
        if (cmp == 0) {
            *idx = mid;
            return 0;
        }
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return CKPT_E_NOTFOUND;
}

/* Set c->meta_path to base.meta when that file is readable. */
static int find_meta(ckpt_checkpoint *c, const char *base, size_t blen, ckpt_err *err)
{
    c->meta_path = malloc(blen + 6);
    if (!c->meta_path)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    snprintf(c->meta_path, blen + 6, "%.*s.meta", (int)blen, base);
    if (ckpt_bytesrc_stat(c->src, c->meta_path, NULL) != 0) {
        free(c->meta_path);
        c->meta_path = NULL;
    }
    return 0;
}

/* Give back the unused tail of a grown array (keeping it if realloc fails). */
static void shrink(void **p, size_t *cap, size_t n, size_t elem)
{
    if (n && n < *cap) {
        void *q = realloc(*p, n * elem);
        if (q) {
            *p = q;
            *cap = n;
        }
    }
}

/* Open V2 checkpoint prefix (its index at index_path); takes prefix. */
static int open_v2(ckpt_checkpoint *c, char *prefix, const char *index_path, unsigned flags,
                   ckpt_err *err)
{
    c->prefix = prefix;
    int rc = find_meta(c, prefix, strlen(prefix), err);
    return rc ? rc : ckpt__load_v2(c, index_path, flags, err);
}

/* What a Keras file at path is ("a Keras weights file (HDF5...)"), for the message that
 * refuses it; NULL for anything else. */
static const char *ckpt__keras_kind(const ckpt_bytesrc *src, const char *path)
{
    static const uint8_t hdf5[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    ckpt_file *f;
    if (ckpt_file_open(src, path, &f, NULL) != 0)
        return NULL;
    uint8_t head[8];
    int rc = ckpt_file_pread(f, head, sizeof head, 0, NULL);
    ckpt_file_close(f);
    if (rc)
        return NULL;
    size_t n = strlen(path);
    if (!memcmp(head, hdf5, 8))
        return n >= 11 && !strcmp(path + n - 11, ".weights.h5")
                   ? "a Keras weights file (HDF5, model.save_weights)"
                   : "an HDF5 file (Keras' model.save(\"x.h5\") or save_weights)";
    if (!memcmp(head, "PK\x03\x04", 4) && n >= 6 && !strcmp(path + n - 6, ".keras"))
        return "a Keras 3 model archive (.keras: a zip of config.json and model.weights.h5)";
    return NULL;
}

/* Open V1 checkpoint path: a table file named by the save path itself, sharded saves recorded
 * as the pattern "-?????-of-NNNNN", whose shard 0 is opened first. Frees path. */
static int open_v1(ckpt_checkpoint *c, char *named, ckpt_err *err)
{
    char *path = ckpt_v1_first_file(named);
    free(named);
    if (!path)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    int rc;
    const char *keras = ckpt__keras_kind(c->src, path);
    if (keras) {
        rc = ckpt_err_set(err, CKPT_E_UNSUPPORTED,
                          "%s: %s, not a TensorFlow checkpoint; ckptfs reads what "
                          "tf.train.Checkpoint and SavedModels write (in Keras 3: "
                          "tf.train.Checkpoint(model=model).write(prefix), or model.export(dir))",
                          path, keras);
    } else if (!ckpt_table_file_is(c->src, path)) {
        rc = ckpt_err_set(err, CKPT_E_NOTFOUND,
                          "%s: not a TensorFlow checkpoint (no %s.index, and not a V1 "
                          "checkpoint file); pass the prefix, its .index, a training folder "
                          "or a SavedModel directory",
                          path, path);
    } else {
        size_t blen;
        ckpt_v1_file_count(path, &blen);
        c->prefix = strndup(path, blen);
        rc = c->prefix ? find_meta(c, path, blen, err)
                       : ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
        if (rc == 0)
            rc = ckpt__load_v1(c, path, err);
    }
    free(path);
    return rc;
}

/* The variables of a SavedModel that has none (prefix DIR/variables/variables, absent): no
 * variables, no shards; saved_model.pb's stat stands for the index's. Takes prefix. */
static int open_empty(ckpt_checkpoint *c, char *prefix, ckpt_err *err)
{
    c->prefix = prefix;
    size_t n = strlen(prefix) - strlen("variables/variables");
    char *pb = malloc(n + sizeof "saved_model.pb");
    if (!pb)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    snprintf(pb, n + sizeof "saved_model.pb", "%.*ssaved_model.pb", (int)n, prefix);
    int rc = ckpt_file_open(c->src, pb, &c->pb, err);
    if (rc == 0)
        c->index_st = c->pb->attr;
    free(pb);
    c->shards = calloc(1, sizeof *c->shards);
    if (!rc && !c->shards)
        rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    return rc;
}

/* Load the checkpoint at prefix into c: V2 when PREFIX.index exists, else V1. */
static int load(ckpt_checkpoint *c, const char *prefix, unsigned flags, ckpt_err *err)
{
    int rc;
    char *path = strdup(prefix);
    if (!path)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    char *index_path = ckpt_index_path(path);
    if (!index_path) {
        free(path);
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    }
    ckpt_err why;
    int st = ckpt_bytesrc_stat(c->src, index_path, &why);
    if (st == 0) {
        rc = open_v2(c, path, index_path, flags, err);
    } else if (st != CKPT_E_NOTFOUND) {
        /* PREFIX.index is there but unreadable (permission denied): refuse, naming it, rather
         * than report "not a checkpoint" after trying it as a V1 file. */
        rc = ckpt_err_set(err, st, "%s", why.msg);
        free(path);
    } else if (ckpt_savedmodel_without_variables_src(c->src, path))
        rc = open_empty(c, path, err);
    else
        rc = open_v1(c, path, err);
    free(index_path);
    return rc;
}

int ckpt_open_prefix(const ckpt_bytesrc *src, const char *prefix, unsigned flags,
                     ckpt_checkpoint **out, ckpt_err *err)
{
    *out = NULL;
    ckpt_checkpoint *c = calloc(1, sizeof *c);
    if (!c)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    c->src = src;
    pthread_mutex_init(&c->v1_lock, NULL);
    for (int k = 0; k < V1_CACHE_SLOTS; k++)
        c->v1_cache[k].slice = UINT32_MAX;
    int rc = load(c, prefix, flags, err);
    if (!rc)
        rc = ckpt__resolve_parts(c, ckpt_prefix(c), err);
    if (!rc)
        ckpt__mark_paths(c);
    if (rc) {
        ckpt_close(c);
        return rc;
    }
    /* Keep only what we use: the build grew the arrays by doubling. */
    shrink((void **)&c->vars, &c->vars_cap, c->nvars, sizeof *c->vars);
    shrink((void **)&c->names, &c->names_cap, c->names_len, 1);
    shrink((void **)&c->dims, &c->dims_cap, c->ndims, sizeof *c->dims);
    shrink((void **)&c->slices, &c->slices_cap, c->nslices, sizeof *c->slices);
    shrink((void **)&c->parts, &c->parts_cap, c->nparts, sizeof *c->parts);
    *out = c;
    return 0;
}

void ckpt_close(ckpt_checkpoint *c)
{
    if (!c)
        return;
    ckpt_file_close(c->pb);
    for (int s = 0; c->shards && s < c->num_shards; s++) {
        ckpt_table_close(c->shards[s].table);
        ckpt_file_close(c->shards[s].file);
        free(c->shards[s].path);
    }
    pthread_mutex_destroy(&c->v1_lock);
    for (int k = 0; k < V1_CACHE_SLOTS; k++)
        free(c->v1_cache[k].bytes);
    free(c->shards);
    free(c->vars);
    free(c->names);
    free(c->dims);
    free(c->slices);
    free(c->parts);
    free(c->meta_path);
    free(c->prefix);
    free(c);
}

/* --- queries ------------------------------------------------------------------------------- */

const char *ckpt_prefix(const ckpt_checkpoint *c)
{
    return c->prefix;
}

const char *ckpt_meta_path(const ckpt_checkpoint *c)
{
    return c->meta_path;
}

const ckpt_bytesrc *ckpt_bytesrc_of(const ckpt_checkpoint *c)
{
    return c->src;
}

const struct stat *ckpt_index_stat(const ckpt_checkpoint *c)
{
    return &c->index_st;
}

int ckpt_num_shards(const ckpt_checkpoint *c)
{
    return c->num_shards;
}

int ckpt_shard_present(const ckpt_checkpoint *c, int s)
{
    return s >= 0 && s < c->num_shards && c->shards[s].file;
}

const char *ckpt_shard_path(const ckpt_checkpoint *c, int s)
{
    return s >= 0 && s < c->num_shards ? c->shards[s].path : NULL;
}

int ckpt_shard_fd(const ckpt_checkpoint *c, int s)
{
    return ckpt_shard_present(c, s) ? c->shards[s].file->fd : -1;
}

int ckpt_cache_shards(ckpt_checkpoint *c, enum ckpt_shard_cache mode, uint64_t cache_bytes,
                      ckpt_err *err)
{
    ckpt_blockcache *bc = NULL;
    int rc = 0;
    for (int s = 0; mode != CKPT_SHARD_CACHE_OFF && s < c->num_shards && !rc; s++) {
        shard *sh = &c->shards[s];
        /* V1 files are read through their table, which holds the file itself. */
        if (!sh->file || sh->table || sh->file->fd < 0 ||
            (mode == CKPT_SHARD_CACHE_AUTO && !ckpt_fd_on_network_fs(sh->file->fd)))
            continue;
        if (!bc && (rc = ckpt_blockcache_new(cache_bytes, CKPT_SHARD_BLOCK, NULL, &bc, err)))
            break;
        ckpt_file *w;
        rc = ckpt_blockcache_wrap(bc, sh->file, &w, err);
        sh->file = rc ? NULL : w; /* the wrapper took the file over, even on failure */
    }
    ckpt_blockcache_unref(bc); /* the wrapped files hold it from here on */
    return rc;
}

size_t ckpt_count(const ckpt_checkpoint *c)
{
    return c->nvars;
}

void ckpt_get(const ckpt_checkpoint *c, size_t i, ckpt_var *out)
{
    const var_rec *r = &c->vars[i];
    out->name = c->names + r->name_off;
    out->name_len = r->name_len;
    out->dtype = r->dtype;
    out->rank = r->rank;
    out->dims = c->dims + r->dims_off;
    out->nbytes = r->nbytes;
    out->shard = r->shard;
    out->offset = r->offset;
    out->crc32c = r->crc;
    out->flags = r->flags;
}

const char *ckpt_name(const ckpt_checkpoint *c, size_t i, size_t *len)
{
    const var_rec *r = &c->vars[i];
    *len = r->name_len;
    return c->names + r->name_off;
}

int ckpt_hide(ckpt_checkpoint *c, ckpt_keep_fn keep, void *ctx, ckpt_err *err)
{
    /* Every question is asked before anything moves, so keep may look at any variable. A
     * partitioned variable's slices live in their own arrays and stay where they are. */
    uint8_t *kept = malloc(c->nvars ? c->nvars : 1);
    if (!kept)
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory filtering", c->prefix);
    for (size_t i = 0; i < c->nvars; i++)
        kept[i] = keep(ctx, c, i) != 0;
    size_t j = 0;
    for (size_t i = 0; i < c->nvars; i++)
        if (kept[i])
            c->vars[j++] = c->vars[i];
    c->nvars = j;
    free(kept);
    return 0;
}

int ckpt_find(const ckpt_checkpoint *c, const char *name, size_t len, size_t *idx)
{
    return ckpt__find_rec(c, c->vars, c->nvars, name, len, idx);
}

uint64_t ckpt_data_reads(const ckpt_checkpoint *c)
{
    return atomic_load_explicit(&c->data_reads, memory_order_relaxed);
}

uint64_t ckpt_data_bytes(const ckpt_checkpoint *c)
{
    return atomic_load_explicit(&c->data_bytes, memory_order_relaxed);
}

/* --- reading ------------------------------------------------------------------------------- */

/* The data file to name in messages about variable r (a partitioned one: a missing or the first
 * slice's file). */
static const char *var_path(const ckpt_checkpoint *c, const var_rec *r)
{
    if (r->shard >= 0)
        return c->shards[r->shard].path;
    const char *first = NULL;
    for (uint32_t j = 0; (r->flags & CKPT_VAR_PARTITIONED) && j < r->nparts; j++) {
        const var_rec *s = &c->slices[c->parts[r->offset + j].slice];
        if (s->shard < 0 || s->shard >= c->num_shards)
            continue;
        if (s->flags & CKPT_VAR_SHARD_MISSING)
            return c->shards[s->shard].path;
        if (!first)
            first = c->shards[s->shard].path;
    }
    return first ? first : c->prefix;
}

const char *ckpt_var_path(const ckpt_checkpoint *c, size_t i)
{
    return i < c->nvars ? var_path(c, &c->vars[i]) : c->prefix;
}

/* Count a read of n stored bytes of r (of variable name) from its data file, which ended with
 * rc (why); the error naming both when it failed. */
static int stored_done(ckpt_checkpoint *c, const var_rec *r, const char *name, size_t n, int rc,
                       const ckpt_err *why, ckpt_err *err)
{
    const shard *sh = &c->shards[r->shard];
    atomic_fetch_add_explicit(&c->data_reads, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->data_bytes, n, memory_order_relaxed);
    if (rc)
        return ckpt_err_set(err, rc, "%s: reading variable \"%s\": %s", sh->path, name,
                            rc == CKPT_E_CORRUPT ? "data file is shorter than the index says"
                                                 : ckpt_err_detail(why, sh->path));
    return 0;
}

int ckpt__read_stored(ckpt_checkpoint *c, const var_rec *r, const char *name, uint8_t *buf,
                      size_t n, uint64_t off, ckpt_err *err)
{
    if (r->flags & REC_V1_SLICE)
        return ckpt__v1_read(c, r, (uint32_t)(r - c->slices), buf, n, off, err);
    ckpt_err why;
    int rc = ckpt_file_pread(c->shards[r->shard].file, buf, n, r->offset + off, &why);
    return stored_done(c, r, name, n, rc, &why, err);
}

int ckpt_read(ckpt_checkpoint *c, size_t i, void *buf, size_t len, uint64_t off, size_t *got,
              ckpt_crc_state *st, ckpt_err *err)
{
    *got = 0;
    if (i >= c->nvars)
        return ckpt_err_set(err, CKPT_E_INVALID, "no variable number %zu", i);
    const var_rec *r = &c->vars[i];
    const char *name = c->names + r->name_off;
    if (r->flags & CKPT_VAR_SHARD_MISSING)
        return ckpt_err_set(err, CKPT_E_MISSING, "%s: variable \"%s\" is in a missing data file",
                            var_path(c, r), name);
    size_t n = 0;
    if (off < r->nbytes) {
        uint64_t left = r->nbytes - off;
        n = len < left ? len : (size_t)left;
    }
    if (r->flags & CKPT_VAR_PARTITIONED) {
        /* Slices carry their own checksums: a reader that starts at the beginning gets all of
         * them verified first (a whole read of the tensor, as TensorFlow does on restore). */
        int rc = 0;
        if (st && st->pos == 0 && off == 0)
            rc = ckpt__verify_slices(c, r, err);
        if (st)
            st->pos = UINT64_MAX;
        if (rc == 0 && n)
            rc = ckpt__read_partitioned(c, r, buf, n, off, err);
        if (rc == 0)
            *got = n;
        return rc;
    }
    if (n) {
        int rc = ckpt__read_stored(c, r, name, buf, n, off, err);
        if (rc)
            return rc;
    }
    if (st) {
        if (st->pos == off && off <= r->nbytes && r->dtype != CKPT_DT_STRING &&
            r->dtype != CKPT_DT_VARIANT) {
            st->crc = ckpt_crc32c_extend(st->crc, buf, n);
            st->pos += n;
            if (st->pos == r->nbytes && (r->flags & CKPT_VAR_HAS_CRC) && st->crc != r->crc) {
                st->pos = UINT64_MAX;
                return ckpt_err_set(err, CKPT_E_CORRUPT,
                                    "%s: variable \"%s\": checksum does not match (stored %08x, "
                                    "computed on the bytes read %08x)",
                                    c->shards[r->shard].path, name, r->crc, st->crc);
            }
        } else {
            st->pos = UINT64_MAX;
        }
    }
    *got = n;
    return 0;
}

/* The data file variable i's stored bytes can be lent from, or NULL. */
static ckpt_file *lending_file(const ckpt_checkpoint *c, size_t i)
{
    if (i >= c->nvars)
        return NULL;
    const var_rec *r = &c->vars[i];
    if ((r->flags & (CKPT_VAR_SHARD_MISSING | CKPT_VAR_PARTITIONED | REC_V1_SLICE)) ||
        r->shard < 0 || r->shard >= c->num_shards || !c->shards[r->shard].file ||
        !c->shards[r->shard].file->ops->borrow)
        return NULL;
    return c->shards[r->shard].file;
}

int ckpt_read_borrow(ckpt_checkpoint *c, size_t i, uint64_t off, size_t len, struct iovec *iov,
                     int maxiov, int *niov, size_t *got, ckpt_err *err)
{
    *got = 0;
    *niov = 0;
    ckpt_file *f = lending_file(c, i);
    if (!f)
        return ckpt_err_set(err, CKPT_E_UNSUPPORTED, "variable %zu cannot be lent", i);
    const var_rec *r = &c->vars[i];
    size_t n = off < r->nbytes ? (len < r->nbytes - off ? len : (size_t)(r->nbytes - off)) : 0;
    if (!n)
        return 0;
    ckpt_err why;
    int rc = ckpt_file_borrow(f, r->offset + off, n, iov, maxiov, niov, &why);
    if (rc == CKPT_E_UNSUPPORTED)
        return ckpt_err_set(err, rc, "%s", why.msg);
    rc = stored_done(c, r, c->names + r->name_off, n, rc, &why, err);
    if (rc == 0)
        *got = n;
    return rc;
}

void ckpt_read_release(ckpt_checkpoint *c, size_t i, uint64_t off, size_t n)
{
    ckpt_file *f = lending_file(c, i);
    if (f && n)
        ckpt_file_release(f, c->vars[i].offset + off, n);
}

int ckpt_track_init(const ckpt_checkpoint *c, size_t i, ckpt_crc_track *t)
{
    ckpt_crc_track_init(t, 0, 0);
    ckpt_crc_track_stop(t);
    if (i >= c->nvars)
        return CKPT_E_UNSUPPORTED;
    const var_rec *r = &c->vars[i];
    if (!(r->flags & CKPT_VAR_HAS_CRC) || (r->flags & CKPT_VAR_PARTITIONED) ||
        r->dtype == CKPT_DT_STRING || r->dtype == CKPT_DT_VARIANT)
        return CKPT_E_UNSUPPORTED;
    ckpt_crc_track_init(t, r->nbytes, r->crc);
    return 0;
}

int ckpt_track_mismatch(const ckpt_checkpoint *c, size_t i, const ckpt_crc_track *t, ckpt_err *err)
{
    const var_rec *r = &c->vars[i];
    return ckpt_err_set(err, CKPT_E_CORRUPT,
                        "%s: variable \"%s\": checksum does not match (stored %08x, computed on "
                        "the bytes read %08x)",
                        var_path(c, r), c->names + r->name_off, t->want, t->crc);
}

void ckpt_prefetch(ckpt_checkpoint *c, size_t i, uint64_t off, uint64_t len)
{
    if (i >= c->nvars)
        return;
    const var_rec *r = &c->vars[i];
    if ((r->flags & (CKPT_VAR_SHARD_MISSING | CKPT_VAR_PARTITIONED | REC_V1_SLICE)) ||
        r->shard < 0 || r->shard >= c->num_shards || !c->shards[r->shard].file || off >= r->nbytes)
        return;
    ckpt_file_advise(c->shards[r->shard].file, r->offset + off,
                     len < r->nbytes - off ? len : r->nbytes - off);
}

/* Read all bytes of a variable, verifying the plain checksum of fixed-size types. */
static int read_whole(ckpt_checkpoint *c, size_t i, uint8_t **out, size_t *len, ckpt_err *err)
{
    *out = NULL;
    *len = 0;
    if (i >= c->nvars)
        return ckpt_err_set(err, CKPT_E_INVALID, "no variable number %zu", i);
    const var_rec *r = &c->vars[i];
    if ((r->flags & CKPT_VAR_PARTITIONED) && ckpt_dtype_size(r->dtype) == 0)
        return ckpt__assemble_elems(c, r, out, len, err);
    uint64_t n = r->nbytes;
    if (n > SIZE_MAX - 1)
        return ckpt_err_set(err, CKPT_E_NOMEM, "variable too large to hold in memory");
    uint8_t *buf = malloc(n ? (size_t)n : 1);
    if (!buf)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory reading \"%s\"",
                            c->names + c->vars[i].name_off);
    ckpt_crc_state st = {0, 0};
    size_t got;
    int rc = ckpt_read(c, i, buf, (size_t)n, 0, &got, &st, err);
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = got;
    return 0;
}

int ckpt_read_strings(ckpt_checkpoint *c, size_t i, uint8_t **buf, ckpt_str **elems, uint64_t *n,
                      ckpt_err *err)
{
    *buf = NULL;
    *elems = NULL;
    *n = 0;
    if (i >= c->nvars)
        return ckpt_err_set(err, CKPT_E_INVALID, "no variable number %zu", i);
    const var_rec *r = &c->vars[i];
    const char *name = c->names + r->name_off;
    const char *path = var_path(c, r);
    uint64_t count;
    if (r->dtype != CKPT_DT_STRING)
        return ckpt_err_set(err, CKPT_E_INVALID, "variable \"%s\" is not a string tensor", name);
    if (ckpt_shape_numel(r->rank, c->dims + r->dims_off, &count))
        return ckpt_err_set(err, CKPT_E_CORRUPT, "%s: variable \"%s\" has an invalid shape", path,
                            name);
    size_t len;
    int has_crc = (r->flags & CKPT_VAR_HAS_CRC) != 0;
    int rc = read_whole(c, i, buf, &len, err);
    if (rc)
        return rc;
    uint32_t crc;
    if ((rc = ckpt_tstring_decode(*buf, len, count, elems, &crc, err)) != 0) {
        ckpt_err_prefix(err, "%s: variable \"%s\"", path, name);
    } else if (has_crc && crc != r->crc) {
        rc = ckpt_err_set(err, CKPT_E_CORRUPT,
                          "%s: variable \"%s\": checksum does not match (stored %08x, computed "
                          "on the bytes read %08x)",
                          path, name, r->crc, crc);
    }
    if (rc) {
        free(*elems);
        free(*buf);
        *elems = NULL;
        *buf = NULL;
        return rc;
    }
    *n = count;
    return 0;
}

int ckpt_read_all(ckpt_checkpoint *c, size_t i, uint8_t **out, size_t *len, ckpt_err *err)
{
    if (i < c->nvars && c->vars[i].dtype == CKPT_DT_STRING) {
        ckpt_str *elems;
        uint64_t n;
        int rc = ckpt_read_strings(c, i, out, &elems, &n, err);
        /* The stored encoding ends after the last element's bytes. */
        if (rc == 0)
            *len = n ? (size_t)(elems[n - 1].ptr + elems[n - 1].len - *out) : 4;
        free(elems);
        return rc;
    }
    return read_whole(c, i, out, len, err);
}

/* How much of a whole variable ckpt_verify reads at a time: few reads for a large tensor,
 * little memory for a daemon checking several at once. */
#define VERIFY_PIECE (4u << 20)

int ckpt_verify(ckpt_checkpoint *c, size_t i, ckpt_err *err)
{
    if (i >= c->nvars)
        return ckpt_err_set(err, CKPT_E_INVALID, "no variable number %zu", i);
    const var_rec *r = &c->vars[i];
    const char *name = c->names + r->name_off;
    if (r->dtype == CKPT_DT_STRING || r->dtype == CKPT_DT_VARIANT)
        return ckpt_err_set(err, CKPT_E_INVALID,
                            "variable \"%s\": string and variant checksums cover their decoding",
                            name);
    if (r->flags & CKPT_VAR_SHARD_MISSING)
        return ckpt_err_set(err, CKPT_E_MISSING, "%s: variable \"%s\" is in a missing data file",
                            var_path(c, r), name);
    if (r->flags & CKPT_VAR_PARTITIONED)
        return ckpt__verify_slices(c, r, err);
    if (!(r->flags & CKPT_VAR_HAS_CRC))
        return 0;
    uint8_t *buf = malloc(VERIFY_PIECE);
    if (!buf)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory checking \"%s\"", name);
    /* Even an empty tensor makes one read: the one that reaches the end compares the CRC. */
    ckpt_crc_state st = {0, 0};
    uint64_t off = 0;
    size_t got;
    int rc;
    do {
        rc = ckpt_read(c, i, buf, VERIFY_PIECE, off, &got, &st, err);
        off += got;
    } while (rc == 0 && got && off < r->nbytes);
    free(buf);
    if (rc == 0 && off != r->nbytes)
        rc = ckpt_err_set(err, CKPT_E_IO, "%s: variable \"%s\": short read at %" PRIu64,
                          c->shards[r->shard].path, name, off);
    return rc;
}
