/*
 * tree.c - building and querying the directory tree of a checkpoint (see tree.h).
 *
 * Names arrive in bytewise order, so all names under one directory are contiguous and a stack
 * of open directories is enough to create each directory exactly once. Entries are gathered
 * in one array, sorted by (directory, display name, priority) and deduplicated: the first of
 * equal names wins, and priority puts variables and directories before generated files, so a
 * generated file never displaces a variable.
 */
#include "tree.h"

#include "dtype.h"
#include "escape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SUF_NONE, SUF_RAW, SUF_SHAPE, SUF_DTYPE, SUF_NPY };
static const char *const suffix_str[] = {"", ".raw", ".shape", ".dtype", ".npy"};
static const uint8_t suffix_len[] = {0, 4, 6, 6, 4};

typedef struct dent {
    const char *name; /* display base name (not NUL-terminated) */
    uint32_t idx;
    uint16_t len;
    uint8_t suffix;
    uint8_t kind;
} dent;

/* An entry while building: its directory, and a priority for deduplication. */
typedef struct bent {
    dent e;
    uint32_t dir;
    uint32_t prio;
} bent;

typedef struct dirrec {
    uint32_t parent;
    uint32_t first;   /* first entry in ents */
    uint32_t count;
    uint32_t subdirs;
    const char *path; /* the directory's path as a variable-name prefix (for messages) */
    size_t pathlen;
} dirrec;

typedef struct chunk {
    struct chunk *next;
    size_t used, size;
    char data[];
} chunk;

struct ckfs_tree {
    uint64_t nvars;
    int ngen;
    uint32_t genmask; /* bit g: generated slot g exists */
    dent *ents;
    uint32_t nents;
    dirrec *dirs;
    uint32_t ndirs;
    uint64_t total_bytes;
    chunk *arena;
    size_t arena_bytes;
};

static const char *arena_put(ckfs_tree *t, const char *s, size_t len)
{
    if (!t->arena || t->arena->size - t->arena->used < len) {
        size_t size = 64 * 1024;
        chunk *c = malloc(sizeof(chunk) + size);
        if (!c)
            return NULL;
        c->next = t->arena;
        c->used = 0;
        c->size = size;
        t->arena = c;
        t->arena_bytes += sizeof(chunk) + size;
    }
    char *p = t->arena->data + t->arena->used;
    memcpy(p, s, len);
    t->arena->used += len;
    return p;
}

/* Growable arrays of build entries and directories. */
typedef struct builder {
    ckfs_tree *t;
    bent *b;
    size_t nb, capb;
    size_t capd;
} builder;

static int push_ent(builder *B, uint32_t dir, const char *name, size_t len, int suffix,
                    int kind, uint32_t idx, uint32_t prio)
{
    if (B->nb == B->capb) {
        size_t cap = B->capb ? B->capb * 2 : 1024;
        bent *nb = realloc(B->b, cap * sizeof(*nb));
        if (!nb)
            return -1;
        B->b = nb;
        B->capb = cap;
    }
    if (B->nb >= UINT32_MAX - 1)
        return -1;
    bent *e = &B->b[B->nb++];
    e->e.name = name;
    e->e.len = (uint16_t)len;
    e->e.suffix = (uint8_t)suffix;
    e->e.kind = (uint8_t)kind;
    e->e.idx = idx;
    e->dir = dir;
    e->prio = prio;
    return 0;
}

static int push_dir(builder *B, uint32_t parent, uint32_t *out)
{
    ckfs_tree *t = B->t;
    if (t->ndirs == B->capd) {
        size_t cap = B->capd ? B->capd * 2 : 256;
        dirrec *nd = realloc(t->dirs, cap * sizeof(*nd));
        if (!nd)
            return -1;
        t->dirs = nd;
        B->capd = cap;
    }
    if (t->ndirs >= UINT32_MAX - 1)
        return -1;
    dirrec *d = &t->dirs[t->ndirs];
    memset(d, 0, sizeof(*d));
    d->parent = parent;
    *out = t->ndirs++;
    return 0;
}

/* The display base of a component: itself, or its escape stored in the arena. */
static int display(ckfs_tree *t, const char *s, size_t len, const char **name, size_t *nlen)
{
    char buf[CKFS_DISPLAY_MAX + 1];
    size_t n = ckfs_escape_component(s, len, buf);
    if (n == 0) {
        *name = s;
        *nlen = len;
        return 0;
    }
    *name = arena_put(t, buf, n);
    *nlen = n;
    return *name ? 0 : -1;
}

