/*
 * tree_build.c - building the directory tree of a checkpoint (see tree.h; its layout in
 * tree_impl.h).
 *
 * Names arrive in bytewise order, so the entries of one directory are gathered while it is
 * open and, when it closes, sorted (they are nearly sorted already: a short insertion sort),
 * checked, and appended to the tree: no sort of all names, no pass per directory later.
 *
 * The escapes (escape.h) keep every display name distinct; only two hashed components with
 * equal hashes could still meet, and then the first wins (variables and directories before a
 * variable's .raw file and sidecars, those before generated files, then the lower index) and
 * the other is reported, never served under a wrong name.
 */
#include "tree_impl.h"

#include "dtype.h"
#include "escape.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Escaped names are few and short: one chunk usually holds them all. */
enum { ARENA_CHUNK = 64 * 1024 };

static const char *arena_put(ckfs_tree *t, const char *s, size_t len)
{
    if (!t->arena || t->arena->size - t->arena->used < len) {
        chunk *c = malloc(sizeof(chunk) + ARENA_CHUNK);
        if (!c)
            return NULL;
        c->next = t->arena;
        c->used = 0;
        c->size = ARENA_CHUNK;
        t->arena = c;
    }
    char *p = t->arena->data + t->arena->used;
    memcpy(p, s, len);
    t->arena->used += len;
    return p;
}

/* An entry while its directory is open, with its display name at hand for sorting. */
typedef struct bent {
    const char *name;
    dent e;
} bent;

/* One directory open along the current name; its entries are pend[start, npend). */
typedef struct level {
    const char *path; /* name whose prefix [0, end) is the directory's path */
    size_t end;
    uint32_t dir;
    size_t start;
} level;

/* Everything a build holds besides the tree itself; freed when the build ends. */
typedef struct builder {
    ckfs_tree *t;
    const ckpt_checkpoint *c;
    int npy;
    ckfs_warn_fn warn;
    void *warn_ctx;
    bent *pend; /* the entries of the open directories */
    size_t npend, cap_pend;
    level *stack; /* stack[0] is the root, open to the end */
    size_t depth, cap_stack;
    uint8_t *raw; /* raw[i]: item i is also a directory */
    /* The items being walked, in path order: position p is item ord[p], or base + p when ord
     * is NULL (n positions). */
    const uint32_t *ord;
    size_t base, n;
    size_t base_depth; /* levels above the items' own: 1 (the root), 2 below by_name */
    size_t cap_ents, cap_dirs, cap_escv, cap_escd, cap_lists, cap_lrefs;
    struct item *items; /* scratch: the names of a directory whose listing is written out */
    size_t cap_items;
} builder;

/* Priorities: what a name belongs to when several want it. */
static int prio(const dent *e)
{
    return e->kind == CKFS_K_GEN ? 2 : (e->flags & F_RAW) ? 1 : 0;
}

static int cmp_bent(const void *pa, const void *pb)
{
    const bent *a = pa, *b = pb;
    int r = ckfs_tree_cmp_names(a->name, a->e.len, ckfs_tree_own_suffix(&a->e), b->name, b->e.len,
                                ckfs_tree_own_suffix(&b->e));
    if (r)
        return r;
    if (prio(&a->e) != prio(&b->e))
        return prio(&a->e) < prio(&b->e) ? -1 : 1;
    if (a->e.kind != b->e.kind)
        return a->e.kind < b->e.kind ? -1 : 1;
    return a->e.idx < b->e.idx ? -1 : a->e.idx > b->e.idx;
}

/*
 * Sort a directory's entries. They arrive almost sorted (a variable that is also a directory
 * comes just before it, an escape may move a name a little), so an insertion sort does it in
 * about one comparison each; past a budget of moves (a hostile order) qsort takes over.
 */
static void sort_entries(bent *b, size_t n)
{
    _Static_assert(sizeof(bent) <= CKPT_ISORT_ITEM_MAX, "a bent must fit the sort");
    if (ckpt_insertion_sort(b, n, sizeof *b, cmp_bent, 8 * n + 64))
        qsort(b, n, sizeof *b, cmp_bent);
}

static int push_ent(builder *B, const char *name, size_t len, int kind, uint32_t idx,
                    uint16_t flags)
{
    if (ckpt_grow((void **)&B->pend, &B->cap_pend, B->npend + 1, sizeof *B->pend))
        return -1;
    B->pend[B->npend++] = (bent){name, {idx, (uint16_t)len, (uint16_t)kind, flags}};
    return 0;
}

