/*
 * tree_impl.h - the layout of a checkpoint's directory tree, shared by its builder
 * (tree_build.c) and its queries (tree.c); not an API: the rest of the daemon sees tree.h.
 *
 * Memory is what limits a mount of a million variables, so the tree stores one 8-byte entry
 * per variable and per directory, and nothing else per name:
 *   - an entry's name is not stored: it is the end of its variable's name (or of a directory's
 *     path, the start of a variable's name below it); only escaped names live in an arena;
 *   - a variable's sidecars (NAME.shape, NAME.dtype, NAME.npy) have no entries: a lookup of
 *     "x.shape" finds the entry of "x", and a listing gives each entry's names in their order,
 *     which is the directory's bytewise order whenever no other name falls between an entry's
 *     own names (the rule for real checkpoints); a directory where one does gets its listing
 *     written out, sorted, at build.
 * A tree is written once, by its builder, and read-only after: queries need no lock.
 */
#ifndef CKPTFS_TREE_IMPL_H
#define CKPTFS_TREE_IMPL_H

#include "tree.h"

#include "objnames.h"

#include <stdint.h>
#include <string.h>

enum { SUF_NONE, SUF_RAW, SUF_SHAPE, SUF_DTYPE, SUF_NPY, SUF_STATS };
static const char *const suffix_str[] = {"", ".raw", ".shape", ".dtype", ".npy", ".stats"};
static const uint8_t suffix_len[] = {0, 4, 6, 6, 4, 6};

/* Entry flags. */
enum {
    F_RAW = 1,       /* a variable that is also a directory: its bytes are at NAME.raw */
    F_ESC = 2,       /* its display name is escaped (kept in the arena) */
    F_HIDDEN = 4,    /* its own name belongs to another entry */
    F_NPY = 8,       /* a variable with NAME.npy (npy asked for, fixed-size dtype) */
    F_NO_SHAPE = 16, /* sidecars whose name belongs to another entry */
    F_NO_DTYPE = 32,
    F_NO_NPY = 64,
    F_STATS = 128, /* a variable with NAME.stats (-o stats, a numeric dtype) */
    F_NO_STATS = 256,
};

/* The names of one entry, in their bytewise order: position s of a variable's entry shows
 * suffix slot_suffix[raw][s] ("" < ".dtype" < ".npy" < ".raw" < ".shape"). */
enum { SLOTS = 5 };
static const uint8_t slot_suffix[2][SLOTS] = {
    {SUF_NONE, SUF_DTYPE, SUF_NPY, SUF_SHAPE, SUF_STATS},
    {SUF_DTYPE, SUF_NPY, SUF_RAW, SUF_SHAPE, SUF_STATS},
};

/* A variable (CKFS_K_DATA), directory or generated file of one directory. */
typedef struct dent {
    uint32_t idx;
    uint16_t len;      /* of the display name, suffix excluded */
    uint16_t kind : 4; /* enum ckfs_kind (< 16) */
    uint16_t flags : 12;
} dent;

/* count's top bit: the directory's listing is written out in t->lists. */
#define LISTED 0x80000000u

typedef struct dirrec {
    uint32_t parent;
    uint32_t first; /* its entries: ents[first, first + count) */
    uint32_t count; /* | LISTED */
    uint32_t subdirs;
    uint32_t var;     /* a variable below it: its name starts with the directory's path */
    uint32_t pathlen; /* the path's length in that name */
} dirrec;

/* An escaped display name of variable or directory idx. */
typedef struct esc {
    uint32_t idx;
    const char *name;
} esc;

/* Where a written-out listing starts in t->lists: its count, then per name (entry << 3 |
 * position). */
typedef struct listref {
    uint32_t dir;
    uint32_t off;
} listref;

typedef struct chunk {
    struct chunk *next;
    size_t used, size;
    char data[];
} chunk;

struct ckfs_tree {
    const ckpt_checkpoint *c;
    const ckpt_names *names; /* a links tree's link names (ckfs_tree_build_links), else NULL */
    uint64_t nvars, nlinks, nnames, total_bytes; /* a links tree has no variables */
    unsigned byname;    /* CKFS_ROOT_*: the placeholders a main tree's root holds */
    unsigned vslots;    /* inode numbers per variable: 4, or 5 with NAME.stats */
    unsigned esc_flags; /* CKFS_ESC_DOTS for an object-based checkpoint */
    int ngen;
    uint32_t genmask; /* bit g: generated slot g exists */
    const char *gen[CKFS_GEN_MAX];
    dent *ents;
    uint32_t nents;
    dirrec *dirs;
    uint32_t ndirs;
    esc *esc_var, *esc_dir; /* in index order */
    size_t nesc_var, nesc_dir;
    uint32_t *lists;
    size_t nlists;
    listref *lrefs; /* in directory order */
    size_t nlrefs;
    chunk *arena; /* escaped display names */
};

