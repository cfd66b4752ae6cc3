/*
 * bundle.c - loading V2 checkpoints ("tensor bundles"): PREFIX.index, a table whose first entry
 * (key "") is a BundleHeaderProto and every other entry a BundleEntryProto, plus the data shards
 * PREFIX.data-SSSSS-of-NNNNN.
 *
 * The .index is read in one request into memory (cheap on NFS), parsed, and dropped. Data shards
 * are opened once, at open, so a missing shard is reported before anything is served.
 */
#include "ckpt_internal.h"

#include "crc32c.h"
#include "dtype.h"
#include "fileio.h"
#include "shape.h"
#include "table.h"
#include "tensor_bundle.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct build_ctx {
    ckpt_checkpoint *c;
    const char *index_path;
    int seen_header;
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
        rc = ckpt_err_set(err, CKPT_E_CORRUPT, "%s: header announces %d data shards",
                          b->index_path, h->num_shards);
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
        b->c->num_shards = h->num_shards;
    tensorflow__bundle_header_proto__free_unpacked(h, NULL);
    return rc;
}

static int add_entry(build_ctx *b, const uint8_t *key, size_t klen, const uint8_t *val,
                     size_t vlen, int is_slice, ckpt_err *err)
{
    ckpt_checkpoint *c = b->c;
    var_rec **arr = is_slice ? &c->slices : &c->vars;
    size_t *count = is_slice ? &c->nslices : &c->nvars;
    size_t *cap = is_slice ? &c->slices_cap : &c->vars_cap;
    Tensorflow__BundleEntryProto *e = tensorflow__bundle_entry_proto__unpack(NULL, vlen, val);
    if (!e)
        return ckpt_err_set(err, CKPT_E_CORRUPT, "%s: entry for \"%.*s\" is not parseable",
                            b->index_path, (int)(klen > 200 ? 200 : klen), key);
    int rc = 0;
    size_t rank = e->shape ? e->shape->n_dim : 0;
    if (!e->shape || e->shape->unknown_rank || rank > MAX_RANK) {
        rc = ckpt_err_set(err, CKPT_E_CORRUPT, "%s: variable \"%.*s\" has an invalid shape",
                          b->index_path, (int)klen, key);
        goto out;
    }
    if (ckpt_grow((void **)arr, cap, *count + 1, sizeof **arr) ||
        ckpt_grow((void **)&c->names, &c->names_cap, c->names_len + klen + 1, 1) ||
        ckpt_grow((void **)&c->dims, &c->dims_cap, c->ndims + rank, sizeof *c->dims) ||
        c->ndims + rank > UINT32_MAX || klen > UINT32_MAX) {
        rc = ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory for the variable index",
                          b->index_path);
        goto out;
    }
    var_rec *r = &(*arr)[*count];
    memset(r, 0, sizeof *r);
    r->name_off = c->names_len;
    r->name_len = (uint32_t)klen;
    memcpy(c->names + c->names_len, key, klen);
    c->names[c->names_len + klen] = '\0';
    r->dims_off = (uint32_t)c->ndims;
    r->rank = (uint8_t)rank;
    for (size_t i = 0; i < rank; i++) {
        if (e->shape->dim[i]->size < 0) {
            rc = ckpt_err_set(err, CKPT_E_CORRUPT,
                              "%s: variable \"%.*s\" has a negative dimension", b->index_path,
                              (int)klen, key);
            goto out;
        }
        c->dims[c->ndims + i] = e->shape->dim[i]->size;
    }
    r->dtype = (uint16_t)(e->dtype > 0xffff ? 0xffff : e->dtype);
    r->shard = e->shard_id;
    r->offset = (uint64_t)e->offset;
    r->nbytes = (uint64_t)e->size;
    r->crc = ckpt_crc32c_unmask(e->crc32c);
    r->flags = CKPT_VAR_HAS_CRC;
    uint64_t numel;
    if (ckpt_shape_numel(r->rank, c->dims + c->ndims, &numel)) {
        rc = ckpt_err_set(err, CKPT_E_CORRUPT, "%s: variable \"%.*s\" has an invalid shape",
                          b->index_path, (int)klen, key);
        goto out;
    }
    if (e->n_slices > 0 && !is_slice) {
        /* Partitioned full-tensor entry: its bytes live in slice entries, assembled on read. */
        size_t esz = ckpt_dtype_size(r->dtype);
        r->flags = CKPT_VAR_PARTITIONED;
        r->shard = -1;
        r->nbytes = esz && numel <= UINT64_MAX / esz ? numel * esz : 0;
        r->offset = c->nparts;
        r->nparts = (uint32_t)e->n_slices;
        size_t ext_at = c->ndims + rank;
        if (e->n_slices > UINT32_MAX ||
            ckpt_grow((void **)&c->parts, &c->parts_cap, c->nparts + e->n_slices, sizeof *c->parts) ||
            ckpt_grow((void **)&c->dims, &c->dims_cap, ext_at + 2 * rank * e->n_slices,
                 sizeof *c->dims) ||
            ext_at + 2 * rank * e->n_slices > UINT32_MAX) {
            rc = ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory for the variable index",
                              b->index_path);
            goto out;
        }
        for (size_t i = 0; i < e->n_slices; i++) {
            Tensorflow__TensorSliceProto *sl = e->slices[i];
            if (sl->n_extent != rank) {
                rc = ckpt_err_set(err, CKPT_E_CORRUPT,
                                  "%s: variable \"%.*s\": slice %zu has %zu extents for rank %zu",
                                  b->index_path, (int)klen, key, i, sl->n_extent, rank);
                goto out;
            }
            int64_t *ext = c->dims + ext_at + 2 * rank * i;
            for (size_t d = 0; d < rank; d++) {
                Tensorflow__TensorSliceProto__Extent *x = sl->extent[d];
                int has_len = x->has_length_case ==
                              TENSORFLOW__TENSOR_SLICE_PROTO__EXTENT__HAS_LENGTH_LENGTH;
                ext[2 * d] = has_len ? x->start : 0;
                ext[2 * d + 1] = has_len ? x->length : -1;
            }
            c->parts[c->nparts + i].slice = UINT32_MAX; /* resolved after the whole index */
            c->parts[c->nparts + i].ext_off = (uint32_t)(ext_at + 2 * rank * i);
        }
        c->nparts += e->n_slices;
        c->ndims = ext_at + 2 * rank * e->n_slices - rank; /* keep: adds rank back */
        goto keep;
    }
    if (e->offset < 0 || e->size < 0 || e->shard_id < 0 || e->shard_id >= c->num_shards) {
        rc = ckpt_err_set(err, CKPT_E_CORRUPT,
                          "%s: variable \"%.*s\" points to shard %d, offset %lld, size %lld, "
                          "outside the %d data shard(s)",
                          b->index_path, (int)klen, key, e->shard_id, (long long)e->offset,
                          (long long)e->size, c->num_shards);
        goto out;
    }
    size_t esize = ckpt_dtype_size(r->dtype);
    if (esize && (numel > UINT64_MAX / esize || numel * esize != r->nbytes)) {
        rc = ckpt_err_set(err, CKPT_E_CORRUPT,
                          "%s: variable \"%.*s\": stored size %llu does not match its shape and "
                          "dtype (%llu bytes expected)",
                          b->index_path, (int)klen, key, (unsigned long long)r->nbytes,
                          (unsigned long long)(numel * esize));
        goto out;
    }
    if (r->dtype == CKPT_DT_RESOURCE) {
        rc = ckpt_err_set(err, CKPT_E_CORRUPT,
                          "%s: variable \"%.*s\" has dtype resource, which has no saved form",
                          b->index_path, (int)klen, key);
        goto out;
    }