static int push_dir(builder *B, uint32_t parent, uint32_t var, size_t pathlen, uint32_t *out)
{
    ckfs_tree *t = B->t;
    /* Directory numbers are 32-bit, and so is every count below. */
    if (t->ndirs >= UINT32_MAX - 1 ||
        ckpt_grow((void **)&t->dirs, &B->cap_dirs, t->ndirs + 1, sizeof *t->dirs))
        return -1;
    t->dirs[t->ndirs] = (dirrec){.parent = parent, .var = var, .pathlen = (uint32_t)pathlen};
    *out = t->ndirs++;
    return 0;
}

/*
 * The display name of a component (top: in the root directory): itself, or its escape kept
 * in the arena and recorded for entry idx in *arr (*flags gets F_ESC).
 */
static int display(builder *B, const char *s, size_t len, int top, uint32_t idx, esc **arr,
                   size_t *n, size_t *cap, const char **name, size_t *nlen, uint16_t *flags)
{
    char buf[CKFS_DISPLAY_MAX + 1];
    size_t k = ckfs_escape_component_at(s, len, (top ? CKFS_ESC_TOP : 0) | B->t->esc_flags, buf);
    *flags = 0;
    if (k == 0) {
        *name = s;
        *nlen = len;
        return 0;
    }
    *name = arena_put(B->t, buf, k);
    *nlen = k;
    if (!*name || ckpt_grow((void **)arr, cap, *n + 1, sizeof **arr))
        return -1;
    (*arr)[(*n)++] = (esc){idx, *name};
    *flags = F_ESC;
    return 0;
}

/* --- hidden names (only hashed components with equal hashes get here) ---------------------- */

static const char *kind_word(ckfs_node n, int suf)
{
    switch (n.kind) {
    case CKFS_K_DIR:
    case CKFS_K_BDIR:
    case CKFS_K_TFDIR: return "directory";
    case CKFS_K_DATA: return suf == SUF_NONE ? "variable" : "variable's .raw file";
    case CKFS_K_SHAPE: return ".shape file";
    case CKFS_K_DTYPE: return ".dtype file";
    case CKFS_K_NPY: return ".npy file";
    default: return "generated file";
    }
}

/* The name suf of entry x lost, in directory dir, to a name of kind `winner`: say so. */
static void warn_hidden(const builder *B, uint32_t dir, const bent *x, int suf, const char *winner)
{
    if (!B->warn)
        return;
    char nm[CKFS_ENTRY_NAME_MAX + 1];
    char msg[CKFS_ENTRY_NAME_MAX + CKFS_MSG_PATH_MAX + 128];
    ckfs_tree_full_name(x->name, x->e.len, suf, nm);
    const dirrec *d = &B->t->dirs[dir];
    size_t len;
    const char *path = d->pathlen ? ckfs_tree_item_name(B->t, d->var, &len) : "";
    int pl = d->pathlen > CKFS_MSG_PATH_MAX ? CKFS_MSG_PATH_MAX : (int)d->pathlen;
    snprintf(msg, sizeof(msg), "hiding the %s '%s' in '/%.*s': a %s has that name",
             kind_word(ckfs_tree_node_of(&x->e, suf), suf), nm, pl, path, winner);
    B->warn(B->warn_ctx, msg);
}

/* In each run of equal names (sorted: the winner first) the others lose their own name. */
static void hide_equal(const builder *B, uint32_t dir, bent *b, size_t n)
{
    size_t w = 0;
    for (size_t k = 1; k < n; k++) {
        if (ckfs_tree_cmp_names(b[w].name, b[w].e.len, ckfs_tree_own_suffix(&b[w].e), b[k].name,
                                b[k].e.len, ckfs_tree_own_suffix(&b[k].e)) != 0) {
            w = k;
            continue;
        }
        b[k].e.flags |= F_HIDDEN;
        warn_hidden(B, dir, &b[k], ckfs_tree_own_suffix(&b[k].e),
                    kind_word(ckfs_tree_node_of(&b[w].e, ckfs_tree_own_suffix(&b[w].e)),
                              ckfs_tree_own_suffix(&b[w].e)));
    }
}

