/*
 * partition.c - partitioned variables: linking a full-tensor entry to its slice entries,
 * checking that they tile the tensor, and assembling bytes of the full tensor from the slices.
 *
 * A part's box is kept as written in its entry (start, length per dim, length -1 for a whole
 * dim) at ext_off in the dims arena; part_box makes whole dims explicit.
 */
#include "ckpt_internal.h"

#include "crc32c.h"
#include "dtype.h"
#include "shape.h"
#include "slicekey.h"

#include <stdlib.h>
#include <string.h>

/* A gathered read is worth one large read when it wastes at most this factor in bytes (plus
 * GATHER_SLACK), and never beyond GATHER_MAX. */
#define GATHER_WASTE 4
#define GATHER_SLACK 4096
#define GATHER_MAX (16u << 20)
/* Buffer for reading a slice to verify its checksum. */
#define VERIFY_CHUNK (1u << 20)

/* Effective box of a part: start and length per dim, whole dims made explicit. */
static void part_box(const ckpt_checkpoint *c, const var_rec *r, const part_rec *p, int64_t *st,
                     int64_t *ln)
{
    const int64_t *ext = c->dims + p->ext_off;
    const int64_t *dims = c->dims + r->dims_off;
    for (int d = 0; d < r->rank; d++) {
        st[d] = ext[2 * d + 1] < 0 ? 0 : ext[2 * d];
        ln[d] = ext[2 * d + 1] < 0 ? dims[d] : ext[2 * d + 1];
    }
}

/* Boxes a and b (rank dims) intersect? */
static int boxes_overlap(int rank, const int64_t *sa, const int64_t *la, const int64_t *sb,
                         const int64_t *lb)
{
    for (int d = 0; d < rank; d++)
        if (sa[d] >= sb[d] + lb[d] || sb[d] >= sa[d] + la[d])
            return 0;
    return 1;
}

/* --- resolving at open ---------------------------------------------------------------------- */

/* What resolving one partitioned variable needs besides the checkpoint. */
typedef struct resolver {
    ckpt_checkpoint *c;
    const char *index_path;
    uint8_t *key; /* slice-key scratch */
    size_t key_cap;
} resolver;

/* Find part j's slice entry the way TensorFlow does: re-encode its key and look it up. */
static int link_part(resolver *rs, const var_rec *r, uint32_t j, ckpt_err *err)
{
    ckpt_checkpoint *c = rs->c;
    part_rec *p = &c->parts[r->offset + j];
    if (p->slice != UINT32_MAX) /* V1 knows its slice records already */
        return 0;
    const int64_t *ext = c->dims + p->ext_off;
    int64_t raw_st[MAX_RANK], raw_ln[MAX_RANK];
    for (int d = 0; d < r->rank; d++)
        raw_st[d] = ext[2 * d], raw_ln[d] = ext[2 * d + 1];
    const char *name = c->names + r->name_off;
    size_t klen = ckpt_slice_key(name, r->name_len, r->rank, raw_st, raw_ln, rs->key);
    size_t si;
    if (ckpt__find_rec(c, c->slices, c->nslices, rs->key, klen, &si))
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: variable \"%s\": slice %u of %u is missing from the index",
                            rs->index_path, name, j + 1, r->nparts);
    p->slice = (uint32_t)si;
    return 0;
}

/* Check that part j (box st, ln) fits r and overlaps no earlier part; *pn its element count. */
static int check_part(resolver *rs, var_rec *r, uint32_t j, const int64_t *st, const int64_t *ln,
                      uint64_t *pn, ckpt_err *err)
{
    ckpt_checkpoint *c = rs->c;
    const char *name = c->names + r->name_off;
    const int64_t *dims = c->dims + r->dims_off;
    const var_rec *s = &c->slices[c->parts[r->offset + j].slice];
    int bad = s->dtype != r->dtype || s->rank != r->rank;
    *pn = 1;
    for (int d = 0; d < r->rank && !bad; d++) {
        bad = st[d] < 0 || ln[d] < 0 || st[d] > dims[d] || ln[d] > dims[d] - st[d] ||
              c->dims[s->dims_off + d] != ln[d];
        *pn *= (uint64_t)ln[d];
    }
    if (bad)
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: variable \"%s\": slice %u does not fit the tensor "
                            "(dtype, rank or extent mismatch)",
                            rs->index_path, name, j + 1);
    if (s->flags & CKPT_VAR_SHARD_MISSING)
        r->flags |= CKPT_VAR_SHARD_MISSING;
    /* Pairwise overlap is quadratic; real partitioners make a handful of parts, and more than
     * MAX_PARTS is refused before this. */
    int64_t st2[MAX_RANK], ln2[MAX_RANK];
    for (uint32_t q = 0; q < j; q++) {
        part_box(c, r, &c->parts[r->offset + q], st2, ln2);
        if (boxes_overlap(r->rank, st, ln, st2, ln2))
            return ckpt_err_set(err, CKPT_E_CORRUPT,
                                "%s: variable \"%s\": slices %u and %u overlap", rs->index_path,
                                name, q + 1, j + 1);
    }
    return 0;
}

