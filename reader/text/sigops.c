/* sigops.c - the ops a MetaGraphDef's graph uses (see sigops.h). */
#include "sigops.h"

#include "pbmsg.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Field numbers used on the wire, by message (TF's graph.proto, function.proto, op_def.proto,
 * node_def.proto, attr_value.proto). */
enum { GD_NODE = 1, GD_LIBRARY = 2 };                  /* GraphDef */
enum { LIB_FUNCTION = 1 };                             /* FunctionDefLibrary */
enum { FD_SIGNATURE = 1, FD_NODE_DEF = 3 };            /* FunctionDef */
enum { OP_NAME = 1 };                                  /* OpDef */
enum { ND_OP = 2, ND_ATTR = 5 };                       /* NodeDef */
enum { ENTRY_KEY = 1, ENTRY_VALUE = 2, AV_FUNC = 10 }; /* its attr map; AttrValue */
enum { NAL_NAME = 1 };                                 /* NameAttrList */

typedef ckpt_sigstr str;

int ckpt_sigstr_cmp(str a, str b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int r = n ? memcmp(a.p, b.p, n) : 0;
    return r ? r : (a.n < b.n ? -1 : a.n > b.n);
}

/* --- a small set of strings (open addressing) ------------------------------------------ */

typedef struct strset {
    str *slot;
    void **val;
    size_t cap, n;
} strset;

static uint64_t hash(str s)
{
    return ckpt_hash64(s.p, s.n);
}

/* Index of s, or of the empty slot where it would go. */
static size_t set_pos(const strset *S, str s)
{
    size_t i = hash(s) & (S->cap - 1);
    while (S->slot[i].p && ckpt_sigstr_cmp(S->slot[i], s) != 0)
        i = (i + 1) & (S->cap - 1);
    return i;
}

static int set_grow(strset *S)
{
    size_t cap = S->cap ? S->cap * 2 : 64;
    strset N = {calloc(cap, sizeof(str)), calloc(cap, sizeof(void *)), cap, 0};
    if (!N.slot || !N.val) {
        free(N.slot);
        free(N.val);
        return -1;
    }
    for (size_t i = 0; i < S->cap; i++)
        if (S->slot[i].p) {
            size_t j = set_pos(&N, S->slot[i]);
            N.slot[j] = S->slot[i];
            N.val[j] = S->val[i];
            N.n++;
        }
    free(S->slot);
    free(S->val);
    *S = N;
    return 0;
}

/* The value stored for s (NULL if absent); *found tells absent from a NULL value. */
static void *set_get(const strset *S, str s, int *found)
{
    *found = 0;
    if (!S->cap)
        return NULL;
    size_t i = set_pos(S, s);
    if (!S->slot[i].p)
        return NULL;
    *found = 1;
    return S->val[i];
}

/* Insert or overwrite; the empty string is stored with a non-NULL pointer. */
static int set_put(strset *S, str s, void *val)
{
    static const uint8_t empty[1];
    if (!s.p)
        s.p = empty;
    if ((S->n + 1) * 2 > S->cap && set_grow(S))
        return -1;
    size_t i = set_pos(S, s);
    if (!S->slot[i].p)
        S->n++;
    S->slot[i] = s;
    S->val[i] = val;
    return 0;
}

static void set_free(strset *S)
{
    free(S->slot);
    free(S->val);
    memset(S, 0, sizeof *S);
}

/* --- the ops of a MetaGraphDef (meta_graph.ops_used_by_graph_def) ---------------------- */

typedef struct func {
    const uint8_t *p; /* the FunctionDef's bytes */
    size_t n;
} func;

typedef struct opwalk {
    strset funcs; /* function name -> func* */
    strset used;  /* every op or function name seen */
    func **stack; /* functions still to walk */
    size_t nstack, capstack;
    ckpt_err *err;
} opwalk;

static int mark_used(opwalk *W, str op)
{
    int found;
    set_get(&W->used, op, &found);
    if (!found) {
        int isfn;
        func *f = set_get(&W->funcs, op, &isfn);
        if (isfn) {
            if (ckpt_grow((void **)&W->stack, &W->capstack, W->nstack + 1, sizeof *W->stack))
                return ckpt_sig_nomem(W->err);
            W->stack[W->nstack++] = f;
        }
    }
    if (set_put(&W->used, op, NULL))
        return ckpt_sig_nomem(W->err);
    return 0;
}

/* The string of field `field` in a message (last occurrence), or empty. */
static int field_str(const uint8_t *p, size_t n, uint32_t field, str *out, ckpt_err *err)
{
    ckpt_pb_msg m;
    ckpt_pb_field f;
    int r;
    *out = (str){NULL, 0};
    ckpt_pb_msg_init(&m, p, n, err);
    while ((r = ckpt_pb_msg_next_len(&m, field, &f)) > 0)
        *out = (str){f.p, f.n};
    return r;
}

/* The string field `inner` of the singular message field `outer` of (p, n): occurrences of a
 * message merge, so the last one that sets it wins. */
static int nested_str(const uint8_t *p, size_t n, uint32_t outer, uint32_t inner, str *out,
                      ckpt_err *err)
{
    ckpt_pb_msg m;
    ckpt_pb_field f;
    int r;
    *out = (str){NULL, 0};
    ckpt_pb_msg_init(&m, p, n, err);
    while ((r = ckpt_pb_msg_next_len(&m, outer, &f)) > 0) {
        str name;
        int q = field_str(f.p, f.n, inner, &name, err);
        if (q < 0)
            return q;
        if (name.p)
            *out = name;
    }
    return r;
}