/* First position in sorted b whose name is >= base + suffix suf. */
static size_t lower_bound(const bent *b, size_t n, const char *base, size_t bl, int suf)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ckfs_tree_cmp_names(b[mid].name, b[mid].e.len, ckfs_tree_own_suffix(&b[mid].e), base,
                                bl, suf) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The next variable entry at or after k whose sidecars are base + suffix (it is shown as base,
 * or as base.raw when own is SUF_RAW); n when there is none. */
static size_t next_owner(const bent *b, size_t n, size_t k, const char *base, size_t bl, int own)
{
    for (; k < n; k++) {
        const bent *o = &b[k];
        if (ckfs_tree_cmp_names(o->name, o->e.len, ckfs_tree_own_suffix(&o->e), base, bl, own) != 0)
            return n;
        if (o->e.kind == CKFS_K_DATA && o->e.len == bl && ckfs_tree_own_suffix(&o->e) == own)
            return k;
    }
    return n;
}

/*
 * Entry k's own name ends like a sidecar (a hashed component's kept start can): the sidecar
 * of that name loses to a variable or directory, and wins over a generated file.
 */
static void clash_as_sidecar(const builder *B, uint32_t dir, bent *b, size_t n, size_t k)
{
    bent *x = &b[k];
    for (int suf = SUF_SHAPE; suf <= SUF_STATS && ckfs_tree_own_suffix(&x->e) == SUF_NONE; suf++) {
        size_t sl = suffix_len[suf], bl = x->e.len - sl;
        if (x->e.len < sl || memcmp(x->name + bl, suffix_str[suf], sl) != 0)
            continue;
        for (int own = SUF_NONE; own <= SUF_RAW; own++)
            for (size_t o = next_owner(b, n, lower_bound(b, n, x->name, bl, own), x->name, bl, own);
                 o < n; o = next_owner(b, n, o + 1, x->name, bl, own)) {
                if (!ckfs_tree_has_sidecar(&b[o].e, suf) || (x->e.flags & F_HIDDEN))
                    continue;
                if (x->e.kind == CKFS_K_GEN) {
                    x->e.flags |= F_HIDDEN;
                    warn_hidden(B, dir, x, SUF_NONE,
                                kind_word(ckfs_tree_node_of(&b[o].e, suf), suf));
                } else {
                    b[o].e.flags |= ckfs_tree_no_flag(suf);
                    warn_hidden(B, dir, &b[o], suf,
                                kind_word(ckfs_tree_node_of(&x->e, SUF_NONE), SUF_NONE));
                }
            }
    }
}

/* Variable entry k shares its display name with another (equal hashes): the sidecars belong
 * to the one of lowest index. */
static void clash_as_owner(const builder *B, uint32_t dir, bent *b, size_t n, size_t k)
{
    bent *x = &b[k];
    if (x->e.kind != CKFS_K_DATA)
        return;
    uint32_t first = x->e.idx;
    for (int own = SUF_NONE; own <= SUF_RAW; own++)
        for (size_t o = next_owner(b, n, lower_bound(b, n, x->name, x->e.len, own), x->name,
                                   x->e.len, own);
             o < n; o = next_owner(b, n, o + 1, x->name, x->e.len, own))
            first = b[o].e.idx < first ? b[o].e.idx : first;
    for (int suf = SUF_SHAPE; first != x->e.idx && suf <= SUF_STATS; suf++)
        if (ckfs_tree_has_sidecar(&x->e, suf)) {
            x->e.flags |= ckfs_tree_no_flag(suf);
            warn_hidden(B, dir, x, suf, kind_word(ckfs_tree_node_of(&x->e, suf), suf));
        }
}

/* Hashed names and generated files are the only ones that can meet a sidecar. */
static void resolve_clashes(const builder *B, uint32_t dir, bent *b, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        const dent *e = &b[k].e;
        int hashed =
            (e->flags & F_ESC) && e->len >= 2 && b[k].name[0] == '%' && b[k].name[1] == '~';
        if (hashed || e->kind == CKFS_K_GEN)
            clash_as_sidecar(B, dir, b, n, k);
        if (hashed)
            clash_as_owner(B, dir, b, n, k);
    }
}

/* --- closing a directory ---------------------------------------------------------------------- */

/* A name of a directory whose listing is written out. */
struct item {
    const char *name;
    uint32_t code; /* entry << 3 | position */
    uint16_t len;
    uint8_t suf;
};

