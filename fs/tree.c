/*
 * tree.c - building and querying the directory tree of a checkpoint (see tree.h).
 *
 * Names arrive in bytewise order, so all names under one directory are contiguous and a stack
 * of open directories is enough to create each directory exactly once. Entries are gathered
 * in one array and sorted by (directory, display name, priority). The escapes (escape.h) keep
 * every display name distinct; only two hashed components with equal hashes could still meet,
 * and then the first wins (priority puts variables and directories before generated files)
 * and the other is reported, never served under a wrong name.
 */
#include "tree.h"

#include "dtype.h"
#include "escape.h"
#include "util.h"

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
    chunk *arena; /* escaped display names */
};

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

/* Priorities: what a name belongs to when several want it. */
enum { PRIO_PRIMARY = 0, PRIO_SIDECAR = 1, PRIO_GEN = 2 };

/* One directory open along the current name. */
typedef struct level {
    const char *path; /* name whose prefix [0, end) is the directory's path */
    size_t end;       /* index of the '/' ending the directory's component */
    uint32_t dir;
} level;

/* Everything a build holds besides the tree itself; freed when the build ends. */
typedef struct builder {
    ckfs_tree *t;
    const ckpt_checkpoint *c;
    bent *b; /* every candidate entry, before sorting and deduplication */
    size_t nb, capb;
    size_t capd;    /* capacity of t->dirs */
    uint8_t *raw;   /* raw[i]: variable i is also a directory, so it moves to NAME.raw */
    level *stack;   /* the directories open along the previous name */
    size_t depth, cap_stack;
} builder;

static int push_ent(builder *B, uint32_t dir, const char *name, size_t len, int suffix,
                    int kind, uint32_t idx, uint32_t prio)
{
    /* Directory and variable indices are 32-bit; so are the entries' positions. */
    if (B->nb >= UINT32_MAX - 1 || ckpt_grow((void **)&B->b, &B->capb, B->nb + 1, sizeof(*B->b)))
        return -1;
    B->b[B->nb++] = (bent){{name, idx, (uint16_t)len, (uint8_t)suffix, (uint8_t)kind}, dir, prio};
    return 0;
}

static int push_dir(builder *B, uint32_t parent, const char *path, size_t pathlen, uint32_t *out)
{
    ckfs_tree *t = B->t;
    if (t->ndirs >= UINT32_MAX - 1 ||
        ckpt_grow((void **)&t->dirs, &B->capd, t->ndirs + 1, sizeof(*t->dirs)))
        return -1;
    t->dirs[t->ndirs] = (dirrec){.parent = parent, .path = path, .pathlen = pathlen};
    *out = t->ndirs++;
    return 0;
}

/* The display base of a component (top: in the root directory): itself, or its escape stored
 * in the arena. */
