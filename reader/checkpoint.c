/*
 * checkpoint.c - the common core of an opened checkpoint (see checkpoint.h): resolving the
 * source, the compact variable index, lookups, and reads (plain, and assembled from slices).
 *
 * Memory layout: one fixed-size record per variable plus arenas (all names back to back, all
 * dims back to back). No allocation per variable, so 100,000 variables cost about 48 bytes each
 * beyond their names and dims, and the records are in name order, which makes lookups a binary
 * search and makes a variable's position a stable identity.
 */
#include "ckpt_internal.h"

#include "crc32c.h"
#include "dtype.h"
#include "fileio.h"
#include "shape.h"
#include "slicekey.h"
#include "source.h"
#include "table.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* More slices than this per variable are refused: the overlap check is quadratic. */
#define MAX_PARTS 4096

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

/* Binary search of records sorted by name (their key bytes) for exactly key. */
static int find_rec(const ckpt_checkpoint *c, const var_rec *arr, size_t n, const void *key,
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

/* Boxes a and b (rank dims) intersect? */
static int boxes_overlap(int rank, const int64_t *sa, const int64_t *la, const int64_t *sb,
                         const int64_t *lb)
{
    for (int d = 0; d < rank; d++)
        if (sa[d] >= sb[d] + lb[d] || sb[d] >= sa[d] + la[d])
            return 0;
    return 1;
}

/*
 * Link every part of every partitioned variable to its slice entry, the way TensorFlow finds
 * them (re-encoding the key), and check that the slices tile the tensor exactly: right dtype and
 * shape, inside the tensor, no overlap, nothing left uncovered.
 */
static int resolve_parts(ckpt_checkpoint *c, const char *index_path, ckpt_err *err)
{
    int64_t st[MAX_RANK], ln[MAX_RANK], st2[MAX_RANK], ln2[MAX_RANK];
    uint8_t *key = NULL;
    size_t key_cap = 0;
    int rc = 0;
    for (size_t i = 0; i < c->nvars && !rc; i++) {
        var_rec *r = &c->vars[i];
        if (!(r->flags & CKPT_VAR_PARTITIONED))
            continue;
        const char *name = c->names + r->name_off;
        const int64_t *dims = c->dims + r->dims_off;
        uint64_t numel, covered = 0;
        ckpt_shape_numel(r->rank, dims, &numel);
        if (r->nparts > MAX_PARTS) {
            rc = ckpt_err_set(err, CKPT_E_UNSUPPORTED,
                              "%s: variable \"%s\" is saved as %u slices; at most %d are supported",
                              index_path, name, r->nparts, MAX_PARTS);
            break;
        }
        size_t need = ckpt_slice_key_max(r->name_len, r->rank);
        if (need > key_cap) {
            uint8_t *k = realloc(key, need);
            if (!k) {
                rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
                break;
            }
            key = k;
            key_cap = need;
        }
        for (uint32_t j = 0; j < r->nparts && !rc; j++) {
            part_rec *p = &c->parts[r->offset + j];
            const int64_t *ext = c->dims + p->ext_off;
            int64_t raw_st[MAX_RANK], raw_ln[MAX_RANK];
            for (int d = 0; d < r->rank; d++)
                raw_st[d] = ext[2 * d], raw_ln[d] = ext[2 * d + 1];
            size_t klen = ckpt_slice_key(name, r->name_len, r->rank, raw_st, raw_ln, key);
            size_t si = p->slice;
            if (si == UINT32_MAX && find_rec(c, c->slices, c->nslices, key, klen, &si)) {
                rc = ckpt_err_set(err, CKPT_E_CORRUPT,
                                  "%s: variable \"%s\": slice %u of %u is missing from the index",
                                  index_path, name, j + 1, r->nparts);
                break;
            }
            p->slice = (uint32_t)si;
            const var_rec *s = &c->slices[si];
            part_box(c, r, p, st, ln);
            uint64_t pn = 1;
            int bad = s->dtype != r->dtype || s->rank != r->rank;
            for (int d = 0; d < r->rank && !bad; d++) {
                bad = st[d] < 0 || ln[d] < 0 || st[d] > dims[d] || ln[d] > dims[d] - st[d] ||
                      c->dims[s->dims_off + d] != ln[d];
                pn *= (uint64_t)ln[d];
            }
            if (bad) {
                rc = ckpt_err_set(err, CKPT_E_CORRUPT,
                                  "%s: variable \"%s\": slice %u does not fit the tensor "
                                  "(dtype, rank or extent mismatch)",
                                  index_path, name, j + 1);
                break;
            }
            covered += pn;
            if (s->flags & CKPT_VAR_SHARD_MISSING)
                r->flags |= CKPT_VAR_SHARD_MISSING;
            /* Pairwise overlap is quadratic; real partitioners make a handful of parts, and
             * more than MAX_PARTS is refused before this loop. */
            for (uint32_t q = 0; q < j; q++) {
                part_box(c, r, &c->parts[r->offset + q], st2, ln2);
                if (boxes_overlap(r->rank, st, ln, st2, ln2)) {
                    rc = ckpt_err_set(err, CKPT_E_CORRUPT,
                                      "%s: variable \"%s\": slices %u and %u overlap",
                                      index_path, name, q + 1, j + 1);
                    break;
                }
            }
        }
        if (!rc && covered != numel)
            rc = ckpt_err_set(err, CKPT_E_CORRUPT,
                              "%s: variable \"%s\": its slices cover %llu of %llu elements",
                              index_path, name, (unsigned long long)covered,
                              (unsigned long long)numel);
    }
    free(key);
    return rc;
}

/* Set c->meta_path to base.meta when that file is readable. */
static int find_meta(ckpt_checkpoint *c, const char *base, size_t blen, ckpt_err *err)
{
    c->meta_path = malloc(blen + 6);
    if (!c->meta_path)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    snprintf(c->meta_path, blen + 6, "%.*s.meta", (int)blen, base);
    struct stat st;
    if (stat(c->meta_path, &st) != 0 || !S_ISREG(st.st_mode) || access(c->meta_path, R_OK) != 0) {
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

int ckpt_open(const char *source, unsigned flags, ckpt_checkpoint **out, ckpt_err *err)
{
    *out = NULL;
    ckpt_checkpoint *c = calloc(1, sizeof *c);
    if (!c)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    pthread_mutex_init(&c->v1_lock, NULL);
    for (int k = 0; k < V1_CACHE_SLOTS; k++)
        c->v1_cache[k].slice = UINT32_MAX;
    char *path = NULL;
    int rc = ckpt_resolve_prefix(source, &path, err);
    if (rc)
        goto fail;
    size_t plen = strlen(path);
    char *index_path = malloc(plen + 7);
    if (!index_path) {
        free(path);
        rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
        goto fail;
    }
    snprintf(index_path, plen + 7, "%s.index", path);
    if (access(index_path, F_OK) == 0) {
        c->prefix = path;
        rc = find_meta(c, path, plen, err);
        if (!rc)
            rc = ckpt__load_v2(c, index_path, flags, err);
        free(index_path);
        if (rc)
            goto fail;
    } else {
        free(index_path);
        /* A V1 checkpoint: a table file named by the save path itself; sharded saves are
         * recorded as the pattern "-?????-of-NNNNN", whose shard 0 we open first. */
        char *q = strstr(path, "-\?\?\?\?\?-of-");
        if (q)
            memcpy(q + 1, "00000", 5);
        if (!ckpt__is_v1(path)) {
            rc = ckpt_err_set(err, CKPT_E_NOTFOUND,
                              "%s: not a TensorFlow checkpoint (no %s.index, and not a V1 "
                              "checkpoint file); pass the prefix, its .index, a training folder "
                              "or a SavedModel directory",
                              path, path);
            free(path);
            goto fail;
        }
        size_t blen;
        ckpt__v1_file_count(path, &blen);
        c->prefix = strndup(path, blen);
        rc = c->prefix ? find_meta(c, path, blen, err)
                       : ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
        if (rc == 0)
            rc = ckpt__load_v1(c, path, err);
        free(path);
        if (rc)
            goto fail;
    }
    rc = resolve_parts(c, ckpt_prefix(c), err);
    if (rc)
        goto fail;
    /* Keep only what we use: the build grew the arrays by doubling. */
    shrink((void **)&c->vars, &c->vars_cap, c->nvars, sizeof *c->vars);
    shrink((void **)&c->names, &c->names_cap, c->names_len, 1);
    shrink((void **)&c->dims, &c->dims_cap, c->ndims, sizeof *c->dims);
    shrink((void **)&c->slices, &c->slices_cap, c->nslices, sizeof *c->slices);
    shrink((void **)&c->parts, &c->parts_cap, c->nparts, sizeof *c->parts);
    *out = c;
    return 0;
fail:
    ckpt_close(c);
    return rc;
}

void ckpt_close(ckpt_checkpoint *c)
{
    if (!c)
        return;
    for (int s = 0; c->shards && s < c->num_shards; s++) {
        ckpt_table_close(c->shards[s].table);
        if (c->shards[s].fd >= 0)
            close(c->shards[s].fd);
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
    return s >= 0 && s < c->num_shards && c->shards[s].fd >= 0;
}

const char *ckpt_shard_path(const ckpt_checkpoint *c, int s)
{
    return s >= 0 && s < c->num_shards ? c->shards[s].path : NULL;
}

int ckpt_shard_fd(const ckpt_checkpoint *c, int s)
{
    return s >= 0 && s < c->num_shards ? c->shards[s].fd : -1;
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

int ckpt_find(const ckpt_checkpoint *c, const char *name, size_t len, size_t *idx)
{
    return find_rec(c, c->vars, c->nvars, name, len, idx);
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

/* pread n bytes of a stored range (variable or slice entry) at off within it. */
static int read_stored(ckpt_checkpoint *c, const var_rec *r, const char *name, uint8_t *buf,
                       size_t n, uint64_t off, ckpt_err *err)
{
    if (r->flags & REC_V1_SLICE)
        return ckpt__v1_read(c, r, (uint32_t)(r - c->slices), buf, n, off, err);
    const shard *sh = &c->shards[r->shard];
    int rc = ckpt_pread_full(sh->fd, buf, n, r->offset + off);
    atomic_fetch_add_explicit(&c->data_reads, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->data_bytes, n, memory_order_relaxed);
    if (rc)
        return ckpt_err_set(err, rc == -ENODATA ? CKPT_E_CORRUPT : CKPT_E_IO,
                            "%s: reading variable \"%s\": %s", sh->path, name,
                            rc == -ENODATA ? "data file is shorter than the index says"
                                           : strerror(-rc));
    return 0;
}

/* Where run q of a slice starts in the full tensor (flat element index); see read_partitioned. */
static uint64_t run_start(uint64_t q, int k, const int64_t *st, const int64_t *ln,
                          const uint64_t *stride)
{
    uint64_t fs = k < 0 ? 0 : (uint64_t)st[k] * stride[k];
    for (int d = k - 1; d >= 0; d--) {
        fs += ((uint64_t)st[d] + q % (uint64_t)ln[d]) * stride[d];
        q /= (uint64_t)ln[d];
    }
    return fs;
}

/* A gathered read is worth one large pread when it wastes at most this factor in bytes. */
#define GATHER_WASTE 4
#define GATHER_MAX (16u << 20)

/*
 * Copy bytes [off, off+n) of a partitioned tensor from its slices. Within a slice, the dims
 * after the last partially covered one (k) are whole, so each combination of indices before k
 * is one contiguous run, both in the full tensor (C order) and in the slice's own storage. Runs
 * start at increasing offsets, so the first one the range touches is found by bisection and
 * only runs that meet the range are read. Slices split on a late axis make many short runs;
 * those are read with one pread of the slice bytes that span them, then scattered.
 */
static int read_partitioned(ckpt_checkpoint *c, const var_rec *r, uint8_t *buf, size_t n,
                            uint64_t off, ckpt_err *err)
{
    const char *name = c->names + r->name_off;
    const int64_t *dims = c->dims + r->dims_off;
    int rank = r->rank;
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
    for (int d = rank - 1; d >= 0; d--) {
        stride[d] = numel;
        numel *= (uint64_t)dims[d];
    }
    int64_t st[MAX_RANK], ln[MAX_RANK];
    uint64_t end = off + n;
    uint8_t *bounce = NULL;
    size_t bounce_cap = 0;
    int rc = 0;
    for (uint32_t j = 0; j < r->nparts && !rc; j++) {
        const part_rec *p = &c->parts[r->offset + j];
        const var_rec *s = &c->slices[p->slice];
        part_box(c, r, p, st, ln);
        int k = rank - 1;
        while (k >= 0 && st[k] == 0 && ln[k] == dims[k])
            k--;
        uint64_t runlen = k < 0 ? numel : (uint64_t)ln[k] * stride[k]; /* elements */
        uint64_t nruns = 1;
        int empty = runlen == 0;
        for (int d = 0; d < k; d++) {
            nruns *= (uint64_t)ln[d];
            empty |= ln[d] == 0;
        }
        if (empty)
            continue;
        uint64_t lo = 0, hi = nruns;
        while (lo < hi) { /* first run ending after off */
            uint64_t mid = lo + (hi - lo) / 2;
            if ((run_start(mid, k, st, ln, stride) + runlen) * es <= off)
                lo = mid + 1;
            else
                hi = mid;
        }
        uint64_t last = lo; /* one past the last run that starts before end */
        while (last < nruns && run_start(last, k, st, ln, stride) * es < end)
            last++;
        if (last == lo)
            continue;
        /* The runs lo..last-1 are back to back in the slice's storage. */
        uint64_t span = (last - lo) * runlen * es;
        uint8_t *src = NULL;
        if (last - lo > 1 && span <= GATHER_MAX && span <= GATHER_WASTE * (uint64_t)n + 4096) {
            if (span > bounce_cap) { /* sized to the span: a FUSE read gathers ~4x its size */
                uint8_t *nb = realloc(bounce, (size_t)span);
                if (!nb) {
                    rc = ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
                    break;
                }
                bounce = nb;
                bounce_cap = (size_t)span;
            }
            rc = read_stored(c, s, name, bounce, (size_t)span, lo * runlen * es, err);
            src = bounce;
        }
        for (uint64_t q = lo; q < last && !rc; q++) {
            uint64_t fs = run_start(q, k, st, ln, stride);
            uint64_t a = fs * es, b = (fs + runlen) * es;
            uint64_t from = a > off ? a : off, to = b < end ? b : end;
            if (from >= to)
                continue;
            uint64_t local = q * runlen * es + (from - a);
            if (src)
                memcpy(buf + (from - off), src + (local - lo * runlen * es), (size_t)(to - from));
            else
                rc = read_stored(c, s, name, buf + (from - off), (size_t)(to - from), local, err);
        }
    }
    free(bounce);
    return rc;
}

/* Check the stored CRC of every slice of a partitioned variable, reading each once. */
static int verify_slices(ckpt_checkpoint *c, const var_rec *r, ckpt_err *err)
{
    const char *name = c->names + r->name_off;
    size_t cap = 1u << 20;
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
            size_t n = s->nbytes - o < cap ? (size_t)(s->nbytes - o) : cap;
            rc = read_stored(c, s, name, tmp, n, o, err);
            crc = ckpt_crc32c_extend(crc, tmp, n);
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
            rc = verify_slices(c, r, err);
        if (st)
            st->pos = UINT64_MAX;
        if (rc == 0 && n)
            rc = read_partitioned(c, r, buf, n, off, err);
        if (rc == 0)
            *got = n;
        return rc;
    }
    if (n) {
        int rc = read_stored(c, r, name, buf, n, off, err);
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

/* Read all bytes of a variable, verifying the plain checksum of fixed-size types. */
static int read_whole(ckpt_checkpoint *c, size_t i, uint8_t **out, size_t *len, ckpt_err *err)
{
    *out = NULL;
    *len = 0;
    if (i >= c->nvars)
        return ckpt_err_set(err, CKPT_E_INVALID, "no variable number %zu", i);
    uint64_t n = c->vars[i].nbytes;
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
    int rc, has_crc = (r->flags & CKPT_VAR_HAS_CRC) != 0;
    if (r->flags & CKPT_VAR_PARTITIONED) {
        const var_rec *s = r->nparts == 1 ? &c->slices[c->parts[r->offset].slice] : NULL;
        if (!s || !(s->flags & REC_V1_SLICE))
            return ckpt_err_set(err, CKPT_E_UNSUPPORTED,
                                "%s: variable \"%s\": string tensors saved in several slices are "
                                "not supported",
                                c->prefix, name);
        rc = ckpt__v1_read_strings(c, s, count, buf, &len, err);
    } else {
        rc = read_whole(c, i, buf, &len, err);
    }
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
