/*
 * objnames.c - visible paths, full names and slot links of a TF 2 checkpoint (objnames.h).
 *
 * The object graph is a TrackableObjectGraph (core/protobuf/trackable_object_graph.proto):
 * nodes (field 1), each with attributes (2: SerializedTensor {name 1, full_name 2,
 * checkpoint_key 3}) and slot_variables (3: {original_variable_node_id 1, slot_name 2,
 * slot_variable_node_id 3}). It is walked on the wire (pbwire.h), every length checked, so a
 * hostile graph costs at most its own size in time and memory.
 */
#include "objnames.h"

#include "ckpt_internal.h"
#include "dtype.h"
#include "pbwire.h"
#include "shape.h"
#include "tstring.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Record flag: the visible path drops CKPT_VALUE_SUFFIX (ckpt_internal.h's flags use bit 7). */
enum { REC_PATH_TRIM = 1u << 6 };

static int has_suffix(const char *s, size_t len)
{
    return len > CKPT_VALUE_SUFFIX_LEN &&
           memcmp(s + len - CKPT_VALUE_SUFFIX_LEN, CKPT_VALUE_SUFFIX, CKPT_VALUE_SUFFIX_LEN) == 0;
}

int ckpt_has_object_graph(const ckpt_checkpoint *c)
{
    size_t idx;
    return ckpt_find(c, CKPT_OBJECT_GRAPH_KEY, strlen(CKPT_OBJECT_GRAPH_KEY), &idx) == 0;
}

void ckpt__mark_paths(ckpt_checkpoint *c)
{
    if (!ckpt_has_object_graph(c))
        return;
    for (size_t i = 0; i < c->nvars; i++) {
        var_rec *r = &c->vars[i];
        const char *name = c->names + r->name_off;
        if (!has_suffix(name, r->name_len))
            continue;
        size_t pl = r->name_len - CKPT_VALUE_SUFFIX_LEN;
        /* A key equal to the short path sorts before this one with only keys that start with
         * it in between, so the key just before starts with it whenever one exists: one
         * comparison settles almost every variable, a search the rest. */
        if (i > 0) {
            const var_rec *p = &c->vars[i - 1];
            size_t j;
            if (p->name_len >= pl && memcmp(c->names + p->name_off, name, pl) == 0 &&
                ckpt_find(c, name, pl, &j) == 0)
                continue;
        }
        r->flags |= REC_PATH_TRIM;
    }
}

const char *ckpt_path(const ckpt_checkpoint *c, size_t i, size_t *len)
{
    const var_rec *r = &c->vars[i];
    *len = r->name_len - ((r->flags & REC_PATH_TRIM) ? CKPT_VALUE_SUFFIX_LEN : 0);
    return c->names + r->name_off;
}

int ckpt_find_path(const ckpt_checkpoint *c, const char *path, size_t len, size_t *idx)
{
    size_t j;
    if (ckpt_find(c, path, len, &j) == 0 && !(c->vars[j].flags & REC_PATH_TRIM)) {
        *idx = j;
        return 0;
    }
    if (len > SIZE_MAX / 2)
        return CKPT_E_NOTFOUND;
    char *key = malloc(len + CKPT_VALUE_SUFFIX_LEN);
    if (!key)
        return CKPT_E_NOMEM;
    memcpy(key, path, len);
    memcpy(key + len, CKPT_VALUE_SUFFIX, CKPT_VALUE_SUFFIX_LEN);
    int rc = ckpt_find(c, key, len + CKPT_VALUE_SUFFIX_LEN, &j);
    free(key);
    if (rc == 0 && (c->vars[j].flags & REC_PATH_TRIM)) {
        *idx = j;
        return 0;
    }
    return CKPT_E_NOTFOUND;
}

/* --- the object graph ------------------------------------------------------------------------ */

typedef struct slot_rec {
    uint32_t var, orig;
    uint32_t name_off; /* in the arena */
} slot_rec;

typedef struct link_rec {
    const char *name; /* the link name, in the arena (set again whenever the arena moves) */
    uint32_t var;
    uint32_t name_off;
    uint32_t name_len;
} link_rec;

struct ckpt_names {
    size_t nvars;
    uint32_t *full; /* per variable: offset + 1 of its full_name in the arena, 0 for none */
    uint32_t *full_len;
    char *arena;
    size_t arena_len, arena_cap;
    slot_rec *slots; /* by var */
    size_t nslots, cap_slots;
    link_rec *links; /* by link name */
    size_t nlinks;
};

