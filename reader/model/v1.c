/*
 * v1.c - loading V1 checkpoints (SaverDef.V1, "tensor slices"); reading their slices is
 * v1read.c's.
 *
 * A V1 checkpoint is one table file (or a set named -NNNNN-of-MMMMM) whose record under key ""
 * is a SavedTensorSlices holding only `meta`: every tensor's name, dtype, shape and slices. Each
 * slice's values are in the record whose key is EncodeTensorNameSlice(name, slice), as a
 * TensorProto. Every V1 tensor, partitioned or not, is therefore served like a partitioned V2
 * tensor whose slices are decoded from table records; only the meta record is read at open.
 */
#include "build.h"
#include "ckpt_internal.h"

#include "coding.h"
#include "crc32c.h"
#include "dtype.h"
#include "pbwire.h"
#include "saved_tensor_slice.pb-c.h"
#include "shape.h"
#include "slicekey.h"
#include "table.h"
#include "resolve_local.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A meta may list at most this many key bytes per byte of its files, plus some slack, before
 * it is taken for a hostile one (every key must exist in the files). */
#define V1_NAMES_PER_BYTE 64
#define V1_NAMES_SLACK (16u << 20)

typedef struct meta_ctx {
    Tensorflow__SavedTensorSlices *msg;
    int first_key_empty;
} meta_ctx;

static int meta_visit(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen,
                      ckpt_err *err)
{
    (void)key;
    (void)err;
    meta_ctx *m = ctx;
    m->first_key_empty = klen == 0;
    /* protobuf-c recurses without a limit and TensorProto nests (through variant values):
     * check the depth before unpacking anything read from the file. */
    if (klen == 0 && vlen > 0 && val[0] == 0x0a &&
        ckpt_pb_validate(&tensorflow__saved_tensor_slices__descriptor, val, vlen, CKPT_PB_MAX_DEPTH,
                         NULL) == 0)
        m->msg = tensorflow__saved_tensor_slices__unpack(NULL, vlen, val);
    return 1; /* only the first record */
}

/* Read the meta record of an open table; NULL message when it is not a V1 meta. */
static int read_meta(ckpt_table *t, Tensorflow__SavedTensorSlices **out, ckpt_err *err)
{
    meta_ctx m = {NULL, 0};
    int rc = ckpt_table_foreach(t, meta_visit, &m, err);
    if (rc)
        return rc;
    if (m.msg && !m.msg->meta) {
        tensorflow__saved_tensor_slices__free_unpacked(m.msg, NULL);
        m.msg = NULL;
    }
    *out = m.msg;
    return 0;
}

/* The compatibility rules of TensorSliceReader: consumer version 1, min producer 0. */
static int check_versions(const Tensorflow__VersionDef *v, const char *path, ckpt_err *err)
{
    if (!v)
        return 0;
    if (v->producer < 0)
        return ckpt_err_set(err, CKPT_E_UNSUPPORTED, "%s: producer version %d below 0", path,
                            v->producer);
    if (v->min_consumer > 1)
        return ckpt_err_set(err, CKPT_E_UNSUPPORTED,
                            "%s: written by a newer TensorFlow (min consumer version %d > 1)", path,
                            v->min_consumer);
    for (size_t i = 0; i < v->n_bad_consumers; i++)
        if (v->bad_consumers[i] == 1)
            return ckpt_err_set(err, CKPT_E_UNSUPPORTED,
                                "%s: checkpoint disallows consumer version 1", path);
    return 0;
}

/* One tensor as listed by one file's meta. */
typedef struct listed {
    const Tensorflow__SavedSliceMeta *m;
    int file;
} listed;

static int listed_cmp(const void *a, const void *b)
{
    const listed *x = a, *y = b;
    int c = strcmp(x->m->name, y->m->name);
    return c ? c : (x->file > y->file) - (x->file < y->file);
}

