/*
 * tree.c - querying the directory tree of a checkpoint (see tree.h): inode numbers, lookups,
 * listings and links. The tree is built by tree_build.c; its layout is in tree_impl.h.
 */
#include "tree_impl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

uint64_t ckfs_tree_ino(const ckfs_tree *t, ckfs_node n)
{
    switch (n.kind) {
    case CKFS_K_DIR:
        return n.idx == 0 ? CKFS_INO_ROOT
                          : CKFS_INO_VAR0 + t->vslots * (t->nvars + t->nlinks) + (n.idx - 1);
    case CKFS_K_LINK: return CKFS_INO_VAR0 + t->vslots * (t->nvars + n.idx);
    case CKFS_K_GEN: return CKFS_INO_GEN0 + n.idx;
    default:
        /* The bytes, .shape, .dtype, .npy, then .stats (kinds DATA..NPY are consecutive). */
        return CKFS_INO_VAR0 + t->vslots * (uint64_t)n.idx +
               (n.kind == CKFS_K_STATS ? 4u : (uint64_t)(n.kind - CKFS_K_DATA));
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
    if (rel < t->vslots * t->nvars) {
        unsigned k = (unsigned)(rel % t->vslots);
        *out =
            (ckfs_node){k == 4 ? CKFS_K_STATS : CKFS_K_DATA + (int)k, (uint32_t)(rel / t->vslots)};
        return 0;
    }
    rel -= t->vslots * t->nvars;
    if (rel < t->vslots * t->nlinks) {
        if (rel % t->vslots)
            return -1;
        *out = (ckfs_node){CKFS_K_LINK, (uint32_t)(rel / t->vslots)};
        return 0;
    }
    rel -= t->vslots * t->nlinks;
    if (rel + 1 < t->ndirs) {
        *out = (ckfs_node){CKFS_K_DIR, (uint32_t)(rel + 1)};
        return 0;
    }
    return -1;
}

/* First of the n entries at e whose name is >= base + suffix suf. */
static size_t ent_lower_bound(const ckfs_tree *t, const dent *e, size_t n, const char *base,
                              size_t bl, int suf)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ckfs_tree_cmp_names(ckfs_tree_ent_base(t, &e[mid]), e[mid].len,
                                ckfs_tree_own_suffix(&e[mid]), base, bl, suf) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The entry among e[0..n) that shows base + suffix suf, a sidecar when suf is one; -1 if
 * none does. */
static int find_name(const ckfs_tree *t, const dent *e, size_t n, const char *base, size_t bl,
                     int suf, ckfs_node *out)
{
    int sidecar = suf >= SUF_SHAPE;
    for (int own = SUF_NONE; own <= (sidecar ? SUF_RAW : SUF_NONE); own++) {
        for (size_t k = ent_lower_bound(t, e, n, base, bl, sidecar ? own : suf); k < n; k++) {
            const dent *x = &e[k];
            if (ckfs_tree_cmp_names(ckfs_tree_ent_base(t, x), x->len, ckfs_tree_own_suffix(x), base,
                                    bl, sidecar ? own : suf) != 0)
                break;
            if (!sidecar && !(x->flags & F_HIDDEN)) {
                *out = ckfs_tree_node_of(x, ckfs_tree_own_suffix(x));
                return 0;
            }
            if (sidecar && x->kind == CKFS_K_DATA && x->len == bl &&
                ckfs_tree_own_suffix(x) == own && ckfs_tree_has_sidecar(x, suf)) {
                *out = ckfs_tree_node_of(x, suf);
                return 0;
            }
        }
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
    const dent *e = t->ents + d->first;
    size_t n = d->count & ~LISTED;
    if (find_name(t, e, n, name, nl, SUF_NONE, out) == 0)
        return 0;
    for (int suf = SUF_SHAPE; suf <= SUF_STATS; suf++) {
        size_t sl = suffix_len[suf];
        if (nl >= sl && memcmp(name + nl - sl, suffix_str[suf], sl) == 0 &&
            find_name(t, e, n, name, nl - sl, suf, out) == 0)
            return 0;
    }
    return -1;
}

/* The written-out listing of directory dir (its count first). */
static const uint32_t *listing_of(const ckfs_tree *t, uint32_t dir)
{
    size_t lo = 0, hi = t->nlrefs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->lrefs[mid].dir < dir)
            lo = mid + 1;
        else
            hi = mid;
    }
    return t->lists + t->lrefs[lo].off;
}