static int cmp_item(const void *pa, const void *pb)
{
    const struct item *a = pa, *b = pb;
    return ckfs_tree_cmp_names(a->name, a->len, a->suf, b->name, b->len, b->suf);
}

/* Whether every name of a sorts before every name of b: then listing each entry's names in
 * turn is the bytewise order. */
static int in_order(const bent *a, const bent *b)
{
    int hi = a->e.kind == CKFS_K_DATA ? SUF_SHAPE : ckfs_tree_own_suffix(&a->e);
    int lo = b->e.kind != CKFS_K_DATA ? ckfs_tree_own_suffix(&b->e)
             : (b->e.flags & F_RAW)   ? SUF_DTYPE
                                      : SUF_NONE;
    return ckfs_tree_cmp_names(a->name, a->e.len, hi, b->name, b->e.len, lo) < 0;
}

/* Write out the sorted listing of directory dir (entries b[0..n), m names). */
static int write_listing(builder *B, uint32_t dir, const bent *b, size_t n, size_t m)
{
    ckfs_tree *t = B->t;
    if (ckpt_grow((void **)&B->items, &B->cap_items, m, sizeof *B->items) ||
        ckpt_grow((void **)&t->lists, &B->cap_lists, t->nlists + m + 1, sizeof *t->lists) ||
        ckpt_grow((void **)&t->lrefs, &B->cap_lrefs, t->nlrefs + 1, sizeof *t->lrefs) ||
        t->nlists + m + 1 > UINT32_MAX)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        for (unsigned s = 0; s < SLOTS; s++) {
            int suf = ckfs_tree_slot_name(&b[i].e, s);
            if (suf >= 0)
                B->items[k++] =
                    (struct item){b[i].name, (uint32_t)(i << 3 | s), b[i].e.len, (uint8_t)suf};
        }
    if (k > 1) /* with none, items may still be NULL */
        qsort(B->items, k, sizeof *B->items, cmp_item);
    t->lrefs[t->nlrefs++] = (listref){dir, (uint32_t)t->nlists};
    t->lists[t->nlists++] = (uint32_t)k;
    for (size_t j = 0; j < k; j++)
        t->lists[t->nlists++] = B->items[j].code;
    t->dirs[dir].count |= LISTED;
    return 0;
}

/* Append directory dir's sorted entries b[0..n) to the tree. */
static int append_dir(builder *B, uint32_t dir, const bent *b, size_t n)
{
    ckfs_tree *t = B->t;
    /* Entry positions are 32-bit; a directory's count leaves its top bit to LISTED. */
    if (n >= LISTED || t->nents > UINT32_MAX - n ||
        ckpt_grow((void **)&t->ents, &B->cap_ents, t->nents + n, sizeof *t->ents))
        return -1;
    dirrec *d = &t->dirs[dir];
    d->first = t->nents;
    d->count = (uint32_t)n;
    size_t names = 0;
    int ordered = 1;
    for (size_t k = 0; k < n; k++) {
        t->ents[t->nents + k] = b[k].e;
        for (unsigned s = 0; s < SLOTS; s++)
            names += ckfs_tree_slot_name(&b[k].e, s) >= 0;
        d->subdirs += (b[k].e.kind == CKFS_K_DIR || b[k].e.kind == CKFS_K_BDIR ||
                       b[k].e.kind == CKFS_K_TFDIR) &&
                      !(b[k].e.flags & F_HIDDEN);
        ordered = ordered && (k == 0 || in_order(&b[k - 1], &b[k]));
    }
    t->nents += (uint32_t)n;
    t->nnames += names;
    return ordered ? 0 : write_listing(B, dir, b, n, names);
}

/* The directory of level L is complete: sort, settle and store its entries. */
static int close_dir(builder *B, const level *L)
{
    bent *b = B->pend + L->start;
    size_t n = B->npend - L->start;
    for (size_t k = 0; k < n; k++)
        if ((b[k].e.kind == CKFS_K_DATA || b[k].e.kind == CKFS_K_LINK) &&
            B->raw[ckfs_tree_ent_item(B->t, &b[k].e)])
            b[k].e.flags |= F_RAW;
    sort_entries(b, n);
    hide_equal(B, L->dir, b, n);
    resolve_clashes(B, L->dir, b, n);
    if (append_dir(B, L->dir, b, n))
        return -1;
    B->npend = L->start;
    return 0;
}