/* Compare a's full display name (base + suffix) with b's. */
static int cmp_names(const char *an, size_t al, int as, const char *bn, size_t bl, int bs)
{
    size_t atot = al + suffix_len[as], btot = bl + suffix_len[bs];
    size_t n = atot < btot ? atot : btot;
    size_t common = al < bl ? al : bl;
    int r = memcmp(an, bn, common < n ? common : n);
    if (r)
        return r;
    for (size_t i = common; i < n; i++) {
        unsigned char ca = i < al ? (unsigned char)an[i] : (unsigned char)suffix_str[as][i - al];
        unsigned char cb = i < bl ? (unsigned char)bn[i] : (unsigned char)suffix_str[bs][i - bl];
        if (ca != cb)
            return ca < cb ? -1 : 1;
    }
    return atot < btot ? -1 : atot > btot ? 1 : 0;
}

static int cmp_bent(const void *pa, const void *pb)
{
    const bent *a = pa, *b = pb;
    if (a->dir != b->dir)
        return a->dir < b->dir ? -1 : 1;
    int r = cmp_names(a->e.name, a->e.len, a->e.suffix, b->e.name, b->e.len, b->e.suffix);
    if (r)
        return r;
    if (a->prio != b->prio)
        return a->prio < b->prio ? -1 : 1;
    return 0;
}

static void full_name(const dent *e, char *buf)
{
    memcpy(buf, e->name, e->len);
    memcpy(buf + e->len, suffix_str[e->suffix], suffix_len[e->suffix] + 1u);
}

static const char *kind_word(const dent *e)
{
    switch (e->kind) {
    case CKFS_K_DIR:
        return "directory";
    case CKFS_K_DATA:
        return e->suffix == SUF_NONE ? "variable" : "variable's .raw file";
    case CKFS_K_SHAPE:
        return ".shape file";
    case CKFS_K_DTYPE:
        return ".dtype file";
    case CKFS_K_NPY:
        return ".npy file";
    default:
        return "generated file";
    }
}

/* Priorities: what a name belongs to when several want it. */
enum { PRIO_PRIMARY = 0, PRIO_SIDECAR = 1, PRIO_GEN = 2 };

/* Stack of the directories open along the current name. */
typedef struct level {
    const char *path; /* name whose prefix [0, end) is the directory's path */
    size_t end;       /* index of the '/' ending the directory's component */
    uint32_t dir;
} level;