static int str_is(str s, const char *c)
{
    size_t n = strlen(c);
    return s.n == n && (n == 0 || !memcmp(s.p, c, n));
}

static int process_node(opwalk *W, const uint8_t *p, size_t n)
{
    ckpt_pb_msg m;
    ckpt_pb_field f;
    int r;
    str op = {NULL, 0}, fname = {NULL, 0};
    ckpt_pb_msg_init(&m, p, n, W->err);
    while ((r = ckpt_pb_msg_next(&m, &f)) > 0) {
        if (f.field == ND_OP && f.wt == 2) {
            op = (str){f.p, f.n};
        } else if (f.field == ND_ATTR && f.wt == 2) {
            str key;
            int q = field_str(f.p, f.n, ENTRY_KEY, &key, W->err);
            if (q < 0)
                return q;
            if (str_is(key, "f")) {
                /* A later entry with the same key replaces the earlier one (map semantics). */
                str val;
                if ((q = field_str(f.p, f.n, ENTRY_VALUE, &val, W->err)) < 0)
                    return q;
                fname = (str){NULL, 0};
                if (val.p && (q = nested_str(val.p, val.n, AV_FUNC, NAL_NAME, &fname, W->err)) < 0)
                    return q;
            }
        }
    }
    if (r < 0)
        return r;
    if ((r = mark_used(W, op)))
        return r;
    if (str_is(op, "PartitionedCall") || str_is(op, "StatefulPartitionedCall"))
        return mark_used(W, fname); /* Python's node.attr["f"] is "" when absent */
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return ckpt_sigstr_cmp(*(const str *)a, *(const str *)b);
}

/* name_to_function of the graph's library (every library occurrence, as they merge). */
static int collect_functions(opwalk *W, const ckpt_pb_seg *graph, size_t ngraph)
{
    ckpt_pb_iter it;
    ckpt_pb_field f;
    int r;
    ckpt_pb_iter_init(&it, graph, ngraph, W->err);
    while ((r = ckpt_pb_iter_next(&it, &f)) > 0) {
        if (f.field != GD_LIBRARY || f.wt != 2)
            continue;
        ckpt_pb_msg lib;
        ckpt_pb_field lf;
        ckpt_pb_msg_init(&lib, f.p, f.n, W->err);
        while ((r = ckpt_pb_msg_next_len(&lib, LIB_FUNCTION, &lf)) > 0) {
            str name;
            if ((r = nested_str(lf.p, lf.n, FD_SIGNATURE, OP_NAME, &name, W->err)) < 0)
                return r;
            /* A name defined twice: the last definition wins, as in a protobuf map. */
            int found;
            func *fn = set_get(&W->funcs, name, &found);
            if (!found) {
                fn = malloc(sizeof *fn);
                if (!fn || set_put(&W->funcs, name, fn)) {
                    free(fn);
                    return ckpt_sig_nomem(W->err);
                }
            }
            *fn = (func){lf.p, lf.n};
        }
        if (r < 0)
            return r;
    }
    return r;
}

/* Mark what the graph's nodes use, then what the functions they reach use. */
static int walk_nodes(opwalk *W, const ckpt_pb_seg *graph, size_t ngraph)
{
    ckpt_pb_iter it;
    ckpt_pb_field f;
    int r;
    ckpt_pb_iter_init(&it, graph, ngraph, W->err);
    while ((r = ckpt_pb_iter_next(&it, &f)) > 0)
        if (f.field == GD_NODE && f.wt == 2 && (r = process_node(W, f.p, f.n)) < 0)
            return r;
    while (r >= 0 && W->nstack) {
        func *fn = W->stack[--W->nstack];
        ckpt_pb_msg fd;
        ckpt_pb_field ff;
        ckpt_pb_msg_init(&fd, fn->p, fn->n, W->err);
        while ((r = ckpt_pb_msg_next_len(&fd, FD_NODE_DEF, &ff)) > 0)
            if ((r = process_node(W, ff.p, ff.n)) < 0)
                return r;
    }
    return r;
}

/* The used names that are ops (not functions of the library), sorted. */
static int sorted_ops(const opwalk *W, str **ops, size_t *nops)
{
    *ops = malloc((W->used.n ? W->used.n : 1) * sizeof(str));
    if (!*ops)
        return ckpt_sig_nomem(W->err);
    for (size_t i = 0; i < W->used.cap; i++) {
        int isfn;
        if (W->used.slot[i].p && (set_get(&W->funcs, W->used.slot[i], &isfn), !isfn))
            (*ops)[(*nops)++] = W->used.slot[i];
    }
    qsort(*ops, *nops, sizeof(str), cmp_str);
    return 0;
}

int ckpt_sig_graph_ops(const ckpt_pb_seg *graph, size_t ngraph, str **ops, size_t *nops,
                       ckpt_err *err)
{
    opwalk W = {.err = err};
    *ops = NULL;
    *nops = 0;
    /* name_to_function first: the library may come after the nodes on the wire. */
    int r = collect_functions(&W, graph, ngraph);
    if (r >= 0)
        r = walk_nodes(&W, graph, ngraph);
    if (r >= 0)
        r = sorted_ops(&W, ops, nops);
    for (size_t i = 0; i < W.funcs.cap; i++)
        if (W.funcs.slot[i].p)
            free(W.funcs.val[i]);
    set_free(&W.funcs);
    set_free(&W.used);
    free(W.stack);
    return r < 0 ? r : 0;
}