/* --- names ---------------------------------------------------------------------------------- */

static inline const char *ckfs_tree_esc_find(const esc *arr, size_t n, uint32_t idx)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (arr[mid].idx < idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && arr[lo].idx == idx ? arr[lo].name : "";
}

/* The path of item i: variables first (their visible paths, objnames.h), then the by_name
 * links (their link names, below the by_name directory). */
static inline const char *ckfs_tree_item_name(const ckfs_tree *t, size_t i, size_t *len)
{
    if (i < t->nvars)
        return ckpt_path(t->c, i, len);
    size_t var;
    return ckpt_names_link(t->names, i - t->nvars, len, &var);
}

/* The item an entry of kind DATA or LINK stands for. */
static inline size_t ckfs_tree_ent_item(const ckfs_tree *t, const dent *e)
{
    return e->kind == CKFS_K_LINK ? t->nvars + e->idx : e->idx;
}

/* The display name of e, its suffix excluded (e->len bytes, not NUL-terminated). */
static inline const char *ckfs_tree_ent_base(const ckfs_tree *t, const dent *e)
{
    size_t len;
    if (e->kind == CKFS_K_GEN)
        return t->gen[e->idx];
    if (e->kind == CKFS_K_BDIR)
        return CKFS_BY_NAME;
    if (e->kind == CKFS_K_TFDIR)
        return CKFS_TF_DIR;
    if (e->flags & F_ESC)
        return e->kind == CKFS_K_DIR
                   ? ckfs_tree_esc_find(t->esc_dir, t->nesc_dir, e->idx)
                   : ckfs_tree_esc_find(t->esc_var, t->nesc_var, ckfs_tree_ent_item(t, e));
    if (e->kind == CKFS_K_DIR) {
        const dirrec *d = &t->dirs[e->idx];
        return ckfs_tree_item_name(t, d->var, &len) + d->pathlen - e->len;
    }
    const char *name = ckfs_tree_item_name(t, ckfs_tree_ent_item(t, e), &len);
    return name + len - e->len;
}

static inline int ckfs_tree_own_suffix(const dent *e)
{
    return (e->flags & F_RAW) ? SUF_RAW : SUF_NONE;
}

/* Compare a's full display name (base + suffix) with b's. */
static inline int ckfs_tree_cmp_names(const char *an, size_t al, int as, const char *bn, size_t bl,
                                      int bs)
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

/* Write base + suffix, NUL-terminated, to buf (CKFS_ENTRY_NAME_MAX + 1 bytes). */
static inline void ckfs_tree_full_name(const char *base, size_t len, int suf, char *buf)
{
    memcpy(buf, base, len);
    memcpy(buf + len, suffix_str[suf], suffix_len[suf] + 1u);
}

/* The suffix that position s of e shows, or -1 when e has no name there. */
static inline int ckfs_tree_slot_name(const dent *e, unsigned s)
{
    if (e->kind != CKFS_K_DATA)
        return s == 0 && !(e->flags & F_HIDDEN) ? ckfs_tree_own_suffix(e) : -1;
    int suf = slot_suffix[e->flags & F_RAW ? 1 : 0][s];
    switch (suf) {
    case SUF_SHAPE: return e->flags & F_NO_SHAPE ? -1 : suf;
    case SUF_DTYPE: return e->flags & F_NO_DTYPE ? -1 : suf;
    case SUF_NPY: return (e->flags & (F_NPY | F_NO_NPY)) == F_NPY ? suf : -1;
    case SUF_STATS: return (e->flags & (F_STATS | F_NO_STATS)) == F_STATS ? suf : -1;
    default: return e->flags & F_HIDDEN ? -1 : suf;
    }
}

/* The node of e's name with suffix suf. */
static inline ckfs_node ckfs_tree_node_of(const dent *e, int suf)
{
    static const int kind_of[] = {CKFS_K_DATA,  CKFS_K_DATA, CKFS_K_SHAPE,
                                  CKFS_K_DTYPE, CKFS_K_NPY,  CKFS_K_STATS};
    return (ckfs_node){e->kind == CKFS_K_DATA ? kind_of[suf] : e->kind, e->idx};
}

/* The flag that hides a variable's sidecar with suffix suf. */
static inline uint16_t ckfs_tree_no_flag(int suf)
{
    return suf == SUF_SHAPE   ? F_NO_SHAPE
           : suf == SUF_DTYPE ? F_NO_DTYPE
           : suf == SUF_NPY   ? F_NO_NPY
                              : F_NO_STATS;
}

/* Whether entry e shows its sidecar with suffix suf. */
static inline int ckfs_tree_has_sidecar(const dent *e, int suf)
{
    return !(e->flags & ckfs_tree_no_flag(suf)) && (suf != SUF_NPY || (e->flags & F_NPY)) &&
           (suf != SUF_STATS || (e->flags & F_STATS));
}

#endif