int ckfs_tree_build(const ckpt_checkpoint *c, const char *const *gen_names, int ngen, int npy,
                    ckfs_warn_fn warn, void *warn_ctx, ckfs_tree **out)
{
    *out = NULL;
    size_t n = ckpt_count(c);
    if (ngen < 0 || ngen > CKFS_GEN_MAX || n > (UINT32_MAX - CKFS_INO_VAR0) / CKFS_VAR_SLOTS)
        return -1;
    ckfs_tree *t = calloc(1, sizeof(*t));
    builder B = {.t = t};
    uint8_t *raw = calloc(n ? n : 1, 1);
    level *stack = NULL;
    size_t stack_cap = 0, depth = 0;
    uint32_t root;
    if (!t || !raw || push_dir(&B, 0, &root))
        goto fail;
    t->nvars = n;
    t->ngen = ngen;

    for (int g = 0; g < ngen; g++) {
        if (!gen_names[g])
            continue;
        t->genmask |= 1u << g;
        if (push_ent(&B, 0, gen_names[g], strlen(gen_names[g]), SUF_NONE, CKFS_K_GEN,
                     (uint32_t)g, PRIO_GEN))
            goto fail;
    }

    for (size_t i = 0; i < n; i++) {
        ckpt_var v;
        ckpt_get(c, i, &v);
        const char *name = v.name;
        size_t len = v.name_len;
        t->total_bytes += v.nbytes;

        /* Keep the open directories that are prefixes of this name. */
        size_t keep = 0;
        while (keep < depth) {
            const level *L = &stack[keep];
            if (L->end < len && name[L->end] == '/' && memcmp(name, L->path, L->end) == 0)
                keep++;
            else
                break;
        }
        depth = keep;
        size_t start = depth ? stack[depth - 1].end + 1 : 0;
        uint32_t parent = depth ? stack[depth - 1].dir : root;

        /* Open the remaining directories of the path. */
        for (;;) {
            const char *slash = memchr(name + start, '/', len - start);
            if (!slash)
                break;
            size_t end = (size_t)(slash - name);
            uint32_t d;
            const char *dn;
            size_t dl;
            if (push_dir(&B, parent, &d))
                goto fail;
            t->dirs[d].path = name;
            t->dirs[d].pathlen = end;
            if (display(t, name + start, end - start, &dn, &dl) ||
                push_ent(&B, parent, dn, dl, SUF_NONE, CKFS_K_DIR, d, PRIO_PRIMARY))
                goto fail;
            /* A variable with exactly this directory's path moves to NAME.raw. */
            size_t j;
            if (ckpt_find(c, name, end, &j) == 0)
                raw[j] = 1;
            if (depth == stack_cap) {
                size_t cap = stack_cap ? stack_cap * 2 : 16;
                level *ns = realloc(stack, cap * sizeof(*ns));
                if (!ns)
                    goto fail;
                stack = ns;
                stack_cap = cap;
            }
            stack[depth++] = (level){name, end, d};
            parent = d;
            start = end + 1;
        }

        const char *fn;
        size_t fl;
        if (display(t, name + start, len - start, &fn, &fl))
            goto fail;
        uint32_t vi = (uint32_t)i;
        if (push_ent(&B, parent, fn, fl, SUF_NONE, CKFS_K_DATA, vi, PRIO_PRIMARY) ||
            push_ent(&B, parent, fn, fl, SUF_SHAPE, CKFS_K_SHAPE, vi, PRIO_SIDECAR) ||
            push_ent(&B, parent, fn, fl, SUF_DTYPE, CKFS_K_DTYPE, vi, PRIO_SIDECAR))
            goto fail;
        if (npy && ckpt_dtype_size(v.dtype) > 0 &&
            push_ent(&B, parent, fn, fl, SUF_NPY, CKFS_K_NPY, vi, PRIO_SIDECAR))
            goto fail;
    }

    for (size_t k = 0; k < B.nb; k++) {
        bent *e = &B.b[k];
        if (e->e.kind == CKFS_K_DATA && raw[e->e.idx]) {
            e->e.suffix = SUF_RAW;
            e->prio = PRIO_SIDECAR;
        }
    }
    qsort(B.b, B.nb, sizeof(*B.b), cmp_bent);

    t->ents = malloc((B.nb ? B.nb : 1) * sizeof(*t->ents));
    if (!t->ents)
        goto fail;
    for (size_t k = 0; k < B.nb; k++) {
        const bent *e = &B.b[k];
        if (k > 0 && B.b[k - 1].dir == e->dir &&
            cmp_names(B.b[k - 1].e.name, B.b[k - 1].e.len, B.b[k - 1].e.suffix, e->e.name,
                      e->e.len, e->e.suffix) == 0) {
            if (warn) {
                char nm[CKFS_ENTRY_NAME_MAX + 8], msg[600];
                full_name(&e->e, nm);
                /* Find the winner: the first entry of this run of equal names. */
                size_t w = k - 1;
                while (w > 0 && B.b[w - 1].dir == e->dir &&
                       cmp_names(B.b[w - 1].e.name, B.b[w - 1].e.len, B.b[w - 1].e.suffix,
                                 e->e.name, e->e.len, e->e.suffix) == 0)
                    w--;
                const dirrec *dr = &t->dirs[e->dir];
                int pl = dr->pathlen > 200 ? 200 : (int)dr->pathlen;
                snprintf(msg, sizeof(msg), "hiding the %s '%s' in '/%.*s': a %s has that name",
                         kind_word(&e->e), nm, pl, dr->path ? dr->path : "", kind_word(&B.b[w].e));
                warn(warn_ctx, msg);
            }
            continue;
        }
        dirrec *d = &t->dirs[e->dir];
        if (d->count == 0)
            d->first = t->nents;
        d->count++;
        if (e->e.kind == CKFS_K_DIR)
            d->subdirs++;
        t->ents[t->nents++] = e->e;
    }
    /* Shrink to what is kept: the build array can be much larger. */
    dent *shrunk = realloc(t->ents, (t->nents ? t->nents : 1) * sizeof(*t->ents));
    if (shrunk)
        t->ents = shrunk;
    dirrec *dshrunk = realloc(t->dirs, t->ndirs * sizeof(*t->dirs));
    if (dshrunk)
        t->dirs = dshrunk;

    free(B.b);
    free(raw);
    free(stack);
    *out = t;
    return 0;

fail:
    free(B.b);
    free(raw);
    free(stack);
    ckfs_tree_free(t);
    return -1;
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
    free(t);
}