/* The listings of one tensor must agree on dtype and shape: *nparts their slices in all. */
static int check_group(const listed *group, size_t ng, const char *path, size_t *nparts,
                       ckpt_err *err)
{
    const Tensorflow__SavedSliceMeta *m0 = group[0].m;
    size_t rank = m0->shape ? m0->shape->n_dim : 0;
    if (!m0->shape || m0->shape->unknown_rank || rank > MAX_RANK)
        return ckpt_err_set(err, CKPT_E_CORRUPT, "%s: tensor \"%s\" has an invalid shape", path,
                            m0->name);
    *nparts = 0;
    for (size_t g = 0; g < ng; g++) {
        const Tensorflow__SavedSliceMeta *m = group[g].m;
        int same = m->type == m0->type && m->shape && m->shape->n_dim == rank;
        for (size_t d = 0; same && d < rank; d++)
            same = m->shape->dim[d]->size == m0->shape->dim[d]->size;
        if (!same)
            return ckpt_err_set(err, CKPT_E_CORRUPT,
                                "%s: tensor \"%s\" is listed with different dtypes or shapes", path,
                                m0->name);
        *nparts += m->n_slice;
    }
    if (*nparts == 0 || *nparts > UINT32_MAX)
        return ckpt_err_set(err, CKPT_E_CORRUPT, "%s: tensor \"%s\" lists no slices", path,
                            m0->name);
    return 0;
}

/*
 * Add slice sl of variable r (stored in file `file`) as a slice record and a part: its box as
 * written, the slice key as its name, its effective lengths as its dims.
 */
static int add_slice(ckpt_checkpoint *c, const var_rec *r, const Tensorflow__TensorSliceProto *sl,
                     int file, const char *path, ckpt_err *err)
{
    int rank = r->rank;
    if (sl->n_extent != (size_t)rank)
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: tensor \"%s\": a slice has %zu extents for rank %d", path,
                            c->names + r->name_off, sl->n_extent, rank);
    /* the box, then the slice's own dims */
    int64_t *box = ckpt__build_dims_tail(c, 3 * (size_t)rank);
    char *key = ckpt__build_name_tail(c, ckpt_slice_key_max(r->name_len, rank));
    if (!box || !key)
        return ckpt__build_nomem(err, path);
    const char *name = c->names + r->name_off;
    const int64_t *dims = c->dims + r->dims_off;
    int64_t st[MAX_RANK], ln[MAX_RANK];
    for (int d = 0; d < rank; d++) {
        const Tensorflow__TensorSliceProto__Extent *x = sl->extent[d];
        int has_len =
            x->has_length_case == TENSORFLOW__TENSOR_SLICE_PROTO__EXTENT__HAS_LENGTH_LENGTH;
        st[d] = has_len ? x->start : 0;
        ln[d] = has_len ? x->length : -1;
        box[2 * d] = st[d];
        box[2 * d + 1] = ln[d];
    }
    var_rec s = {.name_len =
                     (uint32_t)ckpt_slice_key(name, r->name_len, rank, st, ln, (uint8_t *)key),
                 .shard = file,
                 .dtype = r->dtype,
                 .rank = (uint8_t)rank,
                 .flags = REC_V1_SLICE};
    s.name_off = ckpt__build_name_claim(c, s.name_len);
    uint32_t ext_off = ckpt__build_dims_claim(c, 2 * (size_t)rank);
    uint64_t snumel = 1;
    for (int d = 0; d < rank; d++) {
        int64_t l = ln[d] < 0 ? dims[d] : ln[d];
        box[2 * rank + d] = l;
        snumel *= (uint64_t)(l < 0 ? 0 : l);
    }
    s.dims_off = ckpt__build_dims_claim(c, (size_t)rank);
    s.nbytes = snumel * ckpt_dtype_size(r->dtype);
    uint32_t at = 0;
    if (ckpt__build_slice(c, &s, &at, err) || ckpt__build_part(c, at, ext_off, err))
        return ckpt_err_prefix(err, "%s", path);
    return 0;
}