/* Resolve and check every part of partitioned variable r. */
static int resolve_var(resolver *rs, var_rec *r, ckpt_err *err)
{
    ckpt_checkpoint *c = rs->c;
    const char *name = c->names + r->name_off;
    if (r->nparts > MAX_PARTS)
        return ckpt_err_set(err, CKPT_E_UNSUPPORTED,
                            "%s: variable \"%s\" is saved as %u slices; at most %d are supported",
                            rs->index_path, name, r->nparts, MAX_PARTS);
    if (ckpt_grow((void **)&rs->key, &rs->key_cap, ckpt_slice_key_max(r->name_len, r->rank), 1))
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    uint64_t numel, covered = 0;
    ckpt_shape_numel(r->rank, c->dims + r->dims_off, &numel);
    int64_t st[MAX_RANK], ln[MAX_RANK];
    for (uint32_t j = 0; j < r->nparts; j++) {
        uint64_t pn;
        int rc = link_part(rs, r, j, err);
        if (rc)
            return rc;
        part_box(c, r, &c->parts[r->offset + j], st, ln);
        if ((rc = check_part(rs, r, j, st, ln, &pn, err)) != 0)
            return rc;
        covered += pn;
    }
    if (covered != numel)
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: variable \"%s\": its slices cover %llu of %llu elements",
                            rs->index_path, name, (unsigned long long)covered,
                            (unsigned long long)numel);
    return 0;
}

int ckpt__resolve_parts(ckpt_checkpoint *c, const char *index_path, ckpt_err *err)
{
    resolver rs = {c, index_path, NULL, 0};
    int rc = 0;
    for (size_t i = 0; i < c->nvars && !rc; i++)
        if (c->vars[i].flags & CKPT_VAR_PARTITIONED)
            rc = resolve_var(&rs, &c->vars[i], err);
    free(rs.key);
    return rc;
}

/* --- assembling reads ----------------------------------------------------------------------- */

/*
 * Within a slice, the dims after the last partially covered one (k) are whole, so each
 * combination of indices before k is one contiguous run, both in the full tensor (C order) and
 * in the slice's own storage. Runs start at increasing offsets, so the first one a byte range
 * touches is found by bisection and only runs that meet the range are read.
 */
typedef struct runs {
    int k;           /* last partially covered dim, -1 when the slice is the whole tensor */
    uint64_t runlen; /* elements per run */
    uint64_t lo, hi; /* the runs [lo, hi) meet the range being read */
    const int64_t *st, *ln;
    const uint64_t *stride;
} runs;

/* Where run q starts in the full tensor (flat element index). */
static uint64_t run_start(const runs *rn, uint64_t q)
{
    int k = rn->k;
    uint64_t fs = k < 0 ? 0 : (uint64_t)rn->st[k] * rn->stride[k];
    for (int d = k - 1; d >= 0; d--) {
        fs += ((uint64_t)rn->st[d] + q % (uint64_t)rn->ln[d]) * rn->stride[d];
        q /= (uint64_t)rn->ln[d];
    }
    return fs;
}

/* Fill rn for the slice box st, ln of a tensor (dims, numel) and bytes [off, end) at es bytes
 * per element. Returns 0 when no run meets the range. */
