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
#include "variant.h"

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
} resolver;

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
    uint64_t numel, covered = 0, stored = 0;
    ckpt_shape_numel(r->rank, c->dims + r->dims_off, &numel);
    int64_t st[MAX_RANK], ln[MAX_RANK];
    for (uint32_t j = 0; j < r->nparts; j++) {
        uint64_t pn;
        if (c->parts[r->offset + j].slice == UINT32_MAX) /* the loaders link every part */
            return ckpt_err_set(err, CKPT_E_CORRUPT, "%s: variable \"%s\": slice %u unlinked",
                                rs->index_path, name, j + 1);
        part_box(c, r, &c->parts[r->offset + j], st, ln);
        int rc = check_part(rs, r, j, st, ln, &pn, err);
        if (rc)
            return rc;
        covered += pn;
        stored += c->slices[c->parts[r->offset + j].slice].nbytes;
    }
    /* Strings and variants: the size of the one stored encoding the pieces assemble into
     * (ckpt__assemble_elems). A string piece carries one 4-byte length checksum, the whole
     * tensor one; variant elements carry their own. V1 pieces are not stored this way. */
    const var_rec *s0 = r->nparts ? &c->slices[c->parts[r->offset].slice] : NULL;
    if (s0 && !(s0->flags & REC_V1_SLICE) &&
        (r->dtype == CKPT_DT_STRING || r->dtype == CKPT_DT_VARIANT))
        r->nbytes = r->dtype == CKPT_DT_STRING ? stored - 4ull * r->nparts + 4 : stored;
    if (covered != numel)
        return ckpt_err_set(
            err, CKPT_E_CORRUPT, "%s: variable \"%s\": its slices cover %llu of %llu elements",
            rs->index_path, name, (unsigned long long)covered, (unsigned long long)numel);
    return 0;
}

int ckpt__resolve_parts(ckpt_checkpoint *c, const char *index_path, ckpt_err *err)
{
    resolver rs = {c, index_path};
    int rc = 0;
    for (size_t i = 0; i < c->nvars && !rc; i++)
        if (c->vars[i].flags & CKPT_VAR_PARTITIONED)
            rc = resolve_var(&rs, &c->vars[i], err);
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
            rc = ckpt__read_stored(c, s, name, buf + (from - off), (size_t)(to - from), local, err);
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

/* --- assembling strings and variants --------------------------------------------------------- */

/* The elements of slice s (snumel of them), decoded from its stored bytes into *raw (kept: the
 * elements point into it), its checksums verified. */
static int slice_elems(ckpt_checkpoint *c, const var_rec *r, const var_rec *s, uint32_t j,
                       uint64_t snumel, uint8_t **raw, ckpt_str **el, ckpt_err *err)
{
    const char *name = c->names + r->name_off;
    size_t len = 0;
    int rc;
    *raw = NULL;
    if (s->flags & REC_V1_SLICE) {
        rc = ckpt__v1_read_strings(c, s, snumel, raw, &len, err);
    } else if (s->nbytes > SIZE_MAX - 1) {
        rc = ckpt_err_set(err, CKPT_E_NOMEM, "variable \"%s\": slice too large", name);
    } else if (!(*raw = malloc(s->nbytes ? (size_t)s->nbytes : 1))) {
        rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory reading \"%s\"", name);
    } else {
        len = (size_t)s->nbytes;
        rc = ckpt__read_stored(c, s, name, *raw, len, 0, err);
    }
    uint32_t crc = 0;
    if (!rc)
        rc = r->dtype == CKPT_DT_STRING ? ckpt_tstring_decode(*raw, len, snumel, el, &crc, err)
                                        : ckpt_variant_decode(*raw, len, snumel, el, &crc, err);
    if (!rc && !(s->flags & REC_V1_SLICE) && crc != s->crc) {
        free(*el);
        *el = NULL; /* the caller frees every piece's elements: not this one twice */
        rc = ckpt_err_set(err, CKPT_E_CORRUPT,
                          "variable \"%s\": slice %u: checksum does not match (stored %08x, "
                          "computed on the bytes read %08x)",
                          name, j + 1, s->crc, crc);
    }
    if (rc)
        ckpt_err_prefix(err, "%s",
                        s->flags & REC_V1_SLICE || s->shard < 0 ? c->prefix
                                                                : c->shards[s->shard].path);
    return rc;
}

/* Place the elements of a piece with box st, ln into full (C order of dims). */
static void place(int rank, const int64_t *dims, const int64_t *st, const int64_t *ln,
                  const ckpt_str *el, uint64_t snumel, ckpt_str *full)
{
    int64_t idx[MAX_RANK] = {0}; /* position inside the piece, last dim fastest */
    for (uint64_t k = 0; k < snumel; k++) {
        uint64_t flat = 0;
        for (int d = 0; d < rank; d++)
            flat = flat * (uint64_t)dims[d] + (uint64_t)(st[d] + idx[d]);
        full[flat] = el[k];
        for (int d = rank - 1; d >= 0 && ++idx[d] == ln[d]; d--)
            idx[d] = 0;
    }
}

int ckpt__assemble_elems(ckpt_checkpoint *c, const var_rec *r, uint8_t **out, size_t *len,
                         ckpt_err *err)
{
    const int64_t *dims = c->dims + r->dims_off;
    uint64_t numel;
    *out = NULL;
    *len = 0;
    ckpt_shape_numel(r->rank, dims, &numel);
    uint8_t **raws = calloc(r->nparts ? r->nparts : 1, sizeof *raws);
    ckpt_str **els = calloc(r->nparts ? r->nparts : 1, sizeof *els);
    ckpt_str *full = NULL;
    int rc = raws && els ? 0 : ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    int64_t st[MAX_RANK], ln[MAX_RANK];
    /* Every piece first: each is checked against its own stored bytes, so a shape far larger
     * than the file fails there, before the whole tensor's element table is allocated. */
    for (uint32_t j = 0; j < r->nparts && !rc; j++) {
        const part_rec *p = &c->parts[r->offset + j];
        uint64_t snumel;
        part_box(c, r, p, st, ln);
        ckpt_shape_numel(r->rank, ln, &snumel);
        rc = slice_elems(c, r, &c->slices[p->slice], j, snumel, &raws[j], &els[j], err);
    }
    if (!rc && !(full = calloc(numel ? (size_t)numel : 1, sizeof *full)))
        rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory assembling \"%s\"",
                          c->names + r->name_off);
    for (uint32_t j = 0; j < r->nparts && !rc; j++) {
        const part_rec *p = &c->parts[r->offset + j];
        uint64_t snumel;
        part_box(c, r, p, st, ln);
        ckpt_shape_numel(r->rank, ln, &snumel);
        place(r->rank, dims, st, ln, els[j], snumel, full);
    }
    /* Open-time checks make the pieces tile the tensor, so every element is set. */
    if (!rc)
        rc = r->dtype == CKPT_DT_STRING ? ckpt_tstring_encode(full, numel, out, len, err)
                                        : ckpt_variant_encode(full, numel, out, len, NULL, err);
    for (uint32_t j = 0; raws && els && j < r->nparts; j++) {
        free(raws[j]);
        free(els[j]);
    }
    free(raws);
    free(els);
    free(full);
    return rc;
}
