/*
 * build.c - the parts of building a checkpoint (build.h) that run once per load, not once per
 * record: its data files, its index's stat, and the V2 split of slice entries from variables.
 */
#include "build.h"

#include <stdlib.h>

int ckpt__build_nomem(ckpt_err *err, const char *path)
{
    return ckpt_err_set(err, CKPT_E_NOMEM, "%s: " CKPT__BUILD_NOMEM, path);
}

int ckpt__build_shards(ckpt_checkpoint *c, int n, ckpt_err *err)
{
    c->shards = calloc(n ? (size_t)n : 1, sizeof *c->shards);
    if (!c->shards)
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    c->num_shards = n;
    return 0;
}

void ckpt__build_shard(ckpt_checkpoint *c, int s, char *path, ckpt_file *file,
                       struct ckpt_table *table)
{
    shard *sh = &c->shards[s];
    sh->path = path;
    sh->file = file;
    sh->size = file ? file->size : 0;
    sh->table = table;
}

void ckpt__build_index_stat(ckpt_checkpoint *c, const struct stat *st)
{
    c->index_st = *st;
}

void ckpt__build_link_part(ckpt_checkpoint *c, size_t j, uint32_t k)
{
    c->parts[j].slice = k;
}

int ckpt__build_split_slices(ckpt_checkpoint *c, const uint8_t *is_slice, ckpt_err *err)
{
    size_t n = c->nvars, ns = 0;
    for (size_t i = 0; i < n; i++)
        ns += is_slice[i];
    uint32_t *newpos = n <= UINT32_MAX ? malloc((n ? n : 1) * sizeof *newpos) : NULL;
    if (!newpos || ckpt_grow((void **)&c->slices, &c->slices_cap, ns, sizeof *c->slices)) {
        free(newpos);
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    }
    size_t nv = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_slice[i]) {
            newpos[i] = (uint32_t)c->nslices;
            c->slices[c->nslices++] = c->vars[i];
        } else {
            c->vars[nv++] = c->vars[i];
        }
    }
    c->nvars = nv;
    for (size_t q = 0; q < c->nparts; q++)
        c->parts[q].slice = newpos[c->parts[q].slice];
    free(newpos);
    return 0;
}

int ckpt__build_check_ranges(ckpt_checkpoint *c, ckpt_err *err)
{
    for (int pass = 0; pass < 2; pass++) {
        var_rec *arr = pass ? c->slices : c->vars;
        size_t n = pass ? c->nslices : c->nvars;
        for (size_t i = 0; i < n; i++) {
            var_rec *r = &arr[i];
            if (r->flags & CKPT_VAR_PARTITIONED)
                continue;
            shard *sh = &c->shards[r->shard];
            if (!sh->file) {
                r->flags |= CKPT_VAR_SHARD_MISSING;
                continue;
            }
            if (r->offset > sh->size || r->nbytes > sh->size - r->offset)
                return ckpt_err_set(err, CKPT_E_CORRUPT,
                                    "%s: %s%s%s (offset %llu, %llu bytes) lies outside its "
                                    "data shard (%llu bytes)",
                                    sh->path, pass ? "a slice entry" : "variable \"",
                                    pass ? "" : c->names + r->name_off, pass ? "" : "\"",
                                    (unsigned long long)r->offset, (unsigned long long)r->nbytes,
                                    (unsigned long long)sh->size);
        }
    }
    return 0;
}