/* Copy s[0..len) and a NUL to the arena: its offset, or -1 (too large, out of memory). */
static int64_t arena_add(ckpt_names *n, const void *s, size_t len)
{
    if (len >= UINT32_MAX || n->arena_len > UINT32_MAX - 1 - len ||
        ckpt_grow((void **)&n->arena, &n->arena_cap, n->arena_len + len + 1, 1))
        return -1;
    int64_t off = (int64_t)n->arena_len;
    memcpy(n->arena + off, s, len);
    n->arena[off + (int64_t)len] = '\0';
    n->arena_len += len + 1;
    return off;
}

/* Per node of the graph: the variable its VARIABLE_VALUE attribute stores, or UINT32_MAX. */
typedef struct walk {
    ckpt_key_find_fn find;
    void *find_ctx;
    const char *what;
    ckpt_names *n;
    uint32_t *node_var;
    size_t nnodes, cap_nodes;
    ckpt_err *err;
} walk;

static int oom(walk *w)
{
    return ckpt_err_set(w->err, CKPT_E_NOMEM, "%s: out of memory reading the object graph",
                        w->what);
}

/* One SerializedTensor of node k. */
static int take_attribute(walk *w, size_t k, const uint8_t *p, size_t len)
{
    ckpt_pb_seg seg = {p, len};
    ckpt_pb_iter it;
    ckpt_pb_field f;
    const uint8_t *name = NULL, *full = NULL, *key = NULL;
    size_t nl = 0, fl = 0, kl = 0;
    int r;
    ckpt_pb_iter_init(&it, &seg, 1, w->err);
    while ((r = ckpt_pb_iter_next(&it, &f)) == 1) {
        if (f.wt != 2)
            continue;
        if (f.field == 1)
            name = f.p, nl = f.n;
        else if (f.field == 2)
            full = f.p, fl = f.n;
        else if (f.field == 3)
            key = f.p, kl = f.n;
    }
    if (r < 0)
        return r;
    size_t i;
    if (!key || w->find(w->find_ctx, (const char *)key, kl, &i) != 0 || i >= w->n->nvars)
        return 0;
    if (name && nl == 14 && memcmp(name, "VARIABLE_VALUE", 14) == 0)
        w->node_var[k] = (uint32_t)i;
    if (full && fl > 0 && !w->n->full[i]) {
        int64_t off = arena_add(w->n, full, fl);
        if (off < 0)
            return oom(w);
        w->n->full[i] = (uint32_t)off + 1;
        w->n->full_len[i] = (uint32_t)fl;
    }
    return 0;
}

/* Slot references are kept as node numbers until every node is known. */
typedef struct slot_ref {
    uint32_t orig_node, slot_node, name_off;
} slot_ref;

static int take_slot(walk *w, const uint8_t *p, size_t len, slot_ref **refs, size_t *nrefs,
                     size_t *cap)
{
    ckpt_pb_seg seg = {p, len};
    ckpt_pb_iter it;
    ckpt_pb_field f;
    uint64_t orig = UINT64_MAX, slot = UINT64_MAX;
    const uint8_t *name = (const uint8_t *)"";
    size_t nl = 0;
    int r;
    ckpt_pb_iter_init(&it, &seg, 1, w->err);
    while ((r = ckpt_pb_iter_next(&it, &f)) == 1) {
        if (f.field == 1 && f.wt == 0)
            orig = f.v;
        else if (f.field == 3 && f.wt == 0)
            slot = f.v;
        else if (f.field == 2 && f.wt == 2)
            name = f.p, nl = f.n;
    }
    if (r < 0)
        return r;
    if (orig >= UINT32_MAX || slot >= UINT32_MAX)
        return 0;
    int64_t off = arena_add(w->n, name, nl);
    if (off < 0 || ckpt_grow((void **)refs, cap, *nrefs + 1, sizeof **refs))
        return oom(w);
    (*refs)[(*nrefs)++] = (slot_ref){(uint32_t)orig, (uint32_t)slot, (uint32_t)off};
    return 0;
}