keep:
    c->names_len += klen + 1;
    c->ndims += rank;
    (*count)++;
out:
    tensorflow__bundle_entry_proto__free_unpacked(e, NULL);
    return rc;
}

static int visit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                 ckpt_err *err)
{
    build_ctx *b = ctx;
    if (!b->seen_header) {
        if (klen != 0)
            return ckpt_err_set(err, CKPT_E_CORRUPT,
                                "%s: the first entry is not the bundle header", b->index_path);
        b->seen_header = 1;
        return parse_header(b, val, vlen, err);
    }
    /* Slice entries (OrderedCode keys) start with a 0 byte: internal, kept apart. */
    return add_entry(b, key, klen, val, vlen, klen > 0 && key[0] == 0, err);
}

static int load_index(ckpt_checkpoint *c, const char *path, ckpt_err *err)
{
    int fd;
    int rc0 = ckpt_open_regular(path, &fd, &c->index_st, err);
    if (rc0)
        return rc0;
    uint64_t size = (uint64_t)c->index_st.st_size;
    uint8_t *mem = NULL;
    ckpt_table *t = NULL;
    int rc;
    if (size <= INDEX_IN_MEMORY_MAX) {
        mem = malloc(size ? size : 1);
        if (!mem) {
            close(fd);
            return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory reading the index", path);
        }
        rc = ckpt_pread_full(fd, mem, size, 0);
        if (rc) {
            free(mem);
            close(fd);
            return ckpt_err_set(err, CKPT_E_IO, "%s: read failed: %s", path,
                                rc == -ENODATA ? "file shrank while reading" : strerror(-rc));
        }
        rc = ckpt_table_open_mem(mem, size, path, &t, err);
    } else {
        rc = ckpt_table_open_fd(fd, size, path, &t, err);
    }
    if (rc == 0) {
        build_ctx b = {c, path, 0};
        rc = ckpt_table_foreach(t, visit, &b, err);
        if (rc == 0 && !b.seen_header)
            rc = ckpt_err_set(err, CKPT_E_CORRUPT, "%s: the index has no header entry", path);
    }
    ckpt_table_close(t);
    free(mem);
    close(fd);
    return rc;
}

