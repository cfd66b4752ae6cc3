/*
 * v1read.c - reading the slices of a V1 checkpoint (loaded by v1.c): each slice's values are a
 * TensorProto in the table record under its slice key, decoded on demand; a few decoded slices
 * are kept, since FUSE reads come in small pieces (struct ckpt_checkpoint's v1_cache).
 */
#include "ckpt_internal.h"

#include "pbwire.h"
#include "saved_tensor_slice.pb-c.h"
#include "shape.h"
#include "table.h"
#include "tensorproto.h"

#include <stdlib.h>
#include <string.h>

/* Fetch and parse the record of slice s: the SavedTensorSlices (free it) holding its values. */
static int slice_record(ckpt_checkpoint *c, const var_rec *s, Tensorflow__SavedTensorSlices **out,
                        ckpt_err *err)
{
    const shard *sh = &c->shards[s->shard];
    uint8_t *val;
    size_t vlen;
    int rc = ckpt_table_get(sh->table, (const uint8_t *)c->names + s->name_off, s->name_len, &val,
                            &vlen, err);
    atomic_fetch_add_explicit(&c->data_reads, 1, memory_order_relaxed);
    if (rc == CKPT_E_NOTFOUND)
        return ckpt_err_set(err, CKPT_E_CORRUPT, "%s: a slice record listed in the meta is missing",
                            sh->path);
    if (rc)
        return rc;
    atomic_fetch_add_explicit(&c->data_bytes, vlen, memory_order_relaxed);
    Tensorflow__SavedTensorSlices *m = NULL;
    if (ckpt_pb_validate(&tensorflow__saved_tensor_slices__descriptor, val, vlen, CKPT_PB_MAX_DEPTH,
                         NULL) == 0)
        m = tensorflow__saved_tensor_slices__unpack(NULL, vlen, val);
    free(val);
    if (!m || !m->data || !m->data->data) {
        if (m)
            tensorflow__saved_tensor_slices__free_unpacked(m, NULL);
        return ckpt_err_set(err, CKPT_E_CORRUPT, "%s: a slice record is not parseable", sh->path);
    }
    *out = m;
    return 0;
}

/* Decode slice record s into a new buffer of exactly s->nbytes bytes. */
static int decode_slice(ckpt_checkpoint *c, const var_rec *s, uint8_t **out, ckpt_err *err)
{
    Tensorflow__SavedTensorSlices *m;
    int rc = slice_record(c, s, &m, err);
    if (rc)
        return rc;
    uint64_t numel;
    ckpt_shape_numel(s->rank, c->dims + s->dims_off, &numel);
    size_t len;
    rc = ckpt_tensorproto_bytes(m->data->data, s->dtype, numel, 1, out, &len, err);
    tensorflow__saved_tensor_slices__free_unpacked(m, NULL);
    if (rc)
        ckpt_err_prefix(err, "%s", c->shards[s->shard].path);
    return rc;
}

int ckpt__v1_read_strings(ckpt_checkpoint *c, const var_rec *s, uint64_t n, uint8_t **out,
                          size_t *len, ckpt_err *err)
{
    Tensorflow__SavedTensorSlices *m;
    int rc = slice_record(c, s, &m, err);
    if (rc)
        return rc;
    const Tensorflow__TensorProto *t = m->data->data;
    size_t have = t->n_string_val;
    if (have != n) {
        tensorflow__saved_tensor_slices__free_unpacked(m, NULL);
        return ckpt_err_set(err, CKPT_E_CORRUPT, "%s: %zu strings for a tensor of %llu elements",
                            c->shards[s->shard].path, have, (unsigned long long)n);
    }
    /* Re-encode as a V2 string tensor so one decoder and one renderer serve both formats. */
    ckpt_str *el = malloc((n ? (size_t)n : 1) * sizeof *el);
    if (!el) {
        tensorflow__saved_tensor_slices__free_unpacked(m, NULL);
        return ckpt_err_set(err, CKPT_E_NOMEM, "out of memory");
    }
    for (uint64_t i = 0; i < n; i++)
        el[i] = (ckpt_str){t->string_val[i].data, t->string_val[i].len};
    rc = ckpt_tstring_encode(el, n, out, len, err);
    free(el);
    tensorflow__saved_tensor_slices__free_unpacked(m, NULL);
    return rc;
}

int ckpt__v1_read(ckpt_checkpoint *c, const var_rec *s, uint32_t si, uint8_t *buf, size_t n,
                  uint64_t off, ckpt_err *err)
{
    if (off > s->nbytes || n > s->nbytes - off)
        return ckpt_err_set(err, CKPT_E_INVALID, "read past the end of a slice");
    pthread_mutex_lock(&c->v1_lock);
    for (int k = 0; k < V1_CACHE_SLOTS; k++) {
        struct v1_cached *e = &c->v1_cache[k];
        if (e->slice == si) {
            e->used = ++c->v1_clock;
            memcpy(buf, e->bytes + off, n);
            pthread_mutex_unlock(&c->v1_lock);
            return 0;
        }
    }
    pthread_mutex_unlock(&c->v1_lock);
    uint8_t *bytes;
    int rc = decode_slice(c, s, &bytes, err);
    if (rc)
        return rc;
    memcpy(buf, bytes + off, n);
    pthread_mutex_lock(&c->v1_lock);
    /* Small slices share the cache; a big one takes it over alone (and leaves it to the next
     * small one), so it never holds more than V1_CACHE_SLOTS small slices or one big one. */
    int big = s->nbytes > V1_CACHE_SMALL;
    struct v1_cached *victim = &c->v1_cache[0];
    for (int k = 0; k < V1_CACHE_SLOTS; k++) {
        struct v1_cached *e = &c->v1_cache[k];
        if (e->slice == si) { /* another thread decoded it meanwhile */
            victim = NULL;
            break;
        }
        if (e->slice != UINT32_MAX && (big || e->len > V1_CACHE_SMALL)) {
            free(e->bytes);
            e->bytes = NULL;
            e->slice = UINT32_MAX;
            e->used = 0;
        }
        if (e->used < victim->used)
            victim = e;
    }
    if (victim) {
        free(victim->bytes);
        victim->bytes = bytes;
        victim->len = (size_t)s->nbytes;
        victim->slice = si;
        victim->used = ++c->v1_clock;
        bytes = NULL;
    }
    pthread_mutex_unlock(&c->v1_lock);
    free(bytes);
    return 0;
}