/* Write meta m0's name and dims to the tails and claim them for *r, a variable whose nparts
 * parts are to come. */
static int fill_var(ckpt_checkpoint *c, var_rec *r, const Tensorflow__SavedSliceMeta *m0,
                    size_t nparts, const char *path, ckpt_err *err)
{
    size_t nlen = strlen(m0->name), rank = m0->shape->n_dim;
    char *name = ckpt__build_name_tail(c, nlen);
    int64_t *dims = ckpt__build_dims_tail(c, rank);
    if (!name || !dims)
        return ckpt__build_nomem(err, path);
    memcpy(name, m0->name, nlen);
    for (size_t d = 0; d < rank; d++) {
        if (m0->shape->dim[d]->size < 0)
            return ckpt_err_set(err, CKPT_E_CORRUPT, "%s: tensor \"%s\" has a negative dimension",
                                path, m0->name);
        dims[d] = m0->shape->dim[d]->size;
    }
    uint16_t dtype = (uint16_t)(m0->type > DTYPE_CLAMP ? DTYPE_CLAMP : m0->type);
    uint64_t numel;
    size_t es = ckpt_dtype_size(dtype);
    if (ckpt_shape_numel((int)rank, dims, &numel) || (es && numel > UINT64_MAX / es))
        return ckpt_err_set(err, CKPT_E_CORRUPT, "%s: tensor \"%s\" has an invalid shape", path,
                            m0->name);
    uint64_t name_off = ckpt__build_name_claim(c, nlen);
    uint32_t dims_off = ckpt__build_dims_claim(c, rank);
    *r = (var_rec){.offset = c->nparts,
                   .nbytes = numel * es,
                   .name_off = name_off,
                   .name_len = (uint32_t)nlen,
                   .dims_off = dims_off,
                   .shard = -1,
                   .dtype = dtype,
                   .rank = (uint8_t)rank,
                   .flags = CKPT_VAR_PARTITIONED,
                   .nparts = (uint32_t)nparts};
    return 0;
}

/* Add the tensor the ng listings of group describe, as a variable whose parts are its slices. */
static int add_var(ckpt_checkpoint *c, const listed *group, size_t ng, const char *path,
                   uint64_t names_budget, ckpt_err *err)
{
    const Tensorflow__SavedSliceMeta *m0 = group[0].m;
    size_t nparts = 0;
    int rc = check_group(group, ng, path, &nparts, err);
    if (rc)
        return rc;
    size_t nlen = strlen(m0->name), rank = m0->shape->n_dim;
    size_t key_max = ckpt_slice_key_max(nlen, (int)rank);
    size_t more_names = nlen + 1 + nparts * (key_max + 1);
    /* Each slice key must exist in the files; a meta listing far more key bytes than the files
     * could hold is a hostile one that would only make us allocate. */
    if (c->names_len + more_names > names_budget)
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: tensor \"%.200s\" lists %zu slices, more than the file can hold",
                            path, m0->name, nparts);
    /* Room for all at once. Per part: its box (start, length per dim) and the slice's own
     * dims. */
    if (!ckpt__build_name_tail(c, more_names) ||
        !ckpt__build_dims_tail(c, rank + nparts * 3 * rank))
        return ckpt__build_nomem(err, path);
    var_rec r;
    rc = fill_var(c, &r, m0, nparts, path, err);
    for (size_t g = 0; g < ng && !rc; g++)
        for (size_t k = 0; k < group[g].m->n_slice && !rc; k++)
            rc = add_slice(c, &r, group[g].m->slice[k], group[g].file, path, err);
    if (!rc && ckpt__build_var(c, &r, err))
        rc = ckpt_err_prefix(err, "%s", path);
    return rc;
}

