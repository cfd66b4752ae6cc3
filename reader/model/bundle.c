/*
 * bundle.c - loading V2 checkpoints ("tensor bundles"): PREFIX.index, a table whose first entry
 * (key "") is a BundleHeaderProto and every other entry a BundleEntryProto, plus the data shards
 * PREFIX.data-SSSSS-of-NNNNN.
 *
 * The .index is read in one request into memory (cheap on NFS), parsed, and dropped. Data shards
 * are opened once, at open, so a missing shard is reported before anything is served.
 */
#include "build.h"
#include "ckpt_internal.h"

#include "bundle_entry.h"
#include "crc32c.h"
#include "dtype.h"
#include "shape.h"
#include "slicekey.h"
#include "table.h"
#include "tensor_bundle.pb-c.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct build_ctx {
    ckpt_checkpoint *c;
    const char *index_path;
    int seen_header;
    int num_shards; /* as the header says */
} build_ctx;

static int parse_header(build_ctx *b, const uint8_t *val, size_t vlen, ckpt_err *err)
{
    Tensorflow__BundleHeaderProto *h = tensorflow__bundle_header_proto__unpack(NULL, vlen, val);
    if (!h)
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: unable to parse the header entry (corrupt file, or not a V2 "
                            "checkpoint index)",
                            b->index_path);
    int rc = 0;
    if (h->num_shards < 0 || h->num_shards > MAX_SHARDS)
        rc = ckpt_err_set(err, CKPT_E_CORRUPT, "%s: header announces %d data shards", b->index_path,
                          h->num_shards);
    else if (h->endianness != TENSORFLOW__BUNDLE_HEADER_PROTO__ENDIANNESS__LITTLE)
        rc = ckpt_err_set(err, CKPT_E_UNSUPPORTED,
                          "%s: big-endian checkpoint; only little-endian data is supported",
                          b->index_path);
    else if (h->version) {
        /* The bundle format's own compatibility rules (consumer version 1, min producer 0). */
        if (h->version->producer < 0)
            rc = ckpt_err_set(err, CKPT_E_UNSUPPORTED, "%s: producer version %d below 0",
                              b->index_path, h->version->producer);
        else if (h->version->min_consumer > 1)
            rc = ckpt_err_set(err, CKPT_E_UNSUPPORTED,
                              "%s: written by a newer TensorFlow (min consumer version %d > 1)",
                              b->index_path, h->version->min_consumer);
        for (size_t i = 0; !rc && i < h->version->n_bad_consumers; i++)
            if (h->version->bad_consumers[i] == 1)
                rc = ckpt_err_set(err, CKPT_E_UNSUPPORTED,
                                  "%s: checkpoint disallows consumer version 1", b->index_path);
    }
    if (!rc)
        b->num_shards = h->num_shards;
    tensorflow__bundle_header_proto__free_unpacked(h, NULL);
    return rc;
}

/* Messages about an entry name it by its key, cut short: a hostile key may be huge. */
#define KEY_SHOWN 200

/*
 * A partitioned full-tensor entry r: its bytes live in slice entries, assembled on read. Its
 * parts' boxes go to the dims tail after its own dims (the caller claims both); the slices are
 * linked once the whole index is read (split_slices).
 */
static int add_partitioned(build_ctx *b, var_rec *r, const uint8_t *key,
                           const Tensorflow__BundleEntryProto *e, uint64_t numel, ckpt_err *err)
{
    ckpt_checkpoint *c = b->c;
    size_t rank = r->rank, n = e->n_slices;
    size_t esz = ckpt_dtype_size(r->dtype);
    r->flags = CKPT_VAR_PARTITIONED;
    r->shard = -1;
    r->nbytes = esz && numel <= UINT64_MAX / esz ? numel * esz : 0;
    r->offset = c->nparts;
    r->nparts = (uint32_t)n;
    size_t ext_at = c->ndims + rank;
    int64_t *ext0 = n <= UINT32_MAX ? ckpt__build_dims_tail(c, rank + 2 * rank * n) : NULL;
    if (!ext0)
        return ckpt__build_nomem(err, b->index_path);
    for (size_t i = 0; i < n; i++) {
        const Tensorflow__TensorSliceProto *sl = e->slices[i];
        if (sl->n_extent != rank)
            return ckpt_err_set(err, CKPT_E_CORRUPT,
                                "%s: variable \"%.*s\": slice %zu has %zu extents for rank %zu",
                                b->index_path, (int)r->name_len, key, i, sl->n_extent, rank);
        int64_t *ext = ext0 + rank + 2 * rank * i;
        for (size_t d = 0; d < rank; d++) {
            const Tensorflow__TensorSliceProto__Extent *x = sl->extent[d];
            int has_len =
                x->has_length_case == TENSORFLOW__TENSOR_SLICE_PROTO__EXTENT__HAS_LENGTH_LENGTH;
            ext[2 * d] = has_len ? x->start : 0;
            ext[2 * d + 1] = has_len ? x->length : -1;
        }
        /* its slice is linked after the whole index */
        if (ckpt__build_part(c, UINT32_MAX, (uint32_t)(ext_at + 2 * rank * i), err))
            return ckpt__build_nomem(err, b->index_path);
    }
    return 0;
}