static int open_shards(ckpt_checkpoint *c, unsigned flags, ckpt_err *err)
{
    c->shards = calloc(c->num_shards ? (size_t)c->num_shards : 1, sizeof *c->shards);
    if (!c->shards)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    for (int s = 0; s < c->num_shards; s++)
        c->shards[s].fd = -1;
    for (int s = 0; s < c->num_shards; s++) {
        shard *sh = &c->shards[s];
        size_t n = strlen(c->prefix) + 64;
        sh->path = malloc(n);
        if (!sh->path)
            return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
        snprintf(sh->path, n, "%s.data-%05d-of-%05d", c->prefix, s, c->num_shards);
        struct stat st;
        ckpt_err oerr;
        int orc = ckpt_open_regular(sh->path, &sh->fd, &st, &oerr);
        if (orc == 0) {
            sh->size = (uint64_t)st.st_size;
            continue;
        }
        if (orc == CKPT_E_NOTFOUND && (flags & CKPT_OPEN_MISSING_SHARDS_OK))
            continue;
        /* oerr.msg starts with the path, which our own message already names. */
        const char *why = orc == CKPT_E_NOTFOUND ? strerror(ENOENT) : oerr.msg;
        size_t plen = strlen(sh->path);
        if (!strncmp(why, sh->path, plen) && !strncmp(why + plen, ": ", 2))
            why += plen + 2;
        return ckpt_err_set(err, orc == CKPT_E_NOTFOUND ? CKPT_E_MISSING : CKPT_E_IO,
                            "%s: data shard %d of %d: %s", sh->path, s, c->num_shards,
                            why);
    }
    /* Every stored byte range must lie inside its (present) shard. */
    for (int pass = 0; pass < 2; pass++) {
        var_rec *arr = pass ? c->slices : c->vars;
        size_t n = pass ? c->nslices : c->nvars;
        for (size_t i = 0; i < n; i++) {
            var_rec *r = &arr[i];
            if (r->flags & CKPT_VAR_PARTITIONED)
                continue;
            shard *sh = &c->shards[r->shard];
            if (sh->fd < 0) {
                r->flags |= CKPT_VAR_SHARD_MISSING;
                continue;
            }
            if (r->offset > sh->size || r->nbytes > sh->size - r->offset)
                return ckpt_err_set(err, CKPT_E_CORRUPT,
                                    "%s: %s%s%s (offset %llu, %llu bytes) lies outside its "
                                    "data shard (%llu bytes)",
                                    sh->path, pass ? "a slice entry" : "variable \"",
                                    pass ? "" : c->names + r->name_off, pass ? "" : "\"",
                                    (unsigned long long)r->offset,
                                    (unsigned long long)r->nbytes, (unsigned long long)sh->size);
        }
    }
    return 0;
}


int ckpt__load_v2(ckpt_checkpoint *c, const char *index_path, unsigned flags, ckpt_err *err)
{
    int rc = load_index(c, index_path, err);
    return rc ? rc : open_shards(c, flags, err);
}