/* Close the open directories deeper than keep levels. */
static int close_to(builder *B, size_t keep)
{
    while (B->depth > keep) {
        if (close_dir(B, &B->stack[B->depth - 1]))
            return -1;
        B->depth--;
    }
    return 0;
}

/* --- the walk over the names -------------------------------------------------------------- */

static size_t pos_item(const builder *B, size_t p)
{
    return B->ord ? B->ord[p] : B->base + p;
}

/*
 * An item named exactly name[0..end) (the path of a directory being opened by the item at
 * position p) moves to NAME.raw. It sorts before p with, in between, only names that continue
 * the path with a byte below '/': look back a few names, then search.
 */
static void mark_raw(builder *B, size_t p, const char *name, size_t end)
{
    for (size_t j = p, steps = 0; j-- > 0 && steps < 32; steps++) {
        size_t len;
        const char *nj = ckfs_tree_item_name(B->t, pos_item(B, j), &len);
        if (len < end || memcmp(nj, name, end) != 0)
            return;
        if (len == end) {
            B->raw[pos_item(B, j)] = 1;
            return;
        }
        if ((unsigned char)nj[end] >= '/')
            return;
    }
    size_t lo = 0, hi = p;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, len;
        const char *nm = ckfs_tree_item_name(B->t, pos_item(B, mid), &len);
        size_t k = len < end ? len : end;
        int r = memcmp(nm, name, k);
        if (r < 0 || (r == 0 && len < end))
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t len;
    if (lo < p) {
        const char *nm = ckfs_tree_item_name(B->t, pos_item(B, lo), &len);
        if (len == end && memcmp(nm, name, end) == 0)
            B->raw[pos_item(B, lo)] = 1;
    }
}

/* Open directory name[0..end) (its component starts at start) below the deepest open one. */
static int open_dir(builder *B, size_t p, const char *name, size_t start, size_t end)
{
    ckfs_tree *t = B->t;
    uint32_t parent = B->stack[B->depth - 1].dir, d;
    const char *dn;
    size_t dl;
    uint16_t flags;
    if (push_dir(B, parent, (uint32_t)pos_item(B, p), end, &d) ||
        display(B, name + start, end - start, parent == 0 && !t->names, d, &t->esc_dir,
                &t->nesc_dir, &B->cap_escd, &dn, &dl, &flags) ||
        push_ent(B, dn, dl, CKFS_K_DIR, d, flags) ||
        ckpt_grow((void **)&B->stack, &B->cap_stack, B->depth + 1, sizeof *B->stack))
        return -1;
    mark_raw(B, p, name, end);
    B->stack[B->depth++] = (level){name, end, d, B->npend};
    return 0;
}

/* The item at position p: close the directories its name leaves, open those it enters, add
 * its entry (a variable's, or a by_name link's). */
static int add_item(builder *B, size_t p)
{
    ckfs_tree *t = B->t;
    size_t i = pos_item(B, p), len;
    const char *name = ckfs_tree_item_name(t, i, &len);
    int kind = i < t->nvars ? CKFS_K_DATA : CKFS_K_LINK;
    uint16_t extra = 0;
    if (kind == CKFS_K_DATA) {
        ckpt_var v;
        ckpt_get(B->c, i, &v);
        t->total_bytes += v.nbytes;
        if ((B->npy & CKFS_TREE_NPY) && ckpt_dtype_size(v.dtype) > 0)
            extra = F_NPY;
        if ((B->npy & CKFS_TREE_STATS) && ckpt_dtype_size(v.dtype) > 0)
            extra |= F_STATS;
    } else {
        extra = F_NO_SHAPE | F_NO_DTYPE | F_NO_NPY | F_NO_STATS; /* a link has no sidecars */
    }
    size_t keep = B->base_depth;
    while (keep < B->depth) {
        const level *L = &B->stack[keep];
        if (L->end < len && name[L->end] == '/' && memcmp(name, L->path, L->end) == 0)
            keep++;
        else
            break;
    }
    if (close_to(B, keep))
        return -1;
    size_t start = B->depth > B->base_depth ? B->stack[B->depth - 1].end + 1 : 0;
    for (const char *slash; (slash = memchr(name + start, '/', len - start)) != NULL;) {
        size_t end = (size_t)(slash - name);
        if (open_dir(B, p, name, start, end))
            return -1;
        start = end + 1;
    }
    const char *fn;
    size_t fl;
    uint16_t flags;
    if (display(B, name + start, len - start, B->depth == 1 && !t->names, (uint32_t)i, &t->esc_var,
                &t->nesc_var, &B->cap_escv, &fn, &fl, &flags))
        return -1;
    return push_ent(B, fn, fl, kind, (uint32_t)(kind == CKFS_K_LINK ? i - t->nvars : i),
                    flags | extra);
}