static int find_runs(runs *rn, int rank, const int64_t *dims, uint64_t numel, uint64_t es,
                     uint64_t off, uint64_t end)
{
    int k = rank - 1;
    while (k >= 0 && rn->st[k] == 0 && rn->ln[k] == dims[k])
        k--;
    rn->k = k;
    rn->runlen = k < 0 ? numel : (uint64_t)rn->ln[k] * rn->stride[k];
    uint64_t nruns = 1;
    int empty = rn->runlen == 0;
    for (int d = 0; d < k; d++) {
        nruns *= (uint64_t)rn->ln[d];
        empty |= rn->ln[d] == 0;
    }
    if (empty)
        return 0;
    uint64_t lo = 0, hi = nruns;
    while (lo < hi) { /* first run ending after off */
        uint64_t mid = lo + (hi - lo) / 2;
        if ((run_start(rn, mid) + rn->runlen) * es <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint64_t last = lo; /* one past the last run that starts before end */
    while (last < nruns && run_start(rn, last) * es < end)
        last++;
    rn->lo = lo;
    rn->hi = last;
    return last > lo;
}

/* Scratch for gathered reads, sized to the span it last needed: a FUSE read gathers about
 * GATHER_WASTE times its own size, so a fixed large buffer would mostly be wasted. */
typedef struct bounce {
    uint8_t *p;
    size_t cap;
} bounce;

/*
 * Copy the parts of runs rn of slice s that meet [off, off+n) into buf. Slices split on a late
 * axis make many short runs; those are read with one read of the slice bytes that span them,
 * then scattered.
 */
static int copy_runs(ckpt_checkpoint *c, const var_rec *s, const char *name, const runs *rn,
                     uint64_t es, uint8_t *buf, size_t n, uint64_t off, bounce *bb, ckpt_err *err)
{
    uint64_t end = off + n, base = rn->lo * rn->runlen * es;
    uint64_t span = (rn->hi - rn->lo) * rn->runlen * es; /* runs are back to back in the slice */
    const uint8_t *src = NULL;
    int rc = 0;
    if (rn->hi - rn->lo > 1 && span <= GATHER_MAX &&
        span <= GATHER_WASTE * (uint64_t)n + GATHER_SLACK) {
        if (span > bb->cap) {
            uint8_t *nb = realloc(bb->p, (size_t)span);
            if (!nb)
                return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
            bb->p = nb;
            bb->cap = (size_t)span;
        }
        rc = ckpt__read_stored(c, s, name, bb->p, (size_t)span, base, err);
        src = bb->p;
    }
    for (uint64_t q = rn->lo; q < rn->hi && !rc; q++) {
        uint64_t fs = run_start(rn, q);
        uint64_t a = fs * es, b = (fs + rn->runlen) * es;
        uint64_t from = a > off ? a : off, to = b < end ? b : end;
        if (from >= to)
            continue;
        uint64_t local = q * rn->runlen * es + (from - a);
        if (src)
            memcpy(buf + (from - off), src + (local - base), (size_t)(to - from));
        else
            rc = ckpt__read_stored(c, s, name, buf + (from - off), (size_t)(to - from), local,
                                   err);
    }
    return rc;
}

int ckpt__read_partitioned(ckpt_checkpoint *c, const var_rec *r, uint8_t *buf, size_t n,
                           uint64_t off, ckpt_err *err)
{
    const char *name = c->names + r->name_off;
    const int64_t *dims = c->dims + r->dims_off;
    uint64_t es = ckpt_dtype_size(r->dtype);
    if (!es)
        return ckpt_err_set(err, CKPT_E_UNSUPPORTED,
                            "%s: variable \"%s\": partitioned variable-size tensors cannot be "
                            "assembled",
                            c->prefix, name);
    /* Open-time checks make the slices tile the tensor; zeroing first means that even a gap
     * could never expose stale memory. */
    memset(buf, 0, n);
    uint64_t stride[MAX_RANK], numel = 1; /* stride[d]: elements per step of dim d */
    for (int d = r->rank - 1; d >= 0; d--) {
        stride[d] = numel;
        numel *= (uint64_t)dims[d];
    }
    int64_t st[MAX_RANK], ln[MAX_RANK];
    runs rn = {.st = st, .ln = ln, .stride = stride};
    bounce bb = {NULL, 0};
    int rc = 0;
    for (uint32_t j = 0; j < r->nparts && !rc; j++) {
        const part_rec *p = &c->parts[r->offset + j];
        part_box(c, r, p, st, ln);
        if (find_runs(&rn, r->rank, dims, numel, es, off, off + n))
            rc = copy_runs(c, &c->slices[p->slice], name, &rn, es, buf, n, off, &bb, err);
    }
    free(bb.p);
    return rc;
}

int ckpt__verify_slices(ckpt_checkpoint *c, const var_rec *r, ckpt_err *err)
{
    const char *name = c->names + r->name_off;
    size_t cap = VERIFY_CHUNK;
    uint8_t *tmp = malloc(cap);
    if (!tmp)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    int rc = 0;
    for (uint32_t j = 0; j < r->nparts && !rc; j++) {
        const var_rec *s = &c->slices[c->parts[r->offset + j].slice];
        if (s->flags & REC_V1_SLICE)
            continue; /* V1 keeps no tensor checksums, only the table's block checksums */
        uint32_t crc = 0;
        for (uint64_t o = 0; o < s->nbytes && !rc; o += cap) {
            size_t k = s->nbytes - o < cap ? (size_t)(s->nbytes - o) : cap;
            rc = ckpt__read_stored(c, s, name, tmp, k, o, err);
            crc = ckpt_crc32c_extend(crc, tmp, k);
        }
        if (!rc && crc != s->crc)
            rc = ckpt_err_set(err, CKPT_E_CORRUPT,
                              "%s: variable \"%s\": slice %u: checksum does not match (stored "
                              "%08x, computed on the bytes read %08x)",
                              c->shards[s->shard].path, name, j + 1, s->crc, crc);
    }
    free(tmp);
    return rc;
}