/* A plain entry: its stored range must name a shard, and its size fit its shape and dtype. */
static int check_plain(build_ctx *b, const var_rec *r, const uint8_t *key,
                       const ckpt_bundle_entry *e, uint64_t numel, ckpt_err *err)
{
    int klen = (int)r->name_len;
    if (e->offset < 0 || e->size < 0 || e->shard_id < 0 || e->shard_id >= b->num_shards)
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: variable \"%.*s\" points to shard %d, offset %lld, size %lld, "
                            "outside the %d data shard(s)",
                            b->index_path, klen, key, e->shard_id, (long long)e->offset,
                            (long long)e->size, b->num_shards);
    size_t esize = ckpt_dtype_size(r->dtype);
    if (esize && numel > UINT64_MAX / esize)
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: variable \"%.*s\": its shape holds %llu elements of %zu bytes, "
                            "more than 2^64 bytes (stored size %llu)",
                            b->index_path, klen, key, (unsigned long long)numel, esize,
                            (unsigned long long)e->size);
    if (esize && numel * esize != r->nbytes)
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: variable \"%.*s\": stored size %llu does not match its shape "
                            "and dtype (%llu bytes expected)",
                            b->index_path, klen, key, (unsigned long long)r->nbytes,
                            (unsigned long long)(numel * esize));
    if (r->dtype == CKPT_DT_RESOURCE)
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: variable \"%.*s\" has dtype resource, which has no saved form",
                            b->index_path, klen, key);
    return 0;
}

/*
 * Record entry e of key, its e->rank dims already written at the dims tail (dims: room for
 * MAX_RANK made, so the arena's 32-bit bound holds too), checked; pe is its protobuf-c
 * unpacking when it names slices, else NULL.
 */
static int record_entry(build_ctx *b, const uint8_t *key, size_t klen, const ckpt_bundle_entry *e,
                        const int64_t *dims, const Tensorflow__BundleEntryProto *pe, ckpt_err *err)
{
    ckpt_checkpoint *c = b->c;
    size_t rank = e->rank;
    if (!e->has_shape || e->unknown_rank || rank > MAX_RANK)
        return ckpt_err_set(err, CKPT_E_CORRUPT, "%s: variable \"%.*s\" has an invalid shape",
                            b->index_path, (int)klen, key);
    char *name = ckpt__build_name_tail(c, klen);
    if (!name || klen > UINT32_MAX)
        return ckpt__build_nomem(err, b->index_path);
    memcpy(name, key, klen);
    for (size_t i = 0; i < rank; i++)
        if (dims[i] < 0)
            return ckpt_err_set(err, CKPT_E_CORRUPT,
                                "%s: variable \"%.*s\" has a negative dimension", b->index_path,
                                (int)klen, key);
    var_rec r = {.offset = (uint64_t)e->offset,
                 .nbytes = (uint64_t)e->size,
                 .name_len = (uint32_t)klen,
                 .crc = ckpt_crc32c_unmask(e->crc32c),
                 .shard = e->shard_id,
                 .dtype = (uint16_t)(e->dtype > DTYPE_CLAMP ? DTYPE_CLAMP : e->dtype),
                 .rank = (uint8_t)rank,
                 .flags = CKPT_VAR_HAS_CRC};
    uint64_t numel;
    int rc;
    if (ckpt_shape_numel(r.rank, dims, &numel))
        rc = ckpt_err_set(err, CKPT_E_CORRUPT, "%s: variable \"%.*s\" has an invalid shape",
                          b->index_path, (int)klen, key);
    else if (pe)
        rc = add_partitioned(b, &r, key, pe, numel, err);
    else
        rc = check_plain(b, &r, key, e, numel, err);
    if (rc)
        return rc;
    r.name_off = ckpt__build_name_claim(c, klen);
    r.dims_off = ckpt__build_dims_claim(c, rank);
    if (pe)
        ckpt__build_dims_claim(c, 2 * rank * r.nparts); /* the parts' boxes */
    return ckpt__build_var(c, &r, err) ? ckpt_err_prefix(err, "%s", b->index_path) : 0;
}

/*
 * An entry that names slices (a partitioned variable's full entry: rare), unpacked with
 * protobuf-c as before; its shape's dims go to the end of the dims arena first.
 */