static int walk_graph(walk *w, const uint8_t *p, size_t len, slot_ref **refs, size_t *nrefs)
{
    ckpt_pb_seg seg = {p, len};
    ckpt_pb_iter it;
    ckpt_pb_field f;
    size_t cap_refs = 0;
    int r;
    ckpt_pb_iter_init(&it, &seg, 1, w->err);
    while ((r = ckpt_pb_iter_next(&it, &f)) == 1) {
        if (f.field != 1 || f.wt != 2)
            continue;
        size_t k = w->nnodes;
        if (k >= UINT32_MAX ||
            ckpt_grow((void **)&w->node_var, &w->cap_nodes, k + 1, sizeof *w->node_var))
            return oom(w);
        w->node_var[k] = UINT32_MAX;
        w->nnodes++;
        ckpt_pb_seg node = {f.p, f.n};
        ckpt_pb_iter in;
        ckpt_pb_field g;
        int q;
        ckpt_pb_iter_init(&in, &node, 1, w->err);
        while ((q = ckpt_pb_iter_next(&in, &g)) == 1) {
            if (g.wt != 2)
                continue;
            if (g.field == 2 && (q = take_attribute(w, k, g.p, g.n)) != 0)
                return q;
            if (g.field == 3 && (q = take_slot(w, g.p, g.n, refs, nrefs, &cap_refs)) != 0)
                return q;
        }
        if (q < 0)
            return q;
    }
    return r < 0 ? r : 0;
}

static int cmp_slot(const void *a, const void *b)
{
    const slot_rec *x = a, *y = b;
    return x->var < y->var ? -1 : x->var > y->var;
}

static int cmp_link(const void *a, const void *b)
{
    const link_rec *x = a, *y = b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int r = memcmp(x->name, y->name, n);
    if (r)
        return r;
    if (x->name_len != y->name_len)
        return x->name_len < y->name_len ? -1 : 1;
    return x->var < y->var ? -1 : x->var > y->var;
}

/* Sort by (full_name, var); shared names get "~N". Variables are numbered in key order, so
 * sorting by var within a name is the documented numbering. */
static int build_links(ckpt_names *n, ckpt_err *err, const char *prefix)
{
    size_t count = 0;
    for (size_t i = 0; i < n->nvars; i++)
        count += n->full[i] != 0;
    n->links = malloc((count ? count : 1) * sizeof *n->links);
    if (!n->links)
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", prefix);
    for (size_t i = 0; i < n->nvars; i++)
        if (n->full[i])
            n->links[n->nlinks++] =
                (link_rec){n->arena + n->full[i] - 1, (uint32_t)i, n->full[i] - 1, n->full_len[i]};
    qsort(n->links, n->nlinks, sizeof *n->links, cmp_link);
    /* Rank within each run of equal names first (the arena is not touched, so the pointers
     * hold), then the new names (the arena may move). */
    uint32_t *rank = calloc(n->nlinks ? n->nlinks : 1, sizeof *rank);
    if (!rank)
        return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", prefix);
    int renamed = 0;
    for (size_t a = 0; a < n->nlinks;) {
        size_t b = a + 1;
        while (b < n->nlinks && n->links[b].name_len == n->links[a].name_len &&
               memcmp(n->links[b].name, n->links[a].name, n->links[a].name_len) == 0)
            b++;
        for (size_t k = a; b - a > 1 && k < b; k++)
            rank[k] = (uint32_t)(k - a + 1);
        a = b;
    }
    for (size_t k = 0; k < n->nlinks; k++) {
        if (!rank[k])
            continue;
        char num[16];
        int sl = snprintf(num, sizeof num, "~%u", rank[k]);
        size_t fl = n->links[k].name_len;
        char *tmp = malloc(fl + (size_t)sl);
        int64_t off = -1;
        if (tmp) {
            memcpy(tmp, n->arena + n->links[k].name_off, fl);
            memcpy(tmp + fl, num, (size_t)sl);
            off = arena_add(n, tmp, fl + (size_t)sl);
            free(tmp);
        }
        if (off < 0) {
            free(rank);
            return ckpt_err_set(err, CKPT_E_NOMEM, "%s: out of memory", prefix);
        }
        n->links[k].name_off = (uint32_t)off;
        n->links[k].name_len = (uint32_t)(fl + (size_t)sl);
        renamed = 1;
    }
    free(rank);
    if (renamed) {
        for (size_t k = 0; k < n->nlinks; k++)
            n->links[k].name = n->arena + n->links[k].name_off;
        qsort(n->links, n->nlinks, sizeof *n->links, cmp_link);
    }
    return 0;
}

static int find_key(void *ctx, const char *key, size_t len, size_t *idx)
{
    return ckpt_find(ctx, key, len, idx);
}

