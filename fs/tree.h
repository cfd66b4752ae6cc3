/*
 * tree.h - the directory tree a mounted checkpoint shows, built once from the sorted names.
 *
 * Every node is (kind, index): a directory (index 0 = the root), one of a variable's files
 * (its bytes, NAME.shape, NAME.dtype, NAME.npy) or a generated root file (variables.tsv, ...).
 * Inode numbers are computed from that pair, so they are the same on every mount of the same
 * checkpoint (ckpt_get order is the index order):
 *   1                              the root
 *   2 .. 15                        generated root files: slot g (of the names given to
 *                                  ckfs_tree_build, NULL = absent) has 2 + g
 *   16 + 4*i + k                   variable i: k = 0 bytes, 1 .shape, 2 .dtype, 3 .npy
 *   16 + 4*count + (d - 1)         directory d >= 1 (numbered in walk order)
 * With CKFS_TREE_STATS every 4 above is a 5, and k = 4 is NAME.stats.
 * A links tree (by_name/) has no variables: link j is 16 + 4*j, directory d 16 + 4*links + d - 1;
 * the view puts its numbers above CKFS_BYNAME_INO (view.h).
 * A training-folder mount gives each checkpoint one such space above bit 40 (ns_folder.h).
 *
 * Memory: one 8-byte entry per variable, directory and generated file (a variable's sidecars
 * have none) plus 24 bytes per directory; names are read from the checkpoint's own name
 * strings (escaped names live in a small arena). A directory whose names do not follow their
 * entries' order also keeps its sorted listing, 4 bytes a name.
 */
#ifndef CKPTFS_TREE_H
#define CKPTFS_TREE_H

#include "checkpoint.h"
#include "escape.h" /* CKFS_ENTRY_NAME_MAX */
#include "objnames.h"

#include <stddef.h>
#include <stdint.h>

enum ckfs_kind {
    CKFS_K_DIR = 0,
    CKFS_K_DATA = 1, /* the variable's bytes, at NAME or NAME.raw */
    CKFS_K_SHAPE = 2,
    CKFS_K_DTYPE = 3,
    CKFS_K_NPY = 4,
    CKFS_K_GEN = 5,     /* a generated root file */
    CKFS_K_LINK = 6,    /* a symbolic link: a training folder's `latest`, or a by_name link */
    CKFS_K_BDIR = 7,    /* a directory of by_name/ (index 0: by_name itself), in its own tree */
    CKFS_K_STATS = 8,   /* NAME.stats (-o stats): the variable's value statistics */
    CKFS_K_TFDIR = 9,   /* tf/, the V2 bundle of the view's variables (index 0) */
    CKFS_K_TFFILE = 10, /* a file of tf/: index CKFS_TF_INDEX, CKFS_TF_DATA or CKFS_TF_STATE */
};

/* The files of tf/ (view.c; docs/mount.md, "tf/"). */
enum { CKFS_TF_INDEX, CKFS_TF_DATA, CKFS_TF_STATE, CKFS_TF_NFILES };

#define CKFS_INO_ROOT 1u
#define CKFS_INO_GEN0 2u
#define CKFS_GEN_MAX 14
#define CKFS_INO_VAR0 16u
#define CKFS_VAR_SLOTS 4u
/* What ckfs_tree_build adds beside each variable with a fixed-size dtype. */
enum { CKFS_TREE_NPY = 1, CKFS_TREE_STATS = 2 };
/* The root entry that holds a TF 2 checkpoint's links by full name. */
#define CKFS_BY_NAME "by_name"
/* The root entry that holds the view's variables as a V2 checkpoint TF restores. */
#define CKFS_TF_DIR "tf"

/* ckfs_tree_build's placeholders at the root: their contents are the view's (view.c). */
#define CKFS_ROOT_BYNAME 1u
#define CKFS_ROOT_TF 2u

typedef struct ckfs_tree ckfs_tree;

typedef struct ckfs_node {
    int kind;     /* enum ckfs_kind */
    uint32_t idx; /* directory, variable or generated-file index */
} ckfs_node;