static int add_sliced_entry(build_ctx *b, const uint8_t *key, size_t klen, const uint8_t *val,
                            size_t vlen, ckpt_err *err)
{
    Tensorflow__BundleEntryProto *pe = tensorflow__bundle_entry_proto__unpack(NULL, vlen, val);
    if (!pe)
        return ckpt_err_set(err, CKPT_E_CORRUPT, "%s: entry for \"%.*s\" is not parseable",
                            b->index_path, (int)(klen > KEY_SHOWN ? KEY_SHOWN : klen), key);
    const Tensorflow__TensorShapeProto *sh = pe->shape;
    ckpt_bundle_entry e = {.dtype = pe->dtype,
                           .shard_id = pe->shard_id,
                           .offset = pe->offset,
                           .size = pe->size,
                           .crc32c = pe->crc32c,
                           .has_shape = sh != NULL,
                           .unknown_rank = sh && sh->unknown_rank,
                           .rank = sh ? sh->n_dim : 0};
    int64_t *dims = ckpt__build_dims_tail(b->c, MAX_RANK); /* room made by add_entry */
    for (size_t i = 0; dims && i < e.rank && i < MAX_RANK; i++)
        dims[i] = sh->dim[i]->size;
    int rc = dims ? record_entry(b, key, klen, &e, dims, pe, err)
                  : ckpt__build_nomem(err, b->index_path);
    tensorflow__bundle_entry_proto__free_unpacked(pe, NULL);
    return rc;
}

/*
 * One variable's entry. Decoded in place (bundle_entry.h): no allocation per entry, which is
 * what makes an index of a million variables load fast; the dims land directly at the end of
 * the dims arena, which always has room for the largest legal shape.
 */
static int add_entry(build_ctx *b, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                     ckpt_err *err)
{
    int64_t *dims = ckpt__build_dims_tail(b->c, MAX_RANK);
    if (!dims)
        return ckpt__build_nomem(err, b->index_path);
    ckpt_bundle_entry e;
    if (ckpt_bundle_entry_decode(val, vlen, dims, MAX_RANK, &e))
        return ckpt_err_set(err, CKPT_E_CORRUPT, "%s: entry for \"%.*s\" is not parseable",
                            b->index_path, (int)(klen > KEY_SHOWN ? KEY_SHOWN : klen), key);
    if (e.has_slices)
        return add_sliced_entry(b, key, klen, val, vlen, err);
    return record_entry(b, key, klen, &e, dims, NULL, err);
}

static int visit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                 ckpt_err *err)
{
    build_ctx *b = ctx;
    if (!b->seen_header) {
        if (klen != 0)
            return ckpt_err_set(err, CKPT_E_CORRUPT, "%s: the first entry is not the bundle header",
                                b->index_path);
        b->seen_header = 1;
        return parse_header(b, val, vlen, err);
    }
    /* Which entries are slices is known only once every full entry has been read
     * (split_slices); a leading 0 byte proves nothing, names may start with one. */
    return add_entry(b, key, klen, val, vlen, err);
}

/* Parse the index table t (read from path) into c; *num_shards what its header says. */
static int parse_index(ckpt_checkpoint *c, ckpt_table *t, const char *path, int *num_shards,
                       ckpt_err *err)
{
    build_ctx b = {c, path, 0, 0};
    int rc = ckpt_table_foreach(t, visit, &b, err);
    if (rc == 0 && !b.seen_header)
        rc = ckpt_err_set(err, CKPT_E_CORRUPT, "%s: the index has no header entry", path);
    *num_shards = b.num_shards;
    return rc;
}

static int load_index(ckpt_checkpoint *c, const char *path, int *num_shards, ckpt_err *err)
{
    ckpt_file *f;
    int rc = ckpt_file_open(c->src, path, &f, err);
    if (rc)
        return rc;
    ckpt__build_index_stat(c, &f->attr);
    uint8_t *mem = NULL;
    ckpt_table *t = NULL;
    if (f->size <= INDEX_IN_MEMORY_MAX) {
        /* One request for the whole index: the cheap way on NFS or an object store. Page
         * aligned, so that a direct-I/O file (NFS, FUSE) is read in whole 1 MiB requests,
         * not in ones short by the buffer's offset into its first page. */
        mem = aligned_alloc(4096, ((size_t)(f->size ? f->size : 1) + 4095) & ~(size_t)4095);
        if (!mem)
            rc = ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory reading the index", path);
        else if ((rc = ckpt_file_pread(f, mem, (size_t)f->size, 0, err)) == 0)
            rc = ckpt_table_open_mem(mem, f->size, path, &t, err);
    } else {
        rc = ckpt_table_open_file(f, &t, err);
    }
    if (rc == 0)
        rc = parse_index(c, t, path, num_shards, err);
    ckpt_table_close(t);
    free(mem);
    ckpt_file_close(f);
    return rc;
}