int ckpt_names_load(ckpt_checkpoint *c, ckpt_names **out, ckpt_err *err)
{
    *out = NULL;
    size_t idx;
    if (ckpt_find(c, CKPT_OBJECT_GRAPH_KEY, strlen(CKPT_OBJECT_GRAPH_KEY), &idx))
        return 0;
    ckpt_var v;
    ckpt_get(c, idx, &v);
    uint64_t count = 0;
    if (v.dtype != CKPT_DT_STRING || ckpt_shape_numel(v.rank, v.dims, &count) || count != 1)
        return ckpt_err_set(err, CKPT_E_CORRUPT,
                            "%s: variable \"%s\" is not a single string (TF writes a scalar)",
                            ckpt_prefix(c), CKPT_OBJECT_GRAPH_KEY);
    uint8_t *buf = NULL;
    ckpt_str *elems = NULL;
    uint64_t nel = 0;
    int rc = ckpt_read_strings(c, idx, &buf, &elems, &nel, err);
    if (rc)
        return rc;
    rc = ckpt_names_parse(elems[0].ptr, (size_t)elems[0].len, ckpt_count(c), find_key, c,
                          ckpt_prefix(c), out, err);
    free(elems);
    free(buf);
    return rc;
}

int ckpt_names_parse(const uint8_t *graph, size_t len, size_t nvars, ckpt_key_find_fn find,
                     void *find_ctx, const char *what, ckpt_names **out, ckpt_err *err)
{
    *out = NULL;
    int rc;
    ckpt_names *n = calloc(1, sizeof *n);
    size_t nv = nvars;
    walk w = {.find = find, .find_ctx = find_ctx, .what = what, .n = n, .err = err};
    slot_ref *refs = NULL;
    size_t nrefs = 0;
    if (!n || !(n->full = calloc(nv ? nv : 1, sizeof *n->full)) ||
        !(n->full_len = calloc(nv ? nv : 1, sizeof *n->full_len))) {
        rc = oom(&w);
        goto done;
    }
    n->nvars = nv;
    rc = walk_graph(&w, graph, len, &refs, &nrefs);
    if (rc) {
        ckpt_err_prefix(err, "%s: object graph", what);
        goto done;
    }
    for (size_t k = 0; k < nrefs; k++) {
        const slot_ref *s = &refs[k];
        if (s->orig_node >= w.nnodes || s->slot_node >= w.nnodes ||
            w.node_var[s->orig_node] == UINT32_MAX || w.node_var[s->slot_node] == UINT32_MAX)
            continue;
        if (ckpt_grow((void **)&n->slots, &n->cap_slots, n->nslots + 1, sizeof *n->slots)) {
            rc = oom(&w);
            goto done;
        }
        n->slots[n->nslots++] =
            (slot_rec){w.node_var[s->slot_node], w.node_var[s->orig_node], s->name_off};
    }
    if (n->nslots > 1)
        qsort(n->slots, n->nslots, sizeof *n->slots, cmp_slot);
    rc = build_links(n, err, what);
done:
    free(refs);
    free(w.node_var);
    if (rc) {
        ckpt_names_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

void ckpt_names_free(ckpt_names *n)
{
    if (!n)
        return;
    free(n->full);
    free(n->full_len);
    free(n->arena);
    free(n->slots);
    free(n->links);
    free(n);
}

const char *ckpt_names_full(const ckpt_names *n, size_t i, size_t *len)
{
    if (!n || i >= n->nvars || !n->full[i])
        return NULL;
    *len = n->full_len[i];
    return n->arena + n->full[i] - 1;
}

int ckpt_names_slot(const ckpt_names *n, size_t i, size_t *orig, const char **slot_name)
{
    if (!n)
        return 0;
    size_t lo = 0, hi = n->nslots;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (n->slots[mid].var < i)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == n->nslots || n->slots[lo].var != i)
        return 0;
    *orig = n->slots[lo].orig;
    *slot_name = n->arena + n->slots[lo].name_off;
    return 1;
}

size_t ckpt_names_links(const ckpt_names *n)
{
    return n ? n->nlinks : 0;
}

const char *ckpt_names_link(const ckpt_names *n, size_t j, size_t *len, size_t *var)
{
    const link_rec *l = &n->links[j];
    *len = l->name_len;
    *var = l->var;
    return n->arena + l->name_off;
}

int ckpt_names_find(const ckpt_names *n, const char *s, size_t len, size_t *idx, size_t *count)
{
    *count = 0;
    if (!n)
        return CKPT_E_NOTFOUND;
    size_t found = 0;
    for (size_t i = 0; i < n->nvars; i++) {
        if (n->full[i] && n->full_len[i] == len && memcmp(n->arena + n->full[i] - 1, s, len) == 0) {
            if (found++ == 0)
                *idx = i;
        }
    }
    *count = found;
    if (found == 1)
        return 0;
    if (found > 1)
        return CKPT_E_INVALID;
    for (size_t j = 0; j < n->nlinks; j++)
        if (n->links[j].name_len == len && memcmp(n->arena + n->links[j].name_off, s, len) == 0) {
            *idx = n->links[j].var;
            *count = 1;
            return 0;
        }
    return CKPT_E_NOTFOUND;
}