uint64_t ckfs_tree_ino(const ckfs_tree *t, ckfs_node n)
{
    switch (n.kind) {
    case CKFS_K_DIR:
        return n.idx == 0 ? CKFS_INO_ROOT
                          : CKFS_INO_VAR0 + CKFS_VAR_SLOTS * t->nvars + (n.idx - 1);
    case CKFS_K_GEN:
        return CKFS_INO_GEN0 + n.idx;
    default:
        return CKFS_INO_VAR0 + CKFS_VAR_SLOTS * (uint64_t)n.idx + (uint64_t)(n.kind - CKFS_K_DATA);
    }
}

int ckfs_tree_node(const ckfs_tree *t, uint64_t ino, ckfs_node *out)
{
    if (ino == CKFS_INO_ROOT) {
        *out = (ckfs_node){CKFS_K_DIR, 0};
        return 0;
    }
    if (ino < CKFS_INO_VAR0) {
        if (ino < CKFS_INO_GEN0 || ino - CKFS_INO_GEN0 >= (uint64_t)t->ngen ||
            !(t->genmask & (1u << (ino - CKFS_INO_GEN0))))
            return -1;
        *out = (ckfs_node){CKFS_K_GEN, (uint32_t)(ino - CKFS_INO_GEN0)};
        return 0;
    }
    uint64_t rel = ino - CKFS_INO_VAR0;
    if (rel < CKFS_VAR_SLOTS * t->nvars) {
        *out = (ckfs_node){CKFS_K_DATA + (int)(rel % CKFS_VAR_SLOTS), (uint32_t)(rel / CKFS_VAR_SLOTS)};
        return 0;
    }
    rel -= CKFS_VAR_SLOTS * t->nvars;
    if (rel + 1 < t->ndirs) {
        *out = (ckfs_node){CKFS_K_DIR, (uint32_t)(rel + 1)};
        return 0;
    }
    return -1;
}

int ckfs_tree_lookup(const ckfs_tree *t, uint32_t dir, const char *name, ckfs_node *out)
{
    if (dir >= t->ndirs)
        return -1;
    if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) {
        *out = (ckfs_node){CKFS_K_DIR, name[1] ? t->dirs[dir].parent : dir};
        return 0;
    }
    size_t nl = strlen(name);
    const dirrec *d = &t->dirs[dir];
    size_t lo = 0, hi = d->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const dent *e = &t->ents[d->first + mid];
        int r = cmp_names(e->name, e->len, e->suffix, name, nl, SUF_NONE);
        if (r == 0) {
            *out = (ckfs_node){e->kind, e->idx};
            return 0;
        }
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

uint32_t ckfs_tree_dir_size(const ckfs_tree *t, uint32_t dir)
{
    return dir < t->ndirs ? t->dirs[dir].count : 0;
}

void ckfs_tree_dir_entry(const ckfs_tree *t, uint32_t dir, uint32_t k, ckfs_node *node,
                         char *buf)
{
    const dent *e = &t->ents[t->dirs[dir].first + k];
    *node = (ckfs_node){e->kind, e->idx};
    full_name(e, buf);
}

uint32_t ckfs_tree_parent(const ckfs_tree *t, uint32_t dir)
{
    return dir < t->ndirs ? t->dirs[dir].parent : 0;
}

uint32_t ckfs_tree_subdirs(const ckfs_tree *t, uint32_t dir)
{
    return dir < t->ndirs ? t->dirs[dir].subdirs : 0;
}

uint32_t ckfs_tree_ndirs(const ckfs_tree *t)
{
    return t->ndirs;
}

uint64_t ckfs_tree_nnames(const ckfs_tree *t)
{
    return t->nents;
}

uint64_t ckfs_tree_total_bytes(const ckfs_tree *t)
{
    return t->total_bytes;
}

size_t ckfs_tree_memory(const ckfs_tree *t)
{
    return sizeof(*t) + t->nents * sizeof(dent) + t->ndirs * sizeof(dirrec) + t->arena_bytes;
}