/* The name of data shard s of n: PREFIX.data-SSSSS-of-NNNNN (malloc'd). */
static char *shard_name(const char *prefix, int s, int n)
{
    size_t len = strlen(prefix) + sizeof ".data-" + 2 * 11 + sizeof "-of-";
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s.data-%05d-of-%05d", prefix, s, n);
    return p;
}

/* Open data shard s of n; a missing one is left without a file when flags allow it. */
static int open_shard(ckpt_checkpoint *c, int s, int n, unsigned flags, ckpt_err *err)
{
    char *path = shard_name(c->prefix, s, n);
    if (!path)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    ckpt_file *file;
    ckpt_err oerr;
    int orc = ckpt_file_open(c->src, path, &file, &oerr);
    ckpt__build_shard(c, s, path, orc ? NULL : file, NULL);
    if (orc == 0 || (orc == CKPT_E_NOTFOUND && (flags & CKPT_OPEN_MISSING_SHARDS_OK)))
        return 0;
    const char *why = orc == CKPT_E_NOTFOUND ? strerror(ENOENT) : ckpt_err_detail(&oerr, path);
    return ckpt_err_set(err, orc == CKPT_E_NOTFOUND ? CKPT_E_MISSING : CKPT_E_IO,
                        "%s: data shard %d of %d: %s", path, s, n, why);
}

/* Open the n data shards, then check every stored range against its shard. */
static int open_shards(ckpt_checkpoint *c, int n, unsigned flags, ckpt_err *err)
{
    int rc = ckpt__build_shards(c, n, err);
    for (int s = 0; s < n && !rc; s++)
        rc = open_shard(c, s, n, flags, err);
    return rc ? rc : ckpt__build_check_ranges(c, err);
}

/*
 * Mark the entries that part j of partitioned variable r names (its slice key, re-encoded from
 * the full entry as TensorFlow does) in is_slice, and link the part to the entry's current
 * position among the variables.
 */
static int mark_part(ckpt_checkpoint *c, const var_rec *r, uint32_t j, uint8_t *is_slice,
                     uint8_t *key, const char *index_path, ckpt_err *err)
{
    const part_rec *p = &c->parts[r->offset + j];
    const int64_t *ext = c->dims + p->ext_off;
    int64_t st[MAX_RANK], ln[MAX_RANK];
    for (int d = 0; d < r->rank; d++)
        st[d] = ext[2 * d], ln[d] = ext[2 * d + 1];
    const char *name = c->names + r->name_off;
    size_t klen = ckpt_slice_key(name, r->name_len, r->rank, st, ln, key);
    size_t k;
    if (ckpt__find_rec(c, c->vars, c->nvars, key, klen, &k))
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: variable \"%.*s\": slice %u of %u is missing from the index",
                            index_path, KEY_SHOWN, name, j + 1, r->nparts);
    if (c->vars[k].flags & CKPT_VAR_PARTITIONED)
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: variable \"%.*s\": slice %u is itself stored as slices",
                            index_path, KEY_SHOWN, name, j + 1);
    is_slice[k] = 1;
    ckpt__build_link_part(c, r->offset + j, (uint32_t)k);
    return 0;
}

/*
 * Move the slice entries out of the variables into the slices, keeping both in key order. A slice
 * entry is one a full entry's `slices` names (checkpoint_reader.cc BuildV2VarMaps); any other
 * entry is a variable, whatever its first byte.
 */
static int split_slices(ckpt_checkpoint *c, const char *index_path, ckpt_err *err)
{
    size_t n = c->nvars, maxkey = 0;
    for (size_t i = 0; i < n; i++)
        if (c->vars[i].flags & CKPT_VAR_PARTITIONED) {
            size_t m = ckpt_slice_key_max(c->vars[i].name_len, c->vars[i].rank);
            maxkey = m > maxkey ? m : maxkey;
        }
    if (maxkey == 0)
        return 0;
    uint8_t *is_slice = calloc(n, 1), *key = malloc(maxkey);
    int rc = is_slice && key ? 0 : ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n && !rc; i++)
        for (uint32_t j = 0;
             (c->vars[i].flags & CKPT_VAR_PARTITIONED) && j < c->vars[i].nparts && !rc; j++)
            rc = mark_part(c, &c->vars[i], j, is_slice, key, index_path, err);
    if (!rc)
        rc = ckpt__build_split_slices(c, is_slice, err);
    free(is_slice);
    free(key);
    return rc;
}

int ckpt__load_v2(ckpt_checkpoint *c, const char *index_path, unsigned flags, ckpt_err *err)
{
    int num_shards = 0;
    int rc = load_index(c, index_path, &num_shards, err);
    if (!rc)
        rc = split_slices(c, index_path, err);
    return rc ? rc : open_shards(c, num_shards, flags, err);
}
