/* bundleplan.c - a V2 bundle laid out over an open checkpoint (bundleplan.h). */
#include "bundleplan.h"

#include "crc32c.h"
#include "dtype.h"
#include "objgraph_prune.h"
#include "tstring.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_CHUNK (1u << 20)

/* CRC-32C of numeric variable i, read in pieces (its stored slices' checksums are checked by
 * the same reads). */
static int numeric_crc(ckpt_checkpoint *c, size_t i, const ckpt_var *v, uint8_t *buf, uint32_t *crc,
                       ckpt_err *err)
{
    ckpt_crc_state st = {0, 0};
    *crc = 0;
    for (uint64_t off = 0; off < v->nbytes;) {
        size_t got;
        int rc = ckpt_read(c, i, buf, PLAN_CHUNK, off, &got, &st, err);
        if (rc)
            return rc;
        if (got == 0)
            return ckpt_err_set(err, CKPT_E_CORRUPT, "variable \"%s\": short read at %" PRIu64,
                                v->name, off);
        *crc = ckpt_crc32c_extend(*crc, buf, got);
        off += got;
    }
    return 0;
}

/* String variable i encoded as the export writes it (pruned object graph included). */
static int strings(ckpt_checkpoint *c, size_t i, const ckpt_var *v, int filtered, ckpt_v2_plan *p,
                   uint8_t **out, uint64_t *size, uint32_t *crc, ckpt_err *err)
{
    uint8_t *raw = NULL, *enc = NULL, *pruned = NULL;
    ckpt_str *el = NULL, *check = NULL;
    uint64_t n;
    size_t len = 0;
    int rc = ckpt_read_strings(c, i, &raw, &el, &n, err);
    if (rc)
        return rc;
    if (filtered && n == 1 && v->name_len == strlen(CKPT_OBJECT_GRAPH_KEY) &&
        !memcmp(v->name, CKPT_OBJECT_GRAPH_KEY, v->name_len)) {
        size_t plen, dropped;
        rc = ckpt_objgraph_prune(c, el[0].ptr, (size_t)el[0].len, &pruned, &plen, &dropped, err);
        if (rc == 0 && dropped) {
            el[0].ptr = pruned;
            el[0].len = plen;
            p->pruned = 1;
        }
    }
    if (rc == 0)
        rc = ckpt_tstring_encode(el, n, &enc, &len, err);
    /* decoding it again gives the CRC TF computes over a string tensor's encoding */
    if (rc == 0)
        rc = ckpt_tstring_decode(enc, len, n, &check, crc, err);
    if (rc == 0) {
        *out = enc;
        *size = len;
        enc = NULL;
    }
    free(raw);
    free(el);
    free(check);
    free(enc);
    free(pruned);
    return rc;
}

int ckpt_v2_plan_build(ckpt_checkpoint *c, int filtered, ckpt_v2_plan *p, ckpt_err *err)
{
    memset(p, 0, sizeof *p);
    size_t count = ckpt_count(c), m = count ? count : 1;
    p->e = malloc(m * sizeof *p->e);
    p->var = malloc(m * sizeof *p->var);
    p->held = calloc(m, sizeof *p->held);
    uint8_t *buf = malloc(PLAN_CHUNK);
    int rc = 0;
    if (!p->e || !p->var || !p->held || !buf)
        rc = ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory laying out tf/", ckpt_prefix(c));
    for (size_t i = 0; i < count && !rc; i++) {
        ckpt_var v;
        ckpt_get(c, i, &v);
        ckpt_wentry *e = &p->e[p->n];
        *e = (ckpt_wentry){v.name, v.name_len, v.dtype, v.rank, v.dims, p->data_size, v.nbytes, 0};
        if (ckpt_dtype_size(v.dtype)) {
            /* the stored checksum when the checkpoint has one of the whole tensor: nothing read */
            if ((v.flags & CKPT_VAR_HAS_CRC) && !(v.flags & CKPT_VAR_PARTITIONED))
                e->crc = v.crc32c;
            else
                rc = numeric_crc(c, i, &v, buf, &e->crc, err);
        } else if (v.dtype == CKPT_DT_STRING) {
            rc = strings(c, i, &v, filtered, p, &p->held[p->n], &e->size, &e->crc, err);
        } else if (v.dtype == CKPT_DT_VARIANT && (v.flags & CKPT_VAR_HAS_CRC) &&
                   !(v.flags & CKPT_VAR_PARTITIONED)) {
            size_t len;
            rc = ckpt_read_all(c, i, &p->held[p->n], &len, err);
            e->size = len;
            e->crc = v.crc32c;
        } else {
            p->left_out++;
            continue;
        }
        if (rc)
            break;
        p->var[p->n++] = (uint32_t)i;
        p->data_size += e->size;
    }
    free(buf);
    if (rc == 0)
        rc = ckpt_bundle_index(p->e, p->n, &p->index, &p->index_len, err);
    if (rc)
        ckpt_v2_plan_free(p);
    return rc;
}

int ckpt_v2_plan_read(ckpt_checkpoint *c, const ckpt_v2_plan *p, void *buf, size_t len,
                      uint64_t off, size_t *got, ckpt_err *err)
{
    *got = 0;
    if (off >= p->data_size || p->n == 0)
        return 0;
    /* the last tensor starting at or before off (empty tensors share offsets: any of them) */
    size_t lo = 0, hi = p->n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->e[mid].offset <= off)
            lo = mid;
        else
            hi = mid;
    }
    uint8_t *out = buf;
    for (size_t k = lo; k < p->n && *got < len; k++) {
        const ckpt_wentry *e = &p->e[k];
        if (off >= e->offset + e->size)
            continue;
        uint64_t in = off - e->offset;
        size_t want = len - *got;
        if (e->size - in < want)
            want = (size_t)(e->size - in);
        if (p->held[k]) {
            memcpy(out + *got, p->held[k] + in, want);
        } else {
            size_t n = 0;
            while (n < want) {
                size_t r;
                int rc = ckpt_read(c, p->var[k], out + *got + n, want - n, in + n, &r, NULL, err);
                if (rc)
                    return rc;
                if (r == 0)
                    return ckpt_err_set(err, CKPT_E_CORRUPT, "variable \"%s\": short read", e->key);
                n += r;
            }
        }
        *got += want;
        off += want;
    }
    return 0;
}

void ckpt_v2_plan_free(ckpt_v2_plan *p)
{
    if (p->held)
        for (size_t k = 0; k < p->n; k++)
            free(p->held[k]);
    free(p->held);
    free(p->e);
    free(p->var);
    free(p->index);
    memset(p, 0, sizeof *p);
}