static int cmp_esc(const void *pa, const void *pb)
{
    const esc *a = pa, *b = pb;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* A variable's path while the walk order is found: compared without the checkpoint at hand. */
typedef struct pathref {
    const char *p;
    uint32_t len, idx;
} pathref;

static int cmp_path(const void *pa, const void *pb)
{
    const pathref *a = pa, *b = pb;
    int r = memcmp(a->p, b->p, a->len < b->len ? a->len : b->len);
    return r ? r : a->len < b->len ? -1 : a->len > b->len;
}

/*
 * The order to walk the variables in: their paths' bytewise order, which is the index order
 * unless paths were shortened (objnames.h: "a/.ATTRIBUTES/..." sorts after "a-b/...", while
 * "a" sorts before "a-b"). Real checkpoints are nearly in order already: one pass tells, an
 * insertion sort fixes the few, qsort takes over past a budget (a hostile order). NULL and 0
 * for the index order; -1 when out of memory.
 */
static int path_order(const ckpt_checkpoint *c, size_t n, uint32_t **out)
{
    *out = NULL;
    if (!ckpt_has_object_graph(c) || n < 2)
        return 0;
    pathref *r = malloc(n * sizeof *r);
    if (!r)
        return -1;
    int sorted = 1;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        r[i] = (pathref){ckpt_path(c, i, &len), 0, (uint32_t)i};
        r[i].len = (uint32_t)len;
        sorted = sorted && (i == 0 || cmp_path(&r[i - 1], &r[i]) < 0);
    }
    uint32_t *ord = sorted ? NULL : malloc(n * sizeof *ord);
    if (!sorted && ord) {
        _Static_assert(sizeof(pathref) <= CKPT_ISORT_ITEM_MAX, "a pathref must fit the sort");
        if (ckpt_insertion_sort(r, n, sizeof *r, cmp_path, 8 * n + 64))
            qsort(r, n, sizeof *r, cmp_path);
        for (size_t i = 0; i < n; i++)
            ord[i] = r[i].idx;
    }
    free(r);
    if (!sorted && !ord)
        return -1;
    *out = ord;
    return 0;
}

static int cmp_lref(const void *pa, const void *pb)
{
    const listref *a = pa, *b = pb;
    return a->dir < b->dir ? -1 : a->dir > b->dir;
}

/* Order what a build made for the queries, and give back what the doubling left over. */
static void finish(ckfs_tree *t)
{
    /* Directories close deepest first: order their listings for the search. */
    if (t->nlrefs > 1)
        qsort(t->lrefs, t->nlrefs, sizeof *t->lrefs, cmp_lref);
    dent *e = realloc(t->ents, (t->nents ? t->nents : 1) * sizeof *t->ents);
    if (e)
        t->ents = e;
    dirrec *d = realloc(t->dirs, t->ndirs * sizeof *t->dirs);
    if (d)
        t->dirs = d;
}

/* Directory 0, the root, open until the build ends. */
static int open_root(builder *B)
{
    uint32_t root;
    if (push_dir(B, 0, 0, 0, &root) ||
        ckpt_grow((void **)&B->stack, &B->cap_stack, 1, sizeof *B->stack))
        return -1;
    B->stack[B->depth++] = (level){NULL, 0, root, 0};
    return 0;
}