/* Whether n is a directory: of a tree, of by_name/, or tf/. */
static inline int ckfs_node_is_dir(ckfs_node n)
{
    return n.kind == CKFS_K_DIR || n.kind == CKFS_K_BDIR || n.kind == CKFS_K_TFDIR;
}

/* Receives one warning line (no newline) about a name hidden by another entry. */
typedef void (*ckfs_warn_fn)(void *ctx, const char *msg);

/*
 * Build the tree of checkpoint c, its variables at their visible paths (objnames.h), and with
 * byname & CKFS_ROOT_BYNAME the root entry by_name (a CKFS_K_BDIR node, its contents
 * ckfs_tree_build_links's, built when first used), with byname & CKFS_ROOT_TF the root
 * entry tf (a CKFS_K_TFDIR node, its files the view's). gen_names: ngen (<= CKFS_GEN_MAX) names of
 * generated root files, NULL for a slot this checkpoint does not have (its inode number stays
 * unused). npy: CKFS_TREE_NPY adds NAME.npy, CKFS_TREE_STATS NAME.stats, beside every variable
 * whose dtype has a fixed element size. warn (may be NULL) hears about every name hidden because
 * another entry owns it. Returns 0, or -1 on allocation failure / too many variables.
 */
int ckfs_tree_build(const ckpt_checkpoint *c, unsigned byname, const char *const *gen_names,
                    int ngen, int npy, ckfs_warn_fn warn, void *warn_ctx, ckfs_tree **out);

/*
 * The tree of by_name/ (its root is by_name itself): a symbolic link (CKFS_K_LINK, index j)
 * per by-name link name of names (ckpt_names_link), directories where link names have '/'.
 * Inode numbers as above, with no variables. 0, or -1 when out of memory.
 */
int ckfs_tree_build_links(const ckpt_checkpoint *c, const ckpt_names *names, ckfs_warn_fn warn,
                          void *warn_ctx, ckfs_tree **out);

/*
 * The target of link j of links tree `links`, relative to the link's directory
 * ("../../model/dense/kernel": out of by_name, then the variable's file in main tree t),
 * NUL-terminated in buf: its length, or -ENOENT / -ENAMETOOLONG.
 */
int ckfs_tree_link_target(const ckfs_tree *t, const ckfs_tree *links, uint32_t j, char *buf,
                          size_t size);

/* Free a tree from ckfs_tree_build; NULL is a no-op. */
void ckfs_tree_free(ckfs_tree *t);

/* Inode number of a node. */
uint64_t ckfs_tree_ino(const ckfs_tree *t, ckfs_node n);

/* Node of an inode number; -1 if no node has it. */
int ckfs_tree_node(const ckfs_tree *t, uint64_t ino, ckfs_node *out);

/* Look up name in directory dir; 0 and *out, or -1 when absent. "." and ".." work. */
int ckfs_tree_lookup(const ckfs_tree *t, uint32_t dir, const char *name, ckfs_node *out);

/*
 * The name at position k of dir, positions in bytewise name order but not every one holding a
 * name (a variable's absent .npy, say): 0 with its node and NUL-terminated name (buf >=
 * CKFS_ENTRY_NAME_MAX + 1 bytes), 2 when position k holds none (go on with k + 1), 1 past the
 * last position.
 */
int ckfs_tree_dir_entry(const ckfs_tree *t, uint32_t dir, uint64_t k, ckfs_node *node, char *buf);

/* Number of visible names in directory dir (without "." and ".."), counted by walking its
 * positions: for tests and diagnostics, not for every request. */
uint32_t ckfs_tree_dir_size(const ckfs_tree *t, uint32_t dir);

/* Parent directory of dir (the root is its own parent) and its number of subdirectories. */
uint32_t ckfs_tree_parent(const ckfs_tree *t, uint32_t dir);
uint32_t ckfs_tree_subdirs(const ckfs_tree *t, uint32_t dir);

/* Counts for statfs: visible names (directories included, the root not) and the sum of the
 * variables' bytes. */
uint64_t ckfs_tree_nnames(const ckfs_tree *t);
uint64_t ckfs_tree_total_bytes(const ckfs_tree *t);

#endif