/* The name of file f of a V1 set (path itself when there is one file; malloc'd). */
static char *v1_file_name(const char *path, size_t base_len, int f, int nfiles)
{
    if (nfiles == 1)
        return strdup(path);
    size_t n = base_len + CKPT_V1_SUFFIX_LEN + 1;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%.*s-%05d-of-%05d", (int)base_len, path, f, nfiles);
    return p;
}

/* Open file f of the set as a table and read its meta record into *meta. */
static int open_file(ckpt_checkpoint *c, const char *path, size_t base_len, int f,
                     Tensorflow__SavedTensorSlices **meta, ckpt_err *err)
{
    char *name = v1_file_name(path, base_len, f, c->num_shards);
    if (!name)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    ckpt_file *file = NULL;
    ckpt_table *t = NULL;
    int rc = ckpt_file_open(c->src, name, &file, err);
    if (rc == CKPT_E_NOTFOUND)
        rc = ckpt_err_set(err, CKPT_E_MISSING, "%s: V1 checkpoint file %d of %d: %s", name, f,
                          c->num_shards, strerror(ENOENT));
    if (!rc && f == 0)
        ckpt__build_index_stat(c, &file->attr);
    if (!rc)
        rc = ckpt_table_open_file(file, &t, err);
    ckpt__build_shard(c, f, name, file, t); /* c closes them */
    if (!rc)
        rc = read_meta(t, meta, err);
    if (!rc && !*meta)
        rc = ckpt_err_set(err, CKPT_E_CORRUPT,
                          "%s: not a V1 checkpoint (no saved tensor slices meta record)", name);
    return rc ? rc : check_versions((*meta)->meta->versions, name, err);
}

/* Append what meta (of file f) lists to all. */
static int list_tensors(const Tensorflow__SavedTensorSlices *meta, int f, listed **all,
                        size_t *nall, size_t *cap, ckpt_err *err)
{
    for (size_t i = 0; i < meta->meta->n_tensor; i++) {
        if (ckpt_grow((void **)all, cap, *nall + 1, sizeof **all))
            return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
        (*all)[*nall].m = meta->meta->tensor[i];
        (*all)[*nall].file = f;
        (*nall)++;
    }
    return 0;
}

/* Add the tensors of all, grouping the listings of one name (sorted here) into one variable. */
static int add_vars(ckpt_checkpoint *c, listed *all, size_t nall, uint64_t names_budget,
                    ckpt_err *err)
{
    qsort(all, nall, sizeof *all, listed_cmp);
    int rc = 0;
    for (size_t i = 0; i < nall && !rc;) {
        size_t j = i + 1;
        while (j < nall && !strcmp(all[j].m->name, all[i].m->name))
            j++;
        rc = add_var(c, all + i, j - i, c->shards[all[i].file].path, names_budget, err);
        i = j;
    }
    return rc;
}

int ckpt__load_v1(ckpt_checkpoint *c, const char *path, ckpt_err *err)
{
    size_t base_len;
    int nfiles = ckpt_v1_file_count(path, &base_len);
    int rc = ckpt__build_shards(c, nfiles, err);
    if (rc)
        return rc;
    Tensorflow__SavedTensorSlices **metas = calloc((size_t)nfiles, sizeof *metas);
    listed *all = NULL;
    size_t nall = 0, all_cap = 0;
    uint64_t total_size = 0;
    rc = metas ? 0 : ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    for (int f = 0; f < nfiles && !rc; f++) {
        rc = open_file(c, path, base_len, f, &metas[f], err);
        if (!rc)
            rc = list_tensors(metas[f], f, &all, &nall, &all_cap, err);
        total_size += c->shards[f].size;
    }
    if (!rc)
        rc = add_vars(c, all, nall, V1_NAMES_PER_BYTE * total_size + V1_NAMES_SLACK, err);
    for (int f = 0; metas && f < nfiles; f++)
        if (metas[f])
            tensorflow__saved_tensor_slices__free_unpacked(metas[f], NULL);
    free(metas);
    free(all);
    return rc;
}