static int build(builder *B, const char *const *gen_names, int ngen)
{
    ckfs_tree *t = B->t;
    if (open_root(B))
        return -1;
    for (int g = 0; g < ngen; g++) {
        if (!gen_names[g])
            continue;
        t->genmask |= 1u << g;
        t->gen[g] = gen_names[g];
        if (push_ent(B, gen_names[g], strlen(gen_names[g]), CKFS_K_GEN, (uint32_t)g, 0))
            return -1;
    }
    uint32_t *ord;
    if (path_order(B->c, t->nvars, &ord))
        return -1;
    B->ord = ord;
    B->base = 0;
    B->n = t->nvars;
    B->base_depth = 1;
    int rc = 0;
    for (size_t p = 0; p < B->n && !rc; p++)
        rc = add_item(B, p);
    free(ord);
    /* Escapes are found by item (esc_find); a walk in path order recorded them out of it. */
    if (B->ord && t->nesc_var > 1)
        qsort(t->esc_var, t->nesc_var, sizeof *t->esc_var, cmp_esc);
    B->ord = NULL;
    /* by_name's contents are a tree of their own, built on first use (view.c), tf's are the
     * view's: here only their names, which no variable can take (escape.h). */
    if (rc || close_to(B, 1) ||
        ((t->byname & CKFS_ROOT_BYNAME) &&
         push_ent(B, CKFS_BY_NAME, strlen(CKFS_BY_NAME), CKFS_K_BDIR, 0, 0)) ||
        ((t->byname & CKFS_ROOT_TF) &&
         push_ent(B, CKFS_TF_DIR, strlen(CKFS_TF_DIR), CKFS_K_TFDIR, 0, 0)) ||
        close_to(B, 0))
        return -1;
    finish(t);
    return 0;
}

/* A links tree: the root is by_name itself, every link below it in its sorted order. */
static int build_links(builder *B)
{
    ckfs_tree *t = B->t;
    if (open_root(B))
        return -1;
    B->ord = NULL;
    B->base = 0;
    B->n = t->nlinks;
    B->base_depth = 1;
    for (size_t p = 0; p < B->n; p++)
        if (add_item(B, p))
            return -1;
    if (close_to(B, 0))
        return -1;
    finish(t);
    return 0;
}

/* Build a main tree (names NULL) or a links tree (names given: c's by_name links). */
static int build_any(const ckpt_checkpoint *c, const ckpt_names *names, unsigned byname,
                     const char *const *gen_names, int ngen, int npy, ckfs_warn_fn warn,
                     void *warn_ctx, ckfs_tree **out)
{
    *out = NULL;
    size_t n = names ? 0 : ckpt_count(c), nl = ckpt_names_links(names);
    /* Every inode number of tree.h must fit in 32 bits. */
    if (ngen < 0 || ngen > CKFS_GEN_MAX || n > (UINT32_MAX - CKFS_INO_VAR0) / SLOTS ||
        nl > (UINT32_MAX - CKFS_INO_VAR0) / SLOTS)
        return -1;
    builder B = {.t = calloc(1, sizeof(ckfs_tree)),
                 .c = c,
                 .npy = npy,
                 .warn = warn,
                 .warn_ctx = warn_ctx,
                 .raw = calloc(n + nl ? n + nl : 1, 1)};
    int rc = -1;
    if (B.t && B.raw) {
        B.t->c = c;
        B.t->names = names;
        B.t->byname = byname;
        B.t->vslots = (npy & CKFS_TREE_STATS) ? 5 : 4;
        B.t->nvars = n;
        B.t->nlinks = nl;
        B.t->esc_flags = ckpt_has_object_graph(c) ? CKFS_ESC_DOTS : 0;
        B.t->ngen = ngen;
        rc = names ? build_links(&B) : build(&B, gen_names, ngen);
    }
    free(B.pend);
    free(B.raw);
    free(B.stack);
    free(B.items);
    if (rc) {
        ckfs_tree_free(B.t);
        return -1;
    }
    *out = B.t;
    return 0;
}

int ckfs_tree_build(const ckpt_checkpoint *c, unsigned byname, const char *const *gen_names,
                    int ngen, int npy, ckfs_warn_fn warn, void *warn_ctx, ckfs_tree **out)
{
    return build_any(c, NULL, byname, gen_names, ngen, npy, warn, warn_ctx, out);
}

int ckfs_tree_build_links(const ckpt_checkpoint *c, const ckpt_names *names, ckfs_warn_fn warn,
                          void *warn_ctx, ckfs_tree **out)
{
    if (!names)
        return -1;
    return build_any(c, names, 0, NULL, 0, 0, warn, warn_ctx, out);
}

void ckfs_tree_free(ckfs_tree *t)
{
    if (!t)
        return;
    for (chunk *c = t->arena; c;) {
        chunk *next = c->next;
        free(c);
        c = next;
    }
    free(t->ents);
    free(t->dirs);
    free(t->esc_var);
    free(t->esc_dir);
    free(t->lists);
    free(t->lrefs);
    free(t);
}