int ckfs_tree_dir_entry(const ckfs_tree *t, uint32_t dir, uint64_t k, ckfs_node *node, char *buf)
{
    if (dir >= t->ndirs)
        return 1;
    const dirrec *d = &t->dirs[dir];
    uint64_t i;
    unsigned s;
    if (d->count & LISTED) {
        const uint32_t *l = listing_of(t, dir);
        if (k >= l[0])
            return 1;
        i = l[1 + k] >> 3;
        s = l[1 + k] & 7;
    } else {
        i = k / SLOTS;
        s = (unsigned)(k % SLOTS);
        if (i >= d->count)
            return 1;
    }
    const dent *e = &t->ents[d->first + i];
    int suf = ckfs_tree_slot_name(e, s);
    if (suf < 0)
        return 2;
    *node = ckfs_tree_node_of(e, suf);
    ckfs_tree_full_name(ckfs_tree_ent_base(t, e), e->len, suf, buf);
    return 0;
}

uint32_t ckfs_tree_dir_size(const ckfs_tree *t, uint32_t dir)
{
    uint32_t n = 0;
    ckfs_node node;
    char buf[CKFS_ENTRY_NAME_MAX + 1];
    int r;
    for (uint64_t k = 0; (r = ckfs_tree_dir_entry(t, dir, k, &node, buf)) != 1; k++)
        n += r == 0;
    return n;
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
    return t->nnames;
}

uint64_t ckfs_tree_total_bytes(const ckfs_tree *t)
{
    return t->total_bytes;
}

int ckfs_tree_link_target(const ckfs_tree *t, const ckfs_tree *links, uint32_t j, char *buf,
                          size_t size)
{
    if (j >= links->nlinks)
        return -ENOENT;
    size_t ll, var, pl;
    const char *link = ckpt_names_link(links->names, j, &ll, &var);
    const char *path = ckpt_path(t->c, var, &pl);
    size_t o = 0;
    /* Up from the link's directory to the checkpoint's root: by_name, then one per '/'. */
    for (size_t k = 0; k <= ll; k++)
        if (k == ll || link[k] == '/') {
            if (o + 3 >= size)
                return -ENAMETOOLONG;
            memcpy(buf + o, "../", 3);
            o += 3;
        }
    uint32_t dir = 0;
    for (size_t start = 0;;) {
        const char *slash = memchr(path + start, '/', pl - start);
        size_t end = slash ? (size_t)(slash - path) : pl;
        char disp[CKFS_DISPLAY_MAX + 1];
        size_t dl = ckfs_escape_component_at(path + start, end - start,
                                             (dir == 0 ? CKFS_ESC_TOP : 0) | t->esc_flags, disp);
        if (dl == 0) {
            dl = end - start;
            memcpy(disp, path + start, dl);
            disp[dl] = '\0';
        }
        ckfs_node nd;
        if (ckfs_tree_lookup(t, dir, disp, &nd))
            return -ENOENT;
        /* The variable is the last component; shown as NAME.raw where NAME is a directory. */
        int last = !slash, raw = last && nd.kind == CKFS_K_DIR;
        if (!last && nd.kind != CKFS_K_DIR)
            return -ENOENT;
        if (o + dl + 5 >= size)
            return -ENAMETOOLONG;
        memcpy(buf + o, disp, dl);
        o += dl;
        if (raw) {
            memcpy(buf + o, ".raw", 4);
            o += 4;
        }
        buf[o] = last ? '\0' : '/';
        if (last)
            return (int)o;
        o++;
        dir = nd.idx;
        start = end + 1;
    }
}