static int display(ckfs_tree *t, const char *s, size_t len, int top, const char **name,
                   size_t *nlen)
{
    char buf[CKFS_DISPLAY_MAX + 1];
    size_t n = ckfs_escape_component_at(s, len, top, buf);
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

static int cmp_dents(const dent *a, const dent *b)
{
    return cmp_names(a->name, a->len, a->suffix, b->name, b->len, b->suffix);
}

/* Same directory and same display name: the two compete for one directory entry. */
static int same_name(const bent *a, const bent *b)
{
    return a->dir == b->dir && cmp_dents(&a->e, &b->e) == 0;
}

static int cmp_bent(const void *pa, const void *pb)
{
    const bent *a = pa, *b = pb;
    if (a->dir != b->dir)
        return a->dir < b->dir ? -1 : 1;
    int r = cmp_dents(&a->e, &b->e);
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

static int add_generated(builder *B, const char *const *gen_names, int ngen)
{
    for (int g = 0; g < ngen; g++) {
        if (!gen_names[g])
            continue;
        B->t->genmask |= 1u << g;
        if (push_ent(B, 0, gen_names[g], strlen(gen_names[g]), SUF_NONE, CKFS_K_GEN,
                     (uint32_t)g, PRIO_GEN))
            return -1;
    }
    return 0;
}

/*
 * Keep the open directories that are prefixes of name[0..len) and return where the part
 * below them starts; *parent becomes the deepest one kept (the root when none is).
 */
static size_t keep_open_dirs(builder *B, const char *name, size_t len, uint32_t *parent)
{
    size_t keep = 0;
    while (keep < B->depth) {
        const level *L = &B->stack[keep];
        if (L->end < len && name[L->end] == '/' && memcmp(name, L->path, L->end) == 0)
            keep++;
        else
            break;
    }
    B->depth = keep;
    *parent = keep ? B->stack[keep - 1].dir : 0;
    return keep ? B->stack[keep - 1].end + 1 : 0;
}

/* Create directory name[0..end) (its component starts at start) below *parent and open it. */
static int open_dir(builder *B, const char *name, size_t start, size_t end, uint32_t *parent)
{
    uint32_t d;
    const char *dn;
    size_t dl;
    if (push_dir(B, *parent, name, end, &d) ||
        display(B->t, name + start, end - start, *parent == 0, &dn, &dl) ||
        push_ent(B, *parent, dn, dl, SUF_NONE, CKFS_K_DIR, d, PRIO_PRIMARY))
        return -1;
    /* A variable with exactly this directory's path moves to NAME.raw. */
    size_t j;
    if (ckpt_find(B->c, name, end, &j) == 0)
        B->raw[j] = 1;
    if (ckpt_grow((void **)&B->stack, &B->cap_stack, B->depth + 1, sizeof(*B->stack)))
        return -1;
    B->stack[B->depth++] = (level){name, end, d};
    *parent = d;
    return 0;
}

/* Variable i: the directories its name opens, its file and its sidecars. */
static int add_variable(builder *B, size_t i, int npy)
{
    ckpt_var v;
    ckpt_get(B->c, i, &v);
    const char *name = v.name;
    size_t len = v.name_len;
    B->t->total_bytes += v.nbytes;

    uint32_t parent;
    size_t start = keep_open_dirs(B, name, len, &parent);
    for (const char *slash; (slash = memchr(name + start, '/', len - start)) != NULL;) {
        size_t end = (size_t)(slash - name);
        if (open_dir(B, name, start, end, &parent))
            return -1;
        start = end + 1;
    }

    const char *fn;
    size_t fl;
    if (display(B->t, name + start, len - start, parent == 0, &fn, &fl))
        return -1;
    uint32_t vi = (uint32_t)i;
    if (push_ent(B, parent, fn, fl, SUF_NONE, CKFS_K_DATA, vi, PRIO_PRIMARY) ||
        push_ent(B, parent, fn, fl, SUF_SHAPE, CKFS_K_SHAPE, vi, PRIO_SIDECAR) ||
        push_ent(B, parent, fn, fl, SUF_DTYPE, CKFS_K_DTYPE, vi, PRIO_SIDECAR))
        return -1;
    if (npy && ckpt_dtype_size(v.dtype) > 0 &&
        push_ent(B, parent, fn, fl, SUF_NPY, CKFS_K_NPY, vi, PRIO_SIDECAR))
        return -1;
    return 0;
}

/* A variable that is also a directory gives the directory its name and becomes NAME.raw,
 * which, like a sidecar, yields to a variable of that exact name. */
static void move_shadowed_to_raw(builder *B)
{
    for (size_t k = 0; k < B->nb; k++) {
        bent *e = &B->b[k];
        if (e->e.kind == CKFS_K_DATA && B->raw[e->e.idx]) {
            e->e.suffix = SUF_RAW;
            e->prio = PRIO_SIDECAR;
        }
    }
}

/* Entry k (sorted) lost its name to the first entry of its run of equal names: say so. */
static void warn_hidden(const builder *B, size_t k, ckfs_warn_fn warn, void *warn_ctx)
{
    const bent *e = &B->b[k];
    size_t w = k - 1;
    while (w > 0 && same_name(&B->b[w - 1], e))
        w--;
    char nm[CKFS_ENTRY_NAME_MAX + 1];
    char msg[CKFS_ENTRY_NAME_MAX + CKFS_MSG_PATH_MAX + 128];
    full_name(&e->e, nm);
    const dirrec *dr = &B->t->dirs[e->dir];
    int pl = dr->pathlen > CKFS_MSG_PATH_MAX ? CKFS_MSG_PATH_MAX : (int)dr->pathlen;
    snprintf(msg, sizeof(msg), "hiding the %s '%s' in '/%.*s': a %s has that name",
             kind_word(&e->e), nm, pl, dr->path ? dr->path : "", kind_word(&B->b[w].e));
    warn(warn_ctx, msg);
}

/* Sort the candidates and keep the first of each name, filling each directory's range. */
static int keep_winners(builder *B, ckfs_warn_fn warn, void *warn_ctx)
{
    ckfs_tree *t = B->t;
    qsort(B->b, B->nb, sizeof(*B->b), cmp_bent);
    t->ents = malloc((B->nb ? B->nb : 1) * sizeof(*t->ents));
    if (!t->ents)
        return -1;
    for (size_t k = 0; k < B->nb; k++) {
        const bent *e = &B->b[k];
        if (k > 0 && same_name(&B->b[k - 1], e)) {
            if (warn)
                warn_hidden(B, k, warn, warn_ctx);
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
    return 0;
}

static int build(builder *B, const char *const *gen_names, int ngen, int npy, ckfs_warn_fn warn,
                 void *warn_ctx)
{
    uint32_t root;
    if (push_dir(B, 0, NULL, 0, &root) || add_generated(B, gen_names, ngen))
        return -1;
    for (size_t i = 0; i < B->t->nvars; i++)
        if (add_variable(B, i, npy))
            return -1;
    move_shadowed_to_raw(B);
    return keep_winners(B, warn, warn_ctx);
}

int ckfs_tree_build(const ckpt_checkpoint *c, const char *const *gen_names, int ngen, int npy,
                    ckfs_warn_fn warn, void *warn_ctx, ckfs_tree **out)
{
    *out = NULL;
    size_t n = ckpt_count(c);
    /* Every inode number of tree.h must fit in 32 bits. */
    if (ngen < 0 || ngen > CKFS_GEN_MAX || n > (UINT32_MAX - CKFS_INO_VAR0) / CKFS_VAR_SLOTS)
        return -1;
    builder B = {.t = calloc(1, sizeof(ckfs_tree)), .c = c, .raw = calloc(n ? n : 1, 1)};
    int rc = -1;
    if (B.t && B.raw) {
        B.t->nvars = n;
        B.t->ngen = ngen;
        rc = build(&B, gen_names, ngen, npy, warn, warn_ctx);
    }
    free(B.b);
    free(B.raw);
    free(B.stack);
    if (rc) {
        ckfs_tree_free(B.t);
        return -1;
    }
    *out = B.t;
    return 0;
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

uint64_t ckfs_tree_nnames(const ckfs_tree *t)
{
    return t->nents;
}

uint64_t ckfs_tree_total_bytes(const ckfs_tree *t)
{
    return t->total_bytes;
}
