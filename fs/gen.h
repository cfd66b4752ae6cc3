/*
 * gen.h - the generated files at the root of a checkpoint's view.
 *
 * Each has a fixed slot, so its inode number (2 + slot, tree.h) is the same on every mount:
 *   variables.tsv       always (index data only)
 *   graph.pbtxt         the GraphDef of PREFIX.meta (or of a SavedModel's first MetaGraphDef)
 *   meta_graph.pbtxt    the whole MetaGraphDef
 *   graph.dot           the GraphDef as Graphviz DOT
 *   object_graph.pbtxt  the `_CHECKPOINTABLE_OBJECT_GRAPH` tensor as a TrackableObjectGraph
 *   saved_model.pbtxt   a SavedModel's saved_model.pb as text
 *   signatures.txt      its signatures as `saved_model_cli show --all` prints them
 *   stats.tsv           with -o stats: every variable's value statistics (statstext.h); its
 *                       first sizing reads every tensor once, and the text is kept
 *   model.safetensors   always: the tensors as one safetensors file (safetensors.h); its
 *                       layout is computed at the first lookup or stat, and reads map to
 *                       the tensors under them (never held whole)
 * A slot is present only when its source exists (decided from the index and file names, no
 * data read). Nothing is rendered at mount: a file's size is computed at its first lookup or
 * stat (a full rendering pass that keeps no text), its text at its first open. Graph texts go
 * to an unlinked temporary file (page cache, not daemon memory), the others stay in memory.
 */
#ifndef CKPTFS_GEN_H
#define CKPTFS_GEN_H

#include "checkpoint.h"
#include "objnames.h"
#include "metagraph.h"
#include "once.h"
#include "safetensors.h"

#include <stdint.h>

enum ckfs_gen_slot {
    CKFS_GEN_TSV,
    CKFS_GEN_GRAPH,
    CKFS_GEN_META,
    CKFS_GEN_DOT,
    CKFS_GEN_OBJECTS,
    CKFS_GEN_SAVEDMODEL,
    CKFS_GEN_SIGNATURES,
    CKFS_GEN_STATS,
    CKFS_GEN_SAFETENSORS,
    CKFS_NGEN
};

/* The generated files of one checkpoint: what they render from, and each one's content. */
typedef struct ckfs_gens {
    ckpt_checkpoint *c;   /* the checkpoint (not owned) */
    const char *sm_path;  /* its SavedModel's saved_model.pb, or NULL (not owned) */
    ckfs_once_lock *lock; /* the owner's lock (not owned): protects every cell below */
    ckfs_once doc_opened;
    ckpt_graph_doc *doc;     /* the .meta / saved_model.pb all graph slots render (one map) */
    ckpt_graph_doc *objects; /* object_graph.pbtxt's own document */
    ckfs_lazy slot[CKFS_NGEN];
    ckfs_once st_built; /* model.safetensors' layout is computed */
    ckpt_st_layout st;
    /* The owner's full names, read once for the mount (by_name/ shares them), or NULL */
    const ckpt_names *(*names)(void *ctx);
    void *names_ctx;
} ckfs_gens;

/* Names of the slots, in slot order. */
extern const char *const ckfs_gen_names[CKFS_NGEN];

/* names[g] = the name of each slot checkpoint c has (sm_path: its saved_model.pb, or NULL),
 * NULL for the others; stats.tsv is named, a mount without -o stats drops it. Reads no data. */
void ckfs_gen_slots(const ckpt_checkpoint *c, const char *sm_path, const char *names[CKFS_NGEN]);

/* Start the generated files of c (nothing is rendered). */
void ckfs_gens_init(ckfs_gens *G, ckpt_checkpoint *c, const char *sm_path, ckfs_once_lock *lock);

/* The size of slot g's text if already known (1 and *size), else 0; never renders. */
int ckfs_gen_size_known(const ckfs_gens *G, int g, uint64_t *size);

/* The size of slot g's text, computing it on first use. 0, or a CKPT_E_* code (err). */
int ckfs_gen_size(ckfs_gens *G, int g, uint64_t *size, ckpt_err *err);

/*
 * The text of slot g, rendering it if not held: *out is memory (kept for the mount's life)
 * or a descriptor to pread, valid until the matching ckfs_gen_release.
 */
int ckfs_gen_acquire(ckfs_gens *G, int g, ckfs_content *out, uint64_t *size, ckpt_err *err);

/* An open file of slot g no longer reads it. Returns 1 when a rendered graph text is now read
 * by nobody (the caller may pass it to ckfs_gen_drop later), else 0. */
int ckfs_gen_release(ckfs_gens *G, int g);

/* Close slot g's rendered text if nobody reads it (the size stays known; the next open renders
 * again). Keeps a mount's descriptors bounded. */
void ckfs_gen_drop(ckfs_gens *G, int g);

/* model.safetensors' layout, computed on first use (valid until ckfs_gens_free). 0, or a
 * CKPT_E_* code (err): CKPT_E_UNSUPPORTED when its header would pass the format's limit. */
int ckfs_gen_safetensors(ckfs_gens *G, const ckpt_st_layout **out, ckpt_err *err);

/* Release every slot's text and the documents. */
void ckfs_gens_free(ckfs_gens *G);

#endif
